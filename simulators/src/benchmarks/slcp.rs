//! The `sbibm` `slcp` task ("simple likelihood, complex posterior",
//! [`Slcp`]).
//!
//! * Prior: `θ ~ U(-3, 3)⁵`.
//! * Simulator: `m = (θ1, θ2)`, `s1 = θ3²`, `s2 = θ4²`, `ρ = tanh(θ5)`,
//!
//!   ```text
//!   S = [[s1²,      ρ s1 s2],
//!        [ρ s1 s2,  s2²    ]]
//!   ```
//!
//!   (so `s1`, `s2` are standard deviations), and four iid draws
//!   `x_j ~ N(m, S)`, `j = 1..4`.
//! * Observation layout: the 8-vector
//!   `(x_1[0], x_1[1], x_2[0], x_2[1], x_3[0], x_3[1], x_4[0], x_4[1])`,
//!   draw by draw, as `sbibm` reshapes its `(4, 2)` sample.

use rand::RngCore;
use rand_distr::{Distribution, StandardNormal};

use crate::simulator::{
    uniform_box_contains, uniform_box_log_density, uniform_box_sample, Simulator,
};

const PRIOR_BOUNDS: [(f64, f64); 5] = [(-3.0, 3.0); 5];
/// Number of iid 2-D draws per simulation.
const NUM_DRAWS: usize = 4;

/// The `sbibm` SLCP benchmark: 5 parameters, 8 observations; see the
/// [module docs](self).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Slcp;

impl Slcp {
    /// The SLCP task.
    pub fn new() -> Self {
        Self
    }
}

impl Simulator for Slcp {
    fn name(&self) -> &str {
        "slcp"
    }

    fn param_dim(&self) -> usize {
        5
    }

    fn obs_dim(&self) -> usize {
        2 * NUM_DRAWS
    }

    fn param_names(&self) -> Vec<String> {
        (1..=5).map(|i| format!("parameter_{i}")).collect()
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
        let (m1, m2) = (theta[0], theta[1]);
        let s1 = theta[2] * theta[2];
        let s2 = theta[3] * theta[3];
        let rho = theta[4].tanh();
        // Cholesky factor of S: [[s1, 0], [ρ s2, s2 √(1-ρ²)]].
        let c = (1.0 - rho * rho).max(0.0).sqrt();
        let mut x = Vec::with_capacity(2 * NUM_DRAWS);
        for _ in 0..NUM_DRAWS {
            let z1: f64 = StandardNormal.sample(&mut *rng);
            let z2: f64 = StandardNormal.sample(&mut *rng);
            x.push(m1 + s1 * z1);
            x.push(m2 + s2 * (rho * z1 + c * z2));
        }
        x
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulator::simulate_batch;

    #[test]
    fn prior_is_normalised() {
        assert!((Slcp.log_prior(&[0.0, 1.0, -2.0, 2.9, -3.0]) + 5.0 * 6f64.ln()).abs() < 1e-12);
        assert_eq!(
            Slcp.log_prior(&[0.0, 1.0, -2.0, 3.1, 0.0]),
            f64::NEG_INFINITY
        );
    }

    #[test]
    fn draws_have_the_sbibm_moments() {
        let theta = vec![0.7, -1.2, 1.1, -0.8, 0.6];
        let xs = simulate_batch(&Slcp, &vec![theta.clone(); 50_000], 4).unwrap();
        let (s1, s2, rho) = (1.1f64.powi(2), 0.8f64.powi(2), 0.6f64.tanh());
        // Pool the 4 draws of each row; every draw has the same distribution.
        let pts: Vec<[f64; 2]> = xs
            .iter()
            .flat_map(|x| x.chunks(2).map(|c| [c[0], c[1]]).collect::<Vec<_>>())
            .collect();
        let n = pts.len() as f64;
        let mean = [
            pts.iter().map(|p| p[0]).sum::<f64>() / n,
            pts.iter().map(|p| p[1]).sum::<f64>() / n,
        ];
        let cov = |a: usize, b: usize| {
            pts.iter()
                .map(|p| (p[a] - mean[a]) * (p[b] - mean[b]))
                .sum::<f64>()
                / n
        };
        assert!(
            (mean[0] - 0.7).abs() < 0.02 && (mean[1] + 1.2).abs() < 0.02,
            "{mean:?}"
        );
        assert!((cov(0, 0) / (s1 * s1) - 1.0).abs() < 0.02, "{}", cov(0, 0));
        assert!((cov(1, 1) / (s2 * s2) - 1.0).abs() < 0.02, "{}", cov(1, 1));
        assert!(
            (cov(0, 1) / (rho * s1 * s2) - 1.0).abs() < 0.03,
            "{}",
            cov(0, 1)
        );
        // The 4 draws within a row are independent.
        let c02 = xs
            .iter()
            .map(|x| (x[0] - mean[0]) * (x[2] - mean[0]))
            .sum::<f64>()
            / xs.len() as f64;
        assert!(c02.abs() / (s1 * s1) < 0.03, "{c02}");
    }
}
