//! PNG plots for checking a fitted flow by eye: training curves, per-column marginals
//! (real vs generated), pair (corner) plots, latent-code marginals against N(0, 1) and
//! 2-D toy-data scatter plots.
//!
//! Every function takes plain Rust data and a path, renders with
//! [`plotters`](https://docs.rs/plotters)' bitmap backend and writes the PNG atomically
//! (to a hidden temporary file in the same directory, then renamed over the target), so
//! a reader never sees half a file. Text is drawn with an embedded copy of DejaVu Sans
//! (Bitstream Vera licence, `src/plot/DejaVuSans-LICENSE.txt`) through `ab_glyph`: no
//! system font library (fontconfig, freetype) is needed to build or run.
//!
//! Conventions shared by all functions:
//!
//! * **Samples are rows.** Data sets are slices of rows (`&[Vec<f64>]`, `&[[f64; 2]]`,
//!   anything `AsRef<[f64]>`), one row per sample, one value per column; a row of the
//!   wrong length is an [`Error::Shape`].
//! * **Robust axes.** Axis ranges are the 0.5 %–99.5 % quantiles of the union of every
//!   data set drawn on that axis (padded by 4 %), so a few outliers do not squash the
//!   plot; points and lines outside are clipped.
//! * **Non-finite values** (NaN, ±Inf) are skipped (they break a curve).
//! * **Colours.** Real data is blue, generated data orange.
//! * **Errors.** Invalid arguments give [`Error::Shape`] or [`Error::Config`]; anything
//!   that goes wrong while rendering or writing (missing directory, unwritable file)
//!   gives [`Error::File`] naming the path. Nothing panics.

pub mod bands;
pub mod grid;
pub(crate) mod render;
mod sbi;
pub(crate) mod stats;
#[cfg(test)]
mod tests;
mod weighted;

pub use sbi::{coverage_curve, posterior_pairs, predictive_bands, rank_histograms, ridge_plot};
pub use weighted::{weight_histogram, weighted_histograms};

use crate::error::{Error, Result};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use render::{
    draw_frame, draw_header, write_png, Area, DrawResult, Swatch, FONT, GENERATED, GRID,
    HEADER_HEIGHT, PALETTE, REAL, REFERENCE,
};
use stats::{
    clip_polyline, density_histogram, grid_shape, loss_range, mean_sd, normal_pdf, robust_range,
    step_outline, subsample_indices, tick_formatter, Range,
};
use std::path::Path;

/// A 2-D chart with `f64` axes on the PNG bitmap.
type Chart<'a, 'b> =
    ChartContext<'a, BitMapBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// Largest number of points of each data set that [`scatter2d`] draws.
const SCATTER2D_MAX_POINTS: usize = 20_000;

