//! The line `y = x` with a gap in the middle.
//!
//! A point is `(t, t)` plus independent Gaussian noise with standard
//! deviation [`NOISE_SD`] (0.05) in each coordinate, where `t ~ U(0.5, 2)`
//! for even-indexed points and `t ~ U(-2, -0.5)` for odd-indexed points
//! ([`GAP_HALF_WIDTH`], [`HALF_LENGTH`]): two equally likely segments of the
//! diagonal separated by a gap around the origin.

use rand::Rng;
use rand_distr::{Distribution, Normal, Uniform};

/// Half the width of the gap, measured along each axis: `|t| >= 0.5`.
pub const GAP_HALF_WIDTH: f64 = 0.5;

/// Half the extent of the line, measured along each axis: `|t| < 2`.
pub const HALF_LENGTH: f64 = 2.0;

/// Standard deviation of the Gaussian noise added to each coordinate.
pub const NOISE_SD: f64 = 0.05;

/// Draws `n` points; point `i` is on the upper segment for even `i` and on
/// the lower segment for odd `i`.
pub fn sample<R: Rng + ?Sized>(rng: &mut R, n: usize) -> Vec<[f64; 2]> {
    let position = Uniform::new(GAP_HALF_WIDTH, HALF_LENGTH).expect("gap inside the line");
    let noise = Normal::new(0.0, NOISE_SD).expect("positive standard deviation");
    (0..n)
        .map(|i| {
            let sign = if i % 2 == 0 { 1.0 } else { -1.0 };
            let t = sign * position.sample(rng);
            [t + noise.sample(rng), t + noise.sample(rng)]
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
    fn points_hug_the_diagonal_and_avoid_the_gap() {
        let points = sample(&mut StdRng::seed_from_u64(1), 20_000);
        // Along the line: t plus noise of sd 0.05/√2; across: noise of sd
        // 0.05·√2 in x - y.
        let along: Vec<f64> = points.iter().map(|p| (p[0] + p[1]) / 2.0).collect();
        let across: Vec<f64> = points.iter().map(|p| p[0] - p[1]).collect();
        assert!(along.iter().all(|t| t.abs() > 0.3 && t.abs() < 2.2));
        for (i, t) in along.iter().enumerate() {
            assert_eq!(*t > 0.0, i % 2 == 0, "point {i} on the wrong segment");
        }
        assert_close("mean along", mean(along.iter().copied()), 0.0, 0.03);
        // |t| ~ U(0.5, 2) has mean 1.25.
        assert_close(
            "mean |along|",
            mean(along.iter().map(|t| t.abs())),
            1.25,
            0.02,
        );
        assert_close("mean across", mean(across.iter().copied()), 0.0, 0.005);
        assert_close(
            "sd across",
            std_dev(across.iter().copied()),
            NOISE_SD * 2f64.sqrt(),
            0.005,
        );
    }
}
