//! A needle: a narrow correlated Gaussian along the main diagonal of the unit hypercube.
//!
//! ```text
//! f(x) = N(x; c·1, Σ),   Σ = σ² [(1 − ρ) I + ρ 11ᵀ],   I = P(X ∈ [0,1]^d), X ~ N(c·1, Σ)
//! ```
//!
//! Every coordinate has standard deviation `σ`; along the diagonal the spread is
//! `σ √(1 + (d−1)ρ)`, across it `σ √(1 − ρ)`. The density is normalised over `R^d`, so
//! the integral over the cube is the Gaussian probability of the cube, computed by a
//! one-dimensional quadrature for `ρ ≥ 0` (module `box_probability`). For `ρ < 0` the
//! value is `1 − B` with `B = d (Φ(−c/σ) + Φ((c−1)/σ))` the union bound on the mass
//! outside, given only when `B ≤ 10⁻¹²` (the error is at most `B`).
//!
//! Hard because the mass sits in a thin cigar oblique to every axis: with the defaults
//! (`σ = 0.05`, `ρ = 0.9`) the cross-section is `σ √(1−ρ) ≈ 0.016` wide in `d − 1`
//! directions, and a separable (VEGAS) grid that matches the marginals is too narrow
//! along the diagonal (docs/HARD_INTEGRANDS.md).

use super::box_probability::{equicorrelated_box_probability, outside_bound};
use super::integrand::{evaluate_rows, invalid_setting, Integrand, IntegrandError};

/// Largest union bound on the mass outside the cube for which a negative correlation
/// still has an exact value.
const NEGATIVE_RHO_TOLERANCE: f64 = 1e-12;

/// The needle `N(x; c·1, σ²[(1−ρ)I + ρ11ᵀ])` on `[0,1]^d` (see the module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct Needle {
    name: &'static str,
    dim: usize,
    width: f64,
    correlation: f64,
    centre: f64,
    /// `−½ log((2π)^d |Σ|)`.
    log_norm: f64,
    /// `1 / (σ²(1 − ρ))`: precision across the diagonal.
    across: f64,
    /// `1 / (d σ² (1 + (d−1)ρ))`: precision of the coordinate sum.
    along: f64,
}

impl Needle {
    /// Per-coordinate standard deviation `σ` used when none is given.
    pub const DEFAULT_WIDTH: f64 = 0.05;
    /// Correlation `ρ` between coordinates used when none is given.
    pub const DEFAULT_CORRELATION: f64 = 0.9;
    /// Centre coordinate `c` (the needle sits at `(c, …, c)`) used when none is given.
    pub const DEFAULT_CENTRE: f64 = 0.5;

    /// A needle in `dim ≥ 1` dimensions with per-coordinate standard deviation
    /// `width > 0`, correlation `−1/(d−1) < correlation < 1` (`−1 < ρ < 1` in one
    /// dimension) and centre `(centre, …, centre)` with `0 < centre < 1`.
    ///
    /// ```
    /// use flowinfer_simulators::integrands::{Integrand, Needle};
    /// let n = Needle::new(8, 0.05, 0.9, 0.5)?;
    /// let mut f = [0.0; 2];
    /// n.evaluate(&[0.5; 16], &mut f)?; // two points at the centre
    /// assert!(f[0] > 1e9 && f[0] == f[1]);
    /// assert!((n.exact().unwrap() - 1.0).abs() < 1e-15); // all its mass is inside
    /// assert!(Needle::new(8, 0.05, 1.0, 0.5).is_err());
    /// # Ok::<(), flowinfer_simulators::IntegrandError>(())
    /// ```
    pub fn new(
        dim: usize,
        width: f64,
        correlation: f64,
        centre: f64,
    ) -> Result<Self, IntegrandError> {
        Self::named("needle", dim, width, correlation, centre)
    }

