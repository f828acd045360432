//! Per-marginal overlap coefficient `OVL = ∫ min(p, q) dx` of Gaussian kernel density
//! estimates of two samples: 1 for identical marginals, 0 for disjoint ones.
//!
//! # Estimator
//!
//! * **Bandwidth.** Each sample gets its own bandwidth from the normal-reference rule
//!   with a robust spread (Scott's variant as in R's `bw.nrd`):
//!   `h = 1.06 · min(σ̂, IQR / 1.349) · n^(−1/5)`, with σ̂ the sample standard deviation
//!   (`n − 1`) and σ̂ alone when the IQR is 0. For Gaussian data this is Scott's
//!   `1.06 σ̂ n^(−1/5)`; the IQR term keeps heavy tails and outliers (a Cauchy sample,
//!   a few events at huge momentum) from inflating `h` and washing out the core. It
//!   over-smooths multi-modal data a little; both samples get the same rule, so the
//!   comparison stays fair.
//! * **Zero variance.** A sample whose values are all equal (or a single value) has no
//!   bandwidth of its own. It borrows the other sample's bandwidth, so a collapsed
//!   sample scores low against a spread one instead of failing. When both are constant,
//!   the overlap is 1 for the same value and 0 otherwise.
//! * **Kernel support.** The Gaussian kernel is cut at `±6h` (the mass left out is
//!   2·10⁻⁹). Outside `[min − 6h, max + 6h]` a density is then exactly zero, so the
//!   integral of `min(p, q)` only needs the intersection of the two supports. Both
//!   densities are evaluated on a common grid spanning that intersection (empty
//!   intersection → overlap 0) and `min(p, q)` is integrated with the trapezoid rule.
//! * **Grid.** The grid step is `h_min / 8` (eight nodes per the smaller bandwidth),
//!   with at least 512 and at most 262 144 nodes. Only very heavy tails need more
//!   (range > 32 768 `h_min`); then the grid spans the intersection of the cores
//!   `[q(5·10⁻⁴) − 6h, q(1 − 5·10⁻⁴) + 6h]` instead, which leaves out at most `10⁻³`
//!   of overlap, and if even that is too wide the step grows beyond `h_min / 8` (the
//!   estimate degrades gracefully towards a linearly binned histogram).
//! * **Binned evaluation (linear binning, Wand 1994).** Each sample is linearly binned
//!   onto the grid extended by the kernel reach (every point splits its unit weight
//!   between its two neighbouring nodes), then convolved with the kernel sampled on
//!   the grid and normalised to unit sum. A sample whose bandwidth is wider than 8
//!   grid steps is binned on its own coarser grid (step `h / 8`) and its density
//!   linearly interpolated onto the common grid, so the cost stays bounded when the
//!   bandwidths differ by orders of magnitude.
//!
//! # Cost and accuracy
//!
//! Per sample: one pass for the moments, O(n) selections for the quartiles (on one
//! copy of the sample; no sorting), one binning pass, and a convolution of at most
//! `2·6·8 + 1 = 97` multiply-adds per grid node; no allocation per grid
//! point. At `n = 100 000` per sample a Gaussian column takes about 4 ms, a Cauchy one
//! 4–12 ms (2-core machine, test profile); [`kde_overlap`] runs the columns in
//! parallel (rayon): 8 columns of 100 000 events each take about 27 ms.
//!
//! Against the exact kernel sums with the same bandwidths (no binning, no cut-off,
//! fine grid) the binned overlap agrees to better than `10⁻³` absolute in the tests
//! (including bandwidths 20 times apart and a bimodal sample); linear binning acts
//! like widening the kernel by a factor `√(1 + (Δ/h)²/6) ≈ 1.0013`. The statistical
//! error of the overlap itself (finite samples, bandwidth choice) is much larger: two
//! independent samples of 1 000 events from one distribution typically give about
//! 0.93–0.97, not 1.

