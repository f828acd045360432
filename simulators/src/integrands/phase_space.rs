//! An invertible map from `[0,1]^5` onto massless three-body phase space ("RAMBO on
//! diet", S. Plätzer, arXiv:1308.2922, specialised to `n = 3` massless particles).
//!
//! # The map
//!
//! A system of total momentum `P = (√s, 0, 0, 0)` decays into massless `p₁, p₂, p₃`
//! through the chain `P → p₁ + Q₂`, `Q₂ → p₂ + p₃`. The `3n − 4 = 5` random numbers
//! `r = (r₀, …, r₄)` are used as
//!
//! * `r₀` fixes the intermediate mass `M₂² = Q₂² = s·(1 − x₁)`, with `x₁ = 2E₁/√s`, by
//!   `x₁ = √(1 − r₀)`. This is Plätzer's equation `2u − u² = r₀` for `u = M₂²/s` (density
//!   `∝ 1 − u`, the massless two-body phase space of the remaining pair).
//! * `r₁, r₂` give the direction of `p₁` in the rest frame of `P`:
//!   `cos θ₁ = 2r₁ − 1`, `φ₁ = 2π r₂`; `|p₁| = (s − M₂²)/(2√s)`, `Q₂ = P − p₁`.
//! * `r₃, r₄` give the direction of `p₂` in the rest frame of `Q₂` (same convention);
//!   there `|p₂| = M₂/2`, `p₃ = Q₂ − p₂`, and both are boosted back along `Q₂`.
//!
//! For massless particles the phase-space weight is constant,
//!
//! ```text
//! Φ₃ = ∫ dΦ₃ = (2π)^(4−3n) (π/2)^(n−1) s^(n−2) / ((n−1)! (n−2)!) = s / (256 π³),
//! ```
//!
//! with `dΦₙ = (2π)⁴ δ⁴(P − Σpᵢ) Πᵢ d³pᵢ/((2π)³ 2Eᵢ)`, i.e. `∫ dΦ₃ F = Φ₃ ∫_{[0,1]^5} F(p(r)) dr`.
//! The map is a bijection from the open cube onto phase space (up to the measure-zero
//! set of collinear/degenerate configurations); [`ThreeBodyPhaseSpace::inverse`] recovers `r`.
//!
//! Four-momenta are `[E, px, py, pz]` in GeV.

use std::f64::consts::PI;

/// A four-momentum `[E, px, py, pz]`.
pub type FourMomentum = [f64; 4];

/// Minkowski product `a·b = a⁰b⁰ − a⃗·b⃗`.
pub fn dot(a: &FourMomentum, b: &FourMomentum) -> f64 {
    a[0] * b[0] - a[1] * b[1] - a[2] * b[2] - a[3] * b[3]
}

/// The massless three-body phase space at centre-of-mass energy `√s` (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ThreeBodyPhaseSpace {
    sqrt_s: f64,
}

/// Why a phase-space point or a random-number vector could not be mapped.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PhaseSpaceError {
    /// The centre-of-mass energy was not positive and finite.
    #[error("centre-of-mass energy must be positive and finite, got {0}")]
    Energy(f64),
    /// A random number was outside `[0, 1]` or not finite.
    #[error("random number {index} is {value}, expected a value in [0, 1]")]
    OutOfRange {
        /// Index of the offending number (0..5).
        index: usize,
        /// Its value.
        value: f64,
    },
    /// The momenta given to the inverse are not a massless three-body configuration
    /// with total momentum `(√s, 0, 0, 0)` (to the stated relative tolerance).
    #[error("momenta are not a massless three-body configuration at rest: {0}")]
    NotOnShell(String),
}

impl ThreeBodyPhaseSpace {
    /// The phase space at centre-of-mass energy `sqrt_s` (GeV, positive and finite).
    pub fn new(sqrt_s: f64) -> Result<Self, PhaseSpaceError> {
        if !(sqrt_s.is_finite() && sqrt_s > 0.0) {
            return Err(PhaseSpaceError::Energy(sqrt_s));
        }
        Ok(Self { sqrt_s })
    }

    /// The centre-of-mass energy `√s` (GeV).
    pub fn sqrt_s(&self) -> f64 {
        self.sqrt_s
    }

    /// The constant weight `Φ₃ = s/(256π³)` (GeV²): `∫ dΦ₃ F = Φ₃ ∫ F(p(r)) dr`.
    pub fn weight(&self) -> f64 {
        self.sqrt_s * self.sqrt_s / (256.0 * PI * PI * PI)
    }

    /// Maps `r ∈ [0,1]^5` to the momenta `[p₁, p₂, p₃]` (module docs give the order).
    pub fn generate(&self, r: &[f64; 5]) -> Result<[FourMomentum; 3], PhaseSpaceError> {
        for (index, &value) in r.iter().enumerate() {
            if !(0.0..=1.0).contains(&value) {
                return Err(PhaseSpaceError::OutOfRange { index, value });
            }
        }
        Ok(self.generate_unchecked(r))
    }

