//! Pruning channels that carry a negligible share of the integral.
//!
//! After the weight adaptation ([`super::ChannelSet::adapt`]) every channel's share
//! `Î_k/Î` of the integral is known (estimated from all adaptation points). A channel
//! whose share is below [`ChannelsConfig::prune_share`](super::ChannelsConfig::prune_share)
//! is dropped before training, and its budget goes to the others ([`super::budget`]
//! splits the steps and samples among the channels left).
//!
//! **Why this stays unbiased.** The balance heuristic over the channels left, with
//! `G' = Σ_{k kept} α_k g_k` (weights renormalised), still gives
//! `Σ_{k kept} α_k g_k/G' = 1` wherever `G' > 0`, so the kept channel integrals add up
//! to `I` exactly as long as the kept maps cover the cube. Every map does: the uniform
//! map has density 1 and a peak map's truncated Cauchy density is nowhere zero
//! ([`super::PeakMap`]). The pruned channel's part of the integral is therefore not
//! lost: it is carried, through their maps' tails, by the kept channels, whose own
//! diagnostics (ESS, k̂, the pilot) judge it like the rest of their integrand.
//!
//! **Why prune.** A channel with a share of 0.2 % (the uniform channel on two 8-d
//! needles) still gets the budget floor, and its integrand — what the peak maps leave
//! of the needles — is awkward enough that its flow is not learnt at that budget (k̂
//! 1.24): one such channel made the whole run untrusted although its contribution to
//! the estimate was a fifth of a per cent (docs/HARD_INTEGRANDS.md). The threshold is a
//! cost decision, not an honesty one: pruning a channel that did matter makes the kept
//! channels' integrands broader and their weights heavier, which their diagnostics
//! report.

use super::channel_set::ChannelSet;
use crate::error::{Error, Result};
use serde::Serialize;

/// The default [`ChannelsConfig::prune_share`](super::ChannelsConfig::prune_share): a
/// channel carrying less than 1 % of the integral is pruned.
pub const PRUNE_SHARE: f64 = 0.01;

/// A channel that was pruned (module docs).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PrunedChannel {
    /// Its number among the channels before pruning (1-based, as `--peak` order with
    /// the uniform channel first).
    pub channel: usize,
    /// Its map, in words.
    pub map: String,
    /// Its estimated share of the integral in the weight adaptation.
    pub share: f64,
    /// Its adapted weight before it was pruned.
    pub alpha: f64,
}

/// Check a pruning threshold: a share in `[0, 1)` (0 = never prune).
pub fn check_threshold(threshold: f64) -> Result<()> {
    if threshold.is_finite() && (0.0..1.0).contains(&threshold) {
        Ok(())
    } else {
        Err(Error::config(format!(
            "[channels] prune_share must be a share of the integral in [0, 1) (0 = never prune), got {threshold}"
        )))
    }
}