use crate::error::{Error, Result};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Where the Gaussian kernel is cut, in bandwidths.
const KERNEL_CUTOFF: f64 = 6.0;
/// Grid nodes per (smaller) bandwidth.
const NODES_PER_BANDWIDTH: f64 = 8.0;
/// Fewest grid nodes.
const MIN_NODES: usize = 512;
/// Most grid nodes.
const MAX_NODES: usize = 1 << 18;
/// Tail fraction left out on each side when the full range would need too many nodes.
const TRIM: f64 = 5e-4;
/// Convolutions with more multiply-adds than this run on the rayon pool.
const PARALLEL_CONVOLUTION_WORK: usize = 1 << 18;

/// Overlap coefficients of the marginals of two tables.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KdeOverlap {
    /// `∫ min(p_j, q_j) dx` for every column `j`, in `[0, 1]`.
    pub per_column: Vec<f64>,
    /// The mean of `per_column`.
    pub mean: f64,
}

/// Overlap coefficient `∫ min(p, q) dx ∈ [0, 1]` of the Gaussian kernel density
/// estimates `p` of `a` and `q` of `b` (method and accuracy: see the module docs).
///
/// Errors ([`Error::Config`]) when either sample is empty or holds a NaN or infinity
/// (or values so large, near `f64::MAX`, that their spread overflows).
pub fn kde_overlap_1d(a: &[f64], b: &[f64]) -> Result<f64> {
    check_sample(a, "a")?;
    check_sample(b, "b")?;
    overlap_unchecked(a, b)
}

/// [`kde_overlap_1d`] of every column of two tables (rows = events, the same number of
/// columns in both; the row counts may differ), with the columns processed in parallel.
///
/// Errors ([`Error::Config`]) when a table is empty or has zero columns, when its rows
/// differ in length, when the two tables have different column counts, or when a value
/// is NaN or infinite (the message names the table, row and column), or when a
/// column's spread overflows `f64`.
pub fn kde_overlap(a: &[Vec<f64>], b: &[Vec<f64>]) -> Result<KdeOverlap> {
    let d = check_table(a, "kde_overlap", "a")?;
    let db = check_table(b, "kde_overlap", "b")?;
    if d != db {
        return Err(Error::config(format!(
            "kde_overlap: table a has {d} columns, table b has {db}; expected the same"
        )));
    }
    // One sequential pass over the rows builds column-major copies (gathering a column
    // straight from the rows would touch every row allocation once per column).
    let (ca, cb) = rayon::join(|| columns(a, d), || columns(b, d));
    let (na, nb) = (a.len(), b.len());
    let per_column: Vec<f64> = (0..d)
        .into_par_iter()
        .map(|j| {
            overlap_unchecked(&ca[j * na..(j + 1) * na], &cb[j * nb..(j + 1) * nb]).map_err(|e| {
                match e {
                    Error::Config(m) => Error::config(format!("{m} (column {j})")),
                    other => other,
                }
            })
        })
        .collect::<Result<_>>()?;
    let mean = per_column.iter().sum::<f64>() / d as f64;
    Ok(KdeOverlap { per_column, mean })
}

/// The table `t` (rows of width `d`) in column-major order.
fn columns(t: &[Vec<f64>], d: usize) -> Vec<f64> {
    let n = t.len();
    let mut out = vec![0.0; n * d];
    for (i, r) in t.iter().enumerate() {
        for (j, v) in r.iter().enumerate() {
            out[j * n + i] = *v;
        }
    }
    out
}

fn check_sample(x: &[f64], name: &str) -> Result<()> {
    if x.is_empty() {
        return Err(Error::config(format!(
            "kde_overlap: sample {name} is empty; expected ≥ 1 value"
        )));
    }
    if let Some(i) = x.iter().position(|v| !v.is_finite()) {
        return Err(Error::config(format!(
            "kde_overlap: sample {name} has a non-finite value ({}) at index {i}",
            x[i]
        )));
    }
    Ok(())
}

