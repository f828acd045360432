//! Event weights from classifier logits and their summary: `w = D/(1 − D) = e^s`,
//! clipping at a maximum, normalisation to mean 1, quantiles and the Kish effective
//! sample size; and the weighted ROC AUC used to judge a reweighted sample.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// Summary of a set of event weights (`report.json` → `weights`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WeightSummary {
    /// Number of weights.
    pub events: usize,
    /// Mean of the raw weights `D/(1 − D)` before clipping and normalisation (≈ 1 when
    /// the classifier is calibrated).
    pub raw_mean: f64,
    /// The clipping value applied to the raw weights (`None`: no clipping).
    pub clip: Option<f64>,
    /// How many raw weights exceeded `clip` and were set to it.
    pub clipped: usize,
    /// Quantiles of the final (clipped, mean-1) weights at the levels of
    /// [`QUANTILE_LEVELS`].
    pub quantiles: Vec<f64>,
    /// Smallest final weight.
    pub min: f64,
    /// Largest final weight.
    pub max: f64,
    /// Kish effective sample size `(Σw)² / Σw²` of the final weights.
    pub ess: f64,
    /// `ess / events`.
    pub ess_fraction: f64,
}

/// Quantile levels of [`WeightSummary::quantiles`].
pub const QUANTILE_LEVELS: [f64; 7] = [0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99];

/// The final weights (clipped at `clip`, then scaled to mean 1) from the logits `s`,
/// with their summary.
///
/// ```
/// use flowinfer::reweight::weights_from_logits;
/// let (w, s) = weights_from_logits(&[0.0, 0.0, 3.0_f64.ln(), 10.0], Some(5.0))?;
/// assert_eq!(s.clipped, 1); // e^10 > 5
/// assert!((w.iter().sum::<f64>() / 4.0 - 1.0).abs() < 1e-12);
/// assert!((w[2] / w[0] - 3.0).abs() < 1e-12);
/// # Ok::<(), flowinfer::Error>(())
/// ```
///
/// Errors ([`Error::Config`]) for no logits, a non-finite logit or a clip value that
/// is not a positive number.
pub fn weights_from_logits(s: &[f64], clip: Option<f64>) -> Result<(Vec<f64>, WeightSummary)> {
    if s.is_empty() {
        return Err(Error::config("reweight: no events to weight"));
    }
    if let Some(i) = s.iter().position(|v| !v.is_finite()) {
        return Err(Error::config(format!(
            "reweight: non-finite classifier logit for event {i}"
        )));
    }
    if let Some(c) = clip {
        if !(c > 0.0 && c.is_finite()) {
            return Err(Error::config(format!(
                "reweight: --clip must be a positive number, got {c}"
            )));
        }
    }
    // Logits beyond ±700 overflow e^s; the clip (or f64::MAX) bounds them first.
    let raw: Vec<f64> = s.iter().map(|v| v.min(700.0).exp()).collect();
    let n = raw.len() as f64;
    let raw_mean = raw.iter().sum::<f64>() / n;
    let mut clipped = 0;
    let mut w: Vec<f64> = raw
        .iter()
        .map(|&r| match clip {
            Some(c) if r > c => {
                clipped += 1;
                c
            }
            _ => r,
        })
        .collect();
    let mean = w.iter().sum::<f64>() / n;
    w.iter_mut().for_each(|v| *v /= mean);
    let summary = summarise(&w, raw_mean, clip, clipped);
    Ok((w, summary))
}

fn summarise(w: &[f64], raw_mean: f64, clip: Option<f64>, clipped: usize) -> WeightSummary {
    let mut sorted = w.to_vec();
    sorted.sort_by(f64::total_cmp);
    let q = |p: f64| {
        let pos = p * (sorted.len() - 1) as f64;
        let (i, t) = (pos.floor() as usize, pos.fract());
        let j = (i + 1).min(sorted.len() - 1);
        sorted[i] + t * (sorted[j] - sorted[i])
    };
    let ess = kish_ess(w);
    WeightSummary {
        events: w.len(),
        raw_mean,
        clip,
        clipped,
        quantiles: QUANTILE_LEVELS.iter().map(|&p| q(p)).collect(),
        min: sorted[0],
        max: sorted[sorted.len() - 1],
        ess,
        ess_fraction: ess / w.len() as f64,
    }
}

/// Kish effective sample size `(Σw)² / Σw²` (0 for no or all-zero weights).
///
/// ```
/// assert_eq!(flowinfer::reweight::kish_ess(&[1.0, 1.0, 1.0, 1.0]), 4.0);
/// assert_eq!(flowinfer::reweight::kish_ess(&[1.0, 0.0, 0.0, 0.0]), 1.0);
/// ```
pub fn kish_ess(w: &[f64]) -> f64 {
    let s: f64 = w.iter().sum();
    let s2: f64 = w.iter().map(|v| v * v).sum();
    if s2 > 0.0 {
        s * s / s2
    } else {
        0.0
    }
}

