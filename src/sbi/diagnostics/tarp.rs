//! TARP, "Tests of Accuracy with Random Points" (Lemos et al. 2023, ICML): a coverage
//! test that needs posterior draws only, no density.
//!
//! For each simulated pair `(θ_i, x_i)` with posterior draws `θ_ij ~ q(θ | x_i)`, a
//! reference point `θ_r,i` is drawn (here: from the prior, independently of `x_i`). In
//! coordinates z-scored by the prior draws, `f_i` is the fraction of draws closer to
//! `θ_r,i` than the true `θ_i` is; the ball around `θ_r,i` through `θ_i` then has
//! credibility `f_i`. The **expected coverage probability** at level `α` is
//! `ECP(α) = mean_i [f_i < α]`; it equals `α` for every `α` and every reference
//! distribution if and only if the estimator is the true posterior (Lemos et al.,
//! Theorem 3). Reported: ECP on a grid, the largest `|ECP − α|`, the area to the
//! curve `ATC = Σ_{α > 0.5} (ECP(α) − α)` as in `sbi`, and the Kolmogorov–Smirnov test
//! of the `f_i` against Uniform(0, 1).
//!
//! [`sbc`](super::sbc) computes the `f_i` from the same draws as the SBC ranks and the
//! expected coverage.

use serde::{Deserialize, Serialize};

/// TARP outcome.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TarpResult {
    /// Data sets used.
    pub runs: usize,
    /// Credibility levels `α` of the curve.
    pub levels: Vec<f64>,
    /// Expected coverage probability at each level.
    pub ecp: Vec<f64>,
    /// Largest `|ECP(α) − α|`.
    pub max_gap: f64,
    /// Area to curve over `α > 0.5` (positive: underconfident, negative: overconfident).
    pub atc: f64,
    /// Kolmogorov–Smirnov distance of the `f_i` from Uniform(0, 1).
    pub ks_statistic: f64,
    /// Its asymptotic p-value.
    pub ks_p_value: f64,
}

/// `f`: the fraction of `draws` closer to `reference` than `truth`, in coordinates
/// divided by `scale` (Euclidean distance).
///
/// ```
/// use flowinfer::sbi::diagnostics::tarp::tarp_fraction;
///
/// let draws = vec![vec![0.0], vec![1.0], vec![2.0], vec![3.0]];
/// // Distances to 0: 0, 1, 2, 3; the truth at 2.5 is farther than 3 of 4 draws.
/// assert_eq!(tarp_fraction(&draws, &[2.5], &[0.0], &[1.0]), 0.75);
/// ```
pub fn tarp_fraction(draws: &[Vec<f64>], truth: &[f64], reference: &[f64], scale: &[f64]) -> f64 {
    let dist = |p: &[f64]| -> f64 {
        p.iter()
            .zip(reference)
            .zip(scale)
            .map(|((a, r), s)| ((a - r) / s).powi(2))
            .sum()
    };
    let d_truth = dist(truth);
    let closer = draws.iter().filter(|d| dist(d) < d_truth).count();
    closer as f64 / draws.len().max(1) as f64
}

/// Asymptotic Kolmogorov distribution tail `P(K > λ)` (with Stephens' correction
/// applied by the caller).
fn kolmogorov_tail(lambda: f64) -> f64 {
    if lambda < 0.2 {
        return 1.0;
    }
    let s: f64 = (1..=100)
        .map(|k| {
            let k = k as f64;
            let sign = if k as u64 % 2 == 1 { 1.0 } else { -1.0 };
            sign * (-2.0 * k * k * lambda * lambda).exp()
        })
        .sum();
    (2.0 * s).clamp(0.0, 1.0)
}

/// The TARP curve and tests from the per-data-set fractions `f_i` (see
/// [`tarp_fraction`]), on the levels `0, 0.05, …, 1`.
///
/// ```
/// use flowinfer::sbi::diagnostics::tarp::tarp_from_fractions;
///
/// let calibrated: Vec<f64> = (0..1000).map(|i| (i as f64 + 0.5) / 1000.0).collect();
/// let r = tarp_from_fractions(&calibrated);
/// assert!(r.max_gap < 0.01 && r.ks_p_value > 0.5);
/// // An overconfident estimator: the truth is far out in the draws every time.
/// let over: Vec<f64> = calibrated.iter().map(|f| f.sqrt()).collect();
/// let r = tarp_from_fractions(&over);
/// assert!(r.atc < 0.0 && r.ks_p_value < 1e-6);
/// ```
pub fn tarp_from_fractions(fractions: &[f64]) -> TarpResult {
    let n = fractions.len();
    let levels: Vec<f64> = (0..=20).map(|k| k as f64 / 20.0).collect();
    if n == 0 {
        return TarpResult {
            levels,
            ..TarpResult::default()
        };
    }
    let ecp: Vec<f64> = levels
        .iter()
        .map(|&a| fractions.iter().filter(|&&f| f < a).count() as f64 / n as f64)
        .collect();
    let max_gap = levels
        .iter()
        .zip(&ecp)
        .map(|(a, e)| (a - e).abs())
        .fold(0.0, f64::max);
    let atc = levels
        .iter()
        .zip(&ecp)
        .filter(|(a, _)| **a > 0.5)
        .map(|(a, e)| e - a)
        .sum();
    let mut sorted = fractions.to_vec();
    sorted.sort_by(f64::total_cmp);
    let ks = sorted
        .iter()
        .enumerate()
        .map(|(i, &f)| {
            let f = f.clamp(0.0, 1.0);
            ((i + 1) as f64 / n as f64 - f).max(f - i as f64 / n as f64)
        })
        .fold(0.0, f64::max);
    let sn = (n as f64).sqrt();
    TarpResult {
        runs: n,
        levels,
        ecp,
        max_gap,
        atc,
        ks_statistic: ks,
        ks_p_value: kolmogorov_tail((sn + 0.12 + 0.11 / sn) * ks),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_distr::{Distribution, StandardNormal};

    /// A Gaussian location problem with a known posterior: θ ~ N(0, 1), x ~ N(θ, 1),
    /// so p(θ | x) = N(x/2, 1/2). Exact draws pass; too narrow draws fail.
    fn fractions(posterior_sd: f64, seed: u64) -> Vec<f64> {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let mut normal = || -> f64 { StandardNormal.sample(&mut rng) };
        (0..400)
            .map(|_| {
                let theta = normal();
                let x = theta + normal();
                let draws: Vec<Vec<f64>> = (0..300)
                    .map(|_| vec![x / 2.0 + posterior_sd * normal()])
                    .collect();
                let reference = normal();
                tarp_fraction(&draws, &[theta], &[reference], &[1.0])
            })
            .collect()
    }

    #[test]
    fn exact_posterior_passes_and_overconfident_fails() {
        let exact = tarp_from_fractions(&fractions(0.5f64.sqrt(), 1));
        assert!(exact.ks_p_value > 0.01 && exact.max_gap < 0.1, "{exact:?}");
        let narrow = tarp_from_fractions(&fractions(0.2, 2));
        assert!(narrow.ks_p_value < 1e-4 && narrow.atc < 0.0, "{narrow:?}");
    }
}
