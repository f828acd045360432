//! Simulation-based calibration, expected coverage and TARP for a posterior that is
//! sampled by MCMC (a neural likelihood's `q(x | θ) p(θ)`): `runs` data sets simulated
//! from the prior, each with its own posterior, all sampled in **one** lockstep
//! slice-sampling run ([`sample_mcmc_per_chain`]: `chains` chains per data set, one
//! flow call per stage for every chain of every data set). Each data set's chains start
//! from `candidates` prior draws resampled by likelihood (as for a single observation).
//!
//! The ranks, coverage and TARP come from the same draws ([`SbcTally`]); the HPD level
//! of the true θ uses the unnormalised log posterior, whose ordering is all that
//! matters. Split R-hat and bulk ESS are computed per data set and summarised across
//! data sets ([`SbcMixing`]): SBC on chains that did not mix says nothing about the
//! estimator, so the summary carries a warning when they did not.

use crate::error::{Error, Result};
use crate::sbi::diagnostics::sbc::{SbcResult, SbcTally};
use crate::sbi::mcmc::{effective_sample_size, split_rhat, McmcConfig};
use crate::sbi::nle::batch_slice::sample_mcmc_per_chain;
use crate::sbi::nle::likelihood::resample_by_weight;
use crate::sbi::nle::NleLikelihood;
use flowinfer_simulators::{simulate_dataset_lenient, Simulator};
use rand::SeedableRng;
use serde::{Deserialize, Serialize};

/// Above this split R-hat a data set's chains count as not mixed. Looser than the
/// single-posterior limit ([`crate::sbi::mcmc::RHAT_LIMIT`], 1.01) because SBC chains
/// are short: with 4 chains of 50 draws a well-mixed R-hat scatters by a few hundredths.
pub const SBC_RHAT_LIMIT: f64 = 1.1;
/// Above this fraction of data sets with unmixed chains the summary warns.
pub const SBC_UNMIXED_FRACTION: f64 = 0.1;

/// An unnormalised log posterior of pairs: `(θ_i, x_i)` ↦ `log p(θ_i | x_i) + const`
/// (`-∞` outside the prior's support), one call for many pairs.
pub type PairLogPosterior<'a> = dyn Fn(&[Vec<f64>], &[Vec<f64>]) -> Result<Vec<f64>> + 'a;

/// Settings of [`sbc_mcmc`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct McmcSbcConfig {
    /// Simulated data sets.
    pub runs: usize,
    /// Posterior draws per data set (rounded up to a multiple of the chains).
    pub samples: usize,
    /// Chains per data set, warm-up, thinning, initial width and seed
    /// (`draws` is ignored: `samples / chains`).
    pub mcmc: McmcConfig,
    /// Prior draws per data set resampled by likelihood to start its chains.
    pub candidates: usize,
    /// Seed of the simulations and the TARP reference points.
    pub seed: u64,
}

impl Default for McmcSbcConfig {
    fn default() -> Self {
        Self {
            runs: 200,
            samples: 200,
            mcmc: McmcConfig {
                chains: 4,
                warmup: 50,
                draws: 50,
                thin: 2,
                ..McmcConfig::default()
            },
            candidates: 1000,
            seed: 1,
        }
    }
}

/// R-hat and ESS of the SBC chains, summarised across data sets.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SbcMixing {
    /// Data sets.
    pub data_sets: usize,
    /// Chains per data set.
    pub chains_per_set: usize,
    /// Kept draws per chain.
    pub draws_per_chain: usize,
    /// Per parameter: the median over data sets of the split R-hat.
    pub median_rhat: Vec<f64>,
    /// Per parameter: the largest split R-hat of any data set.
    pub max_rhat: Vec<f64>,
    /// Per parameter: the median over data sets of the bulk ESS.
    pub median_ess: Vec<f64>,
    /// Per parameter: the smallest ESS of any data set.
    pub min_ess: Vec<f64>,
    /// Data sets with some parameter's R-hat above [`SBC_RHAT_LIMIT`] (or not finite).
    pub unmixed_sets: usize,
    /// Flow (log density) evaluations of the whole MCMC run.
    pub evaluations: usize,
    /// Seconds sampling.
    pub seconds: f64,
    /// The plain-words warning when too many data sets' chains did not mix.
    pub warning: Option<String>,
}

