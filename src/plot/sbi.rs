//! Diagnostics of simulation-based inference: simulation-based calibration (rank
//! histograms), expected coverage, posterior predictive checks, posterior pair plots
//! over the prior, and the non-identifiable ridge of a two-parameter product.
//!
//! Same conventions as the rest of [`crate::plot`]: plain data in, a PNG written
//! atomically, [`Error::Config`] / [`Error::Shape`] for bad arguments, [`Error::File`]
//! when rendering or writing fails; nothing panics. The model (posterior, re-simulated
//! observations) is drawn in orange, the prior in grey, true values and observations in
//! black.

use super::render::{
    draw_frame, draw_header, write_png, Area, DrawResult, Swatch, FONT, FRAME, GENERATED,
    HEADER_HEIGHT, REAL, REFERENCE,
};
use super::stats::{
    clip_polyline, density_histogram, grid_shape, robust_range, subsample_indices, Range,
};
use super::{
    check_rows, column, density_axis, draw_histogram, draw_points, hist_bins, panel_chart,
    panel_mesh, point_alpha, shown_label, Chart,
};
use crate::error::{Error, Result};
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::Path;

#[cfg(test)]
#[path = "sbi_tests.rs"]
mod tests;

/// Grey of the SBC uniformity band and the coverage band (opaque, so adjacent bins
/// leave no seams).
const BAND: RGBColor = RGBColor(214, 214, 214);
/// The predictive band: orange at 28 % opacity on white, pre-blended (opaque, so the
/// strips of the band leave no seams).
const BAND_ORANGE: RGBColor = RGBColor(255, 219, 188);
/// Legend colour of [`BAND`] (the legend swatch is drawn translucent).
const BAND_SWATCH: RGBColor = RGBColor(160, 160, 160);
/// Colour of prior samples.
const PRIOR: RGBColor = RGBColor(140, 140, 140);
/// Colour of observations and true values.
const TRUTH: RGBColor = RGBColor(0, 0, 0);
/// Height of the subtitle strip under the header of [`predictive_bands`].
const SUBTITLE_HEIGHT: u32 = 26;
/// Largest number of samples [`ridge_plot`] draws.
const RIDGE_MAX_POINTS: usize = 20_000;
/// Segments with at most this many entries are drawn as error bars by
/// [`predictive_bands`], longer ones as a shaded band.
const ERROR_BAR_MAX_LEN: usize = 30;
/// Largest `max_rank` (posterior draws per run) [`rank_histograms`] accepts.
const MAX_RANK: usize = 10_000_000;
/// Largest number of bins [`rank_histograms`] accepts.
const MAX_RANK_BINS: usize = 10_000;
/// Central probability of the band of [`rank_histograms`].
const SBC_BAND_PROB: f64 = 0.99;

