//! The [`Simulator`] trait and the seeded, parallel batch drivers
//! [`simulate_batch`] and [`simulate_dataset`].
//!
//! A simulator couples a prior over parameters `θ` (sampling, log density and
//! support) with a stochastic forward model `x ~ p(x | θ)`. Parameters and
//! observations are plain rows of `f64` (`Vec<Vec<f64>>`, one row per draw).
//!
//! # Reproducibility
//!
//! [`simulate_batch`] gives every row its own generator, seeded from
//! `(seed, row index)` via [`row_seed`]. Results therefore depend only on the
//! seed and the row's position, never on the number of rayon threads or on
//! scheduling order.
//!
//! # Non-finite outputs
//!
//! Non-finite simulator outputs (`NaN`, `±inf`) are never dropped or replaced:
//! the batch fails with [`SimulationError::NonFinite`], naming the row, its
//! parameter values and the offending output index. The lenient driver
//! [`simulate_dataset_lenient`](crate::simulate_dataset_lenient) (built on
//! [`Simulator::simulate_rows`]) drops failed rows instead, and counts and
//! reports every one of them.

use crate::lenient::RowFailure;
use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};
use rayon::prelude::*;
use thiserror::Error;

/// A simulation-based-inference model: a prior over parameters plus a
/// stochastic simulator mapping one parameter row to one observation row.
///
/// Implementations must be `Send + Sync` so batches can run in parallel.
pub trait Simulator: Send + Sync {
    /// Short, stable identifier of the model (e.g. `"two_moons"`).
    fn name(&self) -> &str;

    /// Number of parameters (length of a `θ` row).
    fn param_dim(&self) -> usize;

    /// Number of observation values (length of an `x` row).
    fn obs_dim(&self) -> usize;

    /// Human-readable parameter names, `param_dim()` of them, in row order.
    fn param_names(&self) -> Vec<String>;

    /// Draws `n` parameter rows from the prior.
    fn sample_prior(&self, n: usize, rng: &mut dyn RngCore) -> Vec<Vec<f64>>;

    /// Normalised log prior density at `theta`; `f64::NEG_INFINITY` outside
    /// the support (and for rows of the wrong length).
    fn log_prior(&self, theta: &[f64]) -> f64;

    /// Whether `theta` lies in the support of the prior (and has length
    /// `param_dim()`).
    fn in_support(&self, theta: &[f64]) -> bool;

    /// Simulates one observation row (length `obs_dim()`) for `theta`.
    ///
    /// `theta` is assumed to have length `param_dim()`; callers going through
    /// [`simulate_batch`] get that checked up front.
    fn simulate_one(&self, theta: &[f64], rng: &mut dyn RngCore) -> Vec<f64>;

    /// Simulates every row of `thetas`, reporting failed rows instead of
    /// failing the whole run; the lenient counterpart of [`simulate_batch`].
    ///
    /// The result has one entry per input row, in order: the observation row,
    /// or a [`RowFailure`] saying why that row failed. The outer `Err` is for
    /// whole-run failures only (a parameter row of the wrong length, an
    /// external program that cannot be started, too many failed rows).
    ///
    /// The default runs [`Simulator::simulate_one`] per row in parallel
    /// (rayon) with the same per-row generators as [`simulate_batch`]
    /// (`row_seed(seed, i)`), so successful rows equal `simulate_batch`'s; an
    /// output of the wrong length or with a non-finite value becomes a
    /// [`RowFailure`]. Simulators that run whole batches at once (such as
    /// [`ExternalSimulator`](crate::ExternalSimulator)) override it.
    fn simulate_rows(
        &self,
        thetas: &[Vec<f64>],
        seed: u64,
    ) -> Result<Vec<Result<Vec<f64>, RowFailure>>, SimulationError> {
        self.simulate_rows_at(thetas, seed, 0)
    }

