//! Variational inference with a normalizing flow: fit `q` to an unnormalised log
//! density `p̃` on `R^d` by reverse KL (maximising the ELBO), then estimate `log Z` by
//! importance sampling with `q` and say whether the estimates can be trusted.
//!
//! * [`LogDensity`] — the target: a built-in with a known answer
//!   ([`targets`], by name with [`target_by_name`]), a closure ([`FnLogDensity`] on
//!   tensors, [`RowsLogDensity`] on `f64` rows), or an external program
//!   ([`ExternalTarget`]); non-finite values are counted and dropped ([`values`]).
//! * [`train_reverse_kl`] — the reparameterisation (or score-function) gradient of the
//!   negative ELBO with `S` draws per step, Adam, a cosine learning rate, clipping,
//!   optional annealing and forward-KL mixing; amortised over a context for
//!   conditional targets ([`train`]).
//! * [`evaluate`] — ELBO, `log Ẑ` with its delta-method error, ESS fraction, Pareto
//!   `k̂`, moments and marginals on fresh draws; [`run_dir`] writes `result.json`,
//!   `report.json`, `samples.csv`, `history.csv`, the plots, `spec.toml` and the flow.
//!
//! [`variational`] runs the whole job from a [`VariationalConfig`] (the spec of
//! `flowinfer variational`). See `docs/VARIATIONAL.md`.
//!
//! ```
//! use flowinfer::variational::{variational, FnLogDensity, VariationalConfig};
//! // p̃(x) = exp(−‖x − 1‖²/2) on R²: Z = 2π.
//! let target = FnLogDensity::new("shifted", 2, |x: &candle_core::Tensor| {
//!     (x - 1.0)?.sqr()?.sum(1)? * -0.5
//! })
//! .with_log_z((2.0 * std::f64::consts::PI).ln());
//! let mut cfg = VariationalConfig::default();
//! (cfg.flow.blocks, cfg.flow.hidden) = (2, 16);
//! (cfg.train.steps, cfg.train.samples, cfg.train.lr) = (200, 128, 1e-2);
//! (cfg.eval.samples, cfg.eval.draws, cfg.eval.plots) = (4000, 1000, false);
//! let out = variational(&target, &cfg, &candle_core::Device::Cpu, &mut |_| {})?;
//! let r = &out.report;
//! assert!((r.log_z - r.truth.log_z.unwrap()).abs() < 0.05, "{}", r.summary());
//! assert_eq!(out.draws.len(), 1000 * 2);
//! # Ok::<(), flowinfer::Error>(())
//! ```

pub mod config;
pub mod defensive;
pub mod evaluate;
pub mod plots;
pub mod quadrature;
pub mod report;
pub mod run_dir;
pub mod target;
pub mod targets;
pub mod train;
pub mod values;

pub use config::{EvalConfig, TargetConfig, VariationalConfig};
pub use report::{ResultJson, VariationalReport};
pub use run_dir::write_run;
pub use target::{ExternalTarget, FnLogDensity, LogDensity, RowsLogDensity, Truth};
pub use targets::{target_by_name, TargetOptions, TARGET_NAMES};
pub use train::{
    train_reverse_kl, ContextSampler, Gradient, StepRecord, TrainConfig, TrainHistory,
};
pub use values::{check_values, InvalidCounts};

use crate::distributions::BaseSpec;
use crate::error::{Error, Result};
use crate::flow::{Flow, FlowBuilder, FlowSpec};
use crate::transforms::{Contribution, TransformSpec};
use candle_core::Device;
use defensive::{BroadGaussian, PILOT_DRAWS};
use evaluate::{figures, moments, MomentErrors};
use flowinfer_simulators::external::{ExternalLogDensity, ProgramMode};
use flowinfer_simulators::row_seed;
use rand::rngs::StdRng;
use rand::SeedableRng;
use report::{FamilySummary, MomentReport, TrainingSummary};
use std::collections::BTreeMap;
use std::time::Instant;

/// Fewer effective draws than this fraction of the evaluation draws is a warning.
pub const LOW_ESS_FRACTION: f64 = 0.01;

