//! VEGAS adaptive Monte Carlo integration (G. P. Lepage, J. Comput. Phys. 27 (1978) 192)
//! over `[0,1]^d`, as a baseline for flow-based importance sampling and as a warm start
//! for a flow (the adapted [`VegasGrid`] is an invertible map with a Jacobian).
//!
//! # Algorithm
//!
//! Each of `iterations` iterations draws `n` uniform points `y`, maps them through the
//! current grid to `x` with Jacobian `J` and evaluates `f(x)` in chunks (one
//! [`Integrand::evaluate`] call per chunk). The iteration estimate is the mean of
//! `f·J`, its variance that of the mean. The grid is then refined from the per-bin sums
//! of `(f·J)²` ([`VegasGrid::adapt`], damping `α`). The iterations are combined with
//! inverse-variance weights,
//!
//! ```text
//! I = Σ_k I_k/σ_k² / Σ_k 1/σ_k²,    σ = (Σ_k 1/σ_k²)^(−½),    χ²/dof = Σ_k (I_k − I)²/σ_k² / (m − 1),
//! ```
//!
//! leaving out the first `skip_iterations` (whose coarse grids can have badly estimated
//! variances). If some combined iterations have zero variance (e.g. a constant
//! integrand), only those are averaged and `σ = 0`.
//!
//! # Reproducibility
//!
//! Chunk `c` of iteration `k` draws from `StdRng::seed_from_u64(row_seed(row_seed(seed,
//! k), c))`; chunks run in parallel (rayon) but are combined in chunk order (Chan's
//! pairwise update of mean and sum of squares), so the result depends only on the
//! configuration and the seed, never on the thread count.
//!
//! # Invalid values
//!
//! A non-finite or negative `f(x)` is counted (per iteration and in total) and
//! contributes zero to the estimate and to the grid. Unless
//! [`VegasConfig::allow_invalid`] is set, any such value is an error
//! ([`VegasError::InvalidValues`]) naming the first offending point.

mod grid;

pub use grid::VegasGrid;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rayon::prelude::*;
use thiserror::Error;

use crate::integrands::{Integrand, IntegrandError};
use crate::simulator::row_seed;

/// Why a VEGAS run or a grid operation failed.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum VegasError {
    /// A configuration value or grid was invalid.
    #[error("vegas: {0}")]
    InvalidSetting(String),
    /// A batch had the wrong number of values.
    #[error("vegas: {0}")]
    Shape(String),
    /// A point given to the grid map lay outside `[0,1]` (or was NaN).
    #[error("vegas grid: value {value} at row {row}, column {column} is outside [0, 1]")]
    OutOfRange {
        /// Row of the offending value.
        row: usize,
        /// Column (dimension) of the offending value.
        column: usize,
        /// The value.
        value: f64,
    },
    /// The integrand failed on a whole batch.
    #[error(transparent)]
    Integrand(#[from] IntegrandError),
    /// The integrand returned non-finite or negative values and `allow_invalid` was off.
    #[error(
        "vegas: integrand `{integrand}` returned {non_finite} non-finite and {negative} negative \
         values in iteration {iteration}; first: f({point:?}) = {value} \
         (set allow_invalid to count them as zero)"
    )]
    InvalidValues {
        /// Integrand name.
        integrand: String,
        /// Iteration (0-based) in which they occurred.
        iteration: usize,
        /// Number of non-finite values in that iteration.
        non_finite: usize,
        /// Number of negative values in that iteration.
        negative: usize,
        /// The first offending point (in chunk order).
        point: Vec<f64>,
        /// Its value.
        value: f64,
    },
}

/// Settings of a VEGAS run.
#[derive(Debug, Clone, PartialEq)]
pub struct VegasConfig {
    /// Bins per dimension of the initial uniform grid (default 64; ignored by
    /// [`vegas_with_grid`], which takes the grid's own).
    pub bins: usize,
    /// Damping exponent `α ≥ 0` of the grid refinement (default 1.5; 0 freezes the grid).
    pub alpha: f64,
    /// Number of iterations (default 10).
    pub iterations: usize,
    /// Points per iteration, at least 2 (default 10 000).
    pub points_per_iteration: usize,
    /// Points per [`Integrand::evaluate`] call and per random-number stream (default 4096).
    pub chunk_size: usize,
    /// Leading iterations left out of the combined estimate (they still adapt the grid;
    /// default 0; must be below `iterations`).
    pub skip_iterations: usize,
    /// Seed of the random-number streams (default 0).
    pub seed: u64,
    /// Count non-finite and negative values as zero instead of failing (default false).
    pub allow_invalid: bool,
}

impl Default for VegasConfig {
    fn default() -> Self {
        Self {
            bins: 64,
            alpha: 1.5,
            iterations: 10,
            points_per_iteration: 10_000,
            chunk_size: 4096,
            skip_iterations: 0,
            seed: 0,
            allow_invalid: false,
        }
    }
}

