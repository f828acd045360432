//! Sequential NPE with truncated proposals (TSNPE, Deistler et al. 2022,
//! "Truncated proposals for scalable and hassle-free simulation-based inference").
//!
//! Round 1 simulates from the prior; every later round from the prior truncated to the
//! highest-density region of the current estimate `q(θ | x_o)` ([`truncate`]). Because
//! the truncated prior is proportional to the prior wherever the posterior has mass,
//! the plain NPE loss on all rounds' pairs stays correct (no leakage correction). The
//! result targets one observation `x_o`: it is not amortised.
//!
//! Each round's pairs and report are saved in a state directory ([`state`]); a run
//! started again with the same spec and observation resumes after the last completed
//! round, one with another spec is refused.

pub mod state;
pub mod truncate;

pub use state::{load_state, save_round, RoundData, RoundsState};
pub use truncate::{hpd_threshold, sample_truncated_prior};

use crate::config::JobConfig;
use crate::error::{Error, Result};
use crate::sbi::{fit_npe, NpeTraining, SbiConfig};
use crate::train::EpochRecord;
use flowinfer_simulators::{RowFailure, Simulator};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The `[rounds]` section of an sbi spec.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RoundsConfig {
    /// Number of rounds (1 = plain NPE on the prior).
    pub rounds: usize,
    /// Simulations per round (`[npe] simulations` is not used with `[rounds]`).
    pub simulations: usize,
    /// Posterior mass left outside the truncation region (the quantile of `log q`).
    pub hpd_level: f64,
    /// Posterior draws that estimate the threshold.
    pub threshold_draws: usize,
    /// Most prior draws examined per round before giving up.
    pub max_prior_draws: usize,
    /// The observation the rounds target: a CSV file with a header (first row used).
    pub observation: Option<PathBuf>,
}

impl Default for RoundsConfig {
    fn default() -> Self {
        Self {
            rounds: 4,
            simulations: 2500,
            hpd_level: 1e-4,
            threshold_draws: 10_000,
            max_prior_draws: 20_000_000,
            observation: None,
        }
    }
}

impl RoundsConfig {
    /// Check the values serde cannot.
    pub fn validate(&self) -> Result<()> {
        if self.rounds == 0 || self.simulations < 20 {
            return Err(Error::config(format!(
                "[rounds] needs rounds ≥ 1 and simulations ≥ 20 per round, got {} and {}",
                self.rounds, self.simulations
            )));
        }
        if !(self.hpd_level > 0.0 && self.hpd_level < 1.0) {
            return Err(Error::config(format!(
                "[rounds] hpd_level must lie in (0, 1), got {}",
                self.hpd_level
            )));
        }
        if self.threshold_draws < 100 || self.max_prior_draws < self.simulations {
            return Err(Error::config(format!(
                "[rounds] threshold_draws must be at least 100 and max_prior_draws at least simulations, got {} and {}",
                self.threshold_draws, self.max_prior_draws
            )));
        }
        Ok(())
    }

    /// Read the observation file (first row).
    pub fn read_observation(&self, dim: usize) -> Result<Vec<f64>> {
        let path = self.observation.as_ref().ok_or_else(|| {
            Error::config("[rounds] needs observation = \"FILE.csv\" (the data the rounds target)")
        })?;
        let (t, _) = crate::data::read_table(path, &crate::data::ReadOptions::default())?;
        if t.cols() != dim || t.rows() == 0 {
            return Err(Error::file(
                path,
                format!(
                    "expected an observation row of {dim} values, found {} rows of {}",
                    t.rows(),
                    t.cols()
                ),
            ));
        }
        Ok(t.row(0).to_vec())
    }
}

