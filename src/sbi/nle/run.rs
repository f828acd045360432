//! An NLE run directory (`flowinfer sbi` with an `[nle]` section): `model/` (the
//! conditional flow on x, its z-scoring of x as the first layer), `nle.json`
//! ([`NleRunInfo`]; written last, so its presence marks a complete NLE run),
//! `history.csv` (the last round's training), and with an `[nle] observation`
//! `draws.csv` (MCMC posterior draws for it, with R-hat and ESS in `nle.json`).
//! With SNLE rounds, `rounds/` holds the resumable state (`state.json`,
//! `round_<k>.json`; written as each round ends, so an interrupted run started again
//! with the same spec resumes, and one with another spec is refused).
//! `flowinfer posterior` reads it back ([`load_nle_run`], [`NleRun::draws`]).

use crate::atomic::write_dir_atomic;
use crate::config::JobConfig;
use crate::data::{read_table, ReadOptions, Table};
use crate::error::{Error, Result};
use crate::flow::Flow;
use crate::pipeline::write_history;
use crate::sbi::mcmc::{McmcConfig, McmcResult};
use crate::sbi::nle::rounds::train_snle_resumable;
use crate::sbi::nle::{fit_nle, NleConfig, NleLikelihood, NleTraining, SnleRound};
use crate::sbi::{NpePosterior, SbiConfig};
use crate::train::EpochRecord;
use candle_core::Device;
use flowinfer_simulators::{simulate_dataset_lenient, Simulator};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Convergence of one MCMC run, as stored in `nle.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MixingReport {
    /// Chains.
    pub chains: usize,
    /// Kept draws per chain.
    pub draws_per_chain: usize,
    /// Split R-hat per parameter.
    pub rhat: Vec<f64>,
    /// Bulk effective sample size per parameter.
    pub ess: Vec<f64>,
    /// The plain-words warning when the chains did not mix (absent: they did).
    pub warning: Option<String>,
    /// Seconds sampling.
    pub seconds: f64,
}

impl MixingReport {
    /// The report of `r` for parameters `names`.
    pub fn of(r: &McmcResult, names: &[String]) -> Self {
        Self {
            chains: r.chains.len(),
            draws_per_chain: r.chains.first().map_or(0, |c| c.len()),
            rhat: r.rhat.clone(),
            ess: r.ess.clone(),
            warning: r.warning(names),
            seconds: r.seconds,
        }
    }
}

/// The contents of `nle.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NleRunInfo {
    /// The spec the run was made with.
    pub spec: SbiConfig,
    /// Parameter names (θ columns).
    pub param_names: Vec<String>,
    /// Observation width.
    pub obs_dim: usize,
    /// θ z-scoring (the flow's context): means.
    pub theta_mean: Vec<f64>,
    /// θ z-scoring: standard deviations.
    pub theta_std: Vec<f64>,
    /// Simulations used for training and validation (all rounds).
    pub simulations_used: usize,
    /// Failed simulations (dropped).
    pub simulations_failed: usize,
    /// Epochs of the last fit.
    pub epochs: usize,
    /// Best validation loss of the last fit (mean −log q(x | θ), nats).
    pub best_val_loss: f64,
    /// Seconds for the whole run (simulation, training, sampling).
    pub seconds: f64,
    /// SNLE rounds (absent: one round on the prior).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rounds: Option<Vec<SnleRound>>,
    /// SNLE rounds taken from `rounds/` of an interrupted run instead of run again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resumed_rounds: Option<usize>,
    /// Mixing of the chains behind `draws.csv` (absent: no `[nle] observation`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mixing: Option<MixingReport>,
}

/// The `[nle]` section of a spec (an error when it has none).
fn section(spec: &SbiConfig) -> Result<&NleConfig> {
    spec.nle
        .as_ref()
        .ok_or_else(|| Error::config("the spec has no [nle] section"))
}

/// The first row of the `[nle] observation` file, `dim` values wide.
pub fn read_observation(nle: &NleConfig, dim: usize) -> Result<Option<Vec<f64>>> {
    let Some(path) = &nle.observation else {
        return Ok(None);
    };
    let (t, _) = read_table(path, &ReadOptions::default())?;
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
    Ok(Some(t.row(0).to_vec()))
}

