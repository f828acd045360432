//! A ring of Gaussians (FFJORD's `8gaussians` generalised to any count).
//!
//! For `k` components, the centres are `RADIUS · (cos 2πj/k, sin 2πj/k)` for
//! `j = 0, …, k - 1`, and each component is an isotropic Gaussian with
//! standard deviation [`COMPONENT_SD`] (0.2) in each coordinate. Point `i`
//! comes from component `i % k`, so the components are exactly balanced.
//! A count of 0 behaves as 1 (a single Gaussian centred at `(RADIUS, 0)`).

use std::f64::consts::TAU;

use rand::Rng;
use rand_distr::{Distribution, Normal};

/// Radius of the circle the centres lie on.
pub const RADIUS: f64 = 2.0;

/// Standard deviation of each component in each coordinate.
pub const COMPONENT_SD: f64 = 0.2;

/// Centre of component `j` out of `components` (0 behaves as 1).
pub fn centre(j: usize, components: usize) -> [f64; 2] {
    let (sin, cos) = (TAU * j as f64 / components.max(1) as f64).sin_cos();
    [RADIUS * cos, RADIUS * sin]
}

/// Draws `n` points from a ring of `components` Gaussians (0 behaves as 1);
/// point `i` comes from component `i % components`.
pub fn sample<R: Rng + ?Sized>(rng: &mut R, n: usize, components: usize) -> Vec<[f64; 2]> {
    let components = components.max(1);
    let noise = Normal::new(0.0, COMPONENT_SD).expect("positive standard deviation");
    (0..n)
        .map(|i| {
            let [cx, cy] = centre(i % components, components);
            [cx + noise.sample(rng), cy + noise.sample(rng)]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::toy::test_util::{assert_close, mean, std_dev};
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    fn distance(a: [f64; 2], b: [f64; 2]) -> f64 {
        (a[0] - b[0]).hypot(a[1] - b[1])
    }

    #[test]
    fn points_cluster_around_their_centres() {
        for k in [1, 3, 8] {
            let points = sample(&mut StdRng::seed_from_u64(1), 16_000, k);
            let mut nearer_other = 0;
            for (i, &p) in points.iter().enumerate() {
                let own = distance(p, centre(i % k, k));
                // Within 6 sd of its own centre.
                assert!(own < 6.0 * COMPONENT_SD, "k={k}, point {i}: {p:?}");
                if (0..k).any(|j| distance(p, centre(j, k)) < own) {
                    nearer_other += 1;
                }
            }
            // For k = 8 neighbouring centres are 1.53 (7.7 sd) apart, so
            // only a handful of points are nearer a neighbour's centre.
            assert!(nearer_other <= 10, "k={k}: {nearer_other} points");
            let (xs, ys) = (points.iter().map(|p| p[0]), points.iter().map(|p| p[1]));
            if k > 1 {
                assert_close("mean x", mean(xs), 0.0, 0.02);
                assert_close("mean y", mean(ys), 0.0, 0.02);
            }
            // Per-component spread is COMPONENT_SD.
            let residuals = points
                .iter()
                .enumerate()
                .map(|(i, p)| p[0] - centre(i % k, k)[0]);
            assert_close("component sd", std_dev(residuals), COMPONENT_SD, 0.01);
        }
    }

    #[test]
    fn centres_are_on_the_ring() {
        let centres: Vec<[f64; 2]> = (0..8).map(|j| centre(j, 8)).collect();
        assert_close("centre 0 x", centres[0][0], 2.0, 1e-12);
        assert_close("centre 2 y", centres[2][1], 2.0, 1e-12);
        assert_close("centre 4 x", centres[4][0], -2.0, 1e-12);
        for c in centres {
            assert_close("centre radius", c[0].hypot(c[1]), RADIUS, 1e-12);
        }
        assert_eq!(centre(0, 0), [RADIUS, 0.0]);
    }
}
