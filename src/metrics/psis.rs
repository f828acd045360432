//! Pareto-smoothed importance sampling (PSIS): the Pareto-k̂ diagnostic of a set of
//! importance weights and the smoothed weights (Vehtari, Simpson, Gelman, Yao and
//! Gabry, "Pareto smoothed importance sampling", JMLR 25, 2024).
//!
//! A generalized Pareto distribution is fitted to the `M = ⌈min(S/5, 3√S)⌉` largest
//! weights of `S` (Zhang and Stephens' 2009 estimator with the weakly informative prior
//! of the paper). Its shape `k̂` says how many finite moments the weight distribution has:
//! the variance of the plain importance-sampling estimate is finite only for `k < 1/2`,
//! and the paper's rule is that for `k̂` above `min(1 − 1/log₁₀ S, 0.7)` the estimate
//! cannot be trusted, however small its reported standard error. The smoothed weights
//! replace the tail by the fitted distribution's quantiles.
//!
//! ```
//! use flowinfer::metrics::psis;
//! // Weights with a Pareto tail of shape 0.8 (w = u^(−0.8)): k̂ near 0.8, untrusted.
//! let lw: Vec<f64> = (1..=4000).map(|i| -0.8 * (i as f64 / 4001.0).ln()).collect();
//! let p = psis(&lw)?;
//! assert!((p.k_hat - 0.8).abs() < 0.1 && !p.reliable(), "{}", p.k_hat);
//! # Ok::<(), flowinfer::Error>(())
//! ```

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// What [`psis`] found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Psis {
    /// The Pareto shape estimate of the weights' upper tail (`inf` when the tail is too
    /// short to fit, fewer than 5 weights).
    pub k_hat: f64,
    /// Weights in the fitted tail.
    pub tail_len: usize,
    /// Number of weights.
    pub n: usize,
    /// Smoothed log weights, normalised so that their exponentials sum to 1.
    #[serde(skip)]
    pub log_weights: Vec<f64>,
    /// Effective sample size of the smoothed weights, `1 / Σ w²`.
    pub ess: f64,
}

impl Psis {
    /// The sample-size dependent threshold `min(1 − 1/log₁₀ S, 0.7)` above which the
    /// estimate is unreliable.
    pub fn threshold(&self) -> f64 {
        k_threshold(self.n)
    }

    /// Whether `k̂` is at or below [`Psis::threshold`].
    pub fn reliable(&self) -> bool {
        self.k_hat <= self.threshold()
    }

    /// The usual reading of `k̂`, in words.
    pub fn reading(&self) -> &'static str {
        if !self.k_hat.is_finite() {
            "k̂ could not be estimated (too few weights in the tail): do not trust the estimate"
        } else if self.k_hat > self.threshold() {
            "k̂ above the threshold: the weights have too heavy a tail, do not trust the estimate or its error"
        } else if self.k_hat > 0.5 {
            "k̂ between 0.5 and the threshold: the estimate is usable but converges slowly"
        } else {
            "k̂ ≤ 0.5: the weights' variance is finite; the estimate and its error are reliable"
        }
    }
}

/// `min(1 − 1/log₁₀ S, 0.7)`: the largest `k̂` at which `S` draws give a reliable
/// estimate (Vehtari et al. 2024, section 3.2.4).
pub fn k_threshold(n: usize) -> f64 {
    let s = (n as f64).max(10.0 + 1e-9);
    (1.0 - 1.0 / s.log10()).min(0.7)
}