/// Plot simulation-based calibration rank histograms, one panel per parameter.
///
/// `ranks[p]` holds, for every calibration run, the rank of the true value of parameter
/// `p` among `max_rank` posterior draws (the number of draws below it), so ranks lie in
/// `0..=max_rank`. Each panel shows the counts in `bins` bins of equal rank width
/// (rank `r` falls in bin `⌊r · bins / (max_rank + 1)⌋`, the binning of the χ² test
/// in `sbi::diagnostics`; when `bins` does not divide `max_rank + 1` the bins differ by
/// one rank and their expectations accordingly), the expected count under a calibrated
/// posterior (uniform ranks) as a black line, and a grey band holding 99 % of the
/// per-bin counts under uniformity (exact binomial quantiles). Panels are titled
/// `name (χ² p = 0.43)` with `p_values[p]`; a NaN p-value is shown as "n/a", and an
/// empty `p_values` leaves the p-values out.
///
/// A ∪-shaped histogram means an overconfident (too narrow) posterior, a ∩ shape an
/// underconfident one, a slope a biased one.
///
/// Errors ([`Error::Config`] unless noted): no names, `max_rank` not in
/// `1..=10_000_000`, `bins` not in `1..=max_rank + 1` or above 10 000, a rank above
/// `max_rank`, a p-value outside `[0, 1]` (NaN is allowed); `ranks` or a non-empty
/// `p_values` not of length `names.len()` ([`Error::Shape`]); rendering or writing
/// failed ([`Error::File`]).
pub fn rank_histograms(
    path: impl AsRef<Path>,
    names: &[String],
    ranks: &[Vec<usize>],
    max_rank: usize,
    bins: usize,
    p_values: &[f64],
) -> Result<()> {
    const FUNC: &str = "plot::rank_histograms";
    let path = path.as_ref();
    let k = names.len();
    if k == 0 {
        return Err(Error::config(format!("{FUNC}: no parameter names")));
    }
    if ranks.len() != k {
        return Err(length_error(FUNC, "rank lists", k, ranks.len()));
    }
    if !p_values.is_empty() && p_values.len() != k {
        return Err(length_error(FUNC, "p-values", k, p_values.len()));
    }
    if max_rank == 0 {
        return Err(Error::config(format!(
            "{FUNC}: max_rank (posterior draws per run) must be at least 1"
        )));
    }
    if max_rank > MAX_RANK {
        return Err(Error::config(format!(
            "{FUNC}: max_rank = {max_rank} is more than {MAX_RANK} posterior draws per run"
        )));
    }
    if bins > MAX_RANK_BINS {
        return Err(Error::config(format!(
            "{FUNC}: {bins} bins are too many to draw (at most {MAX_RANK_BINS})"
        )));
    }
    if bins == 0 || bins > max_rank + 1 {
        return Err(Error::config(format!(
            "{FUNC}: bins must be between 1 and max_rank + 1 = {}, got {bins}",
            max_rank + 1
        )));
    }
    for (name, r) in names.iter().zip(ranks) {
        if let Some((run, &bad)) = r.iter().enumerate().find(|(_, &v)| v > max_rank) {
            return Err(Error::config(format!(
                "{FUNC}: rank {bad} of run {run} for parameter '{name}' exceeds \
                 max_rank = {max_rank}"
            )));
        }
    }
    if let Some((p, &bad)) = p_values
        .iter()
        .enumerate()
        .find(|(_, v)| !v.is_nan() && !(0.0..=1.0).contains(*v))
    {
        return Err(Error::config(format!(
            "{FUNC}: p-value {bad} of parameter '{}' is not in [0, 1]",
            names[p]
        )));
    }

    let edges = rank_bins(max_rank, bins);
    let legend = vec![
        ("rank counts".to_string(), Swatch::Fill(REAL)),
        ("uniform expectation".to_string(), Swatch::Line(REFERENCE)),
        (
            format!("{:.0} % band under uniformity", 100.0 * SBC_BAND_PROB),
            Swatch::Fill(BAND_SWATCH),
        ),
    ];
    let title =
        format!("Simulation-based calibration: rank of the truth among {max_rank} posterior draws");
    let panel = (360u32, 280u32);
    let (rows, cols) = grid_shape(k);
    let size = (
        (panel.0 * cols as u32).max(760),
        HEADER_HEIGHT + panel.1 * rows as u32,
    );
    let x = Range::new(-0.5, max_rank as f64 + 0.5);
    let tail = 0.5 * (1.0 - SBC_BAND_PROB);
    write_png(path, size, |root| {
        let (header, body) = root.split_vertically(HEADER_HEIGHT);
        draw_header(&header, &title, &legend)?;
        let cells = body.split_evenly((rows, cols));
        for (p, cell) in cells.iter().enumerate().take(k) {
            let n = ranks[p].len();
            let mut counts = vec![0usize; bins];
            for &r in &ranks[p] {
                counts[rank_bin(r, max_rank, bins)] += 1;
            }
            let stats: Vec<(f64, f64, f64)> = edges
                .iter()
                .map(|&(first, last)| {
                    let share = (last - first + 1) as f64 / (max_rank + 1) as f64;
                    let (lo, hi) = binomial_interval(n, share, tail);
                    (n as f64 * share, lo as f64, hi as f64)
                })
                .collect();
            let top = counts
                .iter()
                .map(|&c| c as f64)
                .chain(stats.iter().map(|s| s.2))
                .fold(1.0f64, f64::max);
            let y = Range::new(0.0, 1.12 * top);
            let caption = match p_values.get(p) {
                None => names[p].clone(),
                Some(v) => format!("{} (χ² p = {})", names[p], format_p(*v)),
            };
            let mut chart = panel_chart(cell, Some(&caption), (x, y), (46, 56), (6, 14))?;
            panel_mesh(&mut chart, x, y, 5, 4, 13, Some("rank"), None)?;
            chart.draw_series(edges.iter().zip(&stats).map(|(&(first, last), s)| {
                Rectangle::new(
                    [(first as f64 - 0.5, s.1), (last as f64 + 0.5, s.2)],
                    BAND.filled(),
                )
            }))?;
            draw_frame(&mut chart, x, y)?;
            chart.draw_series(edges.iter().zip(&counts).filter(|(_, &c)| c > 0).map(
                |(&(first, last), &c)| {
                    Rectangle::new(
                        [(first as f64 - 0.5, 0.0), (last as f64 + 0.5, c as f64)],
                        REAL.mix(0.45).filled(),
                    )
                },
            ))?;
            let outline: Vec<(f64, f64)> = std::iter::once((-0.5, 0.0))
                .chain(edges.iter().zip(&counts).flat_map(|(&(first, last), &c)| {
                    [
                        (first as f64 - 0.5, c as f64),
                        (last as f64 + 0.5, c as f64),
                    ]
                }))
                .chain(std::iter::once((max_rank as f64 + 0.5, 0.0)))
                .collect();
            chart.draw_series(std::iter::once(PathElement::new(
                outline,
                REAL.stroke_width(1),
            )))?;
            let expected: Vec<(f64, f64)> = edges
                .iter()
                .zip(&stats)
                .flat_map(|(&(first, last), s)| {
                    [(first as f64 - 0.5, s.0), (last as f64 + 0.5, s.0)]
                })
                .collect();
            chart.draw_series(std::iter::once(PathElement::new(
                expected,
                REFERENCE.stroke_width(2),
            )))?;
        }
        Ok(())
    })
}

