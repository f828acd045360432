//! A narrow Gaussian peak in the centre of the unit hypercube.
//!
//! ```text
//! f(x) = (α√π)^(−d) · exp(−Σᵢ (xᵢ − ½)² / α²),      I = erf(1/(2α))^d
//! ```
//!
//! Each factor is a normal density with standard deviation `α/√2` centred at ½, so the
//! integral over `[0,1]^d` is the probability mass inside the cube.

use super::integrand::{evaluate_rows, invalid_setting, Integrand, IntegrandError};

/// The Gaussian peak `(α√π)^(−d) exp(−Σ(xᵢ−½)²/α²)` on `[0,1]^d` (see the module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct Gaussian {
    dim: usize,
    alpha: f64,
}

impl Gaussian {
    /// The width used when none is given (as in the i-flow paper's test functions).
    pub const DEFAULT_ALPHA: f64 = 0.2;

    /// A Gaussian in `dim ≥ 1` dimensions with width `alpha > 0` (finite).
    pub fn new(dim: usize, alpha: f64) -> Result<Self, IntegrandError> {
        if dim == 0 {
            return Err(invalid_setting("gaussian", "dimension must be at least 1"));
        }
        if !(alpha.is_finite() && alpha > 0.0) {
            return Err(invalid_setting(
                "gaussian",
                format!("alpha must be positive and finite, got {alpha}"),
            ));
        }
        Ok(Self { dim, alpha })
    }

    /// The width `α`.
    pub fn alpha(&self) -> f64 {
        self.alpha
    }
}

impl Integrand for Gaussian {
    fn name(&self) -> &str {
        "gaussian"
    }

    fn dim(&self) -> usize {
        self.dim
    }

    fn evaluate(&self, points: &[f64], out: &mut [f64]) -> Result<(), IntegrandError> {
        let a2 = self.alpha * self.alpha;
        // log of the normalisation (α√π)^(−d), kept in the exponent so that large d
        // neither overflows nor underflows the prefactor on its own.
        let log_norm = -(self.dim as f64) * (self.alpha * std::f64::consts::PI.sqrt()).ln();
        evaluate_rows(self, points, out, |row| {
            let r2: f64 = row.iter().map(|&x| (x - 0.5) * (x - 0.5)).sum();
            (log_norm - r2 / a2).exp()
        })
    }

    fn exact(&self) -> Option<f64> {
        Some(libm::erf(0.5 / self.alpha).powi(self.dim as i32))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_and_exact() {
        let g = Gaussian::new(2, 0.2).unwrap();
        let mut out = [0.0; 3];
        g.evaluate(&[0.5, 0.5, 0.7, 0.5, 1.5, 0.5], &mut out)
            .unwrap();
        let norm = 1.0 / (0.2 * 0.2 * std::f64::consts::PI);
        assert!((out[0] - norm).abs() < 1e-12 * norm);
        assert!((out[1] - norm * (-1.0f64).exp()).abs() < 1e-12 * norm);
        assert_eq!(out[2], 0.0, "zero outside the unit cube");
        let e = g.exact().unwrap();
        assert!((e - libm::erf(2.5).powi(2)).abs() < 1e-15);
    }

    #[test]
    fn midpoint_rule_matches_exact_in_1d() {
        let g = Gaussian::new(1, 0.3).unwrap();
        let n = 20_000;
        let pts: Vec<f64> = (0..n).map(|i| (i as f64 + 0.5) / n as f64).collect();
        let mut out = vec![0.0; n];
        g.evaluate(&pts, &mut out).unwrap();
        let est = out.iter().sum::<f64>() / n as f64;
        assert!((est - g.exact().unwrap()).abs() < 1e-8);
    }

    #[test]
    fn rejects_bad_settings_and_shapes() {
        assert!(Gaussian::new(0, 0.2).is_err());
        assert!(Gaussian::new(2, 0.0).is_err());
        assert!(Gaussian::new(2, f64::NAN).is_err());
        let g = Gaussian::new(2, 0.2).unwrap();
        assert!(g.evaluate(&[0.1, 0.2, 0.3], &mut [0.0; 2]).is_err());
        let mut out = [0.0];
        g.evaluate(&[f64::NAN, 0.5], &mut out).unwrap();
        assert!(out[0].is_nan());
    }
}