/// Validate a table (≥ 1 row, ≥ 1 column, rows of equal length, finite values) and
/// return its column count; `what` and `name` go into the error message.
pub(crate) fn check_table(t: &[Vec<f64>], what: &str, name: &str) -> Result<usize> {
    let Some(first) = t.first() else {
        return Err(Error::config(format!(
            "{what}: table {name} has no rows; expected ≥ 1"
        )));
    };
    let d = first.len();
    if d == 0 {
        return Err(Error::config(format!(
            "{what}: table {name} has zero columns; expected ≥ 1"
        )));
    }
    for (i, r) in t.iter().enumerate() {
        if r.len() != d {
            return Err(Error::config(format!(
                "{what}: row {i} of table {name} has {} columns, row 0 has {d}",
                r.len()
            )));
        }
        if let Some(j) = r.iter().position(|v| !v.is_finite()) {
            return Err(Error::config(format!(
                "{what}: table {name} has a non-finite value ({}) in row {i}, column {j}",
                r[j]
            )));
        }
    }
    Ok(d)
}

/// What the bandwidth and the grid need to know about a sample.
struct Summary {
    n: usize,
    /// Standard deviation (`n − 1`); exactly 0 for a constant sample.
    sd: f64,
    /// Interquartile range.
    iqr: f64,
    min: f64,
    max: f64,
}

fn summarize(x: &[f64]) -> Summary {
    let n = x.len();
    let (mut min, mut max, mut sum) = (f64::INFINITY, f64::NEG_INFINITY, 0.0);
    for &v in x {
        min = min.min(v);
        max = max.max(v);
        sum += v;
    }
    // Constant samples are detected exactly (min == max), not by a rounded variance.
    if n < 2 || min == max {
        return Summary {
            n,
            sd: 0.0,
            iqr: 0.0,
            min,
            max,
        };
    }
    let mean = sum / n as f64;
    let ss: f64 = x.iter().map(|v| (v - mean) * (v - mean)).sum();
    // Overflow (values near f64::MAX): an infinite σ̂ leaves the spread to the IQR.
    let sd = if ss.is_finite() {
        (ss / (n - 1) as f64).sqrt()
    } else {
        f64::INFINITY
    };
    let mut work = x.to_vec();
    let q1 = quantile(&mut work, 0.25);
    let q3 = quantile(&mut work, 0.75);
    Summary {
        n,
        sd,
        iqr: q3 - q1,
        min,
        max,
    }
}

/// The `TRIM` and `1 − TRIM` quantiles of `x` (only needed for very heavy tails).
fn core_range(x: &[f64]) -> (f64, f64) {
    let mut work = x.to_vec();
    (quantile(&mut work, TRIM), quantile(&mut work, 1.0 - TRIM))
}

/// The `p` quantile (linear interpolation between order statistics, R's type 7) by
/// selection, O(n); reorders `x`.
fn quantile(x: &mut [f64], p: f64) -> f64 {
    let pos = p * (x.len() - 1) as f64;
    let k = pos.floor() as usize;
    let (_, &mut lo, above) = x.select_nth_unstable_by(k, f64::total_cmp);
    let frac = pos - k as f64;
    if frac == 0.0 || above.is_empty() {
        return lo;
    }
    let hi = above.iter().copied().fold(f64::INFINITY, f64::min);
    lo + frac * (hi - lo)
}

/// The normal-reference bandwidth with a robust spread (R's `bw.nrd`):
/// `1.06 · min(σ̂, IQR / 1.349) · n^(−1/5)`, with `σ̂` alone when the IQR is 0.
fn bandwidth(s: &Summary) -> f64 {
    let spread = if s.iqr > 0.0 {
        s.sd.min(s.iqr / 1.349)
    } else {
        s.sd
    };
    1.06 * spread * (s.n as f64).powf(-0.2)
}