/// Plot an expected-coverage curve: the empirical coverage of the posterior's credible
/// regions (y) against their credible level (x), as an orange line with markers, over
/// the ideal diagonal (dashed) and a grey band of ±1.96 · √(l (1 − l) / runs) around it
/// (the binomial scatter of a calibrated posterior's coverage over `runs` data sets).
/// Points above the diagonal mean a conservative (too wide) posterior, points below an
/// overconfident one; the plot says so in a note. Points are drawn in order of their
/// level, so `levels` need not be sorted.
///
/// Errors: no levels, `runs == 0`, a level or coverage that is NaN, infinite or outside
/// `[0, 1]` ([`Error::Config`]); `coverage` not as long as `levels` ([`Error::Shape`]);
/// rendering or writing failed ([`Error::File`]).
pub fn coverage_curve(
    path: impl AsRef<Path>,
    levels: &[f64],
    coverage: &[f64],
    runs: usize,
    title: &str,
) -> Result<()> {
    const FUNC: &str = "plot::coverage_curve";
    let path = path.as_ref();
    if levels.is_empty() {
        return Err(Error::config(format!("{FUNC}: no credible levels")));
    }
    if coverage.len() != levels.len() {
        return Err(length_error(
            FUNC,
            "coverage values",
            levels.len(),
            coverage.len(),
        ));
    }
    if runs == 0 {
        return Err(Error::config(format!("{FUNC}: runs must be at least 1")));
    }
    for (what, values) in [("credible level", levels), ("coverage", coverage)] {
        if let Some((i, v)) = values
            .iter()
            .enumerate()
            .find(|(_, v)| !(0.0..=1.0).contains(*v))
        {
            return Err(Error::config(format!(
                "{FUNC}: {what} {v} at index {i} is not a number in [0, 1]"
            )));
        }
    }
    let mut pts: Vec<(f64, f64)> = levels
        .iter()
        .copied()
        .zip(coverage.iter().copied())
        .collect();
    pts.sort_by(|a, b| a.0.total_cmp(&b.0));
    let half_width = |l: f64| 1.96 * (l * (1.0 - l) / runs as f64).sqrt();
    let steps = 400;
    let grid = (0..=steps).map(|t| t as f64 / steps as f64);
    let lower: Vec<(f64, f64)> = grid
        .clone()
        .map(|l| (l, (l - half_width(l)).max(0.0)))
        .collect();
    let upper: Vec<(f64, f64)> = grid.map(|l| (l, (l + half_width(l)).min(1.0))).collect();
    let legend = vec![
        ("empirical coverage".to_string(), Swatch::Line(GENERATED)),
        ("ideal (diagonal)".to_string(), Swatch::Line(REFERENCE)),
        (
            format!("95 % band for {runs} runs"),
            Swatch::Fill(BAND_SWATCH),
        ),
    ];
    let axis = Range::new(0.0, 1.0).padded(0.02);
    let size = (780u32, HEADER_HEIGHT + 700);
    write_png(path, size, |root| {
        let (header, body) = root.split_vertically(HEADER_HEIGHT);
        draw_header(&header, title, &legend)?;
        let body = body.margin(4, 16, 8, 24);
        let mut chart = panel_chart(&body, None, (axis, axis), (56, 72), (4, 4))?;
        panel_mesh(
            &mut chart,
            axis,
            axis,
            6,
            6,
            15,
            Some("credible level"),
            Some("empirical coverage"),
        )?;
        draw_band(&mut chart, &lower, &upper, BAND)?;
        draw_frame(&mut chart, axis, axis)?;
        chart.draw_series(std::iter::once(DashedPathElement::new(
            vec![(0.0, 0.0), (1.0, 1.0)],
            9,
            6,
            REFERENCE.stroke_width(2),
        )))?;
        chart.draw_series(std::iter::once(PathElement::new(
            pts.clone(),
            GENERATED.stroke_width(2),
        )))?;
        if pts.len() <= 100 {
            chart.draw_series(pts.iter().map(|&p| Circle::new(p, 4, GENERATED.filled())))?;
        }
        draw_note(
            &mut chart,
            (0.0, 1.0),
            &["above the diagonal: conservative", "below: overconfident"],
        )?;
        Ok(())
    })
}

