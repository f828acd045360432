//! A noisy sine curve lying on its side.
//!
//! `x2 ~ U(-3, 3)` and `x1 = sin(x2) + ε` with `ε ~ N(0, 0.1^2)`
//! ([`X2_HALF_RANGE`], [`NOISE_SD`]); points are `[x1, x2]` (note the order:
//! the first coordinate is the noisy sine of the second).

use rand::Rng;
use rand_distr::{Distribution, Normal, Uniform};

/// `x2` is uniform on `[-X2_HALF_RANGE, X2_HALF_RANGE)`.
pub const X2_HALF_RANGE: f64 = 3.0;

/// Standard deviation of the Gaussian noise on `x1`.
pub const NOISE_SD: f64 = 0.1;

/// Draws `n` points `[x1, x2]`.
pub fn sample<R: Rng + ?Sized>(rng: &mut R, n: usize) -> Vec<[f64; 2]> {
    let x2_dist = Uniform::new(-X2_HALF_RANGE, X2_HALF_RANGE).expect("non-empty range");
    let noise = Normal::new(0.0, NOISE_SD).expect("positive standard deviation");
    (0..n)
        .map(|_| {
            let x2 = x2_dist.sample(rng);
            [x2.sin() + noise.sample(rng), x2]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::toy::test_util::{assert_close, mean, std_dev};
    use rand::rngs::StdRng;
    use rand::SeedableRng;
    use std::f64::consts::PI;

    #[test]
    fn x1_is_a_noisy_sine_of_x2() {
        let points = sample(&mut StdRng::seed_from_u64(1), 20_000);
        let residuals: Vec<f64> = points.iter().map(|p| p[0] - p[1].sin()).collect();
        // E|N(0, σ²)| = σ·sqrt(2/π).
        assert_close(
            "mean |x1 - sin x2|",
            mean(residuals.iter().map(|r| r.abs())),
            NOISE_SD * (2.0 / PI).sqrt(),
            0.005,
        );
        assert_close("mean residual", mean(residuals.iter().copied()), 0.0, 0.005);
        assert_close("residual sd", std_dev(residuals), NOISE_SD, 0.005);
    }

    #[test]
    fn x2_is_uniform_on_minus_three_three() {
        let points = sample(&mut StdRng::seed_from_u64(2), 20_000);
        assert!(points.iter().all(|p| (-3.0..3.0).contains(&p[1])));
        let x2 = points.iter().map(|p| p[1]);
        assert_close("mean x2", mean(x2.clone()), 0.0, 0.05);
        // Var U(-3, 3) = 3.
        assert_close("sd x2", std_dev(x2), 3f64.sqrt(), 0.03);
        // Column order: x1 is bounded by 1 + noise, x2 is not.
        assert!(points.iter().all(|p| p[0].abs() < 1.6));
        assert!(points.iter().any(|p| p[1].abs() > 2.9));
    }
}