/// The overlap of two validated (non-empty, finite) samples; fails only when the
/// values are so large that their spread overflows.
fn overlap_unchecked(a: &[f64], b: &[f64]) -> Result<f64> {
    let (sa, sb) = (summarize(a), summarize(b));
    let (ha, hb) = match (sa.sd > 0.0, sb.sd > 0.0) {
        (true, true) => (bandwidth(&sa), bandwidth(&sb)),
        (true, false) => (bandwidth(&sa), bandwidth(&sa)),
        (false, true) => (bandwidth(&sb), bandwidth(&sb)),
        (false, false) => return Ok(if sa.min == sb.min { 1.0 } else { 0.0 }),
    };
    let h_min = ha.min(hb);
    let nodes_for = |lo: f64, hi: f64| (hi - lo) / h_min * NODES_PER_BANDWIDTH;
    // Each density vanishes outside its sample's range ± the kernel cut-off, so only
    // the intersection of the two supports contributes.
    let (a_lo, a_hi) = (sa.min - KERNEL_CUTOFF * ha, sa.max + KERNEL_CUTOFF * ha);
    let (b_lo, b_hi) = (sb.min - KERNEL_CUTOFF * hb, sb.max + KERNEL_CUTOFF * hb);
    let spans = [a_hi - a_lo, b_hi - b_lo];
    if ![a_lo, a_hi, b_lo, b_hi, spans[0], spans[1]]
        .iter()
        .all(|v| v.is_finite())
    {
        return Err(Error::config(
            "kde_overlap: the values are so large that their spread overflows f64; \
             rescale the data",
        ));
    }
    let (mut lo, mut hi) = (a_lo.max(b_lo), a_hi.min(b_hi));
    if hi <= lo {
        return Ok(0.0);
    }
    if nodes_for(lo, hi) > MAX_NODES as f64 {
        // Heavy tails: integrate over the cores only (loses at most 2·TRIM).
        let ((a_lo, a_hi), (b_lo, b_hi)) = (core_range(a), core_range(b));
        lo = lo.max((a_lo - KERNEL_CUTOFF * ha).max(b_lo - KERNEL_CUTOFF * hb));
        hi = hi.min((a_hi + KERNEL_CUTOFF * ha).min(b_hi + KERNEL_CUTOFF * hb));
        if hi <= lo {
            return Ok(0.0);
        }
    }
    let intervals = (nodes_for(lo, hi).ceil() as usize).clamp(MIN_NODES - 1, MAX_NODES - 1);
    let step = (hi - lo) / intervals as f64;
    let pa = binned_kde(a, ha, lo, step, intervals);
    let pb = binned_kde(b, hb, lo, step, intervals);
    let mut total = 0.0;
    for (i, (p, q)) in pa.iter().zip(&pb).enumerate() {
        let w = if i == 0 || i == intervals { 0.5 } else { 1.0 };
        total += w * p.min(*q);
    }
    Ok((total * step).clamp(0.0, 1.0))
}

/// Kernel density estimate of `x` (bandwidth `h`) at the `intervals + 1` nodes
/// `lo + i·step`, by linear binning and a discrete convolution. A kernel wider than
/// 8 steps is evaluated on its own grid of step `h / 8` from `lo` and linearly
/// interpolated onto the nodes, so the work stays bounded however wide it is.
fn binned_kde(x: &[f64], h: f64, lo: f64, step: f64, intervals: usize) -> Vec<f64> {
    let own_step = h / NODES_PER_BANDWIDTH;
    if own_step <= step {
        return binned_kde_on_grid(x, h, lo, step, intervals);
    }
    let span = step * intervals as f64;
    let own_intervals = ((span / own_step).ceil() as usize).max(1);
    let dense = binned_kde_on_grid(x, h, lo, own_step, own_intervals);
    (0..=intervals)
        .map(|i| {
            let pos = (i as f64 * step / own_step).min(own_intervals as f64);
            let k = (pos.floor() as usize).min(own_intervals - 1);
            let t = pos - k as f64;
            dense[k] * (1.0 - t) + dense[k + 1] * t
        })
        .collect()
}

