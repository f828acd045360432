//! The channels of a multi-channel integration: their maps, the mixture density
//! `G(x) = Σ_k α_k g_k(x)` of the maps, and the adaptation of the channel weights
//! `α_k` on the maps alone (Kleiss & Pittau 1994).
//!
//! **Weights.** Drawing `x ~ G` (channel `k` with probability `α_k`, then its map),
//! every round estimates each channel's share of the integral `Î_k/Î` (from the points
//! of all rounds so far) and its variance moment `W_k = mean(g_k f²/G³)` (from the
//! round's points); by default the new weights are the shares (the
//! weights follow where the integral is), or, as Kleiss & Pittau, `α_k √W_k`
//! (normalised), which equalises the `W_k` at the variance optimum
//! ([`WeightUpdate`]). The new weights are mixed with a [`MIN_WEIGHT`] share of equal
//! weights, so every channel keeps at least `MIN_WEIGHT/C` and stays alive.

use super::peak_map::PeakMap;
use super::weight_update::WeightUpdate;
use crate::error::{Error, Result};
use crate::integrate::batch::{evaluate, EvalOptions, InvalidCounts};
use flowinfer_simulators::Integrand;
use rand::{Rng, RngCore};
use serde::Serialize;

/// Channel weights never fall below this fraction of an equal share.
pub const MIN_WEIGHT: f64 = 0.05;

/// The map of one channel.
#[derive(Debug, Clone, PartialEq)]
pub enum ChannelMap {
    /// The identity: uniform density on the cube.
    Uniform,
    /// Concentrated around a peak.
    Peak(PeakMap),
}

impl ChannelMap {
    /// Map `y` to `x`.
    pub fn map_point(&self, y: &[f64], x: &mut [f64]) {
        match self {
            ChannelMap::Uniform => x.copy_from_slice(y),
            ChannelMap::Peak(m) => m.map_point(y, x),
        }
    }

    /// `ln g(x)`.
    pub fn log_density(&self, x: &[f64]) -> f64 {
        match self {
            ChannelMap::Uniform => 0.0,
            ChannelMap::Peak(m) => m.log_density(x),
        }
    }

    /// In words, for reports.
    pub fn describe(&self) -> String {
        match self {
            ChannelMap::Uniform => "uniform".into(),
            ChannelMap::Peak(m) => format!(
                "peak at ({}) width {}",
                m.centre()
                    .iter()
                    .map(|v| format!("{v}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                m.width()
            ),
        }
    }
}

/// One round of the weight adaptation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AdaptRound {
    /// Integrand calls of the round.
    pub calls: usize,
    /// `mean(f/G)` over the round (an unbiased estimate with the maps alone).
    pub estimate: f64,
    /// Its relative standard deviation per event.
    pub rel_std: f64,
    /// Every channel's share of the integral, `Î_k/Î`, estimated from the points of
    /// this and all earlier rounds.
    pub shares: Vec<f64>,
    /// The weights after the round.
    pub alpha: Vec<f64>,
}

/// The channels and their weights (module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelSet {
    maps: Vec<ChannelMap>,
    alpha: Vec<f64>,
}

impl ChannelSet {
    /// Channels with equal weights.
    pub fn new(maps: Vec<ChannelMap>) -> Result<Self> {
        if maps.is_empty() {
            return Err(Error::config("a channel set needs at least one channel"));
        }
        let c = maps.len();
        Ok(Self {
            maps,
            alpha: vec![1.0 / c as f64; c],
        })
    }

    /// Number of channels.
    pub fn len(&self) -> usize {
        self.maps.len()
    }

    /// Whether there are no channels (never: [`Self::new`] refuses it).
    pub fn is_empty(&self) -> bool {
        self.maps.is_empty()
    }

    /// The maps.
    pub fn maps(&self) -> &[ChannelMap] {
        &self.maps
    }

    /// The weights `α`.
    pub fn alpha(&self) -> &[f64] {
        &self.alpha
    }

    /// Keep the channels with `keep[k]` true (at least one), their weights renormalised
    /// to sum to 1 ([`super::prune`]).
    pub fn retain(&mut self, keep: &[bool]) -> Result<()> {
        if keep.len() != self.len() || !keep.iter().any(|k| *k) {
            return Err(Error::config(format!(
                "cannot keep {} of {} channels: at least one, with one flag per channel",
                keep.iter().filter(|k| **k).count(),
                self.len()
            )));
        }
        let kept = |v: &[f64]| -> Vec<f64> {
            v.iter()
                .zip(keep)
                .filter(|(_, k)| **k)
                .map(|(a, _)| *a)
                .collect()
        };
        let alpha = kept(&self.alpha);
        let sum: f64 = alpha.iter().sum();
        let c = alpha.len() as f64;
        self.alpha = alpha
            .iter()
            .map(|a| if sum > 0.0 { a / sum } else { 1.0 / c })
            .collect();
        self.maps = self
            .maps
            .drain(..)
            .zip(keep)
            .filter(|(_, k)| **k)
            .map(|(m, _)| m)
            .collect();
        Ok(())
    }