/// An external program as a target: `command` split at whitespace (no shell), a
/// program run per batch (one-shot mode).
pub fn external_target(
    command: &str,
    dim: usize,
    batch_size: Option<usize>,
    timeout_s: Option<f64>,
    names: Option<Vec<String>>,
) -> Result<Box<dyn LogDensity>> {
    external_target_in_mode(
        command,
        dim,
        batch_size,
        timeout_s,
        names,
        ProgramMode::default(),
    )
}

/// [`external_target`] in `mode`: one-shot, or long-lived workers answering framed
/// batches (`persistent`, `persistent-f64`, `persistent-shm`; docs/CLUSTER.md) —
/// the same values in every mode.
///
/// ```no_run
/// use flowinfer::variational::external_target_in_mode;
/// use flowinfer_simulators::external::ProgramMode;
/// let t = external_target_in_mode(
///     "python3 examples/workers/normal_logpdf.py", 2, None, None, None,
///     ProgramMode::Persistent,
/// )?;
/// assert_eq!(t.dim(), 2);
/// # Ok::<(), flowinfer::Error>(())
/// ```
pub fn external_target_in_mode(
    command: &str,
    dim: usize,
    batch_size: Option<usize>,
    timeout_s: Option<f64>,
    names: Option<Vec<String>>,
    mode: ProgramMode,
) -> Result<Box<dyn LogDensity>> {
    let words: Vec<String> = command.split_whitespace().map(String::from).collect();
    if words.is_empty() {
        return Err(Error::config("the target command is empty"));
    }
    let mut p = ExternalLogDensity::new(words, dim);
    if let Some(b) = batch_size {
        p.batch_size = b;
    }
    p.timeout_s = timeout_s;
    p.mode = mode;
    Ok(Box::new(ExternalTarget::new(p, names)?))
}

/// What [`variational`] reports while it runs.
#[derive(Debug)]
pub enum Stage<'a> {
    /// A training step finished.
    Training {
        /// The step.
        record: &'a StepRecord,
        /// Total steps.
        steps: usize,
    },
    /// The final evaluation begins.
    Evaluating {
        /// Fresh draws.
        samples: usize,
    },
}

/// Everything a variational run produced.
#[derive(Debug)]
pub struct VariationalOutcome {
    /// The report (`report.json`).
    pub report: VariationalReport,
    /// Training history.
    pub history: TrainHistory,
    /// The posterior draws (user coordinates, `draws × d` row-major): the flow's own,
    /// or importance-resampled ([`EvalConfig::resample`]).
    pub draws: Vec<f64>,
    /// The evaluation draws of `q_α` (flow coordinates, row-major).
    pub eval_points: Vec<f64>,
    /// Log weights `log p̃ − log q_α` of [`Self::eval_points`].
    pub log_w: Vec<f64>,
    /// Whether each evaluation draw came from the flow (`false`: the broad component).
    pub from_flow: Vec<bool>,
    /// The trained flow.
    pub flow: Flow,
}

/// Build the variational family of `cfg` for dimension `dim` (and context width
/// `context_dim`): the `[flow]` stack, or one ActNorm layer over `N(0, I)` when
/// `mean_field`.
pub fn build_family(
    cfg: &VariationalConfig,
    dim: usize,
    context_dim: usize,
    device: &Device,
) -> Result<Flow> {
    let dtype = cfg.flow.dtype()?;
    let spec = if cfg.mean_field {
        if context_dim > 0 {
            return Err(Error::config(
                "mean_field cannot take a context; use a [flow]",
            ));
        }
        FlowSpec {
            dim,
            context_dim: 0,
            embedding: None,
            base: BaseSpec::StandardNormal { dim },
            transforms: vec![TransformSpec::ActNorm {
                dim,
                initialized: true,
            }],
        }
    } else {
        FlowBuilder::new(dim, cfg.flow.clone())
            .context(context_dim)
            .build_spec()?
    };
    let flow = Flow::new(spec, dtype, device, row_seed(cfg.seed, 0))?;
    // The ELBO and the importance weights need the exact log q of q's own draws; a
    // layer whose contribution is a bound (augment, dequantization, set permutation)
    // would make both wrong without any sign of it.
    if flow.likelihood() != Contribution::Exact {
        return Err(Error::config(
            "[flow] surjective: a variational posterior needs an exact log q, but a layer of \
             this stack gives only a bound (augment, dequantization or set permutation); \
             use exact layers only (e.g. abs, slice, sort) or none",
        ));
    }
    Ok(flow)
}