/// Plot training curves: one line per `(name, values)` series, `values[k]` drawn at
/// epoch `k + 1`, with a legend of the names (series with an empty name get no legend
/// entry). Epochs with a non-finite value leave a gap. The y range runs from the lowest
/// value to the 98th percentile of all values (all of them when there are fewer than
/// 20), so a diverging epoch or a huge first-epoch loss is cut at the top edge instead
/// of flattening the rest.
///
/// ```no_run
/// let train = [3.1, 2.4, 2.0, 1.9];
/// let val = [3.0, 2.5, 2.2, 2.2];
/// flowinfer::plot::loss_curves(
///     "loss.png",
///     &[("train", &train[..]), ("validation", &val[..])],
///     "Training",
///     "NLL (nats)",
/// )?;
/// # Ok::<(), flowinfer::Error>(())
/// ```
pub fn loss_curves(
    path: impl AsRef<Path>,
    series: &[(&str, &[f64])],
    title: &str,
    y_label: &str,
) -> Result<()> {
    let path = path.as_ref();
    let epochs = series
        .iter()
        .map(|(_, v)| v.len())
        .max()
        .unwrap_or(0)
        .max(2);
    let x = Range::new(1.0, epochs as f64).padded(0.01);
    let y = loss_range(series.iter().flat_map(|(_, v)| v.iter().copied()))
        .unwrap_or(Range::new(0.0, 1.0));
    write_png(path, (960, 600), |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, (FONT, 24))
            .margin(16)
            .x_label_area_size(52)
            .y_label_area_size(80)
            .build_cartesian_2d(x.as_std(), y.as_std())?;
        let fy = tick_formatter(y);
        let fx = |v: &f64| {
            if (v - v.round()).abs() < 1e-6 {
                format!("{}", v.round() as i64)
            } else {
                format!("{v:.1}")
            }
        };
        chart
            .configure_mesh()
            .x_labels(epochs.clamp(2, 10))
            .y_labels(8)
            .x_label_formatter(&fx)
            .y_label_formatter(&fy)
            .x_desc("epoch")
            .y_desc(y_label)
            .label_style((FONT, 15))
            .axis_desc_style((FONT, 17))
            .light_line_style(WHITE)
            .bold_line_style(GRID)
            .draw()?;
        draw_frame(&mut chart, x, y)?;
        let mut any_label = false;
        for (i, (name, values)) in series.iter().enumerate() {
            let color = PALETTE[i % PALETTE.len()];
            let pts: Vec<(f64, f64)> = values
                .iter()
                .enumerate()
                .map(|(k, &v)| ((k + 1) as f64, v))
                .collect();
            let pieces = clip_polyline(&pts, x, y);
            let anno = chart.draw_series(
                pieces
                    .into_iter()
                    .map(|p| PathElement::new(p, color.stroke_width(2))),
            )?;
            if !name.is_empty() {
                any_label = true;
                anno.label(*name).legend(move |(lx, ly)| {
                    PathElement::new(vec![(lx, ly), (lx + 22, ly)], color.stroke_width(3))
                });
            }
            // Markers make short runs (and isolated points between gaps) visible.
            if values.len() <= 60 {
                chart.draw_series(
                    pts.iter()
                        .filter(|(px, py)| py.is_finite() && x.contains(*px) && y.contains(*py))
                        .map(|&p| Circle::new(p, 3, color.filled())),
                )?;
            }
        }
        if any_label {
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperRight)
                .label_font((FONT, 16))
                .background_style(WHITE.mix(0.85))
                .border_style(GRID.stroke_width(1))
                .margin(12)
                .draw()?;
        }
        Ok(())
    })
}

/// Plot a grid of per-column histograms, density-normalised, of `real` (blue) and
/// `generated` (orange) overlaid, with a legend; one panel per column, titled with its
/// name. `real` and `generated` hold one row per sample with `columns.len()` values
/// each; both share the bin edges (`bins` equal bins over the robust range of their
/// union). The grid has `⌈√k⌉` columns for `k` panels (4 × 4 for 16).
///
/// Errors: no columns or `bins == 0` ([`Error::Config`]); a row whose length is not
/// `columns.len()` ([`Error::Shape`]); rendering or writing failed ([`Error::File`]).
pub fn histograms<R: AsRef<[f64]>, G: AsRef<[f64]>>(
    path: impl AsRef<Path>,
    columns: &[String],
    real: &[R],
    generated: &[G],
    bins: usize,
) -> Result<()> {
    let path = path.as_ref();
    let k = columns.len();
    if k == 0 {
        return Err(Error::config("plot::histograms: no columns to plot"));
    }
    if bins == 0 {
        return Err(Error::config("plot::histograms: bins must be at least 1"));
    }
    check_rows(real, k, "real samples", "histograms")?;
    check_rows(generated, k, "generated samples", "histograms")?;
    let title = "Marginal densities: real vs generated";
    let legend = legend_real_generated(real.len(), generated.len());
    let panel = (340u32, 270u32);
    let (rows, cols) = grid_shape(k);
    let size = (panel.0 * cols as u32, HEADER_HEIGHT + panel.1 * rows as u32);
    write_png(path, size, |root| {
        let (header, body) = root.split_vertically(HEADER_HEIGHT);
        draw_header(&header, title, &legend)?;
        let cells = body.split_evenly((rows, cols));
        for (j, cell) in cells.iter().enumerate().take(k) {
            let r = column(real, j);
            let g = column(generated, j);
            let x = robust_range(r.iter().chain(&g).copied()).unwrap_or(Range::new(0.0, 1.0));
            let hr = density_histogram(&r, x, bins);
            let hg = density_histogram(&g, x, bins);
            let y = density_axis(hr.iter().chain(&hg).copied());
            let mut chart = panel_chart(cell, Some(&columns[j]), (x, y), (32, 56), (6, 12))?;
            panel_mesh(&mut chart, x, y, 5, 4, 13, None, None)?;
            draw_histogram(&mut chart, &hr, x, REAL, 1)?;
            draw_histogram(&mut chart, &hg, x, GENERATED, 2)?;
        }
        Ok(())
    })
}