/// Linear binning of `x` onto nodes `lo + j·step` (extended by the kernel reach on both
/// sides), then convolution with the normalised, cut-off Gaussian kernel; the density
/// at nodes `0..=intervals`.
fn binned_kde_on_grid(x: &[f64], h: f64, lo: f64, step: f64, intervals: usize) -> Vec<f64> {
    let reach = (KERNEL_CUTOFF * (h / step)).ceil() as usize;
    let len = intervals + 2 * reach + 1;
    let last = (len - 1) as f64;
    let mut counts = vec![0.0f64; len];
    for &v in x {
        let t = (v - lo) / step + reach as f64;
        // Points beyond the extended grid are farther than the cut-off from every node.
        if !(0.0..=last).contains(&t) {
            continue;
        }
        let j = (t.floor() as usize).min(len - 2);
        let f = t - j as f64;
        counts[j] += 1.0 - f;
        counts[j + 1] += f;
    }
    // Kernel sampled at the node offsets, normalised so that Σ_k w_k = 1: the estimate
    // then carries exactly the binned mass.
    let mut w: Vec<f64> = (0..=reach)
        .map(|k| {
            let u = k as f64 * step / h;
            (-0.5 * u * u).exp()
        })
        .collect();
    let sum = w[0] + 2.0 * w[1..].iter().sum::<f64>();
    let scale = 1.0 / (sum * x.len() as f64 * step);
    w.iter_mut().for_each(|v| *v *= scale);

    let convolve = |i: usize| -> f64 {
        // Node i sits at counts[i + reach].
        let c = i + reach;
        let mut acc = w[0] * counts[c];
        for k in 1..=reach {
            acc += w[k] * (counts[c - k] + counts[c + k]);
        }
        acc
    };
    let mut out = vec![0.0f64; intervals + 1];
    if (intervals + 1) * (2 * reach + 1) > PARALLEL_CONVOLUTION_WORK {
        const CHUNK: usize = 1024;
        out.par_chunks_mut(CHUNK)
            .enumerate()
            .for_each(|(ci, chunk)| {
                for (o, v) in chunk.iter_mut().enumerate() {
                    *v = convolve(ci * CHUNK + o);
                }
            });
    } else {
        out.iter_mut()
            .enumerate()
            .for_each(|(i, v)| *v = convolve(i));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;
    use rand_distr::{Distribution, Normal};

    fn normal(n: usize, mean: f64, sd: f64, seed: u64) -> Vec<f64> {
        let mut rng = StdRng::seed_from_u64(seed);
        let d = Normal::new(mean, sd).unwrap();
        (0..n).map(|_| d.sample(&mut rng)).collect()
    }

    /// The overlap with exact kernel sums (no binning, no cut-off) on a fine grid.
    fn exact_overlap(a: &[f64], b: &[f64]) -> f64 {
        let (sa, sb) = (summarize(a), summarize(b));
        let (ha, hb) = (bandwidth(&sa), bandwidth(&sb));
        let lo = (sa.min - 8.0 * ha).max(sb.min - 8.0 * hb);
        let hi = (sa.max + 8.0 * ha).min(sb.max + 8.0 * hb);
        let m = 6000;
        let dx = (hi - lo) / m as f64;
        let kde = |x: &[f64], h: f64, g: f64| {
            let c = 1.0 / (x.len() as f64 * h * (2.0 * std::f64::consts::PI).sqrt());
            c * x
                .iter()
                .map(|v| (-0.5 * ((g - v) / h).powi(2)).exp())
                .sum::<f64>()
        };
        (0..=m)
            .into_par_iter()
            .map(|i| {
                let g = lo + i as f64 * dx;
                let w = if i == 0 || i == m { 0.5 } else { 1.0 };
                w * kde(a, ha, g).min(kde(b, hb, g))
            })
            .sum::<f64>()
            * dx
    }

    #[test]
    fn identical_samples_overlap_one() {
        let a = normal(5000, 0.0, 1.0, 1);
        let o = kde_overlap_1d(&a, &a).unwrap();
        assert!(o > 0.99 && o <= 1.0, "{o}");
    }

    #[test]
    fn shifted_normals_match_analytic_overlap() {
        // N(0,1) vs N(3,1): OVL = 2Φ(−1.5).
        let a = normal(20000, 0.0, 1.0, 2);
        let b = normal(20000, 3.0, 1.0, 3);
        let o = kde_overlap_1d(&a, &b).unwrap();
        let exact = 0.133_614_402_537_716_2;
        assert!((o - exact).abs() < 0.02, "{o} vs {exact}");
    }

    #[test]
    fn scaled_normals_match_analytic_overlap() {
        // N(0,1) vs N(0,2²): the densities cross at ±x*, x*² = 8 ln2 / 3, and
        // OVL = (2Φ(x*/2) − 1) + 2(1 − Φ(x*)).
        let a = normal(20000, 0.0, 1.0, 4);
        let b = normal(20000, 0.0, 2.0, 5);
        let o = kde_overlap_1d(&a, &b).unwrap();
        let exact = 0.677_325_431_165_231_5;
        assert!((o - exact).abs() < 0.02, "{o} vs {exact}");
    }

    #[test]
    fn independent_samples_of_one_distribution_overlap_high_but_below_one() {
        let a = normal(1000, 0.0, 1.0, 6);
        let b = normal(1000, 0.0, 1.0, 7);
        let o = kde_overlap_1d(&a, &b).unwrap();
        assert!(o > 0.9 && o < 1.0, "{o}");
    }

    fn cauchy(n: usize, seed: u64) -> Vec<f64> {
        let mut rng = StdRng::seed_from_u64(seed);
        let d = rand_distr::Cauchy::new(0.0, 1.0).unwrap();
        (0..n).map(|_| d.sample(&mut rng)).collect()
    }

    #[test]
    fn heavy_tails_do_not_wash_out_the_core() {
        // N(0,1) vs standard Cauchy: ∫ min(φ, 1/(π(1+x²))) dx = 0.7488 (quadrature).
        // σ̂ of the Cauchy sample is in the hundreds; the IQR keeps h near 0.2.
        let a = normal(20000, 0.0, 1.0, 40);
        let c = cauchy(20000, 41);
        let o = kde_overlap_1d(&a, &c).unwrap();
        assert!((o - 0.7488).abs() < 0.03, "{o}");
        // Two Cauchy samples span ~10⁴ bandwidths: the grid covers the trimmed cores.
        let c2 = cauchy(20000, 42);
        let o = kde_overlap_1d(&c, &c2).unwrap();
        assert!(o > 0.95 && o < 1.0, "{o}");
        let o = kde_overlap_1d(&c, &c).unwrap();
        assert!(o > 0.998, "{o}");
    }

    #[test]
    fn binned_estimate_matches_exact_kernel_sums() {
        let cases = [
            (normal(1500, 0.0, 1.0, 8), normal(1200, 0.7, 1.3, 9)),
            // Bandwidths 20× apart: the wide density goes through the coarse grid.
            (normal(1500, 0.0, 1.0, 10), normal(1500, 0.5, 0.05, 11)),
            // Bimodal against unimodal.
            (
                normal(800, -2.0, 0.5, 12)
                    .into_iter()
                    .chain(normal(800, 2.0, 0.5, 13))
                    .collect(),
                normal(1500, 0.0, 2.0, 14),
            ),
        ];
        for (a, b) in &cases {
            let binned = kde_overlap_1d(a, b).unwrap();
            let exact = exact_overlap(a, b);
            assert!((binned - exact).abs() < 1e-3, "{binned} vs {exact}");
        }
    }

    #[test]
    fn disjoint_samples_overlap_zero() {
        let a = normal(500, 0.0, 1.0, 15);
        let b = normal(500, 100.0, 1.0, 16);
        assert_eq!(kde_overlap_1d(&a, &b).unwrap(), 0.0);
    }

    #[test]
    fn constant_samples() {
        assert_eq!(kde_overlap_1d(&[2.0; 10], &[2.0; 3]).unwrap(), 1.0);
        assert_eq!(kde_overlap_1d(&[2.0; 10], &[3.0]).unwrap(), 0.0);
        // A collapsed sample borrows the other's bandwidth: low but non-zero overlap.
        let b = normal(5000, 0.0, 1.0, 17);
        let o = kde_overlap_1d(&[0.0; 100], &b).unwrap();
        assert!(o > 0.05 && o < 0.5, "{o}");
        assert_eq!(o, kde_overlap_1d(&b, &[0.0; 100]).unwrap());
    }

    #[test]
    fn table_overlap_per_column() {
        let mut rng = StdRng::seed_from_u64(18);
        let n01 = Normal::new(0.0, 1.0).unwrap();
        let a: Vec<Vec<f64>> = (0..4000)
            .map(|_| vec![n01.sample(&mut rng), n01.sample(&mut rng)])
            .collect();
        let b: Vec<Vec<f64>> = (0..3000)
            .map(|_| vec![n01.sample(&mut rng), n01.sample(&mut rng) + 3.0])
            .collect();
        let r = kde_overlap(&a, &b).unwrap();
        assert_eq!(r.per_column.len(), 2);
        assert!(r.per_column[0] > 0.93, "{:?}", r.per_column);
        assert!(
            (r.per_column[1] - 0.1336).abs() < 0.03,
            "{:?}",
            r.per_column
        );
        assert!((r.mean - (r.per_column[0] + r.per_column[1]) / 2.0).abs() < 1e-15);
        let col1: Vec<f64> = a.iter().map(|r| r[1]).collect();
        let col1b: Vec<f64> = b.iter().map(|r| r[1]).collect();
        assert_eq!(r.per_column[1], kde_overlap_1d(&col1, &col1b).unwrap());
        let json = serde_json::to_string(&r).unwrap();
        assert!(json.contains("per_column") && json.contains("mean"));
    }

    #[test]
    fn invalid_inputs_are_config_errors() {
        let is_config = |r: Result<f64>| matches!(r, Err(Error::Config(_)));
        assert!(is_config(kde_overlap_1d(&[], &[1.0])));
        assert!(is_config(kde_overlap_1d(&[1.0], &[])));
        assert!(is_config(kde_overlap_1d(&[1.0, f64::NAN], &[1.0])));
        assert!(is_config(kde_overlap_1d(&[1.0], &[f64::INFINITY])));
        let t = |r: Result<KdeOverlap>| matches!(r, Err(Error::Config(_)));
        let good = vec![vec![0.0, 1.0], vec![1.0, 0.0]];
        assert!(t(kde_overlap(&[], &good)));
        assert!(t(kde_overlap(&good, &[])));
        assert!(t(kde_overlap(&[vec![]], &[vec![]])));
        assert!(t(kde_overlap(&good, &[vec![1.0]])));
        assert!(t(kde_overlap(&good, &[vec![1.0, 2.0], vec![1.0]])));
        let err = kde_overlap(&good, &[vec![1.0, 2.0], vec![1.0, f64::NAN]]).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("row 1") && msg.contains("column 1"), "{msg}");
        assert!(is_config(kde_overlap_1d(
            &[1e300, -1e300, 1e308],
            &[0.0, 1.0]
        )));
    }
}
