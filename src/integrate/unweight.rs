//! Unweighted event generation by hit-or-miss against a maximum-weight estimate.
//!
//! Points `x ~ q` with weights `w = f/q` are accepted with probability
//! `min(1, w/w_max)`. Accepted events are distributed as `f/I` exactly when no weight
//! exceeds `w_max`; an accepted event with `w > w_max` ("over-weight") is
//! under-represented by the factor `w_max/w`. It keeps the event weight `w/w_max > 1`
//! in the output (every other event has weight 1), and the fraction of over-weight
//! events and their excess weight `Σ (w/w_max − 1) / N_events` are reported, so the
//! bias of treating the sample as unweighted can be judged. `w_max` is normally the
//! bootstrap maximum of the evaluation weights ([`super::estimate()`]).

use super::adapters::Target;
use super::batch::{draw_weighted, EvalOptions, InvalidCounts};
use super::proposal::Proposal;
use crate::error::{Error, Result};
use flowinfer_simulators::{row_seed, Integrand};
use rand::rngs::StdRng;
use rand::{Rng, RngCore, SeedableRng};
use serde::Serialize;
use std::io::Write;
use std::path::Path;

/// Settings of [`unweight`].
#[derive(Debug, Clone, PartialEq)]
pub struct UnweightConfig {
    /// Number of events to produce.
    pub events: usize,
    /// Points per flow batch.
    pub batch: usize,
    /// The maximum weight `w_max` to unweight against.
    pub max_weight: f64,
    /// Give up (an error) after this many trials.
    pub max_trials: usize,
    /// Seed of the accept/reject draws.
    pub seed: u64,
}

/// Unweighted events (module docs).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnweightedEvents {
    /// Columns per event.
    #[serde(skip)]
    pub dim: usize,
    /// Events in the flow's coordinates, row-major (`events × dim`).
    #[serde(skip)]
    pub points: Vec<f64>,
    /// Event weights: 1, or `w/w_max` for over-weight events.
    #[serde(skip)]
    pub weights: Vec<f64>,
    /// Events produced.
    pub events: usize,
    /// Points drawn (integrand calls).
    pub trials: usize,
    /// `events/trials`.
    pub acceptance: f64,
    /// The `w_max` used.
    pub max_weight_used: f64,
    /// The largest weight drawn.
    pub max_weight_seen: f64,
    /// Accepted events with `w > w_max`.
    pub over_weight_events: usize,
    /// `over_weight_events / events`.
    pub over_weight_fraction: f64,
    /// `Σ (w/w_max − 1)` over over-weight events, divided by `events`.
    pub excess_weight_fraction: f64,
}

/// Generate `cfg.events` unweighted events from `proposal` for `integrand`.
pub fn unweight(
    proposal: &Proposal<'_>,
    integrand: &dyn Integrand,
    cfg: &UnweightConfig,
    rng: &mut dyn RngCore,
    opts: &EvalOptions,
    invalid: &mut InvalidCounts,
) -> Result<UnweightedEvents> {
    if cfg.events == 0 || cfg.batch == 0 {
        return Err(Error::config(format!(
            "unweighting needs events ≥ 1 and batch ≥ 1, got {} and {}",
            cfg.events, cfg.batch
        )));
    }
    if !(cfg.max_weight.is_finite() && cfg.max_weight > 0.0) {
        return Err(Error::config(format!(
            "unweighting needs a positive finite maximum weight, got {} (is the integrand zero everywhere?)",
            cfg.max_weight
        )));
    }
    let d = proposal.flow().dim();
    let mut accept_rng = StdRng::seed_from_u64(cfg.seed);
    let mut out = UnweightedEvents {
        dim: d,
        points: Vec::with_capacity(cfg.events * d),
        weights: Vec::with_capacity(cfg.events),
        events: 0,
        trials: 0,
        acceptance: 0.0,
        max_weight_used: cfg.max_weight,
        max_weight_seen: 0.0,
        over_weight_events: 0,
        over_weight_fraction: 0.0,
        excess_weight_fraction: 0.0,
    };
    let mut excess = 0.0;
    'outer: while out.events < cfg.events {
        if out.trials >= cfg.max_trials {
            return Err(Error::config(format!(
                "unweighting gave up after {} trials with {} of {} events (acceptance {:.2e}); \
                 train the flow longer or ask for fewer events",
                out.trials,
                out.events,
                cfg.events,
                out.events as f64 / out.trials as f64
            )));
        }
        let b = draw_weighted(
            proposal,
            integrand,
            cfg.batch,
            rng,
            opts,
            invalid,
            "unweighting",
        )?;
        for (k, &w) in b.w.iter().enumerate() {
            out.trials += 1;
            out.max_weight_seen = out.max_weight_seen.max(w);
            if accept_rng.random::<f64>() * cfg.max_weight < w {
                out.points.extend_from_slice(&b.points[k * d..(k + 1) * d]);
                let r = w / cfg.max_weight;
                if r > 1.0 {
                    out.over_weight_events += 1;
                    excess += r - 1.0;
                    out.weights.push(r);
                } else {
                    out.weights.push(1.0);
                }
                out.events += 1;
                if out.events == cfg.events {
                    break 'outer;
                }
            }
        }
    }
    out.acceptance = out.events as f64 / out.trials as f64;
    out.over_weight_fraction = out.over_weight_events as f64 / out.events as f64;
    out.excess_weight_fraction = excess / out.events as f64;
    Ok(out)
}

