//! The 1978 boarding-school influenza outbreak ([`BoardingSchool`], spec name
//! `sir_boarding_school`), with the model of the Stan SIR case study (Grinsztajn et al.
//! 2021, "Bayesian workflow for disease transmission modeling in Stan"), so results
//! compare with published ones.
//!
//! * Parameters `θ = (β, γ, φ_inv)`: contact rate, recovery rate (per day) and the
//!   inverse dispersion of the counts.
//! * Priors: `β ~ N(2, 1)` truncated to `β > 0`, `γ ~ N(0.4, 0.5)` truncated to
//!   `γ > 0`, `φ_inv ~ Exponential(rate 5)`, independent.
//! * Dynamics: `N = 763` pupils, `S(0) = 762`, `I(0) = 1`, `R(0) = 0` at `t = 0`,
//!
//!   ```text
//!   dS/dt = −β S I / N
//!   dI/dt =  β S I / N − γ I
//!   ```
//!
//!   solved with the Dormand–Prince 5(4) method of `ode_solvers` (relative and absolute
//!   tolerance `1e-8`) and read on days `1, …, 14`.
//! * Observation: the number of pupils in bed on day `t`,
//!   `count_t ~ NegBinomial(mean I(t), dispersion φ = 1/φ_inv)` (variance `I + I²/φ`,
//!   Stan's `neg_binomial_2`), drawn as the Gamma–Poisson mixture
//!   `λ ~ Gamma(shape φ, scale I/φ)`, `count ~ Poisson(λ)`.
//!
//! The observed counts, [`BOARDING_SCHOOL_COUNTS`], are shipped in
//! `data/boarding_school/` (public data from the 1978 BMJ report, see the NOTICE there).
//! [`BoardingSchool::log_likelihood`] is the exact likelihood, for likelihood-based
//! reference posteriors (MCMC).
//!
//! ```
//! use flowinfer_simulators::{BoardingSchool, Simulator, BOARDING_SCHOOL_COUNTS};
//!
//! let sim = BoardingSchool;
//! let theta = [1.7, 0.54, 0.1];
//! let ll = sim.log_likelihood(&theta, &BOARDING_SCHOOL_COUNTS);
//! assert!(ll.is_finite());
//! // The posterior mode region beats a slow epidemic by far.
//! assert!(ll > sim.log_likelihood(&[0.8, 0.54, 0.1], &BOARDING_SCHOOL_COUNTS) + 50.0);
//! ```

use crate::benchmarks::ode::solve_at_times;
use crate::simulator::Simulator;
use rand::RngCore;
use rand_distr::{Distribution, Exp, Gamma, Normal, Poisson};

/// Pupils in the school, `N`.
pub const BOARDING_SCHOOL_POPULATION: f64 = 763.0;
/// Observed days, `1..=14`.
pub const BOARDING_SCHOOL_DAYS: usize = 14;
/// Pupils in bed on days 1…14 (1978 BMJ report).
pub const BOARDING_SCHOOL_COUNTS: [f64; BOARDING_SCHOOL_DAYS] = [
    3.0, 8.0, 26.0, 76.0, 225.0, 298.0, 258.0, 233.0, 189.0, 128.0, 68.0, 29.0, 14.0, 4.0,
];

/// Truncated-normal priors `(mean, sd)` of β and γ, and the exponential rate of φ_inv.
const BETA_PRIOR: (f64, f64) = (2.0, 1.0);
const GAMMA_PRIOR: (f64, f64) = (0.4, 0.5);
const PHI_INV_RATE: f64 = 5.0;
const TOL: f64 = 1e-8;
/// Above this dispersion the counts are drawn from the Poisson (the Gamma mixing is
/// narrower than double precision resolves).
const POISSON_LIMIT_PHI: f64 = 1e12;
/// Above this dispersion `ln Γ(k + φ) − ln Γ(φ)` loses digits; summed exactly instead.
const LARGE_PHI: f64 = 1e5;

/// The boarding-school outbreak model; see the [module docs](self).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BoardingSchool;

