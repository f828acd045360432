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
    let truth_lp = posterior.log_prob_pairs(&thetas, &xs)?;
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed ^ 0x5bc);
    let mut tally = SbcTally::new(sim, &thetas, samples, &mut rng);
    let chunk = (DRAWS_PER_BATCH / samples).max(1);
    for (c, xs_chunk) in xs.chunks(chunk).enumerate() {
        let draws = posterior.sample_raw(xs_chunk, samples, &mut rng)?;
        for (k, (s, lp)) in draws.iter().enumerate() {
            let i = c * chunk + k;
            tally.push(sim, i, s, lp, truth_lp[i]);
        }
    }
    Ok(tally.finish(posterior.param_names().to_vec(), failures.len()))
}

/// SBC ranks, credible levels and TARP fractions gathered one data set at a time from
/// any posterior's draws (flow draws in [`sbc`], MCMC draws for a neural likelihood);
/// [`finish`](Self::finish) turns them into an [`SbcResult`].
pub struct SbcTally {
    thetas: Vec<Vec<f64>>,
    samples: usize,
    ranks: Vec<Vec<usize>>,
    alphas: Vec<f64>,
    tarp: Vec<f64>,
    outside: usize,
    references: Vec<Vec<f64>>,
    scale: Vec<f64>,
}

impl SbcTally {
    /// A tally for the true parameters `thetas` (one per data set) and `samples` draws
    /// per data set; draws one TARP reference point per data set from the prior with
    /// `rng` (distances in units of the prior draws' standard deviations).
    pub fn new(
        sim: &dyn Simulator,
        thetas: &[Vec<f64>],
        samples: usize,
        rng: &mut dyn rand::RngCore,
    ) -> Self {
        let d = sim.param_dim();
        let references = sim.sample_prior(thetas.len(), rng);
        let n = thetas.len() as f64;
        let scale: Vec<f64> = (0..d)
            .map(|p| {
                let m = thetas.iter().map(|t| t[p]).sum::<f64>() / n;
                let v = thetas.iter().map(|t| (t[p] - m).powi(2)).sum::<f64>() / n;
                if v > 0.0 {
                    v.sqrt()
                } else {
                    1.0
                }
            })
            .collect();
        Self {
            thetas: thetas.to_vec(),
            samples,
            ranks: vec![Vec::with_capacity(thetas.len()); d],
            alphas: Vec::with_capacity(thetas.len()),
            tarp: Vec::with_capacity(thetas.len()),
            outside: 0,
            references,
            scale,
        }
    }

    /// Data set `i`: its `samples` posterior draws, their log densities and the log
    /// density at the true parameters (any common normalisation: only the order counts).
    pub fn push(
        &mut self,
        sim: &dyn Simulator,
        i: usize,
        draws: &[Vec<f64>],
        draw_lp: &[f64],
        truth_lp: f64,
    ) {
        let theta = &self.thetas[i];
        for (p, ranks) in self.ranks.iter_mut().enumerate() {
            ranks.push(draws.iter().filter(|row| row[p] < theta[p]).count());
        }
        self.alphas
            .push(draw_lp.iter().filter(|&&v| v > truth_lp).count() as f64 / draws.len() as f64);
        self.outside += draws.iter().filter(|row| !sim.in_support(row)).count();
        self.tarp.push(tarp_fraction(
            draws,
            theta,
            &self.references[i],
            &self.scale,
        ));
    }

    /// The χ² tests, the coverage curve and TARP over the data sets pushed so far.
    pub fn finish(self, names: Vec<String>, failed_simulations: usize) -> SbcResult {
        let (samples, alphas) = (self.samples, self.alphas);
        let n = alphas.len();
        // At least ~5 expected per bin, at most 20 bins, never more bins than ranks.
        let bins = (n / 5).clamp(2, 20).min(samples + 1);
        let (chi2, p_values): (Vec<f64>, Vec<f64>) = self
            .ranks
            .iter()
            .map(|r| rank_uniformity(r, samples, bins))
            .unzip();
        let levels: Vec<f64> = (0..=20).map(|k| k as f64 / 20.0).collect();
        let coverage: Vec<f64> = levels
            .iter()
            .map(|&g| alphas.iter().filter(|&&a| a < g).count() as f64 / n.max(1) as f64)
            .collect();
        let max_coverage_gap = levels
            .iter()
            .zip(&coverage)
            .map(|(l, c)| (l - c).abs())
            .fold(0.0, f64::max);
        SbcResult {
            names,
            runs: n,
            failed_simulations,
            samples,
            ranks: self.ranks,
            bins,
            chi2,
            p_values,
            levels,
            coverage,
            max_coverage_gap,
            outside_prior: self.outside as f64 / (n * samples).max(1) as f64,
            tarp: tarp_from_fractions(&self.tarp),
        }
    }
}

/// Write the SBC plots of `s` into `out`: `sbc_ranks.png` (rank histograms with the
/// 99 % band), `coverage.png` (expected coverage) and `tarp.png` (TARP).
pub fn plot_sbc(out: &std::path::Path, s: &SbcResult) -> Result<()> {
    crate::plot::rank_histograms(
        out.join("sbc_ranks.png"),
        &s.names,
        &s.ranks,
        s.samples,
        s.bins,
        &s.p_values,
    )?;
    crate::plot::coverage_curve(
        out.join("coverage.png"),
        &s.levels,
        &s.coverage,
        s.runs,
        &format!("Expected coverage ({} data sets)", s.runs),
    )?;
    crate::plot::coverage_curve(
        out.join("tarp.png"),
        &s.tarp.levels,
        &s.tarp.ecp,
        s.tarp.runs,
        &format!("TARP expected coverage ({} data sets)", s.tarp.runs),
    )
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
