//! Plots of reweighted samples (`reweight`): per-column histograms of the reference
//! events (points with Poisson error bars), the generated events unweighted (dashed
//! orange outline) and weighted (orange bars with the ±1σ band of the weighted
//! counts, `√Σw²`), all normalised to unit area; and the distribution of the weights.

use super::render::{write_png, Swatch, GENERATED, HEADER_HEIGHT, REAL, REFERENCE};
use super::stats::{grid_shape, Range};
use super::{check_rows, column, draw_header, panel_chart, panel_mesh};
use crate::bayes::bands::Bins;
use crate::error::{Error, Result};
use plotters::prelude::*;
use std::path::Path;

/// Weighted histograms, one panel per column (module docs); bins are `bins` equal bins
/// over the central 99 % of the reference column.
///
/// ```no_run
/// let real = vec![vec![0.1], vec![0.4], vec![0.5]];
/// let gen = vec![vec![0.2], vec![0.3], vec![0.9]];
/// flowinfer::plot::weighted_histograms("w.png", &["x".into()], &real, &gen, &[1.0, 1.5, 0.5], 10)?;
/// # Ok::<(), flowinfer::Error>(())
/// ```
///
/// Errors: no columns, no bins, no reference rows or a weight count other than the
/// generated rows ([`Error::Config`]); rows of the wrong width ([`Error::Shape`]);
/// rendering or writing failed ([`Error::File`]).
pub fn weighted_histograms(
    path: impl AsRef<Path>,
    columns: &[String],
    real: &[Vec<f64>],
    generated: &[Vec<f64>],
    weights: &[f64],
    bins: usize,
) -> Result<()> {
    let k = columns.len();
    if k == 0 || bins == 0 || real.is_empty() || weights.len() != generated.len() {
        return Err(Error::config(format!(
            "plot::weighted_histograms: expected columns, bins ≥ 1, reference rows and one weight per generated row (got {} weights for {} rows)",
            weights.len(),
            generated.len()
        )));
    }
    check_rows(real, k, "real samples", "weighted_histograms")?;
    check_rows(generated, k, "generated samples", "weighted_histograms")?;
    let legend = vec![
        (
            format!("reference (n = {})", real.len()),
            Swatch::Fill(REAL),
        ),
        ("generated, unweighted".to_string(), Swatch::Line(GENERATED)),
        (
            format!("generated, DCTR-weighted (n = {})", generated.len()),
            Swatch::Fill(GENERATED),
        ),
    ];
    let panel = (360u32, 290u32);
    let (rows, cols) = grid_shape(k);
    let size = (panel.0 * cols as u32, HEADER_HEIGHT + panel.1 * rows as u32);
    let unit = vec![1.0; generated.len()];
    write_png(path.as_ref(), size, |root| {
        let (header, body) = root.split_vertically(HEADER_HEIGHT);
        draw_header(&header, "Reweighted marginals (normalised, ±1σ)", &legend)?;
        let cells = body.split_evenly((rows, cols));
        for (j, cell) in cells.iter().enumerate().take(k) {
            let r = column(real, j);
            let g = column(generated, j);
            let b = Bins::from_values(&r, bins, 0.005)?;
            let ones = vec![1.0; r.len()];
            let hr = density(&r, &ones, &b);
            let hu = density(&g, &unit, &b);
            let hw = density(&g, weights, &b);
            let top = hr
                .iter()
                .chain(&hw)
                .map(|(a, s)| a + s)
                .chain(hu.iter().map(|(a, _)| *a))
                .fold(0.0f64, f64::max);
            let x = Range::new(b.lo, b.hi);
            let y = Range::new(0.0, if top > 0.0 { 1.1 * top } else { 1.0 });
            let mut chart = panel_chart(cell, Some(&columns[j]), (x, y), (32, 56), (6, 12))?;
            panel_mesh(&mut chart, x, y, 5, 4, 12, None, None)?;
            let e = b.edges();
            chart.draw_series(hw.iter().enumerate().map(|(i, (a, s))| {
                Rectangle::new(
                    [(e[i], (a - s).max(0.0)), (e[i + 1], a + s)],
                    GENERATED.mix(0.35).filled(),
                )
            }))?;
            chart.draw_series(hw.iter().enumerate().map(|(i, (a, _))| {
                PathElement::new(vec![(e[i], *a), (e[i + 1], *a)], GENERATED.stroke_width(2))
            }))?;
            // Unweighted: a thin dashed outline (every other bin edge segment).
            chart.draw_series(hu.iter().enumerate().map(|(i, (a, _))| {
                let mid = 0.5 * (e[i] + e[i + 1]);
                PathElement::new(vec![(e[i], *a), (mid, *a)], GENERATED.stroke_width(1))
            }))?;
            chart.draw_series(hr.iter().enumerate().map(|(i, (a, s))| {
                let c = 0.5 * (e[i] + e[i + 1]);
                PathElement::new(vec![(c, a - s), (c, a + s)], REAL.stroke_width(1))
            }))?;
            chart.draw_series(
                hr.iter().enumerate().map(|(i, (a, _))| {
                    Circle::new((0.5 * (e[i] + e[i + 1]), *a), 2, REAL.filled())
                }),
            )?;
        }
        Ok(())
    })
}

