//! Tests of the VEGAS driver (the grid's own tests are in `grid.rs`).

use super::*;
use crate::integrands::{Camel, Gaussian, Polynomial};

/// `f = 1` except NaN / −1 at points with `x₀` in a small slab.
struct Faulty {
    negative: bool,
}

impl Integrand for Faulty {
    fn name(&self) -> &str {
        "faulty"
    }
    fn dim(&self) -> usize {
        2
    }
    fn evaluate(&self, points: &[f64], out: &mut [f64]) -> Result<(), IntegrandError> {
        for (row, o) in points.chunks_exact(2).zip(out.iter_mut()) {
            *o = if row[0] < 0.01 {
                if self.negative {
                    -1.0
                } else {
                    f64::NAN
                }
            } else {
                1.0
            };
        }
        Ok(())
    }
}

fn config(iterations: usize, points: usize, seed: u64) -> VegasConfig {
    VegasConfig {
        iterations,
        points_per_iteration: points,
        seed,
        ..VegasConfig::default()
    }
}

fn assert_within_3_sigma(r: &VegasResult, exact: f64) {
    assert!(
        (r.integral - exact).abs() < 3.0 * r.std_error,
        "{} ± {} vs exact {exact}",
        r.integral,
        r.std_error
    );
}

#[test]
fn polynomial_dim4_within_3_sigma() {
    let f = Polynomial::new(4).unwrap();
    let r = vegas(&f, &config(8, 10_000, 1)).unwrap();
    assert_within_3_sigma(&r, f.exact().unwrap());
    assert!(r.std_error < 1e-3);
    assert_eq!(r.n_evaluations, 80_000);
    assert_eq!(r.iterations.len(), 8);
    assert!(r.chi2_per_dof.unwrap() < 5.0);
}

#[test]
fn gaussian_dim4_within_3_sigma() {
    let f = Gaussian::new(4, 0.2).unwrap();
    let r = vegas(&f, &config(10, 20_000, 2)).unwrap();
    assert_within_3_sigma(&r, f.exact().unwrap());
    assert!(r.std_error < 0.01 * f.exact().unwrap(), "{r:?}");
}

#[test]
fn adaptation_reduces_the_variance_on_camel() {
    let f = Camel::new(4, 0.2).unwrap();
    let r = vegas(&f, &config(10, 20_000, 3)).unwrap();
    let first = r.iterations[0].std_error;
    let last = r.iterations.last().unwrap().std_error;
    // the variance of the last iteration is less than half that of the first
    assert!(
        last * last < 0.5 * first * first,
        "first {first}, last {last}"
    );
    assert_within_3_sigma(&r, f.exact().unwrap());
}

#[test]
fn deterministic_for_a_seed_and_independent_of_threads() {
    let f = Camel::new(3, 0.2).unwrap();
    let cfg = VegasConfig {
        chunk_size: 1000,
        ..config(4, 5_000, 9)
    };
    let run = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| vegas(&f, &cfg).unwrap())
    };
    let a = run(1);
    let b = run(3);
    assert_eq!(a, b);
    let c = vegas(
        &f,
        &VegasConfig {
            seed: 10,
            ..cfg.clone()
        },
    )
    .unwrap();
    assert_ne!(a.integral, c.integral);
}

#[test]
fn warm_start_from_an_adapted_grid() {
    let f = Gaussian::new(2, 0.1).unwrap();
    let first = vegas(&f, &config(5, 5_000, 4)).unwrap();
    let cold = vegas(&f, &config(1, 5_000, 5)).unwrap();
    let warm = vegas_with_grid(&f, first.grid.clone(), &config(1, 5_000, 5)).unwrap();
    assert!(warm.std_error < 0.5 * cold.std_error);
    let wrong_dim = VegasGrid::uniform(3, 8).unwrap();
    assert!(vegas_with_grid(&f, wrong_dim, &config(1, 100, 0)).is_err());
}

#[test]
fn invalid_values_are_errors_or_counted() {
    for negative in [false, true] {
        let f = Faulty { negative };
        let err = vegas(&f, &config(2, 2_000, 0)).unwrap_err();
        match &err {
            VegasError::InvalidValues {
                non_finite,
                negative: neg,
                point,
                ..
            } => {
                assert!(non_finite + neg > 0);
                assert_eq!(*neg > 0, negative);
                assert!(point[0] < 0.01);
            }
            other => panic!("unexpected error {other}"),
        }
        assert!(err.to_string().contains("allow_invalid"));
        let cfg = VegasConfig {
            allow_invalid: true,
            alpha: 0.0,
            ..config(2, 2_000, 0)
        };
        let r = vegas(&f, &cfg).unwrap();
        let invalid = r.non_finite + r.negative;
        assert!(invalid > 0 && invalid < 100, "{invalid}");
        assert_eq!(
            invalid,
            r.iterations
                .iter()
                .map(|i| i.non_finite + i.negative)
                .sum::<usize>()
        );
        assert!(r.integral.is_finite());
        assert!((r.integral - 0.99).abs() < 0.01);
    }
}

#[test]
fn constant_integrand_has_zero_error() {
    struct One;
    impl Integrand for One {
        fn name(&self) -> &str {
            "one"
        }
        fn dim(&self) -> usize {
            3
        }
        fn evaluate(&self, _: &[f64], out: &mut [f64]) -> Result<(), IntegrandError> {
            out.fill(1.0);
            Ok(())
        }
    }
    let r = vegas(&One, &config(3, 500, 0)).unwrap();
    assert!((r.integral - 1.0).abs() < 1e-12);
    assert_eq!(r.std_error, 0.0);
    assert_eq!(r.chi2_per_dof, None);
}

#[test]
fn bad_settings_are_errors() {
    let f = Polynomial::new(2).unwrap();
    let bad = [
        VegasConfig {
            bins: 0,
            ..VegasConfig::default()
        },
        VegasConfig {
            alpha: f64::NAN,
            ..VegasConfig::default()
        },
        VegasConfig {
            iterations: 0,
            ..VegasConfig::default()
        },
        VegasConfig {
            points_per_iteration: 1,
            ..VegasConfig::default()
        },
        VegasConfig {
            chunk_size: 0,
            ..VegasConfig::default()
        },
        VegasConfig {
            skip_iterations: 10,
            ..VegasConfig::default()
        },
    ];
    for cfg in bad {
        assert!(
            matches!(vegas(&f, &cfg), Err(VegasError::InvalidSetting(_))),
            "{cfg:?}"
        );
    }
}

#[test]
fn skipped_iterations_are_left_out_of_the_combination() {
    let f = Gaussian::new(2, 0.2).unwrap();
    let all = vegas(&f, &config(4, 2_000, 6)).unwrap();
    let skip = vegas(
        &f,
        &VegasConfig {
            skip_iterations: 3,
            ..config(4, 2_000, 6)
        },
    )
    .unwrap();
    assert_eq!(all.iterations, skip.iterations);
    assert_eq!(skip.integral, skip.iterations[3].integral);
    assert_eq!(skip.std_error, skip.iterations[3].std_error);
    assert_eq!(skip.chi2_per_dof, None);
}
