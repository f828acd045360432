//! The `sbibm` `two_moons` task ([`TwoMoons`]).
//!
//! * Prior: `θ ~ U(-1, 1)²`.
//! * Simulator: `a ~ U(-π/2, π/2)`, `r ~ N(0.1, 0.01²)` (standard deviation
//!   `0.01`), `p = (r cos a + 0.25, r sin a)` and
//!
//!   ```text
//!   x = p + ( -|θ1 + θ2| / √2 , (-θ1 + θ2) / √2 )
//!   ```
//!
//! The absolute value makes the posterior bimodal (two crescents).

use std::f64::consts::{FRAC_1_SQRT_2, FRAC_PI_2};

use rand::{Rng, RngCore};
use rand_distr::{Distribution, Normal};

use crate::simulator::{
    uniform_box_contains, uniform_box_log_density, uniform_box_sample, Simulator,
};

const PRIOR_BOUNDS: [(f64, f64); 2] = [(-1.0, 1.0), (-1.0, 1.0)];

/// The `sbibm` two-moons benchmark: 2 parameters, 2 observations; see the
/// [module docs](self).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TwoMoons;

impl TwoMoons {
    /// The two-moons task.
    pub fn new() -> Self {
        Self
    }
}

impl Simulator for TwoMoons {
    fn name(&self) -> &str {
        "two_moons"
    }

    fn param_dim(&self) -> usize {
        2
    }

    fn obs_dim(&self) -> usize {
        2
    }

    fn param_names(&self) -> Vec<String> {
        vec!["parameter_1".into(), "parameter_2".into()]
    }

    fn sample_prior(&self, n: usize, rng: &mut dyn RngCore) -> Vec<Vec<f64>> {
        uniform_box_sample(n, &PRIOR_BOUNDS, rng)
    }

    fn log_prior(&self, theta: &[f64]) -> f64 {
        uniform_box_log_density(theta, &PRIOR_BOUNDS)
    }

    fn in_support(&self, theta: &[f64]) -> bool {
        uniform_box_contains(theta, &PRIOR_BOUNDS)
    }

    fn simulate_one(&self, theta: &[f64], rng: &mut dyn RngCore) -> Vec<f64> {
        let a = rng.random_range(-FRAC_PI_2..FRAC_PI_2);
        let r = Normal::new(0.1, 0.01).expect("valid normal").sample(rng);
        let p = [r * a.cos() + 0.25, r * a.sin()];
        let (t1, t2) = (theta[0], theta[1]);
        vec![
            p[0] - ((t1 + t2) * FRAC_1_SQRT_2).abs(),
            p[1] + (-t1 + t2) * FRAC_1_SQRT_2,
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::benchmarks::test_data::true_parameters_and_observation;
    use crate::simulator::simulate_batch;

    #[test]
    fn prior_is_normalised() {
        assert!((TwoMoons.log_prior(&[0.3, -0.9]) + 4f64.ln()).abs() < 1e-15);
        assert_eq!(TwoMoons.log_prior(&[1.3, 0.0]), f64::NEG_INFINITY);
    }

    #[test]
    fn theta_zero_gives_a_half_circle() {
        // At θ = 0 the simulated points lie on a half circle of radius ≈ 0.1
        // centred at (0.25, 0) with x ≥ 0.25.
        let xs = simulate_batch(&TwoMoons, &vec![vec![0.0, 0.0]; 2000], 1).unwrap();
        for x in &xs {
            let d = ((x[0] - 0.25).powi(2) + x[1].powi(2)).sqrt();
            assert!((d - 0.1).abs() < 0.06, "{x:?}");
            assert!(x[0] >= 0.25 - 1e-12, "{x:?}");
        }
        let mean_r = xs
            .iter()
            .map(|x| ((x[0] - 0.25).powi(2) + x[1].powi(2)).sqrt())
            .sum::<f64>()
            / xs.len() as f64;
        assert!((mean_r - 0.1).abs() < 0.002, "{mean_r}");
    }

    #[test]
    fn sbibm_observations_are_plausible_under_true_parameters() {
        let mut checked = 0;
        for k in 1..=10 {
            let Some((theta, x_obs)) = true_parameters_and_observation("two_moons", k) else {
                continue;
            };
            let xs = simulate_batch(&TwoMoons, &vec![theta.clone(); 20_000], k as u64).unwrap();
            // The stored observation lies on the simulated crescent: a
            // simulated point is within 0.02 of it ...
            let nearest = xs
                .iter()
                .map(|x| ((x[0] - x_obs[0]).powi(2) + (x[1] - x_obs[1]).powi(2)).sqrt())
                .fold(f64::INFINITY, f64::min);
            assert!(nearest < 0.02, "obs {k}: nearest simulated point {nearest}");
            // ... and within 4 standard deviations of the simulated mean.
            for j in 0..2 {
                let n = xs.len() as f64;
                let mean = xs.iter().map(|x| x[j]).sum::<f64>() / n;
                let sd = (xs.iter().map(|x| (x[j] - mean).powi(2)).sum::<f64>() / n).sqrt();
                assert!(
                    (x_obs[j] - mean).abs() < 4.0 * sd,
                    "obs {k} dim {j}: {} vs mean {mean} sd {sd}",
                    x_obs[j]
                );
            }
            checked += 1;
        }
        eprintln!("two_moons: checked {checked} sbibm observations");
    }
}