/// Weighted ROC AUC: the weighted probability that a positive scores above a negative
/// (ties count ½), `Σ_{i∈+, j∈−} wᵢ wⱼ [sᵢ > sⱼ] / (Σ₊w · Σ₋w)`. With unit weights it
/// is the Mann–Whitney AUC of [`crate::metrics::roc_auc`].
///
/// ```
/// use flowinfer::reweight::weighted_auc;
/// let auc = weighted_auc(&[0.1, 0.4, 0.35, 0.8], &[false, false, true, true], &[1.0; 4])?;
/// assert!((auc - 0.75).abs() < 1e-12);
/// # Ok::<(), flowinfer::Error>(())
/// ```
///
/// Errors ([`Error::Config`]) for different lengths, non-finite scores or weights,
/// negative weights, or a class without positive weight.
pub fn weighted_auc(scores: &[f64], labels: &[bool], weights: &[f64]) -> Result<f64> {
    if scores.len() != labels.len() || scores.len() != weights.len() {
        return Err(Error::config(format!(
            "weighted_auc: {} scores, {} labels and {} weights; expected equal lengths",
            scores.len(),
            labels.len(),
            weights.len()
        )));
    }
    if scores.iter().chain(weights).any(|v| !v.is_finite()) || weights.iter().any(|w| *w < 0.0) {
        return Err(Error::config(
            "weighted_auc: expected finite scores and finite, non-negative weights",
        ));
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_unstable_by(|&i, &j| scores[i].total_cmp(&scores[j]));
    // Walk up the scores; for each group of ties, positives beat the negative weight
    // below the group and tie with the negative weight inside it.
    let (mut neg_below, mut num, mut pos_total, mut neg_total) = (0.0, 0.0, 0.0, 0.0);
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && scores[order[end]] == scores[order[start]] {
            end += 1;
        }
        let (mut pos, mut neg) = (0.0, 0.0);
        for &i in &order[start..end] {
            if labels[i] {
                pos += weights[i];
            } else {
                neg += weights[i];
            }
        }
        num += pos * (neg_below + 0.5 * neg);
        neg_below += neg;
        pos_total += pos;
        neg_total += neg;
        start = end;
    }
    if !(pos_total > 0.0 && neg_total > 0.0) {
        return Err(Error::config(
            "weighted_auc: needs positive weight in both classes",
        ));
    }
    Ok(num / (pos_total * neg_total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weighted_auc_matches_the_unweighted_formula_and_replication() {
        let s = [0.3, 0.1, 0.7, 0.7, 0.2, 0.9, 0.5];
        let l = [true, false, false, true, false, true, false];
        let plain = crate::metrics::roc_auc(&s, &l).unwrap();
        let w1 = weighted_auc(&s, &l, &[1.0; 7]).unwrap();
        assert!((plain - w1).abs() < 1e-12);
        // Weight 2 on event 1 equals listing it twice.
        let w = [1.0, 2.0, 1.0, 1.0, 1.0, 1.0, 1.0];
        let mut s2 = s.to_vec();
        let mut l2 = l.to_vec();
        s2.push(s[1]);
        l2.push(l[1]);
        let rep = crate::metrics::roc_auc(&s2, &l2).unwrap();
        assert!((weighted_auc(&s, &l, &w).unwrap() - rep).abs() < 1e-12);
        assert!(weighted_auc(&s, &l, &[0.0; 7]).is_err());
        assert!(weighted_auc(&s, &l[..3], &[1.0; 7]).is_err());
    }

    #[test]
    fn summary_counts_clipping_and_ess() {
        let (w, s) = weights_from_logits(&[0.0, 1.0, 2.0, 5.0], Some(4.0)).unwrap();
        assert_eq!(s.clipped, 2); // e² ≈ 7.4 and e⁵ exceed 4
        assert_eq!(s.clip, Some(4.0));
        assert!((s.max - w[3]).abs() < 1e-12 && (w[2] - w[3]).abs() < 1e-12);
        assert!(s.ess > 1.0 && s.ess < 4.0, "{s:?}");
        assert_eq!(s.quantiles.len(), QUANTILE_LEVELS.len());
        assert!(weights_from_logits(&[f64::NAN], None).is_err());
        assert!(weights_from_logits(&[0.0], Some(-1.0)).is_err());
        assert!(weights_from_logits(&[], None).is_err());
    }
}