/// SBC with MCMC draws: [`SbcResult`] (ranks, coverage, TARP) and the mixing summary.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct McmcSbc {
    /// Ranks, χ² p-values, expected coverage and TARP.
    pub sbc: SbcResult,
    /// R-hat and ESS across data sets.
    pub mixing: SbcMixing,
}

/// Whether a split R-hat says "not mixed" (above the limit, or NaN).
fn unmixed_rhat(rhat: f64) -> bool {
    rhat.is_nan() || rhat > SBC_RHAT_LIMIT
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

/// SBC, expected coverage and TARP of the posterior `log_post` for `sim` (module docs).
/// `names` label the parameters.
///
/// ```
/// use flowinfer::sbi::mcmc::McmcConfig;
/// use flowinfer::sbi::nle::sbc::{sbc_mcmc, McmcSbcConfig};
/// use flowinfer_simulators::{GaussianLinear, Simulator};
///
/// // gaussian_linear's exact posterior (x ~ N(θ, 0.1 I), prior N(0, 0.1 I)).
/// let sim = GaussianLinear;
/// let exact = |t: &[Vec<f64>], x: &[Vec<f64>]| -> flowinfer::Result<Vec<f64>> {
///     Ok(t.iter().zip(x).map(|(t, x)| {
///         sim.log_prior(t) - t.iter().zip(x).map(|(a, b)| (a - b).powi(2)).sum::<f64>() / 0.2
///     }).collect())
/// };
/// let cfg = McmcSbcConfig { runs: 20, samples: 40, candidates: 200,
///     mcmc: McmcConfig { chains: 2, warmup: 20, ..McmcSbcConfig::default().mcmc },
///     ..McmcSbcConfig::default() };
/// let r = sbc_mcmc(&exact, &sim, &sim.param_names(), &cfg)?;
/// assert_eq!((r.sbc.runs, r.sbc.samples), (20, 40));
/// assert_eq!(r.sbc.ranks.len(), 10);
/// assert_eq!(r.mixing.median_rhat.len(), 10);
/// # Ok::<(), flowinfer::Error>(())
/// ```
pub fn sbc_mcmc(
    log_post: &PairLogPosterior<'_>,
    sim: &dyn Simulator,
    names: &[String],
    cfg: &McmcSbcConfig,
) -> Result<McmcSbc> {
    let k = cfg.mcmc.chains;
    if cfg.runs < 2 || cfg.samples < 2 || k == 0 || cfg.candidates < k {
        return Err(Error::config(format!(
            "SBC by MCMC needs at least 2 data sets, 2 draws per data set, 1 chain and as many candidates as chains; got {} data sets, {} draws, {k} chains, {} candidates",
            cfg.runs, cfg.samples, cfg.candidates
        )));
    }
    let data = simulate_dataset_lenient(sim, cfg.runs, cfg.seed)?;
    let (thetas, xs) = (&data.thetas, &data.xs);
    let n = thetas.len();
    let mut rng = rand::rngs::StdRng::seed_from_u64(cfg.seed ^ 0x5bc);
    let draws_per_chain = cfg.samples.div_ceil(k).max(4);
    let samples = k * draws_per_chain;
    let mut tally = SbcTally::new(sim, thetas, samples, &mut rng);

    // Starting points: `candidates` prior draws per data set, resampled by likelihood.
    let c = cfg.candidates;
    let cands = sim.sample_prior(n * c, &mut rng);
    let cand_xs: Vec<Vec<f64>> = (0..n * c).map(|j| xs[j / c].clone()).collect();
    let lp = log_post(&cands, &cand_xs)?;
    let mut inits = Vec::with_capacity(n * k);
    for i in 0..n {
        let ll: Vec<f64> = (i * c..(i + 1) * c)
            .map(|j| lp[j] - sim.log_prior(&cands[j]))
            .collect();
        let picked = resample_by_weight(&ll, k, &mut rng).ok_or_else(|| {
            Error::config(format!(
                "SBC data set {}: none of {c} prior draws has a finite posterior density for its simulated observation; the MCMC chains cannot start",
                i + 1
            ))
        })?;
        inits.extend(picked.into_iter().map(|j| cands[i * c + j].clone()));
    }

    let mcmc = McmcConfig {
        chains: n * k,
        draws: draws_per_chain,
        ..cfg.mcmc.clone()
    };
    let per_chain = |chains: &[usize], pts: &[Vec<f64>]| {
        let obs: Vec<Vec<f64>> = chains.iter().map(|&ch| xs[ch / k].clone()).collect();
        log_post(pts, &obs)
    };
    let r = sample_mcmc_per_chain(&per_chain, &inits, &mcmc)?;

    // Log posterior of every draw and of every truth, in one call each.
    let draws: Vec<Vec<f64>> = r.pooled();
    let draw_xs: Vec<Vec<f64>> = (0..draws.len()).map(|j| xs[j / samples].clone()).collect();
    let draw_lp = log_post(&draws, &draw_xs)?;
    let truth_lp = log_post(thetas, xs)?;
    let d = sim.param_dim();
    let (mut rhat, mut ess) = (
        vec![Vec::with_capacity(n); d],
        vec![Vec::with_capacity(n); d],
    );
    let mut unmixed_sets = 0;
    for (i, &truth) in truth_lp.iter().enumerate() {
        let span = i * samples..(i + 1) * samples;
        tally.push(sim, i, &draws[span.clone()], &draw_lp[span], truth);
        let group = &r.chains[i * k..(i + 1) * k];
        let mut unmixed = false;
        for p in 0..d {
            let cols: Vec<Vec<f64>> = group
                .iter()
                .map(|ch| ch.iter().map(|x| x[p]).collect())
                .collect();
            let rh = split_rhat(&cols);
            unmixed |= unmixed_rhat(rh);
            rhat[p].push(rh);
            ess[p].push(effective_sample_size(&cols));
        }
        unmixed_sets += usize::from(unmixed);
    }
    let max_rhat: Vec<f64> = rhat
        .iter()
        .map(|v| v.iter().copied().fold(f64::NAN, f64::max))
        .collect();
    let warning = (unmixed_sets as f64 > SBC_UNMIXED_FRACTION * n as f64).then(|| {
        let worst: Vec<String> = names
            .iter()
            .zip(&max_rhat)
            .filter(|(_, &v)| unmixed_rhat(v))
            .map(|(name, v)| format!("{name} (largest R-hat {v:.3})"))
            .collect();
        format!(
            "the SBC chains of {unmixed_sets} of {n} data sets did not mix (split R-hat > {SBC_RHAT_LIMIT}): {}; the ranks describe the sampler as much as the estimator — raise --sbc-warmup or the [nle.mcmc] thinning",
            worst.join(", ")
        )
    });
    let mixing = SbcMixing {
        data_sets: n,
        chains_per_set: k,
        draws_per_chain: mcmc.draws,
        median_rhat: rhat.into_iter().map(median).collect(),
        max_rhat,
        median_ess: ess.iter().cloned().map(median).collect(),
        min_ess: ess
            .iter()
            .map(|v| v.iter().copied().fold(f64::NAN, f64::min))
            .collect(),
        unmixed_sets,
        evaluations: r.evaluations,
        seconds: r.seconds,
        warning,
    };
    Ok(McmcSbc {
        sbc: tally.finish(names.to_vec(), data.failures.len()),
        mixing,
    })
}

/// [`sbc_mcmc`] for a neural likelihood: the posterior `q(x | θ) p(θ)` of each
/// simulated data set.
pub fn sbc_nle(
    likelihood: &NleLikelihood,
    sim: &dyn Simulator,
    cfg: &McmcSbcConfig,
) -> Result<McmcSbc> {
    let log_post = |t: &[Vec<f64>], x: &[Vec<f64>]| likelihood.log_posterior_pairs(sim, t, x);
    sbc_mcmc(&log_post, sim, likelihood.param_names(), cfg)
}

#[cfg(test)]
mod tests;