/// Plot a posterior predictive check: the observation (black) against observations
/// re-simulated from posterior draws, summarised per entry by their 5 %, 50 % and 95 %
/// quantiles.
///
/// `segments` splits the observation vector into consecutive named panels (for a time
/// series of two channels `[("dS/dt", 1000), ("dR/dt", 1000)]`); their lengths must sum
/// to `observed.len()`, and an empty slice means one panel named "observation". The x
/// axis of a panel is the index within its segment. A segment of more than 30 entries is
/// drawn as a shaded 90 % band (q05 to q95) with the median as a line and the
/// observation as a line; a shorter one as an error bar (q05 to q95) with the median as
/// a ring and the observation as a dot per index. A subtitle gives the fraction of
/// observed entries inside the band (over the entries where the observation and both
/// quantiles are finite), each panel caption that of its segment. Non-finite values are
/// skipped.
///
/// Errors: an empty observation, a zero-length segment, `q05 > q95` at some entry
/// ([`Error::Config`]); quantile vectors not as long as `observed`, segment lengths not
/// summing to it ([`Error::Shape`]); rendering or writing failed ([`Error::File`]).
pub fn predictive_bands(
    path: impl AsRef<Path>,
    observed: &[f64],
    q05: &[f64],
    q50: &[f64],
    q95: &[f64],
    segments: &[(String, usize)],
    title: &str,
) -> Result<()> {
    const FUNC: &str = "plot::predictive_bands";
    let path = path.as_ref();
    let n = observed.len();
    if n == 0 {
        return Err(Error::config(format!("{FUNC}: the observation is empty")));
    }
    for (what, q) in [("q05", q05), ("q50", q50), ("q95", q95)] {
        if q.len() != n {
            return Err(length_error(FUNC, what, n, q.len()));
        }
    }
    if let Some(i) = (0..n).find(|&i| q05[i] > q95[i]) {
        return Err(Error::config(format!(
            "{FUNC}: q05 = {} exceeds q95 = {} at index {i}",
            q05[i], q95[i]
        )));
    }
    let segments: Vec<(String, usize)> = if segments.is_empty() {
        vec![("observation".to_string(), n)]
    } else {
        segments.to_vec()
    };
    if let Some((name, _)) = segments.iter().find(|(_, len)| *len == 0) {
        return Err(Error::config(format!(
            "{FUNC}: segment '{name}' has length 0"
        )));
    }
    let total = segments
        .iter()
        .try_fold(0usize, |sum, (_, len)| sum.checked_add(*len));
    if total != Some(n) {
        return Err(Error::Shape {
            what: format!("segment lengths passed to {FUNC}"),
            expected: format!("lengths summing to the observation length {n}"),
            got: segments.iter().map(|(_, len)| *len).collect(),
        });
    }

    let inside = |range: std::ops::Range<usize>| -> (usize, usize) {
        let mut hit = 0;
        let mut counted = 0;
        for i in range {
            let (o, lo, hi) = (observed[i], q05[i], q95[i]);
            if o.is_finite() && lo.is_finite() && hi.is_finite() {
                counted += 1;
                if lo <= o && o <= hi {
                    hit += 1;
                }
            }
        }
        (hit, counted)
    };
    let (hit, counted) = inside(0..n);
    let subtitle = if counted == 0 {
        "no entry with a finite observation and band".to_string()
    } else {
        format!(
            "{hit} of {counted} observed entries ({:.1} %) inside the 90 % band",
            100.0 * hit as f64 / counted as f64
        )
    };
    let legend = vec![
        ("observed".to_string(), Swatch::Line(TRUTH)),
        (
            "90 % predictive band (q05–q95)".to_string(),
            Swatch::Fill(GENERATED),
        ),
        ("predictive median".to_string(), Swatch::Line(GENERATED)),
    ];
    let k = segments.len();
    let (rows, cols) = if k <= 4 { (k, 1) } else { grid_shape(k) };
    let panel = if cols == 1 {
        (1100u32, 300u32)
    } else {
        (460, 300)
    };
    let top = HEADER_HEIGHT + SUBTITLE_HEIGHT;
    let size = (panel.0 * cols as u32, top + panel.1 * rows as u32);
    write_png(path, size, |root| {
        let (header, body) = root.split_vertically(top);
        let (header, sub) = header.split_vertically(HEADER_HEIGHT);
        draw_header(&header, title, &legend)?;
        draw_centered_text(&sub, &subtitle, 15)?;
        let cells = body.split_evenly((rows, cols));
        let mut start = 0;
        for (cell, (name, len)) in cells.iter().zip(&segments) {
            let span = start..start + len;
            start += len;
            let (hit, counted) = inside(span.clone());
            let caption = if counted == 0 {
                name.clone()
            } else {
                format!(
                    "{name}: {:.1} % inside the band",
                    100.0 * hit as f64 / counted as f64
                )
            };
            let short = *len <= ERROR_BAR_MAX_LEN;
            let x = if short {
                Range::new(-0.5, *len as f64 - 0.5)
            } else {
                Range::new(0.0, *len as f64 - 1.0)
            };
            let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
            for v in [observed, q05, q50, q95]
                .iter()
                .flat_map(|s| s[span.clone()].iter())
                .filter(|v| v.is_finite())
            {
                lo = lo.min(*v);
                hi = hi.max(*v);
            }
            let y = if lo <= hi {
                Range::new(lo, hi).padded(0.06)
            } else {
                Range::new(0.0, 1.0)
            };
            let at = |s: &[f64]| -> Vec<(f64, f64)> {
                s[span.clone()]
                    .iter()
                    .enumerate()
                    .map(|(i, &v)| (i as f64, v))
                    .collect()
            };
            let mut chart = panel_chart(cell, Some(&caption), (x, y), (46, 72), (6, 16))?;
            panel_mesh(
                &mut chart,
                x,
                y,
                if short { (*len).min(10) } else { 10 },
                5,
                13,
                Some("index"),
                None,
            )?;
            if short {
                draw_error_bars(&mut chart, &at(q05), &at(q50), &at(q95), x, y)?;
                chart.draw_series(
                    at(observed)
                        .into_iter()
                        .filter(|&(_, v)| y.contains(v))
                        .map(|p| Circle::new(p, 4, TRUTH.filled())),
                )?;
            } else {
                draw_band(&mut chart, &at(q05), &at(q95), BAND_ORANGE)?;
                draw_frame(&mut chart, x, y)?;
                draw_polyline(&mut chart, &at(q50), x, y, GENERATED, 2)?;
                let obs = at(observed);
                draw_polyline(&mut chart, &obs, x, y, TRUTH, 1)?;
                if *len <= 300 {
                    chart.draw_series(
                        obs.into_iter()
                            .filter(|&(_, v)| y.contains(v))
                            .map(|p| Circle::new(p, 2, TRUTH.filled())),
                    )?;
                }
            }
        }
        Ok(())
    })
}

