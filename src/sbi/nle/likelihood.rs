//! [`NleLikelihood`]: a conditional flow `q(x | θ)` fitted to simulations, and the
//! posterior it implies for one observation, `log q(x_o | θ) + log p(θ)`, sampled by
//! batched slice sampling.

use crate::error::{Error, Result};
use crate::sbi::mcmc::{McmcConfig, McmcResult};
use crate::sbi::nle::sample_mcmc_batched;
use crate::sbi::NpePosterior;
use flowinfer_simulators::Simulator;
use rand::{Rng, SeedableRng};

/// Points per flow call when scoring many candidates (bounds the memory of one call).
const CHUNK: usize = 4096;

/// A neural likelihood: a conditional flow on x with θ (z-scored) as its context.
///
/// The flow and the context scaling are held in an [`NpePosterior`] whose roles are
/// swapped (its "parameters" are observations and its "observation" is θ): the same
/// conditional-flow container serves both estimators.
pub struct NleLikelihood {
    estimator: NpePosterior,
    param_names: Vec<String>,
}

impl NleLikelihood {
    /// Wrap a conditional flow on x whose context is θ (scaled by `estimator`).
    pub fn new(estimator: NpePosterior, param_names: Vec<String>) -> Result<Self> {
        let (mean, _) = estimator.observation_scaling();
        if mean.len() != param_names.len() {
            return Err(Error::config(format!(
                "NLE: the flow's context has {} entries but {} parameter names were given",
                mean.len(),
                param_names.len()
            )));
        }
        Ok(Self {
            estimator,
            param_names,
        })
    }

    /// The conditional flow container (`q(x | θ)`, θ as context).
    pub fn estimator(&self) -> &NpePosterior {
        &self.estimator
    }

    /// Parameter names (θ columns).
    pub fn param_names(&self) -> &[String] {
        &self.param_names
    }

    /// `log q(x_o | θ_i)` for every row of `thetas`, in one flow call per
    /// [`CHUNK`] rows.
    pub fn log_likelihood(&self, thetas: &[Vec<f64>], x_o: &[f64]) -> Result<Vec<f64>> {
        let xs = vec![x_o.to_vec(); thetas.len()];
        self.log_likelihood_pairs(thetas, &xs)
    }

    /// `log q(x_i | θ_i)` for every pair of rows, in one flow call per [`CHUNK`] rows.
    pub fn log_likelihood_pairs(&self, thetas: &[Vec<f64>], xs: &[Vec<f64>]) -> Result<Vec<f64>> {
        let mut out = Vec::with_capacity(thetas.len());
        for (t, x) in thetas.chunks(CHUNK).zip(xs.chunks(CHUNK)) {
            out.extend(self.estimator.log_prob_pairs(x, t)?);
        }
        Ok(out)
    }

    /// `log q(x_o | θ_i) + log p(θ_i)`; `-∞` outside the prior's support (the flow is
    /// called only on the rows inside it, all of them in one call).
    pub fn log_posterior(
        &self,
        sim: &dyn Simulator,
        thetas: &[Vec<f64>],
        x_o: &[f64],
    ) -> Result<Vec<f64>> {
        let xs = vec![x_o.to_vec(); thetas.len()];
        self.log_posterior_pairs(sim, thetas, &xs)
    }

    /// `log q(x_i | θ_i) + log p(θ_i)` for every pair (the unnormalised posterior of
    /// each row's own observation); `-∞` outside the prior's support.
    pub fn log_posterior_pairs(
        &self,
        sim: &dyn Simulator,
        thetas: &[Vec<f64>],
        xs: &[Vec<f64>],
    ) -> Result<Vec<f64>> {
        if thetas.len() != xs.len() {
            return Err(Error::config(format!(
                "NLE log posterior: {} parameter rows but {} observations",
                thetas.len(),
                xs.len()
            )));
        }
        let prior: Vec<f64> = thetas.iter().map(|t| sim.log_prior(t)).collect();
        let inside: Vec<usize> = (0..thetas.len())
            .filter(|&i| prior[i].is_finite())
            .collect();
        let mut out = vec![f64::NEG_INFINITY; thetas.len()];
        if inside.is_empty() {
            return Ok(out);
        }
        let rows: Vec<Vec<f64>> = inside.iter().map(|&i| thetas[i].clone()).collect();
        let obs: Vec<Vec<f64>> = inside.iter().map(|&i| xs[i].clone()).collect();
        let ll = self.log_likelihood_pairs(&rows, &obs)?;
        for (&i, l) in inside.iter().zip(ll) {
            out[i] = if l.is_finite() {
                prior[i] + l
            } else {
                f64::NEG_INFINITY
            };
        }
        Ok(out)
    }

