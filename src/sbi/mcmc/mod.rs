//! MCMC for likelihood-based reference posteriors (and neural likelihoods): several
//! slice-sampling chains ([`slice`]) run in parallel, with split R-hat and effective
//! sample sizes ([`convergence`]) reported per parameter and a warning when the chains
//! do not agree.

pub mod convergence;
pub mod slice;

pub use convergence::{effective_sample_size, split_rhat};
pub use slice::SliceChain;

use crate::error::{Error, Result};
use rand::SeedableRng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Above this split R-hat the chains are reported as not mixed.
pub const RHAT_LIMIT: f64 = 1.01;
/// Below this many effective draws per chain a parameter is reported as poorly mixed.
pub const MIN_ESS_PER_CHAIN: f64 = 100.0;

/// Settings of [`sample_mcmc`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct McmcConfig {
    /// Independent chains (run in parallel).
    pub chains: usize,
    /// Warm-up sweeps per chain (widths adapt; discarded).
    pub warmup: usize,
    /// Kept draws per chain.
    pub draws: usize,
    /// Sweeps between kept draws.
    pub thin: usize,
    /// Initial slice width per coordinate.
    pub initial_width: f64,
    /// Seed (chain `k` uses `seed + k`).
    pub seed: u64,
    /// Lockstep sampler only ([`sample_mcmc_batched`](crate::sbi::nle::sample_mcmc_batched),
    /// used by NLE): after the first half of warm-up, slice along the principal axes of
    /// the warm-up states, whitened, instead of along the parameters, for the rest of
    /// warm-up and the draws. Mixes faster on strongly correlated posteriors (narrow
    /// ridges); the target is unchanged. [`sample_mcmc`] refuses it.
    pub rotate: bool,
}

impl Default for McmcConfig {
    fn default() -> Self {
        Self {
            chains: 4,
            warmup: 1000,
            draws: 2500,
            thin: 2,
            initial_width: 0.5,
            seed: 0,
            rotate: false,
        }
    }
}

impl McmcConfig {
    /// Checks the settings for a run started from `inits` initial points (both
    /// samplers call it first).
    pub(crate) fn check(&self, inits: usize) -> Result<()> {
        if self.chains == 0 || self.draws < 4 || self.thin == 0 || inits == 0 {
            return Err(Error::config(format!(
                "MCMC needs at least one chain, one initial point, 4 draws and thin ≥ 1; got {} chains, {} initial points, {} draws, thin {}",
                self.chains, inits, self.draws, self.thin
            )));
        }
        if !(self.initial_width > 0.0 && self.initial_width.is_finite()) {
            return Err(Error::config(format!(
                "MCMC initial_width must be positive, got {}",
                self.initial_width
            )));
        }
        Ok(())
    }
}

/// Draws of several chains with their convergence diagnostics.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct McmcResult {
    /// `chains[k][i]` is draw `i` of chain `k`.
    pub chains: Vec<Vec<Vec<f64>>>,
    /// Split R-hat per parameter.
    pub rhat: Vec<f64>,
    /// Effective sample size per parameter (all chains).
    pub ess: Vec<f64>,
    /// Log-density evaluations, all chains.
    pub evaluations: usize,
    /// Wall-clock seconds.
    pub seconds: f64,
}

impl McmcResult {
    /// All kept draws, chain after chain.
    pub fn pooled(&self) -> Vec<Vec<f64>> {
        self.chains.iter().flatten().cloned().collect()
    }

    /// A warning naming every parameter whose R-hat exceeds [`RHAT_LIMIT`] or whose
    /// ESS is under [`MIN_ESS_PER_CHAIN`] per chain; `None` when all mixed.
    pub fn warning(&self, names: &[String]) -> Option<String> {
        let min_ess = MIN_ESS_PER_CHAIN * self.chains.len() as f64;
        let bad: Vec<String> = (0..self.rhat.len())
            .filter(|&p| {
                let mixed = self.rhat[p] <= RHAT_LIMIT && self.ess[p] >= min_ess;
                !mixed // NaN R-hat or ESS counts as not mixed
            })
            .map(|p| {
                format!(
                    "{} (R-hat {:.3}, ESS {:.0})",
                    names.get(p).map_or("?", |s| s.as_str()),
                    self.rhat[p],
                    self.ess[p]
                )
            })
            .collect();
        (!bad.is_empty()).then(|| {
            format!(
                "the {} MCMC chains did not mix: {} (want R-hat ≤ {RHAT_LIMIT} and ESS ≥ {min_ess:.0}); run longer chains or start them closer together",
                self.chains.len(),
                bad.join(", ")
            )
        })
    }
}

