//! The integrator's plots: the weight distribution (`weights.png`), the training
//! curve of the relative standard deviation per event against integrand calls
//! (`training.png`), flow and (when run) VEGAS side by side, and the marginals of the
//! proposal against the weighted (integrand) marginals (`marginals.png`). PNGs are written
//! atomically (a temporary file beside the target, then renamed).

use crate::error::Result;
use crate::plot::render::{write_png, FONT, PALETTE};
use plotters::prelude::*;
use std::path::Path;

/// Line colours: the first three of the plots' tab10 cycle (blue, orange, green).
const COLORS: [RGBColor; 3] = [PALETTE[0], PALETTE[1], PALETTE[2]];

/// Bin `log10(w/mean w)` of the positive weights: `(edges lo, hi, fraction per bin)`.
fn log_histogram(w: &[f64], lo: f64, hi: f64, bins: usize) -> Vec<f64> {
    let mean = w.iter().sum::<f64>() / w.len().max(1) as f64;
    let mut h = vec![0.0; bins];
    if mean <= 0.0 {
        return h;
    }
    let width = (hi - lo) / bins as f64;
    for &v in w {
        if v > 0.0 {
            let b = (((v / mean).log10() - lo) / width).floor();
            let b = (b.max(0.0) as usize).min(bins - 1);
            h[b] += 1.0;
        }
    }
    let n = w.len() as f64;
    h.iter_mut().for_each(|c| *c /= n);
    h
}

/// `weights.png`: the distribution of `log10(w/⟨w⟩)` of each named weight set (fraction
/// of events per bin, log scale; zero weights are left out and their fraction given in
/// the legend).
pub fn weight_distribution(path: &Path, series: &[(&str, &[f64])]) -> Result<()> {
    let bins = 60;
    let logs = series.iter().flat_map(|(_, w)| {
        let mean = w.iter().sum::<f64>() / w.len().max(1) as f64;
        w.iter()
            .filter(move |v| **v > 0.0 && mean > 0.0)
            .map(move |v| (v / mean).log10())
    });
    let (mut lo, mut hi) = logs.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
        (a.min(v), b.max(v))
    });
    if !(lo.is_finite() && hi.is_finite()) {
        (lo, hi) = (-1.0, 1.0);
    }
    lo = lo.max(hi - 12.0).floor();
    hi = (hi + 0.05).max(lo + 1.0);
    let hists: Vec<Vec<f64>> = series
        .iter()
        .map(|(_, w)| log_histogram(w, lo, hi, bins))
        .collect();
    let ymin = hists
        .iter()
        .flatten()
        .copied()
        .filter(|v| *v > 0.0)
        .fold(1.0, f64::min)
        .max(1e-9)
        / 2.0;
    write_png(path, (960, 600), |root| {
        let mut chart = ChartBuilder::on(root)
            .caption("Weight distribution", (FONT, 24))
            .margin(16)
            .x_label_area_size(52)
            .y_label_area_size(80)
            .build_cartesian_2d(lo..hi, (ymin..1.0).log_scale())?;
        chart
            .configure_mesh()
            .x_desc("log10(w / mean w)")
            .y_desc("fraction of events per bin")
            .label_style((FONT, 15))
            .axis_desc_style((FONT, 17))
            .draw()?;
        let width = (hi - lo) / bins as f64;
        for (i, ((name, w), h)) in series.iter().zip(&hists).enumerate() {
            let color = COLORS[i % COLORS.len()];
            let mut pts = Vec::with_capacity(2 * bins);
            for (b, &v) in h.iter().enumerate() {
                let y = v.max(ymin);
                pts.push((lo + b as f64 * width, y));
                pts.push((lo + (b + 1) as f64 * width, y));
            }
            let zeros = w.iter().filter(|v| **v == 0.0).count() as f64 / w.len().max(1) as f64;
            let label = format!("{name} ({} events, {:.1} % zero)", w.len(), 100.0 * zeros);
            chart
                .draw_series(LineSeries::new(pts, color.stroke_width(2)))?
                .label(label)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 22, y)], color));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .label_font((FONT, 16))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()?;
        Ok(())
    })
}