    /// [`Needle::new`] with errors naming the integrand `name` (a needle inside another).
    pub(crate) fn named(
        name: &'static str,
        dim: usize,
        width: f64,
        correlation: f64,
        centre: f64,
    ) -> Result<Self, IntegrandError> {
        if dim == 0 {
            return Err(invalid_setting(name, "dimension must be at least 1"));
        }
        if !(width.is_finite() && width > 0.0) {
            return Err(invalid_setting(
                name,
                format!("width must be positive and finite, got {width}"),
            ));
        }
        let lowest = -1.0 / (dim.max(2) - 1) as f64;
        if !(correlation > lowest && correlation < 1.0) {
            return Err(invalid_setting(
                name,
                format!(
                    "correlation must lie strictly between {lowest} and 1 in dimension {dim} \
                     (so that the covariance is positive definite), got {correlation}"
                ),
            ));
        }
        if !(centre > 0.0 && centre < 1.0) {
            return Err(invalid_setting(
                name,
                format!("centre must lie strictly between 0 and 1, got {centre}"),
            ));
        }
        let d = dim as f64;
        let s2 = width * width;
        let spread = 1.0 + (d - 1.0) * correlation;
        let log_det = d * s2.ln() + (d - 1.0) * (1.0 - correlation).ln() + spread.ln();
        Ok(Self {
            name,
            dim,
            width,
            correlation,
            centre,
            log_norm: -0.5 * (d * (2.0 * std::f64::consts::PI).ln() + log_det),
            across: 1.0 / (s2 * (1.0 - correlation)),
            along: 1.0 / (d * s2 * spread),
        })
    }

    /// Per-coordinate standard deviation `σ`.
    pub fn width(&self) -> f64 {
        self.width
    }

    /// Correlation `ρ` between any two coordinates.
    pub fn correlation(&self) -> f64 {
        self.correlation
    }

    /// Centre coordinate `c`.
    pub fn centre(&self) -> f64 {
        self.centre
    }

    /// `log f(x)` at a point of the cube (`row.len() == dim`), without the cube check:
    /// `log_norm − ½ [Σ(vᵢ − v̄)²/(σ²(1−ρ)) + (Σvᵢ)²/(dσ²(1+(d−1)ρ))]`, `v = x − c·1`
    /// (the across-diagonal part in two passes, free of cancellation).
    pub(crate) fn log_density(&self, row: &[f64]) -> f64 {
        let sum: f64 = row.iter().map(|&x| x - self.centre).sum();
        let mean = sum / self.dim as f64;
        let across: f64 = row
            .iter()
            .map(|&x| {
                let r = x - self.centre - mean;
                r * r
            })
            .sum();
        self.log_norm - 0.5 * (across * self.across + sum * sum * self.along)
    }

    /// The Gaussian probability of the cube (the exact integral), when known (module
    /// docs: always for `ρ ≥ 0`).
    pub(crate) fn mass_in_cube(&self) -> Option<f64> {
        let l = -self.centre / self.width;
        let u = (1.0 - self.centre) / self.width;
        if self.correlation >= 0.0 || self.dim == 1 {
            let rho = if self.dim == 1 { 0.0 } else { self.correlation };
            return Some(equicorrelated_box_probability(self.dim, l, u, rho));
        }
        let bound = outside_bound(self.dim, l, u);
        (bound <= NEGATIVE_RHO_TOLERANCE).then_some(1.0 - bound)
    }
}

impl Integrand for Needle {
    fn name(&self) -> &str {
        self.name
    }

    fn dim(&self) -> usize {
        self.dim
    }

    fn evaluate(&self, points: &[f64], out: &mut [f64]) -> Result<(), IntegrandError> {
        evaluate_rows(self, points, out, |row| self.log_density(row).exp())
    }