/// `ln Φ(z)` of the standard normal, from `erfc` (accurate in the lower tail).
fn ln_std_normal_cdf(z: f64) -> f64 {
    (0.5 * libm::erfc(-z / std::f64::consts::SQRT_2)).ln()
}

/// Log density of `N(mean, sd)` truncated to `x > 0`.
fn ln_positive_normal(x: f64, (mean, sd): (f64, f64)) -> f64 {
    if !(x > 0.0 && x.is_finite()) {
        return f64::NEG_INFINITY;
    }
    let z = (x - mean) / sd;
    -0.5 * z * z - sd.ln() - 0.5 * (2.0 * std::f64::consts::PI).ln() - ln_std_normal_cdf(mean / sd)
}

/// `ln Γ(x)`.
fn ln_gamma(x: f64) -> f64 {
    libm::lgamma(x)
}

/// Log probability of `k` under `NegBinomial(mean mu, dispersion phi)` (Stan's
/// `neg_binomial_2`); the Poisson limit for very large `phi`.
pub fn neg_binomial_2_ln_pmf(k: f64, mu: f64, phi: f64) -> f64 {
    if !(k >= 0.0 && k.fract() == 0.0 && mu >= 0.0 && phi > 0.0) {
        return f64::NEG_INFINITY;
    }
    if mu == 0.0 {
        return if k == 0.0 { 0.0 } else { f64::NEG_INFINITY };
    }
    if phi > LARGE_PHI {
        // ln Γ(k + φ) − ln Γ(φ) = Σ_{j<k} ln(φ + j), written so that nothing of size
        // φ ln φ cancels: exact for every φ, and the Poisson pmf as φ → ∞.
        let rising: f64 = (0..k as u64).map(|j| (j as f64 / phi).ln_1p()).sum();
        let shrink = (mu / phi).ln_1p();
        return rising - ln_gamma(k + 1.0) - phi * shrink + k * (mu.ln() - shrink);
    }
    ln_gamma(k + phi) - ln_gamma(phi) - ln_gamma(k + 1.0) - phi * (mu / phi).ln_1p()
        + k * (mu.ln() - (mu + phi).ln())
}

impl BoardingSchool {
    /// The outbreak model.
    pub fn new() -> Self {
        Self
    }

    /// The number infected, `I(t)`, on days 1…14 for contact rate `beta` and recovery
    /// rate `gamma`; `None` when the solver fails.
    pub fn infected(&self, beta: f64, gamma: f64) -> Option<[f64; BOARDING_SCHOOL_DAYS]> {
        let n = BOARDING_SCHOOL_POPULATION;
        let rhs = |_t: f64, u: &[f64; 2], du: &mut [f64; 2]| {
            let infection = beta * u[0] * u[1] / n;
            du[0] = -infection;
            du[1] = infection - gamma * u[1];
        };
        let times: Vec<f64> = (0..=BOARDING_SCHOOL_DAYS).map(|d| d as f64).collect();
        let states = solve_at_times(&rhs, [n - 1.0, 1.0], &times, TOL, TOL)?;
        Some(std::array::from_fn(|d| states[d + 1][1].max(0.0)))
    }

    /// The exact log likelihood `Σ_t ln NB(x_t | I(t), 1/φ_inv)` of 14 counts `x`;
    /// `−∞` outside the prior support, for a failing ODE solve or a wrong length.
    pub fn log_likelihood(&self, theta: &[f64], x: &[f64]) -> f64 {
        if !self.in_support(theta) || x.len() != BOARDING_SCHOOL_DAYS {
            return f64::NEG_INFINITY;
        }
        let Some(mean) = self.infected(theta[0], theta[1]) else {
            return f64::NEG_INFINITY;
        };
        let phi = 1.0 / theta[2];
        mean.iter()
            .zip(x)
            .map(|(&mu, &k)| neg_binomial_2_ln_pmf(k, mu, phi))
            .sum()
    }
}

