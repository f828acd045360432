//! Two concentric circles, as scikit-learn's
//! `make_circles(factor=0.5, noise=0.05)`.
//!
//! Even-indexed points lie on the outer circle of radius [`OUTER_RADIUS`],
//! odd-indexed points on the inner circle of radius [`INNER_RADIUS`], at an
//! angle `θ ~ U(0, 2π)` drawn independently for each point (scikit-learn
//! spaces the angles evenly instead). Each coordinate then gets independent
//! Gaussian noise with standard deviation [`NOISE_SD`].

use std::f64::consts::TAU;

use rand::Rng;
use rand_distr::{Distribution, Normal, Uniform};

/// Radius of the outer circle.
pub const OUTER_RADIUS: f64 = 1.0;

/// Radius of the inner circle (scikit-learn's `factor` times the outer one).
pub const INNER_RADIUS: f64 = 0.5;

/// Standard deviation of the Gaussian noise added to each coordinate.
pub const NOISE_SD: f64 = 0.05;

/// Draws `n` points; point `i` is on the outer circle for even `i` and on the
/// inner circle for odd `i`.
pub fn sample<R: Rng + ?Sized>(rng: &mut R, n: usize) -> Vec<[f64; 2]> {
    let angle = Uniform::new(0.0, TAU).expect("0 < 2π");
    let noise = Normal::new(0.0, NOISE_SD).expect("positive standard deviation");
    (0..n)
        .map(|i| {
            let radius = if i % 2 == 0 {
                OUTER_RADIUS
            } else {
                INNER_RADIUS
            };
            let (sin, cos) = angle.sample(rng).sin_cos();
            [
                radius * cos + noise.sample(rng),
                radius * sin + noise.sample(rng),
            ]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::toy::test_util::{assert_close, mean, std_dev};
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    #[test]
    fn radii_cluster_at_one_and_one_half() {
        let points = sample(&mut StdRng::seed_from_u64(1), 20_000);
        let radii: Vec<f64> = points.iter().map(|p| p[0].hypot(p[1])).collect();
        let deviations: Vec<f64> = radii
            .iter()
            .enumerate()
            .map(|(i, r)| r - if i % 2 == 0 { 1.0 } else { 0.5 })
            .collect();
        // The circles are 10 noise sd apart: nearly every point is within
        // 4 sd (expect about 1 in 16000 beyond), all within 7 sd.
        assert!(deviations.iter().all(|d| d.abs() < 7.0 * NOISE_SD));
        let beyond_4_sd = deviations
            .iter()
            .filter(|d| d.abs() > 4.0 * NOISE_SD)
            .count();
        assert!(beyond_4_sd <= 10, "{beyond_4_sd} points beyond 4 sd");
        let outer = radii.iter().copied().step_by(2);
        let inner = radii.iter().copied().skip(1).step_by(2);
        assert_close("outer mean radius", mean(outer.clone()), 1.0, 0.01);
        assert_close("inner mean radius", mean(inner.clone()), 0.5, 0.01);
        // Radial spread is about the noise sd.
        assert_close("outer radius sd", std_dev(outer), NOISE_SD, 0.01);
        assert_close("inner radius sd", std_dev(inner), NOISE_SD, 0.01);
    }

    #[test]
    fn angles_are_uniform() {
        let points = sample(&mut StdRng::seed_from_u64(2), 20_000);
        assert_close("mean x", mean(points.iter().map(|p| p[0])), 0.0, 0.02);
        assert_close("mean y", mean(points.iter().map(|p| p[1])), 0.0, 0.02);
        // Each quadrant holds a quarter of the points.
        let upper_right = points.iter().filter(|p| p[0] > 0.0 && p[1] > 0.0).count();
        assert_close(
            "upper-right share",
            upper_right as f64 / 20_000.0,
            0.25,
            0.02,
        );
    }
}