/// Drop from `set` every channel whose share in `shares` (one per channel, from the
/// adaptation) is below `threshold`, keeping at least the channel with the largest
/// share; the kept weights are renormalised. A share that is not a number (no
/// adaptation points with `f > 0`) prunes nothing. Returns the pruned channels.
///
/// ```
/// use flowinfer::integrate::channels::prune::prune;
/// use flowinfer::integrate::channels::{ChannelMap, ChannelSet, PeakMap};
/// let mut set = ChannelSet::new(vec![
///     ChannelMap::Uniform,
///     ChannelMap::Peak(PeakMap::new(vec![0.2, 0.2], 0.05)?),
///     ChannelMap::Peak(PeakMap::new(vec![0.8, 0.8], 0.05)?),
/// ])?;
/// // The uniform channel carries 0.2 % of the integral: pruned at the 1 % threshold.
/// let pruned = prune(&mut set, &[0.002, 0.698, 0.3], 0.01)?;
/// assert_eq!(pruned.len(), 1);
/// assert_eq!((pruned[0].channel, pruned[0].map.as_str()), (1, "uniform"));
/// assert_eq!(set.len(), 2);
/// assert!((set.alpha().iter().sum::<f64>() - 1.0).abs() < 1e-12);
/// // Threshold 0: nothing is pruned.
/// assert!(prune(&mut set, &[0.0, 1.0], 0.0)?.is_empty());
/// # Ok::<(), flowinfer::Error>(())
/// ```
pub fn prune(set: &mut ChannelSet, shares: &[f64], threshold: f64) -> Result<Vec<PrunedChannel>> {
    check_threshold(threshold)?;
    if shares.len() != set.len() {
        return Err(Error::config(format!(
            "{} channel shares for {} channels",
            shares.len(),
            set.len()
        )));
    }
    if threshold == 0.0 || shares.iter().any(|s| !s.is_finite()) {
        return Ok(Vec::new());
    }
    let best = shares
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map_or(0, |(k, _)| k);
    let keep: Vec<bool> = shares
        .iter()
        .enumerate()
        .map(|(k, s)| k == best || *s >= threshold)
        .collect();
    let pruned = keep
        .iter()
        .enumerate()
        .filter(|(_, kept)| !**kept)
        .map(|(k, _)| PrunedChannel {
            channel: k + 1,
            map: set.maps()[k].describe(),
            share: shares[k],
            alpha: set.alpha()[k],
        })
        .collect();
    set.retain(&keep)?;
    Ok(pruned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::integrate::channels::{ChannelMap, PeakMap};

    fn three() -> ChannelSet {
        ChannelSet::new(vec![
            ChannelMap::Uniform,
            ChannelMap::Peak(PeakMap::new(vec![0.2], 0.05).unwrap()),
            ChannelMap::Peak(PeakMap::new(vec![0.8], 0.05).unwrap()),
        ])
        .unwrap()
    }

    #[test]
    fn the_largest_share_is_always_kept_and_bad_input_is_refused() {
        // Every share below a (large) threshold: the largest one stays.
        let mut s = three();
        let p = prune(&mut s, &[0.2, 0.45, 0.35], 0.5).unwrap();
        assert_eq!(p.iter().map(|c| c.channel).collect::<Vec<_>>(), vec![1, 3]);
        assert_eq!(s.len(), 1);
        assert_eq!(s.alpha(), &[1.0]);
        // Not-a-number shares (nothing seen in the adaptation) prune nothing.
        let mut s = three();
        assert!(prune(&mut s, &[f64::NAN; 3], 0.01).unwrap().is_empty());
        assert_eq!(s.len(), 3);
        // Wrong lengths and thresholds are errors, naming the key.
        assert!(prune(&mut s, &[0.5, 0.5], 0.01).is_err());
        let e = prune(&mut s, &[0.0, 0.5, 0.5], 1.0).unwrap_err();
        assert!(e.to_string().contains("prune_share"), "{e}");
        assert!(check_threshold(-0.1).is_err() && check_threshold(f64::NAN).is_err());
    }

    #[test]
    fn two_bumps_with_the_uniform_channel_pruned_stay_unbiased() {
        use crate::integrate::channels::{integrate_channels, ChannelsConfig};
        use crate::integrate::{IntegrateConfig, TrainConfig};
        use flowinfer_simulators::FnIntegrand;
        // Two narrow bumps (σ² = 5·10⁻⁴, weights 0.7 and 0.3) and a channel on each:
        // the uniform channel carries ~0.1 % and is pruned at the default threshold;
        // the kept channels' estimates still add up to the exact integral.
        let bump = |x: &[f64], c: f64| (-((x[0] - c).powi(2) + (x[1] - c).powi(2)) / 1e-3).exp();
        let f = FnIntegrand::new("two bumps", 2, move |x: &[f64]| {
            0.7 * bump(x, 0.2) + 0.3 * bump(x, 0.8)
        });
        let exact = std::f64::consts::PI * 5e-4 * 2.0; // 2πσ² (0.7 + 0.3)
        let run = |prune_share: f64| {
            let mut cfg = IntegrateConfig {
                seed: 3,
                train: TrainConfig {
                    steps: 40,
                    batch: 512,
                    ..TrainConfig::default()
                },
                channels: ChannelsConfig {
                    peaks: vec![vec![0.2, 0.2], vec![0.8, 0.8]],
                    adapt_calls: 20_000,
                    prune_share,
                    ..ChannelsConfig::default()
                },
                ..IntegrateConfig::default()
            };
            cfg.eval.samples = 8000;
            integrate_channels(&f, &cfg, &candle_core::Device::Cpu, &mut |_| {})
                .unwrap()
                .report
        };
        let r = run(PRUNE_SHARE);
        assert_eq!(r.pruned.len(), 1, "{:?}", r.pruned);
        let p = &r.pruned[0];
        assert_eq!((p.channel, p.map.as_str()), (1, "uniform"));
        assert!(p.share > 0.0 && p.share < PRUNE_SHARE, "{p:?}");
        assert_eq!(r.channels.len(), 2);
        // All the steps and samples go to the kept channels.
        assert_eq!(r.samples, 8000);
        assert!(r.summary().contains("pruned channel 1"), "{}", r.summary());
        let pull = (r.estimate - exact) / r.std_error;
        assert!(
            pull.abs() < 4.0,
            "{} ± {} vs {exact}",
            r.estimate,
            r.std_error
        );
        // The kept channels' shares follow the bumps' weights.
        assert!((r.channels[0].share - 0.7).abs() < 0.02, "{:?}", r.channels);
        // Threshold 0: the uniform channel stays.
        let all = run(0.0);
        assert!(all.pruned.is_empty());
        assert_eq!(all.channels.len(), 3);
        assert_eq!(all.channels[0].map, "uniform");
    }

    #[test]
    fn kept_weights_keep_their_ratios() {
        let mut s = three();
        // Weights 1/3 each before; the pruned uniform channel's weight is shared out
        // in proportion.
        let p = prune(&mut s, &[0.001, 0.6, 0.399], 0.01).unwrap();
        assert_eq!((p[0].channel, p[0].share), (1, 0.001));
        assert!((p[0].alpha - 1.0 / 3.0).abs() < 1e-12);
        assert!(
            s.alpha().iter().all(|a| (a - 0.5).abs() < 1e-12),
            "{:?}",
            s.alpha()
        );
    }
}
