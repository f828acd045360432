//! Multi-channel integration: several maps (a uniform one and one per peak the user
//! names), channel weights adapted on the maps, and one flow per channel.
//!
//! Physics integrands often have several peaks (resonances, collinear regions) that one
//! map cannot serve at once; multi-channel importance sampling (Kleiss & Pittau 1994;
//! with one flow per channel, MadNIS) splits the integral by the balance heuristic
//! into channel integrals `I_k` ([`channel_integrand`]), each integrated on the unit
//! cube by its own flow through [`integrate`](super::integrate), and adds them up:
//! `Î = Σ Î_k`, `σ² = Σ σ_k²` (the channels' samples are independent).
//!
//! 1. The channel weights `α_k` are adapted on the maps alone ([`channel_set`]), with
//!    [`ChannelsConfig::adapt_calls`] integrand calls; by default they follow the
//!    channels' estimated shares of the integral ([`weight_update`]).
//! 2. A channel whose estimated share is below [`ChannelsConfig::prune_share`] is
//!    pruned; the other maps cover the cube, so the estimate stays unbiased
//!    ([`prune`]).
//! 3. The training steps and the evaluation samples are split among the channels by
//!    their weights (so by their shares), each keeping a floor ([`budget`]).
//! 4. The result is trusted only when every channel is; a channel's reasons are
//!    named with the channel.
//!
//! ```
//! use flowinfer::integrate::channels::{integrate_channels, ChannelsConfig};
//! use flowinfer::integrate::{IntegrateConfig, TrainConfig};
//! use flowinfer_simulators::FnIntegrand;
//! // Two narrow bumps far apart, one channel on each (and a uniform one).
//! let f = FnIntegrand::new("two bumps", 2, |x: &[f64]| {
//!     let b = |c: f64| (-((x[0] - c).powi(2) + (x[1] - c).powi(2)) / 2e-3).exp();
//!     b(0.2) + b(0.8)
//! });
//! let mut cfg = IntegrateConfig::default();
//! cfg.train = TrainConfig { steps: 30, batch: 512, ..TrainConfig::default() };
//! cfg.eval.samples = 6000;
//! cfg.channels = ChannelsConfig { peaks: vec![vec![0.2, 0.2], vec![0.8, 0.8]], width: 0.05, ..ChannelsConfig::default() };
//! let out = integrate_channels(&f, &cfg, &candle_core::Device::Cpu, &mut |_| {})?;
//! let exact = 4.0 * std::f64::consts::PI * 1e-3; // 2πσ² per bump, σ² = 1e-3
//! // The uniform channel carries ~0.1 % of the integral: pruned, the peaks' maps cover the cube.
//! assert_eq!(out.report.channels.len(), 2);
//! assert_eq!(out.report.pruned[0].map, "uniform");
//! assert!((out.report.estimate - exact).abs() < 5.0 * out.report.std_error);
//! # Ok::<(), flowinfer::Error>(())
//! ```

pub mod budget;
pub mod channel_integrand;
pub mod channel_set;
pub mod peak_map;
pub mod prune;
pub mod report;
pub mod weight_update;

pub use channel_integrand::ChannelIntegrand;
pub use channel_set::{AdaptRound, ChannelMap, ChannelSet};
pub use peak_map::PeakMap;
pub use prune::PrunedChannel;
pub use report::{write_channels_run, ChannelSummary, ChannelsOutcome, ChannelsReport};
pub use weight_update::WeightUpdate;

use super::batch::InvalidCounts;
use super::config::IntegrateConfig;
use super::{integrate, Stage};
use crate::error::{Error, Result};
use candle_core::Device;
use flowinfer_simulators::{row_seed, Integrand};
use rand::rngs::StdRng;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// `[channels]`: peaks that get a channel each (none = one channel, the plain
/// integrator).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChannelsConfig {
    /// Peak locations in the unit cube, one channel each.
    pub peaks: Vec<Vec<f64>>,
    /// Width of each peak map (the Cauchy scale per coordinate; default 0.05).
    pub width: f64,
    /// Add a channel with the uniform map (default true): it covers what the peaks miss.
    pub uniform: bool,
    /// Integrand calls of the channel-weight adaptation (default 100 000, in 5 rounds;
    /// 20 000 before the weights followed the shares: on two 8-d needles the maps'
    /// weights have a rel. std per event of 17–66, one effective point per 300–4 000
    /// calls, and the share estimate rests on those).
    pub adapt_calls: usize,
    /// How the weights are adapted: `shares` (default; they follow the channels'
    /// estimated shares of the integral) or `variance` (Kleiss–Pittau;
    /// [`weight_update`]).
    pub update: WeightUpdate,
    /// The least part of the training steps and evaluation samples a channel gets, as
    /// a fraction of an equal share (in [0, 1]; 1 = equal shares; the rest goes by
    /// channel weight; [`budget`]). Default [`budget::BUDGET_FLOOR`].
    pub budget_floor: f64,
    /// A channel whose estimated share of the integral after the weight adaptation is
    /// below this is pruned, its budget going to the others (in [0, 1); 0 = never;
    /// [`prune`]). Default [`prune::PRUNE_SHARE`].
    pub prune_share: f64,
}

