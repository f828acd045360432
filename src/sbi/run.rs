//! An SBI run directory: `flowinfer sbi` writes it, `posterior` and `diagnose` read it.
//!
//! Layout: `model/` (the conditional flow on θ, z-scoring of θ included as its first
//! layer), `sbi.json` (the spec, parameter names, the observation z-scoring, simulation
//! and training figures; written last, so its presence marks a complete run),
//! `history.csv`, `plots/loss.png`, and with a `[misspecification]` section
//! `misspecification/` (the flow on x and its held-out log densities).

use crate::atomic::{write_atomic, write_dir_atomic};
use crate::config::JobConfig;
use crate::error::{Error, Result};
use crate::flow::Flow;
use crate::pipeline::write_history;
use crate::sbi::diagnostics::MisspecificationCheck;
use crate::sbi::{train_npe, NpePosterior, SbiConfig};
use crate::train::EpochRecord;
use candle_core::Device;
use flowinfer_simulators::Simulator;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// At most this many failure reasons are kept in `sbi.json`.
const KEPT_FAILURES: usize = 20;

/// The contents of `sbi.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SbiRunInfo {
    /// The spec the run was made with.
    pub spec: SbiConfig,
    /// Parameter names (θ columns).
    pub param_names: Vec<String>,
    /// Observation width.
    pub obs_dim: usize,
    /// Observation z-scoring: means.
    pub x_mean: Vec<f64>,
    /// Observation z-scoring: standard deviations.
    pub x_std: Vec<f64>,
    /// Simulations requested.
    pub simulations: usize,
    /// Simulations used for training and validation.
    pub simulations_used: usize,
    /// Failed simulations (dropped).
    pub simulations_failed: usize,
    /// The first failure reasons (`row N: reason`).
    pub failures: Vec<String>,
    /// Seconds spent simulating (with `[rounds]`: all rounds, truncation included).
    pub simulation_seconds: f64,
    /// Seconds spent training (with `[rounds]`: all rounds).
    pub train_seconds: f64,
    /// Epochs run.
    pub epochs: usize,
    /// Epoch whose weights were kept.
    pub best_epoch: usize,
    /// Best validation loss (mean −log q(θ | x) in nats).
    pub best_val_loss: f64,
    /// Trainable parameters.
    pub parameters: usize,
    /// Per-round reports of a sequential run (`[rounds]`; absent: amortised NPE).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rounds: Option<Vec<crate::sbi::rounds::RoundReport>>,
    /// Rounds taken from an interrupted earlier run in the same directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resumed_rounds: Option<usize>,
    /// Seconds spent fitting the misspecification check (absent: no check).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub misspecification_seconds: Option<f64>,
}

/// A loaded run: spec, simulator and posterior.
pub struct SbiRun {
    /// What `sbi.json` says.
    pub info: SbiRunInfo,
    /// The simulator rebuilt from the spec.
    pub simulator: Box<dyn Simulator>,
    /// The trained posterior.
    pub posterior: NpePosterior,
    /// The misspecification check, when the run has one (`misspecification/`).
    pub misspecification: Option<MisspecificationCheck>,
}

/// The files of `from` copied into `to` (created).
/// Copy the plain files of `from` into `to` (created).
pub(crate) fn copy_files(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to).map_err(|e| Error::file(to, e.to_string()))?;
    for e in std::fs::read_dir(from).map_err(|e| Error::file(from, e.to_string()))? {
        let p = e.map_err(|e| Error::file(from, e.to_string()))?.path();
        if p.is_file() {
            let name = p.file_name().unwrap_or_default();
            std::fs::copy(&p, to.join(name)).map_err(|e| Error::file(&p, e.to_string()))?;
        }
    }
    Ok(())
}

/// Simulate, train and write the run to `out`; `on_epoch` sees every epoch. With
/// `[rounds]` (TSNPE), `on_round` sees every round's report, the rounds' state is kept
/// in `out/rounds/` as they complete, and a run interrupted there resumes from it.
pub fn run_sbi(
    spec: &SbiConfig,
    out: &Path,
    on_epoch: impl FnMut(&EpochRecord),
) -> Result<SbiRunInfo> {
    run_sbi_with_rounds(spec, out, on_epoch, |_| {})
}

