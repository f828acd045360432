//! Small numeric helpers of the plots: robust axis ranges, density histograms, line
//! clipping, subsampling, tick formatting and grid layout. Pure functions on plain data.

use rand::rngs::StdRng;
use rand::SeedableRng;

/// Lower and upper quantile levels of the robust axis ranges.
pub(crate) const ROBUST_LO: f64 = 0.005;
/// See [`ROBUST_LO`].
pub(crate) const ROBUST_HI: f64 = 0.995;

/// A closed interval `[lo, hi]` with `lo < hi`, both finite.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Range {
    pub lo: f64,
    pub hi: f64,
}

impl Range {
    /// `[lo, hi]`, widened to a non-empty finite interval where needed (a single value
    /// `v` becomes `v ± max(|v|·0.1, 0.5)`; non-finite ends fall back to `[-1, 1]`).
    pub fn new(lo: f64, hi: f64) -> Self {
        if !lo.is_finite() || !hi.is_finite() || lo > hi {
            return Range { lo: -1.0, hi: 1.0 };
        }
        if hi - lo <= f64::EPSILON * lo.abs().max(hi.abs()).max(1e-300) {
            let mid = 0.5 * (lo + hi);
            let half = (mid.abs() * 0.1).max(0.5);
            return Range {
                lo: mid - half,
                hi: mid + half,
            };
        }
        Range { lo, hi }
    }

    /// The interval enlarged by `frac` of its width on both sides.
    pub fn padded(self, frac: f64) -> Self {
        let w = self.hi - self.lo;
        Range::new(self.lo - frac * w, self.hi + frac * w)
    }

    /// The smallest interval holding both.
    pub fn union(self, other: Range) -> Self {
        Range::new(self.lo.min(other.lo), self.hi.max(other.hi))
    }

    /// Width `hi - lo` (> 0).
    pub fn width(self) -> f64 {
        self.hi - self.lo
    }

    /// Whether `v` lies in the closed interval.
    pub fn contains(self, v: f64) -> bool {
        v >= self.lo && v <= self.hi
    }

    /// As a `std::ops::Range` for plotters' coordinate specs.
    pub fn as_std(self) -> std::ops::Range<f64> {
        self.lo..self.hi
    }
}

/// The finite values of `values`, in order.
pub(crate) fn finite(values: impl IntoIterator<Item = f64>) -> Vec<f64> {
    values.into_iter().filter(|v| v.is_finite()).collect()
}

/// Linearly interpolated quantile `q ∈ [0, 1]` of sorted, non-empty `sorted`.
pub(crate) fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    debug_assert!(!sorted.is_empty());
    let pos = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let i = pos.floor() as usize;
    let j = (i + 1).min(sorted.len() - 1);
    let t = pos - i as f64;
    sorted[i] + t * (sorted[j] - sorted[i])
}

/// The 0.5 %–99.5 % quantile range of the finite values in `values` (the union of
/// all data drawn on one axis), padded by 4 % on each side. `None` when no value is
/// finite.
pub(crate) fn robust_range(values: impl IntoIterator<Item = f64>) -> Option<Range> {
    let mut v = finite(values);
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let lo = quantile_sorted(&v, ROBUST_LO);
    let hi = quantile_sorted(&v, ROBUST_HI);
    Some(Range::new(lo, hi).padded(0.04))
}

/// The y range of training curves: from the smallest finite value (unless it lies more
/// than 10 interquartile ranges below the lower quartile) up to the 98th percentile
/// (lower rank; the maximum for fewer than 20 values), padded by 4 %. A few diverging
/// epochs or a huge first-epoch loss are cut off instead of flattening the rest; the
/// best (lowest) loss always stays visible. `None` when no value is finite.
pub(crate) fn loss_range(values: impl IntoIterator<Item = f64>) -> Option<Range> {
    let mut v = finite(values);
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let q1 = quantile_sorted(&v, 0.25);
    let q3 = quantile_sorted(&v, 0.75);
    let lo = v[0].max(q1 - 10.0 * (q3 - q1));
    let hi = if n < 20 {
        v[n - 1]
    } else {
        v[((0.98 * (n - 1) as f64).floor() as usize).min(n - 1)]
    };
    Some(Range::new(lo, hi.max(lo)).padded(0.04))
}

/// Density-normalised histogram of `values` on `bins` equal bins over `range`: bin
/// heights are `count / (n · width)` with `n` the number of finite values (values
/// outside the range count in `n` but in no bin, so the drawn area is the fraction
/// inside). Empty input gives all zeros.
pub(crate) fn density_histogram(values: &[f64], range: Range, bins: usize) -> Vec<f64> {
    let mut counts = vec![0usize; bins];
    let mut n = 0usize;
    let width = range.width() / bins as f64;
    for &v in values {
        if !v.is_finite() {
            continue;
        }
        n += 1;
        if !range.contains(v) {
            continue;
        }
        let k = (((v - range.lo) / width) as usize).min(bins - 1);
        counts[k] += 1;
    }
    if n == 0 {
        return vec![0.0; bins];
    }
    counts
        .into_iter()
        .map(|c| c as f64 / (n as f64 * width))
        .collect()
}

