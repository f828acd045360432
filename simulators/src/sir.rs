//! Deterministic SIR epidemic model integrated with forward Euler
//! ([`Sir`]), the seed model of the simulator layer.
//!
//! # Model
//!
//! Fractions of a population, `S + I + R = 1`:
//!
//! ```text
//! dS/dt = -λ S I
//! dI/dt =  λ S I - μ I
//! dR/dt =  μ I
//! ```
//!
//! with `S(0) = 1 - I0`, `I(0) = I0`, `R(0) = 0`. The system is integrated by
//! forward Euler with step [`SIR_STEP`]` = 0.1` over [`SIR_DAYS`]` = 100` days,
//! i.e. [`SIR_STEPS`]` = 1000` steps. Because the three increments of each step
//! sum to zero, `S + I + R = 1` is preserved up to rounding.
//!
//! # Parameters and prior
//!
//! `θ = (λ, μ, I0)`, independent uniforms:
//!
//! | parameter | prior            |
//! |-----------|------------------|
//! | `λ`       | `U(0.01, 1.5)`   |
//! | `μ`       | `U(0.01, 0.5)`   |
//! | `I0`      | `U(0.001, 0.1)`  |
//!
//! On this box `h λ I ≤ 0.15 < 1` and `h μ ≤ 0.05 < 1`, so every Euler step
//! keeps `S, I, R` in `[0, 1]`.
//!
//! # Observation layout
//!
//! `x` has [`SIR_OBS_DIM`]` = 2000` entries; with `t_k = 0.1·k`:
//!
//! * `x[k]        = dS/dt (t_k)` for `k = 0, …, 999`,
//! * `x[1000 + k] = dR/dt (t_k)` for `k = 0, …, 999`,
//!
//! the derivatives evaluated at the Euler state at `t_k`, i.e. the rates that
//! drive step `k` (from `t_k` to `t_{k+1}`). The last state, at `t = 100`,
//! has no derivative entry.
//!
//! # Noise
//!
//! By default the observation is the exact (deterministic) Euler output. With
//! [`Sir::with_noise`] every entry gets independent `N(0, σ²)` noise added.

use crate::simulator::SimulationError;
use rand::RngCore;
use rand_distr::{Distribution, Normal};

use crate::simulator::{
    uniform_box_contains, uniform_box_log_density, uniform_box_sample, Simulator,
};

/// Forward-Euler step size (days).
pub const SIR_STEP: f64 = 0.1;
/// Simulated time span (days).
pub const SIR_DAYS: f64 = 100.0;
/// Number of Euler steps (`SIR_DAYS / SIR_STEP`).
pub const SIR_STEPS: usize = 1000;
/// Observation dimension: `dS/dt` and `dR/dt` at each of the [`SIR_STEPS`] steps.
pub const SIR_OBS_DIM: usize = 2 * SIR_STEPS;

/// Prior box of [`Sir`]: `λ`, `μ`, `I0`.
pub const SIR_PRIOR_BOUNDS: [(f64, f64); 3] = [(0.01, 1.5), (0.01, 0.5), (0.001, 0.1)];

/// Full forward-Euler trajectory of the SIR system.
#[derive(Debug, Clone, PartialEq)]
pub struct SirTrajectory {
    /// Times `t_k = 0.1·k`, `k = 0, …, SIR_STEPS` (`SIR_STEPS + 1` entries).
    pub t: Vec<f64>,
    /// Susceptible fraction at each time (`SIR_STEPS + 1` entries).
    pub s: Vec<f64>,
    /// Infected fraction at each time (`SIR_STEPS + 1` entries).
    pub i: Vec<f64>,
    /// Removed fraction at each time (`SIR_STEPS + 1` entries).
    pub r: Vec<f64>,
    /// `dS/dt` at `t_k`, `k = 0, …, SIR_STEPS - 1`.
    pub ds_dt: Vec<f64>,
    /// `dR/dt` at `t_k`, `k = 0, …, SIR_STEPS - 1`.
    pub dr_dt: Vec<f64>,
}

impl SirTrajectory {
    /// The observation row in the layout documented in the [module docs](self):
    /// all `dS/dt` values, then all `dR/dt` values.
    pub fn observation(&self) -> Vec<f64> {
        let mut x = Vec::with_capacity(SIR_OBS_DIM);
        x.extend_from_slice(&self.ds_dt);
        x.extend_from_slice(&self.dr_dt);
        x
    }
}