/// Plot a corner (pair) plot: for columns `i > j` a scatter plot of column `j` (x)
/// against column `i` (y) with the real (blue) and generated (orange) samples as
/// small translucent points; on the diagonal the two marginal histograms
/// (density-normalised, shared bins). Each data set is subsampled to at most
/// `max_points` rows (a fixed-seed random subset, so the plot is reproducible). Column
/// names label the bottom row and the left column; every column has one robust range
/// used in all panels.
///
/// Errors: no columns or `max_points == 0` ([`Error::Config`]); a row whose length is
/// not `columns.len()` ([`Error::Shape`]); rendering or writing failed
/// ([`Error::File`]).
pub fn corner<R: AsRef<[f64]>, G: AsRef<[f64]>>(
    path: impl AsRef<Path>,
    columns: &[String],
    real: &[R],
    generated: &[G],
    max_points: usize,
) -> Result<()> {
    let path = path.as_ref();
    let d = columns.len();
    if d == 0 {
        return Err(Error::config("plot::corner: no columns to plot"));
    }
    if max_points == 0 {
        return Err(Error::config("plot::corner: max_points must be at least 1"));
    }
    check_rows(real, d, "real samples", "corner")?;
    check_rows(generated, d, "generated samples", "corner")?;
    let ranges: Vec<Range> = (0..d)
        .map(|j| {
            robust_range(column(real, j).into_iter().chain(column(generated, j)))
                .unwrap_or(Range::new(0.0, 1.0))
        })
        .collect();
    let real_idx = subsample_indices(real.len(), max_points);
    let gen_idx = subsample_indices(generated.len(), max_points);
    let legend = vec![
        (
            shown_label("real", real_idx.len(), real.len()),
            Swatch::Fill(REAL),
        ),
        (
            shown_label("generated", gen_idx.len(), generated.len()),
            Swatch::Fill(GENERATED),
        ),
    ];
    let p = (1500 / d as u32).clamp(110, 260);
    let (left, bottom) = (76u32, 60u32);
    let (pad_right, pad_bottom) = (16u32, 8u32);
    let size = (
        left + d as u32 * p + pad_right,
        HEADER_HEIGHT + d as u32 * p + bottom + pad_bottom,
    );
    let bins = hist_bins(real.len().max(generated.len()), 40);
    let n_ticks = if p >= 170 { 4 } else { 3 };
    let tick_font = if p >= 170 { 13 } else { 12 };
    let radius = if p >= 200 { 2 } else { 1 };
    let real_color = REAL.mix(point_alpha(real_idx.len(), radius));
    let gen_color = GENERATED.mix(point_alpha(gen_idx.len(), radius));
    write_png(path, size, |root| {
        let (header, body) = root.split_vertically(HEADER_HEIGHT);
        draw_header(&header, "Pair plot: real vs generated", &legend)?;
        let body = body.margin(0, pad_bottom, 0, pad_right);
        let xs: Vec<i32> = (1..d).map(|k| (left + k as u32 * p) as i32).collect();
        let ys: Vec<i32> = (1..d).map(|k| (k as u32 * p) as i32).collect();
        let cells = body.split_by_breakpoints(xs, ys);
        for i in 0..d {
            for j in 0..=i {
                let cell = &cells[i * d + j];
                let x = ranges[j];
                let (x_area, x_desc) = if i == d - 1 {
                    (bottom, Some(columns[j].as_str()))
                } else {
                    (0, None)
                };
                let y_area = if j == 0 { left } else { 0 };
                if i == j {
                    let r = column(real, j);
                    let g = column(generated, j);
                    let hr = density_histogram(&r, x, bins);
                    let hg = density_histogram(&g, x, bins);
                    let y = density_axis(hr.iter().chain(&hg).copied());
                    let mut chart = panel_chart(cell, None, (x, y), (x_area, y_area), (4, 4))?;
                    panel_mesh(&mut chart, x, y, n_ticks, 0, tick_font, x_desc, None)?;
                    draw_histogram(&mut chart, &hr, x, REAL, 1)?;
                    draw_histogram(&mut chart, &hg, x, GENERATED, 1)?;
                } else {
                    let y = ranges[i];
                    let y_desc = (j == 0).then(|| columns[i].as_str());
                    let mut chart = panel_chart(cell, None, (x, y), (x_area, y_area), (4, 4))?;
                    panel_mesh(
                        &mut chart, x, y, n_ticks, n_ticks, tick_font, x_desc, y_desc,
                    )?;
                    // Alternate real and generated points so neither colour is
                    // systematically painted over the other.
                    let pts = (0..real_idx.len().max(gen_idx.len())).flat_map(|t| {
                        let r = real_idx.get(t).map(|&s| {
                            let row = real[s].as_ref();
                            ((row[j], row[i]), real_color)
                        });
                        let g = gen_idx.get(t).map(|&s| {
                            let row = generated[s].as_ref();
                            ((row[j], row[i]), gen_color)
                        });
                        r.into_iter().chain(g)
                    });
                    draw_points(&mut chart, pts, x, y, radius)?;
                }
            }
        }
        Ok(())
    })
}

