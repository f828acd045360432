//! The truncated prior of TSNPE (Deistler et al. 2022): the prior restricted to the
//! highest-density region of the current posterior estimate, sampled by rejection.
//!
//! The region is `{θ : log q(θ | x_o) ≥ t}` with `t` the `level`-quantile of `log q` over
//! draws from `q(· | x_o)`, so it holds `1 − level` of the estimate's mass (`level =
//! 1e-4` keeps all but the far tails). Prior draws are accepted when inside; the
//! accepted fraction is the prior mass of the region.

use crate::error::{Error, Result};
use crate::sbi::NpePosterior;
use flowinfer_simulators::Simulator;
use rand::SeedableRng;

/// Prior draws examined per batch (each batch is one `log q` evaluation on a tensor).
const BATCH: usize = 50_000;

/// The truncation threshold: the `level`-quantile of `log q(θ | x_o)` over `draws` raw
/// draws from the estimate.
pub fn hpd_threshold(
    posterior: &NpePosterior,
    x_o: &[f64],
    draws: usize,
    level: f64,
    seed: u64,
) -> Result<f64> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let (_, mut lp) = posterior
        .sample_raw(&[x_o.to_vec()], draws, &mut rng)?
        .pop()
        .ok_or_else(|| Error::config("no posterior draws for the truncation threshold"))?;
    lp.retain(|v| v.is_finite());
    if lp.is_empty() {
        return Err(Error::config(
            "every posterior draw had a non-finite log density; cannot truncate the prior",
        ));
    }
    lp.sort_by(f64::total_cmp);
    let i = ((level * lp.len() as f64).floor() as usize).min(lp.len() - 1);
    Ok(lp[i])
}

/// `n` prior draws inside `{log q(θ | x_o) ≥ threshold}` and the accepted fraction, at
/// most `max_draws` prior draws examined. Fewer than `n` accepted is an error naming
/// `round` and saying how many were found.
#[allow(clippy::too_many_arguments)]
pub fn sample_truncated_prior(
    sim: &dyn Simulator,
    posterior: &NpePosterior,
    x_o: &[f64],
    threshold: f64,
    n: usize,
    max_draws: usize,
    round: usize,
    seed: u64,
) -> Result<(Vec<Vec<f64>>, f64)> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let (mut accepted, mut drawn) = (Vec::with_capacity(n), 0usize);
    while accepted.len() < n && drawn < max_draws {
        let b = BATCH.min(max_draws - drawn);
        let thetas = sim.sample_prior(b, &mut rng);
        let lp = posterior.log_prob(&thetas, x_o)?;
        for (t, l) in thetas.into_iter().zip(lp) {
            drawn += 1;
            if l >= threshold {
                accepted.push(t);
                if accepted.len() == n {
                    break;
                }
            }
        }
    }
    let fraction = accepted.len() as f64 / drawn.max(1) as f64;
    if accepted.len() < n {
        let what = if accepted.is_empty() {
            "none".to_string()
        } else {
            format!("only {}", accepted.len())
        };
        return Err(Error::config(format!(
            "round {round}: {what} of {drawn} prior draws fell inside the truncated prior (the highest-density region of round {}'s posterior, log q ≥ {threshold:.3}); {n} were needed. The posterior estimate may have collapsed onto a region the prior barely covers: raise [rounds] max_prior_draws or hpd_level, or check the observation",
            round - 1
        )));
    }
    Ok((accepted, fraction))
}
