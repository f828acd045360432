//! Degenerate SIR model ([`DegenerateSir`]): the infection rate `λ` of
//! [`Sir`](crate::sir::Sir) replaced by the product `λ1·λ2`.
//!
//! Only the product `λ1·λ2` enters the dynamics, so `(λ1, λ2)` and
//! `(c·λ1, λ2/c)` give the same observation: the posterior over `(λ1, λ2)`
//! concentrates on a hyperbola-shaped ridge — a deliberately
//! non-identifiable test case.
//!
//! # Parameters and prior
//!
//! `θ = (λ1, λ2, μ, I0)`, independent uniforms:
//!
//! | parameter | prior            |
//! |-----------|------------------|
//! | `λ1`      | `U(0.1, 1.2)`    |
//! | `λ2`      | `U(0.1, 1.2)`    |
//! | `μ`       | `U(0.01, 0.5)`   |
//! | `I0`      | `U(0.001, 0.1)`  |
//!
//! so `λ = λ1·λ2 ∈ [0.01, 1.44]`, inside the seed model's `λ` range
//! (which keeps every Euler step in `[0, 1]`).
//!
//! Dynamics, integration and observation layout (`dS/dt` then `dR/dt` at
//! `t = 0.1·k`, `k = 0, …, 999`) are exactly those of
//! [`crate::sir`], evaluated at `λ = λ1·λ2`.

use crate::simulator::SimulationError;
use rand::RngCore;

use crate::simulator::{
    uniform_box_contains, uniform_box_log_density, uniform_box_sample, Simulator,
};
use crate::sir::{add_noise, check_noise_std, integrate_sir, SIR_OBS_DIM};

/// Prior box of [`DegenerateSir`]: `λ1`, `λ2`, `μ`, `I0`.
pub const DEGENERATE_SIR_PRIOR_BOUNDS: [(f64, f64); 4] =
    [(0.1, 1.2), (0.1, 1.2), (0.01, 0.5), (0.001, 0.1)];

/// SIR with infection rate `λ1·λ2`, `θ = (λ1, λ2, μ, I0)`; see the
/// [module docs](self).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct DegenerateSir {
    noise_std: Option<f64>,
}

impl DegenerateSir {
    /// Noise-free degenerate SIR simulator.
    pub fn new() -> Self {
        Self { noise_std: None }
    }

    /// Degenerate SIR simulator adding independent `N(0, sigma²)` noise to
    /// every observation entry.
    ///
    /// Errors if `sigma` is negative or not finite.
    pub fn with_noise(sigma: f64) -> Result<Self, SimulationError> {
        check_noise_std("sir_degenerate", sigma)?;
        Ok(Self {
            noise_std: Some(sigma),
        })
    }

    /// The observation-noise standard deviation, `None` when noise-free.
    pub fn noise_std(&self) -> Option<f64> {
        self.noise_std
    }
}

impl Simulator for DegenerateSir {
    fn name(&self) -> &str {
        "sir_degenerate"
    }

    fn param_dim(&self) -> usize {
        4
    }

    fn obs_dim(&self) -> usize {
        SIR_OBS_DIM
    }

    fn param_names(&self) -> Vec<String> {
        vec!["lambda1".into(), "lambda2".into(), "mu".into(), "i0".into()]
    }

    fn sample_prior(&self, n: usize, rng: &mut dyn RngCore) -> Vec<Vec<f64>> {
        uniform_box_sample(n, &DEGENERATE_SIR_PRIOR_BOUNDS, rng)
    }

    fn log_prior(&self, theta: &[f64]) -> f64 {
        uniform_box_log_density(theta, &DEGENERATE_SIR_PRIOR_BOUNDS)
    }

    fn in_support(&self, theta: &[f64]) -> bool {
        uniform_box_contains(theta, &DEGENERATE_SIR_PRIOR_BOUNDS)
    }

    fn simulate_one(&self, theta: &[f64], rng: &mut dyn RngCore) -> Vec<f64> {
        let mut x = integrate_sir(theta[0] * theta[1], theta[2], theta[3]).observation();
        add_noise(&mut x, self.noise_std, rng);
        x
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulator::simulate_batch;
    use crate::sir::Sir;

    #[test]
    fn only_the_product_is_identifiable() {
        let sim = DegenerateSir::new();
        let base = vec![0.6, 0.9, 0.2, 0.02];
        // c a power of two: the product is bit-identical.
        let scaled = vec![0.6 * 2.0, 0.9 / 2.0, 0.2, 0.02];
        let xs = simulate_batch(&sim, &[base.clone(), scaled], 3).unwrap();
        assert_eq!(xs[0], xs[1]);
        // General c: identical up to the rounding of the product.
        let c = 1.37;
        let other = vec![0.6 * c, 0.9 / c, 0.2, 0.02];
        let y = simulate_batch(&sim, &[other], 3).unwrap();
        for (a, b) in xs[0].iter().zip(&y[0]) {
            assert!((a - b).abs() <= 1e-12 * (1.0 + a.abs()), "{a} vs {b}");
        }
        // And it equals the seed SIR at λ = λ1·λ2.
        let seed = simulate_batch(&Sir::new(), &[vec![0.6 * 0.9, 0.2, 0.02]], 0).unwrap();
        assert_eq!(seed[0], xs[0]);
    }

    #[test]
    fn prior_is_normalised_uniform_box() {
        let sim = DegenerateSir::new();
        let vol: f64 = DEGENERATE_SIR_PRIOR_BOUNDS
            .iter()
            .map(|(a, b)| b - a)
            .product();
        assert!((sim.log_prior(&[0.5, 0.5, 0.2, 0.05]) + vol.ln()).abs() < 1e-12);
        assert_eq!(sim.log_prior(&[0.05, 0.5, 0.2, 0.05]), f64::NEG_INFINITY);
        assert_eq!(sim.param_names().len(), sim.param_dim());
    }
}
