//! Posterior summaries: mean, median and an equal-tailed credible interval per
//! quantity, for parameters and for derived quantities (`R0 = β/γ`, `1/γ`).

use crate::error::{Error, Result};
use crate::plot::stats::quantile_sorted as quantile;
use serde::{Deserialize, Serialize};

/// Summary of one posterior quantity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Credible {
    /// Quantity name.
    pub name: String,
    /// Posterior mean.
    pub mean: f64,
    /// Posterior median.
    pub median: f64,
    /// Lower end of the equal-tailed interval.
    pub lower: f64,
    /// Upper end of the equal-tailed interval.
    pub upper: f64,
    /// Credible level of `[lower, upper]` (e.g. 0.9).
    pub level: f64,
}

/// Mean, median and the equal-tailed `level` interval of `values` (finite, at least
/// two; an error naming `name` otherwise).
///
/// ```
/// use flowinfer::sbi::summary::credible;
///
/// let v: Vec<f64> = (0..=100).map(|i| i as f64).collect();
/// let c = credible("x", &v, 0.9)?;
/// assert_eq!(c.median, 50.0);
/// assert!((c.lower - 5.0).abs() < 1e-9 && (c.upper - 95.0).abs() < 1e-9);
/// # Ok::<(), flowinfer::Error>(())
/// ```
pub fn credible(name: &str, values: &[f64], level: f64) -> Result<Credible> {
    if values.len() < 2 || values.iter().any(|v| !v.is_finite()) {
        return Err(Error::config(format!(
            "summary of {name}: need at least 2 finite draws, got {} ({} non-finite)",
            values.len(),
            values.iter().filter(|v| !v.is_finite()).count()
        )));
    }
    if !(level > 0.0 && level < 1.0) {
        return Err(Error::config(format!(
            "credible level must lie in (0, 1), got {level}"
        )));
    }
    let mut s = values.to_vec();
    s.sort_by(f64::total_cmp);
    let tail = (1.0 - level) / 2.0;
    Ok(Credible {
        name: name.to_string(),
        mean: s.iter().sum::<f64>() / s.len() as f64,
        median: quantile(&s, 0.5),
        lower: quantile(&s, tail),
        upper: quantile(&s, 1.0 - tail),
        level,
    })
}

/// [`credible`] for every column of `rows`, named by `names`.
pub fn credible_columns(names: &[String], rows: &[Vec<f64>], level: f64) -> Result<Vec<Credible>> {
    names
        .iter()
        .enumerate()
        .map(|(j, n)| {
            let col: Vec<f64> = rows.iter().map(|r| r[j]).collect();
            credible(n, &col, level)
        })
        .collect()
}
