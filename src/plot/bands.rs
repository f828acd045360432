//! Plots of histogram bands from Bayesian flows (`bayes::bands`): per column the
//! generated density with its mean ± 1σ band over weight draws against the real events
//! (with their Poisson errors), a ratio panel real / mean beneath; and the relative
//! uncertainty σ/mean per bin.

use super::render::{write_png, Swatch, GENERATED, HEADER_HEIGHT, REAL, REFERENCE};
use super::stats::{grid_shape, Range};
use super::{draw_header, panel_chart, panel_mesh};
use crate::bayes::bands::{mass_1d, Bands};
use crate::error::{Error, Result};
use plotters::prelude::*;
use std::path::Path;

/// Per-column band plot: orange band (mean ± σ of the density over draws) and mean
/// line, blue points with √n error bars for `real` (when given), ratio panel below.
///
/// Errors: no marginals ([`Error::Config`]), rows of the wrong width ([`Error::Shape`]),
/// rendering or writing failed ([`Error::File`]).
pub fn band_histograms(
    path: impl AsRef<Path>,
    bands: &Bands,
    real: Option<&[Vec<f64>]>,
) -> Result<()> {
    let k = bands.marginals.len();
    if k == 0 {
        return Err(Error::config("plot::band_histograms: no columns"));
    }
    if let Some(r) = real {
        if let Some(bad) = r.iter().find(|row| row.len() != k) {
            return Err(Error::Shape {
                what: "plot::band_histograms real rows".into(),
                expected: format!("{k} values per row"),
                got: vec![bad.len()],
            });
        }
    }
    let mut legend = vec![(
        format!("generated, mean ± 1σ over {} draws", bands.draws),
        Swatch::Fill(GENERATED),
    )];
    if let Some(r) = real {
        legend.push((format!("real (n = {})", r.len()), Swatch::Fill(REAL)));
    }
    let panel = (360u32, 320u32);
    let (rows, cols) = grid_shape(k);
    let size = (panel.0 * cols as u32, HEADER_HEIGHT + panel.1 * rows as u32);
    write_png(path.as_ref(), size, |root| {
        let (header, body) = root.split_vertically(HEADER_HEIGHT);
        draw_header(
            &header,
            "Generated marginals with weight-posterior bands",
            &legend,
        )?;
        let cells = body.split_evenly((rows, cols));
        for (j, cell) in cells.iter().enumerate().take(k) {
            let m = &bands.marginals[j];
            let w = m.bins.width();
            let x = Range::new(m.bins.lo, m.bins.hi);
            let dens: Vec<(f64, f64)> = m
                .mean
                .iter()
                .zip(&m.std)
                .map(|(a, s)| (a / w, s / w))
                .collect();
            let rd: Option<Vec<(f64, f64)>> = real.map(|r| {
                let n = r.len().max(1) as f64;
                mass_1d(r, j, &m.bins)
                    .iter()
                    .map(|p| (p / w, (p * n).sqrt() / n / w))
                    .collect()
            });
            let top = dens
                .iter()
                .map(|(a, s)| a + s)
                .chain(rd.iter().flatten().map(|(a, s)| a + s))
                .fold(0.0f64, f64::max);
            let y = Range::new(0.0, if top > 0.0 { 1.1 * top } else { 1.0 });
            let (upper, lower) = cell.split_vertically((panel.1 as f64 * 0.68) as u32);
            let mut chart = panel_chart(&upper, Some(&m.column), (x, y), (14, 52), (6, 12))?;
            panel_mesh(&mut chart, x, y, 0, 4, 12, None, None)?;
            let edges = m.bins.edges();
            chart.draw_series(dens.iter().enumerate().map(|(i, (a, s))| {
                Rectangle::new(
                    [(edges[i], (a - s).max(0.0)), (edges[i + 1], a + s)],
                    GENERATED.mix(0.35).filled(),
                )
            }))?;
            chart.draw_series(dens.iter().enumerate().map(|(i, (a, _))| {
                PathElement::new(
                    vec![(edges[i], *a), (edges[i + 1], *a)],
                    GENERATED.stroke_width(2),
                )
            }))?;
            if let Some(rd) = &rd {
                chart.draw_series(rd.iter().enumerate().map(|(i, (a, s))| {
                    let c = 0.5 * (edges[i] + edges[i + 1]);
                    PathElement::new(vec![(c, a - s), (c, a + s)], REAL.stroke_width(1))
                }))?;
                chart.draw_series(rd.iter().enumerate().map(|(i, (a, _))| {
                    Circle::new((0.5 * (edges[i] + edges[i + 1]), *a), 2, REAL.filled())
                }))?;
            }
            let yr = Range::new(0.0, 2.0);
            let mut ratio = panel_chart(&lower, None, (x, yr), (28, 52), (2, 12))?;
            panel_mesh(&mut ratio, x, yr, 4, 3, 11, None, Some("ratio"))?;
            ratio.draw_series(std::iter::once(PathElement::new(
                vec![(x.lo, 1.0), (x.hi, 1.0)],
                REFERENCE.stroke_width(1),
            )))?;
            ratio.draw_series(dens.iter().enumerate().filter(|(_, (a, _))| *a > 0.0).map(
                |(i, (a, s))| {
                    Rectangle::new(
                        [
                            (edges[i], (1.0 - s / a).max(0.0)),
                            (edges[i + 1], (1.0 + s / a).min(2.0)),
                        ],
                        GENERATED.mix(0.35).filled(),
                    )
                },
            ))?;
            if let Some(rd) = &rd {
                ratio.draw_series(
                    rd.iter()
                        .zip(&dens)
                        .enumerate()
                        .filter(|(_, ((r, _), (a, _)))| *a > 0.0 && *r > 0.0 && r / a < 2.0)
                        .map(|(i, ((r, _), (a, _)))| {
                            Circle::new((0.5 * (edges[i] + edges[i + 1]), r / a), 2, REAL.filled())
                        }),
                )?;
            }
        }
        Ok(())
    })
}