/// PSIS on the log importance weights `log_weights` (any constant offset; `-inf` for
/// zero weights). Errors for fewer than 2 weights, NaN or `+inf`, or no positive weight.
pub fn psis(log_weights: &[f64]) -> Result<Psis> {
    let n = log_weights.len();
    if n < 2 {
        return Err(Error::config(format!(
            "PSIS needs at least 2 weights, got {n}"
        )));
    }
    if let Some(i) = log_weights
        .iter()
        .position(|v| v.is_nan() || *v == f64::INFINITY)
    {
        return Err(Error::NonFinite {
            what: "PSIS log weights".into(),
            row: i,
            column: 0,
        });
    }
    let max = log_weights
        .iter()
        .copied()
        .fold(f64::NEG_INFINITY, f64::max);
    if max == f64::NEG_INFINITY {
        return Err(Error::config("PSIS: every weight is zero"));
    }
    let mut lw: Vec<f64> = log_weights.iter().map(|v| v - max).collect();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| lw[a].total_cmp(&lw[b]));
    let m = ((0.2 * n as f64).min(3.0 * (n as f64).sqrt())).ceil() as usize;
    let cutoff_pos = n.saturating_sub(m + 1);
    let cutoff = lw[order[cutoff_pos]].max(f64::MIN_POSITIVE.ln());
    let tail: Vec<usize> = order[cutoff_pos..]
        .iter()
        .copied()
        .filter(|&i| lw[i] > cutoff)
        .collect();
    let k_hat = if tail.len() <= 4 {
        f64::INFINITY
    } else {
        let exp_cut = cutoff.exp();
        let x: Vec<f64> = tail.iter().map(|&i| lw[i].exp() - exp_cut).collect();
        let (k, sigma) = gpd_fit(&x);
        if k.is_finite() && sigma > 0.0 {
            let len = tail.len() as f64;
            for (j, &i) in tail.iter().enumerate() {
                let p = (j as f64 + 0.5) / len;
                let q = gpd_quantile(p, k, sigma);
                lw[i] = (q + exp_cut).ln().min(0.0);
            }
        }
        k
    };
    let lse = log_sum_exp(&lw);
    lw.iter_mut().for_each(|v| *v -= lse);
    let ess = 1.0 / lw.iter().map(|v| (2.0 * v).exp()).sum::<f64>();
    Ok(Psis {
        k_hat,
        tail_len: tail.len(),
        n,
        log_weights: lw,
        ess,
    })
}

fn log_sum_exp(v: &[f64]) -> f64 {
    let m = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    m + v.iter().map(|x| (x - m).exp()).sum::<f64>().ln()
}

/// Fit a generalized Pareto distribution (location 0) to the ascending exceedances `x`
/// by Zhang and Stephens' empirical-Bayes estimator, with the prior of Vehtari et al.
/// on the shape (`k ← (n k + 10 · 0.5) / (n + 10)`). Returns `(k, σ)`.
fn gpd_fit(x: &[f64]) -> (f64, f64) {
    let n = x.len();
    let prior_bs = 3.0;
    let prior_k = 10.0;
    let m_est = 30 + (n as f64).sqrt() as usize;
    let quartile = x[((n as f64) / 4.0 + 0.5) as usize - 1];
    let last = x[n - 1];
    let b: Vec<f64> = (1..=m_est)
        .map(|j| {
            (1.0 - (m_est as f64 / (j as f64 - 0.5)).sqrt()) / (prior_bs * quartile) + 1.0 / last
        })
        .collect();
    let k_of = |bj: f64| x.iter().map(|xi| (-bj * xi).ln_1p()).sum::<f64>() / n as f64;
    let len_scale: Vec<f64> = b
        .iter()
        .map(|&bj| {
            let k = k_of(bj);
            n as f64 * ((-(bj / k)).ln() - k - 1.0)
        })
        .collect();
    let mut w: Vec<f64> = (0..m_est)
        .map(|i| {
            1.0 / len_scale
                .iter()
                .map(|lj| (lj - len_scale[i]).exp())
                .sum::<f64>()
        })
        .collect();
    let keep: Vec<bool> = w.iter().map(|wi| *wi >= 10.0 * f64::EPSILON).collect();
    for (wi, k) in w.iter_mut().zip(&keep) {
        if !k || !wi.is_finite() {
            *wi = 0.0;
        }
    }
    let total: f64 = w.iter().sum();
    if total <= 0.0 || !total.is_finite() {
        return (f64::INFINITY, f64::NAN);
    }
    let b_post: f64 = b.iter().zip(&w).map(|(bj, wj)| bj * wj).sum::<f64>() / total;
    let k_post = k_of(b_post);
    let sigma = -k_post / b_post;
    let k = (n as f64 * k_post + prior_k * 0.5) / (n as f64 + prior_k);
    (k, sigma)
}

