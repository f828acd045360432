//! [`LogDalitzMap`]: massless three-body phase space with the cuts `s_ij > y s` built in
//! and the collinear peaks of `e⁺e⁻ → q q̄ g` flattened by the Jacobian.
//!
//! # The map
//!
//! With `uᵢ = 1 − xᵢ` (`xᵢ = 2Eᵢ/√s`, so `s₂₃ = s u₁`, `s₁₃ = s u₂`,
//! `s₁₂ = s(1 − u₁ − u₂)`), the cuts are `u₁ > y`, `u₂ > y`, `u₁ + u₂ < 1 − y`: a
//! triangle in `(u₁, u₂)`. The five random numbers are used as
//!
//! * `r₀`: `u₁ = y·e^{a r₀}`, `a = ln((1 − 2y)/y)` — logarithmic over `[y, 1 − 2y]`;
//! * `r₁`: `u₂ = y·e^{b r₁}`, `b = ln((1 − y − u₁)/y)` — logarithmic over the range the
//!   third cut leaves for the given `u₁`, `[y, 1 − y − u₁]`;
//! * `r₂, r₃, r₄`: the orientation of the event, flat (Haar measure on rotations): the
//!   quark's direction `cos θ = 2r₂ − 1`, `φ = 2π r₃`, and the azimuth `χ = 2π r₄` of the
//!   antiquark about it.
//!
//! Given `(x₁, x₂)` the event is rigid: `cos θ₁₂ = 1 − 2(1 − x₃)/(x₁x₂)`, `p₃ = P − p₁ − p₂`.
//! Massless three-body phase space is `dΦ₃ = s/(128π³) dx₁ dx₂ dR` with `dR` the
//! normalised rotation measure, so
//!
//! ```text
//! ∫ dΦ₃ F = ∫_{[0,1]^5} F(p(r)) w(r) dr,     w(r) = s/(128π³) · a u₁ · b u₂.
//! ```
//!
//! The factor `u₁u₂` cancels the `1/((1 − x₁)(1 − x₂))` of the matrix element; what is
//! left in `F·w` is `(x₁² + x₂²)`-like, the angular factor and `b` (which falls from
//! `a` to 0 as `u₁` reaches `1 − 2y`), all bounded. Every point of the open cube passes
//! the cuts.

use std::f64::consts::PI;

use super::phase_space::FourMomentum;

/// The log-Dalitz map at centre-of-mass energy `√s` and cut `y` (module docs).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LogDalitzMap {
    sqrt_s: f64,
    y: f64,
    a: f64,
}

/// A phase-space point of [`LogDalitzMap::generate`]: the momenta, the invariants
/// `sᵢⱼ/s` from the energy fractions (exact, not recomputed from the momenta) and the
/// weight `w(r)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DalitzPoint {
    /// `[p₁ (q), p₂ (q̄), p₃ (g)]`.
    pub momenta: [FourMomentum; 3],
    /// `u₁ = 1 − x₁ = s₂₃/s`.
    pub u1: f64,
    /// `u₂ = 1 − x₂ = s₁₃/s`.
    pub u2: f64,
    /// The weight `w(r)` (GeV²): `∫ dΦ₃ F = ∫ F(p(r)) w(r) dr`.
    pub weight: f64,
}

impl LogDalitzMap {
    /// The map for `√s > 0` and `y ∈ (0, 1/3)` (checked by the caller,
    /// [`EeToQqg`](super::EeToQqg)).
    pub fn new(sqrt_s: f64, y: f64) -> Self {
        Self {
            sqrt_s,
            y,
            a: ((1.0 - 2.0 * y) / y).ln(),
        }
    }