    /// [`generate`](Self::generate) without the range check (the caller guarantees
    /// `r ∈ [0,1]^5`).
    pub fn generate_unchecked(&self, r: &[f64; 5]) -> [FourMomentum; 3] {
        let e = self.sqrt_s;
        let x1 = (1.0 - r[0]).max(0.0).sqrt();
        let q1 = 0.5 * e * x1; // |p₁| = E₁
        let n1 = direction(r[1], r[2]);
        let p1 = [q1, q1 * n1[0], q1 * n1[1], q1 * n1[2]];
        let big_q = [e - q1, -p1[1], -p1[2], -p1[3]];
        let m2 = (e * e * (1.0 - x1)).max(0.0).sqrt(); // M₂ = √(s(1−x₁))
        let n2 = direction(r[3], r[4]);
        let p2 = decay_massless(&big_q, m2, &n2);
        let p3 = [
            big_q[0] - p2[0],
            big_q[1] - p2[1],
            big_q[2] - p2[2],
            big_q[3] - p2[3],
        ];
        [p1, p2, p3]
    }

    /// Recovers `r ∈ [0,1]^5` from momenta produced by [`generate`](Self::generate)
    /// (any massless configuration with total momentum `(√s, 0, 0, 0)`), checking
    /// masslessness and momentum conservation to a relative tolerance of `1e−9`.
    pub fn inverse(&self, p: &[FourMomentum; 3]) -> Result<[f64; 5], PhaseSpaceError> {
        let e = self.sqrt_s;
        let tol = 1e-9 * e;
        for (i, pi) in p.iter().enumerate() {
            if pi.iter().any(|v| !v.is_finite()) {
                return Err(PhaseSpaceError::NotOnShell(format!(
                    "p{} is not finite",
                    i + 1
                )));
            }
            let m2 = dot(pi, pi);
            if m2.abs() > tol * e || pi[0] < -tol {
                return Err(PhaseSpaceError::NotOnShell(format!(
                    "p{} has mass² {m2} and energy {}",
                    i + 1,
                    pi[0]
                )));
            }
        }
        let total: Vec<f64> = (0..4).map(|k| p[0][k] + p[1][k] + p[2][k]).collect();
        if (total[0] - e).abs() > tol || total[1..].iter().any(|v| v.abs() > tol) {
            return Err(PhaseSpaceError::NotOnShell(format!(
                "total momentum {total:?}, expected [{e}, 0, 0, 0]"
            )));
        }
        let p1 = &p[0];
        let x1 = (2.0 * p1[0] / e).clamp(0.0, 1.0);
        let r0 = (1.0 - x1 * x1).clamp(0.0, 1.0);
        let (r1, r2) = angles(&[p1[1], p1[2], p1[3]]);
        let big_q = [e - p1[0], -p1[1], -p1[2], -p1[3]];
        let m2 = (e * e * (1.0 - x1)).max(0.0).sqrt();
        let p2_rest = boost_to_rest(&big_q, m2, &p[1]);
        let (r3, r4) = angles(&[p2_rest[1], p2_rest[2], p2_rest[3]]);
        Ok([r0, r1, r2, r3, r4])
    }
}

/// The unit vector with `cos θ = 2u − 1`, `φ = 2π v`.
fn direction(u: f64, v: f64) -> [f64; 3] {
    let c = (2.0 * u - 1.0).clamp(-1.0, 1.0);
    let s = (1.0 - c * c).max(0.0).sqrt();
    let phi = 2.0 * PI * v;
    [s * phi.cos(), s * phi.sin(), c]
}

/// The inverse of [`direction`]: `(u, v)` for the direction of `k` (`v ∈ [0, 1)`).
fn angles(k: &[f64; 3]) -> (f64, f64) {
    let norm = (k[0] * k[0] + k[1] * k[1] + k[2] * k[2]).sqrt();
    if norm == 0.0 {
        return (0.5, 0.0);
    }
    let c = (k[2] / norm).clamp(-1.0, 1.0);
    let mut phi = k[1].atan2(k[0]);
    if phi < 0.0 {
        phi += 2.0 * PI;
    }
    let v = phi / (2.0 * PI);
    (0.5 * (c + 1.0), if v >= 1.0 { 0.0 } else { v })
}

/// The momentum of one massless daughter of `q` (mass `m`) emitted along the unit vector
/// `n` in the rest frame of `q`, boosted to the frame where `q` is given. For `m = 0`
/// (a massless `q`) the limit of the boost is used: the daughter carries the fraction
/// `(1 + n·q̂)/2` of `q`.
fn decay_massless(q: &FourMomentum, m: f64, n: &[f64; 3]) -> FourMomentum {
    if m <= 1e-12 * q[0] {
        let qn = (q[1] * q[1] + q[2] * q[2] + q[3] * q[3]).sqrt();
        let z = if qn > 0.0 {
            0.5 * (1.0 + (n[0] * q[1] + n[1] * q[2] + n[2] * q[3]) / qn)
        } else {
            0.5
        };
        return [z * q[0], z * q[1], z * q[2], z * q[3]];
    }
    let k = 0.5 * m;
    boost_from_rest(q, m, &[k, k * n[0], k * n[1], k * n[2]])
}

