//! The lenient data-set driver: failed simulations are dropped and counted,
//! never silently used.
//!
//! [`Simulator::simulate_rows`] returns one `Result` per parameter row;
//! [`simulate_dataset_lenient`] keeps the successful rows and lists the failed
//! ones as [`RowFailure`]s (row index and reason). With no failures its result
//! equals [`simulate_dataset`](crate::simulate_dataset)'s.
//!
//! ```
//! use flowinfer_simulators::{simulate_dataset, simulate_dataset_lenient, TwoMoons};
//!
//! let lenient = simulate_dataset_lenient(&TwoMoons, 50, 3).unwrap();
//! assert!(lenient.failures.is_empty());
//! assert_eq!((lenient.thetas, lenient.xs), simulate_dataset(&TwoMoons, 50, 3).unwrap());
//! ```

use crate::simulator::{prior_draws, row_seed, SimulationError, Simulator};
use rand::rngs::StdRng;
use rand::SeedableRng;
use rayon::prelude::*;
use std::fmt;

/// One failed simulation: the row's index in the run and why it failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowFailure {
    /// Index of the parameter row in the run (0-based).
    pub row: usize,
    /// What went wrong, e.g. `non-finite value NaN at index 3`.
    pub reason: String,
}

impl fmt::Display for RowFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "row {}: {}", self.row, self.reason)
    }
}

/// The successful rows of a lenient run and the failures that were dropped.
#[derive(Debug, Clone, PartialEq)]
pub struct LenientDataset {
    /// Parameter rows whose simulation succeeded, in run order.
    pub thetas: Vec<Vec<f64>>,
    /// The matching observation rows (all finite, `obs_dim()` long).
    pub xs: Vec<Vec<f64>>,
    /// Every failed row, in row order; `row` indexes the full prior draw.
    pub failures: Vec<RowFailure>,
}

/// Draws `n` parameter rows from the prior (the same stream as
/// [`simulate_dataset`](crate::simulate_dataset)) and simulates them with
/// [`Simulator::simulate_rows`], keeping only the successful rows.
///
/// Errors: whatever `simulate_rows` reports for the whole run, and
/// [`SimulationError::TooManyFailures`] when `n > 0` and every row failed (an
/// empty data set is never returned as a success). Simulators with their own
/// failure limit (such as [`ExternalSimulator`](crate::ExternalSimulator))
/// apply it inside `simulate_rows`.
pub fn simulate_dataset_lenient(
    sim: &dyn Simulator,
    n: usize,
    seed: u64,
) -> Result<LenientDataset, SimulationError> {
    let thetas = prior_draws(sim, n, seed);
    let results = sim.simulate_rows(&thetas, seed)?;
    if results.len() != thetas.len() {
        return Err(SimulationError::External {
            simulator: sim.name().to_string(),
            message: format!(
                "simulate_rows returned {} results for {} parameter rows",
                results.len(),
                thetas.len()
            ),
        });
    }
    let mut out = LenientDataset {
        thetas: Vec::with_capacity(n),
        xs: Vec::with_capacity(n),
        failures: Vec::new(),
    };
    for (theta, result) in thetas.into_iter().zip(results) {
        match result {
            Ok(x) => {
                out.thetas.push(theta);
                out.xs.push(x);
            }
            Err(failure) => out.failures.push(failure),
        }
    }
    if n > 0 && out.xs.is_empty() {
        return Err(SimulationError::TooManyFailures {
            simulator: sim.name().to_string(),
            failed: out.failures.len(),
            total: n,
            max_failure_fraction: 1.0,
            first: out.failures.swap_remove(0),
        });
    }
    Ok(out)
}

/// Checks one simulated row: `obs_dim` long and finite, else the reason.
pub(crate) fn check_output(x: &[f64], obs_dim: usize) -> Result<(), String> {
    if x.len() != obs_dim {
        return Err(format!("produced {} outputs, expected {obs_dim}", x.len()));
    }
    match x.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        Some((index, value)) => Err(format!("non-finite value {value} at index {index}")),
        None => Ok(()),
    }
}

/// Rejects a parameter row of the wrong length (a caller error, so it fails
/// the whole run exactly as in [`simulate_batch`](crate::simulate_batch)).
pub(crate) fn check_param_rows<S: Simulator + ?Sized>(
    sim: &S,
    thetas: &[Vec<f64>],
) -> Result<(), SimulationError> {
    let p = sim.param_dim();
    match thetas.iter().enumerate().find(|(_, t)| t.len() != p) {
        Some((row, theta)) => Err(SimulationError::ParamDimension {
            simulator: sim.name().to_string(),
            row,
            expected: p,
            got: theta.len(),
        }),
        None => Ok(()),
    }
}