/// Plot a corner (pair) plot of posterior samples (orange) over prior samples (grey,
/// when given), with the true parameters (when given) as black lines and a cross.
///
/// For parameters `i > j` a scatter plot of parameter `j` (x) against `i` (y); on the
/// diagonal the marginal histograms (density-normalised, shared bins) with the true
/// value as a vertical line. Each parameter has one axis range, the robust range of the
/// union of posterior and prior samples (widened to include the true value), used in
/// all panels, so a posterior concentrated on a curve — the `λ1·λ2` ridge of the
/// degenerate SIR model — shows its shape against the prior. Each sample set is
/// subsampled to at most `max_points` rows (a fixed-seed random subset, so the plot is
/// reproducible).
///
/// Errors: no names or `max_points == 0` ([`Error::Config`]); a sample row or `truth`
/// not of length `names.len()` ([`Error::Shape`]); rendering or writing failed
/// ([`Error::File`]).
pub fn posterior_pairs(
    path: impl AsRef<Path>,
    names: &[String],
    posterior: &[Vec<f64>],
    prior: Option<&[Vec<f64>]>,
    truth: Option<&[f64]>,
    max_points: usize,
) -> Result<()> {
    const FUNC: &str = "posterior_pairs";
    let path = path.as_ref();
    let d = names.len();
    if d == 0 {
        return Err(Error::config("plot::posterior_pairs: no parameter names"));
    }
    if max_points == 0 {
        return Err(Error::config(
            "plot::posterior_pairs: max_points must be at least 1",
        ));
    }
    check_rows(posterior, d, "posterior samples", FUNC)?;
    let prior = prior.unwrap_or(&[]);
    check_rows(prior, d, "prior samples", FUNC)?;
    if let Some(t) = truth {
        if t.len() != d {
            return Err(Error::Shape {
                what: "true parameters passed to plot::posterior_pairs".to_string(),
                expected: format!("({d},), one value per parameter"),
                got: vec![t.len()],
            });
        }
    }
    let truth_at = |j: usize| truth.map(|t| t[j]).filter(|v| v.is_finite());
    let ranges: Vec<Range> = (0..d)
        .map(|j| {
            let r = robust_range(column(posterior, j).into_iter().chain(column(prior, j)))
                .unwrap_or_else(|| match truth_at(j) {
                    Some(t) => Range::new(t, t),
                    None => Range::new(0.0, 1.0),
                });
            match truth_at(j) {
                Some(t) if !r.contains(t) => {
                    let pad = 0.04 * r.width();
                    Range::new(r.lo.min(t - pad), r.hi.max(t + pad))
                }
                _ => r,
            }
        })
        .collect();
    let post_idx = subsample_indices(posterior.len(), max_points);
    let prior_idx = subsample_indices(prior.len(), max_points);
    let mut legend = vec![(
        shown_label("posterior", post_idx.len(), posterior.len()),
        Swatch::Fill(GENERATED),
    )];
    if !prior.is_empty() {
        legend.push((
            shown_label("prior", prior_idx.len(), prior.len()),
            Swatch::Fill(PRIOR),
        ));
    }
    if truth.is_some() {
        legend.push(("true parameters".to_string(), Swatch::Line(TRUTH)));
    }
    let p = (1500 / d as u32).clamp(110, 260);
    let (left, bottom) = (76u32, 60u32);
    // At least 720 pixels wide, so the legend fits beside a small grid.
    let pad_right = 16u32.max(720u32.saturating_sub(left + d as u32 * p));
    let pad_bottom = 8u32;
    let size = (
        left + d as u32 * p + pad_right,
        HEADER_HEIGHT + d as u32 * p + bottom + pad_bottom,
    );
    let bins = hist_bins(posterior.len().max(prior.len()), 40);
    let n_ticks = if p >= 170 { 4 } else { 3 };
    let tick_font = if p >= 170 { 13 } else { 12 };
    let radius = if p >= 200 { 2 } else { 1 };
    let post_color = GENERATED.mix(point_alpha(post_idx.len(), radius));
    let prior_color = PRIOR.mix(0.5 * point_alpha(prior_idx.len(), radius));
    write_png(path, size, |root| {
        let (header, body) = root.split_vertically(HEADER_HEIGHT);
        draw_header(&header, "Posterior over prior", &legend)?;
        let body = body.margin(0, pad_bottom, 0, pad_right);
        let xs: Vec<i32> = (1..d).map(|k| (left + k as u32 * p) as i32).collect();
        let ys: Vec<i32> = (1..d).map(|k| (k as u32 * p) as i32).collect();
        let cells = body.split_by_breakpoints(xs, ys);
        for i in 0..d {
            for j in 0..=i {
                let cell = &cells[i * d + j];
                let x = ranges[j];
                let (x_area, x_desc) = if i == d - 1 {
                    (bottom, Some(names[j].as_str()))
                } else {
                    (0, None)
                };
                let y_area = if j == 0 { left } else { 0 };
                if i == j {
                    let hp = density_histogram(&column(posterior, j), x, bins);
                    let hq = density_histogram(&column(prior, j), x, bins);
                    let y = density_axis(hp.iter().chain(&hq).copied());
                    let mut chart = panel_chart(cell, None, (x, y), (x_area, y_area), (4, 4))?;
                    panel_mesh(&mut chart, x, y, n_ticks, 0, tick_font, x_desc, None)?;
                    if !prior.is_empty() {
                        draw_histogram(&mut chart, &hq, x, PRIOR, 1)?;
                    }
                    draw_histogram(&mut chart, &hp, x, GENERATED, 2)?;
                    if let Some(t) = truth_at(j).filter(|t| x.contains(*t)) {
                        chart.draw_series(std::iter::once(PathElement::new(
                            vec![(t, y.lo), (t, y.hi)],
                            TRUTH.stroke_width(2),
                        )))?;
                    }
                } else {
                    let y = ranges[i];
                    let y_desc = (j == 0).then(|| names[i].as_str());
                    let mut chart = panel_chart(cell, None, (x, y), (x_area, y_area), (4, 4))?;
                    panel_mesh(
                        &mut chart, x, y, n_ticks, n_ticks, tick_font, x_desc, y_desc,
                    )?;
                    let pts = prior_idx.iter().map(|&s| {
                        let row = &prior[s];
                        ((row[j], row[i]), prior_color)
                    });
                    draw_points(&mut chart, pts, x, y, radius)?;
                    let pts = post_idx.iter().map(|&s| {
                        let row = &posterior[s];
                        ((row[j], row[i]), post_color)
                    });
                    draw_points(&mut chart, pts, x, y, radius)?;
                    let (tx, ty) = (truth_at(j), truth_at(i));
                    if let Some(tx) = tx.filter(|v| x.contains(*v)) {
                        chart.draw_series(std::iter::once(PathElement::new(
                            vec![(tx, y.lo), (tx, y.hi)],
                            TRUTH.mix(0.7).stroke_width(1),
                        )))?;
                    }
                    if let Some(ty) = ty.filter(|v| y.contains(*v)) {
                        chart.draw_series(std::iter::once(PathElement::new(
                            vec![(x.lo, ty), (x.hi, ty)],
                            TRUTH.mix(0.7).stroke_width(1),
                        )))?;
                    }
                    if let (Some(tx), Some(ty)) = (tx, ty) {
                        if x.contains(tx) && y.contains(ty) {
                            chart.draw_series(std::iter::once(Cross::new(
                                (tx, ty),
                                6,
                                TRUTH.stroke_width(2),
                            )))?;
                        }
                    }
                }
            }
        }
        Ok(())
    })
}

