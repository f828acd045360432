//! The defensive evaluation proposal of the variational job (Hesterberg 1995; the same
//! idea as the integrator's `integrate::proposal`):
//!
//! `q_α(x) = (1 − α) q(x) + α g(x)`,
//!
//! with `q` the trained flow and `g` a broad Gaussian fitted to the flow's own draws:
//! the mean and covariance of [`PILOT_DRAWS`] pilot draws of `q`, the covariance
//! multiplied by `inflation` (default 4, i.e. twice the standard deviations).
//!
//! Reverse KL makes `q` mode-seeking: it misses thin tails of the target, and the
//! importance weights `p̃/q` cannot see mass that `q` never samples, so `log Ẑ` is
//! then a lower bound with a falsely small error. The broad component samples those
//! tails (and bounds every weight by `p̃/(α g)`), so the weights of `q_α` can see them.
//!
//! Draws are i.i.d. from `q_α`: the number taken from `g` in a batch of `n` is binomial
//! `B(n, α)` and the batch is shuffled; each point's log density is the exact
//! `log q_α = logsumexp(log(1 − α) + log q, log α + log g)`, which needs `log q` at
//! `g`'s draws (the flow's density direction) and `log g` at `q`'s draws.

use crate::error::{Error, Result};
use nalgebra::{DMatrix, DVector};
use rand::RngCore;
use rand_distr::{Distribution, StandardNormal};

/// Default broad fraction `α` of the evaluation proposal (docs/VARIATIONAL.md: the
/// measurement that chose it).
pub const DEFAULT_DEFENSIVE: f64 = 0.1;

/// Default factor on `q`'s covariance for the broad component.
pub const DEFAULT_INFLATION: f64 = 4.0;

/// Draws of the flow used to fit the broad component (a separate random stream).
pub const PILOT_DRAWS: usize = 4096;

/// A Gaussian `N(μ, Σ)` on the host in f64, sampled and evaluated in batches.
#[derive(Debug, Clone, PartialEq)]
pub struct BroadGaussian {
    mean: DVector<f64>,
    /// Lower Cholesky factor `L` of `Σ = L Lᵀ`.
    chol: DMatrix<f64>,
    /// `−½ log det(2πΣ)`.
    log_norm: f64,
}

impl BroadGaussian {
    /// `N(mean, cov)` (`cov` `d × d` row-major, symmetric positive definite).
    pub fn new(mean: &[f64], cov: &[f64]) -> Result<Self> {
        let d = mean.len();
        if d == 0 || cov.len() != d * d {
            return Err(Error::config(format!(
                "a Gaussian needs a mean of length d ≥ 1 and a d × d covariance, got {} and {} values",
                d,
                cov.len()
            )));
        }
        if mean.iter().chain(cov).any(|v| !v.is_finite()) {
            return Err(Error::config(
                "the broad Gaussian's mean or covariance is not finite (the flow's pilot draws are not finite)",
            ));
        }
        let sigma = DMatrix::from_row_slice(d, d, cov);
        let chol = sigma.cholesky().ok_or_else(|| {
            Error::config(
                "the broad Gaussian's covariance is not positive definite (the flow's draws are degenerate)",
            )
        })?;
        let l = chol.l();
        let log_det: f64 = 2.0 * l.diagonal().iter().map(|v| v.ln()).sum::<f64>();
        Ok(Self {
            mean: DVector::from_column_slice(mean),
            chol: l,
            log_norm: -0.5 * (d as f64 * (2.0 * std::f64::consts::PI).ln() + log_det),
        })
    }

    /// The Gaussian of `points` (`n × d` row-major, `n > d`): their mean and covariance,
    /// the covariance multiplied by `inflation` (≥ 1) plus a relative jitter of 1e-9
    /// of its mean variance.
    pub fn fit(points: &[f64], d: usize, inflation: f64) -> Result<Self> {
        check_inflation(inflation)?;
        let n = points.len() / d.max(1);
        if d == 0 || n <= d {
            return Err(Error::config(format!(
                "fitting a {d}-D Gaussian needs more than {d} points, got {n}"
            )));
        }
        let (mean, mut cov) = super::evaluate::moments(points, d, None);
        let jitter = 1e-9 * (0..d).map(|i| cov[i * d + i]).sum::<f64>() / d as f64;
        for (k, c) in cov.iter_mut().enumerate() {
            *c *= inflation;
            if k % (d + 1) == 0 {
                *c += jitter.max(1e-300);
            }
        }
        Self::new(&mean, &cov)
    }

    /// Dimension.
    pub fn dim(&self) -> usize {
        self.mean.len()
    }

