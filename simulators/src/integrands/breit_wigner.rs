//! A narrow Breit–Wigner resonance in the first variable times a smooth polynomial of
//! the others.
//!
//! ```text
//! f(x) = BW(x₁) · g(x₂, …, x_d)
//! BW(m) = (Γ/2π) / ((m − m₀)² + Γ²/4)                 (normalised over R)
//! g(y)  = (1 + (Σⱼ yⱼ)²) / (1 + n(3n + 1)/12),  n = d − 1  (normalised over [0,1]^n)
//! I     = [atan((1 − m₀)/(Γ/2)) + atan(m₀/(Γ/2))] / π
//! ```
//!
//! `∫(Σⱼ yⱼ)² = n/3 + n(n−1)/4` over the unit cube, so `g` integrates to 1 and the
//! integral is the Cauchy probability of `[0, 1]`, in closed form. In one dimension
//! `g = 1`.
//!
//! Hard because the peak is narrow (height `2/(πΓ)`, about 640 with the default
//! `Γ = 10⁻³`) and its tails fall only as `1/m²`: a proposal that resolves the peak
//! but has lighter tails gives weights that grow without bound away from `m₀`.

use super::integrand::{evaluate_rows, invalid_setting, Integrand, IntegrandError};

/// The resonance `BW(x₁; m₀, Γ) · g(x₂, …)` on `[0,1]^d` (see the module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct BreitWigner {
    dim: usize,
    mass: f64,
    width: f64,
    /// `1 / (1 + n(3n + 1)/12)`, the normalisation of `g`.
    g_norm: f64,
}

impl BreitWigner {
    /// Pole position `m₀` used when none is given.
    pub const DEFAULT_MASS: f64 = 0.35;
    /// Full width `Γ` used when none is given.
    pub const DEFAULT_WIDTH: f64 = 1e-3;

    /// The resonance in `dim ≥ 1` dimensions with pole `0 < mass < 1` and full width
    /// `width > 0`.
    ///
    /// ```
    /// use flowinfer_simulators::integrands::{BreitWigner, Integrand};
    /// let bw = BreitWigner::new(4, 0.35, 1e-3)?;
    /// let mut f = [0.0];
    /// bw.evaluate(&[0.35, 0.0, 0.0, 0.0], &mut f)?; // on the pole, g(0) = 1/3.5
    /// assert!((f[0] - 2.0 / (std::f64::consts::PI * 1e-3) / 3.5).abs() < 1e-9);
    /// assert!((bw.exact().unwrap() - 0.99930).abs() < 1e-5);
    /// assert!(BreitWigner::new(4, 1.2, 1e-3).is_err());
    /// # Ok::<(), flowinfer_simulators::IntegrandError>(())
    /// ```
    pub fn new(dim: usize, mass: f64, width: f64) -> Result<Self, IntegrandError> {
        if dim == 0 {
            return Err(invalid_setting(
                "breit_wigner",
                "dimension must be at least 1",
            ));
        }
        if !(mass > 0.0 && mass < 1.0) {
            return Err(invalid_setting(
                "breit_wigner",
                format!("mass must lie strictly between 0 and 1, got {mass}"),
            ));
        }
        if !(width.is_finite() && width > 0.0) {
            return Err(invalid_setting(
                "breit_wigner",
                format!("width must be positive and finite, got {width}"),
            ));
        }
        let n = (dim - 1) as f64;
        Ok(Self {
            dim,
            mass,
            width,
            g_norm: 1.0 / (1.0 + n * (3.0 * n + 1.0) / 12.0),
        })
    }

    /// Pole position `m₀`.
    pub fn mass(&self) -> f64 {
        self.mass
    }

    /// Full width `Γ`.
    pub fn width(&self) -> f64 {
        self.width
    }
}

impl Integrand for BreitWigner {
    fn name(&self) -> &str {
        "breit_wigner"
    }

    fn dim(&self) -> usize {
        self.dim
    }

