//! Statistics of importance weights and the final estimate on fresh samples.
//!
//! For `N` weights `wᵢ = f(xᵢ)/q(xᵢ)`, `xᵢ ~ q` (all sums in f64, compensated):
//!
//! * integral `Î = (1/N) Σ wᵢ`; standard error `σ = s/√N` with
//!   `s² = Σ (wᵢ − Î)²/(N − 1)`;
//! * relative standard deviation per event `s/Î` (the figure of merit of the proposal:
//!   `σ/Î = (s/Î)/√N`; 0 for a perfect proposal);
//! * effective sample size `ESS = (Σ wᵢ)²/Σ wᵢ²`;
//! * unweighting efficiency at `N` events, `ε = Î / max wᵢ` (the acceptance rate of
//!   hit-or-miss unweighting against the largest weight seen in `N` events);
//! * its bootstrap variant `ε_boot = Î / w_boot`, where `w_boot` is the median over
//!   bootstrap resamples of size `m = max(1, ⌊N/10⌋)` of the resample's maximum weight.
//!   The median is computed exactly, not by drawing resamples: the maximum of `m` draws
//!   with replacement is `≤ w₍ₖ₎` (the k-th smallest) with probability `(k/N)^m`, so the
//!   median is `w₍ₖ₎` with `k = ⌈N·2^(−1/m)⌉` (about the 7th largest weight). It is
//!   less sensitive to a single outlier than the plain maximum and is the maximum
//!   weight used for unweighting;
//! * two reliability diagnostics of the error itself: the share of the largest weight
//!   in the sum, `max wᵢ / Σ wᵢ`, and the relative uncertainty of the variance
//!   estimate, `√((m₄/s⁴ − (N − 3)/(N − 1))/N)` with `m₄` the fourth central moment.
//!   Heavy-tailed weights (a proposal that misses part of the integrand) make both
//!   large; the report then warns that σ itself is poorly determined.

use super::batch::{draw_weighted, EvalOptions, InvalidCounts};
use super::proposal::Proposal;
use crate::error::{Error, Result};
use flowinfer_simulators::Integrand;
use rand::RngCore;
use serde::Serialize;

/// Fewer effective samples than this make an estimate untrusted.
pub const MIN_TRUSTED_ESS: f64 = 100.0;

/// Summary statistics of a set of importance weights (module docs).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WeightStats {
    /// Number of weights `N`.
    pub n: usize,
    /// `Î = mean(w)`.
    pub estimate: f64,
    /// Standard error of `Î`.
    pub std_error: f64,
    /// Relative standard deviation per event `std(w)/mean(w)`.
    pub rel_std: f64,
    /// Effective sample size `(Σw)²/Σw²`.
    pub ess: f64,
    /// `ESS/N`.
    pub ess_fraction: f64,
    /// Largest weight.
    pub max_weight: f64,
    /// `mean(w)/max(w)` at `N` events.
    pub unweighting_efficiency: f64,
    /// `mean(w)/w_boot` (module docs).
    pub unweighting_efficiency_bootstrap: f64,
    /// `w_boot`: the bootstrap median of the maximum over resamples of size
    /// [`Self::bootstrap_resample_size`].
    pub bootstrap_max_weight: f64,
    /// Resample size `m` of the bootstrap maximum.
    pub bootstrap_resample_size: usize,
    /// Fraction of zero weights (points where `f = 0`).
    pub zero_fraction: f64,
    /// `max w / Σ w` (module docs).
    pub max_weight_share: f64,
    /// Relative uncertainty of the variance estimate (module docs).
    pub variance_rel_uncertainty: f64,
    /// Pareto-k̂ of the weights' upper tail (PSIS, [`crate::metrics::psis()`]); `inf`
    /// (JSON `null`) when it cannot be estimated, e.g. every weight zero.
    pub pareto_k: f64,
    /// The largest `k̂` at which this many weights give a reliable estimate,
    /// `min(1 − 1/log₁₀ N, 0.7)`.
    pub pareto_k_threshold: f64,
}

/// PSIS k̂ of non-negative weights (zeros are `log w = −inf`); `inf` when it cannot
/// be estimated.
fn pareto_k(w: &[f64]) -> f64 {
    let lw: Vec<f64> = w.iter().map(|v| v.ln()).collect();
    crate::metrics::psis(&lw).map_or(f64::INFINITY, |p| p.k_hat)
}

/// Neumaier-compensated sum.
fn sum(values: impl Iterator<Item = f64>) -> f64 {
    let (mut s, mut c) = (0.0f64, 0.0f64);
    for v in values {
        let t = s + v;
        c += if s.abs() >= v.abs() {
            (s - t) + v
        } else {
            (v - t) + s
        };
        s = t;
    }
    s + c
}