/// `training.png`: relative std per event against integrand calls, one line per named
/// series of `(calls, rel_std)` points (non-finite points skipped).
pub fn training_curve(path: &Path, series: &[(&str, Vec<(f64, f64)>)]) -> Result<()> {
    let pts = || {
        series
            .iter()
            .flat_map(|(_, p)| p.iter())
            .filter(|(x, y)| x.is_finite() && y.is_finite() && *y > 0.0)
    };
    let xmax = pts().map(|p| p.0).fold(1.0, f64::max);
    let ymin = pts().map(|p| p.1).fold(f64::INFINITY, f64::min);
    let ymax = pts().map(|p| p.1).fold(0.0, f64::max);
    let (ymin, ymax) = if ymin.is_finite() && ymax > 0.0 {
        (ymin / 1.5, ymax * 1.5)
    } else {
        (0.01, 10.0)
    };
    write_png(path, (960, 600), |root| {
        let mut chart = ChartBuilder::on(root)
            .caption("Training: relative std per event", (FONT, 24))
            .margin(16)
            .x_label_area_size(52)
            .y_label_area_size(80)
            .build_cartesian_2d(0.0..xmax * 1.02, (ymin..ymax).log_scale())?;
        chart
            .configure_mesh()
            .x_desc("integrand calls")
            .y_desc("std(w) / mean(w)")
            .x_label_formatter(&|v| format!("{v:.2e}"))
            .label_style((FONT, 15))
            .axis_desc_style((FONT, 17))
            .draw()?;
        for (i, (name, p)) in series.iter().enumerate() {
            let color = COLORS[i % COLORS.len()];
            let good: Vec<(f64, f64)> = p
                .iter()
                .copied()
                .filter(|(x, y)| x.is_finite() && y.is_finite() && *y > 0.0)
                .collect();
            let markers = good.len() <= 60;
            chart
                .draw_series(LineSeries::new(good.clone(), color.stroke_width(2)))?
                .label(*name)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 22, y)], color));
            if markers {
                chart.draw_series(good.into_iter().map(|q| Circle::new(q, 3, color.filled())))?;
            }
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .label_font((FONT, 16))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()?;
        Ok(())
    })
}

/// Most panels [`marginals`] draws (the first coordinates).
const MAX_PANELS: usize = 16;

/// `marginals.png`: per coordinate (at most 16), the density of the proposal's samples
/// (`q`, unweighted) and of the same samples weighted by `w = f/q` (the integrand's
/// normalised marginal), 40 bins on `[0, 1]`. Where the two differ the flow has not
/// learned the integrand.
pub fn marginals(path: &Path, dim: usize, points: &[f64], weights: &[f64]) -> Result<()> {
    let bins = 40;
    let panels = dim.min(MAX_PANELS);
    let n = weights.len().min(points.len() / dim.max(1));
    let hist = |j: usize, weighted: bool| -> Vec<f64> {
        let mut h = vec![0.0; bins];
        let mut total = 0.0;
        for k in 0..n {
            let v = points[k * dim + j];
            let w = if weighted { weights[k] } else { 1.0 };
            h[((v * bins as f64) as usize).min(bins - 1)] += w;
            total += w;
        }
        if total > 0.0 {
            h.iter_mut().for_each(|c| *c *= bins as f64 / total);
        }
        h
    };
    let cols = (panels as f64).sqrt().ceil() as usize;
    let rows = panels.div_ceil(cols.max(1));
    let size = (320 * cols as u32, 60 + 240 * rows as u32);
    write_png(path, size, |root| {
        let (header, body) = root.split_vertically(60);
        header.draw(&Text::new(
            format!("Marginals: flow q (blue) vs weighted f (orange), {n} samples"),
            (16, 18),
            (FONT, 22).into_font(),
        ))?;
        let cells = body.split_evenly((rows, cols));
        for (j, cell) in cells.iter().enumerate().take(panels) {
            let q = hist(j, false);
            let f = hist(j, true);
            let ymax = q.iter().chain(&f).copied().fold(0.0, f64::max).max(1e-9) * 1.1;
            let mut chart = ChartBuilder::on(cell)
                .caption(format!("x{}", j + 1), (FONT, 16))
                .margin(8)
                .x_label_area_size(24)
                .y_label_area_size(36)
                .build_cartesian_2d(0.0..1.0, 0.0..ymax)?;
            chart
                .configure_mesh()
                .x_labels(5)
                .y_labels(4)
                .label_style((FONT, 12))
                .draw()?;
            for (h, color) in [(&q, COLORS[0]), (&f, COLORS[1])] {
                let mut pts = Vec::with_capacity(2 * bins);
                for (b, &v) in h.iter().enumerate() {
                    pts.push((b as f64 / bins as f64, v));
                    pts.push(((b + 1) as f64 / bins as f64, v));
                }
                chart.draw_series(LineSeries::new(pts, color.stroke_width(2)))?;
            }
        }
        Ok(())
    })
}