/// The `p`-quantile of a generalized Pareto distribution (location 0, shape `k`,
/// scale `σ`).
fn gpd_quantile(p: f64, k: f64, sigma: f64) -> f64 {
    if k.abs() < f64::EPSILON {
        -sigma * (-p).ln_1p()
    } else {
        sigma * (-k * (-p).ln_1p()).exp_m1() / k
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    fn pareto_log_weights(shape: f64, n: usize, seed: u64) -> Vec<f64> {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        (0..n)
            .map(|_| -shape * (1.0 - rng.random::<f64>()).ln())
            .collect()
    }

    #[test]
    fn k_hat_recovers_the_tail_shape() {
        for (shape, n) in [(0.3, 4000), (0.6, 4000), (0.9, 10_000), (1.2, 10_000)] {
            let p = psis(&pareto_log_weights(shape, n, 7)).unwrap();
            assert!(
                (p.k_hat - shape).abs() < 0.2,
                "shape {shape}: k̂ {}",
                p.k_hat
            );
            assert_eq!(p.reliable(), shape < 0.7, "shape {shape}: k̂ {}", p.k_hat);
            let total: f64 = p.log_weights.iter().map(|v| v.exp()).sum();
            assert!((total - 1.0).abs() < 1e-9);
            assert!(p.ess > 1.0 && p.ess <= n as f64);
        }
    }

    /// The same log weights through ArviZ 0.23.4 (`arviz.psislw`) gave these k̂ and
    /// smoothed-weight ESS values (scratch venv, 2026-12-06).
    #[test]
    fn agrees_with_arviz() {
        let grid = |shape: f64, n: usize| -> Vec<f64> {
            (1..=n)
                .map(|i| -shape * (i as f64 / (n as f64 + 1.0)).ln())
                .collect()
        };
        let bounded: Vec<f64> = (0..2000)
            .map(|i| (0.5 + (i as f64 * 0.618033988749895) % 1.0).ln())
            .collect();
        for (lw, k, ess) in [
            (grid(0.3, 4000), 0.2802913415332054, 3342.287241767174),
            (grid(0.8, 4000), 0.739903196244935, 209.82533658471837),
            (grid(1.2, 1000), 1.0382773855162513, 12.829087946496234),
            (bounded, -0.8682423745715488, 1846.015776758592),
        ] {
            let p = psis(&lw).unwrap();
            assert!((p.k_hat - k).abs() < 1e-6, "k̂ {} vs ArviZ {k}", p.k_hat);
            assert!(
                (p.ess - ess).abs() < 1e-6 * ess,
                "ESS {} vs ArviZ {ess}",
                p.ess
            );
        }
    }

    #[test]
    fn bounded_weights_have_a_small_k_hat() {
        // Uniform weights on [0.5, 1.5] (a proposal close to the target): k̂ < 0.
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let lw: Vec<f64> = (0..2000)
            .map(|_| (0.5 + rng.random::<f64>()).ln())
            .collect();
        let p = psis(&lw).unwrap();
        assert!(p.k_hat < 0.2 && p.reliable(), "k̂ {}", p.k_hat);
        assert!(p.ess > 1600.0, "ESS {}", p.ess);
    }

    #[test]
    fn bad_input_is_an_error_and_short_tails_are_untrusted() {
        assert!(psis(&[0.0]).is_err());
        assert!(psis(&[0.0, f64::NAN]).is_err());
        assert!(psis(&[f64::NEG_INFINITY; 5]).is_err());
        let p = psis(&[0.0; 10]).unwrap();
        assert!(p.k_hat.is_infinite() && !p.reliable());
        assert!((k_threshold(100) - 0.5).abs() < 1e-12);
        assert!((k_threshold(100_000) - 0.7).abs() < 1e-12);
    }
}