    /// Maps `r ∈ [0,1]^5` to a phase-space point inside the cuts (module docs).
    ///
    /// ```
    /// use flowinfer_simulators::integrands::LogDalitzMap;
    /// let map = LogDalitzMap::new(91.2, 0.01);
    /// let p = map.generate(&[0.3, 0.6, 0.2, 0.7, 0.1]);
    /// assert!(p.u1 > 0.01 && p.u2 > 0.01 && p.u1 + p.u2 < 0.99 && p.weight > 0.0);
    /// let energy: f64 = p.momenta.iter().map(|q| q[0]).sum();
    /// assert!((energy - 91.2).abs() < 1e-9);
    /// ```
    pub fn generate(&self, r: &[f64; 5]) -> DalitzPoint {
        let (y, e) = (self.y, self.sqrt_s);
        let u1 = y * (self.a * r[0]).exp();
        let b = ((1.0 - y - u1) / y).max(1.0).ln();
        let u2 = y * (b * r[1]).exp();
        let (x1, x2) = (1.0 - u1, 1.0 - u2);
        let x3 = u1 + u2;
        // 1 − cos θ₁₂ = 2(1 − x₃)/(x₁x₂); sin² = (1 − c)(1 + c)
        let one_minus_c = (2.0 * (1.0 - x3) / (x1 * x2)).clamp(0.0, 2.0);
        let c = 1.0 - one_minus_c;
        let s12 = (one_minus_c * (2.0 - one_minus_c)).max(0.0).sqrt();
        let ct = (2.0 * r[2] - 1.0).clamp(-1.0, 1.0);
        let st = (1.0 - ct * ct).max(0.0).sqrt();
        let (sp, cp) = (2.0 * PI * r[3]).sin_cos();
        let (sx, cx) = (2.0 * PI * r[4]).sin_cos();
        let n = [st * cp, st * sp, ct];
        let e_theta = [ct * cp, ct * sp, -st];
        let e_phi = [-sp, cp, 0.0];
        let (e1, e2) = (0.5 * e * x1, 0.5 * e * x2);
        let d2: [f64; 3] =
            std::array::from_fn(|k| c * n[k] + s12 * (cx * e_theta[k] + sx * e_phi[k]));
        let p1 = [e1, e1 * n[0], e1 * n[1], e1 * n[2]];
        let p2 = [e2, e2 * d2[0], e2 * d2[1], e2 * d2[2]];
        let p3 = [e - e1 - e2, -p1[1] - p2[1], -p1[2] - p2[2], -p1[3] - p2[3]];
        let weight = e * e / (128.0 * PI * PI * PI) * self.a * u1 * b * u2;
        DalitzPoint {
            momenta: [p1, p2, p3],
            u1,
            u2,
            weight,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::phase_space::dot;
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    #[test]
    fn momenta_are_massless_conserved_inside_the_cuts_and_match_the_invariants() {
        let (e, y) = (91.2, 0.01);
        let map = LogDalitzMap::new(e, y);
        let s = e * e;
        let mut rng = StdRng::seed_from_u64(7);
        for _ in 0..5000 {
            let r: [f64; 5] = std::array::from_fn(|_| rng.random::<f64>());
            let p = map.generate(&r);
            let [p1, p2, p3] = &p.momenta;
            for q in &p.momenta {
                assert!(dot(q, q).abs() < 1e-9 * s, "{q:?}");
                assert!(q[0] > 0.0);
            }
            for k in 0..4 {
                let total = p1[k] + p2[k] + p3[k];
                let expect = if k == 0 { e } else { 0.0 };
                assert!((total - expect).abs() < 1e-10 * e);
            }
            assert!(p.u1 >= y && p.u2 >= y && p.u1 + p.u2 <= 1.0 - y, "{p:?}");
            // the invariants from the momenta agree with those from the fractions
            assert!((2.0 * dot(p2, p3) - s * p.u1).abs() < 1e-9 * s);
            assert!((2.0 * dot(p1, p3) - s * p.u2).abs() < 1e-9 * s);
            assert!((2.0 * dot(p1, p2) - s * (1.0 - p.u1 - p.u2)).abs() < 1e-9 * s);
        }
    }

    #[test]
    fn the_weight_integrates_to_the_phase_space_volume_inside_the_cuts() {
        // ∫ w dr = s/(128π³) · area of the cut triangle, (1 − 3y)²/2: midpoint rule in
        // (r₀, r₁) (w does not depend on the orientation).
        let (e, y) = (2.0, 0.05);
        let map = LogDalitzMap::new(e, y);
        let n = 400;
        let mut sum = 0.0;
        for i in 0..n {
            for j in 0..n {
                let r0 = (i as f64 + 0.5) / n as f64;
                let r1 = (j as f64 + 0.5) / n as f64;
                sum += map.generate(&[r0, r1, 0.5, 0.5, 0.5]).weight;
            }
        }
        let integral = sum / (n * n) as f64;
        let expect = e * e / (128.0 * PI.powi(3)) * (1.0 - 3.0 * y).powi(2) / 2.0;
        assert!(
            (integral - expect).abs() < 1e-4 * expect,
            "{integral} vs {expect}"
        );
    }
}
