//! A smiley face: two Gaussian eyes and a mouth arc.
//!
//! A mixture of three components, drawn at random for each point:
//!
//! - each eye (probability [`EYE_WEIGHT`] = 0.2 each) is an isotropic Gaussian
//!   centred at `(±0.7, 1)` ([`EYE_CENTRE`]) with standard deviation
//!   [`EYE_SD`] = 0.1 in each coordinate;
//! - the mouth (probability 0.6) is the lower arc of the circle of radius
//!   [`MOUTH_RADIUS`] = 1.5 centred at [`MOUTH_CENTRE`] = `(0, 0.5)`, at an
//!   angle `θ ~ U(7π/6, 11π/6)` (so `y` runs from -0.25 at the corners of the
//!   mouth down to -1), plus Gaussian noise with standard deviation
//!   [`MOUTH_SD`] = 0.08 in each coordinate.

use std::f64::consts::PI;

use rand::Rng;
use rand_distr::{Distribution, Normal, Uniform};

/// Centre of the right eye; the left eye is its mirror image `(-x, y)`.
pub const EYE_CENTRE: [f64; 2] = [0.7, 1.0];

/// Standard deviation of each eye in each coordinate.
pub const EYE_SD: f64 = 0.1;

/// Probability of each eye (the mouth has `1 - 2·EYE_WEIGHT`).
pub const EYE_WEIGHT: f64 = 0.2;

/// Centre of the circle the mouth is an arc of.
pub const MOUTH_CENTRE: [f64; 2] = [0.0, 0.5];

/// Radius of the circle the mouth is an arc of.
pub const MOUTH_RADIUS: f64 = 1.5;

/// The mouth spans angles `[MOUTH_ANGLES.0, MOUTH_ANGLES.1)` (radians).
pub const MOUTH_ANGLES: (f64, f64) = (7.0 * PI / 6.0, 11.0 * PI / 6.0);

/// Standard deviation of the noise around the mouth arc, in each coordinate.
pub const MOUTH_SD: f64 = 0.08;

/// Draws `n` points from the face.
pub fn sample<R: Rng + ?Sized>(rng: &mut R, n: usize) -> Vec<[f64; 2]> {
    let unit = Uniform::<f64>::new(0.0, 1.0).expect("0 < 1");
    let mouth_angle = Uniform::new(MOUTH_ANGLES.0, MOUTH_ANGLES.1).expect("non-empty arc");
    let eye_noise = Normal::new(0.0, EYE_SD).expect("positive standard deviation");
    let mouth_noise = Normal::new(0.0, MOUTH_SD).expect("positive standard deviation");
    (0..n)
        .map(|_| {
            let u = unit.sample(rng);
            if u < 2.0 * EYE_WEIGHT {
                let x = if u < EYE_WEIGHT {
                    -EYE_CENTRE[0]
                } else {
                    EYE_CENTRE[0]
                };
                [
                    x + eye_noise.sample(rng),
                    EYE_CENTRE[1] + eye_noise.sample(rng),
                ]
            } else {
                let (sin, cos) = mouth_angle.sample(rng).sin_cos();
                [
                    MOUTH_CENTRE[0] + MOUTH_RADIUS * cos + mouth_noise.sample(rng),
                    MOUTH_CENTRE[1] + MOUTH_RADIUS * sin + mouth_noise.sample(rng),
                ]
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::toy::test_util::{assert_close, fraction, mean};
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    fn near_eye(p: &[f64; 2], sign: f64) -> bool {
        // 6 sd in distance (the 2-D tail beyond 6 sd is exp(-18)).
        (p[0] - sign * EYE_CENTRE[0]).hypot(p[1] - EYE_CENTRE[1]) < 6.0 * EYE_SD
    }

    fn near_mouth(p: &[f64; 2]) -> bool {
        let (dx, dy) = (p[0] - MOUTH_CENTRE[0], p[1] - MOUTH_CENTRE[1]);
        // Within 6 sd of the circle and below the eyes (the mouth's corners
        // are at y = -0.25, the eyes' lowest points at 1 - 6·EYE_SD = 0.4).
        (dx.hypot(dy) - MOUTH_RADIUS).abs() < 6.0 * MOUTH_SD && p[1] < 0.15
    }

    #[test]
    fn every_point_belongs_to_an_eye_or_the_mouth() {
        let points = sample(&mut StdRng::seed_from_u64(1), 20_000);
        for p in &points {
            let memberships = [near_eye(p, -1.0), near_eye(p, 1.0), near_mouth(p)];
            assert_eq!(
                memberships.iter().filter(|&&m| m).count(),
                1,
                "{p:?} is not in exactly one part of the face"
            );
        }
        assert_close(
            "left eye",
            fraction(&points, |p| near_eye(p, -1.0)),
            0.2,
            0.015,
        );
        assert_close(
            "right eye",
            fraction(&points, |p| near_eye(p, 1.0)),
            0.2,
            0.015,
        );
        assert_close("mouth", fraction(&points, near_mouth), 0.6, 0.015);
    }

    #[test]
    fn mouth_is_a_symmetric_lower_arc() {
        let points = sample(&mut StdRng::seed_from_u64(2), 20_000);
        let mouth: Vec<[f64; 2]> = points.into_iter().filter(near_mouth).collect();
        assert_close("mouth mean x", mean(mouth.iter().map(|p| p[0])), 0.0, 0.03);
        // E[sin θ] over (7π/6, 11π/6) is -3√3/(2π).
        let expected_y = MOUTH_CENTRE[1] - MOUTH_RADIUS * 3.0 * 3f64.sqrt() / (2.0 * PI);
        assert_close(
            "mouth mean y",
            mean(mouth.iter().map(|p| p[1])),
            expected_y,
            0.02,
        );
        // The mouth does not reach past its corners at x = ±1.5·cos(π/6).
        let corner_x = MOUTH_RADIUS * (PI / 6.0).cos();
        assert!(mouth.iter().all(|p| p[0].abs() < corner_x + 5.0 * MOUTH_SD));
    }
}