    /// Starting points of `chains` chains: `candidates` prior draws resampled in
    /// proportion to their likelihood (sampling–importance–resampling, as `sbi` starts
    /// its SNLE chains), so the chains start spread over the posterior's modes.
    pub fn initial_points(
        &self,
        sim: &dyn Simulator,
        x_o: &[f64],
        chains: usize,
        candidates: usize,
        seed: u64,
    ) -> Result<Vec<Vec<f64>>> {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let draws = sim.sample_prior(candidates.max(chains), &mut rng);
        let lp = self.log_posterior(sim, &draws, x_o)?;
        let ll: Vec<f64> = draws
            .iter()
            .zip(&lp)
            .map(|(t, p)| p - sim.log_prior(t))
            .collect();
        let picked = resample_by_weight(&ll, chains, &mut rng).ok_or_else(|| {
            Error::config(format!(
                "NLE: none of {} prior draws has a finite likelihood for the observation; the estimator cannot start its MCMC chains",
                draws.len()
            ))
        })?;
        Ok(picked.into_iter().map(|i| draws[i].clone()).collect())
    }

    /// MCMC draws from the NLE posterior for `x_o`: `cfg.chains` slice-sampling chains,
    /// started by [`initial_points`](Self::initial_points) from `candidates` prior draws
    /// and run in lockstep (one flow call per stage of an update). Check
    /// [`McmcResult::warning`] before trusting them.
    ///
    /// ```
    /// use flowinfer::sbi::mcmc::McmcConfig;
    /// use flowinfer::sbi::nle::train_nle;
    /// use flowinfer::sbi::SbiConfig;
    /// use flowinfer_simulators::TwoMoons;
    ///
    /// let mut cfg = SbiConfig::default();
    /// cfg.npe.simulations = 500;
    /// (cfg.flow.blocks, cfg.flow.hidden, cfg.train.epochs) = (2, 16, 3);
    /// let nle = train_nle(&TwoMoons, &cfg, |_| {})?;
    /// let mcmc = McmcConfig { chains: 8, warmup: 20, draws: 25, ..McmcConfig::default() };
    /// let r = nle.likelihood.sample_posterior(&TwoMoons, &[0.1, -0.2], &mcmc, 1000)?;
    /// assert_eq!(r.pooled().len(), 8 * 25);
    /// assert_eq!(r.rhat.len(), 2);
    /// # Ok::<(), flowinfer::Error>(())
    /// ```
    pub fn sample_posterior(
        &self,
        sim: &dyn Simulator,
        x_o: &[f64],
        cfg: &McmcConfig,
        candidates: usize,
    ) -> Result<McmcResult> {
        if x_o.len() != sim.obs_dim() {
            return Err(Error::Shape {
                what: "observation".into(),
                expected: format!("{} values", sim.obs_dim()),
                got: vec![x_o.len()],
            });
        }
        if let Some(j) = x_o.iter().position(|v| !v.is_finite()) {
            return Err(Error::NonFinite {
                what: "observation".into(),
                row: 0,
                column: j,
            });
        }
        let inits = self.initial_points(sim, x_o, cfg.chains, candidates, cfg.seed ^ 0x5eed)?;
        let log_p = |pts: &[Vec<f64>]| self.log_posterior(sim, pts, x_o);
        sample_mcmc_batched(&log_p, &inits, cfg)
    }
}

