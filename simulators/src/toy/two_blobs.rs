//! Two well-separated Gaussian blobs.
//!
//! Even-indexed points come from an isotropic Gaussian centred at
//! `(-2, 0)`, odd-indexed points from one centred at `(2, 0)`
//! ([`CENTRE_X`]); both have standard deviation [`BLOB_SD`] (0.5) in each
//! coordinate.

use rand::Rng;
use rand_distr::{Distribution, Normal};

/// The blobs are centred at `(-CENTRE_X, 0)` and `(CENTRE_X, 0)`.
pub const CENTRE_X: f64 = 2.0;

/// Standard deviation of each blob in each coordinate.
pub const BLOB_SD: f64 = 0.5;

/// Draws `n` points; point `i` is from the left blob for even `i` and from
/// the right blob for odd `i`.
pub fn sample<R: Rng + ?Sized>(rng: &mut R, n: usize) -> Vec<[f64; 2]> {
    let noise = Normal::new(0.0, BLOB_SD).expect("positive standard deviation");
    (0..n)
        .map(|i| {
            let cx = if i % 2 == 0 { -CENTRE_X } else { CENTRE_X };
            [cx + noise.sample(rng), noise.sample(rng)]
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
    fn blobs_have_the_right_centres_and_spread() {
        let points = sample(&mut StdRng::seed_from_u64(1), 20_000);
        let left: Vec<[f64; 2]> = points.iter().copied().step_by(2).collect();
        let right: Vec<[f64; 2]> = points.iter().copied().skip(1).step_by(2).collect();
        for (blob, cx) in [(&left, -CENTRE_X), (&right, CENTRE_X)] {
            assert_close("blob mean x", mean(blob.iter().map(|p| p[0])), cx, 0.02);
            assert_close("blob mean y", mean(blob.iter().map(|p| p[1])), 0.0, 0.02);
            assert_close(
                "blob sd x",
                std_dev(blob.iter().map(|p| p[0])),
                BLOB_SD,
                0.02,
            );
            assert_close(
                "blob sd y",
                std_dev(blob.iter().map(|p| p[1])),
                BLOB_SD,
                0.02,
            );
            // Within 6 sd of its own centre.
            assert!(blob.iter().all(|p| (p[0] - cx).hypot(p[1]) < 6.0 * BLOB_SD));
        }
        // The blobs are separated: 4 sd from each centre to the middle.
        let crossing = points
            .iter()
            .enumerate()
            .filter(|(i, p)| (p[0] > 0.0) != (i % 2 == 1))
            .count();
        assert!(crossing < 10, "{crossing} points on the wrong side");
    }
}