impl WeightStats {
    /// Statistics of `w` (finite, non-negative weights; at least 2).
    pub fn from_weights(w: &[f64]) -> Result<Self> {
        let n = w.len();
        if n < 2 {
            return Err(Error::config(format!(
                "weight statistics need at least 2 weights, got {n}"
            )));
        }
        if let Some(i) = w.iter().position(|v| !(v.is_finite() && *v >= 0.0)) {
            return Err(Error::config(format!(
                "weight {i} is {}; weights must be finite and ≥ 0",
                w[i]
            )));
        }
        let nf = n as f64;
        let mean = sum(w.iter().copied()) / nf;
        let ss = sum(w.iter().map(|v| (v - mean) * (v - mean)));
        let s2 = sum(w.iter().map(|v| v * v));
        let sd = (ss / (nf - 1.0)).sqrt();
        let m4 = sum(w.iter().map(|v| (v - mean).powi(4))) / nf;
        let var = ss / nf;
        let kurt = if var > 0.0 { m4 / (var * var) } else { 0.0 };
        let var_unc = ((kurt - (nf - 3.0) / (nf - 1.0)).max(0.0) / nf).sqrt();
        let max = w.iter().copied().fold(0.0, f64::max);
        let m = (n / 10).max(1);
        let k = ((nf * 0.5f64.powf(1.0 / m as f64)).ceil() as usize).clamp(1, n);
        let mut sorted = w.to_vec();
        let (_, kth, _) = sorted.select_nth_unstable_by(k - 1, f64::total_cmp);
        let boot = *kth;
        let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
        let ess = ratio(sum(w.iter().copied()).powi(2), s2);
        Ok(Self {
            n,
            estimate: mean,
            std_error: sd / nf.sqrt(),
            rel_std: ratio(sd, mean),
            ess,
            ess_fraction: ess / nf,
            max_weight: max,
            unweighting_efficiency: ratio(mean, max),
            unweighting_efficiency_bootstrap: ratio(mean, boot),
            bootstrap_max_weight: boot,
            bootstrap_resample_size: m,
            zero_fraction: w.iter().filter(|v| **v == 0.0).count() as f64 / nf,
            max_weight_share: ratio(max, mean * nf),
            variance_rel_uncertainty: var_unc,
            pareto_k: pareto_k(w),
            pareto_k_threshold: crate::metrics::k_threshold(n),
        })
    }

    /// Warnings about the reliability of the error (empty when none).
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.max_weight_share > 0.01 {
            out.push(format!(
                "the largest weight is {:.1} % of the sum: the weights are heavy-tailed and the error may be underestimated",
                100.0 * self.max_weight_share
            ));
        }
        if self.variance_rel_uncertainty > 0.3 {
            out.push(format!(
                "the variance of the weights is only known to ±{:.0} %: the error itself is uncertain (train longer or use more samples)",
                100.0 * self.variance_rel_uncertainty
            ));
        }
        out
    }

    /// Why the estimate cannot be trusted, in plain words (empty when it can): every
    /// weight zero, a Pareto k̂ above its threshold or not estimable, or fewer than
    /// [`MIN_TRUSTED_ESS`] effective samples. A small reported error proves nothing then.
    pub fn untrusted_reasons(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.max_weight == 0.0 {
            out.push(format!(
                "every one of the {} weights is zero: no sample met the integrand's mass, so the estimate 0 ± 0 says nothing (the proposal missed the mass or collapsed onto a region without it)",
                self.n
            ));
            return out;
        }
        if !self.pareto_k.is_finite() {
            out.push(
                "the Pareto k̂ of the weights cannot be estimated (too few non-zero weights in the tail)"
                    .to_string(),
            );
        } else if self.pareto_k > self.pareto_k_threshold {
            out.push(format!(
                "the Pareto k̂ of the weights is {:.2}, above {:.2}: their tail is too heavy for the estimate and its error to be trusted",
                self.pareto_k, self.pareto_k_threshold
            ));
        }
        if self.ess < MIN_TRUSTED_ESS {
            out.push(format!(
                "only {:.1} effective samples of {} ({:.2e} of them): the estimate rests on a handful of points",
                self.ess, self.n, self.ess_fraction
            ));
        }
        out
    }

    /// The pull `(Î − exact)/σ` (`None` when σ = 0).
    pub fn pull(&self, exact: f64) -> Option<f64> {
        (self.std_error > 0.0).then(|| (self.estimate - exact) / self.std_error)
    }
}

/// Draw `n` fresh samples from the proposal (the trained flow, with its defensive
/// fraction) in batches of `batch`, and return every weight (in draw order) with its
/// statistics. Every weight costs one integrand call.
pub fn estimate(
    proposal: &Proposal<'_>,
    integrand: &dyn Integrand,
    n: usize,
    batch: usize,
    rng: &mut dyn RngCore,
    opts: &EvalOptions,
    invalid: &mut InvalidCounts,
) -> Result<(WeightStats, Vec<f64>)> {
    let (stats, w, _) = estimate_keeping(proposal, integrand, n, batch, 0, rng, opts, invalid)?;
    Ok((stats, w))
}

/// [`estimate`], also returning the first `keep` points (row-major, flow coordinates)
/// for plots.
#[allow(clippy::too_many_arguments)]
pub fn estimate_keeping(
    proposal: &Proposal<'_>,
    integrand: &dyn Integrand,
    n: usize,
    batch: usize,
    keep: usize,
    rng: &mut dyn RngCore,
    opts: &EvalOptions,
    invalid: &mut InvalidCounts,
) -> Result<(WeightStats, Vec<f64>, Vec<f64>)> {
    if batch == 0 {
        return Err(Error::config("evaluation batch size must be at least 1"));
    }
    let d = proposal.flow().dim();
    let keep = keep.min(n);
    let mut weights = Vec::with_capacity(n);
    let mut points = Vec::with_capacity(keep * d);
    while weights.len() < n {
        let m = batch.min(n - weights.len());
        let b = draw_weighted(proposal, integrand, m, rng, opts, invalid, "evaluation")?;
        let room = keep.saturating_sub(weights.len()).min(m);
        points.extend_from_slice(&b.points[..room * d]);
        weights.extend_from_slice(&b.w);
    }
    Ok((WeightStats::from_weights(&weights)?, weights, points))
}
