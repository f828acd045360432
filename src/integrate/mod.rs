//! Importance-sampled Monte Carlo integration with a normalizing flow as the proposal.
//!
//! For a non-negative integrand `f` on `[0,1]^d` ([`Integrand`]) a flow `q` on the unit
//! hypercube ([`UnitFlow`]: rational-quadratic spline couplings, uniform base,
//! binary-digit masks, identity at initialisation) is trained towards `f/I`
//! ([`train_flow`], [`Loss`]), then `I` is estimated on fresh samples as the mean of
//! the weights `w = f/q` with its standard error, relative std per event, effective
//! sample size and unweighting efficiency ([`WeightStats`]). Unweighted events come
//! from hit-or-miss against the bootstrap maximum weight ([`unweight()`]). VEGAS runs
//! side by side at the same number of integrand calls ([`compare_vegas`]) or as a warm
//! start whose grid the flow refines ([`adapters::GridPullback`]).
//!
//! The reported estimate uses only the fresh samples of the final flow, so it is an
//! unbiased mean of independent weights whatever the training did; training estimates
//! are shown for monitoring only.
//!
//! **Device.** Sampling and the flow's log densities stay on the flow's device; each
//! batch makes one device → host copy (points and `log q`) for the integrand, and the
//! training loss receives the normalised `f` and weights back as one tensor each.
//! Weights and every sum are f64 on the host. See `docs/INTEGRATION.md`.

pub mod adapters;
pub mod batch;
pub mod estimate;
pub mod flow_proposal;
pub mod loss;
pub mod plots;
pub mod report;
pub mod run_dir;
pub mod spec;
pub mod train;
pub mod unweight;
pub mod vegas_baseline;

pub use crate::error::Result;
pub use adapters::Target;
pub use batch::{EvalOptions, InvalidCounts};
pub use estimate::{estimate, WeightStats};
pub use flow_proposal::{binary_masks, UnitFlow, UnitFlowConfig};
pub use loss::Loss;
pub use report::IntegrationReport;
pub use run_dir::{write_run, IntegrationRun, ResultFigures, ResultJson};
pub use spec::IntegrateSpec;
pub use train::{train_flow, RunningEstimate, StepRecord, TrainConfig, TrainHistory, TrainMode};
pub use unweight::{unweight, EventTable, UnweightConfig, UnweightRequest, UnweightedEvents};
pub use vegas_baseline::{compare_vegas, VegasComparison};

use crate::error::Error;
use candle_core::{DType, Device};
use flowinfer_simulators::{row_seed, Integrand};
use rand::rngs::StdRng;
use rand::SeedableRng;
use report::{Calls, Definitions, FlowSummary, Seconds, TrainingSummary, VegasReport};
use std::time::Instant;

/// Everything [`integrate`] needs besides the integrand and the device.
#[derive(Debug, Clone, PartialEq)]
pub struct IntegrateConfig {
    /// Flow architecture.
    pub flow: UnitFlowConfig,
    /// Training.
    pub train: TrainConfig,
    /// Fresh samples for the final estimate (default 100 000).
    pub eval_samples: usize,
    /// Points per evaluation batch (default 16 384).
    pub eval_batch: usize,
    /// Unweighted events to generate (none by default).
    pub unweighted_events: Option<usize>,
    /// Run the VEGAS baseline at the same number of calls.
    pub vegas: bool,
    /// Compose the flow with a VEGAS grid adapted with
    /// [`Self::warm_start_calls`] calls.
    pub vegas_warm_start: bool,
    /// Calls of the VEGAS warm start (default: a fifth of the training calls, at
    /// least 10 000).
    pub warm_start_calls: Option<usize>,
    /// Flow dtype (default f32; weights are always f64).
    pub dtype: DType,
    /// Seed of everything (initialisation, sampling, VEGAS).
    pub seed: u64,
    /// Integrand evaluation (parallel chunks, invalid values).
    pub eval: EvalOptions,
}

impl Default for IntegrateConfig {
    fn default() -> Self {
        Self {
            flow: UnitFlowConfig::default(),
            train: TrainConfig::default(),
            eval_samples: 100_000,
            eval_batch: 16_384,
            unweighted_events: None,
            vegas: false,
            vegas_warm_start: false,
            warm_start_calls: None,
            dtype: DType::F32,
            seed: 0,
            eval: EvalOptions::default(),
        }
    }
}

impl IntegrateConfig {
    /// The warm-start budget (see [`Self::warm_start_calls`]).
    pub fn warm_start_budget(&self) -> usize {
        self.warm_start_calls
            .unwrap_or_else(|| (self.train.calls() / 5).max(10_000))
    }