/// One draw of `N(mean, sd)` truncated to `x > 0`, by rejection (acceptance
/// `Φ(mean / sd)`: 0.98 for β, 0.79 for γ).
fn positive_normal(d: &Normal<f64>, rng: &mut dyn RngCore) -> f64 {
    loop {
        let v = d.sample(rng);
        if v > 0.0 {
            return v;
        }
    }
}

impl Simulator for BoardingSchool {
    fn name(&self) -> &str {
        "sir_boarding_school"
    }

    fn param_dim(&self) -> usize {
        3
    }

    fn obs_dim(&self) -> usize {
        BOARDING_SCHOOL_DAYS
    }

    fn param_names(&self) -> Vec<String> {
        vec!["beta".into(), "gamma".into(), "phi_inv".into()]
    }

    fn sample_prior(&self, n: usize, rng: &mut dyn RngCore) -> Vec<Vec<f64>> {
        let beta = Normal::new(BETA_PRIOR.0, BETA_PRIOR.1).expect("valid normal");
        let gamma = Normal::new(GAMMA_PRIOR.0, GAMMA_PRIOR.1).expect("valid normal");
        let phi_inv = Exp::new(PHI_INV_RATE).expect("valid exponential");
        (0..n)
            .map(|_| {
                vec![
                    positive_normal(&beta, rng),
                    positive_normal(&gamma, rng),
                    phi_inv.sample(rng),
                ]
            })
            .collect()
    }

    fn log_prior(&self, theta: &[f64]) -> f64 {
        if !self.in_support(theta) {
            return f64::NEG_INFINITY;
        }
        ln_positive_normal(theta[0], BETA_PRIOR)
            + ln_positive_normal(theta[1], GAMMA_PRIOR)
            + PHI_INV_RATE.ln()
            - PHI_INV_RATE * theta[2]
    }

    fn in_support(&self, theta: &[f64]) -> bool {
        theta.len() == 3 && theta.iter().all(|t| *t > 0.0 && t.is_finite())
    }