/// Plot the marginals of a latent code `z = f(x)` (one row per sample, all rows of the
/// same length `d`): a grid of density-normalised histograms, one per coordinate,
/// each with the standard normal density overlaid and its sample mean and standard
/// deviation in the panel title. A well-trained flow maps data to N(0, 1) in every
/// coordinate, so this is the "code distribution" check.
///
/// Errors: no rows or zero-width rows ([`Error::Config`]); rows of different lengths
/// ([`Error::Shape`]); rendering or writing failed ([`Error::File`]).
pub fn latent_marginals<R: AsRef<[f64]>>(path: impl AsRef<Path>, z: &[R]) -> Result<()> {
    let path = path.as_ref();
    let Some(first) = z.first() else {
        return Err(Error::config("plot::latent_marginals: no latent samples"));
    };
    let d = first.as_ref().len();
    if d == 0 {
        return Err(Error::config(
            "plot::latent_marginals: latent rows have no coordinates",
        ));
    }
    check_rows(z, d, "latent samples", "latent_marginals")?;
    let bins = hist_bins(z.len(), 60);
    let legend = vec![
        (format!("latent z (n = {})", z.len()), Swatch::Fill(REAL)),
        ("N(0, 1) density".to_string(), Swatch::Line(REFERENCE)),
    ];
    let panel = (340u32, 270u32);
    let (rows, cols) = grid_shape(d);
    let size = (panel.0 * cols as u32, HEADER_HEIGHT + panel.1 * rows as u32);
    write_png(path, size, |root| {
        let (header, body) = root.split_vertically(HEADER_HEIGHT);
        draw_header(&header, "Latent marginals vs N(0, 1)", &legend)?;
        let cells = body.split_evenly((rows, cols));
        for (k, cell) in cells.iter().enumerate().take(d) {
            let values = column(z, k);
            let x = robust_range(values.iter().copied())
                .unwrap_or(Range::new(-4.0, 4.0))
                .union(Range::new(-4.0, 4.0));
            let h = density_histogram(&values, x, bins);
            let y = density_axis(h.iter().copied().chain([normal_pdf(0.0)]));
            let caption = match mean_sd(&values) {
                Some((m, s)) => format!("z{k}: mean {}, sd {}", fixed2(m), fixed2(s)),
                None => format!("z{k}: no finite values"),
            };
            let mut chart = panel_chart(cell, Some(&caption), (x, y), (32, 56), (6, 12))?;
            panel_mesh(&mut chart, x, y, 5, 4, 13, None, None)?;
            draw_histogram(&mut chart, &h, x, REAL, 1)?;
            let curve: Vec<(f64, f64)> = (0..=240)
                .map(|t| {
                    let v = x.lo + x.width() * t as f64 / 240.0;
                    (v, normal_pdf(v))
                })
                .collect();
            chart.draw_series(
                clip_polyline(&curve, x, y)
                    .into_iter()
                    .map(|p| PathElement::new(p, REFERENCE.stroke_width(2))),
            )?;
        }
        Ok(())
    })
}

