//! Four Gaussian clusters at the corners of a square, plus a thin uniform
//! background.
//!
//! With probability `1 - BACKGROUND_WEIGHT` (0.95) a point comes from one of
//! four isotropic Gaussians, chosen uniformly, centred at `(±2, ±2)`
//! ([`CORNER`]) with standard deviation [`CLUSTER_SD`] (0.25) in each
//! coordinate; with probability [`BACKGROUND_WEIGHT`] (0.05) it is uniform
//! on the square `[-3, 3]^2` ([`BACKGROUND_HALF_WIDTH`]). The component is
//! drawn at random for each point.

use rand::Rng;
use rand_distr::{Distribution, Normal, Uniform};

/// Distance of each cluster centre from the axes: centres are `(±CORNER, ±CORNER)`.
pub const CORNER: f64 = 2.0;

/// Standard deviation of each cluster in each coordinate.
pub const CLUSTER_SD: f64 = 0.25;

/// Probability that a point comes from the uniform background.
pub const BACKGROUND_WEIGHT: f64 = 0.05;

/// The background is uniform on `[-BACKGROUND_HALF_WIDTH, BACKGROUND_HALF_WIDTH)^2`.
pub const BACKGROUND_HALF_WIDTH: f64 = 3.0;

/// Draws `n` points from the mixture.
pub fn sample<R: Rng + ?Sized>(rng: &mut R, n: usize) -> Vec<[f64; 2]> {
    let background = Uniform::new(-BACKGROUND_HALF_WIDTH, BACKGROUND_HALF_WIDTH)
        .expect("non-empty background square");
    let noise = Normal::new(0.0, CLUSTER_SD).expect("positive standard deviation");
    (0..n)
        .map(|_| {
            if rng.random_bool(BACKGROUND_WEIGHT) {
                [background.sample(rng), background.sample(rng)]
            } else {
                let corner = rng.random_range(0..4u8);
                let cx = if corner & 1 == 0 { CORNER } else { -CORNER };
                let cy = if corner & 2 == 0 { CORNER } else { -CORNER };
                [cx + noise.sample(rng), cy + noise.sample(rng)]
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
    use std::f64::consts::PI;

    fn distance_to_nearest_corner(p: &[f64; 2]) -> f64 {
        (p[0].abs() - CORNER).hypot(p[1].abs() - CORNER)
    }

    #[test]
    fn clusters_and_background_have_the_right_mass() {
        let n = 40_000;
        let points = sample(&mut StdRng::seed_from_u64(1), n);
        // Points farther than 1 (4 cluster sd) from every corner: the
        // background outside four discs of radius 1 (which fit in the
        // square), plus the clusters' tail exp(-8).
        let discs = 4.0 * PI * 1.0 * 1.0;
        let side = 2.0 * BACKGROUND_HALF_WIDTH;
        let expected = BACKGROUND_WEIGHT * (1.0 - discs / (side * side))
            + (1.0 - BACKGROUND_WEIGHT) * (-8.0f64).exp();
        assert_close(
            "share away from the corners",
            fraction(&points, |p| distance_to_nearest_corner(p) > 1.0),
            expected,
            0.005,
        );
        // Everything is in the square or within 6 sd of a corner.
        assert!(points.iter().all(|p| {
            p.iter().all(|v| v.abs() <= BACKGROUND_HALF_WIDTH)
                || distance_to_nearest_corner(p) < 6.0 * CLUSTER_SD
        }));
        // The four corners are equally likely.
        for (sx, sy) in [(1.0, 1.0), (-1.0, 1.0), (1.0, -1.0), (-1.0, -1.0)] {
            assert_close(
                "quadrant share",
                fraction(&points, |p| p[0] * sx > 0.0 && p[1] * sy > 0.0),
                0.25,
                0.015,
            );
        }
        assert_close("mean x", mean(points.iter().map(|p| p[0])), 0.0, 0.05);
        assert_close("mean y", mean(points.iter().map(|p| p[1])), 0.0, 0.05);
    }

    #[test]
    fn cluster_points_have_the_cluster_spread() {
        let points = sample(&mut StdRng::seed_from_u64(2), 20_000);
        let near: Vec<f64> = points
            .iter()
            .filter(|p| distance_to_nearest_corner(p) < 1.0)
            .map(|p| p[0].abs() - CORNER)
            .collect();
        // Mostly cluster points; the few background ones barely widen it.
        let sd = (near.iter().map(|d| d * d).sum::<f64>() / near.len() as f64).sqrt();
        assert_close("cluster sd", sd, CLUSTER_SD, 0.02);
    }
}
