//! The indicator of an annulus in the unit square (d = 2).
//!
//! ```text
//! f(x) = 1 if 0.2² < (x₁ − ½)² + (x₂ − ½)² < 0.45², else 0;     I = π (0.45² − 0.2²) = 0.1625 π
//! ```
//!
//! A discontinuous integrand whose support is not aligned with the axes.

use super::integrand::{evaluate_rows, Integrand, IntegrandError};

/// Inner radius of the annulus.
const R_INNER: f64 = 0.2;
/// Outer radius of the annulus.
const R_OUTER: f64 = 0.45;

/// The indicator of the annulus `0.2 < |x − (½,½)| < 0.45` in `[0,1]²`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Annulus;

impl Integrand for Annulus {
    fn name(&self) -> &str {
        "annulus"
    }

    fn dim(&self) -> usize {
        2
    }

    fn evaluate(&self, points: &[f64], out: &mut [f64]) -> Result<(), IntegrandError> {
        evaluate_rows(self, points, out, |row| {
            let r2 = (row[0] - 0.5).powi(2) + (row[1] - 0.5).powi(2);
            if R_INNER * R_INNER < r2 && r2 < R_OUTER * R_OUTER {
                1.0
            } else {
                0.0
            }
        })
    }

    fn exact(&self) -> Option<f64> {
        Some(std::f64::consts::PI * (R_OUTER * R_OUTER - R_INNER * R_INNER))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_and_exact() {
        let mut out = [0.0; 4];
        Annulus
            .evaluate(&[0.5, 0.5, 0.8, 0.5, 0.5, 0.96, 0.0, 0.0], &mut out)
            .unwrap();
        assert_eq!(out, [0.0, 1.0, 0.0, 0.0]);
        let e = Annulus.exact().unwrap();
        assert!((e - std::f64::consts::PI * 0.1625).abs() < 1e-15);
    }

    #[test]
    fn midpoint_rule_matches_exact() {
        let n = 1000;
        let mut pts = Vec::with_capacity(2 * n * n);
        for i in 0..n {
            for j in 0..n {
                pts.push((i as f64 + 0.5) / n as f64);
                pts.push((j as f64 + 0.5) / n as f64);
            }
        }
        let mut out = vec![0.0; n * n];
        Annulus.evaluate(&pts, &mut out).unwrap();
        let est = out.iter().sum::<f64>() / (n * n) as f64;
        assert!((est - Annulus.exact().unwrap()).abs() < 1e-4);
    }
}
