//! The FFJORD / nflows checkerboard on `[-4, 4)^2`.
//!
//! The plane square `[-4, 4)^2` is cut into a 4 × 4 board of 2 × 2 cells;
//! the density is uniform on the eight "black" cells, those whose indices
//! `(⌊x/2⌋, ⌊y/2⌋)` have an even sum, and zero elsewhere. Sampling follows
//! FFJORD's `checkerboard` exactly:
//!
//! ```text
//! x1 = U(0, 1)·4 - 2
//! x2 = U(0, 1) - 2·B + (⌊x1⌋ mod 2),   B ~ Bernoulli(1/2)
//! point = 2·(x1, x2)
//! ```

use rand::Rng;
use rand_distr::{Distribution, Uniform};

/// Half the side of the board: points lie in `[-HALF_WIDTH, HALF_WIDTH)^2`.
pub const HALF_WIDTH: f64 = 4.0;

/// Whether `point` lies on a black cell of the board (and on the board).
pub fn is_black(point: [f64; 2]) -> bool {
    let on_board = point.iter().all(|v| (-HALF_WIDTH..HALF_WIDTH).contains(v));
    let cell_sum = (point[0] / 2.0).floor() + (point[1] / 2.0).floor();
    on_board && cell_sum.rem_euclid(2.0) == 0.0
}

/// Draws `n` points uniformly from the black cells.
pub fn sample<R: Rng + ?Sized>(rng: &mut R, n: usize) -> Vec<[f64; 2]> {
    let unit = Uniform::<f64>::new(0.0, 1.0).expect("0 < 1");
    (0..n)
        .map(|_| {
            let x1 = unit.sample(rng) * 4.0 - 2.0;
            let lower = if rng.random_bool(0.5) { 2.0 } else { 0.0 };
            let x2 = unit.sample(rng) - lower + x1.floor().rem_euclid(2.0);
            [2.0 * x1, 2.0 * x2]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::toy::test_util::{assert_close, mean};
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    #[test]
    fn points_fall_only_in_black_cells() {
        let points = sample(&mut StdRng::seed_from_u64(1), 20_000);
        for p in &points {
            assert!(is_black(*p), "{p:?} is not on a black cell");
        }
    }

    #[test]
    fn black_cells_are_equally_filled() {
        let n = 40_000;
        let points = sample(&mut StdRng::seed_from_u64(2), n);
        let mut counts = [[0usize; 4]; 4];
        for p in &points {
            let i = ((p[0] + HALF_WIDTH) / 2.0).floor() as usize;
            let j = ((p[1] + HALF_WIDTH) / 2.0).floor() as usize;
            counts[i][j] += 1;
        }
        for (i, row) in counts.iter().enumerate() {
            for (j, &count) in row.iter().enumerate() {
                let expected = if (i + j) % 2 == 0 { 1.0 / 8.0 } else { 0.0 };
                assert_close(
                    &format!("share of cell ({i}, {j})"),
                    count as f64 / n as f64,
                    expected,
                    0.01,
                );
            }
        }
        assert_close("mean x", mean(points.iter().map(|p| p[0])), 0.0, 0.05);
        assert_close("mean y", mean(points.iter().map(|p| p[1])), 0.0, 0.05);
    }

    #[test]
    fn is_black_classifies_cells() {
        assert!(is_black([-3.0, -3.0]));
        assert!(is_black([-3.0, 1.0]));
        assert!(is_black([1.0, 1.0]));
        assert!(is_black([-1.0, -1.0]));
        assert!(!is_black([1.0, -1.0]));
        assert!(!is_black([-3.0, -1.0]));
        assert!(!is_black([5.0, 5.0]));
        assert!(!is_black([4.0, 0.5]));
    }
}
