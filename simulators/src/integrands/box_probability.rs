//! The probability that an equicorrelated Gaussian falls in a box, the exact value of
//! the needles ([`Needle`](super::Needle), [`TwoNeedles`](super::TwoNeedles)).
//!
//! For `Y ~ N(0, (1−ρ)I + ρ11ᵀ)` in `d` dimensions and `ρ ≥ 0`, write
//! `Yᵢ = √ρ Z₀ + √(1−ρ) Zᵢ` with independent standard normals; conditionally on `Z₀` the
//! coordinates are independent, so
//!
//! ```text
//! P(l ≤ Yᵢ ≤ u ∀i) = ∫ φ(z) [Φ((u − √ρ z)/√(1−ρ)) − Φ((l − √ρ z)/√(1−ρ))]^d dz,
//! ```
//!
//! a one-dimensional integral, done here by Gauss–Legendre panels graded towards
//! `z = l/√ρ` and `z = u/√ρ`, where the bracket switches on and off over a width
//! `√((1−ρ)/ρ)` (so that a correlation close to 1 costs a few more panels, not many).
//! For `ρ < 0` no such real representation exists; there the caller falls back on the
//! union bound [`outside_bound`].

use super::quadrature::{gauss_legendre, integrate};

/// Half-width of the `z` range: `φ(38) ≈ 10⁻³¹⁵`, so nothing beyond it is representable.
const Z_MAX: f64 = 38.0;
/// Widest panel: φ varies on the scale 1, which a 20-point rule resolves to round-off.
const COARSE: f64 = 0.25;
/// Points of the Gauss–Legendre rule on each panel.
const RULE_POINTS: usize = 20;

/// The standard normal distribution function `Φ(x)`.
pub(crate) fn normal_cdf(x: f64) -> f64 {
    0.5 * libm::erfc(-x / std::f64::consts::SQRT_2)
}

/// `Φ(b) − Φ(a)` for `a ≤ b`, computed from the nearer tail (no cancellation when both
/// lie far out on the same side).
pub(crate) fn normal_interval(a: f64, b: f64) -> f64 {
    if a > 0.0 {
        normal_cdf(-a) - normal_cdf(-b)
    } else {
        normal_cdf(b) - normal_cdf(a)
    }
}

