//! The combined result of a multi-channel integration and its run directory.
//!
//! ```text
//! DIR/result.json      the combined figures (estimate, std_error, rel_std, ess,
//!                      ess_fraction, pareto_k, trusted, reasons, …) and per channel
//!                      its map, weight α, estimate, share of the integral, rel. std,
//!                      ESS fraction, k̂ and trust; the pruned channels with
//!                      their adaptation share
//! DIR/report.json      the same with the weight-adaptation rounds
//! DIR/channelK/        channel K's own run directory (result.json, report.json,
//!                      history.csv, plots, model/), in the channel's coordinates `y`
//! ```

use super::channel_set::{AdaptRound, ChannelSet};
use super::prune::PrunedChannel;
use crate::atomic::{write_atomic, write_dir_atomic};
use crate::error::{Error, Result};
use crate::integrate::batch::InvalidCounts;
use crate::integrate::config::IntegrateConfig;
use crate::integrate::report::{write_estimate, write_trust};
use crate::integrate::IntegrationOutcome;
use flowinfer_simulators::Integrand;
use serde::Serialize;
use std::fmt::Write as _;
use std::path::Path;

/// One channel's figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChannelSummary {
    /// Its map, in words.
    pub map: String,
    /// Its weight `α` after the adaptation.
    pub alpha: f64,
    /// `Î_k`.
    pub estimate: f64,
    /// Its standard error.
    pub std_error: f64,
    /// `Î_k / Î`.
    pub share: f64,
    /// Relative std per event of the channel's weights.
    pub rel_std: f64,
    /// ESS fraction of the channel's weights.
    pub ess_fraction: f64,
    /// Pareto k̂ of the channel's weights (`null` when it cannot be estimated).
    pub pareto_k: Option<f64>,
    /// Whether the channel's estimate is trusted.
    pub trusted: bool,
    /// Integrand calls of the channel.
    pub calls: usize,
}

/// The combined figures (`result.json`; `report.json` adds the adaptation rounds).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChannelsReport {
    /// Integrand name.
    pub integrand: String,
    /// Its dimension.
    pub dim: usize,
    /// The exact value, when known.
    pub exact: Option<f64>,
    /// `Σ Î_k`.
    pub estimate: f64,
    /// `√Σ σ_k²`.
    pub std_error: f64,
    /// `std_error · √N / estimate`, `N` the evaluation samples of all channels: the
    /// relative std per event of an equivalent single proposal.
    pub rel_std: f64,
    /// `N / (1 + rel_std²)`, the effective sample size of that proposal.
    pub ess: f64,
    /// `ess / N`.
    pub ess_fraction: f64,
    /// The largest channel k̂ (`null` when one cannot be estimated).
    pub pareto_k: Option<f64>,
    /// `(estimate − exact)/std_error`.
    pub pull: Option<f64>,
    /// Evaluation samples of all channels.
    pub samples: usize,
    /// Integrand calls: weight adaptation + every channel's.
    pub calls: usize,
    /// Seconds.
    pub seconds: f64,
    /// Trusted when every channel is.
    pub trusted: bool,
    /// Why not, naming the channel.
    pub reasons: Vec<String>,
    /// Warnings, naming the channel.
    pub warnings: Vec<String>,
    /// Per channel (the kept ones).
    pub channels: Vec<ChannelSummary>,
    /// The channels pruned after the weight adaptation for a share below
    /// `[channels] prune_share` (their part of the integral is carried by the kept
    /// channels; [`super::prune`]).
    pub pruned: Vec<PrunedChannel>,
    /// Invalid values met during the weight adaptation.
    pub adapt_invalid: usize,
    /// The weight-adaptation rounds.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub adapt_rounds: Vec<AdaptRound>,
}

/// A multi-channel integration's result.
#[derive(Debug)]
pub struct ChannelsOutcome {
    /// The combined figures.
    pub report: ChannelsReport,
    /// Each channel's own outcome (in its coordinates `y`).
    pub channels: Vec<IntegrationOutcome>,
}