    /// `n` draws, `n × d` row-major: `μ + L z`, `z ~ N(0, I)`.
    pub fn sample(&self, n: usize, rng: &mut dyn RngCore) -> Vec<f64> {
        let d = self.dim();
        let z = DMatrix::from_fn(d, n, |_, _| StandardNormal.sample(&mut *rng));
        let mut x = &self.chol * z;
        for mut col in x.column_iter_mut() {
            col += &self.mean;
        }
        // Column-major d × n is row-major n × d.
        x.as_slice().to_vec()
    }

    /// `log g` of `points` (`n × d` row-major): `−½‖L⁻¹(x − μ)‖² − ½ log det(2πΣ)`.
    pub fn log_density(&self, points: &[f64]) -> Vec<f64> {
        let d = self.dim();
        let n = points.len() / d;
        let mut r = DMatrix::from_column_slice(d, n, &points[..n * d]);
        for mut col in r.column_iter_mut() {
            col -= &self.mean;
        }
        let solved = self
            .chol
            .solve_lower_triangular(&r)
            .expect("the Cholesky factor has a positive diagonal");
        solved
            .column_iter()
            .map(|c| self.log_norm - 0.5 * c.norm_squared())
            .collect()
    }
}

/// `log((1 − α) e^{log_q} + α e^{log_g})`, stably (either may be `−inf`).
pub fn mix_log_density(log_q: f64, log_g: f64, alpha: f64) -> f64 {
    let a = (1.0 - alpha).ln() + log_q;
    let b = alpha.ln() + log_g;
    let m = a.max(b);
    if m == f64::NEG_INFINITY {
        return m;
    }
    m + ((a - m).exp() + (b - m).exp()).ln()
}

/// Check a broad fraction: in `[0, 1)`.
pub fn check_fraction(alpha: f64) -> Result<()> {
    if alpha.is_finite() && (0.0..1.0).contains(&alpha) {
        Ok(())
    } else {
        Err(Error::config(format!(
            "[eval] defensive must be a fraction in [0, 1) (0 = the flow alone), got {alpha}"
        )))
    }
}

/// Check a covariance inflation: finite and at least 1.
pub fn check_inflation(inflation: f64) -> Result<()> {
    if inflation.is_finite() && inflation >= 1.0 {
        Ok(())
    } else {
        Err(Error::config(format!(
            "[eval] defensive_inflation must be a finite factor ≥ 1 on q's covariance, got {inflation}"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    #[test]
    fn gaussian_density_matches_the_closed_form_and_its_draws() {
        // Σ = [[4, 1.2], [1.2, 1]], μ = (1, −2).
        let g = BroadGaussian::new(&[1.0, -2.0], &[4.0, 1.2, 1.2, 1.0]).unwrap();
        let det: f64 = 4.0 - 1.44;
        let x = [2.0, -1.0];
        let (dx, dy) = (1.0, 1.0);
        let quad = (1.0 * dx * dx - 2.0 * 1.2 * dx * dy + 4.0 * dy * dy) / det;
        let want = -0.5 * quad - (2.0 * std::f64::consts::PI).ln() - 0.5 * det.ln();
        assert!((g.log_density(&x)[0] - want).abs() < 1e-12);
        let mut rng = StdRng::seed_from_u64(3);
        let pts = g.sample(200_000, &mut rng);
        let (m, c) = super::super::evaluate::moments(&pts, 2, None);
        assert!(
            (m[0] - 1.0).abs() < 0.02 && (m[1] + 2.0).abs() < 0.01,
            "{m:?}"
        );
        assert!(
            (c[0] - 4.0).abs() < 0.05 && (c[1] - 1.2).abs() < 0.03,
            "{c:?}"
        );
        let refit = BroadGaussian::fit(&pts, 2, 4.0).unwrap();
        let s = refit.sample(100_000, &mut rng);
        let (_, c4) = super::super::evaluate::moments(&s, 2, None);
        assert!((c4[0] / 16.0 - 1.0).abs() < 0.03, "{c4:?}");
    }

    #[test]
    fn mixture_log_density_is_the_log_of_the_sum() {
        let (lq, lg, a): (f64, f64, f64) = (-1.3, -4.0, 0.1);
        let want = (0.9 * lq.exp() + 0.1 * lg.exp()).ln();
        assert!((mix_log_density(lq, lg, a) - want).abs() < 1e-14);
        assert_eq!(mix_log_density(f64::NEG_INFINITY, lg, a), 0.1f64.ln() + lg);
        assert_eq!(
            mix_log_density(f64::NEG_INFINITY, f64::NEG_INFINITY, a),
            f64::NEG_INFINITY
        );
    }

    #[test]
    fn bad_settings_are_errors() {
        assert!(check_fraction(1.0).is_err() && check_fraction(-0.1).is_err());
        assert!(check_inflation(0.5).is_err() && check_inflation(f64::NAN).is_err());
        assert!(BroadGaussian::fit(&[1.0, 2.0], 2, 4.0).is_err());
        assert!(BroadGaussian::new(&[0.0, 0.0], &[1.0, 2.0, 2.0, 1.0]).is_err());
    }
}