/// `P(l ≤ Yᵢ ≤ u ∀i)` for `Y ~ N(0, (1−ρ)I + ρ11ᵀ)` in `d` dimensions, `0 ≤ ρ < 1`
/// (module docs). In one dimension `ρ` plays no part.
pub(crate) fn equicorrelated_box_probability(d: usize, l: f64, u: f64, rho: f64) -> f64 {
    let d_i = d as i32;
    if d == 1 || rho == 0.0 {
        return normal_interval(l, u).powi(d_i);
    }
    let a = rho.sqrt();
    let b = (1.0 - rho).sqrt();
    let f = |z: f64| {
        let phi = (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt();
        phi * normal_interval((l - a * z) / b, (u - a * z) / b).powi(d_i)
    };
    let fine = (b / a).min(COARSE);
    integrate_graded(f, -Z_MAX, Z_MAX, &[l / a, u / a], fine, COARSE)
}

/// The union bound on the mass outside the box, `d (Φ(l) + 1 − Φ(u))`: the box
/// probability lies in `[1 − bound, 1]` for any correlation.
pub(crate) fn outside_bound(d: usize, l: f64, u: f64) -> f64 {
    d as f64 * (normal_cdf(l) + normal_cdf(-u))
}

/// `∫ f` over `[lo, hi]` by 20-point Gauss–Legendre panels: `fine` wide next to `lo`,
/// `hi` and every point of `breaks` inside, doubling away from them up to `coarse`.
pub(crate) fn integrate_graded(
    f: impl Fn(f64) -> f64,
    lo: f64,
    hi: f64,
    breaks: &[f64],
    fine: f64,
    coarse: f64,
) -> f64 {
    let rule = gauss_legendre(RULE_POINTS);
    let mut knots: Vec<f64> = breaks
        .iter()
        .copied()
        .filter(|x| x.is_finite() && lo < *x && *x < hi)
        .collect();
    knots.push(lo);
    knots.push(hi);
    knots.sort_by(f64::total_cmp);
    knots.dedup();
    let mut total = 0.0;
    for seg in knots.windows(2) {
        let edges = graded_edges(seg[0], seg[1], fine, coarse);
        for p in edges.windows(2) {
            total += integrate(&f, p[0], p[1], 1, &rule);
        }
    }
    total
}

/// Panel edges of `[a, b]`: widths `fine, fine, 2·fine, 4·fine, …` (at most `coarse`)
/// from both ends, meeting in the middle.
fn graded_edges(a: f64, b: f64, fine: f64, coarse: f64) -> Vec<f64> {
    let half = 0.5 * (b - a);
    let mut offsets = vec![0.0];
    let (mut off, mut step) = (fine, fine);
    while off < half {
        offsets.push(off);
        off += step;
        step = (2.0 * step).min(coarse);
    }
    let mut edges: Vec<f64> = offsets.iter().map(|o| a + o).collect();
    edges.push(a + half);
    edges.extend(offsets.iter().rev().map(|o| b - o));
    edges
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uncorrelated_box_is_a_product() {
        let p = equicorrelated_box_probability(3, -1.0, 2.0, 0.0);
        let one = 0.5 * (libm::erf(2.0 / 2f64.sqrt()) + libm::erf(1.0 / 2f64.sqrt()));
        assert!((p - one.powi(3)).abs() < 1e-15);
        // A tiny correlation goes through the integral and agrees with the product.
        let q = equicorrelated_box_probability(3, -1.0, 2.0, 1e-12);
        assert!((q - one.powi(3)).abs() < 1e-10, "{q} vs {}", one.powi(3));
    }

    #[test]
    fn orthant_probabilities_have_closed_forms() {
        // P(all Yᵢ ≤ 0): 1/3 for d = 2, ρ = ½ (¼ + asin(ρ)/2π) and 1/(d+1) for ρ = ½.
        let rho = 0.5f64;
        let p2 = equicorrelated_box_probability(2, f64::NEG_INFINITY, 0.0, rho);
        let expect = 0.25 + rho.asin() / (2.0 * std::f64::consts::PI);
        assert!((p2 - expect).abs() < 1e-12, "{p2} vs {expect}");
        for d in [3, 5, 8] {
            let p = equicorrelated_box_probability(d, f64::NEG_INFINITY, 0.0, 0.5);
            assert!((p - 1.0 / (d as f64 + 1.0)).abs() < 1e-12, "d = {d}: {p}");
        }
        // Near-perfect correlation: all coordinates move together, P → Φ(0) = ½.
        let p = equicorrelated_box_probability(8, f64::NEG_INFINITY, 0.0, 1.0 - 1e-10);
        assert!((p - 0.5).abs() < 1e-4, "{p}");
    }

    #[test]
    fn graded_panels_resolve_a_narrow_step() {
        // ∫ Φ(x/ε) over [−1, 1] = 1 for any ε (odd part integrates to 0).
        for eps in [1e-2, 1e-5, 1e-9] {
            let got = integrate_graded(|x| normal_cdf(x / eps), -1.0, 1.0, &[0.0], eps, 0.25);
            assert!((got - 1.0).abs() < 1e-12, "ε = {eps}: {got}");
        }
    }

    #[test]
    fn union_bound_holds() {
        for rho in [0.0, 0.3, 0.9] {
            let p = equicorrelated_box_probability(4, -2.0, 2.5, rho);
            assert!(1.0 - p <= outside_bound(4, -2.0, 2.5) + 1e-15, "ρ = {rho}");
        }
    }
}