/// Integrates the SIR system with forward Euler (step [`SIR_STEP`],
/// [`SIR_STEPS`] steps) from `S = 1 - i0`, `I = i0`, `R = 0`.
pub fn integrate_sir(lambda: f64, mu: f64, i0: f64) -> SirTrajectory {
    let n = SIR_STEPS;
    let mut tr = SirTrajectory {
        t: Vec::with_capacity(n + 1),
        s: Vec::with_capacity(n + 1),
        i: Vec::with_capacity(n + 1),
        r: Vec::with_capacity(n + 1),
        ds_dt: Vec::with_capacity(n),
        dr_dt: Vec::with_capacity(n),
    };
    let (mut s, mut i, mut r) = (1.0 - i0, i0, 0.0);
    for k in 0..=n {
        tr.t.push(SIR_STEP * k as f64);
        tr.s.push(s);
        tr.i.push(i);
        tr.r.push(r);
        if k == n {
            break;
        }
        let infection = lambda * s * i;
        let removal = mu * i;
        tr.ds_dt.push(-infection);
        tr.dr_dt.push(removal);
        s -= SIR_STEP * infection;
        i += SIR_STEP * infection - SIR_STEP * removal;
        r += SIR_STEP * removal;
    }
    tr
}

/// Adds independent `N(0, σ²)` noise to `x` when `noise_std` is set.
pub(crate) fn add_noise(x: &mut [f64], noise_std: Option<f64>, rng: &mut dyn RngCore) {
    if let Some(sigma) = noise_std {
        if sigma > 0.0 {
            let normal = Normal::new(0.0, sigma).expect("noise std checked at construction");
            for v in x {
                *v += normal.sample(rng);
            }
        }
    }
}

/// Checks an observation-noise standard deviation.
pub(crate) fn check_noise_std(simulator: &str, sigma: f64) -> Result<(), SimulationError> {
    if sigma.is_finite() && sigma >= 0.0 {
        Ok(())
    } else {
        Err(SimulationError::InvalidSetting {
            simulator: simulator.into(),
            message: format!("observation noise std must be finite and >= 0, got {sigma}"),
        })
    }
}

/// The seed SIR simulator, `θ = (λ, μ, I0)`; see the [module docs](self) for
/// the priors and the observation layout.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Sir {
    noise_std: Option<f64>,
}

impl Sir {
    /// Noise-free SIR simulator (the observation is the exact Euler output).
    pub fn new() -> Self {
        Self { noise_std: None }
    }

    /// SIR simulator adding independent `N(0, sigma²)` noise to every
    /// observation entry.
    ///
    /// Errors if `sigma` is negative or not finite.
    pub fn with_noise(sigma: f64) -> Result<Self, SimulationError> {
        check_noise_std("sir", sigma)?;
        Ok(Self {
            noise_std: Some(sigma),
        })
    }

    /// The observation-noise standard deviation, `None` when noise-free.
    pub fn noise_std(&self) -> Option<f64> {
        self.noise_std
    }
}

impl Simulator for Sir {
    fn name(&self) -> &str {
        "sir"
    }

    fn param_dim(&self) -> usize {
        3
    }

    fn obs_dim(&self) -> usize {
        SIR_OBS_DIM
    }

    fn param_names(&self) -> Vec<String> {
        vec!["lambda".into(), "mu".into(), "i0".into()]
    }

    fn sample_prior(&self, n: usize, rng: &mut dyn RngCore) -> Vec<Vec<f64>> {
        uniform_box_sample(n, &SIR_PRIOR_BOUNDS, rng)
    }

    fn log_prior(&self, theta: &[f64]) -> f64 {
        uniform_box_log_density(theta, &SIR_PRIOR_BOUNDS)
    }

    fn in_support(&self, theta: &[f64]) -> bool {
        uniform_box_contains(theta, &SIR_PRIOR_BOUNDS)
    }

