//! VEGAS as the baseline (side by side at equal integrand calls) and as the warm start.
//!
//! **Baseline.** VEGAS adapts its grid with the same number of integrand calls the flow
//! used for training (warm start included), in [`VEGAS_ITERATIONS`] iterations; its
//! own inverse-variance combined estimate is reported as `adaptive`. The final grid is
//! then frozen and evaluated on as many fresh points as the flow's evaluation, giving
//! weights `f(G(y))·J_G(y)` with the same statistics as the flow's
//! ([`WeightStats`]): relative std per event, ESS, unweighting efficiency.
//!
//! **Warm start.** [`warm_start_grid`] runs VEGAS with a given budget and returns its
//! adapted grid, which [`super::adapters::GridPullback`] composes with the flow.

use super::batch::{evaluate, EvalOptions, InvalidCounts};
use super::estimate::WeightStats;
use crate::error::{Error, Result};
use flowinfer_simulators::{vegas, Integrand, VegasConfig, VegasGrid, VegasResult};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;

/// Iterations VEGAS splits its adaptation budget into (fewer when the budget is small).
pub const VEGAS_ITERATIONS: usize = 10;

/// Points per iteration below which fewer iterations are used.
const MIN_POINTS_PER_ITERATION: usize = 1000;

/// VEGAS's own adaptive estimate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VegasAdaptive {
    /// Inverse-variance combined estimate of all iterations.
    pub estimate: f64,
    /// Its standard error.
    pub std_error: f64,
    /// `χ²/dof` of the combined iterations.
    pub chi2_per_dof: Option<f64>,
    /// Iterations.
    pub iterations: usize,
    /// Points per iteration.
    pub points_per_iteration: usize,
    /// Integrand calls.
    pub calls: usize,
}

/// The baseline's results (module docs).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VegasComparison {
    /// The adaptation run.
    pub adaptive: VegasAdaptive,
    /// Weight statistics of the frozen grid on fresh points.
    pub frozen: WeightStats,
    /// Integrand calls in all (adaptation + evaluation).
    pub calls: usize,
    /// Relative std per event of each adaptation iteration, with the calls so far.
    pub iteration_rel_std: Vec<(usize, f64)>,
    /// Invalid values seen in the evaluation.
    pub invalid: InvalidCounts,
    /// The frozen-grid weights, in draw order.
    #[serde(skip)]
    pub weights: Vec<f64>,
}

/// The VEGAS settings for a budget of `calls` integrand calls.
fn config_for(calls: usize, seed: u64, allow_invalid: bool) -> Result<VegasConfig> {
    if calls < 4 {
        return Err(Error::config(format!(
            "VEGAS needs a budget of at least 4 integrand calls, got {calls}"
        )));
    }
    let iterations = VEGAS_ITERATIONS
        .min(calls / MIN_POINTS_PER_ITERATION)
        .max(1)
        .min(calls / 2);
    Ok(VegasConfig {
        iterations,
        points_per_iteration: calls / iterations,
        seed,
        allow_invalid,
        ..VegasConfig::default()
    })
}

/// Run VEGAS with about `calls` integrand calls and return its result (with the
/// adapted grid).
pub fn warm_start_grid(
    integrand: &dyn Integrand,
    calls: usize,
    seed: u64,
    allow_invalid: bool,
) -> Result<VegasResult> {
    Ok(vegas(integrand, &config_for(calls, seed, allow_invalid)?)?)
}

/// Weights `f(G(y))·J_G(y)` of `n` uniform `y` through the frozen `grid`, in batches.
pub fn grid_weights(
    integrand: &dyn Integrand,
    grid: &VegasGrid,
    n: usize,
    batch: usize,
    seed: u64,
    opts: &EvalOptions,
    invalid: &mut InvalidCounts,
) -> Result<Vec<f64>> {
    let d = integrand.dim();
    let mut rng = StdRng::seed_from_u64(seed);
    let mut weights = Vec::with_capacity(n);
    while weights.len() < n {
        let m = batch.max(1).min(n - weights.len());
        let y: Vec<f64> = (0..m * d).map(|_| rng.random::<f64>()).collect();
        let (x, jac) = grid.map(&y)?;
        let mut f = evaluate(integrand, &x, opts)?;
        invalid.screen(
            integrand.name(),
            "VEGAS evaluation",
            &x,
            d,
            &mut f,
            opts.allow_invalid,
        )?;
        weights.extend(f.iter().zip(&jac).map(|(f, j)| f * j));
    }
    Ok(weights)
}

/// The baseline: adapt with `adapt_calls` calls, evaluate the frozen grid on `eval_n`
/// points (module docs).
pub fn compare_vegas(
    integrand: &dyn Integrand,
    adapt_calls: usize,
    eval_n: usize,
    batch: usize,
    seed: u64,
    opts: &EvalOptions,
) -> Result<VegasComparison> {
    let cfg = config_for(adapt_calls, seed, opts.allow_invalid)?;
    let r = vegas(integrand, &cfg)?;
    let mut calls = 0;
    let iteration_rel_std = r
        .iterations
        .iter()
        .map(|it| {
            calls += it.n_evaluations;
            let sd = it.std_error * (it.n_evaluations as f64).sqrt();
            (
                calls,
                if it.integral > 0.0 {
                    sd / it.integral
                } else {
                    f64::NAN
                },
            )
        })
        .collect();
    let mut invalid = InvalidCounts::default();
    let weights = grid_weights(
        integrand,
        &r.grid,
        eval_n,
        batch,
        seed ^ 0x5eed_0e6a,
        opts,
        &mut invalid,
    )?;
    Ok(VegasComparison {
        adaptive: VegasAdaptive {
            estimate: r.integral,
            std_error: r.std_error,
            chi2_per_dof: r.chi2_per_dof,
            iterations: cfg.iterations,
            points_per_iteration: cfg.points_per_iteration,
            calls: r.n_evaluations,
        },
        frozen: WeightStats::from_weights(&weights)?,
        calls: r.n_evaluations + weights.len(),
        iteration_rel_std,
        invalid,
        weights,
    })
}
