//! Simulation-based calibration (Talts et al. 2018) and expected coverage.
//!
//! For `runs` parameter draws `θ_i ~ prior` with simulated `x_i`, the estimator draws
//! `L` samples from `q(θ | x_i)`. The **rank** of `θ_i[p]` is the number of draws whose
//! `p`-th value is smaller; for a calibrated estimator it is uniform on `0..=L`. The
//! uniformity test per parameter is Pearson's χ² on `bins` equal rank bins (p-value
//! from the χ² distribution with `bins − 1` degrees of freedom).
//!
//! **Expected coverage** uses the estimator's own density: `α_i` is the fraction of
//! the `L` draws with `log q(θ_j | x_i) > log q(θ_i | x_i)`, i.e. the smallest credible
//! level whose highest-density region contains `θ_i`. The empirical coverage at level
//! `γ` is the fraction of runs with `α_i < γ`; calibrated estimators follow the
//! diagonal, curves below it are overconfident.
//!
//! Draws are the raw flow draws (no prior-support truncation); the fraction of draws
//! outside the prior support is reported beside the result.

use crate::error::{Error, Result};
use crate::sbi::diagnostics::tarp::{tarp_fraction, tarp_from_fractions, TarpResult};
use crate::sbi::NpePosterior;
use flowinfer_simulators::{simulate_dataset_lenient, LenientDataset, Simulator};
use rand::SeedableRng;
use serde::{Deserialize, Serialize};
use statrs::distribution::{ChiSquared, ContinuousCDF};

/// Largest number of flow draws generated in one batch.
const DRAWS_PER_BATCH: usize = 200_000;

/// Outcome of [`sbc`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SbcResult {
    /// Parameter names.
    pub names: Vec<String>,
    /// Data sets used (successful simulations).
    pub runs: usize,
    /// Simulations that failed and were dropped.
    pub failed_simulations: usize,
    /// Posterior draws per data set (`L`; ranks lie in `0..=L`).
    pub samples: usize,
    /// Ranks, per parameter, one per data set.
    pub ranks: Vec<Vec<usize>>,
    /// Rank bins of the χ² test.
    pub bins: usize,
    /// χ² statistic per parameter.
    pub chi2: Vec<f64>,
    /// p-value of the uniformity test per parameter.
    pub p_values: Vec<f64>,
    /// Credible levels of the coverage curve.
    pub levels: Vec<f64>,
    /// Empirical coverage at each level.
    pub coverage: Vec<f64>,
    /// Largest |coverage − level|.
    pub max_coverage_gap: f64,
    /// Fraction of raw draws outside the prior support.
    pub outside_prior: f64,
    /// TARP from the same draws (prior draws as reference points).
    #[serde(default)]
    pub tarp: TarpResult,
}

/// Pearson χ² statistic and p-value of `ranks` (in `0..=max_rank`) against the
/// uniform distribution over `bins` equal bins.
pub fn rank_uniformity(ranks: &[usize], max_rank: usize, bins: usize) -> (f64, f64) {
    let mut counts = vec![0usize; bins];
    let width = (max_rank + 1) as f64 / bins as f64;
    for &r in ranks {
        counts[((r as f64 / width) as usize).min(bins - 1)] += 1;
    }
    // Expected counts from the exact bin widths in ranks (integer edges).
    let n = ranks.len() as f64;
    let mut chi2 = 0.0;
    for (b, &c) in counts.iter().enumerate() {
        let lo = (b as f64 * width).ceil() as usize;
        let hi = (((b + 1) as f64 * width).ceil() as usize).min(max_rank + 1);
        let e = n * (hi.saturating_sub(lo)) as f64 / (max_rank + 1) as f64;
        if e > 0.0 {
            chi2 += (c as f64 - e).powi(2) / e;
        }
    }
    let p = ChiSquared::new((bins - 1) as f64)
        .map(|d| 1.0 - d.cdf(chi2))
        .unwrap_or(f64::NAN);
    (chi2, p)
}