impl Default for ChannelsConfig {
    fn default() -> Self {
        Self {
            peaks: Vec::new(),
            width: 0.05,
            uniform: true,
            adapt_calls: 100_000,
            update: WeightUpdate::default(),
            budget_floor: budget::BUDGET_FLOOR,
            prune_share: prune::PRUNE_SHARE,
        }
    }
}

/// Rounds of the channel-weight adaptation.
pub const ADAPT_ROUNDS: usize = 5;

impl ChannelsConfig {
    /// Whether channels are asked for.
    pub fn is_active(&self) -> bool {
        !self.peaks.is_empty()
    }

    /// Check the settings for dimension `dim`: the maps ([`maps`](Self::maps)) and the
    /// budget floor.
    pub fn validate(&self, dim: usize) -> Result<()> {
        if !(self.budget_floor.is_finite() && (0.0..=1.0).contains(&self.budget_floor)) {
            return Err(Error::config(format!(
                "[channels] budget_floor must be a fraction of an equal share in [0, 1], got {}",
                self.budget_floor
            )));
        }
        prune::check_threshold(self.prune_share)?;
        self.maps(dim).map(|_| ())
    }

    /// The channel maps for dimension `dim` (errors name the peak that is wrong).
    pub fn maps(&self, dim: usize) -> Result<Vec<ChannelMap>> {
        let mut maps = Vec::with_capacity(self.peaks.len() + 1);
        if self.uniform {
            maps.push(ChannelMap::Uniform);
        }
        for (i, p) in self.peaks.iter().enumerate() {
            if p.len() != dim {
                return Err(Error::config(format!(
                    "[channels] peak {} has {} coordinates; the integrand has dimension {dim}",
                    i + 1,
                    p.len()
                )));
            }
            let m = PeakMap::new(p.clone(), self.width)
                .map_err(|e| Error::config(format!("[channels] peak {}: {e}", i + 1)))?;
            maps.push(ChannelMap::Peak(m));
        }
        Ok(maps)
    }
}

/// Integrate `user` with the channels of `cfg.channels` (module docs). `progress` sees
/// each channel's stages.
pub fn integrate_channels(
    user: &dyn Integrand,
    cfg: &IntegrateConfig,
    device: &Device,
    progress: &mut dyn FnMut(Stage<'_>),
) -> Result<ChannelsOutcome> {
    cfg.validate_for(user.dim())?;
    if cfg.eval.unweighted.is_some() {
        return Err(Error::config(
            "unweighted events are not available with [channels] yet; run without channels to unweight",
        ));
    }
    let start = Instant::now();
    let maps = cfg.channels.maps(user.dim())?;
    let mut set = ChannelSet::new(maps)?;
    let eval = cfg.eval_options();
    let mut invalid = InvalidCounts::default();
    let mut rng = StdRng::seed_from_u64(row_seed(cfg.seed, 7));
    let rounds = set.adapt(
        user,
        cfg.channels.update,
        cfg.channels.adapt_calls,
        ADAPT_ROUNDS,
        &mut rng,
        &eval,
        &mut invalid,
    )?;
    let pruned = match rounds.last() {
        Some(r) => prune::prune(&mut set, &r.shares, cfg.channels.prune_share)?,
        None => Vec::new(),
    };
    let c = set.len();
    // The kept channels' numbers before pruning: each keeps the seed it has unpruned.
    let original: Vec<usize> = (0..c + pruned.len())
        .filter(|k| pruned.iter().all(|p| p.channel != k + 1))
        .collect();
    let mut per_channel = IntegrateConfig {
        channels: ChannelsConfig::default(),
        ..cfg.clone()
    };
    per_channel.eval.vegas = false;
    let floor = cfg.channels.budget_floor;
    let steps = budget::allocate(cfg.train.steps, set.alpha(), floor);
    let samples = budget::allocate(cfg.eval.samples, set.alpha(), floor);
    let mut outcomes = Vec::with_capacity(c);
    for k in 0..c {
        progress(Stage::Channel {
            channel: k,
            channels: c,
            map: set.maps()[k].describe(),
        });
        let integrand = ChannelIntegrand::new(user, &set, k);
        let mut ck = per_channel.clone();
        ck.train.steps = steps[k];
        ck.eval.samples = samples[k].max(2);
        ck.seed = row_seed(cfg.seed, 100 + original[k]);
        let o = integrate(&integrand, &ck, device, progress)?;
        outcomes.push(o);
    }
    Ok(report::combine(
        user,
        &set,
        rounds,
        pruned,
        outcomes,
        invalid,
        start.elapsed().as_secs_f64(),
    ))
}
