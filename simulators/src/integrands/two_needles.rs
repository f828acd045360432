//! Two needles far apart on the main diagonal: a weighted mixture of two narrow
//! correlated Gaussians ([`Needle`]) centred at `(¼, …, ¼)` and `(¾, …, ¾)`.
//!
//! ```text
//! f(x) = a N(x; ¼·1, Σ) + (1 − a) N(x; ¾·1, Σ),   Σ = σ² [(1 − ρ) I + ρ 11ᵀ]
//! I    = a P₁ + (1 − a) P₂,   Pₖ = the Gaussian probability of the cube of needle k
//! ```
//!
//! Each `Pₖ` comes from the one-dimensional quadrature of the single needle (module
//! `box_probability`); the two are equal by symmetry. With the defaults (`σ = 0.05`,
//! `ρ = 0.9`, `a = 0.7`) the centres are 5 σ from the faces, so about `2·10⁻⁶` of the
//! mass lies outside the cube and `I` is visibly below 1.
//!
//! Hard because the two modes are `½√d` apart (about 10 needle lengths in `d = 8`) with
//! nothing in between: a proposal that finds one needle sees no signal of the other,
//! and dropping the lighter one (weight `1 − a = 0.3`) biases the estimate by 30 %
//! while its variance looks small.

use super::integrand::{evaluate_rows, invalid_setting, Integrand, IntegrandError};
use super::Needle;

/// Centre coordinate of the first needle (the second sits at `1 −` this).
const FIRST_CENTRE: f64 = 0.25;

/// The mixture `a N(¼·1, Σ) + (1 − a) N(¾·1, Σ)` on `[0,1]^d` (see the module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct TwoNeedles {
    first: Needle,
    second: Needle,
    weight: f64,
}

impl TwoNeedles {
    /// Per-coordinate standard deviation `σ` of each needle used when none is given.
    pub const DEFAULT_WIDTH: f64 = Needle::DEFAULT_WIDTH;
    /// Correlation `ρ` used when none is given.
    pub const DEFAULT_CORRELATION: f64 = Needle::DEFAULT_CORRELATION;
    /// Weight `a` of the needle at `(¼, …, ¼)` used when none is given.
    pub const DEFAULT_WEIGHT: f64 = 0.7;

    /// Two needles in `dim ≥ 1` dimensions with per-coordinate standard deviation
    /// `width > 0`, correlation `−1/(d−1) < correlation < 1` and weight `0 < weight < 1`
    /// of the first (at `(¼, …, ¼)`).
    ///
    /// ```
    /// use flowinfer_simulators::integrands::{Integrand, TwoNeedles};
    /// let f = TwoNeedles::new(8, 0.05, 0.9, 0.7)?;
    /// let mut v = [0.0; 2];
    /// f.evaluate(&[[0.25; 8], [0.75; 8]].concat(), &mut v)?;
    /// assert!((v[0] / v[1] - 0.7 / 0.3).abs() < 1e-9); // the peaks, in the weights' ratio
    /// let e = f.exact().unwrap();
    /// assert!(e < 1.0 - 1e-6 && e > 1.0 - 1e-5); // some mass lies outside the cube
    /// assert!(TwoNeedles::new(8, 0.05, 0.9, 1.0).is_err());
    /// # Ok::<(), flowinfer_simulators::IntegrandError>(())
    /// ```
    pub fn new(
        dim: usize,
        width: f64,
        correlation: f64,
        weight: f64,
    ) -> Result<Self, IntegrandError> {
        let first = Needle::named("two_needles", dim, width, correlation, FIRST_CENTRE)?;
        let second = Needle::named("two_needles", dim, width, correlation, 1.0 - FIRST_CENTRE)?;
        if !(weight > 0.0 && weight < 1.0) {
            return Err(invalid_setting(
                "two_needles",
                format!("weight must lie strictly between 0 and 1, got {weight}"),
            ));
        }
        Ok(Self {
            first,
            second,
            weight,
        })
    }