/// What one round did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoundReport {
    /// Round number (1-based).
    pub round: usize,
    /// Simulations run this round.
    pub simulations: usize,
    /// Of these, simulations that failed (dropped).
    pub failed: usize,
    /// Fraction of prior draws inside the truncated prior (1 in round 1).
    pub accepted_fraction: f64,
    /// The truncation threshold on `log q` (none in round 1).
    pub threshold: Option<f64>,
    /// Pairs trained on after this round (all rounds).
    pub total_pairs: usize,
    /// Epochs of this round's training.
    pub epochs: usize,
    /// Best validation loss (mean −log q(θ | x) on held-out pairs of all rounds).
    pub best_val_loss: f64,
    /// Seconds simulating (with the truncation) this round.
    pub simulation_seconds: f64,
    /// Seconds training this round.
    pub train_seconds: f64,
}

/// The result of [`train_tsnpe`].
#[derive(Debug)]
pub struct TsnpeTraining {
    /// The last round's training (its posterior targets `x_o`).
    pub training: NpeTraining,
    /// Per-round reports (resumed rounds included).
    pub rounds: Vec<RoundReport>,
    /// Round 1's observations: draws from the prior predictive.
    pub prior_predictive: Vec<Vec<f64>>,
    /// Rounds taken from the state directory instead of run.
    pub resumed_rounds: usize,
}

/// Pool all rounds' pairs and shuffle them (seeded), so validation pairs come from
/// every round.
fn pooled(data: &[RoundData], seed: u64) -> (Vec<Vec<f64>>, Vec<Vec<f64>>) {
    let mut pairs: Vec<(Vec<f64>, Vec<f64>)> = data
        .iter()
        .flat_map(|d| d.thetas.iter().cloned().zip(d.xs.iter().cloned()))
        .collect();
    pairs.shuffle(&mut rand::rngs::StdRng::seed_from_u64(seed));
    pairs.into_iter().unzip()
}

/// The seed of round `round` (from 1) of `cfg` (its run seed folded in).
fn round_seed(cfg: &SbiConfig, round: usize) -> u64 {
    cfg.with_run_seed()
        .npe
        .seed
        .wrapping_add(1000 * round as u64)
}

/// The simulation seed of round `round` (from 1) of a TSNPE run of `cfg`: what
/// [`train_tsnpe`] passes to [`Simulator::simulate_rows`], and how an executor's
/// simulator recognises the round (its work directory `WORK/round-K/`).
///
/// ```
/// use flowinfer::sbi::rounds::round_simulation_seed;
/// use flowinfer::sbi::SbiConfig;
/// let cfg = SbiConfig::default();
/// assert_ne!(round_simulation_seed(&cfg, 1), round_simulation_seed(&cfg, 2));
/// ```
pub fn round_simulation_seed(cfg: &SbiConfig, round: usize) -> u64 {
    round_seed(cfg, round) ^ 0x51
}

