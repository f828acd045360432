//! A smooth, separable polynomial: `f(x) = Σᵢ (xᵢ − xᵢ²)`, `I = d/6`.
//!
//! Easy for any integrator; a sanity check that the machinery is unbiased.

use super::integrand::{evaluate_rows, invalid_setting, Integrand, IntegrandError};

/// `f(x) = Σᵢ (xᵢ − xᵢ²)` on `[0,1]^d`, with integral `d/6`.
#[derive(Debug, Clone, PartialEq)]
pub struct Polynomial {
    dim: usize,
}

impl Polynomial {
    /// The polynomial in `dim ≥ 1` dimensions.
    pub fn new(dim: usize) -> Result<Self, IntegrandError> {
        if dim == 0 {
            return Err(invalid_setting(
                "polynomial",
                "dimension must be at least 1",
            ));
        }
        Ok(Self { dim })
    }
}

impl Integrand for Polynomial {
    fn name(&self) -> &str {
        "polynomial"
    }

    fn dim(&self) -> usize {
        self.dim
    }

    fn evaluate(&self, points: &[f64], out: &mut [f64]) -> Result<(), IntegrandError> {
        evaluate_rows(self, points, out, |row| {
            row.iter().map(|&x| x - x * x).sum()
        })
    }

    fn exact(&self) -> Option<f64> {
        Some(self.dim as f64 / 6.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_and_exact() {
        let p = Polynomial::new(3).unwrap();
        let mut out = [0.0; 2];
        p.evaluate(&[0.5, 0.5, 0.5, 0.0, 1.0, 0.25], &mut out)
            .unwrap();
        assert_eq!(out, [0.75, 0.1875]);
        assert_eq!(p.exact(), Some(0.5));
        assert!(Polynomial::new(0).is_err());
    }
}
