//! The `sbibm` `sir` task ([`SbibmSir`]): an SIR epidemic observed through
//! binomial surveys.
//!
//! This is the benchmark as `sbibm` defines it; it is unrelated to the seed
//! model [`crate::Sir`] (forward Euler on population fractions).
//!
//! * Parameters `θ = (β, γ)`: contact rate `β` and mean recovery rate `γ`
//!   (per day), with independent log-normal priors
//!   `β ~ LogNormal(ln 0.4, 0.5)` and `γ ~ LogNormal(ln 0.125, 0.2)`
//!   (location and scale of the underlying normal).
//! * Dynamics: population `N = 10⁶`, `S(0) = N − 1`, `I(0) = 1`, `R(0) = 0`,
//!
//!   ```text
//!   dS/dt = −β S I / N
//!   dI/dt =  β S I / N − γ I
//!   dR/dt =  γ I
//!   ```
//!
//!   integrated from day 0 to day 160 with the adaptive Dormand–Prince 5(4)
//!   method (`ode_solvers::Dopri5`, relative tolerance `1e-10`, absolute
//!   tolerance `1e-8` people).
//! * Observation days: `sbibm` saves the solution every day (`saveat = 1`,
//!   161 states for days `0, 1, …, 160`) and keeps every 17th one
//!   (`u[1, ::17]`), i.e. the 10 days [`SIR_OBSERVATION_DAYS`]
//!   `= 0, 17, 34, 51, 68, 85, 102, 119, 136, 153`. These are *not*
//!   `linspace(0, 160, 10)`.
//! * Observation: `x_k ~ Binomial(1000, I(day_k) / N)` for each of those
//!   days, returned as the raw **count** in `0..=1000` (as an `f64`). `sbibm`
//!   does not divide by 1000: its reference observations are counts such as
//!   `352.0`. `x[k]` is `sbibm`'s `data_{k+1}`. The first entry (day 0,
//!   `p = 10⁻⁶`) is almost always `0`.
//!
//! If the ODE solver fails the row is all `NaN` (as in `sbibm`), which
//! [`simulate_batch`](crate::simulate_batch) reports as
//! [`SimulationError::NonFinite`](crate::SimulationError::NonFinite).

use rand::RngCore;
use rand_distr::{Binomial, Distribution};

use super::ode::{
    in_log_normal_support, log_normal_prior_density, sample_log_normal_prior, solve_at_times,
};
use crate::simulator::Simulator;

/// Total population `N`.
pub const SIR_POPULATION: f64 = 1_000_000.0;
/// Initially infected people `I(0)`.
pub const SIR_INITIAL_INFECTED: f64 = 1.0;
/// Length of the simulated epidemic in days.
pub const SIR_DAYS: usize = 160;
/// Days at which `I` is observed: every 17th day of the daily solution.
pub const SIR_OBSERVATION_DAYS: [usize; 10] = [0, 17, 34, 51, 68, 85, 102, 119, 136, 153];
/// Number of people surveyed on each observation day (binomial `n`).
pub const SIR_SURVEY_SIZE: u64 = 1000;

/// Prior `(μ, σ)` of `ln β` and `ln γ`.
const PRIOR: [(f64, f64); 2] = [(-0.916_290_731_874_155, 0.5), (-2.079_441_541_679_836, 0.2)];
const RTOL: f64 = 1e-10;
const ATOL: f64 = 1e-8;

/// Solves the `sbibm` SIR ODE for contact rate `beta` and recovery rate
/// `gamma` and returns the state `[S, I, R]` (in people) on every day
/// `0, 1, …, 160` (161 entries), or `None` if the solver fails.
pub fn sbibm_sir_daily_states(beta: f64, gamma: f64) -> Option<Vec<[f64; 3]>> {
    let n = SIR_POPULATION;
    let rhs = |_t: f64, u: &[f64; 3], du: &mut [f64; 3]| {
        let infection = beta * u[0] * u[1] / n;
        let recovery = gamma * u[1];
        du[0] = -infection;
        du[1] = infection - recovery;
        du[2] = recovery;
    };
    let days: Vec<f64> = (0..=SIR_DAYS).map(|d| d as f64).collect();
    let y0 = [n - SIR_INITIAL_INFECTED, SIR_INITIAL_INFECTED, 0.0];
    solve_at_times(&rhs, y0, &days, RTOL, ATOL)
}