/// Unweighted events in the user's coordinates.
#[derive(Debug, Clone, PartialEq)]
pub struct EventTable {
    /// Column names (`x1`, …, `xd`).
    pub columns: Vec<String>,
    /// Events, row-major.
    pub points: Vec<f64>,
    /// Event weights (1, or `w/w_max` for over-weight events).
    pub weights: Vec<f64>,
}

/// What [`unweighted_events`] is asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct UnweightRequest {
    /// Events wanted.
    pub events: usize,
    /// `w_max` to unweight against (normally the bootstrap maximum weight).
    pub max_weight: f64,
    /// The expected acceptance `mean(w)/w_max`; it sets the trial budget (20× the
    /// expected number of trials).
    pub efficiency: f64,
    /// Points per flow batch.
    pub batch: usize,
    /// Seed of the draws and of the accept/reject decisions.
    pub seed: u64,
}

/// `req.events` unweighted events from a trained proposal for `target`, in the user's
/// coordinates (through a warm-start grid, without a padding coordinate).
pub fn unweighted_events(
    proposal: &Proposal<'_>,
    target: &Target<'_>,
    req: &UnweightRequest,
    opts: &EvalOptions,
    invalid: &mut InvalidCounts,
) -> Result<(UnweightedEvents, EventTable)> {
    if req.efficiency.is_nan() || req.efficiency <= 0.0 {
        return Err(Error::config(
            "cannot unweight: every evaluation weight was zero (is the integrand zero everywhere?)",
        ));
    }
    let expected = req.events as f64 / req.efficiency.min(1.0);
    let max_trials = (20.0 * expected + req.batch as f64).min(4e9) as usize;
    let mut rng = StdRng::seed_from_u64(row_seed(req.seed, 3));
    let u = unweight(
        proposal,
        target.integrand(),
        &UnweightConfig {
            events: req.events,
            batch: req.batch,
            max_weight: req.max_weight,
            max_trials,
            seed: row_seed(req.seed, 4),
        },
        &mut rng,
        opts,
        invalid,
    )?;
    let table = EventTable {
        columns: (1..=target.user_dim()).map(|i| format!("x{i}")).collect(),
        points: target.to_user_points(&u.points)?,
        weights: u.weights.clone(),
    };
    Ok((u, table))
}

/// Write events (`rows × columns.len()` values, row-major) and their weights as CSV
/// with a header (`columns…,weight`), atomically: to a temporary file beside `path`,
/// then renamed.
pub fn write_events_csv(
    path: &Path,
    columns: &[String],
    points: &[f64],
    weights: &[f64],
) -> Result<()> {
    let d = columns.len();
    if d == 0 || points.len() != weights.len() * d {
        return Err(Error::config(format!(
            "events: {} values for {} events of {d} columns",
            points.len(),
            weights.len()
        )));
    }
    let write = |tmp: &Path| -> std::io::Result<()> {
        let mut f = std::io::BufWriter::new(std::fs::File::create(tmp)?);
        writeln!(f, "{},weight", columns.join(","))?;
        for (row, w) in points.chunks_exact(d).zip(weights) {
            for v in row {
                write!(f, "{v},")?;
            }
            writeln!(f, "{w}")?;
        }
        f.into_inner().map_err(|e| e.into_error())?.sync_all()
    };
    crate::atomic::write_atomic_with(path, |tmp| {
        write(tmp).map_err(|e| Error::file(path, e.to_string()))
    })
}