/// Plot the posterior samples of two parameters `a` (x) and `b` (y) with the curve
/// `a · b = product` (dashed) over the plotted range: the non-identifiable direction of a model
/// that only depends on the product (the degenerate SIR model, where only `λ1·λ2` is
/// identified), along which a correct posterior stretches. Axes are the robust ranges
/// of the samples (a range around `√|product|` when there are none); at most 20 000
/// samples are drawn (a fixed-seed random subset). `names` label the axes.
///
/// Errors: a non-finite or zero `product` ([`Error::Config`]); rendering or writing
/// failed ([`Error::File`]).
pub fn ridge_plot(
    path: impl AsRef<Path>,
    names: [&str; 2],
    samples: &[[f64; 2]],
    product: f64,
    title: &str,
) -> Result<()> {
    let path = path.as_ref();
    if !product.is_finite() || product == 0.0 {
        return Err(Error::config(format!(
            "plot::ridge_plot: product must be finite and non-zero, got {product}"
        )));
    }
    let scale = product.abs().sqrt();
    let x = robust_range(samples.iter().map(|s| s[0])).unwrap_or(Range::new(0.0, 3.0 * scale));
    let y = robust_range(samples.iter().map(|s| s[1])).unwrap_or(if product > 0.0 {
        Range::new(0.0, 3.0 * scale)
    } else {
        Range::new(-3.0 * scale, 0.0)
    });
    let curve = hyperbola(product, x, y);
    let idx = subsample_indices(samples.len(), RIDGE_MAX_POINTS);
    let legend = vec![
        (
            shown_label("posterior samples", idx.len(), samples.len()),
            Swatch::Fill(GENERATED),
        ),
        (
            format!("{} · {} = {}", names[0], names[1], short_number(product)),
            Swatch::Line(TRUTH),
        ),
    ];
    let color = GENERATED.mix(point_alpha(idx.len(), 2));
    let size = (840u32, HEADER_HEIGHT + 680);
    write_png(path, size, |root| {
        let (header, body) = root.split_vertically(HEADER_HEIGHT);
        draw_header(&header, title, &legend)?;
        let body = body.margin(4, 16, 8, 24);
        let mut chart = panel_chart(&body, None, (x, y), (56, 80), (4, 4))?;
        panel_mesh(&mut chart, x, y, 6, 6, 15, Some(names[0]), Some(names[1]))?;
        let pts = idx.iter().map(|&s| ((samples[s][0], samples[s][1]), color));
        draw_points(&mut chart, pts, x, y, 2)?;
        // Dashed, so the samples on the curve stay visible between the dashes.
        let pieces = curve.iter().flat_map(|branch| clip_polyline(branch, x, y));
        chart.draw_series(
            pieces.map(|p| DashedPathElement::new(p, 10, 6, TRUTH.mix(0.85).stroke_width(2))),
        )?;
        Ok(())
    })
}

/// An [`Error::Shape`] for a slice of `what` passed to `func` with `got` entries where
/// `expected` were needed.
fn length_error(func: &str, what: &str, expected: usize, got: usize) -> Error {
    Error::Shape {
        what: format!("{what} passed to {func}"),
        expected: format!("({expected},)"),
        got: vec![got],
    }
}