/// `n` indices drawn with replacement in proportion to `exp(log_weights)` (non-finite
/// weights count as zero); `None` when no weight is finite.
pub(crate) fn resample_by_weight(
    log_weights: &[f64],
    n: usize,
    rng: &mut impl Rng,
) -> Option<Vec<usize>> {
    let max = log_weights
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .fold(f64::NEG_INFINITY, f64::max);
    if !max.is_finite() {
        return None;
    }
    let mut cum = Vec::with_capacity(log_weights.len());
    let mut total = 0.0;
    for v in log_weights {
        total += if v.is_finite() { (v - max).exp() } else { 0.0 };
        cum.push(total);
    }
    Some(
        (0..n)
            .map(|_| {
                let u = rng.random::<f64>() * total;
                cum.partition_point(|&c| c <= u).min(log_weights.len() - 1)
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use crate::sbi::mcmc::McmcConfig;
    use crate::sbi::nle::train_nle;
    use crate::sbi::SbiConfig;
    use flowinfer_simulators::TwoMoons;

    fn tiny() -> crate::sbi::nle::NleTraining {
        let mut cfg = SbiConfig::default();
        cfg.npe.simulations = 400;
        (cfg.flow.blocks, cfg.flow.hidden, cfg.train.epochs) = (2, 16, 3);
        train_nle(&TwoMoons, &cfg, |_| {}).unwrap()
    }

    #[test]
    fn chains_that_cannot_move_are_reported_as_not_mixed() {
        let nle = tiny();
        // A slice width of 1e-6 without warm-up: every chain stays near its start.
        let cfg = McmcConfig {
            chains: 4,
            warmup: 0,
            draws: 50,
            thin: 1,
            initial_width: 1e-6,
            seed: 3,
            rotate: false,
        };
        let r = nle
            .likelihood
            .sample_posterior(&TwoMoons, &[0.1, -0.2], &cfg, 2000)
            .unwrap();
        assert!(r.rhat.iter().any(|&v| v > 1.1), "{:?}", r.rhat);
        let w = r.warning(nle.likelihood.param_names()).expect("a warning");
        assert!(w.contains("R-hat") && w.contains("did not mix"), "{w}");
        // Every draw lies in the prior's support.
        assert!(r.pooled().iter().all(|t| t.iter().all(|v| v.abs() <= 1.0)));
    }

    #[test]
    fn resampling_starts_chains_in_both_modes_in_proportion_to_their_mass() {
        use super::resample_by_weight;
        use rand::{Rng, SeedableRng};
        // A bimodal target on [-3, 3]: modes at -1.5 (mass 0.3) and +1.5 (mass 0.7),
        // each N(·, 0.2²); 20,000 uniform candidates, log weights = log target.
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let cands: Vec<f64> = (0..20_000).map(|_| rng.random_range(-3.0..3.0)).collect();
        let bump = |x: f64, m: f64| (-(x - m) * (x - m) / (2.0 * 0.04)).exp();
        let lw: Vec<f64> = cands
            .iter()
            .map(|&x| (0.3 * bump(x, -1.5) + 0.7 * bump(x, 1.5)).ln())
            .collect();
        let picked = resample_by_weight(&lw, 2000, &mut rng).unwrap();
        let xs: Vec<f64> = picked.iter().map(|&i| cands[i]).collect();
        let right = xs.iter().filter(|&&x| x > 0.0).count() as f64 / xs.len() as f64;
        // Binomial sd of the share over 2000 chains is 0.010: 5 sd either side.
        assert!(
            (right - 0.7).abs() < 0.05,
            "share in the right mode {right}"
        );
        // Every start sits in a mode (within 5 sd of its centre), none between them.
        assert!(
            xs.iter().all(|x| (x.abs() - 1.5).abs() < 1.0),
            "a start between the modes"
        );
        // All weights −∞: no start, and the caller turns that into an error.
        assert!(resample_by_weight(&[f64::NEG_INFINITY; 3], 2, &mut rng).is_none());
    }

    #[test]
    fn a_wrong_observation_is_a_shape_error() {
        let nle = tiny();
        let e = nle
            .likelihood
            .sample_posterior(&TwoMoons, &[0.1], &McmcConfig::default(), 100)
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("observation") && e.contains("2 values"), "{e}");
    }
}