    fn exact(&self) -> Option<f64> {
        self.mass_in_cube()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::integrands::box_probability::outside_bound;
    use crate::integrands::reference::{grid_2d, uniform_mc};

    #[test]
    fn density_matches_the_explicit_inverse_in_2d() {
        let (s, r, c) = (0.1, 0.6, 0.4);
        let n = Needle::new(2, s, r, c).unwrap();
        let (x, y) = (0.47, 0.31);
        let (v1, v2) = (x - c, y - c);
        let det = s.powi(4) * (1.0 - r * r);
        let q = (v1 * v1 - 2.0 * r * v1 * v2 + v2 * v2) / (s * s * (1.0 - r * r));
        let expect = (-0.5 * q).exp() / (2.0 * std::f64::consts::PI * det.sqrt());
        let mut out = [0.0];
        n.evaluate(&[x, y], &mut out).unwrap();
        assert!(
            (out[0] - expect).abs() < 1e-12 * expect,
            "{} vs {expect}",
            out[0]
        );
    }

    #[test]
    fn exact_matches_a_fine_grid_in_2d() {
        // Default shape: all mass inside. Wide, off-centre and anti-correlated: a
        // sizeable part outside, so a wrong box probability would show.
        for (s, r, c) in [(0.05, 0.9, 0.5), (0.25, 0.7, 0.3), (0.2, -0.5, 0.6)] {
            let n = Needle::new(2, s, r, c).unwrap();
            let grid = grid_2d(&n, 0.0, 1.0, 2000);
            match n.exact() {
                Some(e) => assert!((grid - e).abs() < 1e-6, "{s} {r} {c}: {grid} vs {e}"),
                None => assert!(r < 0.0 && grid < 1.0 - 1e-3, "{s} {r} {c}: {grid}"),
            }
        }
    }

    #[test]
    fn exact_matches_uniform_monte_carlo_in_4d() {
        // Wide enough for plain Monte Carlo (standard error below 1 % at 10⁶ points) and
        // with a good part of the mass outside the cube.
        let n = Needle::new(4, 0.35, 0.6, 0.4).unwrap();
        let e = n.exact().unwrap();
        assert!(e < 0.8, "{e}");
        let (mc, se) = uniform_mc(&n, 1_000_000, 3);
        assert!(
            (mc - e).abs() < 5.0 * se && se < 0.01 * e,
            "{mc} ± {se} vs {e}"
        );
    }

    #[test]
    fn defaults_keep_the_mass_inside() {
        for d in [4, 8, 16] {
            let n = Needle::new(
                d,
                Needle::DEFAULT_WIDTH,
                Needle::DEFAULT_CORRELATION,
                Needle::DEFAULT_CENTRE,
            )
            .unwrap();
            // Each coordinate is 10 σ from the faces: the outside mass is ≤ 2d Φ(−10).
            let bound = outside_bound(d, -10.0, 10.0);
            assert!(bound < 1e-21, "d = {d}: {bound}");
            assert!((n.exact().unwrap() - 1.0).abs() <= bound.max(1e-15));
        }
    }

    #[test]
    fn negative_correlation_has_a_value_only_when_the_tails_vanish() {
        assert!(Needle::new(8, 0.05, -0.1, 0.5).unwrap().exact().unwrap() > 1.0 - 1e-15);
        assert!(Needle::new(8, 0.3, -0.1, 0.5).unwrap().exact().is_none());
    }

    #[test]
    fn batch_equals_single_points() {
        let n = Needle::new(3, 0.1, 0.8, 0.5).unwrap();
        let pts = [
            0.5, 0.52, 0.49, 0.3, 0.35, 0.28, 0.9, 0.1, 0.5, 1.2, 0.5, 0.5,
        ];
        let mut batch = [0.0; 4];
        n.evaluate(&pts, &mut batch).unwrap();
        for (row, b) in pts.chunks(3).zip(batch) {
            let mut one = [0.0];
            n.evaluate(row, &mut one).unwrap();
            assert_eq!(one[0], b);
        }
        assert_eq!(batch[3], 0.0, "zero outside the cube");
        assert!(n.evaluate(&pts[..5], &mut [0.0; 2]).is_err());
    }

    #[test]
    fn rejects_bad_settings() {
        let err = |d, s, r, c| Needle::new(d, s, r, c).err().unwrap().to_string();
        assert!(err(0, 0.1, 0.5, 0.5).contains("at least 1"));
        assert!(err(4, 0.0, 0.5, 0.5).contains("width must be positive"));
        assert!(err(4, -0.1, 0.5, 0.5).contains("width must be positive"));
        assert!(err(4, f64::NAN, 0.5, 0.5).contains("width"));
        let msg = err(4, 0.1, 1.0, 0.5);
        assert!(
            msg.contains("between -0.333") && msg.contains("got 1"),
            "{msg}"
        );
        assert!(err(4, 0.1, -0.34, 0.5).contains("correlation"));
        assert!(err(2, 0.1, f64::NAN, 0.5).contains("correlation"));
        assert!(err(4, 0.1, 0.5, 1.0).contains("centre must lie"));
        assert!(Needle::new(4, 0.1, -0.33, 0.5).is_ok());
        assert!(Needle::new(1, 0.1, -0.9, 0.5).is_ok());
    }
}