/// The bin of rank `r` (in `0..=max_rank`) among `bins` bins of equal rank width.
fn rank_bin(r: usize, max_rank: usize, bins: usize) -> usize {
    let width = (max_rank + 1) as f64 / bins as f64;
    ((r as f64 / width) as usize).min(bins - 1)
}

/// The first and last rank of each of the `bins` rank bins over `0..=max_rank`
/// (`1 <= bins <= max_rank + 1`, so every bin holds at least one rank).
fn rank_bins(max_rank: usize, bins: usize) -> Vec<(usize, usize)> {
    let mut edges: Vec<Option<(usize, usize)>> = vec![None; bins];
    for r in 0..=max_rank {
        let e = &mut edges[rank_bin(r, max_rank, bins)];
        *e = Some(match *e {
            None => (r, r),
            Some((first, _)) => (first, r),
        });
    }
    // With bins <= max_rank + 1 no bin is empty; an empty one would get a zero width.
    edges.into_iter().map(|e| e.unwrap_or((0, 0))).collect()
}

/// The `tail` and `1 − tail` quantiles of Binomial(`n`, `p`): the smallest counts whose
/// cumulative probability reaches them. Exact (the probabilities are summed outward from
/// the mode until they are negligible), no overflow for large `n`.
fn binomial_interval(n: usize, p: f64, tail: f64) -> (usize, usize) {
    if n == 0 || p <= 0.0 {
        return (0, 0);
    }
    if p >= 1.0 {
        return (n, n);
    }
    let odds = p / (1.0 - p);
    let mode = (((n + 1) as f64 * p).floor() as usize).min(n);
    const NEGLIGIBLE: f64 = 1e-18;
    // Unnormalised probabilities relative to the mode, below and above it.
    let mut below = Vec::new();
    let mut w = 1.0;
    let mut k = mode;
    while k > 0 {
        w *= k as f64 / ((n - k + 1) as f64 * odds);
        if w < NEGLIGIBLE {
            break;
        }
        below.push(w);
        k -= 1;
    }
    let first = mode - below.len();
    let mut weights: Vec<f64> = below.into_iter().rev().collect();
    weights.push(1.0);
    let mut w = 1.0;
    let mut k = mode;
    while k < n {
        w *= (n - k) as f64 / (k + 1) as f64 * odds;
        if w < NEGLIGIBLE {
            break;
        }
        weights.push(w);
        k += 1;
    }
    let total: f64 = weights.iter().sum();
    let quantile = |q: f64| {
        let mut cum = 0.0;
        for (i, w) in weights.iter().enumerate() {
            cum += w / total;
            if cum >= q {
                return first + i;
            }
        }
        first + weights.len() - 1
    };
    (quantile(tail), quantile(1.0 - tail - 1e-12))
}

/// A p-value for a caption: two decimals, scientific below 0.01, "n/a" for NaN.
fn format_p(p: f64) -> String {
    if p.is_nan() {
        "n/a".to_string()
    } else if p == 0.0 || p >= 0.01 {
        format!("{p:.2}")
    } else {
        format!("{p:.1e}")
    }
}

/// `v` with four significant digits, trailing zeros removed; scientific outside
/// `[10⁻³, 10⁵)`.
fn short_number(v: f64) -> String {
    let a = v.abs();
    if a != 0.0 && !(1e-3..1e5).contains(&a) {
        return format!("{v:.3e}");
    }
    let decimals = if a == 0.0 {
        0
    } else {
        (3 - a.log10().floor() as i32).max(0) as usize
    };
    let mut s = format!("{v:.decimals$}");
    if s.contains('.') {
        while s.ends_with('0') {
            s.pop();
        }
        if s.ends_with('.') {
            s.pop();
        }
    }
    s
}

/// The branches (one per sign of `a`) of the curve `a · b = product` over `x × y`,
/// sampled densely along both axes so steep and flat parts are both smooth.
fn hyperbola(product: f64, x: Range, y: Range) -> Vec<Vec<(f64, f64)>> {
    const STEPS: usize = 600;
    let mut pts: Vec<(f64, f64)> = Vec::with_capacity(2 * STEPS + 2);
    for t in 0..=STEPS {
        let a = x.lo + x.width() * t as f64 / STEPS as f64;
        let b = y.lo + y.width() * t as f64 / STEPS as f64;
        if a != 0.0 {
            pts.push((a, product / a));
        }
        if b != 0.0 {
            pts.push((product / b, b));
        }
    }
    pts.retain(|p| p.0.is_finite() && p.1.is_finite() && p.0 != 0.0);
    pts.sort_by(|p, q| p.0.total_cmp(&q.0));
    let (neg, pos): (Vec<_>, Vec<_>) = pts.into_iter().partition(|p| p.0 < 0.0);
    [neg, pos].into_iter().filter(|b| b.len() >= 2).collect()
}

/// Draw the polyline `pts` clipped to `x × y` (non-finite points break it).
fn draw_polyline(
    chart: &mut Chart<'_, '_>,
    pts: &[(f64, f64)],
    x: Range,
    y: Range,
    color: RGBColor,
    width: u32,
) -> DrawResult {
    chart.draw_series(
        clip_polyline(pts, x, y)
            .into_iter()
            .map(|p| PathElement::new(p, color.stroke_width(width))),
    )?;
    Ok(())
}

