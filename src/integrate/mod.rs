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
pub mod channels;
pub mod config;
pub mod estimate;
pub mod flow_proposal;
pub mod guard;
pub mod loss;
pub mod peak_start;
pub mod plots;
pub mod proposal;
pub mod report;
pub mod run_dir;
pub mod train;
pub mod unweight;
pub mod vegas_baseline;

pub use crate::error::Result;
pub use adapters::Target;
pub use batch::{EvalOptions, InvalidCounts};
pub use config::{EvalConfig, IntegrandConfig, IntegrateConfig};
pub use estimate::{estimate, WeightStats, MIN_TRUSTED_ESS};
pub use flow_proposal::{binary_masks, UnitFlow, UnitFlowConfig};
pub use guard::{BatchEstimate, Collapse, CollapseGuard};
pub use loss::Loss;
pub use proposal::{Proposal, DEFENSIVE_EVAL, DEFENSIVE_TRAIN};
pub use report::IntegrationReport;
pub use run_dir::{write_run, IntegrationRun, ResultFigures, ResultJson, UnweightedRun};
pub use train::{
    train_flow, DefensiveWeights, RunningEstimate, StepRecord, TrainConfig, TrainHistory, TrainMode,
};
pub use unweight::{unweight, EventTable, UnweightConfig, UnweightRequest, UnweightedEvents};
pub use vegas_baseline::{compare_vegas, VegasComparison};

use candle_core::Device;
use flowinfer_simulators::{row_seed, Integrand};
use rand::rngs::StdRng;
use rand::SeedableRng;
use report::{Calls, Definitions, FlowSummary, Seconds, TrainingSummary, VegasReport};
use std::time::Instant;

/// What [`integrate`] reports while it runs.
#[derive(Debug)]
pub enum Stage<'a> {
    /// Channel `channel` (0-based) of `channels` begins (multi-channel runs).
    Channel {
        /// The channel.
        channel: usize,
        /// How many there are.
        channels: usize,
        /// Its map, in words.
        map: String,
    },
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
    /// The batch estimate collapsed during training ([`guard`]).
    Collapse {
        /// What happened, and whether the flow was restored.
        collapse: &'a Collapse,
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
    cfg.validate_for(user.dim())?;
    let eval = cfg.eval_options();
    let start = Instant::now();
    let mut seconds = Seconds::default();
    let mut calls = Calls::default();
    let mut invalid = InvalidCounts::default();
    let mut target = Target::new(user)?;

    if cfg.eval.vegas_warm_start {
        let budget = cfg.warm_start_budget();
        progress(Stage::WarmStart { calls: budget });
        let t = Instant::now();
        let r = vegas_baseline::warm_start_grid(
            target.integrand(),
            budget,
            row_seed(cfg.seed, 5),
            eval.allow_invalid,
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
        cfg.flow.dtype()?,
        device,
        row_seed(cfg.seed, 0),
    )?;
    let t = Instant::now();
    let mut rng = StdRng::seed_from_u64(row_seed(cfg.seed, 1));
    let steps = cfg.train.steps;
    let shared = std::cell::RefCell::new(&mut *progress);
    let history = train_flow(
        &flow,
        target.integrand(),
        &cfg.train,
        &mut rng,
        &eval,
        &mut invalid,
        &mut |record, running| {
            (shared.borrow_mut())(Stage::Training {
                record,
                running,
                steps,
            })
        },
        &mut |collapse| (shared.borrow_mut())(Stage::Collapse { collapse }),
    )?;
    calls.training = history.calls;
    seconds.training = t.elapsed().as_secs_f64();

    progress(Stage::Evaluating {
        samples: cfg.eval.samples,
    });
    let t = Instant::now();
    let mut rng = StdRng::seed_from_u64(row_seed(cfg.seed, 2));
    let proposal = Proposal::new(&flow, cfg.eval.defensive)?;
    let (stats, weights, kept) = estimate::estimate_keeping(
        &proposal,
        target.integrand(),
        cfg.eval.samples,
        cfg.eval.batch,
        MARGINAL_POINTS,
        &mut rng,
        &eval,
        &mut invalid,
    )?;
    let marginal_points = target.to_user_points(&kept)?;
    calls.evaluation = weights.len();
    seconds.evaluation = t.elapsed().as_secs_f64();

    let mut unweighted = None;
    let mut events = None;
    if let Some(n) = cfg.eval.unweighted {
        progress(Stage::Unweighting { events: n });
        let t = Instant::now();
        let (u, table) = unweight::unweighted_events(
            &proposal,
            &target,
            &UnweightRequest {
                events: n,
                max_weight: stats.bootstrap_max_weight,
                efficiency: stats.unweighting_efficiency_bootstrap,
                batch: cfg.eval.batch,
                seed: cfg.seed,
            },
            &eval,
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
    if cfg.eval.vegas {
        let adapt = calls.warm_start + calls.training;
        progress(Stage::Vegas { calls: adapt });
        let t = Instant::now();
        let v = compare_vegas(
            user,
            adapt,
            cfg.eval.samples,
            cfg.eval.batch,
            row_seed(cfg.seed, 6),
            &eval,
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
    if let Some(p) = &history.peak_start {
        warnings.push(peak_start::one_peak_warning(p));
    }
    if let Some(last) = history.records.last().filter(|r| r.beta < 1.0) {
        warnings.push(format!(
            "the annealing did not reach the integrand itself (β = {:.3e} at the last step): \
             the flow was trained towards the broader f^β, an unbiased but less efficient proposal; \
             train longer (--steps) for a sharper one",
            last.beta
        ));
    }
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
        beta_initial: history.beta_initial,
        defensive: cfg.train.defensive,
        defensive_decay: cfg.train.defensive_decay,
        mass_found: history.mass_found,
        pilot: history.pilot.clone(),
        peak_start: history.peak_start.clone(),
        collapses: history.collapses.clone(),
        skipped_steps: history.skipped_steps,
        initial_rel_std: fresh.first().copied(),
        final_rel_std: (!tail.is_empty()).then(|| tail.iter().sum::<f64>() / tail.len() as f64),
        running_estimate: history.running.estimate(),
        running_std_error: history.running.std_error(),
    };
    let mut reasons = stats.untrusted_reasons();
    if let Some(r) = history
        .pilot
        .as_ref()
        .and_then(|p| guard::pilot_reason(&stats, p))
    {
        reasons.push(r);
    }
    for c in &history.collapses {
        if c.restored {
            warnings.push(c.message());
        } else {
            reasons.push(c.message());
        }
    }
    let report = IntegrationReport {
        integrand: user.name().to_string(),
        dim: user.dim(),
        exact,
        pull: exact.and_then(|e| stats.pull(e)),
        warnings,
        trusted: reasons.is_empty(),
        reasons,
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
            dtype: cfg.flow.dtype.clone(),
            device: device_name(device),
            vegas_warm_start: cfg.eval.vegas_warm_start,
            defensive: cfg.eval.defensive,
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