/// Infection probabilities `I(day_k) / N` (clamped to `[0, 1]`) on the
/// observation days [`SIR_OBSERVATION_DAYS`], or `None` if the solver fails.
/// `1000 ×` this is the mean of the observation.
pub fn sbibm_sir_infected_fractions(beta: f64, gamma: f64) -> Option<[f64; 10]> {
    let states = sbibm_sir_daily_states(beta, gamma)?;
    Some(SIR_OBSERVATION_DAYS.map(|d| (states[d][1] / SIR_POPULATION).clamp(0.0, 1.0)))
}

/// The `sbibm` SIR benchmark: 2 parameters `(β, γ)`, 10 binomial counts;
/// see the [module docs](self).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SbibmSir;

impl SbibmSir {
    /// The SIR task.
    pub fn new() -> Self {
        Self
    }
}

impl Simulator for SbibmSir {
    fn name(&self) -> &str {
        "sir"
    }

    fn param_dim(&self) -> usize {
        2
    }

    fn obs_dim(&self) -> usize {
        SIR_OBSERVATION_DAYS.len()
    }

    fn param_names(&self) -> Vec<String> {
        vec!["beta".into(), "gamma".into()]
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
        let Some(probs) = sbibm_sir_infected_fractions(theta[0], theta[1]) else {
            return vec![f64::NAN; SIR_OBSERVATION_DAYS.len()];
        };
        probs
            .iter()
            .map(|&p| {
                let b = Binomial::new(SIR_SURVEY_SIZE, p).expect("p in [0, 1]");
                b.sample(&mut *rng) as f64
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::benchmarks::test_data::true_parameters_and_observation;
    use crate::simulator::{simulate_batch, simulate_dataset};

    #[test]
    fn prior_values() {
        assert!((PRIOR[0].0 - 0.4f64.ln()).abs() < 1e-15);
        assert!((PRIOR[1].0 - 0.125f64.ln()).abs() < 1e-15);
        // Density at the medians: Σ [−ln m − ln σ − ½ ln 2π].
        let expect = -(0.4f64.ln() + 0.125f64.ln())
            - (0.5f64.ln() + 0.2f64.ln())
            - (2.0 * std::f64::consts::PI).ln();
        assert!((SbibmSir.log_prior(&[0.4, 0.125]) - expect).abs() < 1e-12);
        assert_eq!(SbibmSir.log_prior(&[0.4, -0.1]), f64::NEG_INFINITY);
        assert_eq!(SbibmSir.log_prior(&[0.4]), f64::NEG_INFINITY);
        // Median and log-sd of prior draws.
        let (thetas, _) = simulate_dataset(&SbibmSir, 4000, 5).unwrap();
        for (j, (mu, s)) in PRIOR.iter().enumerate() {
            let logs: Vec<f64> = thetas.iter().map(|t| t[j].ln()).collect();
            let m = logs.iter().sum::<f64>() / logs.len() as f64;
            let v = logs.iter().map(|l| (l - m).powi(2)).sum::<f64>() / logs.len() as f64;
            assert!((m - mu).abs() < 4.0 * s / 4000f64.sqrt(), "{j}: mean {m}");
            assert!((v.sqrt() / s - 1.0).abs() < 0.05, "{j}: sd {}", v.sqrt());
        }
    }

    #[test]
    fn ode_conserves_population() {
        for (beta, gamma) in [
            (0.4, 0.125),
            (0.61479264, 0.19172086),
            (2.5, 0.05),
            (0.1, 0.3),
        ] {
            let states = sbibm_sir_daily_states(beta, gamma).unwrap();
            assert_eq!(states.len(), SIR_DAYS + 1);
            for s in &states {
                let total = s[0] + s[1] + s[2];
                assert!(
                    ((total - SIR_POPULATION) / SIR_POPULATION).abs() < 1e-6,
                    "β {beta} γ {gamma}: {s:?}"
                );
                assert!(s.iter().all(|v| *v > -1e-6), "{s:?}");
            }
        }
    }

    #[test]
    fn early_growth_is_exponential() {
        // While S ≈ N, I(t) ≈ exp((β − γ) t).
        let (beta, gamma) = (0.4, 0.125);
        let states = sbibm_sir_daily_states(beta, gamma).unwrap();
        for d in [5, 10, 20] {
            let exact = ((beta - gamma) * d as f64).exp();
            assert!((states[d][1] / exact - 1.0).abs() < 1e-3, "day {d}");
        }
        // Final size relation for SIR: ln(S∞/S0) = −(β/γ)(1 − S∞/N) (approx. at day 160).
        let s_end = states[SIR_DAYS][0];
        let lhs = (s_end / (SIR_POPULATION - 1.0)).ln();
        let rhs = -(beta / gamma) * (1.0 - s_end / SIR_POPULATION);
        assert!((lhs - rhs).abs() < 1e-3, "{lhs} vs {rhs}");
    }

    #[test]
    fn batch_is_deterministic_per_seed() {
        let (thetas, xs) = simulate_dataset(&SbibmSir, 64, 11).unwrap();
        let xs2 = simulate_batch(&SbibmSir, &thetas, 11).unwrap();
        assert_eq!(xs, xs2);
        let xs3 = simulate_batch(&SbibmSir, &thetas, 12).unwrap();
        assert_ne!(xs, xs3);
        for x in &xs {
            assert_eq!(x.len(), 10);
            assert!(x
                .iter()
                .all(|v| v.fract() == 0.0 && (0.0..=1000.0).contains(v)));
        }
    }

    #[test]
    fn sbibm_reference_observations_are_typical() {
        let reps = 2000;
        let mut checked = 0;
        for k in 1..=10 {
            let Some((theta, obs)) = true_parameters_and_observation("sir", k) else {
                continue;
            };
            assert_eq!((theta.len(), obs.len()), (2, 10));
            let probs = sbibm_sir_infected_fractions(theta[0], theta[1]).unwrap();
            let xs = simulate_batch(&SbibmSir, &vec![theta.clone(); reps], 100 + k as u64).unwrap();
            let mut worst: f64 = 0.0;
            for j in 0..10 {
                let col: Vec<f64> = xs.iter().map(|x| x[j]).collect();
                let mean = col.iter().sum::<f64>() / reps as f64;
                let var = col.iter().map(|c| (c - mean).powi(2)).sum::<f64>() / reps as f64;
                let sd = var.sqrt();
                // Simulated mean agrees with the binomial mean 1000·p.
                let p = probs[j];
                let bin_sd = (1000.0 * p * (1.0 - p)).sqrt();
                assert!(
                    (mean - 1000.0 * p).abs() <= 5.0 * bin_sd / (reps as f64).sqrt() + 1e-9,
                    "obs {k} entry {j}: mean {mean} vs {}",
                    1000.0 * p
                );
                // The stored observation is a plausible draw (+1 for discreteness).
                let z = (obs[j] - mean).abs() / (sd + 1.0);
                worst = worst.max(z);
                assert!(
                    (obs[j] - mean).abs() <= 5.0 * sd + 1.0,
                    "obs {k} entry {j}: observed {} vs simulated mean {mean:.2} ± {sd:.2}",
                    obs[j]
                );
            }
            eprintln!("sir obs {k}: θ = {theta:?}, max |x_obs − mean| / (sd + 1) = {worst:.2}");
            checked += 1;
        }
        eprintln!("sir: checked {checked} reference observations");
    }
}
