//! The variational plots: `marginals.png` (per coordinate, the flow's draws against the
//! evaluation draws weighted by `p̃/q_α`, i.e. the target's marginal), `density.png` for 2-D
//! targets (the target's density on a grid, the flow's draws on top) and
//! `training.png` (the batch ELBO per step). PNGs are written atomically.

use super::target::LogDensity;
use crate::error::Result;
use crate::plot::render::{write_png, FONT, PALETTE};
use candle_core::{DType, Device, Tensor};
use plotters::prelude::*;
use std::path::Path;

/// Most panels [`marginals`] draws.
const MAX_PANELS: usize = 16;
/// Most draws [`density`] puts on top of the density.
const MAX_POINTS: usize = 3000;

/// The 0.5 %–99.5 % range of `v`, padded by 5 %.
fn range(mut v: Vec<f64>) -> (f64, f64) {
    v.retain(|x| x.is_finite());
    if v.is_empty() {
        return (-1.0, 1.0);
    }
    v.sort_by(f64::total_cmp);
    let q = |p: f64| v[((p * (v.len() - 1) as f64).round() as usize).min(v.len() - 1)];
    let (lo, hi) = (q(0.005), q(0.995));
    let pad = 0.05 * (hi - lo).max(1e-9);
    (lo - pad, hi + pad)
}

/// `marginals.png` (module docs): `points` are `n × d` flow coordinates drawn from
/// the evaluation proposal, `from_flow` says which came from the flow `q` (the blue
/// histogram), `w` are their weights `p̃/q_α` (any scale; the orange one).
pub fn marginals(
    path: &Path,
    columns: &[String],
    points: &[f64],
    from_flow: &[bool],
    w: &[f64],
) -> Result<()> {
    let d = columns.len();
    let n = w.len().min(points.len() / d.max(1));
    let panels = d.min(MAX_PANELS);
    let bins = 50;
    let cols = (panels as f64).sqrt().ceil() as usize;
    let rows = panels.div_ceil(cols.max(1));
    let size = (320 * cols as u32, 60 + 240 * rows as u32);
    write_png(path, size, |root| {
        let (header, body) = root.split_vertically(60);
        header.draw(&Text::new(
            format!("Marginals: q draws (blue) vs weighted by p̃/q = target (orange), {n} draws"),
            (16, 18),
            (FONT, 20).into_font(),
        ))?;
        let cells = body.split_evenly((rows, cols));
        for (j, cell) in cells.iter().enumerate().take(panels) {
            let v: Vec<f64> = (0..n).map(|i| points[i * d + j]).collect();
            let (lo, hi) = range(v.clone());
            let hist = |weighted: bool| -> Vec<f64> {
                let mut h = vec![0.0; bins];
                let mut total = 0.0;
                for (i, x) in v.iter().enumerate() {
                    let wt = match (weighted, from_flow[i]) {
                        (true, _) => w[i],
                        (false, true) => 1.0,
                        (false, false) => 0.0,
                    };
                    total += wt;
                    if *x >= lo && *x < hi {
                        h[(((x - lo) / (hi - lo)) * bins as f64) as usize % bins] += wt;
                    }
                }
                let width = (hi - lo) / bins as f64;
                h.iter_mut().for_each(|c| *c /= total.max(1e-300) * width);
                h
            };
            let q = hist(false);
            let p = hist(true);
            let ymax = q.iter().chain(&p).copied().fold(0.0, f64::max).max(1e-9) * 1.1;
            let mut chart = ChartBuilder::on(cell)
                .caption(&columns[j], (FONT, 16))
                .margin(8)
                .x_label_area_size(24)
                .y_label_area_size(40)
                .build_cartesian_2d(lo..hi, 0.0..ymax)?;
            chart
                .configure_mesh()
                .x_labels(5)
                .y_labels(4)
                .label_style((FONT, 12))
                .draw()?;
            for (h, color) in [(&q, PALETTE[0]), (&p, PALETTE[1])] {
                let mut pts = Vec::with_capacity(2 * bins);
                for (b, &val) in h.iter().enumerate() {
                    let x0 = lo + (hi - lo) * b as f64 / bins as f64;
                    pts.push((x0, val));
                    pts.push((x0 + (hi - lo) / bins as f64, val));
                }
                chart.draw_series(LineSeries::new(pts, color.stroke_width(2)))?;
            }
        }
        Ok(())
    })
}

/// `density.png` for a 2-D target (module docs): `p̃` on a 200 × 200 grid over the
/// target's plot box (or the draws' range), shaded from white to blue, and at most
/// 3000 of the flow's draws (`points`, flow coordinates) in orange.
pub fn density(path: &Path, target: &dyn LogDensity, points: &[f64], title: &str) -> Result<()> {
    let g = 200usize;
    let [x0, x1, y0, y1] = match target.plot_box() {
        Some(b) => b,
        None => {
            let (a, b) = range(points.iter().step_by(2).copied().collect());
            let (c, e) = range(points.iter().skip(1).step_by(2).copied().collect());
            [a, b, c, e]
        }
    };
    let (hx, hy) = ((x1 - x0) / g as f64, (y1 - y0) / g as f64);
    let grid: Vec<f64> = (0..g * g)
        .flat_map(|k| {
            let (i, j) = (k / g, k % g);
            [x0 + (i as f64 + 0.5) * hx, y0 + (j as f64 + 0.5) * hy]
        })
        .collect();
    let t = Tensor::from_vec(grid, (g * g, 2), &Device::Cpu)?;
    let lp = target
        .log_density(&t, None)?
        .to_dtype(DType::F64)?
        .to_vec1::<f64>()?;
    let m = lp
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .fold(f64::NEG_INFINITY, f64::max);
    let shown: Vec<(f64, f64)> = points
        .chunks_exact(2)
        .take(MAX_POINTS)
        .map(|r| (r[0], r[1]))
        .collect();
    write_png(path, (720, 760), |root| {
        let (header, body) = root.split_vertically(40);
        header.draw(&Text::new(
            title.to_string(),
            (16, 12),
            (FONT, 20).into_font(),
        ))?;
        let mut chart = ChartBuilder::on(&body)
            .margin(12)
            .x_label_area_size(30)
            .y_label_area_size(44)
            .build_cartesian_2d(x0..x1, y0..y1)?;
        chart
            .configure_mesh()
            .disable_mesh()
            .label_style((FONT, 13))
            .draw()?;
        chart.draw_series(lp.iter().enumerate().map(|(k, v)| {
            let (i, j) = (k / g, k % g);
            let a = if v.is_finite() && m.is_finite() {
                (v - m).exp()
            } else {
                0.0
            };
            let shade = |c: u8| (255.0 - a * (255.0 - c as f64)) as u8;
            let c = RGBColor(shade(31), shade(119), shade(180));
            let (xa, ya) = (x0 + i as f64 * hx, y0 + j as f64 * hy);
            Rectangle::new([(xa, ya), (xa + hx, ya + hy)], c.filled())
        }))?;
        let inside = shown
            .into_iter()
            .filter(|(x, y)| (x0..x1).contains(x) && (y0..y1).contains(y));
        chart.draw_series(inside.map(|p| Circle::new(p, 1, PALETTE[1].mix(0.6).filled())))?;
        Ok(())
    })
}

/// `training.png`: the batch ELBO per step.
pub fn training(path: &Path, elbo: &[f64]) -> Result<()> {
    crate::plot::loss_curves(path, &[("batch ELBO", elbo)], "Training", "ELBO (nats)")
}