/// One iteration's estimate.
#[derive(Debug, Clone, PartialEq)]
pub struct VegasIteration {
    /// Estimate of the integral from this iteration alone.
    pub integral: f64,
    /// Its standard error.
    pub std_error: f64,
    /// Number of integrand evaluations.
    pub n_evaluations: usize,
    /// Non-finite values (counted as zero).
    pub non_finite: usize,
    /// Negative values (counted as zero).
    pub negative: usize,
}

/// The outcome of a VEGAS run.
#[derive(Debug, Clone, PartialEq)]
pub struct VegasResult {
    /// Combined estimate of the integral (module docs).
    pub integral: f64,
    /// Its standard error.
    pub std_error: f64,
    /// `χ²` per degree of freedom of the combined iterations; `None` when fewer than two
    /// were combined or their variances were zero.
    pub chi2_per_dof: Option<f64>,
    /// Every iteration, in order (including skipped ones).
    pub iterations: Vec<VegasIteration>,
    /// Total number of integrand evaluations.
    pub n_evaluations: usize,
    /// Total non-finite values.
    pub non_finite: usize,
    /// Total negative values.
    pub negative: usize,
    /// The grid refined after the last iteration (for a further run or a flow warm start).
    pub grid: VegasGrid,
}

/// Integrates `integrand` over `[0,1]^d` with VEGAS, starting from a uniform grid of
/// `config.bins` bins per dimension.
pub fn vegas(integrand: &dyn Integrand, config: &VegasConfig) -> Result<VegasResult, VegasError> {
    let grid = VegasGrid::uniform(integrand.dim(), config.bins)?;
    vegas_with_grid(integrand, grid, config)
}

/// Integrates `integrand` with VEGAS starting from `grid` (e.g. the grid of an earlier
/// run); `config.bins` is ignored.
pub fn vegas_with_grid(
    integrand: &dyn Integrand,
    mut grid: VegasGrid,
    config: &VegasConfig,
) -> Result<VegasResult, VegasError> {
    validate(integrand, &grid, config)?;
    let mut iterations = Vec::with_capacity(config.iterations);
    for k in 0..config.iterations {
        let stats = run_iteration(integrand, &grid, config, k)?;
        if stats.non_finite + stats.negative > 0 && !config.allow_invalid {
            let (point, value) = stats.first_invalid.unwrap_or_default();
            return Err(VegasError::InvalidValues {
                integrand: integrand.name().to_string(),
                iteration: k,
                non_finite: stats.non_finite,
                negative: stats.negative,
                point,
                value,
            });
        }
        let n = stats.count as f64;
        iterations.push(VegasIteration {
            integral: stats.mean,
            std_error: (stats.m2 / (n * (n - 1.0))).max(0.0).sqrt(),
            n_evaluations: stats.count,
            non_finite: stats.non_finite,
            negative: stats.negative,
        });
        grid.adapt(&stats.bin_weights, config.alpha)?;
    }
    let (integral, std_error, chi2_per_dof) = combine(&iterations[config.skip_iterations..]);
    Ok(VegasResult {
        integral,
        std_error,
        chi2_per_dof,
        n_evaluations: iterations.iter().map(|i| i.n_evaluations).sum(),
        non_finite: iterations.iter().map(|i| i.non_finite).sum(),
        negative: iterations.iter().map(|i| i.negative).sum(),
        iterations,
        grid,
    })
}

fn validate(
    integrand: &dyn Integrand,
    grid: &VegasGrid,
    config: &VegasConfig,
) -> Result<(), VegasError> {
    let bad = |m: String| Err(VegasError::InvalidSetting(m));
    if grid.dim() != integrand.dim() {
        return bad(format!(
            "grid has dimension {}, integrand `{}` has {}",
            grid.dim(),
            integrand.name(),
            integrand.dim()
        ));
    }
    if !(config.alpha.is_finite() && config.alpha >= 0.0) {
        return bad(format!(
            "alpha must be finite and ≥ 0, got {}",
            config.alpha
        ));
    }
    if config.iterations == 0 {
        return bad("iterations must be at least 1".into());
    }
    if config.skip_iterations >= config.iterations {
        return bad(format!(
            "skip_iterations ({}) must be below iterations ({})",
            config.skip_iterations, config.iterations
        ));
    }
    if config.points_per_iteration < 2 {
        return bad(format!(
            "points_per_iteration must be at least 2, got {}",
            config.points_per_iteration
        ));
    }
    if config.chunk_size == 0 {
        return bad("chunk_size must be at least 1".into());
    }
    Ok(())
}