/// Plot 2-D samples (toy data sets): real (blue, left) and generated (orange, right)
/// side by side on the same, equal-aspect axes, under `title`. Rows must have two
/// values (`&[[f64; 2]]` and `&[Vec<f64>]` both work). At most 20 000 points of each
/// set are drawn (a fixed-seed random subset).
///
/// Errors: a row without exactly two values ([`Error::Shape`]); rendering or writing
/// failed ([`Error::File`]).
pub fn scatter2d<R: AsRef<[f64]>, G: AsRef<[f64]>>(
    path: impl AsRef<Path>,
    real: &[R],
    generated: &[G],
    title: &str,
) -> Result<()> {
    let path = path.as_ref();
    check_rows(real, 2, "real samples", "scatter2d")?;
    check_rows(generated, 2, "generated samples", "scatter2d")?;
    let x = robust_range(column(real, 0).into_iter().chain(column(generated, 0)));
    let y = robust_range(column(real, 1).into_iter().chain(column(generated, 1)));
    let (x, y) = equal_aspect(
        x.unwrap_or(Range::new(-1.0, 1.0)),
        y.unwrap_or(Range::new(-1.0, 1.0)),
    );
    let real_idx = subsample_indices(real.len(), SCATTER2D_MAX_POINTS);
    let gen_idx = subsample_indices(generated.len(), SCATTER2D_MAX_POINTS);
    let size = (1040u32, HEADER_HEIGHT + 540);
    write_png(path, size, |root| {
        let (header, body) = root.split_vertically(HEADER_HEIGHT - 16);
        draw_header(&header, title, &[])?;
        let halves = body.split_evenly((1, 2));
        let panels = [
            (
                &halves[0],
                shown_label("real", real_idx.len(), real.len()),
                REAL,
            ),
            (
                &halves[1],
                shown_label("generated", gen_idx.len(), generated.len()),
                GENERATED,
            ),
        ];
        for (n, (cell, caption, color)) in panels.into_iter().enumerate() {
            let mut chart = ChartBuilder::on(cell)
                .caption(caption, (FONT, 18).into_font().color(&color))
                .margin(14)
                .x_label_area_size(32)
                .y_label_area_size(56)
                .build_cartesian_2d(x.as_std(), y.as_std())?;
            panel_mesh(&mut chart, x, y, 6, 6, 14, None, None)?;
            if n == 0 {
                let c = color.mix(point_alpha(real_idx.len(), 1));
                let pts = real_idx.iter().map(|&s| {
                    let row = real[s].as_ref();
                    ((row[0], row[1]), c)
                });
                draw_points(&mut chart, pts, x, y, 1)?;
            } else {
                let c = color.mix(point_alpha(gen_idx.len(), 1));
                let pts = gen_idx.iter().map(|&s| {
                    let row = generated[s].as_ref();
                    ((row[0], row[1]), c)
                });
                draw_points(&mut chart, pts, x, y, 1)?;
            }
        }
        Ok(())
    })
}

/// Check that every row of `rows` has `width` values.
fn check_rows<R: AsRef<[f64]>>(rows: &[R], width: usize, what: &str, func: &str) -> Result<()> {
    for (i, row) in rows.iter().enumerate() {
        let len = row.as_ref().len();
        if len != width {
            return Err(Error::Shape {
                what: format!("row {i} of the {what} passed to plot::{func}"),
                expected: format!("({width},), one value per column"),
                got: vec![len],
            });
        }
    }
    Ok(())
}

/// Column `j` of row-major `rows` (rows already checked to be wide enough).
fn column<R: AsRef<[f64]>>(rows: &[R], j: usize) -> Vec<f64> {
    rows.iter().map(|r| r.as_ref()[j]).collect()
}

/// The legend entries "real (n = …)" and "generated (n = …)".
fn legend_real_generated(n_real: usize, n_generated: usize) -> Vec<(String, Swatch)> {
    vec![
        (format!("real (n = {n_real})"), Swatch::Fill(REAL)),
        (
            format!("generated (n = {n_generated})"),
            Swatch::Fill(GENERATED),
        ),
    ]
}

/// "name (n = N)" or, when subsampled, "name (S of N shown)".
fn shown_label(name: &str, shown: usize, total: usize) -> String {
    if shown == total {
        format!("{name} (n = {total})")
    } else {
        format!("{name} ({shown} of {total} shown)")
    }
}

/// `v` with two decimals, without a minus sign on a value that rounds to zero.
fn fixed2(v: f64) -> String {
    let s = format!("{v:.2}");
    if s == "-0.00" {
        "0.00".to_string()
    } else {
        s
    }
}

/// Number of histogram bins for `n` samples: `√n`, between 10 and `max`.
fn hist_bins(n: usize, max: usize) -> usize {
    ((n as f64).sqrt().round() as usize).clamp(10, max)
}