    /// [`Simulator::simulate_rows`] for rows `first_row..first_row + thetas.len()` of a
    /// larger run with `seed`: the seeds and the [`RowFailure`] row indices are those
    /// of the whole run, so a run split into slices (batches run by an executor, each
    /// on its own machine) gives exactly the rows of one whole call.
    ///
    /// The default uses `row_seed(seed, first_row + i)` for row `i`. Simulators that
    /// run whole batches override it (an [`ExternalSimulator`](crate::ExternalSimulator)
    /// needs `first_row` to be a multiple of its `batch_size`).
    ///
    /// ```
    /// use flowinfer_simulators::{simulate_dataset, Simulator, TwoMoons};
    /// let (thetas, xs) = simulate_dataset(&TwoMoons, 10, 7).unwrap();
    /// let tail = TwoMoons.simulate_rows_at(&thetas[6..], 7, 6).unwrap();
    /// assert_eq!(tail[0].as_ref().unwrap(), &xs[6]);
    /// ```
    fn simulate_rows_at(
        &self,
        thetas: &[Vec<f64>],
        seed: u64,
        first_row: usize,
    ) -> Result<Vec<Result<Vec<f64>, RowFailure>>, SimulationError> {
        crate::lenient::simulate_rows_per_row(self, thetas, seed, first_row)
    }
}

/// Why a batch simulation failed. Every variant names the offending row.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum SimulationError {
    /// A simulator setting was invalid (e.g. a negative noise level).
    #[error("simulator `{simulator}`: {message}")]
    InvalidSetting {
        /// Simulator name.
        simulator: String,
        /// What was wrong and what was expected.
        message: String,
    },
    /// A parameter row had the wrong number of values.
    #[error("simulator `{simulator}`: parameter row {row} has {got} values, expected {expected}")]
    ParamDimension {
        /// Simulator name.
        simulator: String,
        /// Index of the offending row in the input batch.
        row: usize,
        /// `param_dim()` of the simulator.
        expected: usize,
        /// Length of the row actually given.
        got: usize,
    },
    /// The simulator returned an observation row of the wrong length.
    #[error("simulator `{simulator}`: row {row} produced {got} outputs, expected {expected}")]
    OutputDimension {
        /// Simulator name.
        simulator: String,
        /// Index of the offending row in the input batch.
        row: usize,
        /// `obs_dim()` of the simulator.
        expected: usize,
        /// Length of the output actually produced.
        got: usize,
    },
    /// The simulator produced a non-finite value (`NaN` or `±inf`).
    #[error(
        "simulator `{simulator}`: non-finite output {value} at index {index} of row {row} \
         (parameters {theta:?})"
    )]
    NonFinite {
        /// Simulator name.
        simulator: String,
        /// Index of the offending row in the input batch.
        row: usize,
        /// The parameter values of that row.
        theta: Vec<f64>,
        /// Index of the first non-finite value within the output row.
        index: usize,
        /// The non-finite value itself.
        value: f64,
    },
    /// A whole run failed outside the model itself (e.g. an external program
    /// could not be started).
    #[error("simulator `{simulator}`: {message}")]
    External {
        /// Simulator name.
        simulator: String,
        /// What went wrong (the command and the operating-system error).
        message: String,
    },
    /// More rows failed than a lenient run allows.
    #[error(
        "simulator `{simulator}`: {failed} of {total} rows failed (allowed: at most {:.1}%); \
         first failure: {first}",
        100.0 * max_failure_fraction
    )]
    TooManyFailures {
        /// Simulator name.
        simulator: String,
        /// Number of failed rows (a lower bound when the run stopped early).
        failed: usize,
        /// Number of rows in the run.
        total: usize,
        /// The largest allowed fraction of failed rows.
        max_failure_fraction: f64,
        /// The first failure (lowest row index seen), with its reason.
        first: RowFailure,
    },
}

/// SplitMix64 finaliser: a bijective, well-mixing 64-bit hash.
pub(crate) fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Seed of the generator used for row `row` of a batch run with `seed`.
///
/// Defined as `splitmix64(splitmix64(seed) ^ row)`; row `i`'s generator is
/// `StdRng::seed_from_u64(row_seed(seed, i))`. Exposed so that a single row
/// can be reproduced with [`Simulator::simulate_one`].
pub fn row_seed(seed: u64, row: usize) -> u64 {
    splitmix64(splitmix64(seed) ^ row as u64)
}