/// Run SBC, expected coverage and TARP with `runs` simulated data sets and `samples` draws
/// per data set.
pub fn sbc(
    posterior: &NpePosterior,
    sim: &dyn Simulator,
    runs: usize,
    samples: usize,
    seed: u64,
) -> Result<SbcResult> {
    if runs < 2 || samples < 2 {
        return Err(Error::config(format!(
            "SBC needs at least 2 runs and 2 draws per run, got {runs} and {samples}"
        )));
    }
    let LenientDataset {
        thetas,
        xs,
        failures,
    } = simulate_dataset_lenient(sim, runs, seed)?;
    let d = sim.param_dim();
    let mut ranks = vec![Vec::with_capacity(thetas.len()); d];
    let mut alphas = Vec::with_capacity(thetas.len());
    let mut outside = 0usize;
    let truth_lp = posterior.log_prob_pairs(&thetas, &xs)?;
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed ^ 0x5bc);
    // TARP: one prior draw per data set as its reference point; distances in units of
    // the prior draws' standard deviations.
    let references = sim.sample_prior(thetas.len(), &mut rng);
    let scale: Vec<f64> = (0..d)
        .map(|p| {
            let n = thetas.len() as f64;
            let m = thetas.iter().map(|t| t[p]).sum::<f64>() / n;
            let v = thetas.iter().map(|t| (t[p] - m).powi(2)).sum::<f64>() / n;
            if v > 0.0 {
                v.sqrt()
            } else {
                1.0
            }
        })
        .collect();
    let mut tarp = Vec::with_capacity(thetas.len());
    let chunk = (DRAWS_PER_BATCH / samples).max(1);
    for (c, xs_chunk) in xs.chunks(chunk).enumerate() {
        let draws = posterior.sample_raw(xs_chunk, samples, &mut rng)?;
        for (k, (s, lp)) in draws.iter().enumerate() {
            let i = c * chunk + k;
            let theta = &thetas[i];
            for p in 0..d {
                ranks[p].push(s.iter().filter(|row| row[p] < theta[p]).count());
            }
            alphas.push(lp.iter().filter(|&&v| v > truth_lp[i]).count() as f64 / samples as f64);
            outside += s.iter().filter(|row| !sim.in_support(row)).count();
            tarp.push(tarp_fraction(s, theta, &references[i], &scale));
        }
    }
    let n = alphas.len();
    // At least ~5 expected per bin, at most 20 bins, never more bins than ranks.
    let bins = (n / 5).clamp(2, 20).min(samples + 1);
    let (chi2, p_values): (Vec<f64>, Vec<f64>) = ranks
        .iter()
        .map(|r| rank_uniformity(r, samples, bins))
        .unzip();
    let levels: Vec<f64> = (0..=20).map(|k| k as f64 / 20.0).collect();
    let coverage: Vec<f64> = levels
        .iter()
        .map(|&g| alphas.iter().filter(|&&a| a < g).count() as f64 / n as f64)
        .collect();
    let max_coverage_gap = levels
        .iter()
        .zip(&coverage)
        .map(|(l, c)| (l - c).abs())
        .fold(0.0, f64::max);
    Ok(SbcResult {
        names: posterior.param_names().to_vec(),
        runs: n,
        failed_simulations: failures.len(),
        samples,
        ranks,
        bins,
        chi2,
        p_values,
        levels,
        coverage,
        max_coverage_gap,
        outside_prior: outside as f64 / (n * samples) as f64,
        tarp: tarp_from_fractions(&tarp),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniform_ranks_pass_and_skewed_ranks_fail() {
        let uniform: Vec<usize> = (0..2000).map(|i| (i * 7919) % 101).collect();
        let (_, p) = rank_uniformity(&uniform, 100, 20);
        assert!(p > 0.05, "p = {p}");
        let skewed: Vec<usize> = (0..2000).map(|i| ((i * 7919) % 101) / 2).collect();
        let (_, p) = rank_uniformity(&skewed, 100, 20);
        assert!(p < 1e-6, "p = {p}");
    }
}
