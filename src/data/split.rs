//! Seeded train / validation / test split of row indices.

use super::table::Table;
use crate::error::{Error, Result};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;

/// Disjoint row indices for training, validation and testing; together they cover
/// `0..n`. Each part is sorted ascending, so selected tables keep the file's row order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    /// Training rows.
    pub train: Vec<usize>,
    /// Validation rows (early stopping, model selection).
    pub val: Vec<usize>,
    /// Held-out test rows.
    pub test: Vec<usize>,
}

impl Split {
    /// 70 % train, 15 % validation, 15 % test.
    pub const DEFAULT_FRACTIONS: (f64, f64, f64) = (0.7, 0.15, 0.15);

    /// The three parts of `table` (train, val, test). Panics if an index is out of range,
    /// i.e. if the split was made for a larger table.
    pub fn tables(&self, table: &Table) -> (Table, Table, Table) {
        (
            table.select(&self.train),
            table.select(&self.val),
            table.select(&self.test),
        )
    }
}

/// Split `0..n` at random into train / validation / test parts with the given
/// fractions, reproducibly for a given `seed` (the shuffle is
/// `StdRng::seed_from_u64(seed)` with `SliceRandom::shuffle`, so it is stable for a
/// given `rand` version).
///
/// Sizes: `train = ⌊n·f_train⌋`, `val = ⌊n·f_val⌋`, and the rest goes to the test part
/// (to the training part if `f_test = 0`, to the validation part if both are 0). For
/// `n > 0` every part with a positive fraction then gets at least one row, taken from
/// the largest part; a part with fraction 0 stays empty. 70/15/15 of 1565 rows gives
/// 1095/234/236.
///
/// Errors ([`Error::Config`]): a negative or non-finite fraction, fractions not summing
/// to 1 (± 1e-9), or `n` smaller than the number of parts with a positive fraction.
pub fn split_indices(n: usize, fractions: (f64, f64, f64), seed: u64) -> Result<Split> {
    let f = [fractions.0, fractions.1, fractions.2];
    const NAMES: [&str; 3] = ["train", "val", "test"];
    for (name, &x) in NAMES.iter().zip(&f) {
        if !(x.is_finite() && x >= 0.0) {
            return Err(Error::config(format!(
                "split: {name} fraction is {x}; expected a finite number ≥ 0"
            )));
        }
    }
    let sum: f64 = f.iter().sum();
    if (sum - 1.0).abs() > 1e-9 {
        return Err(Error::config(format!(
            "split: fractions {:?} sum to {sum}; expected 1",
            fractions
        )));
    }
    let positive = f.iter().filter(|&&x| x > 0.0).count();
    if n > 0 && n < positive {
        return Err(Error::config(format!(
            "split: {n} rows cannot give {positive} non-empty parts (fractions {fractions:?}); \
             expected at least {positive} rows"
        )));
    }

    // ⌊n·f⌋ with a little slack against products like 6.999999999999999.
    let floor = |x: f64| {
        let p = n as f64 * x;
        ((p + 1e-9 * p.max(1.0)).floor() as usize).min(n)
    };
    let mut sizes = [0usize; 3];
    sizes[0] = floor(f[0]);
    sizes[1] = floor(f[1]).min(n - sizes[0]);
    let rest = n - sizes[0] - sizes[1];
    let sink = [2, 0, 1].into_iter().find(|&k| f[k] > 0.0).unwrap_or(2);
    sizes[sink] += rest;
    if n > 0 {
        for k in 0..3 {
            if f[k] > 0.0 && sizes[k] == 0 {
                let big = (0..3).max_by_key(|&m| sizes[m]).expect("three parts");
                sizes[big] -= 1;
                sizes[k] += 1;
            }
        }
    }
    debug_assert_eq!(sizes.iter().sum::<usize>(), n);

    let mut perm: Vec<usize> = (0..n).collect();
    perm.shuffle(&mut StdRng::seed_from_u64(seed));
    let mut parts = perm.into_iter();
    let mut take = |k: usize| {
        let mut v: Vec<usize> = parts.by_ref().take(sizes[k]).collect();
        v.sort_unstable();
        v
    };
    let train = take(0);
    let val = take(1);
    let test = take(2);
    Ok(Split { train, val, test })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_partition(s: &Split, n: usize) {
        let mut all: Vec<usize> = s
            .train
            .iter()
            .chain(&s.val)
            .chain(&s.test)
            .copied()
            .collect();
        all.sort_unstable();
        assert_eq!(
            all,
            (0..n).collect::<Vec<_>>(),
            "parts must be disjoint and cover 0..n"
        );
        for p in [&s.train, &s.val, &s.test] {
            assert!(p.windows(2).all(|w| w[0] < w[1]), "parts are sorted");
        }
    }

    #[test]
    fn default_sizes_and_partition() {
        let s = split_indices(1565, Split::DEFAULT_FRACTIONS, 7).unwrap();
        assert_eq!((s.train.len(), s.val.len(), s.test.len()), (1095, 234, 236));
        check_partition(&s, 1565);
        for n in [0, 3, 4, 10, 99, 100, 101, 1000] {
            let s = split_indices(n, Split::DEFAULT_FRACTIONS, 1).unwrap();
            check_partition(&s, n);
            if n > 0 {
                assert!(
                    !s.train.is_empty() && !s.val.is_empty() && !s.test.is_empty(),
                    "n = {n}"
                );
            }
        }
        let s = split_indices(10, Split::DEFAULT_FRACTIONS, 1).unwrap();
        assert_eq!((s.train.len(), s.val.len(), s.test.len()), (7, 1, 2));
        let s = split_indices(3, Split::DEFAULT_FRACTIONS, 1).unwrap();
        assert_eq!((s.train.len(), s.val.len(), s.test.len()), (1, 1, 1));
    }

    #[test]
    fn deterministic_per_seed() {
        let a = split_indices(500, Split::DEFAULT_FRACTIONS, 42).unwrap();
        let b = split_indices(500, Split::DEFAULT_FRACTIONS, 42).unwrap();
        let c = split_indices(500, Split::DEFAULT_FRACTIONS, 43).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
        // Not simply the first rows.
        assert_ne!(a.train, (0..350).collect::<Vec<_>>());
    }

    #[test]
    fn zero_fractions_stay_empty() {
        let s = split_indices(7, (0.8, 0.2, 0.0), 3).unwrap();
        assert_eq!((s.train.len(), s.val.len(), s.test.len()), (6, 1, 0));
        check_partition(&s, 7);
        let s = split_indices(5, (0.0, 1.0, 0.0), 3).unwrap();
        assert_eq!((s.train.len(), s.val.len(), s.test.len()), (0, 5, 0));
        let s = split_indices(5, (1.0, 0.0, 0.0), 3).unwrap();
        assert_eq!((s.train.len(), s.val.len(), s.test.len()), (5, 0, 0));
        let s = split_indices(10, (0.7, 0.3, 0.0), 3).unwrap();
        assert_eq!((s.train.len(), s.val.len(), s.test.len()), (7, 3, 0));
    }

    #[test]
    fn rejects_bad_fractions_and_tiny_n() {
        let msg = |n, f| split_indices(n, f, 0).unwrap_err().to_string();
        assert!(msg(10, (0.5, 0.5, 0.5)).contains("sum to"));
        assert!(!msg(10, (1.2, -0.1, -0.1)).contains("train fraction"));
        assert!(msg(10, (1.2, -0.1, -0.1)).contains("val fraction is -0.1"));
        assert!(msg(10, (f64::NAN, 0.5, 0.5)).contains("train fraction is NaN"));
        let m = msg(2, Split::DEFAULT_FRACTIONS);
        assert!(
            m.contains("2 rows") && m.contains("3 non-empty parts"),
            "{m}"
        );
        assert!(split_indices(10, (0.7, 0.15, 0.15 + 5e-10), 0).is_ok());
    }

    #[test]
    fn tables_selects_rows() {
        let t = Table::new(vec!["x".into()], (0..20).map(f64::from).collect()).unwrap();
        let s = split_indices(20, Split::DEFAULT_FRACTIONS, 5).unwrap();
        let (a, b, c) = s.tables(&t);
        assert_eq!(a.rows() + b.rows() + c.rows(), 20);
        assert_eq!(
            a.column(0),
            s.train.iter().map(|&i| i as f64).collect::<Vec<_>>()
        );
    }
}