/// Run `cfg.chains` slice-sampling chains on `log_density`, chain `k` from
/// `inits[k % inits.len()]`, in parallel; report split R-hat and ESS per parameter.
/// An initial point with a non-finite log density is an error naming the chain.
///
/// ```
/// use flowinfer::sbi::mcmc::{sample_mcmc, McmcConfig};
///
/// let log_p = |x: &[f64]| -0.5 * (x[0] * x[0] + (x[1] - 1.0).powi(2) / 4.0);
/// let cfg = McmcConfig { warmup: 200, draws: 1000, ..McmcConfig::default() };
/// let r = sample_mcmc(&log_p, &[vec![0.0, 0.0], vec![1.0, 2.0]], &cfg)?;
/// assert_eq!(r.pooled().len(), 4 * 1000);
/// assert!(r.rhat.iter().all(|&v| v < 1.01));
/// let names = vec!["a".to_string(), "b".to_string()];
/// assert!(r.warning(&names).is_none());
/// # Ok::<(), flowinfer::Error>(())
/// ```
pub fn sample_mcmc(
    log_density: &(dyn Fn(&[f64]) -> f64 + Sync),
    inits: &[Vec<f64>],
    cfg: &McmcConfig,
) -> Result<McmcResult> {
    cfg.check(inits.len())?;
    if cfg.rotate {
        return Err(Error::config(
            "MCMC rotate = true needs the lockstep sampler (NLE's sample_mcmc_batched); sample_mcmc slices along the parameters",
        ));
    }
    let start = std::time::Instant::now();
    let chains: Vec<(Vec<Vec<f64>>, usize)> = (0..cfg.chains)
        .into_par_iter()
        .map(|k| run_chain(log_density, &inits[k % inits.len()], k, cfg))
        .collect::<Result<_>>()?;
    let evaluations = chains.iter().map(|c| c.1).sum();
    let chains: Vec<Vec<Vec<f64>>> = chains.into_iter().map(|c| c.0).collect();
    let d = inits[0].len();
    let column = |p: usize| -> Vec<Vec<f64>> {
        chains
            .iter()
            .map(|c| c.iter().map(|x| x[p]).collect())
            .collect()
    };
    let rhat = (0..d).map(|p| split_rhat(&column(p))).collect();
    let ess = (0..d).map(|p| effective_sample_size(&column(p))).collect();
    Ok(McmcResult {
        chains,
        rhat,
        ess,
        evaluations,
        seconds: start.elapsed().as_secs_f64(),
    })
}

fn run_chain(
    log_density: &(dyn Fn(&[f64]) -> f64 + Sync),
    init: &[f64],
    k: usize,
    cfg: &McmcConfig,
) -> Result<(Vec<Vec<f64>>, usize)> {
    let lp = log_density(init);
    if !lp.is_finite() {
        return Err(Error::config(format!(
            "MCMC chain {k}: the log density at the initial point {init:?} is {lp}; start inside the support"
        )));
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(cfg.seed.wrapping_add(k as u64));
    let mut chain = SliceChain::new(init.to_vec(), lp, vec![cfg.initial_width; init.len()]);
    let fail = |e: String| Error::config(format!("MCMC chain {k}: {e}"));
    for _ in 0..cfg.warmup {
        chain.sweep(log_density, true, &mut rng).map_err(fail)?;
    }
    let mut draws = Vec::with_capacity(cfg.draws);
    for _ in 0..cfg.draws {
        for _ in 0..cfg.thin {
            chain.sweep(log_density, false, &mut rng).map_err(fail)?;
        }
        draws.push(chain.x.clone());
    }
    Ok((draws, chain.evaluations))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separated_modes_with_split_chains_are_reported() {
        // Two narrow modes at ±10: chains started in different modes never meet.
        let lp = |x: &[f64]| {
            let a = -0.5 * (x[0] - 10.0).powi(2) / 0.01;
            let b = -0.5 * (x[0] + 10.0).powi(2) / 0.01;
            a.max(b) + (1.0 + (a.min(b) - a.max(b)).exp()).ln()
        };
        let cfg = McmcConfig {
            chains: 4,
            warmup: 100,
            draws: 300,
            thin: 1,
            ..McmcConfig::default()
        };
        let r = sample_mcmc(&lp, &[vec![10.0], vec![-10.0]], &cfg).unwrap();
        assert!(r.rhat[0] > 2.0, "{:?}", r.rhat);
        let w = r.warning(&["theta".into()]).expect("a warning");
        assert!(w.contains("theta") && w.contains("R-hat"), "{w}");
    }

    #[test]
    fn an_initial_point_outside_the_support_is_an_error() {
        let lp = |x: &[f64]| if x[0] > 0.0 { -x[0] } else { f64::NEG_INFINITY };
        // Chain 2 alone starts outside (inits cycle: 1, 1, −1, 1); the chains run in
        // parallel, so only a single bad chain makes the named one deterministic.
        let e = sample_mcmc(
            &lp,
            &[vec![1.0], vec![1.0], vec![-1.0], vec![1.0]],
            &McmcConfig::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("chain 2") && e.contains("initial point"), "{e}");
    }
}
