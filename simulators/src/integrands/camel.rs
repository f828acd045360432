//! Two Gaussian peaks on the diagonal of the unit hypercube (the "camel").
//!
//! ```text
//! f(x) = ½ (α√π)^(−d) [exp(−Σᵢ (xᵢ − ⅓)²/α²) + exp(−Σᵢ (xᵢ − ⅔)²/α²)]
//! I    = [½ (erf(1/(3α)) + erf(2/(3α)))]^d
//! ```
//!
//! A separable (VEGAS) grid puts `2^d` peaks where there are two, so this is the
//! standard example of an integrand a flow handles better than VEGAS.

use super::integrand::{evaluate_rows, invalid_setting, Integrand, IntegrandError};

/// The camel: two Gaussian peaks at `(⅓,…,⅓)` and `(⅔,…,⅔)` (see the module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct Camel {
    dim: usize,
    alpha: f64,
}

impl Camel {
    /// The width used when none is given.
    pub const DEFAULT_ALPHA: f64 = 0.2;

    /// A camel in `dim ≥ 1` dimensions with peak width `alpha > 0` (finite).
    pub fn new(dim: usize, alpha: f64) -> Result<Self, IntegrandError> {
        if dim == 0 {
            return Err(invalid_setting("camel", "dimension must be at least 1"));
        }
        if !(alpha.is_finite() && alpha > 0.0) {
            return Err(invalid_setting(
                "camel",
                format!("alpha must be positive and finite, got {alpha}"),
            ));
        }
        Ok(Self { dim, alpha })
    }

    /// The peak width `α`.
    pub fn alpha(&self) -> f64 {
        self.alpha
    }
}

impl Integrand for Camel {
    fn name(&self) -> &str {
        "camel"
    }

    fn dim(&self) -> usize {
        self.dim
    }

    fn evaluate(&self, points: &[f64], out: &mut [f64]) -> Result<(), IntegrandError> {
        let a2 = self.alpha * self.alpha;
        let log_norm = -(self.dim as f64) * (self.alpha * std::f64::consts::PI.sqrt()).ln();
        evaluate_rows(self, points, out, |row| {
            let (mut r1, mut r2) = (0.0, 0.0);
            for &x in row {
                r1 += (x - 1.0 / 3.0) * (x - 1.0 / 3.0);
                r2 += (x - 2.0 / 3.0) * (x - 2.0 / 3.0);
            }
            0.5 * ((log_norm - r1 / a2).exp() + (log_norm - r2 / a2).exp())
        })
    }

    fn exact(&self) -> Option<f64> {
        let a = self.alpha;
        let one_dim = 0.5 * (libm::erf(1.0 / (3.0 * a)) + libm::erf(2.0 / (3.0 * a)));
        Some(one_dim.powi(self.dim as i32))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symmetric_peaks_and_exact() {
        let c = Camel::new(3, Camel::DEFAULT_ALPHA).unwrap();
        let mut out = [0.0; 2];
        let t = 1.0 / 3.0;
        let u = 2.0 / 3.0;
        c.evaluate(&[t, t, t, u, u, u], &mut out).unwrap();
        assert!((out[0] - out[1]).abs() < 1e-12 * out[0]);
        let peak = 0.5 * (0.2 * std::f64::consts::PI.sqrt()).powi(-3);
        // the other peak's tail adds exp(-3 (1/3)^2 / 0.04) relative
        let tail = (-3.0 / 9.0 / 0.04f64).exp();
        assert!((out[0] - peak * (1.0 + tail)).abs() < 1e-12 * peak);
        let e = c.exact().unwrap();
        let expect = (0.5 * (libm::erf(1.0 / 0.6) + libm::erf(2.0 / 0.6))).powi(3);
        assert!((e - expect).abs() < 1e-15);
    }

    #[test]
    fn midpoint_rule_matches_exact_in_2d() {
        let c = Camel::new(2, 0.2).unwrap();
        let n = 400;
        let mut pts = Vec::with_capacity(2 * n * n);
        for i in 0..n {
            for j in 0..n {
                pts.push((i as f64 + 0.5) / n as f64);
                pts.push((j as f64 + 0.5) / n as f64);
            }
        }
        let mut out = vec![0.0; n * n];
        c.evaluate(&pts, &mut out).unwrap();
        let est = out.iter().sum::<f64>() / (n * n) as f64;
        assert!((est - c.exact().unwrap()).abs() < 1e-5);
    }

    #[test]
    fn rejects_bad_settings() {
        assert!(Camel::new(0, 0.2).is_err());
        assert!(Camel::new(2, -1.0).is_err());
        assert!(Camel::new(2, f64::INFINITY).is_err());
    }
}