/// Relative uncertainty σ/mean of the generated density per bin, one panel per column.
///
/// Errors: no marginals ([`Error::Config`]), rendering or writing failed ([`Error::File`]).
pub fn relative_uncertainty(path: impl AsRef<Path>, bands: &Bands) -> Result<()> {
    let k = bands.marginals.len();
    if k == 0 {
        return Err(Error::config("plot::relative_uncertainty: no columns"));
    }
    let panel = (340u32, 250u32);
    let (rows, cols) = grid_shape(k);
    let size = (panel.0 * cols as u32, HEADER_HEIGHT + panel.1 * rows as u32);
    let legend = vec![(
        format!("σ / mean over {} draws", bands.draws),
        Swatch::Fill(GENERATED),
    )];
    write_png(path.as_ref(), size, |root| {
        let (header, body) = root.split_vertically(HEADER_HEIGHT);
        draw_header(
            &header,
            "Relative uncertainty of the generated histograms",
            &legend,
        )?;
        let cells = body.split_evenly((rows, cols));
        for (j, cell) in cells.iter().enumerate().take(k) {
            let m = &bands.marginals[j];
            let rel: Vec<f64> = m
                .mean
                .iter()
                .zip(&m.std)
                .map(|(a, s)| if *a > 0.0 { s / a } else { 0.0 })
                .collect();
            let top = rel.iter().cloned().fold(0.0f64, f64::max).min(5.0);
            let x = Range::new(m.bins.lo, m.bins.hi);
            let y = Range::new(0.0, if top > 0.0 { 1.1 * top } else { 1.0 });
            let mut chart = panel_chart(cell, Some(&m.column), (x, y), (28, 52), (6, 12))?;
            panel_mesh(&mut chart, x, y, 4, 4, 12, None, None)?;
            let edges = m.bins.edges();
            chart.draw_series(rel.iter().enumerate().map(|(i, r)| {
                Rectangle::new(
                    [(edges[i], 0.0), (edges[i + 1], r.min(top))],
                    GENERATED.mix(0.5).filled(),
                )
            }))?;
        }
        Ok(())
    })
}
