//! Two interleaving half circles ("two moons"), as scikit-learn's
//! `make_moons(noise=0.1)`.
//!
//! Even-indexed points lie on the outer moon `(cos t, sin t)`, odd-indexed
//! points on the inner moon `(1 - cos t, 0.5 - sin t)`, with `t ~ U(0, π)`
//! drawn independently for each point (scikit-learn spaces `t` evenly
//! instead). Each coordinate then gets independent Gaussian noise with
//! standard deviation [`NOISE_SD`].

use std::f64::consts::PI;

use rand::Rng;
use rand_distr::{Distribution, Normal, Uniform};

/// Standard deviation of the Gaussian noise added to each coordinate.
pub const NOISE_SD: f64 = 0.1;

/// Draws `n` points; point `i` is on the outer moon for even `i` and on the
/// inner moon for odd `i`.
pub fn sample<R: Rng + ?Sized>(rng: &mut R, n: usize) -> Vec<[f64; 2]> {
    let angle = Uniform::new(0.0, PI).expect("0 < π");
    let noise = Normal::new(0.0, NOISE_SD).expect("positive standard deviation");
    (0..n)
        .map(|i| {
            let (sin, cos) = angle.sample(rng).sin_cos();
            let [x, y] = if i % 2 == 0 {
                [cos, sin]
            } else {
                [1.0 - cos, 0.5 - sin]
            };
            [x + noise.sample(rng), y + noise.sample(rng)]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::toy::test_util::{assert_close, fraction, mean};
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    #[test]
    fn moments_and_range_match_make_moons() {
        let points = sample(&mut StdRng::seed_from_u64(1), 20_000);
        // E[x] = (E[cos t] + 1 - E[cos t]) / 2 = 0.5;
        // E[y] = (E[sin t] + 0.5 - E[sin t]) / 2 = 0.25.
        assert_close("mean x", mean(points.iter().map(|p| p[0])), 0.5, 0.05);
        assert_close("mean y", mean(points.iter().map(|p| p[1])), 0.25, 0.05);
        assert!(points.iter().all(|p| (-1.0..=1.5).contains(&p[1])));
        assert!(points.iter().all(|p| (-1.6..=2.6).contains(&p[0])));
    }

    #[test]
    fn points_lie_on_their_own_moon() {
        let points = sample(&mut StdRng::seed_from_u64(2), 10_000);
        for (i, p) in points.iter().enumerate() {
            // Distance to the moon's circle, at most ~5 noise sd (√2·0.1·5).
            let radius = if i % 2 == 0 {
                p[0].hypot(p[1])
            } else {
                (p[0] - 1.0).hypot(p[1] - 0.5)
            };
            assert!((radius - 1.0).abs() < 0.71, "point {i}: {p:?}");
        }
        // Outer moon opens downwards (y ≥ 0 before noise), inner upwards.
        let outer: Vec<_> = points.iter().step_by(2).collect();
        let inner: Vec<_> = points.iter().skip(1).step_by(2).collect();
        assert!(fraction(&outer, |p| p[1] > -0.1) > 0.95);
        assert!(fraction(&inner, |p| p[1] < 0.6) > 0.95);
        assert_close(
            "outer mean y",
            mean(outer.iter().map(|p| p[1])),
            2.0 / PI,
            0.03,
        );
        assert_close(
            "inner mean y",
            mean(inner.iter().map(|p| p[1])),
            0.5 - 2.0 / PI,
            0.03,
        );
    }
}
