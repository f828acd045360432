//! Non-finite log densities: counted by kind, the samples dropped, and a clear error
//! when a batch has more of them than allowed ([`check_values`]).

use crate::error::Result;
use flowinfer_simulators::external::LogDensityError;
use serde::Serialize;

/// Non-finite log densities met, by kind.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct InvalidCounts {
    /// Points evaluated.
    pub points: usize,
    /// NaN values.
    pub nan: usize,
    /// `+inf` values.
    pub pos_inf: usize,
    /// `−inf` values (zero density: outside the target's support).
    pub neg_inf: usize,
}

impl InvalidCounts {
    /// All non-finite values.
    pub fn total(&self) -> usize {
        self.nan + self.pos_inf + self.neg_inf
    }

    /// Add another set of counts.
    pub fn add(&mut self, o: &InvalidCounts) {
        self.points += o.points;
        self.nan += o.nan;
        self.pos_inf += o.pos_inf;
        self.neg_inf += o.neg_inf;
    }
}

/// Classify the log densities `lp` of the `d`-wide `points` of one batch, add them to
/// `counts` and return the indices of the finite values. More than `max_fraction`
/// non-finite values in the batch is a [`LogDensityError::Invalid`] naming the target,
/// `stage`, the counts by kind and the first offending point.
pub fn check_values(
    target: &str,
    lp: &[f64],
    points: &[f64],
    d: usize,
    max_fraction: f64,
    stage: &str,
    counts: &mut InvalidCounts,
) -> Result<Vec<usize>> {
    let mut batch = InvalidCounts {
        points: lp.len(),
        ..InvalidCounts::default()
    };
    let mut keep = Vec::with_capacity(lp.len());
    let mut first = None;
    for (i, v) in lp.iter().enumerate() {
        if v.is_finite() {
            keep.push(i);
            continue;
        }
        first.get_or_insert(i);
        if v.is_nan() {
            batch.nan += 1;
        } else if *v > 0.0 {
            batch.pos_inf += 1;
        } else {
            batch.neg_inf += 1;
        }
    }
    counts.add(&batch);
    let bad = batch.total();
    if bad > 0 && (bad as f64 > max_fraction * lp.len() as f64 || keep.len() < 2) {
        let i = first.unwrap_or(0);
        let point = points.get(i * d..(i + 1) * d).unwrap_or(&[]);
        return Err(LogDensityError::Invalid {
            target: target.to_string(),
            message: format!(
                "during {stage}, {bad} of {} points ({:.1} %) gave a non-finite log density ({} NaN, {} +inf, {} −inf; first: log p̃({point:?}) = {}); at most {:.1} % is allowed (max_invalid_fraction)",
                lp.len(),
                100.0 * bad as f64 / lp.len() as f64,
                batch.nan,
                batch.pos_inf,
                batch.neg_inf,
                lp[i],
                100.0 * max_fraction
            ),
        }
        .into());
    }
    Ok(keep)
}