/// Running statistics of `f·J` over a set of points.
#[derive(Debug, Clone, Default)]
struct Stats {
    count: usize,
    mean: f64,
    /// Sum of squared deviations from the mean.
    m2: f64,
    non_finite: usize,
    negative: usize,
    first_invalid: Option<(Vec<f64>, f64)>,
    /// `Σ (f·J)²` per bin, `dim × bins`.
    bin_weights: Vec<f64>,
}

impl Stats {
    /// Merges `other` (later in chunk order) into `self` (Chan et al.'s update).
    fn merge(&mut self, other: Stats) {
        let (na, nb) = (self.count as f64, other.count as f64);
        let n = na + nb;
        if other.count > 0 {
            let delta = other.mean - self.mean;
            self.mean += delta * nb / n;
            self.m2 += other.m2 + delta * delta * na * nb / n;
            self.count += other.count;
        }
        self.non_finite += other.non_finite;
        self.negative += other.negative;
        if self.first_invalid.is_none() {
            self.first_invalid = other.first_invalid;
        }
        if self.bin_weights.is_empty() {
            self.bin_weights = other.bin_weights;
        } else {
            for (a, b) in self.bin_weights.iter_mut().zip(&other.bin_weights) {
                *a += b;
            }
        }
    }
}

fn run_iteration(
    integrand: &dyn Integrand,
    grid: &VegasGrid,
    config: &VegasConfig,
    iteration: usize,
) -> Result<Stats, VegasError> {
    let n = config.points_per_iteration;
    let chunk = config.chunk_size;
    let chunks = n.div_ceil(chunk);
    let iteration_seed = row_seed(config.seed, iteration);
    let results: Vec<Result<Stats, VegasError>> = (0..chunks)
        .into_par_iter()
        .map(|c| {
            let m = chunk.min(n - c * chunk);
            run_chunk(integrand, grid, m, row_seed(iteration_seed, c))
        })
        .collect();
    let mut total = Stats::default();
    for r in results {
        total.merge(r?);
    }
    Ok(total)
}

fn run_chunk(
    integrand: &dyn Integrand,
    grid: &VegasGrid,
    m: usize,
    seed: u64,
) -> Result<Stats, VegasError> {
    let d = grid.dim();
    let nb = grid.bins();
    let mut rng = StdRng::seed_from_u64(seed);
    let y: Vec<f64> = (0..m * d).map(|_| rng.random::<f64>()).collect();
    let mut x = vec![0.0; m * d];
    let mut bins = vec![0usize; m * d];
    let jac: Vec<f64> = (0..m)
        .map(|k| {
            let r = k * d..(k + 1) * d;
            grid.map_point(&y[r.clone()], &mut x[r.clone()], &mut bins[r])
        })
        .collect();
    let mut f = vec![0.0; m];
    integrand.evaluate(&x, &mut f)?;
    let mut stats = Stats {
        count: m,
        bin_weights: vec![0.0; d * nb],
        ..Stats::default()
    };
    let mut values = Vec::with_capacity(m);
    for k in 0..m {
        let fk = f[k];
        let valid = fk.is_finite() && fk >= 0.0;
        if !valid {
            if fk.is_finite() {
                stats.negative += 1;
            } else {
                stats.non_finite += 1;
            }
            if stats.first_invalid.is_none() {
                stats.first_invalid = Some((x[k * d..(k + 1) * d].to_vec(), fk));
            }
        }
        let v = if valid { fk * jac[k] } else { 0.0 };
        values.push(v);
        let v2 = v * v;
        for (dd, &b) in bins[k * d..(k + 1) * d].iter().enumerate() {
            stats.bin_weights[dd * nb + b] += v2;
        }
    }
    stats.mean = values.iter().sum::<f64>() / m as f64;
    stats.m2 = values.iter().map(|v| (v - stats.mean).powi(2)).sum();
    Ok(stats)
}

/// Inverse-variance combination of `its` (module docs): `(integral, std_error, χ²/dof)`.
fn combine(its: &[VegasIteration]) -> (f64, f64, Option<f64>) {
    let exact: Vec<&VegasIteration> = its.iter().filter(|i| i.std_error == 0.0).collect();
    if !exact.is_empty() {
        let mean = exact.iter().map(|i| i.integral).sum::<f64>() / exact.len() as f64;
        return (mean, 0.0, None);
    }
    let (mut sw, mut swi) = (0.0, 0.0);
    for it in its {
        let w = 1.0 / (it.std_error * it.std_error);
        sw += w;
        swi += w * it.integral;
    }
    let integral = swi / sw;
    let chi2 = (its.len() > 1).then(|| {
        its.iter()
            .map(|it| ((it.integral - integral) / it.std_error).powi(2))
            .sum::<f64>()
            / (its.len() - 1) as f64
    });
    (integral, sw.sqrt().recip(), chi2)
}

#[cfg(test)]
mod tests;