/// Combine the channels' outcomes.
pub(super) fn combine(
    user: &dyn Integrand,
    set: &ChannelSet,
    rounds: Vec<AdaptRound>,
    pruned: Vec<PrunedChannel>,
    outcomes: Vec<IntegrationOutcome>,
    invalid: InvalidCounts,
    seconds: f64,
) -> ChannelsOutcome {
    let estimate: f64 = outcomes.iter().map(|o| o.report.stats.estimate).sum();
    let var: f64 = outcomes
        .iter()
        .map(|o| o.report.stats.std_error.powi(2))
        .sum();
    let std_error = var.sqrt();
    let samples: usize = outcomes.iter().map(|o| o.report.stats.n).sum();
    let rel_std = if estimate > 0.0 {
        std_error * (samples as f64).sqrt() / estimate
    } else {
        f64::NAN
    };
    let ess = if rel_std.is_finite() {
        samples as f64 / (1.0 + rel_std * rel_std)
    } else {
        0.0
    };
    let ks: Vec<f64> = outcomes.iter().map(|o| o.report.stats.pareto_k).collect();
    let pareto_k = ks
        .iter()
        .all(|k| k.is_finite())
        .then(|| ks.iter().copied().fold(f64::NEG_INFINITY, f64::max));
    let mut reasons = Vec::new();
    let mut warnings = Vec::new();
    let mut channels = Vec::with_capacity(outcomes.len());
    let mut calls: usize = rounds.iter().map(|r| r.calls).sum();
    for (k, o) in outcomes.iter().enumerate() {
        let r = &o.report;
        let map = set.maps()[k].describe();
        for m in &r.reasons {
            reasons.push(format!("channel {} ({map}): {m}", k + 1));
        }
        for m in &r.warnings {
            warnings.push(format!("channel {} ({map}): {m}", k + 1));
        }
        calls += r.calls.total;
        channels.push(ChannelSummary {
            map,
            alpha: set.alpha()[k],
            estimate: r.stats.estimate,
            std_error: r.stats.std_error,
            share: if estimate > 0.0 {
                r.stats.estimate / estimate
            } else {
                f64::NAN
            },
            rel_std: r.stats.rel_std,
            ess_fraction: r.stats.ess_fraction,
            pareto_k: r.stats.pareto_k.is_finite().then_some(r.stats.pareto_k),
            trusted: r.trusted,
            calls: r.calls.total,
        });
    }
    let exact = user.exact();
    let report = ChannelsReport {
        integrand: user.name().to_string(),
        dim: user.dim(),
        exact,
        estimate,
        std_error,
        rel_std,
        ess,
        ess_fraction: ess / samples.max(1) as f64,
        pareto_k,
        pull: exact.and_then(|e| (std_error > 0.0).then(|| (estimate - e) / std_error)),
        samples,
        calls,
        seconds,
        trusted: reasons.is_empty(),
        reasons,
        warnings,
        channels,
        pruned,
        adapt_invalid: invalid.total(),
        adapt_rounds: rounds,
    };
    ChannelsOutcome {
        report,
        channels: outcomes,
    }
}

impl ChannelsReport {
    /// A readable multi-line summary.
    pub fn summary(&self) -> String {
        let mut o = String::new();
        let _ = writeln!(
            o,
            "integrand:             {} (d = {}), {} channels",
            self.integrand,
            self.dim,
            self.channels.len()
        );
        write_estimate(
            &mut o,
            self.estimate,
            self.std_error,
            self.trusted,
            self.exact,
            self.pull,
        );
        let _ = writeln!(
            o,
            "rel. std per event:    {:.4} (equivalent single proposal, {} samples); ESS fraction {:.3}; largest k̂ {}",
            self.rel_std,
            self.samples,
            self.ess_fraction,
            self.pareto_k.map_or("–".into(), |k| format!("{k:.2}"))
        );
        for (k, c) in self.channels.iter().enumerate() {
            let _ = writeln!(
                o,
                "channel {:<2}            α {:.3}  I_k {:.4e} ± {:.1e} ({:.1} %)  rel. std {:.3}  k̂ {}{}  — {}",
                k + 1,
                c.alpha,
                c.estimate,
                c.std_error,
                100.0 * c.share,
                c.rel_std,
                c.pareto_k.map_or("–".into(), |k| format!("{k:.2}")),
                if c.trusted { "" } else { "  NOT TRUSTED" },
                c.map
            );
        }
        for p in &self.pruned {
            let _ = writeln!(
                o,
                "pruned channel {:<2}     share {:.2e} of the integral in the weight adaptation (α {:.3}): its part is carried by the kept channels — {}",
                p.channel,
                p.share,
                p.alpha,
                p.map
            );
        }
        write_trust(&mut o, &self.warnings, self.trusted, &self.reasons);
        let _ = writeln!(
            o,
            "calls / time:          {} calls, {:.1} s",
            self.calls, self.seconds
        );
        o
    }
}

/// Write the run directory of a multi-channel integration (module docs), atomically.
pub fn write_channels_run(
    outcome: &ChannelsOutcome,
    spec: &IntegrateConfig,
    dir: &Path,
) -> Result<()> {
    write_dir_atomic(dir, |stage| {
        let mut headline = outcome.report.clone();
        headline.adapt_rounds.clear();
        write_atomic(&stage.join("result.json"), &json(&headline)?)?;
        write_atomic(&stage.join("report.json"), &json(&outcome.report)?)?;
        let spec_text = toml::to_string_pretty(spec)
            .map_err(|e| Error::config(format!("cannot write the effective spec: {e}")))?;
        write_atomic(&stage.join("spec.toml"), spec_text.as_bytes())?;
        for (k, o) in outcome.channels.iter().enumerate() {
            let sub = stage.join(format!("channel{}", k + 1));
            std::fs::create_dir_all(&sub).map_err(|e| Error::file(&sub, e.to_string()))?;
            crate::integrate::run_dir::fill_run_dir(o, spec, &sub, true)?;
        }
        Ok(())
    })
}

fn json<T: Serialize + ?Sized>(v: &T) -> Result<Vec<u8>> {
    let mut bytes = serde_json::to_vec_pretty(v)?;
    bytes.push(b'\n');
    Ok(bytes)
}