/// Simulates every row of `thetas` in parallel (rayon), row `i` with its own
/// generator `StdRng::seed_from_u64(row_seed(seed, i))`.
///
/// The output is identical for a given `(sim, thetas, seed)` whatever the
/// thread count. All parameter rows are checked for length before anything
/// runs. Errors (dimension mismatch, non-finite output) name the row; when
/// several rows fail, the lowest row index is reported.
pub fn simulate_batch(
    sim: &dyn Simulator,
    thetas: &[Vec<f64>],
    seed: u64,
) -> Result<Vec<Vec<f64>>, SimulationError> {
    let p = sim.param_dim();
    if let Some((row, theta)) = thetas.iter().enumerate().find(|(_, t)| t.len() != p) {
        return Err(SimulationError::ParamDimension {
            simulator: sim.name().to_string(),
            row,
            expected: p,
            got: theta.len(),
        });
    }
    let d = sim.obs_dim();
    let results: Vec<Result<Vec<f64>, SimulationError>> = thetas
        .par_iter()
        .enumerate()
        .map(|(row, theta)| {
            let mut rng = StdRng::seed_from_u64(row_seed(seed, row));
            let x = sim.simulate_one(theta, &mut rng);
            if x.len() != d {
                return Err(SimulationError::OutputDimension {
                    simulator: sim.name().to_string(),
                    row,
                    expected: d,
                    got: x.len(),
                });
            }
            if let Some((index, &value)) = x.iter().enumerate().find(|(_, v)| !v.is_finite()) {
                return Err(SimulationError::NonFinite {
                    simulator: sim.name().to_string(),
                    row,
                    theta: theta.clone(),
                    index,
                    value,
                });
            }
            Ok(x)
        })
        .collect();
    // Sequential collection keeps "lowest failing row" deterministic.
    results.into_iter().collect()
}

/// A simulated data set `(thetas, xs)`: parameter rows and the matching
/// observation rows, in the same order.
pub type Dataset = (Vec<Vec<f64>>, Vec<Vec<f64>>);

/// Draws `n` parameter rows from the prior and simulates one observation for
/// each: returns `(thetas, xs)`.
///
/// The prior draws use `StdRng::seed_from_u64(splitmix64(seed ^ 0x0050_5249_4F52))`
/// (a stream distinct from the simulation rows); the simulations use
/// [`simulate_batch`] with `seed`. Fully determined by `(sim, n, seed)`.
pub fn simulate_dataset(
    sim: &dyn Simulator,
    n: usize,
    seed: u64,
) -> Result<Dataset, SimulationError> {
    let thetas = prior_draws(sim, n, seed);
    let xs = simulate_batch(sim, &thetas, seed)?;
    Ok((thetas, xs))
}

/// The `n` prior draws of a data set run with `seed` (shared by
/// [`simulate_dataset`] and the lenient driver, so both see the same `θ`s).
pub(crate) fn prior_draws(sim: &dyn Simulator, n: usize, seed: u64) -> Vec<Vec<f64>> {
    let mut prior_rng = StdRng::seed_from_u64(splitmix64(seed ^ 0x0050_5249_4F52));
    sim.sample_prior(n, &mut prior_rng)
}

/// Log density of the uniform distribution on the box `[lo_i, hi_i]`:
/// `-Σ ln(hi_i - lo_i)` inside, `-inf` outside (or on a length mismatch).
pub(crate) fn uniform_box_log_density(theta: &[f64], bounds: &[(f64, f64)]) -> f64 {
    if uniform_box_contains(theta, bounds) {
        -bounds.iter().map(|(lo, hi)| (hi - lo).ln()).sum::<f64>()
    } else {
        f64::NEG_INFINITY
    }
}

/// Whether `theta` lies in the closed box `bounds` (and has matching length).
pub(crate) fn uniform_box_contains(theta: &[f64], bounds: &[(f64, f64)]) -> bool {
    theta.len() == bounds.len()
        && theta
            .iter()
            .zip(bounds)
            .all(|(t, (lo, hi))| *lo <= *t && *t <= *hi)
}

