//! The `sbibm` `lotka_volterra` task ([`LotkaVolterra`]): predator–prey
//! dynamics observed with multiplicative log-normal noise.
//!
//! * Parameters `θ = (α, β, γ, δ)` with independent log-normal priors
//!   `α, γ ~ LogNormal(−0.125, 0.5)` and `β, δ ~ LogNormal(−3, 0.5)`
//!   (location and scale of the underlying normal).
//! * Dynamics: `x(0) = 30` (prey), `y(0) = 1` (predators),
//!
//!   ```text
//!   dx/dt =  α x − β x y
//!   dy/dt = −γ y + δ x y
//!   ```
//!
//!   integrated over `[0, 20]` with Dormand–Prince 5(4)
//!   (`ode_solvers::Dopri5`, relative tolerance `1e-10`, absolute `1e-10`).
//! * Summary times: `sbibm` saves every `0.1` (201 states, `t = 0, 0.1, …,
//!   20`) and keeps every 21st (`u[:, ::21]`), i.e. the 10 times
//!   [`LV_OBSERVATION_TIMES`] `= 0, 2.1, 4.2, …, 18.9`.
//! * Observation: each state clamped to `[1e-10, 1e4]`, then
//!   `LogNormal(ln state, 0.1)`. Layout (20 values, species-major as `sbibm`
//!   reshapes its `(2, 10)` array): `x[0..10]` = prey at the 10 times,
//!   `x[10..20]` = predators at the 10 times.
//!
//! If the ODE solver fails the row is all `NaN` (as in `sbibm`).

use rand::RngCore;
use rand_distr::{Distribution, StandardNormal};

use super::ode::{
    in_log_normal_support, log_normal_prior_density, sample_log_normal_prior, solve_at_times,
};
use crate::simulator::Simulator;

/// The 10 summary times `0, 2.1, 4.2, …, 18.9`.
pub const LV_OBSERVATION_TIMES: [f64; 10] = [0.0, 2.1, 4.2, 6.3, 8.4, 10.5, 12.6, 14.7, 16.8, 18.9];
/// Initial state `(prey, predators)`.
pub const LV_INITIAL_STATE: [f64; 2] = [30.0, 1.0];
/// Standard deviation of the log-normal observation noise.
pub const LV_NOISE_SD: f64 = 0.1;

const PRIOR: [(f64, f64); 4] = [(-0.125, 0.5), (-3.0, 0.5), (-0.125, 0.5), (-3.0, 0.5)];
const RTOL: f64 = 1e-10;
const ATOL: f64 = 1e-10;

/// Solves the Lotka–Volterra ODE for `θ = (α, β, γ, δ)` and returns
/// `[prey, predators]` at [`LV_OBSERVATION_TIMES`], or `None` if the solver
/// fails.
pub fn lotka_volterra_states(theta: &[f64]) -> Option<Vec<[f64; 2]>> {
    let (a, b, g, d) = (theta[0], theta[1], theta[2], theta[3]);
    let rhs = |_t: f64, u: &[f64; 2], du: &mut [f64; 2]| {
        du[0] = a * u[0] - b * u[0] * u[1];
        du[1] = -g * u[1] + d * u[0] * u[1];
    };
    solve_at_times(&rhs, LV_INITIAL_STATE, &LV_OBSERVATION_TIMES, RTOL, ATOL)
}

/// The `sbibm` Lotka–Volterra benchmark: 4 parameters, 20 observations; see
/// the [module docs](self).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LotkaVolterra;

impl LotkaVolterra {
    /// The Lotka–Volterra task.
    pub fn new() -> Self {
        Self
    }
}

impl Simulator for LotkaVolterra {
    fn name(&self) -> &str {
        "lotka_volterra"
    }

    fn param_dim(&self) -> usize {
        4
    }

    fn obs_dim(&self) -> usize {
        2 * LV_OBSERVATION_TIMES.len()
    }