    /// Per-coordinate standard deviation `σ` of each needle.
    pub fn width(&self) -> f64 {
        self.first.width()
    }

    /// Correlation `ρ` between coordinates.
    pub fn correlation(&self) -> f64 {
        self.first.correlation()
    }

    /// Weight `a` of the needle at `(¼, …, ¼)`.
    pub fn weight(&self) -> f64 {
        self.weight
    }
}

impl Integrand for TwoNeedles {
    fn name(&self) -> &str {
        "two_needles"
    }

    fn dim(&self) -> usize {
        self.first.dim()
    }

    fn evaluate(&self, points: &[f64], out: &mut [f64]) -> Result<(), IntegrandError> {
        let (a, b) = (self.weight, 1.0 - self.weight);
        evaluate_rows(self, points, out, |row| {
            a * self.first.log_density(row).exp() + b * self.second.log_density(row).exp()
        })
    }

    fn exact(&self) -> Option<f64> {
        let p1 = self.first.mass_in_cube()?;
        let p2 = self.second.mass_in_cube()?;
        Some(self.weight * p1 + (1.0 - self.weight) * p2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::integrands::reference::{grid_2d, uniform_mc};

    #[test]
    fn exact_matches_a_fine_grid_in_2d() {
        // Wide needles lose a sizeable part of their mass past the faces.
        for (s, r, a) in [(0.05, 0.9, 0.7), (0.12, 0.5, 0.2), (0.03, -0.6, 0.5)] {
            let f = TwoNeedles::new(2, s, r, a).unwrap();
            let grid = grid_2d(&f, 0.0, 1.0, 2000);
            let e = f.exact().expect("exact value");
            assert!((grid - e).abs() < 1e-6, "{s} {r} {a}: {grid} vs {e}");
        }
        assert!(TwoNeedles::new(2, 0.12, 0.5, 0.2).unwrap().exact().unwrap() < 0.97);
    }

    #[test]
    fn exact_matches_uniform_monte_carlo_in_4d() {
        let f = TwoNeedles::new(4, 0.15, 0.5, 0.3).unwrap();
        let e = f.exact().unwrap();
        let (mc, se) = uniform_mc(&f, 1_000_000, 5);
        assert!(
            (mc - e).abs() < 5.0 * se && se < 0.01 * e,
            "{mc} ± {se} vs {e}"
        );
    }

    #[test]
    fn the_mixture_weights_the_two_needles() {
        let f = TwoNeedles::new(3, 0.1, 0.5, 0.3).unwrap();
        let one = Needle::new(3, 0.1, 0.5, 0.25).unwrap();
        let two = Needle::new(3, 0.1, 0.5, 0.75).unwrap();
        let x = [0.3, 0.2, 0.4];
        let (mut v, mut v1, mut v2) = ([0.0], [0.0], [0.0]);
        f.evaluate(&x, &mut v).unwrap();
        one.evaluate(&x, &mut v1).unwrap();
        two.evaluate(&x, &mut v2).unwrap();
        assert!((v[0] - (0.3 * v1[0] + 0.7 * v2[0])).abs() < 1e-12 * v[0]);
        let e = 0.3 * one.exact().unwrap() + 0.7 * two.exact().unwrap();
        assert!((f.exact().unwrap() - e).abs() < 1e-15);
    }

    #[test]
    fn rejects_bad_settings_naming_itself() {
        let err = |d, s, r, a| TwoNeedles::new(d, s, r, a).err().unwrap().to_string();
        let msg = err(4, 0.0, 0.5, 0.5);
        assert!(
            msg.contains("two_needles") && msg.contains("width"),
            "{msg}"
        );
        assert!(err(4, 0.1, -0.5, 0.5).contains("correlation must lie"));
        assert!(err(4, 0.1, 0.5, 0.0).contains("weight must lie strictly between 0 and 1"));
        assert!(err(4, 0.1, 0.5, f64::NAN).contains("weight"));
    }
}