/// [`run_sbi`] with a callback for each completed round of a `[rounds]` spec.
pub fn run_sbi_with_rounds(
    spec: &SbiConfig,
    out: &Path,
    on_epoch: impl FnMut(&EpochRecord),
    on_round: impl FnMut(&crate::sbi::rounds::RoundReport),
) -> Result<SbiRunInfo> {
    spec.validate()?;
    let spec = &spec.with_run_seed();
    let sim = crate::cluster::simulator_for_run(spec, out)?;
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| Error::file(parent, e.to_string()))?;
    }
    let start = std::time::Instant::now();
    let state_dir = out.join("rounds");
    let (t, rounds, prior_xs) = match &spec.rounds {
        Some(r) => {
            let x_o = r.read_observation(sim.obs_dim())?;
            let ts = crate::sbi::rounds::train_tsnpe(
                sim.as_ref(),
                spec,
                &x_o,
                Some(&state_dir),
                on_epoch,
                on_round,
            )?;
            let resumed = ts.resumed_rounds;
            (
                ts.training,
                Some((ts.rounds, resumed)),
                Some(ts.prior_predictive),
            )
        }
        None => (train_npe(sim.as_ref(), spec, on_epoch)?, None, None),
    };
    let total = start.elapsed().as_secs_f64();
    let check = match &spec.misspecification {
        Some(m) => {
            let s = std::time::Instant::now();
            // The check needs prior-predictive draws: with rounds, round 1's only.
            let xs = prior_xs.as_deref().unwrap_or(&t.xs);
            let n_fit = match &prior_xs {
                Some(p) => {
                    p.len() - (p.len() as f64 * spec.npe.validation_fraction).round() as usize
                }
                None => t.n_train,
            };
            let (c, _) =
                MisspecificationCheck::fit(&xs[..n_fit], &xs[n_fit..], m, &spec.device()?)?;
            Some((c, s.elapsed().as_secs_f64()))
        }
        None => None,
    };
    // With rounds: every round's simulation (truncation included) and training.
    let (simulation_seconds, train_seconds) = match &rounds {
        Some((r, _)) => (
            r.iter().map(|r| r.simulation_seconds).sum(),
            r.iter().map(|r| r.train_seconds).sum(),
        ),
        None => {
            let train: f64 = t.report.history.iter().map(|r| r.seconds).sum();
            ((total - train).max(0.0), train)
        }
    };
    let (x_mean, x_std) = t.posterior.observation_scaling();
    let info = SbiRunInfo {
        spec: spec.clone(),
        param_names: sim.param_names(),
        obs_dim: sim.obs_dim(),
        x_mean: x_mean.to_vec(),
        x_std: x_std.to_vec(),
        simulations: match &spec.rounds {
            Some(r) => r.rounds * r.simulations,
            None => spec.npe.simulations,
        },
        simulations_used: t.simulations_used,
        simulations_failed: t.failures.len(),
        failures: t
            .failures
            .iter()
            .take(KEPT_FAILURES)
            .map(|f| f.to_string())
            .collect(),
        simulation_seconds,
        train_seconds,
        epochs: t.report.history.len(),
        best_epoch: t.report.best_epoch,
        best_val_loss: t.report.best_loss,
        parameters: t.posterior.flow().params().num_parameters(),
        misspecification_seconds: check.as_ref().map(|c| c.1),
        resumed_rounds: rounds.as_ref().map(|r| r.1),
        rounds: rounds.map(|r| r.0),
    };
    write_dir_atomic(out, |stage| {
        // Keep the rounds' state with the finished run (a rerun resumes from it).
        if state_dir.join("state.json").exists() {
            copy_files(&state_dir, &stage.join("rounds"))?;
        }
        let out = stage;
        if let Some((c, _)) = &check {
            c.save(&out.join("misspecification"))?;
        }
        write_run(out, spec, &info, &t)
    })?;
    Ok(info)
}

fn write_run(
    out: &Path,
    spec: &SbiConfig,
    info: &SbiRunInfo,
    t: &crate::sbi::NpeTraining,
) -> Result<()> {
    t.posterior.flow().save(out.join("model"))?;
    write_history(&out.join("history.csv"), &t.report.history)?;
    if let Some(r) = &info.rounds {
        write_atomic(
            &out.join("rounds.json"),
            serde_json::to_string_pretty(r)?.as_bytes(),
        )?;
    }
    let plots = out.join("plots");
    std::fs::create_dir_all(&plots).map_err(|e| Error::file(&plots, e.to_string()))?;
    let train: Vec<f64> = t.report.history.iter().map(|r| r.train_loss).collect();
    let val: Vec<f64> = t.report.history.iter().filter_map(|r| r.val_loss).collect();
    crate::plot::loss_curves(
        plots.join("loss.png"),
        &[("train", &train[..]), ("validation", &val[..])],
        &format!("NPE on {}", spec.simulator()?.name),
        "−log q(θ | x) (nats)",
    )?;
    write_atomic(
        &out.join("sbi.json"),
        serde_json::to_string_pretty(info)?.as_bytes(),
    )
}

/// Load a run written by [`run_sbi`] onto `device`.
pub fn load_sbi_run(dir: &Path, device: &Device) -> Result<SbiRun> {
    let path = dir.join("sbi.json");
    let text = std::fs::read_to_string(&path).map_err(|e| {
        Error::file(
            &path,
            format!("cannot read ({e}); is this a directory written by `flowinfer sbi`?"),
        )
    })?;
    let info: SbiRunInfo = serde_json::from_str(&text)
        .map_err(|e| Error::file(&path, format!("malformed run file: {e}")))?;
    let simulator = info.spec.simulator()?.build()?;
    let flow = Flow::load(dir.join("model"), device)?;
    let posterior = NpePosterior::new(
        flow,
        info.x_mean.clone(),
        info.x_std.clone(),
        info.param_names.clone(),
    )?
    .with_log_observations(info.spec.npe.log_observations);
    let check_dir = dir.join("misspecification");
    let misspecification = if check_dir.is_dir() {
        Some(MisspecificationCheck::load(&check_dir, device)?)
    } else {
        None
    };
    Ok(SbiRun {
        info,
        simulator,
        posterior,
        misspecification,
    })
}