    fn evaluate(&self, points: &[f64], out: &mut [f64]) -> Result<(), IntegrandError> {
        let half = 0.5 * self.width;
        let height = half / std::f64::consts::PI;
        evaluate_rows(self, points, out, |row| {
            let dm = row[0] - self.mass;
            let s: f64 = row[1..].iter().sum();
            height / (dm * dm + half * half) * (1.0 + s * s) * self.g_norm
        })
    }

    fn exact(&self) -> Option<f64> {
        let half = 0.5 * self.width;
        let arc = ((1.0 - self.mass) / half).atan() + (self.mass / half).atan();
        Some(arc / std::f64::consts::PI)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::integrands::quadrature::gauss_legendre;
    use crate::integrands::reference::uniform_mc;

    /// `∫ f` over `[0,1]³` by a tensor Gauss–Legendre rule: `panels` equal panels of 20
    /// points in `x₁`, 3 points in `x₂` and `x₃` (exact for the quadratic `g`).
    fn tensor_rule_3d(f: &BreitWigner, panels: usize) -> f64 {
        let (t20, w20) = gauss_legendre(20);
        let (t3, w3) = gauss_legendre(3);
        let h = 1.0 / panels as f64;
        let mut pts = Vec::new();
        let mut weights = Vec::new();
        for p in 0..panels {
            for (a, wa) in t20.iter().zip(&w20) {
                let x1 = (p as f64 + 0.5 + 0.5 * a) * h;
                for (b, wb) in t3.iter().zip(&w3) {
                    for (c, wc) in t3.iter().zip(&w3) {
                        pts.extend([x1, 0.5 + 0.5 * b, 0.5 + 0.5 * c]);
                        weights.push(0.5 * h * wa * 0.25 * wb * wc);
                    }
                }
            }
        }
        let mut out = vec![0.0; weights.len()];
        f.evaluate(&pts, &mut out).unwrap();
        out.iter().zip(&weights).map(|(v, w)| v * w).sum()
    }

    #[test]
    fn exact_matches_a_tensor_rule_in_3d() {
        for (m, g) in [(0.35, 1e-3), (0.9, 0.3)] {
            let bw = BreitWigner::new(3, m, g).unwrap();
            let rule = tensor_rule_3d(&bw, 4000);
            let e = bw.exact().unwrap();
            assert!((rule - e).abs() < 1e-8, "{m} {g}: {rule} vs {e}");
        }
        // The wide resonance loses a visible part of its mass past the edge.
        assert!(BreitWigner::new(3, 0.9, 0.3).unwrap().exact().unwrap() < 0.8);
    }

    #[test]
    fn exact_matches_uniform_monte_carlo_in_5d() {
        let bw = BreitWigner::new(5, 0.7, 0.05).unwrap();
        let e = bw.exact().unwrap();
        let (mc, se) = uniform_mc(&bw, 1_000_000, 11);
        assert!(
            (mc - e).abs() < 5.0 * se && se < 0.01 * e,
            "{mc} ± {se} vs {e}"
        );
    }

    #[test]
    fn one_dimension_is_the_bare_resonance() {
        let bw = BreitWigner::new(1, 0.5, 0.1).unwrap();
        let mut f = [0.0; 2];
        bw.evaluate(&[0.5, 0.55], &mut f).unwrap();
        let peak = 2.0 / (std::f64::consts::PI * 0.1);
        assert!((f[0] - peak).abs() < 1e-12 * peak);
        assert!(
            (f[1] - peak / 2.0).abs() < 1e-12 * peak,
            "half maximum at m₀ ± Γ/2"
        );
        let e = 2.0 * (0.5f64 / 0.05).atan() / std::f64::consts::PI;
        assert!((bw.exact().unwrap() - e).abs() < 1e-15);
    }

    #[test]
    fn rejects_bad_settings() {
        let err = |d, m, g| BreitWigner::new(d, m, g).err().unwrap().to_string();
        assert!(err(0, 0.3, 0.01).contains("at least 1"));
        assert!(err(3, 0.0, 0.01).contains("mass must lie strictly between 0 and 1, got 0"));
        assert!(err(3, f64::NAN, 0.01).contains("mass"));
        assert!(err(3, 0.3, 0.0).contains("width must be positive"));
        assert!(err(3, 0.3, -1.0).contains("width must be positive"));
    }
}