/// Histogram of `log10` of the weights `w` (raw `D/(1 − D)`), with the clipping value
/// marked when given.
///
/// ```no_run
/// flowinfer::plot::weight_histogram("weights.png", &[0.5, 1.0, 2.0, 30.0], Some(20.0))?;
/// # Ok::<(), flowinfer::Error>(())
/// ```
///
/// Errors: no positive finite weight ([`Error::Config`]); rendering or writing failed
/// ([`Error::File`]).
pub fn weight_histogram(path: impl AsRef<Path>, w: &[f64], clip: Option<f64>) -> Result<()> {
    let lw: Vec<f64> = w
        .iter()
        .filter(|v| **v > 0.0 && v.is_finite())
        .map(|v| v.log10())
        .collect();
    if lw.is_empty() {
        return Err(Error::config(
            "plot::weight_histogram: no positive finite weights",
        ));
    }
    let lo = lw.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = lw.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let hi = clip.map_or(hi, |c| hi.max(c.log10()));
    let b = Bins {
        lo: lo - 0.05,
        hi: hi + 0.05,
        n: 50,
    };
    let mut counts = vec![0.0; b.n];
    for v in &lw {
        if let Some(k) = b.index(*v) {
            counts[k] += 1.0;
        }
    }
    let top = counts.iter().copied().fold(1.0, f64::max);
    let x = Range::new(b.lo, b.hi);
    let y = Range::new(0.0, 1.1 * top);
    let mut legend = vec![(
        format!("events (n = {})", lw.len()),
        Swatch::Fill(GENERATED),
    )];
    if clip.is_some() {
        legend.push(("clipping value".to_string(), Swatch::Line(REFERENCE)));
    }
    write_png(path.as_ref(), (760, 480 + HEADER_HEIGHT), |root| {
        let (header, body) = root.split_vertically(HEADER_HEIGHT);
        draw_header(&header, "DCTR weights D/(1 − D)", &legend)?;
        let mut chart = panel_chart(&body, None, (x, y), (48, 64), (12, 24))?;
        panel_mesh(
            &mut chart,
            x,
            y,
            8,
            5,
            14,
            Some("log10 weight"),
            Some("events"),
        )?;
        let e = b.edges();
        chart.draw_series(
            counts
                .iter()
                .enumerate()
                .filter(|(_, c)| **c > 0.0)
                .map(|(i, c)| {
                    Rectangle::new([(e[i], 0.0), (e[i + 1], *c)], GENERATED.mix(0.5).filled())
                }),
        )?;
        if let Some(c) = clip {
            let v = c.log10();
            chart.draw_series(std::iter::once(PathElement::new(
                vec![(v, 0.0), (v, y.hi)],
                REFERENCE.stroke_width(2),
            )))?;
        }
        Ok(())
    })
}

/// Per bin: (density, its standard deviation) of values `v` with weights `w`,
/// normalised by the total weight (mass outside the bins included).
fn density(v: &[f64], w: &[f64], b: &Bins) -> Vec<(f64, f64)> {
    let total: f64 = w.iter().sum();
    let width = b.width();
    let (mut s, mut q) = (vec![0.0; b.n], vec![0.0; b.n]);
    for (x, wi) in v.iter().zip(w) {
        if let Some(k) = b.index(*x) {
            s[k] += wi;
            q[k] += wi * wi;
        }
    }
    s.iter()
        .zip(&q)
        .map(|(s, q)| {
            if total > 0.0 {
                (s / total / width, q.sqrt() / total / width)
            } else {
                (0.0, 0.0)
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weighted_plots_are_written_and_bad_input_is_an_error() {
        let dir = std::env::temp_dir().join(format!("flowinfer-wplot-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let real: Vec<Vec<f64>> = (0..200).map(|i| vec![(i as f64 * 0.37).sin()]).collect();
        let gen: Vec<Vec<f64>> = (0..300).map(|i| vec![(i as f64 * 0.53).cos()]).collect();
        let w: Vec<f64> = (0..300).map(|i| 0.5 + (i % 3) as f64 * 0.5).collect();
        let cols = ["x".to_string()];
        let p = dir.join("w.png");
        weighted_histograms(&p, &cols, &real, &gen, &w, 12).unwrap();
        assert!(std::fs::metadata(&p).unwrap().len() > 1000);
        let e = weighted_histograms(dir.join("bad.png"), &cols, &real, &gen, &w[1..], 12);
        assert!(matches!(e, Err(Error::Config(_))));
        assert!(!dir.join("bad.png").exists());
        let q = dir.join("weights.png");
        weight_histogram(&q, &w, Some(1.2)).unwrap();
        assert!(q.is_file());
        assert!(weight_histogram(dir.join("none.png"), &[0.0, -1.0], None).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
