//! The run directory of `flowinfer integrate`, and reading it back for
//! `flowinfer unweight --run`.
//!
//! ```text
//! DIR/result.json       headline figures (ResultJson): the flow's, and VEGAS's at the
//!                       same number of calls under `vegas` when it ran
//! DIR/report.json       everything (IntegrationReport)
//! DIR/history.csv       the training steps
//! DIR/weights.png, training.png, marginals.png
//! DIR/spec.toml         the effective spec (file and command-line overrides): rebuilds
//!                       the integrand and the flow
//! DIR/model/            the trained flow (flow.json + flow.safetensors)
//! DIR/vegas_grid.json   the warm-start grid, when the flow was composed with one
//! DIR/events.csv        unweighted events, when asked for without another file name
//! ```
//!
//! The directory is staged beside `DIR` and moved into place complete, so a failure
//! leaves no half-written run (and an earlier complete run is replaced only by a
//! complete one).

use super::adapters::Target;
use super::config::IntegrateConfig;
use super::estimate::WeightStats;
use super::flow_proposal::UnitFlow;
use super::{plots, report, unweight, IntegrationOutcome};
use crate::atomic::{write_atomic, write_dir_atomic};
use crate::error::{Error, Result};
use crate::flow::Flow;
use candle_core::Device;
use flowinfer_simulators::VegasGrid;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// One estimator's headline figures in `result.json` (definitions in
/// `docs/INTEGRATION.md` and in `report.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResultFigures {
    /// `mean(w)` over the fresh evaluation samples.
    pub estimate: f64,
    /// `std(w)/√N`.
    pub std_error: f64,
    /// Relative std per event `std(w)/mean(w)`.
    pub rel_std: f64,
    /// Effective sample size `(Σw)²/Σw²` of the evaluation samples.
    pub ess: f64,
    /// `ESS/N` (absent in runs written before it was recorded).
    #[serde(default)]
    pub ess_fraction: f64,
    /// Pareto-k̂ of the weights (PSIS); `null` when it cannot be estimated or the run
    /// was written before it was recorded.
    #[serde(default)]
    pub pareto_k: Option<f64>,
    /// `mean(w)/max(w)` over the `N` evaluation samples.
    pub unweighting_efficiency: f64,
    /// `mean(w)/w_boot` (bootstrap maximum, see `report.json`).
    pub unweighting_efficiency_bootstrap: f64,
    /// `w_boot`, what unweighting runs against.
    pub bootstrap_max_weight: f64,
    /// Evaluation samples `N`.
    pub samples: usize,
    /// Integrand calls: warm start + training (adaptation for VEGAS) + evaluation.
    pub calls: usize,
    /// Seconds of the same stages.
    pub seconds: f64,
    /// `(estimate − exact)/std_error` when the exact value is known.
    pub pull: Option<f64>,
}

impl ResultFigures {
    fn new(s: &WeightStats, calls: usize, seconds: f64, pull: Option<f64>) -> Self {
        Self {
            estimate: s.estimate,
            std_error: s.std_error,
            rel_std: s.rel_std,
            ess: s.ess,
            ess_fraction: s.ess_fraction,
            pareto_k: s.pareto_k.is_finite().then_some(s.pareto_k),
            unweighting_efficiency: s.unweighting_efficiency,
            unweighting_efficiency_bootstrap: s.unweighting_efficiency_bootstrap,
            bootstrap_max_weight: s.bootstrap_max_weight,
            samples: s.n,
            calls,
            seconds,
            pull,
        }
    }
}

/// `result.json`: the flow's figures at the top level, VEGAS's under `vegas`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResultJson {
    /// Integrand name.
    pub integrand: String,
    /// Its dimension.
    pub dim: usize,
    /// The exact value, when known.
    pub exact: Option<f64>,
    /// The flow's figures.
    #[serde(flatten)]
    pub flow: ResultFigures,
    /// VEGAS at the same number of calls (`--compare-vegas`).
    pub vegas: Option<ResultFigures>,
    /// Reliability warnings (see `report.json`).
    pub warnings: Vec<String>,
    /// Whether the flow's estimate can be trusted (runs written before it was recorded:
    /// true).
    #[serde(default = "yes")]
    pub trusted: bool,
    /// Why not, in plain words.
    #[serde(default)]
    pub reasons: Vec<String>,
}

fn yes() -> bool {
    true
}

