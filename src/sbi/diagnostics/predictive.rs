//! Posterior predictive check: re-simulate posterior draws and see whether the
//! observation lies inside the band of simulated observations.

use crate::error::{Error, Result};
use crate::plot::stats::quantile_sorted as quantile;
use crate::sbi::NpePosterior;
use flowinfer_simulators::Simulator;
use serde::{Deserialize, Serialize};

/// Outcome of [`predictive_check`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PredictiveResult {
    /// The observation.
    pub observation: Vec<f64>,
    /// Per-entry 5 % quantile of the re-simulated observations.
    pub q05: Vec<f64>,
    /// Per-entry median.
    pub q50: Vec<f64>,
    /// Per-entry 95 % quantile.
    pub q95: Vec<f64>,
    /// Fraction of observation entries inside `[q05, q95]`.
    pub inside_90: f64,
    /// Posterior draws re-simulated successfully.
    pub draws: usize,
    /// Re-simulations that failed (dropped).
    pub failed_simulations: usize,
    /// Acceptance rate of the prior-support rejection when drawing θ.
    pub acceptance: f64,
}

/// Draw `draws` posterior samples for `observation` (inside the prior support),
/// simulate each once and summarise the simulated observations per entry.
pub fn predictive_check(
    posterior: &NpePosterior,
    sim: &dyn Simulator,
    observation: &[f64],
    draws: usize,
    seed: u64,
) -> Result<PredictiveResult> {
    let post = posterior.sample(sim, observation, draws, seed, 100)?;
    let rows = sim.simulate_rows(&post.samples, seed ^ 0x9e37)?;
    let failed = rows.iter().filter(|r| r.is_err()).count();
    let xs: Vec<Vec<f64>> = rows.into_iter().filter_map(|r| r.ok()).collect();
    if xs.len() < 2 {
        return Err(Error::config(format!(
            "predictive check: only {} of {draws} re-simulations succeeded",
            xs.len()
        )));
    }
    let d = observation.len();
    let (mut q05, mut q50, mut q95) = (vec![0.0; d], vec![0.0; d], vec![0.0; d]);
    let mut col = Vec::with_capacity(xs.len());
    let mut inside = 0usize;
    for j in 0..d {
        col.clear();
        col.extend(xs.iter().map(|x| x[j]));
        col.sort_by(f64::total_cmp);
        q05[j] = quantile(&col, 0.05);
        q50[j] = quantile(&col, 0.5);
        q95[j] = quantile(&col, 0.95);
        if q05[j] <= observation[j] && observation[j] <= q95[j] {
            inside += 1;
        }
    }
    Ok(PredictiveResult {
        observation: observation.to_vec(),
        q05,
        q50,
        q95,
        inside_90: inside as f64 / d as f64,
        draws: xs.len(),
        failed_simulations: failed,
        acceptance: post.acceptance,
    })
}

/// Named consecutive segments of a simulator's observation vector, for plots.
pub fn observation_segments(sim: &dyn Simulator) -> Vec<(String, usize)> {
    let d = sim.obs_dim();
    match sim.name() {
        "sir" | "sir_degenerate" if d.is_multiple_of(2) && d > 20 => vec![
            ("dS/dt (per 0.1 day)".into(), d / 2),
            ("dR/dt (per 0.1 day)".into(), d / 2),
        ],
        "lotka_volterra" if d.is_multiple_of(2) => {
            vec![("prey".into(), d / 2), ("predator".into(), d / 2)]
        }
        _ => Vec::new(),
    }
}