fn device_name(d: &Device) -> String {
    match d {
        Device::Cpu => "cpu".into(),
        other => format!("{other:?}"),
    }
}

/// Fit the variational family to `target` and evaluate it (module docs); `progress`
/// sees each stage. Conditional targets (amortised inference) go through
/// [`train_reverse_kl`] with a context sampler instead.
pub fn variational(
    target: &dyn LogDensity,
    cfg: &VariationalConfig,
    device: &Device,
    progress: &mut dyn FnMut(Stage<'_>),
) -> Result<VariationalOutcome> {
    let d = target.dim();
    cfg.validate_for(d)?;
    if target.context_dim() > 0 {
        return Err(Error::config(format!(
            "target `{}` takes a context: train it with variational::train_reverse_kl and a context sampler",
            target.name()
        )));
    }
    if cfg.eval.draws > cfg.eval.samples && !cfg.eval.resample {
        return Err(Error::config(format!(
            "[eval] draws ({}) exceeds samples ({}); raise samples or set resample = true",
            cfg.eval.draws, cfg.eval.samples
        )));
    }
    let start = Instant::now();
    let flow = build_family(cfg, d, 0, device)?;
    let mut rng = StdRng::seed_from_u64(row_seed(cfg.seed, 1));
    let steps = cfg.train.steps;
    let history = train_reverse_kl(&flow, target, &cfg.train, None, &mut rng, &mut |record| {
        progress(Stage::Training { record, steps })
    })?;
    let train_seconds = start.elapsed().as_secs_f64();

    progress(Stage::Evaluating {
        samples: cfg.eval.samples,
    });
    let broad = if cfg.eval.defensive > 0.0 {
        let mut pilot_rng = StdRng::seed_from_u64(row_seed(cfg.seed, 3));
        let (x, _) = flow.sample_and_log_prob(PILOT_DRAWS, None, &mut pilot_rng)?;
        let pts = target::host_rows(&x.detach().to_dtype(candle_core::DType::F64)?)?;
        Some(BroadGaussian::fit(&pts, d, cfg.eval.defensive_inflation)?)
    } else {
        None
    };
    let mut rng = StdRng::seed_from_u64(row_seed(cfg.seed, 2));
    let proposal = evaluate::Proposal {
        flow: &flow,
        broad: broad.as_ref().map(|g| (g, cfg.eval.defensive)),
    };
    let ev = evaluate::draw_weighted(
        proposal,
        target,
        cfg.eval.samples,
        cfg.eval.batch,
        cfg.train.max_invalid_fraction,
        &mut rng,
    )?;
    let fig = figures(&ev.log_w, &ev.elbo_terms())?;
    let truth = target.truth()?;
    let columns = target.columns();
    let max = fig.log_z - fig.weights.estimate.ln();
    let w: Vec<f64> = ev.log_w.iter().map(|v| (v - max).exp()).collect();
    let q_points = ev.flow_points(d);

    let moments_report = match (&truth.mean, &truth.cov) {
        (Some(mu), Some(sigma)) => {
            let (m, c) = moments(&q_points, d, None);
            let (mw, cw) = moments(&ev.points, d, Some(&w));
            Some(MomentReport {
                q: MomentErrors::new(&m, &c, mu, sigma),
                weighted: MomentErrors::new(&mw, &cw, mu, sigma),
            })
        }
        _ => None,
    };

    let flow_draws: Vec<f64> = if cfg.eval.resample {
        let idx = evaluate::resample(&w, cfg.eval.draws, &mut rng)?;
        idx.iter()
            .flat_map(|&i| ev.points[i * d..(i + 1) * d].iter().copied())
            .collect()
    } else {
        let have = q_points.len() / d;
        let mut v = q_points[..cfg.eval.draws.min(have) * d].to_vec();
        if have < cfg.eval.draws {
            // The broad component took some of the evaluation draws: top up with
            // more of the flow's own.
            let (x, _) = flow.sample_and_log_prob(cfg.eval.draws - have, None, &mut rng)?;
            v.extend(target::host_rows(
                &x.detach().to_dtype(candle_core::DType::F64)?,
            )?);
        }
        v
    };
    let metrics: BTreeMap<String, f64> = target.draw_metrics(&flow_draws)?.into_iter().collect();
    let draws = evaluate::to_user(target, &flow_draws)?;

    let mut reasons = fig.weights.untrusted_reasons();
    let mut warnings = fig.weights.warnings();
    if fig.weights.ess_fraction < LOW_ESS_FRACTION && reasons.is_empty() {
        warnings.push(format!(
            "the ESS fraction is {:.2} %: q covers the target poorly",
            100.0 * fig.weights.ess_fraction
        ));
    }
    if ev.invalid.neg_inf > 0 {
        warnings.push(format!(
            "{} of {} draws fell where the target is zero (log p̃ = −inf): the true ELBO is −inf; the ELBO shown leaves them out",
            ev.invalid.neg_inf, ev.invalid.points
        ));
    }
    if ev.invalid.nan + ev.invalid.pos_inf > 0 {
        reasons.push(format!(
            "{} of {} evaluation draws gave NaN or +inf and were dropped: log Z is biased by their share",
            ev.invalid.nan + ev.invalid.pos_inf,
            ev.invalid.points
        ));
    }
    let tail = &history.records[history.records.len() - history.records.len().div_ceil(10)..];
    let finite_tail: Vec<f64> = tail
        .iter()
        .map(|r| r.elbo)
        .filter(|v| v.is_finite())
        .collect();
    let training = TrainingSummary {
        steps,
        samples: cfg.train.samples,
        gradient: history.gradient.clone(),
        lr: cfg.train.lr,
        anneal: cfg.train.anneal,
        forward_weight: cfg.train.forward_weight,
        skipped_steps: history.skipped_steps,
        final_elbo: finite_tail.iter().sum::<f64>() / finite_tail.len().max(1) as f64,
        invalid: history.invalid.clone(),
        seconds: train_seconds,
    };
    let family = FamilySummary {
        kind: if cfg.mean_field {
            "mean_field".into()
        } else {
            format!("{:?}", cfg.flow.kind).to_ascii_lowercase()
        },
        blocks: if cfg.mean_field { 0 } else { cfg.flow.blocks },
        hidden: if cfg.mean_field { 0 } else { cfg.flow.hidden },
        parameters: flow.params().num_parameters(),
        dtype: cfg.flow.dtype.clone(),
        device: device_name(device),
    };
    let report = VariationalReport {
        target: target.name().to_string(),
        dim: d,
        columns,
        log_z_pull: truth
            .log_z
            .filter(|_| fig.log_z_std_error > 0.0)
            .map(|z| (fig.log_z - z) / fig.log_z_std_error),
        truth,
        elbo: fig.elbo,
        elbo_std_error: fig.elbo_std_error,
        log_z: fig.log_z,
        log_z_std_error: fig.log_z_std_error,
        trusted: reasons.is_empty(),
        reasons,
        warnings,
        moments: moments_report,
        marginals: evaluate::marginals(&q_points, &target.columns()),
        metrics,
        resampled: cfg.eval.resample,
        defensive: cfg.eval.defensive,
        defensive_inflation: cfg.eval.defensive_inflation,
        broad_draws: ev.from_flow.iter().filter(|f| !**f).count(),
        invalid: ev.invalid.clone(),
        weights: fig.weights,
        training,
        family,
        seed: cfg.seed,
        seconds: start.elapsed().as_secs_f64(),
    };
    Ok(VariationalOutcome {
        report,
        history,
        draws,
        eval_points: ev.points,
        log_w: ev.log_w,
        from_flow: ev.from_flow,
        flow,
    })
}
