//! A channel map that concentrates points around a peak: a separable truncated-Cauchy
//! map of the unit cube onto itself.
//!
//! Per coordinate, with centre `p` and width `s`, the Cauchy distribution function
//! `F(x) = 1/2 + atan((x − p)/s)/π` restricted to `[0, 1]` (`A = F(0)`, `B = F(1)`)
//! maps `y ∈ [0, 1]` to `x = F⁻¹(A + y (B − A))`, whose density on `[0, 1]` is
//! `g(x) = s / (π (s² + (x − p)²) (B − A))`. The heavy Cauchy tails keep `g` well
//! away from zero over the whole cube, so a channel built on it never leaves a region
//! without points.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::f64::consts::PI;

/// The truncated-Cauchy map of one peak (module docs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PeakMap {
    centre: Vec<f64>,
    width: f64,
    /// `A = F(0)` per coordinate.
    low: Vec<f64>,
    /// `B − A` per coordinate.
    span: Vec<f64>,
}

impl PeakMap {
    /// The map centred at `centre` (a point of `[0, 1]^d`) with width `width > 0`.
    pub fn new(centre: Vec<f64>, width: f64) -> Result<Self> {
        if centre.is_empty() {
            return Err(Error::config("a peak needs at least one coordinate"));
        }
        if let Some((i, v)) = centre
            .iter()
            .enumerate()
            .find(|(_, v)| !(v.is_finite() && (0.0..=1.0).contains(*v)))
        {
            return Err(Error::config(format!(
                "peak coordinate {} is {v}; peaks must lie in the unit cube [0, 1]",
                i + 1
            )));
        }
        if !(width.is_finite() && width > 0.0) {
            return Err(Error::config(format!(
                "the peak width must be positive and finite, got {width}"
            )));
        }
        let cdf = |x: f64, p: f64| 0.5 + ((x - p) / width).atan() / PI;
        let low: Vec<f64> = centre.iter().map(|p| cdf(0.0, *p)).collect();
        let span = centre
            .iter()
            .zip(&low)
            .map(|(p, a)| cdf(1.0, *p) - a)
            .collect();
        Ok(Self {
            centre,
            width,
            low,
            span,
        })
    }

    /// Dimension.
    pub fn dim(&self) -> usize {
        self.centre.len()
    }

    /// The peak.
    pub fn centre(&self) -> &[f64] {
        &self.centre
    }

    /// The width.
    pub fn width(&self) -> f64 {
        self.width
    }

    /// Map one point `y` of the unit cube to `x` (written into `x`).
    pub fn map_point(&self, y: &[f64], x: &mut [f64]) {
        for j in 0..self.dim() {
            let u = self.low[j] + y[j] * self.span[j];
            let v = self.centre[j] + self.width * (PI * (u - 0.5)).tan();
            x[j] = v.clamp(0.0, 1.0);
        }
    }

    /// `ln g(x)`, the map's density at `x` on the unit cube.
    pub fn log_density(&self, x: &[f64]) -> f64 {
        let s = self.width;
        (0..self.dim())
            .map(|j| {
                let r = x[j] - self.centre[j];
                (s / PI).ln() - (s * s + r * r).ln() - self.span[j].ln()
            })
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_map_covers_the_cube_and_its_density_integrates_to_one() {
        let m = PeakMap::new(vec![0.3, 0.9], 0.05).unwrap();
        let mut x = [0.0; 2];
        m.map_point(&[0.0, 0.0], &mut x);
        assert!(x.iter().all(|v| v.abs() < 1e-12), "{x:?}");
        m.map_point(&[1.0, 1.0], &mut x);
        assert!(x.iter().all(|v| (v - 1.0).abs() < 1e-12), "{x:?}");
        m.map_point(&[0.5, 0.5], &mut x);
        // The median of the truncated distribution lies near the peak.
        assert!((x[0] - 0.3).abs() < 0.01 && x[1] > 0.8, "{x:?}");
        // ∫ g = 1 by the midpoint rule on a fine grid.
        let n = 2000;
        let h = 1.0 / n as f64;
        let mut total = 0.0;
        for i in 0..n {
            for j in 0..n {
                let p = [(i as f64 + 0.5) * h, (j as f64 + 0.5) * h];
                total += m.log_density(&p).exp() * h * h;
            }
        }
        assert!((total - 1.0).abs() < 1e-3, "∫g = {total}");
        // The density is the Jacobian of the inverse map: g(x(y)) · ∂x/∂y = 1.
        let y = [0.37, 0.61];
        let eps = 1e-6;
        let mut a = [0.0; 2];
        let mut b = [0.0; 2];
        m.map_point(&[y[0] - eps, y[1]], &mut a);
        m.map_point(&[y[0] + eps, y[1]], &mut b);
        let dx0 = (b[0] - a[0]) / (2.0 * eps);
        m.map_point(&[y[0], y[1] - eps], &mut a);
        m.map_point(&[y[0], y[1] + eps], &mut b);
        let dx1 = (b[1] - a[1]) / (2.0 * eps);
        m.map_point(&y, &mut x);
        let j = m.log_density(&x).exp() * dx0 * dx1;
        assert!((j - 1.0).abs() < 1e-5, "g·|∂x/∂y| = {j}");
    }

    #[test]
    fn bad_peaks_are_clear_errors() {
        assert!(PeakMap::new(vec![], 0.1).is_err());
        let e = PeakMap::new(vec![0.5, 1.5], 0.1).unwrap_err().to_string();
        assert!(e.contains("coordinate 2"), "{e}");
        assert!(PeakMap::new(vec![0.5], 0.0).is_err());
        assert!(PeakMap::new(vec![0.5], f64::NAN).is_err());
    }
}