/// Default [`Simulator::simulate_rows`]: `simulate_one` per row in parallel,
/// row `i` with `StdRng::seed_from_u64(row_seed(seed, i))`.
pub(crate) fn simulate_rows_per_row<S: Simulator + ?Sized>(
    sim: &S,
    thetas: &[Vec<f64>],
    seed: u64,
    first_row: usize,
) -> Result<Vec<Result<Vec<f64>, RowFailure>>, SimulationError> {
    check_param_rows(sim, thetas)?;
    let d = sim.obs_dim();
    Ok(thetas
        .par_iter()
        .enumerate()
        .map(|(i, theta)| {
            let row = first_row + i;
            let mut rng = StdRng::seed_from_u64(row_seed(seed, row));
            let x = sim.simulate_one(theta, &mut rng);
            check_output(&x, d)
                .map(|()| x)
                .map_err(|reason| RowFailure { row, reason })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulator::{uniform_box_contains, uniform_box_log_density, uniform_box_sample};
    use crate::{simulate_batch, simulate_dataset, Slcp, TwoMoons};
    use rand::{Rng, RngCore};

    /// x = θ + noise; NaN when θ₀ < 0.3, one value short when θ₀ > 0.9.
    struct Flaky;

    const BOX: [(f64, f64); 2] = [(0.0, 1.0), (0.0, 1.0)];

    impl Simulator for Flaky {
        fn name(&self) -> &str {
            "flaky"
        }
        fn param_dim(&self) -> usize {
            2
        }
        fn obs_dim(&self) -> usize {
            2
        }
        fn param_names(&self) -> Vec<String> {
            vec!["a".into(), "b".into()]
        }
        fn sample_prior(&self, n: usize, rng: &mut dyn RngCore) -> Vec<Vec<f64>> {
            uniform_box_sample(n, &BOX, rng)
        }
        fn log_prior(&self, theta: &[f64]) -> f64 {
            uniform_box_log_density(theta, &BOX)
        }
        fn in_support(&self, theta: &[f64]) -> bool {
            uniform_box_contains(theta, &BOX)
        }
        fn simulate_one(&self, theta: &[f64], rng: &mut dyn RngCore) -> Vec<f64> {
            let noise: f64 = rng.random();
            match theta[0] {
                t if t < 0.3 => vec![t + noise, f64::NAN],
                t if t > 0.9 => vec![t + noise],
                t => vec![t + noise, theta[1]],
            }
        }
    }

    #[test]
    fn without_failures_equals_simulate_dataset() {
        for sim in [&TwoMoons as &dyn Simulator, &Slcp] {
            let lenient = simulate_dataset_lenient(sim, 200, 9).unwrap();
            let (thetas, xs) = simulate_dataset(sim, 200, 9).unwrap();
            assert!(lenient.failures.is_empty());
            assert_eq!(lenient.thetas, thetas);
            assert_eq!(lenient.xs, xs);
        }
    }

    #[test]
    fn failed_rows_are_dropped_counted_and_named() {
        let data = simulate_dataset_lenient(&Flaky, 300, 4).unwrap();
        let all = prior_draws(&Flaky, 300, 4);
        let nan: Vec<usize> = (0..300).filter(|&i| all[i][0] < 0.3).collect();
        let short: Vec<usize> = (0..300).filter(|&i| all[i][0] > 0.9).collect();
        assert!(!nan.is_empty() && !short.is_empty());
        assert_eq!(data.failures.len(), nan.len() + short.len());
        assert_eq!(data.xs.len() + data.failures.len(), 300);
        for f in &data.failures {
            if nan.contains(&f.row) {
                assert_eq!(f.reason, "non-finite value NaN at index 1");
            } else {
                assert!(short.contains(&f.row), "{f}");
                assert_eq!(f.reason, "produced 1 outputs, expected 2");
            }
        }
        // Kept rows are exactly the good draws, simulated with their row seeds.
        let good: Vec<usize> = (0..300)
            .filter(|i| !nan.contains(i) && !short.contains(i))
            .collect();
        for (k, &i) in good.iter().enumerate() {
            assert_eq!(data.thetas[k], all[i]);
            let mut rng = StdRng::seed_from_u64(row_seed(4, i));
            assert_eq!(data.xs[k], Flaky.simulate_one(&all[i], &mut rng));
        }
        // The strict driver refuses the same run.
        assert!(simulate_batch(&Flaky, &all, 4).is_err());
    }

    #[test]
    fn whole_run_errors() {
        let all_bad = vec![vec![0.1, 0.5]; 3];
        let rows = Flaky.simulate_rows(&all_bad, 0).unwrap();
        assert!(rows.iter().all(|r| r.is_err()));
        let err = Flaky
            .simulate_rows(&[vec![0.5, 0.5], vec![0.5]], 0)
            .unwrap_err();
        assert!(
            matches!(err, SimulationError::ParamDimension { row: 1, got: 1, .. }),
            "{err:?}"
        );
        assert!(simulate_dataset_lenient(&Flaky, 0, 0)
            .unwrap()
            .xs
            .is_empty());

        /// Flaky with a prior inside the NaN region: every row fails.
        struct AlwaysNan;
        impl Simulator for AlwaysNan {
            fn name(&self) -> &str {
                "always_nan"
            }
            fn param_dim(&self) -> usize {
                2
            }
            fn obs_dim(&self) -> usize {
                2
            }
            fn param_names(&self) -> Vec<String> {
                Flaky.param_names()
            }
            fn sample_prior(&self, n: usize, rng: &mut dyn RngCore) -> Vec<Vec<f64>> {
                uniform_box_sample(n, &[(0.0, 0.2), (0.0, 1.0)], rng)
            }
            fn log_prior(&self, theta: &[f64]) -> f64 {
                Flaky.log_prior(theta)
            }
            fn in_support(&self, theta: &[f64]) -> bool {
                Flaky.in_support(theta)
            }
            fn simulate_one(&self, theta: &[f64], rng: &mut dyn RngCore) -> Vec<f64> {
                Flaky.simulate_one(theta, rng)
            }
        }
        let err = simulate_dataset_lenient(&AlwaysNan, 5, 0).unwrap_err();
        assert!(
            matches!(&err, SimulationError::TooManyFailures { failed: 5, total: 5, first, .. }
                if first.row == 0),
            "{err:?}"
        );
        assert!(
            err.to_string()
                .contains("row 0: non-finite value NaN at index 1"),
            "{err}"
        );
    }
}
