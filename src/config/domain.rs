//! [`ColumnDomain`]: the physical domain of a data column, as `[data] domains` declares
//! it. Each becomes a [`DomainMap`] of the flow's first layer
//! ([`transforms::domain`](crate::transforms::domain)):
//!
//! ```toml
//! [data]
//! domains = { energy = "positive", theta = { interval = [0, 60] }, phi = { periodic = [0, 360] }, n = "integer" }
//! ```
//!
//! Columns not named are `real`.

use crate::error::{Error, Result};
use crate::transforms::domain::DomainMap;
use serde::{Deserialize, Serialize};

/// Where a column's values live.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum ColumnDomain {
    /// The real line (the default): no map.
    Real,
    /// `x > 0`: modelled as `ln x`.
    Positive,
    /// `a ≤ x ≤ b`: modelled as `logit((x − a)/(b − a))`.
    Interval([f64; 2]),
    /// An angle with period `[a, b)`: the circle cut at a point of low data density,
    /// then a logit (exact density; samples in `[a, b)`).
    Periodic([f64; 2]),
    /// Integer values: uniform dequantisation `x + u` for the fit, `floor` on sampling.
    Integer,
}

impl ColumnDomain {
    /// Check the declaration itself (bounds finite and ordered).
    pub fn validate(&self, column: &str) -> Result<()> {
        match self {
            ColumnDomain::Interval([a, b]) | ColumnDomain::Periodic([a, b])
                if !(a.is_finite() && b.is_finite() && a < b) =>
            {
                Err(Error::config(format!(
                    "[data] domains: column {column:?} has bounds [{a}, {b}]; expected finite a < b"
                )))
            }
            _ => Ok(()),
        }
    }

    /// Why `v` is outside the domain (`None` when inside).
    pub fn violation(&self, v: f64) -> Option<String> {
        match *self {
            ColumnDomain::Real => None,
            ColumnDomain::Positive => (v <= 0.0).then(|| "expected a positive value".into()),
            ColumnDomain::Interval([a, b]) => (!(a..=b).contains(&v))
                .then(|| format!("expected a value in the interval [{a}, {b}]")),
            ColumnDomain::Periodic([a, b]) => (!(a..b).contains(&v)).then(|| {
                format!("expected a value in the period [{a}, {b}) (wrap angles into it first)")
            }),
            ColumnDomain::Integer => (v.fract() != 0.0).then(|| "expected an integer value".into()),
        }
    }

    /// The map of the flow's domain layer; `values` (the training column) place the cut
    /// of a periodic column where the data are sparsest.
    pub fn map(&self, values: &[f64]) -> DomainMap {
        match *self {
            ColumnDomain::Real => DomainMap::Identity,
            ColumnDomain::Positive => DomainMap::Log,
            ColumnDomain::Interval([low, high]) => DomainMap::Logit { low, high },
            ColumnDomain::Periodic([low, high]) => DomainMap::Circle {
                low,
                high,
                cut: sparsest_point(values, low, high),
            },
            ColumnDomain::Integer => DomainMap::Dequantize,
        }
    }
}

/// The centre of the emptiest window of a circular histogram of `values` on `[low, high)`
/// (72 bins, counts smoothed over 5 neighbouring bins): where cutting the circle
/// disturbs the fewest events.
pub fn sparsest_point(values: &[f64], low: f64, high: f64) -> f64 {
    const BINS: usize = 72;
    let p = high - low;
    let mut counts = [0usize; BINS];
    for v in values {
        let i = (((v - low) / p * BINS as f64).floor() as isize).rem_euclid(BINS as isize);
        counts[i as usize] += 1;
    }
    let smoothed = |i: usize| -> usize { (0..5).map(|k| counts[(i + BINS + k - 2) % BINS]).sum() };
    let best = (0..BINS).min_by_key(|&i| smoothed(i)).unwrap_or(0);
    low + (best as f64 + 0.5) * p / BINS as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cut_lands_in_the_empty_part_of_the_circle() {
        // Values on [0, 360) except (100, 140): the cut lies in that gap.
        let v: Vec<f64> = (0..3600)
            .map(|i| i as f64 * 0.1)
            .filter(|x| !(100.0..140.0).contains(x))
            .collect();
        let c = sparsest_point(&v, 0.0, 360.0);
        assert!((100.0..140.0).contains(&c), "cut {c}");
        // Wrapping: a gap across 0 / 360.
        let v: Vec<f64> = (0..3600)
            .map(|i| i as f64 * 0.1)
            .filter(|x| (20.0..340.0).contains(x))
            .collect();
        let c = sparsest_point(&v, 0.0, 360.0);
        assert!(!(20.0..340.0).contains(&c), "cut {c}");
    }

    #[test]
    fn violations_say_what_was_expected() {
        assert!(ColumnDomain::Positive
            .violation(0.0)
            .unwrap()
            .contains("positive"));
        assert!(ColumnDomain::Interval([0.0, 90.0])
            .violation(90.0)
            .is_none());
        assert!(ColumnDomain::Interval([0.0, 90.0])
            .violation(90.5)
            .unwrap()
            .contains("[0, 90]"));
        assert!(ColumnDomain::Periodic([0.0, 360.0])
            .violation(360.0)
            .unwrap()
            .contains("[0, 360)"));
        assert!(ColumnDomain::Integer.violation(2.5).is_some());
        assert!(ColumnDomain::Integer.violation(-3.0).is_none());
        assert!(ColumnDomain::Interval([1.0, 1.0]).validate("x").is_err());
    }
}
