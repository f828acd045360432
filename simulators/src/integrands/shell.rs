//! A thin spherical shell centred in the unit hypercube.
//!
//! ```text
//! f(x) = N exp(−(‖x − c‖ − r)² / (2w²))  for ‖x − c‖ < ½,  0 beyond,   c = (½, …, ½)
//! N    = 1 / (S_{d−1} R(0, ∞)),   I = R(0, ½) / R(0, ∞),
//! R(a, b) = ∫_a^b exp(−(ρ − r)²/(2w²)) ρ^{d−1} dρ,   S_{d−1} = 2π^{d/2} / Γ(d/2)
//! ```
//!
//! `N` normalises the untruncated shell over `R^d`. The shell is cut at the sphere
//! inscribed in the cube (radius ½), so the integral over the cube is the radial
//! integral up to ½: the ratio `I` is computed by Gauss–Legendre panels on the radial
//! profile (no Monte Carlo, no bound). With the defaults (`r = 0.35`, `w = 0.01`) the
//! cut is 15 w beyond the shell, where the profile is `e^{−112}` of its peak, so the
//! integrand is continuous to round-off and `I = 1` to double precision.
//!
//! Hard because the mass lies on a curved surface: no separable grid follows it, and a
//! flow must wrap the whole sphere.

use super::box_probability::integrate_graded;
use super::integrand::{evaluate_rows, invalid_setting, Integrand, IntegrandError};

/// Radius of the sphere inscribed in the unit cube, where the shell is cut.
const CUT: f64 = 0.5;
/// Half-width of the radial range, in units of `w`, beyond which the profile is below
/// `e^{−800}` of its peak.
const RANGE: f64 = 40.0;

/// The thin shell `N exp(−(‖x − c‖ − r)²/(2w²))` inside the inscribed ball (module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct Shell {
    dim: usize,
    radius: f64,
    width: f64,
    /// `log N`.
    log_norm: f64,
    /// `R(0, ½) / R(0, ∞)`.
    exact: f64,
}

impl Shell {
    /// Radius `r` used when none is given.
    pub const DEFAULT_RADIUS: f64 = 0.35;
    /// Radial width `w` used when none is given.
    pub const DEFAULT_WIDTH: f64 = 0.01;

    /// A shell in `dim ≥ 1` dimensions with radius `0 < radius < ½` (inside the cube)
    /// and radial width `width > 0`.
    ///
    /// ```
    /// use flowinfer_simulators::integrands::{Integrand, Shell};
    /// let s = Shell::new(8, 0.35, 0.01)?;
    /// let mut f = [0.0; 2];
    /// s.evaluate(&[0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.85, /* on the shell */
    ///              0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5], &mut f)?; // at the centre
    /// assert!(f[0] > 1e3 && f[1] < 1e-200); // e^{−612} of the peak at the centre
    /// assert!((s.exact().unwrap() - 1.0).abs() < 1e-12);
    /// assert!(Shell::new(8, 0.5, 0.01).is_err()); // would touch the faces
    /// # Ok::<(), flowinfer_simulators::IntegrandError>(())
    /// ```
    pub fn new(dim: usize, radius: f64, width: f64) -> Result<Self, IntegrandError> {
        if dim == 0 {
            return Err(invalid_setting("shell", "dimension must be at least 1"));
        }
        if !(radius > 0.0 && radius < CUT) {
            return Err(invalid_setting(
                "shell",
                format!(
                    "radius must lie strictly between 0 and 0.5 so that the shell fits \
                     inside the unit cube, got {radius}"
                ),
            ));
        }
        if !(width.is_finite() && width > 0.0) {
            return Err(invalid_setting(
                "shell",
                format!("width must be positive and finite, got {width}"),
            ));
        }
        let d = dim as f64;
        // The radial log-profile is concave with its maximum at ρ*, the positive root of
        // ρ² − rρ − (d−1)w² = 0; it falls at least as fast as a Gaussian of width w.
        let peak = 0.5 * (radius + (radius * radius + 4.0 * (d - 1.0) * width * width).sqrt());
        let log_profile = |rho: f64| {
            let t = (rho - radius) / width;
            -0.5 * t * t + (d - 1.0) * rho.ln()
        };
        let log_peak = log_profile(peak);
        let scaled = |rho: f64| {
            if rho <= 0.0 {
                0.0
            } else {
                (log_profile(rho) - log_peak).exp()
            }
        };
        let lo = (peak - RANGE * width).max(0.0);
        let hi = peak + RANGE * width;
        let radial = |b: f64| integrate_graded(scaled, lo, b, &[peak], width, width);
        let total = radial(hi);
        let inside = if hi <= CUT { total } else { radial(CUT) };
        let log_sphere =
            std::f64::consts::LN_2 + 0.5 * d * std::f64::consts::PI.ln() - libm::lgamma(0.5 * d);
        Ok(Self {
            dim,
            radius,
            width,
            log_norm: -log_sphere - log_peak - total.ln(),
            exact: inside / total,
        })
    }