/// TSNPE for observation `x_o`: `[rounds]` of `cfg` (required) with the `[npe]`, `[flow]`
/// and `[train]` settings for every round's training. With `state_dir`, completed rounds
/// are saved there and a run with the same spec resumes from them. `on_round` sees each
/// round's report as it completes.
///
/// ```
/// use flowinfer::sbi::rounds::{train_tsnpe, RoundsConfig};
/// use flowinfer::sbi::SbiConfig;
/// use flowinfer_simulators::TwoMoons;
///
/// let mut cfg = SbiConfig::default();
/// cfg.rounds = Some(RoundsConfig { rounds: 2, simulations: 300, ..Default::default() });
/// (cfg.flow.blocks, cfg.flow.hidden, cfg.train.epochs) = (2, 16, 3);
/// let t = train_tsnpe(&TwoMoons, &cfg, &[0.0, 0.0], None, |_| {}, |_| {})?;
/// assert_eq!(t.rounds.len(), 2);
/// assert!(t.rounds[1].accepted_fraction <= 1.0);
/// # Ok::<(), flowinfer::Error>(())
/// ```
pub fn train_tsnpe(
    sim: &dyn Simulator,
    cfg: &SbiConfig,
    x_o: &[f64],
    state_dir: Option<&Path>,
    mut on_epoch: impl FnMut(&EpochRecord),
    mut on_round: impl FnMut(&RoundReport),
) -> Result<TsnpeTraining> {
    cfg.validate_training()?;
    let cfg = &cfg.with_run_seed();
    let rc = cfg
        .rounds
        .clone()
        .ok_or_else(|| Error::config("train_tsnpe needs a [rounds] section"))?;
    rc.validate()?;
    if x_o.len() != sim.obs_dim() {
        return Err(Error::config(format!(
            "the observation has {} values, the simulator {} produces {}",
            x_o.len(),
            sim.name(),
            sim.obs_dim()
        )));
    }
    let (mut reports, mut data) = match state_dir {
        Some(d) => load_state(d, cfg, x_o)?,
        None => (Vec::new(), Vec::new()),
    };
    if reports.len() > rc.rounds {
        return Err(Error::config(format!(
            "the state holds {} rounds, the spec asks for {}",
            reports.len(),
            rc.rounds
        )));
    }
    let resumed_rounds = reports.len();
    let train = |data: &[RoundData], on_epoch: &mut dyn FnMut(&EpochRecord)| {
        let (thetas, xs) = pooled(data, cfg.npe.seed ^ 0x75e);
        fit_npe(sim, thetas, xs, Vec::<RowFailure>::new(), cfg, on_epoch)
    };
    // Resuming after round k: the estimate of round k again (training is deterministic
    // on the CPU for a given seed).
    let mut current = if resumed_rounds > 0 {
        Some(train(&data, &mut on_epoch)?)
    } else {
        None
    };
    for round in resumed_rounds + 1..=rc.rounds {
        let seed = round_seed(cfg, round);
        let start = std::time::Instant::now();
        let (thetas, accepted_fraction, threshold) = match &current {
            None => {
                let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
                (sim.sample_prior(rc.simulations, &mut rng), 1.0, None)
            }
            Some(t) => {
                let th = hpd_threshold(&t.posterior, x_o, rc.threshold_draws, rc.hpd_level, seed)?;
                let (thetas, f) = sample_truncated_prior(
                    sim,
                    &t.posterior,
                    x_o,
                    th,
                    rc.simulations,
                    rc.max_prior_draws,
                    round,
                    seed ^ 0x7a,
                )?;
                (thetas, f, Some(th))
            }
        };
        let rows = sim.simulate_rows(&thetas, round_simulation_seed(cfg, round))?;
        let mut d = RoundData::default();
        let mut failed = 0;
        for (t, r) in thetas.into_iter().zip(rows) {
            match r {
                Ok(x) => {
                    d.thetas.push(t);
                    d.xs.push(x);
                }
                Err(_) => failed += 1,
            }
        }
        let simulation_seconds = start.elapsed().as_secs_f64();
        data.push(d);
        let t = train(&data, &mut on_epoch)?;
        let report = RoundReport {
            round,
            simulations: rc.simulations,
            failed,
            accepted_fraction,
            threshold,
            total_pairs: data.iter().map(|d| d.thetas.len()).sum(),
            epochs: t.report.history.len(),
            best_val_loss: t.report.best_loss,
            simulation_seconds,
            train_seconds: t.report.history.iter().map(|r| r.seconds).sum(),
        };
        on_round(&report);
        reports.push(report);
        if let Some(dir) = state_dir {
            let state = RoundsState {
                spec: cfg.clone(),
                observation: x_o.to_vec(),
                rounds: reports.clone(),
            };
            save_round(dir, &state, data.last().expect("pushed above"))?;
        }
        current = Some(t);
    }
    Ok(TsnpeTraining {
        training: current.expect("at least one round ran or was resumed"),
        rounds: reports,
        prior_predictive: data.first().map(|d| d.xs.clone()).unwrap_or_default(),
        resumed_rounds,
    })
}

#[cfg(test)]
mod tests;
