//! The `bands` job on a finished Bayesian run: events from weight draws, per-bin
//! bands, pulls and log-density spreads against reference events, written atomically;
//! and the events of several draws as one table (`sample --draws`).

use crate::atomic::{write_atomic, write_dir_atomic};
use crate::bayes::bands::{bands_csv, bins_for, compute_bands, data_pulls, Bands, DataPulls};
use crate::bayes::predict::{log_prob_spread, BayesModel, LogProbSpread};
use crate::data::Table;
use crate::error::{Error, Result};
use crate::pipeline::{DataSource, RunInfo};
use std::fmt::Write as _;
use std::path::Path;

/// Settings of [`run_bands`].
#[derive(Debug, Clone, PartialEq)]
pub struct BandsConfig {
    /// Weight draws M (default: the run's `[bayes] draws`, capped by the draws stored).
    pub draws: Option<usize>,
    /// Events generated per draw.
    pub events_per_draw: usize,
    /// Bins per column.
    pub bins: usize,
    /// Bins per axis of the 2-D pair bands (0 = none).
    pub pair_bins: usize,
    /// Seed of the weight draws and latent points.
    pub seed: u64,
    /// The same latent points for every draw (the spread is then the weights' alone).
    pub same_latent: bool,
}

impl Default for BandsConfig {
    fn default() -> Self {
        Self {
            draws: None,
            events_per_draw: 20_000,
            bins: 20,
            pair_bins: 6,
            seed: 0,
            same_latent: true,
        }
    }
}

/// The events the bands are compared with.
#[derive(Debug, Clone)]
pub enum Reference {
    /// None: bins from the generated events, no pulls.
    None,
    /// Events from a source (the run's columns are selected by name).
    Data(DataSource),
    /// The run's own test split.
    TestSplit,
}

/// What [`run_bands`] computed.
#[derive(Debug, Clone)]
pub struct BandsOutcome {
    /// Weight draws used.
    pub draws: usize,
    /// The bands.
    pub bands: Bands,
    /// Pulls of the reference histograms against the bands.
    pub pulls: Option<DataPulls>,
    /// Spread of `log p(x | w_m)` over draws for each reference event.
    pub spread: Option<LogProbSpread>,
    /// The reference events.
    pub reference: Option<Table>,
}

impl BandsOutcome {
    /// Mean over non-empty bins of every marginal of σ / mean.
    pub fn mean_relative_std(&self) -> f64 {
        let v: Vec<f64> = self
            .bands
            .marginals
            .iter()
            .flat_map(|m| {
                m.mean
                    .iter()
                    .zip(&m.std)
                    .filter(|(a, _)| **a > 0.0)
                    .map(|(a, s)| s / a)
            })
            .collect();
        v.iter().sum::<f64>() / v.len().max(1) as f64
    }

    /// Write `bands.json`, `bands.csv`, `pulls.json`, `logp.csv` and `plots/` to `out`
    /// (the directory appears whole or not at all).
    pub fn write(&self, out: &Path) -> Result<()> {
        let real = self.reference.as_ref().map(|t| t.to_rows());
        write_dir_atomic(out, |dir| {
            write_atomic(
                &dir.join("bands.json"),
                serde_json::to_string(&self.bands)?.as_bytes(),
            )?;
            write_atomic(&dir.join("bands.csv"), bands_csv(&self.bands).as_bytes())?;
            if let Some(p) = &self.pulls {
                write_atomic(
                    &dir.join("pulls.json"),
                    serde_json::to_string_pretty(p)?.as_bytes(),
                )?;
            }
            if let Some(s) = &self.spread {
                let mut csv = String::from("row,log_p_predictive,log_p_mean,log_p_std\n");
                for i in 0..s.mean.len() {
                    let _ = writeln!(csv, "{i},{},{},{}", s.predictive[i], s.mean[i], s.std[i]);
                }
                write_atomic(&dir.join("logp.csv"), csv.as_bytes())?;
            }
            let pdir = dir.join("plots");
            std::fs::create_dir_all(&pdir).map_err(|e| Error::file(&pdir, e.to_string()))?;
            crate::plot::bands::band_histograms(
                pdir.join("bands.png"),
                &self.bands,
                real.as_deref(),
            )?;
            crate::plot::bands::relative_uncertainty(pdir.join("rel_uncertainty.png"), &self.bands)
        })
    }
}

/// Bands of the Bayesian run `model` (with its `run.json` `info`) against `reference`.
pub fn run_bands(
    info: &RunInfo,
    model: &BayesModel,
    reference: &Reference,
    cfg: &BandsConfig,
) -> Result<BandsOutcome> {
    let draws = cfg
        .draws
        .unwrap_or_else(|| info.spec.bayes.as_ref().map_or(1, |b| b.draws));
    let draws = match (cfg.draws, model.available_draws()) {
        (None, Some(k)) => draws.min(k),
        _ => draws,
    };
    model.check_draws(draws)?;
    let reference = match reference {
        Reference::None => None,
        Reference::Data(src) => Some(src.load(Some(info.columns.clone()), false)?.table),
        Reference::TestSplit => Some(info.test_split()?),
    };
    let events = model.generate(cfg.events_per_draw, draws, cfg.seed, cfg.same_latent)?;
    let cols = info.columns.len();
    let bins = match &reference {
        Some(t) => bins_for(&t.to_rows(), cols, cfg.bins)?,
        None => bins_for(&events[0], cols, cfg.bins)?,
    };
    let bands = compute_bands(&info.columns, &events, &bins, cfg.pair_bins)?;
    let pulls = reference.as_ref().map(|t| data_pulls(&bands, &t.to_rows()));
    let spread = match &reference {
        Some(t) => {
            let x = t.to_tensor(model.flow.dtype(), model.flow.device())?;
            Some(log_prob_spread(&model.log_prob_draws(&x, draws, cfg.seed)?))
        }
        None => None,
    };
    Ok(BandsOutcome {
        draws,
        bands,
        pulls,
        spread,
        reference,
    })
}

/// `n` events from each of `draws` weight draws as one table with a trailing `draw`
/// column (0-based draw index).
pub fn draws_table(
    info: &RunInfo,
    model: &BayesModel,
    n: usize,
    draws: usize,
    seed: u64,
) -> Result<Table> {
    let events = model.generate(n, draws, seed, false)?;
    let mut cols = info.columns.clone();
    cols.push("draw".into());
    let mut values = Vec::with_capacity(n * draws * cols.len());
    for (m, ev) in events.iter().enumerate() {
        for r in ev {
            values.extend_from_slice(r);
            values.push(m as f64);
        }
    }
    Table::new(cols, values)
}