    /// `ln g_k(x)` for every channel, into `out`.
    pub fn log_densities(&self, x: &[f64], out: &mut [f64]) {
        for (o, m) in out.iter_mut().zip(&self.maps) {
            *o = m.log_density(x);
        }
    }

    /// `ln G(x) = ln Σ α_k g_k(x)` from the channels' `ln g_k(x)`.
    pub fn log_mixture(&self, log_g: &[f64]) -> f64 {
        let terms = log_g.iter().zip(&self.alpha).map(|(l, a)| l + a.ln());
        let m = terms.clone().fold(f64::NEG_INFINITY, f64::max);
        m + terms.map(|t| (t - m).exp()).sum::<f64>().ln()
    }

    /// Adapt the weights in `rounds` rounds of `calls / rounds` points by `update`
    /// (module docs).
    #[allow(clippy::too_many_arguments)]
    pub fn adapt(
        &mut self,
        f: &dyn Integrand,
        update: WeightUpdate,
        calls: usize,
        rounds: usize,
        rng: &mut dyn RngCore,
        opts: &EvalOptions,
        invalid: &mut InvalidCounts,
    ) -> Result<Vec<AdaptRound>> {
        let c = self.len();
        let d = f.dim();
        let n = calls / rounds.max(1);
        if c == 1 || n < 2 {
            return Ok(Vec::new());
        }
        let mut out = Vec::with_capacity(rounds);
        let mut y = vec![0.0; d];
        // Σ w·α_k g_k/G and Σ w over all rounds so far: the shares are estimated from
        // every point drawn (a round alone rests on a handful of effective points when
        // the maps fit the peaks poorly).
        let mut cum_share = vec![0.0; c];
        let mut cum_w = 0.0;
        for _ in 0..rounds {
            let mut x = vec![0.0; n * d];
            for row in x.chunks_exact_mut(d) {
                let u: f64 = rng.random();
                let mut k = 0;
                let mut acc = self.alpha[0];
                while u >= acc && k + 1 < c {
                    k += 1;
                    acc += self.alpha[k];
                }
                for v in y.iter_mut() {
                    *v = rng.random();
                }
                self.maps[k].map_point(&y, row);
            }
            let mut fx = evaluate(f, &x, opts)?;
            invalid.screen(
                f.name(),
                "channel weights",
                &x,
                d,
                &mut fx,
                opts.allow_invalid,
            )?;
            let mut log_g = vec![0.0; c];
            let mut w_sum = 0.0;
            let mut w2_sum = 0.0;
            let mut big_w = vec![0.0; c];
            let mut share_sums = vec![0.0; c];
            for (row, fv) in x.chunks_exact(d).zip(&fx) {
                if *fv == 0.0 {
                    continue;
                }
                self.log_densities(row, &mut log_g);
                let lg = self.log_mixture(&log_g);
                let w = fv * (-lg).exp();
                w_sum += w;
                w2_sum += w * w;
                for (k, l) in log_g.iter().enumerate() {
                    // g_k f²/G³ = w² · g_k/G; the share term w · α_k g_k/G.
                    let r = (l - lg).exp();
                    big_w[k] += w * w * r;
                    share_sums[k] += w * self.alpha[k] * r;
                }
            }
            let nf = n as f64;
            let mean = w_sum / nf;
            let var = (w2_sum / nf - mean * mean).max(0.0) * nf / (nf - 1.0);
            for (t, v) in cum_share.iter_mut().zip(&share_sums) {
                *t += v;
            }
            cum_w += w_sum;
            let shares: Vec<f64> = cum_share
                .iter()
                .map(|v| if cum_w > 0.0 { v / cum_w } else { f64::NAN })
                .collect();
            let a = update.raw(&self.alpha, &cum_share, &big_w, nf);
            let s: f64 = a.iter().sum();
            if w_sum > 0.0 && s > 0.0 && s.is_finite() {
                // Mixed with a MIN_WEIGHT share of equal weights: every α ≥ MIN_WEIGHT/C.
                let floor = MIN_WEIGHT / c as f64;
                self.alpha = a
                    .iter()
                    .map(|v| floor + (1.0 - MIN_WEIGHT) * v / s)
                    .collect();
            }
            out.push(AdaptRound {
                calls: n,
                estimate: mean,
                rel_std: if mean > 0.0 {
                    var.sqrt() / mean
                } else {
                    f64::NAN
                },
                shares,
                alpha: self.alpha.clone(),
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flowinfer_simulators::FnIntegrand;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    #[test]
    fn weights_move_to_the_channel_that_carries_the_mass() {
        // All the mass near (0.8, 0.8): the channel peaked there should gain weight.
        let f = FnIntegrand::new("bump", 2, |x: &[f64]| {
            let r2 = (x[0] - 0.8).powi(2) + (x[1] - 0.8).powi(2);
            (-r2 / (2.0 * 0.03f64.powi(2))).exp()
        });
        let maps = vec![
            ChannelMap::Uniform,
            ChannelMap::Peak(PeakMap::new(vec![0.2, 0.2], 0.03).unwrap()),
            ChannelMap::Peak(PeakMap::new(vec![0.8, 0.8], 0.03).unwrap()),
        ];
        let mut set = ChannelSet::new(maps).unwrap();
        let mut rng = StdRng::seed_from_u64(1);
        let rounds = set
            .adapt(
                &f,
                WeightUpdate::Variance,
                20_000,
                5,
                &mut rng,
                &EvalOptions::default(),
                &mut InvalidCounts::default(),
            )
            .unwrap();
        assert_eq!(rounds.len(), 5);
        let a = set.alpha();
        assert!((a.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!(a[2] > 0.6 && a[1] < 0.1, "{a:?}");
        assert!(a.iter().all(|v| *v >= MIN_WEIGHT / 3.0 - 1e-12), "{a:?}");
        // The mixture estimate is unbiased: the exact value is 2π σ² (inside the cube).
        let exact = 2.0 * std::f64::consts::PI * 0.03f64.powi(2);
        let last = rounds.last().unwrap();
        let se = last.rel_std * last.estimate / (last.calls as f64).sqrt();
        assert!(
            (last.estimate - exact).abs() < 4.0 * se,
            "{last:?} vs {exact}"
        );
        // The later rounds are better than the first (equal weights).
        assert!(last.rel_std < rounds[0].rel_std, "{rounds:?}");
    }

    #[test]
    fn weights_follow_the_shares_of_two_bumps() {
        // Two bumps carrying 0.7 and 0.3 of the integral, a channel on each (and the
        // uniform one): the share update puts the weights at the shares (up to the
        // MIN_WEIGHT mixing), whichever way they start.
        let bump = |x: &[f64], c: f64| {
            let r2 = (x[0] - c).powi(2) + (x[1] - c).powi(2);
            (-r2 / (2.0 * 0.03f64.powi(2))).exp()
        };
        let f = FnIntegrand::new("two bumps", 2, move |x: &[f64]| {
            0.7 * bump(x, 0.2) + 0.3 * bump(x, 0.8)
        });
        let maps = vec![
            ChannelMap::Uniform,
            ChannelMap::Peak(PeakMap::new(vec![0.2, 0.2], 0.03).unwrap()),
            ChannelMap::Peak(PeakMap::new(vec![0.8, 0.8], 0.03).unwrap()),
        ];
        let mut set = ChannelSet::new(maps).unwrap();
        let mut rng = StdRng::seed_from_u64(3);
        let rounds = set
            .adapt(
                &f,
                WeightUpdate::Shares,
                20_000,
                5,
                &mut rng,
                &EvalOptions::default(),
                &mut InvalidCounts::default(),
            )
            .unwrap();
        let a = set.alpha();
        let last = rounds.last().unwrap();
        // The last round's shares: 0.7 and 0.3 of the integral, up to the little the
        // uniform channel takes.
        assert!((last.shares[1] - 0.7).abs() < 0.05, "{last:?}");
        assert!((last.shares[2] - 0.3).abs() < 0.05, "{last:?}");
        assert!((last.shares.iter().sum::<f64>() - 1.0).abs() < 1e-9);
        // The weights are the shares mixed with MIN_WEIGHT of equal weights.
        let mixed = |s: f64| MIN_WEIGHT / 3.0 + (1.0 - MIN_WEIGHT) * s;
        for k in 0..3 {
            assert!(
                (a[k] - mixed(last.shares[k])).abs() < 1e-12,
                "{a:?} {last:?}"
            );
        }
        assert!(
            a[1] / a[2] > 1.9 && a[1] / a[2] < 2.8 && a[0] < 0.05,
            "{a:?}"
        );
    }

    #[test]
    fn the_mixture_density_is_the_weighted_sum() {
        let maps = vec![
            ChannelMap::Uniform,
            ChannelMap::Peak(PeakMap::new(vec![0.5], 0.1).unwrap()),
        ];
        let set = ChannelSet::new(maps).unwrap();
        let x = [0.6];
        let mut lg = [0.0; 2];
        set.log_densities(&x, &mut lg);
        let want = 0.5 * 1.0 + 0.5 * lg[1].exp();
        assert!((set.log_mixture(&lg) - want.ln()).abs() < 1e-12);
        assert!(ChannelSet::new(vec![]).is_err());
    }
}