    /// Check the settings for an integrand of dimension `dim`.
    pub fn validate(&self, dim: usize) -> Result<()> {
        if dim == 0 {
            return Err(Error::config(
                "the integrand's dimension must be at least 1",
            ));
        }
        self.flow.validate(dim.max(2))?;
        self.train.validate()?;
        if self.eval_samples < 2 || self.eval_batch == 0 {
            return Err(Error::config(format!(
                "evaluation needs at least 2 samples and a batch ≥ 1, got {} and {}",
                self.eval_samples, self.eval_batch
            )));
        }
        if self.unweighted_events == Some(0) {
            return Err(Error::config(
                "the number of unweighted events must be at least 1",
            ));
        }
        if !matches!(self.dtype, DType::F32 | DType::F64) {
            return Err(Error::config(format!(
                "flow dtype must be f32 or f64, got {:?}",
                self.dtype
            )));
        }
        if self.vegas_warm_start && self.warm_start_calls.is_some_and(|c| c < 4) {
            return Err(Error::config("the VEGAS warm start needs at least 4 calls"));
        }
        Ok(())
    }
}

/// What [`integrate`] reports while it runs.
#[derive(Debug)]
pub enum Stage<'a> {
    /// The VEGAS warm start begins.
    WarmStart {
        /// Its integrand calls.
        calls: usize,
    },
    /// A training step finished.
    Training {
        /// The step.
        record: &'a StepRecord,
        /// The running estimate.
        running: &'a RunningEstimate,
        /// Total steps.
        steps: usize,
    },
    /// The final evaluation begins.
    Evaluating {
        /// Fresh samples.
        samples: usize,
    },
    /// Unweighting begins.
    Unweighting {
        /// Events wanted.
        events: usize,
    },
    /// The VEGAS baseline begins.
    Vegas {
        /// Its adaptation calls.
        calls: usize,
    },
}

/// Everything an integration produced.
#[derive(Debug)]
pub struct IntegrationOutcome {
    /// The report (`report.json`).
    pub report: IntegrationReport,
    /// The evaluation weights of the flow, in draw order.
    pub weights: Vec<f64>,
    /// Training history.
    pub history: TrainHistory,
    /// The VEGAS baseline, when run.
    pub vegas: Option<VegasComparison>,
    /// Unweighted events, when requested.
    pub events: Option<EventTable>,
    /// The first evaluation points (at most [`MARGINAL_POINTS`], the user's
    /// coordinates, row-major) for the marginal plots; their weights are the first
    /// entries of [`Self::weights`].
    pub marginal_points: Vec<f64>,
    /// The trained flow.
    pub flow: UnitFlow,
    /// The VEGAS grid the flow is composed with (warm start), if any.
    pub grid: Option<flowinfer_simulators::VegasGrid>,
}

/// Flow and VEGAS estimates further apart than this many combined standard errors
/// draw a warning.
pub const DISAGREEMENT_SIGMAS: f64 = 5.0;

/// Evaluation points kept for the marginal plots.
pub const MARGINAL_POINTS: usize = 200_000;

fn device_name(d: &Device) -> String {
    match d {
        Device::Cpu => "cpu".into(),
        other => format!("{other:?}"),
    }
}