impl ResultJson {
    /// The headline figures of an integration.
    pub fn from_outcome(o: &IntegrationOutcome) -> Self {
        let r = &o.report;
        let c = &r.calls;
        let s = &r.seconds;
        Self {
            integrand: r.integrand.clone(),
            dim: r.dim,
            exact: r.exact,
            flow: ResultFigures::new(
                &r.stats,
                c.warm_start + c.training + c.evaluation,
                s.warm_start + s.training + s.evaluation,
                r.pull,
            ),
            vegas: r
                .vegas
                .as_ref()
                .map(|v| ResultFigures::new(&v.stats, v.calls, v.seconds, v.pull)),
            warnings: r.warnings.clone(),
            trusted: r.trusted,
            reasons: r.reasons.clone(),
        }
    }
}

/// Write the whole run directory `dir` (module docs) for `outcome` of `spec`; the
/// unweighted events go to `events_out`, or to `DIR/events.csv` when it is `None`.
pub fn write_run(
    outcome: &IntegrationOutcome,
    spec: &IntegrateConfig,
    dir: &Path,
    events_out: Option<&Path>,
) -> Result<()> {
    write_dir_atomic(dir, |stage| {
        fill_run_dir(outcome, spec, stage, events_out.is_none())
    })?;
    if let (Some(path), Some(ev)) = (events_out, &outcome.events) {
        unweight::write_events_csv(path, &ev.columns, &ev.points, &ev.weights)?;
    }
    Ok(())
}

/// Fill `dir` with the files of a single-proposal run (module docs).
pub(crate) fn fill_run_dir(
    outcome: &IntegrationOutcome,
    spec: &IntegrateConfig,
    dir: &Path,
    events_inside: bool,
) -> Result<()> {
    write_atomic(
        &dir.join("result.json"),
        &json(&ResultJson::from_outcome(outcome))?,
    )?;
    write_atomic(&dir.join("report.json"), &json(&outcome.report)?)?;
    let spec_text = toml::to_string_pretty(spec)
        .map_err(|e| Error::config(format!("cannot write the effective spec: {e}")))?;
    write_atomic(&dir.join("spec.toml"), spec_text.as_bytes())?;
    outcome.flow.flow().save(dir.join("model"))?;
    if let Some(g) = &outcome.grid {
        let edges: Vec<&[f64]> = (0..g.dim()).filter_map(|d| g.edges(d)).collect();
        write_atomic(&dir.join("vegas_grid.json"), &json(&edges)?)?;
    }
    if events_inside {
        if let Some(ev) = &outcome.events {
            unweight::write_events_csv(
                &dir.join("events.csv"),
                &ev.columns,
                &ev.points,
                &ev.weights,
            )?;
        }
    }
    report::write_history_csv(&dir.join("history.csv"), &outcome.history)?;
    let mut series: Vec<(&str, &[f64])> = vec![("flow", &outcome.weights)];
    if let Some(v) = &outcome.vegas {
        series.push(("VEGAS", &v.weights));
    }
    plots::weight_distribution(&dir.join("weights.png"), &series)?;
    let warm = outcome.report.calls.warm_start;
    let flow_curve: Vec<(f64, f64)> = outcome
        .history
        .records
        .iter()
        .filter_map(|r| r.rel_std.map(|s| ((r.calls + warm) as f64, s)))
        .collect();
    let mut curves = vec![("flow (training batches)", flow_curve)];
    if let Some(v) = &outcome.vegas {
        let vegas_curve = v
            .iteration_rel_std
            .iter()
            .map(|(c, s)| (*c as f64, *s))
            .collect();
        curves.push(("VEGAS (iterations)", vegas_curve));
    }
    plots::training_curve(&dir.join("training.png"), &curves)?;
    let d = outcome.report.dim;
    let m = outcome.marginal_points.len() / d;
    plots::marginals(
        &dir.join("marginals.png"),
        d,
        &outcome.marginal_points,
        &outcome.weights[..m],
    )
}