    fn simulate_one(&self, theta: &[f64], rng: &mut dyn RngCore) -> Vec<f64> {
        let Some(mean) = self.infected(theta[0], theta[1]) else {
            return vec![f64::NAN; BOARDING_SCHOOL_DAYS];
        };
        let phi = 1.0 / theta[2];
        mean.iter()
            .map(|&mu| {
                let lambda = if phi > POISSON_LIMIT_PHI {
                    mu
                } else {
                    match Gamma::new(phi, mu / phi) {
                        Ok(g) => g.sample(rng),
                        Err(_) => f64::NAN,
                    }
                };
                if lambda > 0.0 && lambda.is_finite() {
                    Poisson::new(lambda).map_or(f64::NAN, |p| p.sample(rng))
                } else if lambda == 0.0 {
                    0.0
                } else {
                    f64::NAN
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulator::{simulate_batch, simulate_dataset};

    #[test]
    fn prior_density_integrates_to_one_per_parameter() {
        // Trapezoid rule over each marginal, the others held fixed: the joint log
        // prior is a sum, so each integral must be 1.
        let integrate = |j: usize, hi: f64| {
            let n = 200_000;
            let h = hi / n as f64;
            let base = [1.0, 0.5, 0.2];
            let f = |v: f64| {
                let mut t = base;
                t[j] = v;
                (BoardingSchool.log_prior(&t) - BoardingSchool.log_prior(&base)
                    + match j {
                        0 => ln_positive_normal(base[0], BETA_PRIOR),
                        1 => ln_positive_normal(base[1], GAMMA_PRIOR),
                        _ => PHI_INV_RATE.ln() - PHI_INV_RATE * base[2],
                    })
                .exp()
            };
            // Midpoint rule (the exponential's density is largest at the open end 0).
            (0..n).map(|i| f((i as f64 + 0.5) * h)).sum::<f64>() * h
        };
        for (j, hi) in [(0, 12.0), (1, 6.0), (2, 10.0)] {
            let total = integrate(j, hi);
            assert!((total - 1.0).abs() < 1e-4, "parameter {j}: {total}");
        }
        assert_eq!(
            BoardingSchool.log_prior(&[-1.0, 0.5, 0.1]),
            f64::NEG_INFINITY
        );
        assert_eq!(BoardingSchool.log_prior(&[1.0, 0.5]), f64::NEG_INFINITY);
    }

    #[test]
    fn prior_draws_match_the_truncated_moments() {
        let (thetas, xs) = simulate_dataset(&BoardingSchool, 20_000, 3).unwrap();
        assert!(thetas.iter().all(|t| BoardingSchool.in_support(t)));
        let mean = |j: usize| thetas.iter().map(|t| t[j]).sum::<f64>() / thetas.len() as f64;
        // Truncated-normal means μ + σ φ(μ/σ)/Φ(μ/σ); exponential mean 1/5.
        let tn = |m: f64, s: f64| {
            let a = m / s;
            let pdf = (-0.5 * a * a).exp() / (2.0 * std::f64::consts::PI).sqrt();
            m + s * pdf / ln_std_normal_cdf(a).exp()
        };
        assert!((mean(0) - tn(2.0, 1.0)).abs() < 0.03, "{}", mean(0));
        assert!((mean(1) - tn(0.4, 0.5)).abs() < 0.015, "{}", mean(1));
        assert!((mean(2) - 0.2).abs() < 0.008, "{}", mean(2));
        assert!(xs.iter().flatten().all(|v| *v >= 0.0 && v.fract() == 0.0));
    }

    #[test]
    fn counts_have_the_negative_binomial_mean_and_variance() {
        let theta = vec![1.7, 0.54, 0.2];
        let mean_curve = BoardingSchool.infected(1.7, 0.54).unwrap();
        let reps = 20_000;
        let xs = simulate_batch(&BoardingSchool, &vec![theta; reps], 9).unwrap();
        for day in [2, 5, 9] {
            let col: Vec<f64> = xs.iter().map(|x| x[day]).collect();
            let m = col.iter().sum::<f64>() / reps as f64;
            let v = col.iter().map(|c| (c - m).powi(2)).sum::<f64>() / (reps - 1) as f64;
            let mu = mean_curve[day];
            let var = mu + mu * mu * 0.2;
            assert!(
                (m - mu).abs() < 5.0 * (var / reps as f64).sqrt(),
                "day {day}: {m} vs {mu}"
            );
            assert!((v / var - 1.0).abs() < 0.1, "day {day}: var {v} vs {var}");
        }
    }

    #[test]
    fn pmf_sums_to_one_and_tends_to_poisson() {
        for (mu, phi) in [(3.0, 0.5), (40.0, 5.0), (200.0, 50.0), (100.0, 1e7)] {
            let total: f64 = (0..20_000)
                .map(|k| neg_binomial_2_ln_pmf(k as f64, mu, phi).exp())
                .sum();
            assert!((total - 1.0).abs() < 1e-9, "mu {mu} phi {phi}: {total}");
        }
        let pois = |k: f64, mu: f64| k * mu.ln() - mu - ln_gamma(k + 1.0);
        let nb = neg_binomial_2_ln_pmf(7.0, 5.0, 1e9);
        assert!((nb - pois(7.0, 5.0)).abs() < 1e-6, "{nb}");
        assert_eq!(neg_binomial_2_ln_pmf(1.5, 5.0, 1.0), f64::NEG_INFINITY);
    }

    #[test]
    fn epidemic_curve_conserves_and_peaks_near_the_data() {
        // The Stan case study's posterior means (β ≈ 1.73, γ ≈ 0.54) put the peak on
        // day 6, where the data peak (298).
        let i = BoardingSchool.infected(1.73, 0.54).unwrap();
        let peak = (0..14).max_by(|&a, &b| i[a].total_cmp(&i[b])).unwrap();
        assert_eq!(peak + 1, 6, "{i:?}");
        assert!(i.iter().all(|v| *v <= BOARDING_SCHOOL_POPULATION));
    }
}
