//! Per-column χ²/ndf between the normalised histogram of the reference events and the
//! (weighted) normalised histogram of the generated events.
//!
//! Bins: `bins` equal bins over the 0.5 %–99.5 % quantile range of the reference
//! column (padded by 1 %), shared by both histograms. With `nᵢ` reference counts out
//! of `N` and generated weight sums `Sᵢ`, squared sums `Qᵢ = Σ w²` out of `S = Σ w`
//! (all events, so mass outside the range counts):
//!
//! `χ² = Σᵢ (nᵢ/N − Sᵢ/S)² / (nᵢ/N² + Qᵢ/S²)` over bins where the variance is positive,
//! `ndf = (such bins) − 1`.

use crate::bayes::bands::Bins;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// χ² of one column's histograms.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnChi2 {
    /// Column name.
    pub column: String,
    /// χ² summed over the bins.
    pub chi2: f64,
    /// Degrees of freedom (bins with positive variance − 1).
    pub ndf: usize,
    /// `chi2 / ndf` (NaN when `ndf` is 0).
    pub chi2_ndf: f64,
}

/// The χ²/ndf of every column (module docs) of `generated` (weights `weights`, or 1)
/// against `reference`, both row-major with `columns.len()` values per row.
///
/// ```
/// use flowinfer::reweight::column_chi2;
/// let a: Vec<f64> = (0..400).map(|i| (i as f64 * 0.618).fract()).collect();
/// let b: Vec<f64> = (0..400).map(|i| (i as f64 * 0.618).fract().powi(2)).collect();
/// let same = column_chi2(&["u".into()], &a, &a, None, 10)?;
/// let other = column_chi2(&["u".into()], &b, &a, None, 10)?;
/// assert!(same[0].chi2 < 1e-12 && other[0].chi2_ndf > 5.0);
/// # Ok::<(), flowinfer::Error>(())
/// ```
///
/// Errors ([`Error::Config`]) for no columns or bins, rows of the wrong width, or a
/// weight list of another length than the generated rows.
pub fn column_chi2(
    columns: &[String],
    generated: &[f64],
    reference: &[f64],
    weights: Option<&[f64]>,
    bins: usize,
) -> Result<Vec<ColumnChi2>> {
    let d = columns.len();
    if d == 0 || bins == 0 {
        return Err(Error::config(
            "column_chi2: needs columns and at least 1 bin",
        ));
    }
    if !generated.len().is_multiple_of(d)
        || !reference.len().is_multiple_of(d)
        || reference.is_empty()
    {
        return Err(Error::config(format!(
            "column_chi2: expected rows of {d} values and at least one reference row"
        )));
    }
    let n_gen = generated.len() / d;
    if weights.is_some_and(|w| w.len() != n_gen) {
        return Err(Error::config(format!(
            "column_chi2: {n_gen} generated rows but {} weights",
            weights.map_or(0, <[f64]>::len)
        )));
    }
    let w_of = |i: usize| weights.map_or(1.0, |w| w[i]);
    let n_ref = (reference.len() / d) as f64;
    let s_tot: f64 = (0..n_gen).map(w_of).sum();
    (0..d)
        .map(|j| {
            let ref_col: Vec<f64> = reference.iter().skip(j).step_by(d).copied().collect();
            let b = Bins::from_values(&ref_col, bins, 0.005)?;
            let mut n = vec![0.0; bins];
            for v in &ref_col {
                if let Some(k) = b.index(*v) {
                    n[k] += 1.0;
                }
            }
            let (mut s, mut q) = (vec![0.0; bins], vec![0.0; bins]);
            for (i, v) in generated.iter().skip(j).step_by(d).enumerate() {
                if let Some(k) = b.index(*v) {
                    let w = w_of(i);
                    s[k] += w;
                    q[k] += w * w;
                }
            }
            let (mut chi2, mut used) = (0.0, 0usize);
            for k in 0..bins {
                let var = n[k] / (n_ref * n_ref) + q[k] / (s_tot * s_tot);
                if var > 0.0 {
                    chi2 += (n[k] / n_ref - s[k] / s_tot).powi(2) / var;
                    used += 1;
                }
            }
            let ndf = used.saturating_sub(1);
            Ok(ColumnChi2 {
                column: columns[j].clone(),
                chi2,
                ndf,
                chi2_ndf: if ndf > 0 { chi2 / ndf as f64 } else { f64::NAN },
            })
        })
        .collect()
}

/// Mean of the finite `chi2_ndf` values (NaN when there is none).
pub fn mean_chi2_ndf(c: &[ColumnChi2]) -> f64 {
    let v: Vec<f64> = c
        .iter()
        .map(|c| c.chi2_ndf)
        .filter(|x| x.is_finite())
        .collect();
    if v.is_empty() {
        f64::NAN
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_that_undo_a_distortion_lower_chi2() {
        // Reference uniform on [0, 1); generated ∝ 2x; weights 1/(2x) undo it.
        let n = 4000;
        let reference: Vec<f64> = (0..n).map(|i| (i as f64 + 0.5) / n as f64).collect();
        let generated: Vec<f64> = (0..n)
            .map(|i| ((i as f64 + 0.5) / n as f64).sqrt())
            .collect();
        let w: Vec<f64> = generated.iter().map(|x| 0.5 / x).collect();
        let cols = ["x".to_string()];
        let before = column_chi2(&cols, &generated, &reference, None, 20).unwrap();
        let after = column_chi2(&cols, &generated, &reference, Some(&w), 20).unwrap();
        assert_eq!(before[0].ndf, 19);
        assert!(before[0].chi2_ndf > 20.0, "{before:?}");
        assert!(after[0].chi2_ndf < 1.0, "{after:?}");
        assert!(column_chi2(&cols, &generated, &reference, Some(&w[1..]), 20).is_err());
    }
}