/// Simulate, train (NLE, or SNLE with `[nle] rounds > 1`, which needs an
/// `observation`), sample the posterior of the `[nle] observation` when given, and
/// write the run to `out` (atomically). `on_epoch` and `on_round` see the progress.
pub fn run_nle(
    spec: &SbiConfig,
    out: &Path,
    mut on_epoch: impl FnMut(&EpochRecord),
    on_round: impl FnMut(&SnleRound),
) -> Result<NleRunInfo> {
    spec.validate()?;
    let spec = &spec.with_run_seed();
    let nle = section(spec)?;
    let sim = spec.simulator()?.build()?;
    let x_o = read_observation(nle, sim.obs_dim())?;
    let start = std::time::Instant::now();
    let names = sim.param_names();
    // SNLE keeps its rounds here as they complete; a rerun resumes from them.
    let state_dir = out.join("rounds");
    let mut resumed_rounds = None;
    let (t, rounds, posterior, failed): (NleTraining, _, _, usize) = if nle.rounds > 1 {
        let x_o = x_o.as_ref().ok_or_else(|| {
            Error::config("[nle] rounds > 1 (SNLE) needs observation = \"FILE.csv\" (the data the rounds target)")
        })?;
        let r = train_snle_resumable(
            sim.as_ref(),
            spec,
            nle,
            x_o,
            Some(&state_dir),
            on_epoch,
            on_round,
        )?;
        resumed_rounds = Some(r.resumed_rounds);
        let failed = r.rounds.iter().map(|round| round.failed).sum();
        (r.training, Some(r.rounds), Some(r.posterior), failed)
    } else {
        let d = simulate_dataset_lenient(
            sim.as_ref(),
            nle.per_round(spec.npe.simulations),
            spec.npe.seed,
        )?;
        let failed = d.failures.len();
        let t = fit_nle(
            sim.as_ref(),
            &d.thetas,
            &d.xs,
            d.failures,
            spec,
            &mut on_epoch,
        )?;
        let p = match &x_o {
            Some(x) => {
                Some(
                    t.likelihood
                        .sample_posterior(sim.as_ref(), x, &nle.mcmc, nle.candidates)?,
                )
            }
            None => None,
        };
        (t, None, p, failed)
    };
    let (theta_mean, theta_std) = t.likelihood.estimator().observation_scaling();
    let info = NleRunInfo {
        spec: spec.clone(),
        param_names: names.clone(),
        obs_dim: sim.obs_dim(),
        theta_mean: theta_mean.to_vec(),
        theta_std: theta_std.to_vec(),
        simulations_used: t.simulations_used,
        simulations_failed: failed,
        epochs: t.report.history.len(),
        best_val_loss: t.report.best_loss,
        seconds: start.elapsed().as_secs_f64(),
        rounds,
        resumed_rounds,
        mixing: posterior.as_ref().map(|p| MixingReport::of(p, &names)),
    };
    write_dir_atomic(out, |stage| {
        // Keep the rounds' state with the finished run (a rerun resumes from it).
        if state_dir.join("state.json").exists() {
            crate::sbi::run::copy_files(&state_dir, &stage.join("rounds"))?;
        }
        t.likelihood.estimator().flow().save(stage.join("model"))?;
        write_history(&stage.join("history.csv"), &t.report.history)?;
        if let Some(p) = &posterior {
            let flat: Vec<f64> = p.pooled().into_iter().flatten().collect();
            Table::new(names.clone(), flat)?.write_csv(&stage.join("draws.csv"))?;
        }
        crate::atomic::write_atomic(
            &stage.join("nle.json"),
            serde_json::to_string_pretty(&info)?.as_bytes(),
        )
    })?;
    Ok(info)
}

/// A loaded NLE run.
pub struct NleRun {
    /// What `nle.json` says.
    pub info: NleRunInfo,
    /// The simulator rebuilt from the spec.
    pub simulator: Box<dyn Simulator>,
    /// The trained likelihood.
    pub likelihood: NleLikelihood,
}

/// Whether `dir` holds an NLE run (an `nle.json`).
pub fn is_nle_run(dir: &Path) -> bool {
    dir.join("nle.json").is_file()
}

/// Load a run written by [`run_nle`] onto `device`.
pub fn load_nle_run(dir: &Path, device: &Device) -> Result<NleRun> {
    let path = dir.join("nle.json");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| Error::file(&path, format!("cannot read ({e}); is this an NLE run?")))?;
    let info: NleRunInfo = serde_json::from_str(&text)
        .map_err(|e| Error::file(&path, format!("malformed run file: {e}")))?;
    let simulator = info.spec.simulator()?.build()?;
    let flow = Flow::load(dir.join("model"), device)?;
    let x_names = (0..info.obs_dim).map(|j| format!("x{j}")).collect();
    let estimator = NpePosterior::new(
        flow,
        info.theta_mean.clone(),
        info.theta_std.clone(),
        x_names,
    )?;
    let likelihood = NleLikelihood::new(estimator, info.param_names.clone())?;
    Ok(NleRun {
        info,
        simulator,
        likelihood,
    })
}

impl NleRun {
    /// `n` MCMC posterior draws for every row of `observations` (the spec's
    /// `[nle.mcmc]` chains, each run long enough; observation `i` seeded `seed + i`),
    /// with each observation's mixing report. An `observation` column (1-based) comes
    /// first when there are several.
    pub fn draws(
        &self,
        observations: &Table,
        n: usize,
        seed: u64,
    ) -> Result<(Table, Vec<MixingReport>)> {
        let nle = section(&self.info.spec)?;
        if observations.cols() != self.info.obs_dim || observations.rows() == 0 {
            return Err(Error::config(format!(
                "observations: expected rows of {} values, found {} rows of {}",
                self.info.obs_dim,
                observations.rows(),
                observations.cols()
            )));
        }
        let several = observations.rows() > 1;
        let mut columns = self.info.param_names.clone();
        if several {
            columns.insert(0, "observation".into());
        }
        let (mut values, mut reports) = (Vec::new(), Vec::new());
        for i in 0..observations.rows() {
            let cfg = McmcConfig {
                draws: n.div_ceil(nle.mcmc.chains).max(4),
                seed: seed.wrapping_add(i as u64),
                ..nle.mcmc.clone()
            };
            let r = self.likelihood.sample_posterior(
                self.simulator.as_ref(),
                observations.row(i),
                &cfg,
                nle.candidates,
            )?;
            for row in r.pooled().iter().take(n) {
                if several {
                    values.push((i + 1) as f64);
                }
                values.extend_from_slice(row);
            }
            reports.push(MixingReport::of(&r, &self.info.param_names));
        }
        Ok((Table::new(columns, values)?, reports))
    }
}