    /// Radius `r`.
    pub fn radius(&self) -> f64 {
        self.radius
    }

    /// Radial width `w`.
    pub fn width(&self) -> f64 {
        self.width
    }
}

impl Integrand for Shell {
    fn name(&self) -> &str {
        "shell"
    }

    fn dim(&self) -> usize {
        self.dim
    }

    fn evaluate(&self, points: &[f64], out: &mut [f64]) -> Result<(), IntegrandError> {
        evaluate_rows(self, points, out, |row| {
            let r2: f64 = row.iter().map(|&x| (x - 0.5) * (x - 0.5)).sum();
            if r2 >= CUT * CUT {
                return 0.0;
            }
            let t = (r2.sqrt() - self.radius) / self.width;
            (self.log_norm - 0.5 * t * t).exp()
        })
    }

    fn exact(&self) -> Option<f64> {
        Some(self.exact)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::integrands::box_probability::normal_cdf;
    use crate::integrands::reference::{grid_2d, uniform_mc};

    #[test]
    fn one_dimension_has_a_closed_form() {
        // Two half-Gaussians at ½ ± r: N = 1/(2w√(2π) Φ(r/w)),
        // I = [Φ((½ − r)/w) − Φ(−r/w)] / Φ(r/w).
        for (r, w) in [(0.3, 0.05), (0.4, 0.2), (0.05, 0.1)] {
            let s = Shell::new(1, r, w).unwrap();
            let phi = normal_cdf(r / w);
            let expect = (normal_cdf((0.5 - r) / w) - normal_cdf(-r / w)) / phi;
            assert!((s.exact().unwrap() - expect).abs() < 1e-13, "{r} {w}");
            let mut f = [0.0];
            s.evaluate(&[0.5 + r], &mut f).unwrap();
            let norm = 1.0 / (2.0 * w * (2.0 * std::f64::consts::PI).sqrt() * phi);
            assert!(
                (f[0] - norm).abs() < 1e-12 * norm,
                "{r} {w}: {} vs {norm}",
                f[0]
            );
        }
    }

    #[test]
    fn exact_matches_a_fine_grid_in_2d() {
        // Thin and inside (I ≈ 1), and wide with a sixth of the mass cut off.
        for (r, w) in [(0.3, 0.01), (0.4, 0.1)] {
            let s = Shell::new(2, r, w).unwrap();
            let e = s.exact().unwrap();
            let grid = grid_2d(&s, 0.0, 1.0, 2000);
            assert!((grid - e).abs() < 2e-4, "{r} {w}: {grid} vs {e}");
        }
        assert!(Shell::new(2, 0.4, 0.1).unwrap().exact().unwrap() < 0.9);
    }

    #[test]
    fn exact_matches_uniform_monte_carlo_in_3d_and_5d() {
        for (d, r, w) in [(3, 0.3, 0.05), (5, 0.4, 0.05)] {
            let s = Shell::new(d, r, w).unwrap();
            let e = s.exact().unwrap();
            let (mc, se) = uniform_mc(&s, 1_000_000, 7);
            assert!(
                (mc - e).abs() < 5.0 * se && se < 0.01 * e,
                "d = {d}: {mc} ± {se} vs {e}"
            );
        }
    }

    #[test]
    fn high_dimensions_stay_finite() {
        for d in [8, 16, 64] {
            let s = Shell::new(d, Shell::DEFAULT_RADIUS, Shell::DEFAULT_WIDTH).unwrap();
            let e = s.exact().unwrap();
            assert!((e - 1.0).abs() < 1e-12, "d = {d}: {e}");
            let mut row = vec![0.5; d];
            row[0] += Shell::DEFAULT_RADIUS;
            let mut f = [0.0];
            s.evaluate(&row, &mut f).unwrap();
            assert!(f[0].is_finite() && f[0] > 0.0, "d = {d}: {}", f[0]);
        }
    }

    #[test]
    fn rejects_bad_settings() {
        let err = |d, r, w| Shell::new(d, r, w).err().unwrap().to_string();
        assert!(err(0, 0.3, 0.01).contains("at least 1"));
        assert!(err(3, 0.5, 0.01).contains("fits inside the unit cube, got 0.5"));
        assert!(err(3, 0.0, 0.01).contains("radius"));
        assert!(err(3, f64::NAN, 0.01).contains("radius"));
        assert!(err(3, 0.3, 0.0).contains("width must be positive"));
        assert!(err(3, 0.3, f64::INFINITY).contains("width"));
    }
}