/// Integrate `user` over `[0,1]^d` (module docs). `progress` sees each stage.
pub fn integrate(
    user: &dyn Integrand,
    cfg: &IntegrateConfig,
    device: &Device,
    progress: &mut dyn FnMut(Stage<'_>),
) -> Result<IntegrationOutcome> {
    cfg.validate(user.dim())?;
    let start = Instant::now();
    let mut seconds = Seconds::default();
    let mut calls = Calls::default();
    let mut invalid = InvalidCounts::default();
    let mut target = Target::new(user)?;

    if cfg.vegas_warm_start {
        let budget = cfg.warm_start_budget();
        progress(Stage::WarmStart { calls: budget });
        let t = Instant::now();
        let r = vegas_baseline::warm_start_grid(
            target.integrand(),
            budget,
            row_seed(cfg.seed, 5),
            cfg.eval.allow_invalid,
        )?;
        calls.warm_start = r.n_evaluations;
        invalid.non_finite += r.non_finite;
        invalid.negative += r.negative;
        target = target.with_grid(r.grid)?;
        seconds.warm_start = t.elapsed().as_secs_f64();
    }

    let flow = UnitFlow::new(
        target.dim(),
        &cfg.flow,
        cfg.dtype,
        device,
        row_seed(cfg.seed, 0),
    )?;
    let t = Instant::now();
    let mut rng = StdRng::seed_from_u64(row_seed(cfg.seed, 1));
    let steps = cfg.train.steps;
    let history = train_flow(
        &flow,
        target.integrand(),
        &cfg.train,
        &mut rng,
        &cfg.eval,
        &mut invalid,
        &mut |record, running| {
            progress(Stage::Training {
                record,
                running,
                steps,
            })
        },
    )?;
    calls.training = history.calls;
    seconds.training = t.elapsed().as_secs_f64();

    progress(Stage::Evaluating {
        samples: cfg.eval_samples,
    });
    let t = Instant::now();
    let mut rng = StdRng::seed_from_u64(row_seed(cfg.seed, 2));
    let (stats, weights, kept) = estimate::estimate_keeping(
        &flow,
        target.integrand(),
        cfg.eval_samples,
        cfg.eval_batch,
        MARGINAL_POINTS,
        &mut rng,
        &cfg.eval,
        &mut invalid,
    )?;
    let marginal_points = target.to_user_points(&kept)?;
    calls.evaluation = weights.len();
    seconds.evaluation = t.elapsed().as_secs_f64();

    let mut unweighted = None;
    let mut events = None;
    if let Some(n) = cfg.unweighted_events {
        progress(Stage::Unweighting { events: n });
        let t = Instant::now();
        let (u, table) = unweight::unweighted_events(
            &flow,
            &target,
            &UnweightRequest {
                events: n,
                max_weight: stats.bootstrap_max_weight,
                efficiency: stats.unweighting_efficiency_bootstrap,
                batch: cfg.eval_batch,
                seed: cfg.seed,
            },
            &cfg.eval,
            &mut invalid,
        )?;
        calls.unweighting = u.trials;
        events = Some(table);
        unweighted = Some(u);
        seconds.unweighting = t.elapsed().as_secs_f64();
    }
    calls.total = calls.warm_start + calls.training + calls.evaluation + calls.unweighting;

    let exact = user.exact();
    let mut vegas = None;
    let mut vegas_report = None;
    if cfg.vegas {
        let adapt = calls.warm_start + calls.training;
        progress(Stage::Vegas { calls: adapt });
        let t = Instant::now();
        let v = compare_vegas(
            user,
            adapt,
            cfg.eval_samples,
            cfg.eval_batch,
            row_seed(cfg.seed, 6),
            &cfg.eval,
        )?;
        let secs = t.elapsed().as_secs_f64();
        seconds.vegas = secs;
        invalid.non_finite += v.invalid.non_finite;
        invalid.negative += v.invalid.negative;
        vegas_report = Some(VegasReport {
            stats: v.frozen.clone(),
            pull: exact.and_then(|e| v.frozen.pull(e)),
            calls: v.calls,
            seconds: secs,
            adaptive_pull: exact.and_then(|e| {
                (v.adaptive.std_error > 0.0)
                    .then(|| (v.adaptive.estimate - e) / v.adaptive.std_error)
            }),
            adaptive: v.adaptive.clone(),
        });
        vegas = Some(v);
    }
    seconds.total = start.elapsed().as_secs_f64();
    let mut warnings = stats.warnings();
    if let Some(v) = &vegas_report {
        for (what, e, se) in [
            ("frozen-grid", v.stats.estimate, v.stats.std_error),
            ("adaptive", v.adaptive.estimate, v.adaptive.std_error),
        ] {
            let sigma = (stats.std_error.powi(2) + se.powi(2)).sqrt();
            let z = (stats.estimate - e).abs() / sigma;
            if sigma > 0.0 && z > DISAGREEMENT_SIGMAS {
                warnings.push(format!(
                    "the flow and the {what} VEGAS estimate differ by {z:.1} combined standard errors: \
                     one of them misses part of the integrand (try more training steps, a larger --anneal fraction or a smaller --beta-start)"
                ));
            }
        }
    }

    let fresh: Vec<f64> = history.records.iter().filter_map(|r| r.rel_std).collect();
    let tail = &fresh[fresh.len().saturating_sub(10)..];
    let training = TrainingSummary {
        loss: cfg.train.loss.name().into(),
        mode: cfg.train.mode.name().into(),
        steps: cfg.train.steps,
        batch: cfg.train.batch,
        reuse: cfg.train.reuse,
        lr: cfg.train.lr,
        min_lr: cfg.train.min_lr,
        anneal: cfg.train.anneal,
        anneal_ess: cfg.train.anneal_ess,
        first_full_step: history
            .records
            .iter()
            .find(|r| r.beta >= 1.0)
            .map(|r| r.step),
        beta_start: cfg.train.beta_start,
        skipped_steps: history.skipped_steps,
        initial_rel_std: fresh.first().copied(),
        final_rel_std: (!tail.is_empty()).then(|| tail.iter().sum::<f64>() / tail.len() as f64),
        running_estimate: history.running.estimate(),
        running_std_error: history.running.std_error(),
    };
    let report = IntegrationReport {
        integrand: user.name().to_string(),
        dim: user.dim(),
        exact,
        pull: exact.and_then(|e| stats.pull(e)),
        warnings,
        stats,
        definitions: Definitions::default(),
        calls,
        seconds,
        invalid: invalid.clone(),
        training,
        flow: FlowSummary {
            dim: flow.dim(),
            couplings: cfg.flow.coupling_count(flow.dim()),
            bins: cfg.flow.bins,
            hidden: cfg.flow.hidden,
            layers: cfg.flow.layers,
            parameters: flow.flow().params().num_parameters(),
            dtype: crate::flow::io::dtype_name(cfg.dtype).into(),
            device: device_name(device),
            vegas_warm_start: cfg.vegas_warm_start,
        },
        unweighted,
        vegas: vegas_report,
        seed: cfg.seed,
    };
    Ok(IntegrationOutcome {
        report,
        weights,
        history,
        vegas,
        events,
        marginal_points,
        flow,
        grid: target.grid().cloned(),
    })
}