/// Shade the area between the curves `lo` and `hi` (given at the same, increasing x
/// values) in the opaque `color`, where both are finite; an entry with no finite
/// neighbour becomes a vertical stroke. The area is filled with vertical strips about
/// one pixel wide (with the curves interpolated linearly at their centres) rather than
/// as a polygon: plotters' polygon filler leaves gaps in thin slanted shapes.
fn draw_band(
    chart: &mut Chart<'_, '_>,
    lo: &[(f64, f64)],
    hi: &[(f64, f64)],
    color: RGBColor,
) -> DrawResult {
    /// Most strips per interval between two entries.
    const MAX_STRIPS: usize = 4096;
    let ok = |i: usize| {
        lo[i].0.is_finite() && lo[i].1.is_finite() && hi[i].1.is_finite() && lo[i].0 == hi[i].0
    };
    let mut strips = Vec::new();
    let mut strokes = Vec::new();
    for i in 0..lo.len() {
        let next = i + 1 < lo.len() && ok(i) && ok(i + 1) && lo[i + 1].0 > lo[i].0;
        if next {
            let ((x0, a0), (x1, a1)) = (lo[i], lo[i + 1]);
            let (b0, b1) = (hi[i].1, hi[i + 1].1);
            let pixels = (chart.backend_coord(&(x1, 0.0)).0 - chart.backend_coord(&(x0, 0.0)).0)
                .unsigned_abs() as usize;
            let m = pixels.clamp(1, MAX_STRIPS);
            for s in 0..m {
                let (t0, t1) = (s as f64 / m as f64, (s + 1) as f64 / m as f64);
                let t = 0.5 * (t0 + t1);
                strips.push(Rectangle::new(
                    [
                        (x0 + t0 * (x1 - x0), a0 + t * (a1 - a0)),
                        (x0 + t1 * (x1 - x0), b0 + t * (b1 - b0)),
                    ],
                    color.filled(),
                ));
            }
        } else if ok(i) && (i == 0 || !ok(i - 1)) {
            strokes.push(PathElement::new(vec![lo[i], hi[i]], color.stroke_width(3)));
        }
    }
    chart.draw_series(strips)?;
    chart.draw_series(strokes)?;
    Ok(())
}

/// Vertical error bars from `lo` to `hi` with caps, and the median `mid` as a ring, at
/// the entries where they are finite (clipped to `x × y`, which holds them all when
/// the range was computed from them).
fn draw_error_bars(
    chart: &mut Chart<'_, '_>,
    lo: &[(f64, f64)],
    mid: &[(f64, f64)],
    hi: &[(f64, f64)],
    x: Range,
    y: Range,
) -> DrawResult {
    let cap = 0.18;
    let style = GENERATED.stroke_width(2);
    for ((&(i, l), &(_, m)), &(_, h)) in lo.iter().zip(mid).zip(hi) {
        if l.is_finite() && h.is_finite() {
            let (l, h) = (l.max(y.lo), h.min(y.hi));
            chart.draw_series([
                PathElement::new(vec![(i, l), (i, h)], style),
                PathElement::new(vec![(i - cap, l), (i + cap, l)], style),
                PathElement::new(vec![(i - cap, h), (i + cap, h)], style),
            ])?;
        }
        if m.is_finite() && x.contains(i) && y.contains(m) {
            chart.draw_series(std::iter::once(Circle::new((i, m), 5, style)))?;
        }
    }
    Ok(())
}

/// Draw `lines` of text in a white box in the plotting area of `chart`, its top-left
/// corner just inside the data point `at`.
fn draw_note(chart: &mut Chart<'_, '_>, at: (f64, f64), lines: &[&str]) -> DrawResult {
    let font = TextStyle::from((FONT, 15).into_font());
    let line_height = 20i32;
    let mut width = 0i32;
    for line in lines {
        let (w, _) = chart.plotting_area().estimate_text_size(line, &font)?;
        width = width.max(w as i32);
    }
    let (pad, offset) = (8i32, 10i32);
    let corner = (offset, offset);
    let far = (
        offset + width + 2 * pad,
        offset + line_height * lines.len() as i32 + 2 * pad - 4,
    );
    chart.draw_series(std::iter::once(
        EmptyElement::at(at)
            + Rectangle::new([corner, far], WHITE.mix(0.9).filled())
            + Rectangle::new([corner, far], FRAME.stroke_width(1)),
    ))?;
    chart.draw_series(lines.iter().enumerate().map(|(k, line)| {
        EmptyElement::at(at)
            + Text::new(
                line.to_string(),
                (offset + pad, offset + pad + k as i32 * line_height),
                font.clone().pos(Pos::new(HPos::Left, VPos::Top)),
            )
    }))?;
    Ok(())
}

/// Draw `text` centred in `area` with font size `size`.
fn draw_centered_text(area: &Area<'_>, text: &str, size: u32) -> DrawResult {
    let (w, h) = area.dim_in_pixel();
    let style = (FONT, size)
        .into_font()
        .color(&RGBColor(60, 60, 60))
        .pos(Pos::new(HPos::Center, VPos::Center));
    area.draw(&Text::new(
        text.to_string(),
        (w as i32 / 2, h as i32 / 2),
        style,
    ))?;
    Ok(())
}
