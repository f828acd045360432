//! Two interleaved spirals, as FFJORD's `2spirals`.
//!
//! With `s = sqrt(U(0, 1)) · 3π` (540° in radians) and independent offsets
//! `u, v ~ U(0, 1/2)`, the first arm is
//! `(-s·cos s + u, s·sin s + v)` and the second arm its negation; both get
//! independent Gaussian noise with standard deviation [`NOISE_SD`] in each
//! coordinate. Even-indexed points lie on the first arm, odd-indexed points on
//! the second (FFJORD stacks two halves instead).

use std::f64::consts::PI;

use rand::Rng;
use rand_distr::{Distribution, Normal, Uniform};

/// Largest curve parameter `s` (and so radius before offsets): 540° = 3π.
pub const MAX_TURN: f64 = 3.0 * PI;

/// Upper bound of the uniform offset added to each coordinate of the first
/// arm (subtracted for the second).
pub const OFFSET_WIDTH: f64 = 0.5;

/// Standard deviation of the Gaussian noise added to each coordinate.
pub const NOISE_SD: f64 = 0.1;

/// Draws `n` points; point `i` is on the first arm for even `i` and on the
/// second for odd `i`.
pub fn sample<R: Rng + ?Sized>(rng: &mut R, n: usize) -> Vec<[f64; 2]> {
    let unit = Uniform::<f64>::new(0.0, 1.0).expect("0 < 1");
    let offset = Uniform::new(0.0, OFFSET_WIDTH).expect("positive width");
    let noise = Normal::new(0.0, NOISE_SD).expect("positive standard deviation");
    (0..n)
        .map(|i| {
            let s = unit.sample(rng).sqrt() * MAX_TURN;
            let (sin, cos) = s.sin_cos();
            let x = -cos * s + offset.sample(rng);
            let y = sin * s + offset.sample(rng);
            let sign = if i % 2 == 0 { 1.0 } else { -1.0 };
            [sign * x + noise.sample(rng), sign * y + noise.sample(rng)]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::toy::test_util::{assert_close, fraction, mean};
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    /// Distance from `p` to the set `sign·(curve(s) + [0, 1/2]^2)`, scanning
    /// the curve parameter finely.
    fn distance_to_arm(p: [f64; 2], sign: f64) -> f64 {
        let steps = 4000;
        (0..=steps)
            .map(|k| {
                let s = MAX_TURN * k as f64 / steps as f64;
                let (sin, cos) = s.sin_cos();
                // Residual from the curve point, minus the nearest offset.
                let q = [sign * p[0], sign * p[1]];
                let (rx, ry) = (q[0] + cos * s, q[1] - sin * s);
                let dx = rx - rx.clamp(0.0, OFFSET_WIDTH);
                let dy = ry - ry.clamp(0.0, OFFSET_WIDTH);
                dx.hypot(dy)
            })
            .fold(f64::INFINITY, f64::min)
    }

    #[test]
    fn points_lie_on_their_own_arm() {
        let points = sample(&mut StdRng::seed_from_u64(1), 1000);
        let mut nearer_other = 0;
        for (i, &p) in points.iter().enumerate() {
            let (own, other) = if i % 2 == 0 { (1.0, -1.0) } else { (-1.0, 1.0) };
            let d_own = distance_to_arm(p, own);
            // Noise is 0.1 per coordinate: 5 sd in distance is about 0.71.
            assert!(d_own < 0.75, "point {i}: {p:?} is {d_own} from its arm");
            if distance_to_arm(p, other) < d_own {
                nearer_other += 1;
            }
        }
        // Only points near the centre, where the arms meet, may be closer to
        // the other arm.
        assert!(
            nearer_other < 50,
            "{nearer_other} points nearer the other arm"
        );
    }

    #[test]
    fn radius_distribution_matches_sqrt_uniform_parameter() {
        let points = sample(&mut StdRng::seed_from_u64(2), 20_000);
        let radius_bound = MAX_TURN + OFFSET_WIDTH * 2f64.sqrt() + 0.75;
        assert!(points.iter().all(|p| p[0].hypot(p[1]) < radius_bound));
        // Distance from the arm's mean offset ±(1/4, 1/4), which is s plus
        // zero-mean noise.
        let half = OFFSET_WIDTH / 2.0;
        let radii: Vec<f64> = points
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let sign = if i % 2 == 0 { 1.0 } else { -1.0 };
                (p[0] - sign * half).hypot(p[1] - sign * half)
            })
            .collect();
        // s = 3π·sqrt(U) has mean 2π.
        assert_close("mean radius", mean(radii.iter().copied()), 2.0 * PI, 0.1);
        // P(s < 3π/2) = 1/4, P(s < 3π/√2) = 1/2.
        assert_close(
            "share inside 3π/2",
            fraction(&radii, |&r| r < 1.5 * PI),
            0.25,
            0.015,
        );
        assert_close(
            "share inside 3π/√2",
            fraction(&radii, |&r| r < MAX_TURN / 2f64.sqrt()),
            0.5,
            0.015,
        );
        // The arms are point reflections of each other.
        assert_close("mean x", mean(points.iter().map(|p| p[0])), 0.0, 0.1);
        assert_close("mean y", mean(points.iter().map(|p| p[1])), 0.0, 0.1);
    }
}