/// Pretty JSON bytes of `v`.
fn json<T: Serialize + ?Sized>(v: &T) -> Result<Vec<u8>> {
    let mut bytes = serde_json::to_vec_pretty(v)?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// A finished integration read back from its directory.
#[derive(Debug)]
pub struct IntegrationRun {
    /// The directory.
    pub dir: PathBuf,
    /// The effective spec it ran with.
    pub spec: IntegrateConfig,
    /// Its headline figures.
    pub result: ResultJson,
    /// The trained flow.
    pub flow: UnitFlow,
    /// The warm-start grid, when used.
    pub grid: Option<VegasGrid>,
}

impl IntegrationRun {
    /// Read the run in `dir` with the flow on `device`. Errors name the file that is
    /// missing or malformed.
    pub fn load(dir: &Path, device: &Device) -> Result<Self> {
        if !dir.is_dir() {
            return Err(Error::config(format!(
                "{}: no such run directory (write one with `flowinfer integrate --out {}`)",
                dir.display(),
                dir.display()
            )));
        }
        let read = |name: &str| -> Result<String> {
            let p = dir.join(name);
            std::fs::read_to_string(&p).map_err(|e| Error::File {
                path: p.clone(),
                message: format!(
                    "cannot read ({e}); is this a directory written by `flowinfer integrate`?"
                ),
            })
        };
        let malformed = |name: &str, e: &dyn std::fmt::Display| Error::File {
            path: dir.join(name),
            message: format!("malformed: {e}"),
        };
        let spec: IntegrateConfig =
            toml::from_str(&read("spec.toml")?).map_err(|e| malformed("spec.toml", &e))?;
        if spec.channels.is_active() {
            return Err(Error::config(format!(
                "{}: a multi-channel run (or one of its channels); reading it back is not supported yet",
                dir.display()
            )));
        }
        let result: ResultJson = serde_json::from_str(&read("result.json")?)
            .map_err(|e| malformed("result.json", &e))?;
        let grid = if dir.join("vegas_grid.json").exists() {
            let edges: Vec<Vec<f64>> = serde_json::from_str(&read("vegas_grid.json")?)
                .map_err(|e| malformed("vegas_grid.json", &e))?;
            Some(VegasGrid::from_edges(&edges).map_err(|e| malformed("vegas_grid.json", &e))?)
        } else {
            None
        };
        let flow = Flow::load(dir.join("model"), device)?;
        let config = spec.flow.clone();
        let flow =
            UnitFlow::from_flow(flow, config).map_err(|e| malformed("model/flow.json", &e))?;
        Ok(Self {
            dir: dir.to_path_buf(),
            spec,
            result,
            flow,
            grid,
        })
    }

    /// The integrand the flow was trained for, composed with the warm-start grid as
    /// during training. `user` must be built from [`Self::spec`].
    pub fn target<'a>(&self, user: &'a dyn flowinfer_simulators::Integrand) -> Result<Target<'a>> {
        let t = Target::new(user)?;
        let t = match &self.grid {
            Some(g) => t.with_grid(g.clone())?,
            None => t,
        };
        if t.dim() != self.flow.dim() {
            return Err(Error::config(format!(
                "{}: the flow has dimension {} but the integrand of spec.toml needs {}",
                self.dir.display(),
                self.flow.dim(),
                t.dim()
            )));
        }
        Ok(t)
    }

    /// `events` unweighted events from the saved flow (hit-or-miss against the run's
    /// bootstrap maximum weight), the integrand rebuilt from `spec.toml`; `seed`
    /// defaults to the run's seed + 1 so the events differ from the run's own.
    pub fn unweight(
        &self,
        events: usize,
        batch: usize,
        seed: Option<u64>,
        allow_invalid: bool,
    ) -> Result<UnweightedRun> {
        if events == 0 || batch == 0 {
            return Err(Error::config(format!(
                "unweighting needs at least 1 event and a batch of at least 1, got {events} and {batch}"
            )));
        }
        let user = self.spec.build_integrand()?;
        let target = self.target(user.as_ref())?;
        let opts = super::EvalOptions {
            allow_invalid: allow_invalid || self.spec.eval.allow_invalid,
            ..self.spec.eval_options()
        };
        let r = &self.result.flow;
        let request = unweight::UnweightRequest {
            events,
            max_weight: r.bootstrap_max_weight,
            efficiency: r.unweighting_efficiency_bootstrap,
            batch,
            seed: seed.unwrap_or(self.spec.seed.wrapping_add(1)),
        };
        let mut invalid = super::InvalidCounts::default();
        let proposal = super::Proposal::new(&self.flow, self.spec.eval.defensive)?;
        let (summary, table) =
            unweight::unweighted_events(&proposal, &target, &request, &opts, &mut invalid)?;
        Ok(UnweightedRun {
            integrand: user.name().to_string(),
            dim: user.dim(),
            request,
            summary,
            table,
            invalid,
        })
    }
}

/// What [`IntegrationRun::unweight`] produced.
#[derive(Debug)]
pub struct UnweightedRun {
    /// The integrand's name.
    pub integrand: String,
    /// Its dimension.
    pub dim: usize,
    /// The request (maximum weight, expected efficiency, seed).
    pub request: unweight::UnweightRequest,
    /// Acceptance, over-weight events.
    pub summary: unweight::UnweightedEvents,
    /// The events.
    pub table: unweight::EventTable,
    /// Non-finite and negative integrand values met (counted as zero).
    pub invalid: super::InvalidCounts,
}
