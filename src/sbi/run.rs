//! An SBI run directory: `flowinfer sbi` writes it, `posterior` and `diagnose` read it.
//!
//! Layout: `model/` (the conditional flow on θ, z-scoring of θ included as its first
//! layer), `sbi.json` (the spec, parameter names, the observation z-scoring, simulation
//! and training figures; written last, so its presence marks a complete run),
//! `history.csv` and `plots/loss.png`.

use crate::atomic::{write_atomic, write_dir_atomic};
use crate::config::JobConfig;
use crate::error::{Error, Result};
use crate::flow::Flow;
use crate::pipeline::write_history;
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
    /// Seconds spent simulating.
    pub simulation_seconds: f64,
    /// Seconds spent training.
    pub train_seconds: f64,
    /// Epochs run.
    pub epochs: usize,
    /// Epoch whose weights were kept.
    pub best_epoch: usize,
    /// Best validation loss (mean −log q(θ | x) in nats).
    pub best_val_loss: f64,
    /// Trainable parameters.
    pub parameters: usize,
}

/// A loaded run: spec, simulator and posterior.
pub struct SbiRun {
    /// What `sbi.json` says.
    pub info: SbiRunInfo,
    /// The simulator rebuilt from the spec.
    pub simulator: Box<dyn Simulator>,
    /// The trained posterior.
    pub posterior: NpePosterior,
}

/// Simulate, train and write the run to `out`; `on_epoch` sees every epoch.
pub fn run_sbi(
    spec: &SbiConfig,
    out: &Path,
    on_epoch: impl FnMut(&EpochRecord),
) -> Result<SbiRunInfo> {
    spec.validate()?;
    let spec = &spec.with_run_seed();
    let sim = crate::cluster::simulator_for_run(spec, out)?;
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| Error::file(parent, e.to_string()))?;
    }
    let start = std::time::Instant::now();
    let t = train_npe(sim.as_ref(), spec, on_epoch)?;
    let total = start.elapsed().as_secs_f64();
    let train_seconds: f64 = t.report.history.iter().map(|r| r.seconds).sum();
    let (x_mean, x_std) = t.posterior.observation_scaling();
    let info = SbiRunInfo {
        spec: spec.clone(),
        param_names: sim.param_names(),
        obs_dim: sim.obs_dim(),
        x_mean: x_mean.to_vec(),
        x_std: x_std.to_vec(),
        simulations: spec.npe.simulations,
        simulations_used: t.simulations_used,
        simulations_failed: t.failures.len(),
        failures: t
            .failures
            .iter()
            .take(KEPT_FAILURES)
            .map(|f| f.to_string())
            .collect(),
        simulation_seconds: (total - train_seconds).max(0.0),
        train_seconds,
        epochs: t.report.history.len(),
        best_epoch: t.report.best_epoch,
        best_val_loss: t.report.best_loss,
        parameters: t.posterior.flow().params().num_parameters(),
    };
    write_dir_atomic(out, |out| write_run(out, spec, &info, &t))?;
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
    )?;
    Ok(SbiRun {
        info,
        simulator,
        posterior,
    })
}