/// `n` independent draws from the uniform box `bounds`.
pub(crate) fn uniform_box_sample(
    n: usize,
    bounds: &[(f64, f64)],
    rng: &mut dyn RngCore,
) -> Vec<Vec<f64>> {
    use rand::Rng;
    (0..n)
        .map(|_| {
            bounds
                .iter()
                .map(|(lo, hi)| lo + (hi - lo) * rng.random::<f64>())
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    /// Tiny test simulator: x = θ + U(0,1) noise, with NaN when θ₀ < 0.
    struct Noisy;

    impl Simulator for Noisy {
        fn name(&self) -> &str {
            "noisy"
        }
        fn param_dim(&self) -> usize {
            2
        }
        fn obs_dim(&self) -> usize {
            3
        }
        fn param_names(&self) -> Vec<String> {
            vec!["a".into(), "b".into()]
        }
        fn sample_prior(&self, n: usize, rng: &mut dyn RngCore) -> Vec<Vec<f64>> {
            uniform_box_sample(n, &[(0.0, 1.0), (0.0, 1.0)], rng)
        }
        fn log_prior(&self, theta: &[f64]) -> f64 {
            uniform_box_log_density(theta, &[(0.0, 1.0), (0.0, 1.0)])
        }
        fn in_support(&self, theta: &[f64]) -> bool {
            uniform_box_contains(theta, &[(0.0, 1.0), (0.0, 1.0)])
        }
        fn simulate_one(&self, theta: &[f64], rng: &mut dyn RngCore) -> Vec<f64> {
            let bad = if theta[0] < 0.0 { f64::NAN } else { 0.0 };
            vec![theta[0] + rng.random::<f64>(), theta[1] + bad, rng.random()]
        }
    }

    fn run_with_threads(threads: usize, thetas: &[Vec<f64>]) -> Vec<Vec<f64>> {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| simulate_batch(&Noisy, thetas, 7).unwrap())
    }

    #[test]
    fn batch_is_seeded_and_thread_count_independent() {
        let (thetas, xs) = simulate_dataset(&Noisy, 500, 3).unwrap();
        let (thetas2, xs2) = simulate_dataset(&Noisy, 500, 3).unwrap();
        assert_eq!(thetas, thetas2);
        assert_eq!(xs, xs2);
        let (_, xs3) = simulate_dataset(&Noisy, 500, 4).unwrap();
        assert_ne!(xs, xs3);

        let one = run_with_threads(1, &thetas);
        let four = run_with_threads(4, &thetas);
        let seven = run_with_threads(7, &thetas);
        assert_eq!(one, four);
        assert_eq!(one, seven);
        // A single row is reproducible on its own.
        let mut rng = StdRng::seed_from_u64(row_seed(7, 123));
        assert_eq!(Noisy.simulate_one(&thetas[123], &mut rng), one[123]);
    }

    #[test]
    fn non_finite_output_is_reported_with_row() {
        let thetas = vec![
            vec![0.5, 0.5],
            vec![0.1, 0.2],
            vec![-0.25, 0.75],
            vec![-1.0, 0.0],
        ];
        let err = simulate_batch(&Noisy, &thetas, 1).unwrap_err();
        match &err {
            SimulationError::NonFinite {
                row, theta, index, ..
            } => {
                assert_eq!(*row, 2);
                assert_eq!(theta, &vec![-0.25, 0.75]);
                assert_eq!(*index, 1);
            }
            other => panic!("unexpected error {other:?}"),
        }
        let msg = err.to_string();
        assert!(msg.contains("row 2") && msg.contains("-0.25"), "{msg}");
    }

    #[test]
    fn wrong_param_dimension_is_reported_with_row() {
        let thetas = vec![vec![0.5, 0.5], vec![0.1, 0.2, 0.3]];
        let err = simulate_batch(&Noisy, &thetas, 1).unwrap_err();
        assert_eq!(
            err,
            SimulationError::ParamDimension {
                simulator: "noisy".into(),
                row: 1,
                expected: 2,
                got: 3
            }
        );
    }

    #[test]
    fn uniform_box_helpers() {
        let b = [(-1.0, 1.0), (0.0, 3.0)];
        assert!((uniform_box_log_density(&[0.0, 1.0], &b) + 6f64.ln()).abs() < 1e-15);
        assert_eq!(uniform_box_log_density(&[2.0, 1.0], &b), f64::NEG_INFINITY);
        assert_eq!(uniform_box_log_density(&[0.0], &b), f64::NEG_INFINITY);
        let mut rng = StdRng::seed_from_u64(0);
        for t in uniform_box_sample(1000, &b, &mut rng) {
            assert!(uniform_box_contains(&t, &b));
        }
    }
}