/// The outline of a histogram (`heights` on equal bins over `range`) as a step
/// polyline starting and ending at zero height.
pub(crate) fn step_outline(heights: &[f64], range: Range) -> Vec<(f64, f64)> {
    let width = range.width() / heights.len().max(1) as f64;
    let mut pts = Vec::with_capacity(2 * heights.len() + 2);
    pts.push((range.lo, 0.0));
    for (k, &h) in heights.iter().enumerate() {
        let x0 = range.lo + k as f64 * width;
        pts.push((x0, h));
        pts.push((x0 + width, h));
    }
    pts.push((range.hi, 0.0));
    pts
}

/// Standard normal density.
pub(crate) fn normal_pdf(x: f64) -> f64 {
    (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt()
}

/// Mean and (population) standard deviation of the finite values; `None` when none.
pub(crate) fn mean_sd(values: &[f64]) -> Option<(f64, f64)> {
    let v = finite(values.iter().copied());
    if v.is_empty() {
        return None;
    }
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
    Some((mean, var.sqrt()))
}

/// Indices `0..n` of at most `max` items: all of them when `n <= max`, else a
/// seeded random subset (fixed seed, so plots are reproducible) in increasing order.
pub(crate) fn subsample_indices(n: usize, max: usize) -> Vec<usize> {
    if n <= max {
        return (0..n).collect();
    }
    let mut rng = StdRng::seed_from_u64(SUBSAMPLE_SEED);
    let mut idx = rand::seq::index::sample(&mut rng, n, max).into_vec();
    idx.sort_unstable();
    idx
}

/// The fixed seed of [`subsample_indices`].
const SUBSAMPLE_SEED: u64 = 0x5eed_f1a7;

/// Clip the polyline `pts` to the box `x × y`: returns the visible pieces (each with at
/// least two points). Non-finite points break the line.
pub(crate) fn clip_polyline(pts: &[(f64, f64)], x: Range, y: Range) -> Vec<Vec<(f64, f64)>> {
    let mut pieces: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut current: Vec<(f64, f64)> = Vec::new();
    let finish = |current: &mut Vec<(f64, f64)>, pieces: &mut Vec<Vec<(f64, f64)>>| {
        if current.len() >= 2 {
            pieces.push(std::mem::take(current));
        } else {
            current.clear();
        }
    };
    for w in pts.windows(2) {
        let (a, b) = (w[0], w[1]);
        let ok = a.0.is_finite() && a.1.is_finite() && b.0.is_finite() && b.1.is_finite();
        match ok.then(|| clip_segment(a, b, x, y)).flatten() {
            Some((p, q)) => {
                if current.last() != Some(&p) {
                    finish(&mut current, &mut pieces);
                    current.push(p);
                }
                current.push(q);
                if q != b {
                    // The segment leaves the box: the line continues elsewhere.
                    finish(&mut current, &mut pieces);
                }
            }
            None => finish(&mut current, &mut pieces),
        }
    }
    finish(&mut current, &mut pieces);
    pieces
}

/// Liang–Barsky clipping of the segment `a → b` to the box `x × y`.
fn clip_segment(
    a: (f64, f64),
    b: (f64, f64),
    x: Range,
    y: Range,
) -> Option<((f64, f64), (f64, f64))> {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let mut t0 = 0.0f64;
    let mut t1 = 1.0f64;
    for (p, q) in [
        (-dx, a.0 - x.lo),
        (dx, x.hi - a.0),
        (-dy, a.1 - y.lo),
        (dy, y.hi - a.1),
    ] {
        if p == 0.0 {
            if q < 0.0 {
                return None;
            }
        } else {
            let r = q / p;
            if p < 0.0 {
                t0 = t0.max(r);
            } else {
                t1 = t1.min(r);
            }
            if t0 > t1 {
                return None;
            }
        }
    }
    let at = |t: f64| {
        if t == 0.0 {
            a
        } else if t == 1.0 {
            b
        } else {
            (a.0 + t * dx, a.1 + t * dy)
        }
    };
    Some((at(t0), at(t1)))
}

/// Rows × columns of a grid of `n` panels: `cols = ⌈√n⌉`, `rows = ⌈n / cols⌉`
/// (1 → 1×1, 2 → 1×2, 3–4 → 2×2, 5–6 → 2×3, 7–9 → 3×3, 10–12 → 3×4, 13–16 → 4×4).
pub(crate) fn grid_shape(n: usize) -> (usize, usize) {
    let n = n.max(1);
    let mut cols = 1;
    while cols * cols < n {
        cols += 1;
    }
    let rows = n.div_ceil(cols);
    (rows, cols)
}

/// Tick-label formatter for an axis spanning `range`: enough decimals for about three
/// significant digits of the span, trailing zeros removed; scientific notation for
/// very large or very small magnitudes.
pub(crate) fn tick_formatter(range: Range) -> impl Fn(&f64) -> String {
    let span = range.width();
    let mag = range.lo.abs().max(range.hi.abs());
    let decimals = (2.0 - span.log10().floor()).clamp(0.0, 6.0) as usize;
    let scientific = mag >= 1e5 || (mag < 1e-3 && mag > 0.0);
    move |v: &f64| {
        let v = *v;
        if scientific {
            return format!("{v:.1e}");
        }
        let mut s = format!("{v:.decimals$}");
        if s.contains('.') {
            while s.ends_with('0') {
                s.pop();
            }
            if s.ends_with('.') {
                s.pop();
            }
        }
        if s == "-0" {
            s = "0".to_string();
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn robust_range_ignores_outliers_and_non_finite() {
        let mut v: Vec<f64> = (0..1000).map(|i| i as f64 / 999.0).collect();
        v.push(1e9);
        v.push(f64::NAN);
        v.push(f64::INFINITY);
        let r = robust_range(v).unwrap();
        assert!(r.lo < 0.0 && r.lo > -0.1, "{r:?}");
        assert!(r.hi > 1.0 && r.hi < 1.1, "{r:?}");
        assert!(robust_range([f64::NAN]).is_none());
        let single = robust_range([3.0, 3.0]).unwrap();
        assert!(single.lo < 3.0 && single.hi > 3.0);
    }

    #[test]
    fn loss_range_cuts_spikes_but_keeps_the_minimum() {
        let mut v: Vec<f64> = (0..100)
            .map(|e| 1.0 + 3.0 * (-(e as f64) / 10.0).exp())
            .collect();
        v[50] = 1e6;
        let r = loss_range(v.iter().copied()).unwrap();
        assert!(r.hi < 10.0, "{r:?}");
        assert!(r.lo < 1.0, "{r:?}");
        let short = loss_range([5.0, 2.0, 1.5]).unwrap();
        assert!(short.contains(5.0) && short.contains(1.5));
        assert!(loss_range([f64::NAN]).is_none());
    }

    #[test]
    fn density_histogram_integrates_to_inside_fraction() {
        let v: Vec<f64> = (0..1000).map(|i| (i as f64 + 0.5) / 1000.0).collect();
        let r = Range::new(0.0, 0.5);
        let h = density_histogram(&v, r, 10);
        let area: f64 = h.iter().sum::<f64>() * r.width() / 10.0;
        assert!((area - 0.5).abs() < 1e-9, "{area}");
    }

    #[test]
    fn clipping_keeps_inside_and_cuts_outside() {
        let unit = Range::new(0.0, 1.0);
        let pieces = clip_polyline(&[(0.1, 0.1), (0.5, 0.5), (0.9, 0.2)], unit, unit);
        assert_eq!(pieces, vec![vec![(0.1, 0.1), (0.5, 0.5), (0.9, 0.2)]]);
        let pieces = clip_polyline(&[(0.0, 0.5), (1.0, 5.0), (2.0, 0.5)], unit, unit);
        assert_eq!(pieces.len(), 1);
        let last = *pieces[0].last().unwrap();
        assert!((last.1 - 1.0).abs() < 1e-12 && last.0 < 1.0);
        let pieces = clip_polyline(&[(0.1, 0.1), (f64::NAN, 0.5), (0.3, 0.3)], unit, unit);
        assert!(pieces.is_empty());
    }

    #[test]
    fn grid_shapes() {
        assert_eq!(grid_shape(1), (1, 1));
        assert_eq!(grid_shape(2), (1, 2));
        assert_eq!(grid_shape(5), (2, 3));
        assert_eq!(grid_shape(10), (3, 4));
        assert_eq!(grid_shape(16), (4, 4));
    }

    #[test]
    fn ticks_are_short() {
        let f = tick_formatter(Range::new(-2.0, 3.0));
        assert_eq!(f(&0.5), "0.5");
        assert_eq!(f(&-0.0), "0");
        assert_eq!(f(&2.0), "2");
        let f = tick_formatter(Range::new(0.0, 1e6));
        assert_eq!(f(&2e5), "2.0e5");
    }

    #[test]
    fn subsampling_is_bounded_and_deterministic() {
        assert_eq!(subsample_indices(3, 10), vec![0, 1, 2]);
        let a = subsample_indices(1000, 50);
        assert_eq!(a.len(), 50);
        assert_eq!(a, subsample_indices(1000, 50));
        assert!(a.windows(2).all(|w| w[0] < w[1]));
    }
}