/// Boosts `p` from the rest frame of `q` (mass `m > 0`) to the frame where `q` is given.
fn boost_from_rest(q: &FourMomentum, m: f64, p: &FourMomentum) -> FourMomentum {
    let bp = q[1] * p[1] + q[2] * p[2] + q[3] * p[3]; // q⃗·p⃗
    let e = (q[0] * p[0] + bp) / m;
    let c = (p[0] + e) / (q[0] + m);
    [e, p[1] + c * q[1], p[2] + c * q[2], p[3] + c * q[3]]
}

/// Boosts `p` into the rest frame of `q` (mass `m > 0`); the inverse of
/// [`boost_from_rest`].
fn boost_to_rest(q: &FourMomentum, m: f64, p: &FourMomentum) -> FourMomentum {
    if m <= 0.0 {
        return *p;
    }
    let bp = q[1] * p[1] + q[2] * p[2] + q[3] * p[3];
    let e = (q[0] * p[0] - bp) / m;
    let c = (p[0] + e) / (q[0] + m);
    [e, p[1] - c * q[1], p[2] - c * q[2], p[3] - c * q[3]]
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    #[test]
    fn momenta_are_massless_and_conserved_and_the_map_inverts() {
        let ps = ThreeBodyPhaseSpace::new(91.2).unwrap();
        let mut rng = StdRng::seed_from_u64(3);
        let scale = 91.2;
        for _ in 0..2000 {
            let r: [f64; 5] = std::array::from_fn(|_| rng.random::<f64>());
            let p = ps.generate(&r).unwrap();
            for pi in &p {
                assert!(dot(pi, pi).abs() < 1e-10 * scale * scale, "{pi:?}");
                assert!(pi[0] >= 0.0);
            }
            for (k, expect) in [scale, 0.0, 0.0, 0.0].into_iter().enumerate() {
                let total = p[0][k] + p[1][k] + p[2][k];
                assert!(
                    (total - expect).abs() < 1e-11 * scale,
                    "component {k}: {total}"
                );
            }
            let back = ps.inverse(&p).unwrap();
            for k in 0..5 {
                // φ wraps at 1 ↔ 0
                let mut d = (back[k] - r[k]).abs();
                if k == 2 || k == 4 {
                    d = d.min(1.0 - d);
                }
                assert!(d < 1e-8, "r{k}: {} vs {}", back[k], r[k]);
            }
            // and map → inverse → map returns the same momenta
            let again = ps.generate(&back).unwrap();
            for (a, b) in again.iter().zip(&p) {
                for (u, v) in a.iter().zip(b) {
                    assert!((u - v).abs() < 1e-9 * scale);
                }
            }
        }
    }

    #[test]
    fn energy_fractions_are_uniform_on_the_dalitz_triangle() {
        // x₁ = √(1 − r₀) has density 2x₁; x₂ is uniform on [1 − x₁, 1] given x₁.
        let ps = ThreeBodyPhaseSpace::new(2.0).unwrap();
        let mut rng = StdRng::seed_from_u64(5);
        let n = 40_000;
        let (mut m1, mut m2) = (0.0, 0.0);
        for _ in 0..n {
            let r: [f64; 5] = std::array::from_fn(|_| rng.random::<f64>());
            let p = ps.generate(&r).unwrap();
            m1 += p[0][0]; // x₁ = E₁ for √s = 2
            m2 += p[1][0];
        }
        // E[x_i] = 2/3 for the uniform triangle x₁, x₂ < 1 < x₁ + x₂
        assert!((m1 / n as f64 - 2.0 / 3.0).abs() < 0.005);
        assert!((m2 / n as f64 - 2.0 / 3.0).abs() < 0.005);
    }

    #[test]
    fn degenerate_and_bad_inputs() {
        let ps = ThreeBodyPhaseSpace::new(10.0).unwrap();
        let p = ps.generate(&[0.0, 0.3, 0.2, 0.7, 0.9]).unwrap();
        for pi in &p {
            assert!(pi.iter().all(|v| v.is_finite()));
        }
        assert!(ps.generate(&[1.5, 0.0, 0.0, 0.0, 0.0]).is_err());
        assert!(ps.generate(&[f64::NAN, 0.0, 0.0, 0.0, 0.0]).is_err());
        assert!(ThreeBodyPhaseSpace::new(0.0).is_err());
        let mut bad = ps.generate(&[0.4, 0.3, 0.2, 0.7, 0.9]).unwrap();
        bad[0][0] += 1.0;
        assert!(ps.inverse(&bad).is_err());
    }
}