    fn simulate_one(&self, theta: &[f64], rng: &mut dyn RngCore) -> Vec<f64> {
        let mut x = integrate_sir(theta[0], theta[1], theta[2]).observation();
        add_noise(&mut x, self.noise_std, rng);
        x
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulator::{simulate_batch, simulate_dataset};
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    #[test]
    fn conserves_mass_and_stays_in_unit_interval() {
        let mut rng = StdRng::seed_from_u64(11);
        let mut thetas = Sir::new().sample_prior(200, &mut rng);
        // Include the corners of the prior box.
        for &l in &[0.01, 1.5] {
            for &m in &[0.01, 0.5] {
                for &i0 in &[0.001, 0.1] {
                    thetas.push(vec![l, m, i0]);
                }
            }
        }
        for th in &thetas {
            let tr = integrate_sir(th[0], th[1], th[2]);
            assert_eq!(tr.s.len(), SIR_STEPS + 1);
            assert_eq!(tr.ds_dt.len(), SIR_STEPS);
            assert!((tr.t[SIR_STEPS] - SIR_DAYS).abs() < 1e-9);
            for k in 0..=SIR_STEPS {
                let total = tr.s[k] + tr.i[k] + tr.r[k];
                assert!((total - 1.0).abs() < 1e-12, "θ={th:?} k={k} total={total}");
                for v in [tr.s[k], tr.i[k], tr.r[k]] {
                    assert!((0.0..=1.0).contains(&v), "θ={th:?} k={k} v={v}");
                }
            }
        }
    }

    #[test]
    fn observation_layout() {
        let th = [0.8, 0.1, 0.01];
        let tr = integrate_sir(th[0], th[1], th[2]);
        let x = Sir::new().simulate_one(&th, &mut StdRng::seed_from_u64(0));
        assert_eq!(x.len(), SIR_OBS_DIM);
        // k = 0: derivatives at the initial state.
        assert_eq!(x[0], -0.8 * 0.99 * 0.01);
        assert_eq!(x[SIR_STEPS], 0.1 * 0.01);
        for k in 0..SIR_STEPS {
            assert_eq!(x[k], -th[0] * tr.s[k] * tr.i[k]);
            assert_eq!(x[SIR_STEPS + k], th[1] * tr.i[k]);
            // Euler consistency: the derivatives drive the next state.
            assert!((tr.s[k + 1] - tr.s[k] - SIR_STEP * x[k]).abs() < 1e-15);
            assert!((tr.r[k + 1] - tr.r[k] - SIR_STEP * x[SIR_STEPS + k]).abs() < 1e-15);
        }
    }

    #[test]
    fn prior_is_normalised_uniform_box() {
        let sir = Sir::new();
        let vol: f64 = SIR_PRIOR_BOUNDS.iter().map(|(a, b)| b - a).product();
        assert!((sir.log_prior(&[0.5, 0.2, 0.05]) + vol.ln()).abs() < 1e-12);
        assert_eq!(sir.log_prior(&[2.0, 0.2, 0.05]), f64::NEG_INFINITY);
        assert!(!sir.in_support(&[0.5, 0.2, 0.2]));
        let mut rng = StdRng::seed_from_u64(1);
        assert!(sir
            .sample_prior(1000, &mut rng)
            .iter()
            .all(|t| sir.in_support(t)));
    }

    #[test]
    fn noise_free_is_deterministic_and_noise_is_seeded() {
        let (thetas, xs) = simulate_dataset(&Sir::new(), 20, 5).unwrap();
        let xs_other_seed = simulate_batch(&Sir::new(), &thetas, 99).unwrap();
        assert_eq!(xs, xs_other_seed);

        let noisy = Sir::with_noise(0.01).unwrap();
        let a = simulate_batch(&noisy, &thetas, 1).unwrap();
        let b = simulate_batch(&noisy, &thetas, 1).unwrap();
        let c = simulate_batch(&noisy, &thetas, 2).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
        let resid: Vec<f64> = a
            .iter()
            .zip(&xs)
            .flat_map(|(n, c)| n.iter().zip(c).map(|(u, v)| u - v))
            .collect();
        let var = resid.iter().map(|r| r * r).sum::<f64>() / resid.len() as f64;
        assert!((var.sqrt() - 0.01).abs() < 0.0005, "std {}", var.sqrt());
    }

    #[test]
    fn negative_noise_is_an_error() {
        let e = Sir::with_noise(-1.0).unwrap_err().to_string();
        assert!(e.contains("noise std") && e.contains("sir"), "{e}");
        assert!(Sir::with_noise(f64::NAN).is_err());
    }
}
