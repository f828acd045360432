//! The `sbibm` `gaussian_linear` task ([`GaussianLinear`]).
//!
//! * Prior: `θ ~ N(0, 0.1·I)` in 10 dimensions.
//! * Simulator: `x ~ N(θ, 0.1·I)`.
//!
//! `0.1` is the *covariance* (variance per coordinate), not the standard
//! deviation: the per-coordinate standard deviation is `√0.1 ≈ 0.316`. The
//! posterior is Gaussian, `θ | x ~ N(x/2, 0.05·I)`.

use rand::RngCore;
use rand_distr::{Distribution, StandardNormal};

use crate::simulator::Simulator;

/// Dimension of parameters and observations.
const DIM: usize = 10;
/// Prior variance per coordinate.
const PRIOR_VAR: f64 = 0.1;
/// Simulator noise variance per coordinate.
const NOISE_VAR: f64 = 0.1;

/// The `sbibm` Gaussian-linear benchmark: 10 parameters, 10 observations;
/// see the [module docs](self).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GaussianLinear;

impl GaussianLinear {
    /// The Gaussian-linear task.
    pub fn new() -> Self {
        Self
    }
}

impl Simulator for GaussianLinear {
    fn name(&self) -> &str {
        "gaussian_linear"
    }

    fn param_dim(&self) -> usize {
        DIM
    }

    fn obs_dim(&self) -> usize {
        DIM
    }

    fn param_names(&self) -> Vec<String> {
        (1..=DIM).map(|i| format!("parameter_{i}")).collect()
    }

    fn sample_prior(&self, n: usize, rng: &mut dyn RngCore) -> Vec<Vec<f64>> {
        let sd = PRIOR_VAR.sqrt();
        (0..n)
            .map(|_| {
                (0..DIM)
                    .map(|_| sd * Distribution::<f64>::sample(&StandardNormal, &mut *rng))
                    .collect()
            })
            .collect()
    }

    fn log_prior(&self, theta: &[f64]) -> f64 {
        if !self.in_support(theta) {
            return f64::NEG_INFINITY;
        }
        let sq: f64 = theta.iter().map(|t| t * t).sum();
        -0.5 * DIM as f64 * (2.0 * std::f64::consts::PI * PRIOR_VAR).ln() - 0.5 * sq / PRIOR_VAR
    }

    fn in_support(&self, theta: &[f64]) -> bool {
        theta.len() == DIM && theta.iter().all(|t| t.is_finite())
    }

    fn simulate_one(&self, theta: &[f64], rng: &mut dyn RngCore) -> Vec<f64> {
        let sd = NOISE_VAR.sqrt();
        theta
            .iter()
            .map(|t| {
                let z: f64 = StandardNormal.sample(&mut *rng);
                t + sd * z
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::benchmarks::test_data::{
        observation_dir, read_csv, true_parameters_and_observation,
    };
    use crate::simulator::simulate_dataset;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    #[test]
    fn log_prior_is_normalised() {
        // Importance sampling with proposal q = N(0, 0.2·I): E_q[p/q] = 1.
        let q_var: f64 = 0.2;
        let mut rng = StdRng::seed_from_u64(3);
        let n = 200_000;
        let mut acc = 0.0;
        for _ in 0..n {
            let th: Vec<f64> = (0..DIM)
                .map(|_| q_var.sqrt() * Distribution::<f64>::sample(&StandardNormal, &mut rng))
                .collect();
            let sq: f64 = th.iter().map(|t| t * t).sum();
            let log_q =
                -0.5 * DIM as f64 * (2.0 * std::f64::consts::PI * q_var).ln() - 0.5 * sq / q_var;
            acc += (GaussianLinear.log_prior(&th) - log_q).exp();
        }
        let z = acc / n as f64;
        assert!((z - 1.0).abs() < 0.03, "normaliser {z}");
        let at_zero = GaussianLinear.log_prior(&[0.0; DIM]);
        assert!((at_zero + 5.0 * (0.2 * std::f64::consts::PI).ln()).abs() < 1e-12);
        assert_eq!(GaussianLinear.log_prior(&[0.0; 3]), f64::NEG_INFINITY);
    }

    #[test]
    fn prior_and_noise_have_variance_point_one() {
        let (thetas, xs) = simulate_dataset(&GaussianLinear, 20_000, 9).unwrap();
        let n = (thetas.len() * DIM) as f64;
        let prior_var = thetas.iter().flatten().map(|t| t * t).sum::<f64>() / n;
        let noise_var = thetas
            .iter()
            .zip(&xs)
            .flat_map(|(t, x)| t.iter().zip(x).map(|(a, b)| (b - a).powi(2)))
            .sum::<f64>()
            / n;
        assert!((prior_var - 0.1).abs() < 0.003, "{prior_var}");
        assert!((noise_var - 0.1).abs() < 0.003, "{noise_var}");
    }

    #[test]
    fn sbibm_residuals_have_variance_point_one() {
        let mut resid = Vec::new();
        for k in 1..=10 {
            if let Some((theta, x)) = true_parameters_and_observation("gaussian_linear", k) {
                assert_eq!((theta.len(), x.len()), (DIM, DIM));
                resid.extend(theta.iter().zip(&x).map(|(t, x)| x - t));
            }
        }
        if resid.is_empty() {
            return;
        }
        let n = resid.len() as f64;
        let mean = resid.iter().sum::<f64>() / n;
        let var = resid.iter().map(|r| r * r).sum::<f64>() / n;
        eprintln!("gaussian_linear: {n} residuals, mean {mean:.4}, variance {var:.4}");
        // 100 residuals: the variance estimate has sd ≈ 0.1·√(2/100) ≈ 0.014,
        // far from the 0.01 a "std 0.1" reading would give.
        if resid.len() >= 50 {
            assert!((0.055..0.15).contains(&var), "variance {var}");
            assert!(mean.abs() < 4.0 * (0.1 / n).sqrt(), "mean {mean}");
        }
    }

    #[test]
    fn sbibm_reference_posterior_matches_analytic() {
        let Some(dir) = observation_dir("gaussian_linear", 1) else {
            return;
        };
        let x = read_csv(&dir.join("observation.csv")).remove(0);
        let samples = read_csv(&dir.join("reference_posterior_samples.csv"));
        let n = samples.len() as f64;
        for j in 0..DIM {
            let mean = samples.iter().map(|s| s[j]).sum::<f64>() / n;
            let var = samples.iter().map(|s| (s[j] - mean).powi(2)).sum::<f64>() / n;
            // Posterior N(x/2, 0.05).
            assert!(
                (mean - x[j] / 2.0).abs() < 5.0 * (0.05 / n).sqrt() + 1e-6,
                "dim {j}: {mean}"
            );
            assert!((var - 0.05).abs() < 0.005, "dim {j}: var {var}");
        }
    }
}