    fn param_names(&self) -> Vec<String> {
        ["alpha", "beta", "gamma", "delta"]
            .map(String::from)
            .to_vec()
    }

    fn sample_prior(&self, n: usize, rng: &mut dyn RngCore) -> Vec<Vec<f64>> {
        sample_log_normal_prior(&PRIOR, n, rng)
    }

    fn log_prior(&self, theta: &[f64]) -> f64 {
        log_normal_prior_density(&PRIOR, theta)
    }

    fn in_support(&self, theta: &[f64]) -> bool {
        in_log_normal_support(&PRIOR, theta)
    }

    fn simulate_one(&self, theta: &[f64], rng: &mut dyn RngCore) -> Vec<f64> {
        let Some(states) = lotka_volterra_states(theta) else {
            return vec![f64::NAN; self.obs_dim()];
        };
        (0..2)
            .flat_map(|species| states.iter().map(move |s| s[species]))
            .map(|v| {
                let z: f64 = StandardNormal.sample(&mut *rng);
                (v.clamp(1e-10, 1e4).ln() + LV_NOISE_SD * z).exp()
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulator::{simulate_batch, simulate_dataset};

    #[test]
    fn conserved_quantity_is_preserved() {
        // V = δx − γ ln x + βy − α ln y is constant along solutions.
        let theta = [0.9, 0.05, 0.8, 0.04];
        let v = |s: &[f64; 2]| {
            theta[3] * s[0] - theta[2] * s[0].ln() + theta[1] * s[1] - theta[0] * s[1].ln()
        };
        let states = lotka_volterra_states(&theta).unwrap();
        assert_eq!(states[0], LV_INITIAL_STATE);
        let v0 = v(&states[0]);
        for s in &states {
            assert!(((v(s) - v0) / v0).abs() < 1e-6, "{s:?}");
        }
    }

    #[test]
    fn noise_is_log_normal_around_the_ode() {
        let theta = vec![0.9, 0.05, 0.8, 0.04];
        let states = lotka_volterra_states(&theta).unwrap();
        let xs = simulate_batch(&LotkaVolterra, &vec![theta; 4000], 3).unwrap();
        for j in 0..20 {
            let target = states[j % 10][j / 10].ln();
            let logs: Vec<f64> = xs.iter().map(|x| x[j].ln()).collect();
            let m = logs.iter().sum::<f64>() / logs.len() as f64;
            let sd = (logs.iter().map(|l| (l - m).powi(2)).sum::<f64>() / logs.len() as f64).sqrt();
            assert!((m - target).abs() < 5.0 * 0.1 / 4000f64.sqrt(), "entry {j}");
            assert!((sd / 0.1 - 1.0).abs() < 0.06, "entry {j}: sd {sd}");
        }
    }

    #[test]
    fn batch_is_deterministic_per_seed() {
        let (thetas, xs) = simulate_dataset(&LotkaVolterra, 32, 2).unwrap();
        assert_eq!(xs, simulate_batch(&LotkaVolterra, &thetas, 2).unwrap());
        assert_ne!(xs, simulate_batch(&LotkaVolterra, &thetas, 3).unwrap());
        assert!(xs.iter().all(|x| x.len() == 20));
    }

    #[test]
    fn prior_density_at_medians() {
        let t = [
            (-0.125f64).exp(),
            (-3f64).exp(),
            (-0.125f64).exp(),
            (-3f64).exp(),
        ];
        let expect: f64 = t.iter().map(|x| -x.ln()).sum::<f64>()
            - 4.0 * (0.5f64.ln() + 0.5 * (2.0 * std::f64::consts::PI).ln());
        assert!((LotkaVolterra.log_prior(&t) - expect).abs() < 1e-12);
        assert_eq!(LotkaVolterra.log_prior(&[1.0, 0.1, 1.0]), f64::NEG_INFINITY);
    }
}
