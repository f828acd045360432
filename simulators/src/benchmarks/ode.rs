//! Small adaptive-ODE helper shared by the ODE-based `sbibm` tasks
//! ([`SbibmSir`](super::SbibmSir), [`LotkaVolterra`](super::LotkaVolterra)).
//!
//! Solutions are computed with the Dormand–Prince 5(4) method of the
//! `ode_solvers` crate ([`ode_solvers::Dopri5`]). The solver is restarted at
//! every requested output time and stopped exactly on the next one (sparse
//! output, no dense interpolation), so the returned states are the solver's
//! own step endpoints.

use ode_solvers::dop_shared::System;
use ode_solvers::{Dopri5, OutputType, SVector};

/// Right-hand side `dy/dt = f(t, y)` wrapped for `ode_solvers`.
struct Rhs<'a, G>(&'a G);

impl<G, const D: usize> System<f64, SVector<f64, D>> for Rhs<'_, G>
where
    G: Fn(f64, &[f64; D], &mut [f64; D]),
{
    fn system(&self, t: f64, y: &SVector<f64, D>, dy: &mut SVector<f64, D>) {
        let yy: [f64; D] = std::array::from_fn(|i| y[i]);
        let mut out = [0.0; D];
        (self.0)(t, &yy, &mut out);
        for (d, o) in dy.iter_mut().zip(out) {
            *d = o;
        }
    }
}

/// Solves `dy/dt = f(t, y)`, `y(times[0]) = y0`, and returns the state at each
/// of the (strictly increasing) `times`; the first entry is `y0` itself.
///
/// Uses Dopri5 with relative tolerance `rtol` and absolute tolerance `atol`.
/// Returns `None` when the solver fails (too many steps, step-size underflow)
/// or produces a non-finite state.
pub(crate) fn solve_at_times<G, const D: usize>(
    f: &G,
    y0: [f64; D],
    times: &[f64],
    rtol: f64,
    atol: f64,
) -> Option<Vec<[f64; D]>>
where
    G: Fn(f64, &[f64; D], &mut [f64; D]),
{
    let mut out = Vec::with_capacity(times.len());
    if times.is_empty() {
        return Some(out);
    }
    out.push(y0);
    let mut y = SVector::<f64, D>::from(y0);
    for w in times.windows(2) {
        let (t0, t1) = (w[0], w[1]);
        debug_assert!(t1 > t0, "times must be strictly increasing");
        let mut solver = Dopri5::from_param(
            Rhs(f),
            t0,
            t1,
            t1 - t0,
            y,
            rtol,
            atol,
            0.9,       // safety factor (library default)
            0.04,      // step-size stabilisation beta (library default)
            0.2,       // minimal step-size factor (library default)
            10.0,      // maximal step-size factor (library default)
            t1 - t0,   // maximal step size
            0.0,       // initial step size: 0 = automatic
            1_000_000, // maximal number of steps
            1000,      // stiffness test interval
            OutputType::Sparse,
        );
        solver.integrate().ok()?;
        let (&t_end, y_end) = solver.x_out().last().zip(solver.y_out().last())?;
        if (t_end - t1).abs() > 1e-9 * t1.abs().max(1.0) || !y_end.iter().all(|v| v.is_finite()) {
            return None;
        }
        y = *y_end;
        out.push(std::array::from_fn(|i| y[i]));
    }
    Some(out)
}

/// Log density of `LogNormal(mu, sigma)` at `x` (`-inf` for `x <= 0` or
/// non-finite `x`).
pub(crate) fn log_normal_log_density(x: f64, mu: f64, sigma: f64) -> f64 {
    if !(x > 0.0 && x.is_finite()) {
        return f64::NEG_INFINITY;
    }
    let z = (x.ln() - mu) / sigma;
    -x.ln() - sigma.ln() - 0.5 * (2.0 * std::f64::consts::PI).ln() - 0.5 * z * z
}

/// `n` draws from independent log-normal priors `(mu, sigma)` per parameter.
pub(crate) fn sample_log_normal_prior(
    prior: &[(f64, f64)],
    n: usize,
    rng: &mut dyn rand::RngCore,
) -> Vec<Vec<f64>> {
    use rand_distr::{Distribution, LogNormal};
    let dists: Vec<LogNormal<f64>> = prior
        .iter()
        .map(|&(mu, s)| LogNormal::new(mu, s).expect("valid log-normal"))
        .collect();
    (0..n)
        .map(|_| dists.iter().map(|d| d.sample(&mut *rng)).collect())
        .collect()
}

/// Log density of independent log-normal priors (`-inf` for a wrong length).
pub(crate) fn log_normal_prior_density(prior: &[(f64, f64)], theta: &[f64]) -> f64 {
    if theta.len() != prior.len() {
        return f64::NEG_INFINITY;
    }
    theta
        .iter()
        .zip(prior)
        .map(|(&t, &(mu, s))| log_normal_log_density(t, mu, s))
        .sum()
}

/// Support of independent log-normal priors: positive finite values, right length.
pub(crate) fn in_log_normal_support(prior: &[(f64, f64)], theta: &[f64]) -> bool {
    theta.len() == prior.len() && theta.iter().all(|t| *t > 0.0 && t.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exponential_decay_is_accurate() {
        let f = |_t: f64, y: &[f64; 1], dy: &mut [f64; 1]| dy[0] = -0.7 * y[0];
        let times: Vec<f64> = (0..=10).map(|k| k as f64).collect();
        let sol = solve_at_times(&f, [2.0], &times, 1e-10, 1e-12).unwrap();
        assert_eq!(sol.len(), times.len());
        for (t, y) in times.iter().zip(&sol) {
            let exact = 2.0 * (-0.7 * t).exp();
            assert!(
                (y[0] - exact).abs() < 1e-9 * exact.max(1e-3),
                "{t}: {}",
                y[0]
            );
        }
    }

    #[test]
    fn log_normal_density_integrates_to_one() {
        // Trapezoid rule on a fine grid in log space: ∫ p(x) dx = ∫ p(e^u) e^u du.
        let (mu, sigma) = (-0.3, 0.5);
        let n = 20_000;
        let (lo, hi) = (mu - 10.0 * sigma, mu + 10.0 * sigma);
        let h = (hi - lo) / n as f64;
        let total: f64 = (0..=n)
            .map(|i| {
                let u = lo + h * i as f64;
                let w = if i == 0 || i == n { 0.5 } else { 1.0 };
                w * (log_normal_log_density(u.exp(), mu, sigma) + u).exp()
            })
            .sum::<f64>()
            * h;
        assert!((total - 1.0).abs() < 1e-9, "{total}");
        assert_eq!(log_normal_log_density(0.0, mu, sigma), f64::NEG_INFINITY);
        assert_eq!(log_normal_log_density(-1.0, mu, sigma), f64::NEG_INFINITY);
    }
}