/// Opacity of scatter points of `radius` when `n` are drawn: lower for more and larger
/// points, so dense regions still show structure.
fn point_alpha(n: usize, radius: u32) -> f64 {
    let k = if radius <= 1 { 500.0 } else { 150.0 };
    (k / n.max(1) as f64).sqrt().clamp(0.08, 0.75)
}

/// The y axis of a density histogram: `[0, 1.1 · max]`.
fn density_axis(heights: impl Iterator<Item = f64>) -> Range {
    let top = heights.filter(|h| h.is_finite()).fold(0.0f64, f64::max);
    Range::new(0.0, if top > 0.0 { 1.1 * top } else { 1.0 })
}

/// Widen the narrower of two ranges (about its centre) to the width of the other.
fn equal_aspect(x: Range, y: Range) -> (Range, Range) {
    let w = x.width().max(y.width());
    let widen = |r: Range| {
        let c = 0.5 * (r.lo + r.hi);
        Range::new(c - 0.5 * w, c + 0.5 * w)
    };
    (widen(x), widen(y))
}

/// A panel chart on `cell` with an optional caption, axes `(x, y)`, label areas
/// `(below, left)` and margins `(all sides, right side)` in pixels.
fn panel_chart<'a, 'b>(
    cell: &'a Area<'b>,
    caption: Option<&str>,
    (x, y): (Range, Range),
    (x_label_area, y_label_area): (u32, u32),
    (margin, margin_right): (u32, u32),
) -> std::result::Result<Chart<'a, 'b>, Box<dyn std::error::Error>> {
    let mut builder = ChartBuilder::on(cell);
    builder
        .margin(margin)
        .margin_right(margin_right)
        .x_label_area_size(x_label_area)
        .y_label_area_size(y_label_area);
    if let Some(c) = caption {
        builder.caption(c, (FONT, 16));
    }
    Ok(builder.build_cartesian_2d(x.as_std(), y.as_std())?)
}

/// Light grid, short tick labels (`x_labels`/`y_labels` of them, 0 for none), optional
/// axis descriptions, and a frame.
#[allow(clippy::too_many_arguments)]
fn panel_mesh(
    chart: &mut Chart<'_, '_>,
    x: Range,
    y: Range,
    x_labels: usize,
    y_labels: usize,
    font_size: u32,
    x_desc: Option<&str>,
    y_desc: Option<&str>,
) -> DrawResult {
    let fx = tick_formatter(x);
    let fy = tick_formatter(y);
    let mut mesh = chart.configure_mesh();
    mesh.x_labels(x_labels)
        .y_labels(y_labels)
        .x_label_formatter(&fx)
        .y_label_formatter(&fy)
        .label_style((FONT, font_size))
        .axis_desc_style((FONT, font_size + 2))
        .light_line_style(WHITE)
        .bold_line_style(GRID);
    if let Some(d) = x_desc {
        mesh.x_desc(d);
    }
    if let Some(d) = y_desc {
        mesh.y_desc(d);
    }
    mesh.draw()?;
    draw_frame(chart, x, y)?;
    Ok(())
}

/// Translucent bars and a solid step outline of a density histogram over `range`.
fn draw_histogram(
    chart: &mut Chart<'_, '_>,
    heights: &[f64],
    range: Range,
    color: RGBColor,
    stroke: u32,
) -> DrawResult {
    let width = range.width() / heights.len() as f64;
    chart.draw_series(
        heights
            .iter()
            .enumerate()
            .filter(|(_, h)| **h > 0.0)
            .map(|(k, &h)| {
                let x0 = range.lo + k as f64 * width;
                Rectangle::new([(x0, 0.0), (x0 + width, h)], color.mix(0.28).filled())
            }),
    )?;
    chart.draw_series(std::iter::once(PathElement::new(
        step_outline(heights, range),
        color.stroke_width(stroke),
    )))?;
    Ok(())
}

/// Small filled circles, each in its colour, at the points inside `x × y` (which
/// skips non-finite ones).
fn draw_points(
    chart: &mut Chart<'_, '_>,
    pts: impl Iterator<Item = ((f64, f64), RGBAColor)>,
    x: Range,
    y: Range,
    radius: u32,
) -> DrawResult {
    chart.draw_series(
        pts.filter(|&((px, py), _)| x.contains(px) && y.contains(py))
            .map(|(p, c)| Circle::new(p, radius, c.filled())),
    )?;
    Ok(())
}
