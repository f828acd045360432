//! A boomerang: a curved band that is thick in the middle and thin at the
//! tips.
//!
//! A point sits at angle `θ ~ U(π/6, 5π/6)` ([`ARC_ANGLES`]) and distance
//! `R + δ` from the centre `(0, -1.5)` ([`ARC_CENTRE`]), where `R = 2`
//! ([`ARC_RADIUS`]) and the radial offset `δ ~ N(0, σ(θ)^2)` has standard
//! deviation ([`radial_sd`])
//!
//! ```text
//! σ(θ) = TIP_SD + MIDDLE_EXTRA_SD·cos(1.5·(θ - π/2))
//!      = 0.02   + 0.2            ·cos(1.5·(θ - π/2))
//! ```
//!
//! which is 0.22 at the apex `θ = π/2` and tapers to 0.02 at the tips. The result is a 120° arc opening downwards, from
//! about `(-1.73, -0.5)` through `(0, 0.5)` to `(1.73, -0.5)`. The noise is
//! purely radial, so every point's angle about `ARC_CENTRE` is exactly in
//! `[π/6, 5π/6)`.

use std::f64::consts::{FRAC_PI_2, PI};

use rand::Rng;
use rand_distr::{Distribution, StandardNormal, Uniform};

/// Centre of the circle the band follows.
pub const ARC_CENTRE: [f64; 2] = [0.0, -1.5];

/// Radius of the circle the band follows.
pub const ARC_RADIUS: f64 = 2.0;

/// The band spans angles `[ARC_ANGLES.0, ARC_ANGLES.1)` (radians) about
/// [`ARC_CENTRE`].
pub const ARC_ANGLES: (f64, f64) = (PI / 6.0, 5.0 * PI / 6.0);

/// Radial standard deviation at the tips.
pub const TIP_SD: f64 = 0.02;

/// Extra radial standard deviation at the apex (the total there is
/// `TIP_SD + MIDDLE_EXTRA_SD`).
pub const MIDDLE_EXTRA_SD: f64 = 0.2;

/// Radial standard deviation `σ(θ)` of the band at angle `θ`.
pub fn radial_sd(theta: f64) -> f64 {
    TIP_SD + MIDDLE_EXTRA_SD * (1.5 * (theta - FRAC_PI_2)).cos().max(0.0)
}

/// Draws `n` points from the band.
pub fn sample<R: Rng + ?Sized>(rng: &mut R, n: usize) -> Vec<[f64; 2]> {
    let angle = Uniform::new(ARC_ANGLES.0, ARC_ANGLES.1).expect("non-empty arc");
    (0..n)
        .map(|_| {
            let theta = angle.sample(rng);
            let z: f64 = StandardNormal.sample(rng);
            let radius = ARC_RADIUS + radial_sd(theta) * z;
            let (sin, cos) = theta.sin_cos();
            [ARC_CENTRE[0] + radius * cos, ARC_CENTRE[1] + radius * sin]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::toy::test_util::{assert_close, mean, std_dev};
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    /// (angle, radius) of `p` about the arc centre.
    fn polar(p: &[f64; 2]) -> (f64, f64) {
        let (dx, dy) = (p[0] - ARC_CENTRE[0], p[1] - ARC_CENTRE[1]);
        (dy.atan2(dx), dx.hypot(dy))
    }

    #[test]
    fn band_is_an_arc_that_tapers_towards_the_tips() {
        let points = sample(&mut StdRng::seed_from_u64(1), 20_000);
        let polar: Vec<(f64, f64)> = points.iter().map(polar).collect();
        for &(theta, radius) in &polar {
            assert!(
                theta > ARC_ANGLES.0 - 1e-9 && theta < ARC_ANGLES.1 + 1e-9,
                "angle {theta} off the arc"
            );
            assert!((radius - ARC_RADIUS).abs() < 6.0 * (TIP_SD + MIDDLE_EXTRA_SD));
        }
        let middle = polar
            .iter()
            .filter(|(t, _)| (t - FRAC_PI_2).abs() < 0.15)
            .map(|&(_, r)| r);
        let tips = polar
            .iter()
            .filter(|(t, _)| (t - FRAC_PI_2).abs() > 0.95)
            .map(|&(_, r)| r);
        // σ is 0.22 at the apex, about 0.21 at ±0.15; 0.02 + 0.2·cos(1.425)
        // ≈ 0.05 at ±0.95 and 0.02 at the tips.
        assert_close("apex radial sd", std_dev(middle.clone()), 0.218, 0.02);
        assert_close("apex mean radius", mean(middle), ARC_RADIUS, 0.03);
        assert!(std_dev(tips) < 0.06);
        assert_close("mean x", mean(points.iter().map(|p| p[0])), 0.0, 0.03);
        // E[sin θ] over (π/6, 5π/6) is 3√3/(2π).
        let expected_y = ARC_CENTRE[1] + ARC_RADIUS * 3.0 * 3f64.sqrt() / (2.0 * PI);
        assert_close(
            "mean y",
            mean(points.iter().map(|p| p[1])),
            expected_y,
            0.02,
        );
    }

    #[test]
    fn radial_sd_profile() {
        assert_close("apex", radial_sd(FRAC_PI_2), 0.22, 1e-12);
        assert_close("left tip", radial_sd(ARC_ANGLES.0), TIP_SD, 1e-12);
        assert_close("right tip", radial_sd(ARC_ANGLES.1), TIP_SD, 1e-12);
    }
}
