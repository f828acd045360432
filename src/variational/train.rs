//! Training the variational family by reverse KL: minimise the negative ELBO
//! `E_q[log q(x) − β log p̃(x)]` over the flow's parameters.
//!
//! * **Gradient.** With a differentiable target the *reparameterisation* gradient: the
//!   flow's draws `x = T_θ(z)` keep their graph (the base draws `z` are constants), so
//!   `∇_θ` of the Monte-Carlo average over `S` draws is unbiased. With a target known
//!   only by its values (an external program, a closure on `f64` rows) the
//!   *score-function* gradient: `∇_θ KL = E_q[(log q − β log p̃ − b) ∇_θ log q_θ(x)]`
//!   at detached draws, with the batch mean `b` as baseline (noisier; needs a forward
//!   pass of the flow).
//! * **Schedule.** Adam, a cosine decay of the learning rate from `lr` to `min_lr`,
//!   gradients clipped to a global norm `clip`.
//! * **Annealing** (`anneal > 0`): during that fraction of the steps `β` rises linearly
//!   from `beta_start` to 1 (Rezende & Mohamed 2015): a tempered target is broader, so
//!   the flow spreads before it sharpens, which helps reverse KL (mode-seeking) cover
//!   several modes.
//! * **Forward KL** (`forward_weight = λ > 0` with `forward_samples`, a CSV of draws
//!   from the target): the loss is `(1 − λ)·reverse + λ·(−mean log q(x_data))` on a
//!   random batch of `forward_batch` rows per step.
//! * **Amortised** (a target with a context): every step draws `contexts` contexts from
//!   the caller's sampler and `S` draws of `q(· | c)` per context.
//! * **Bad values.** Non-finite log densities are counted and their draws dropped; a
//!   batch with more than `max_invalid_fraction` of them is an error. A step whose loss
//!   or gradient is not finite is skipped (no update) and counted.

use super::target::{host_rows, to_tensor, LogDensity};
use super::values::{check_values, InvalidCounts};
use crate::error::{Error, Result};
use crate::flow::Flow;
use crate::train::{Adam, AdamConfig, LrSchedule};
use candle_core::{DType, Tensor};
use rand::{Rng, RngCore};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Which gradient estimator trains the flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Gradient {
    /// Reparameterisation when the target is differentiable, else score function.
    #[default]
    Auto,
    /// The reparameterisation gradient (needs a differentiable target).
    Reparam,
    /// The score-function (REINFORCE) gradient with a mean baseline.
    Score,
}

impl Gradient {
    /// Name as written in reports.
    pub fn name(self) -> &'static str {
        match self {
            Gradient::Auto => "auto",
            Gradient::Reparam => "reparam",
            Gradient::Score => "score",
        }
    }
}

/// Training settings (the `[train]` section; unknown keys are errors).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainConfig {
    /// Optimizer steps (default 2000).
    pub steps: usize,
    /// Draws of `q` per step, `S` (per context when amortised; default 256).
    pub samples: usize,
    /// Contexts per step (amortised inference only; default 16).
    pub contexts: usize,
    /// Initial (Adam) learning rate (default 3e-3).
    pub lr: f64,
    /// Final learning rate of the cosine decay (default 1e-5).
    pub min_lr: f64,
    /// Global gradient-norm clip (default 10).
    pub clip: f64,
    /// Fraction of the steps over which `β` rises to 1 (0 = no annealing, the default).
    pub anneal: f64,
    /// Starting `β` of the annealing (in (0, 1], default 0.01).
    pub beta_start: f64,
    /// The gradient estimator (default auto).
    pub gradient: Gradient,
    /// Draws from the target (CSV with a header, one column per dimension) for the
    /// forward-KL part of the loss.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forward_samples: Option<PathBuf>,
    /// Weight `λ ∈ [0, 1]` of the forward KL (default 0; needs `forward_samples`).
    pub forward_weight: f64,
    /// Rows of `forward_samples` per step (default 256).
    pub forward_batch: usize,
    /// Largest fraction of non-finite log densities a batch may have (default 0.1).
    pub max_invalid_fraction: f64,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            steps: 2000,
            samples: 256,
            contexts: 16,
            lr: 3e-3,
            min_lr: 1e-5,
            clip: 10.0,
            anneal: 0.0,
            beta_start: 0.01,
            gradient: Gradient::Auto,
            forward_samples: None,
            forward_weight: 0.0,
            forward_batch: 256,
            max_invalid_fraction: 0.1,
        }
    }
}

impl TrainConfig {
    /// Check the settings; errors name the key.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::config(format!("[train] {m}")));
        if self.samples < 2 || self.contexts == 0 || self.forward_batch == 0 {
            return bad(format!(
                "samples must be ≥ 2 and contexts, forward_batch ≥ 1, got {}, {} and {}",
                self.samples, self.contexts, self.forward_batch
            ));
        }
        if !(self.lr.is_finite() && self.lr > 0.0 && self.min_lr.is_finite() && self.min_lr >= 0.0)
        {
            return bad(format!(
                "lr must be > 0 and min_lr ≥ 0, got {} and {}",
                self.lr, self.min_lr
            ));
        }
        if !(self.clip.is_finite() && self.clip > 0.0) {
            return bad(format!("clip must be positive, got {}", self.clip));
        }
        if !(0.0..=1.0).contains(&self.anneal) {
            return bad(format!("anneal must lie in [0, 1], got {}", self.anneal));
        }
        if !(self.beta_start > 0.0 && self.beta_start <= 1.0) {
            return bad(format!(
                "beta_start must lie in (0, 1], got {}",
                self.beta_start
            ));
        }
        if !(0.0..=1.0).contains(&self.forward_weight) {
            return bad(format!(
                "forward_weight must lie in [0, 1], got {}",
                self.forward_weight
            ));
        }
        if self.forward_weight > 0.0 && self.forward_samples.is_none() {
            return bad("forward_weight > 0 needs forward_samples (a CSV of target draws)".into());
        }
        if !(self.max_invalid_fraction >= 0.0 && self.max_invalid_fraction < 1.0) {
            return bad(format!(
                "max_invalid_fraction must lie in [0, 1), got {}",
                self.max_invalid_fraction
            ));
        }
        Ok(())
    }

    /// `β` at `step` (1 without annealing).
    pub fn beta(&self, step: usize) -> f64 {
        let span = self.anneal * self.steps as f64;
        if span < 1.0 {
            return 1.0;
        }
        (self.beta_start + (1.0 - self.beta_start) * step as f64 / span).min(1.0)
    }
}

/// Draws `(m, context_dim)` contexts for amortised inference.
pub type ContextSampler<'a> = &'a dyn Fn(usize, &mut dyn RngCore) -> Result<Tensor>;

/// One optimizer step.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepRecord {
    /// Step index (0-based).
    pub step: usize,
    /// Learning rate used.
    pub lr: f64,
    /// Annealing exponent.
    pub beta: f64,
    /// The batch ELBO `mean(log p̃ − log q)` at β = 1 over the kept draws.
    pub elbo: f64,
    /// The loss that was minimised.
    pub loss: f64,
    /// Draws dropped for a non-finite log density.
    pub dropped: usize,
    /// Whether the update was skipped (non-finite loss or gradient).
    pub skipped: bool,
}

/// The outcome of training.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TrainHistory {
    /// Every step.
    pub records: Vec<StepRecord>,
    /// Steps without an update.
    pub skipped_steps: usize,
    /// Non-finite log densities met.
    pub invalid: InvalidCounts,
    /// The estimator used (`reparam` or `score`).
    pub gradient: String,
}

/// Read a CSV of target draws (a header, `dim` numeric columns) as a `(n, dim)` tensor.
pub fn read_samples(
    path: &std::path::Path,
    dim: usize,
    dtype: DType,
    device: &candle_core::Device,
) -> Result<Tensor> {
    let (table, _) = crate::data::read_table(path, &crate::data::ReadOptions::default())?;
    if table.cols() != dim || table.rows() == 0 {
        return Err(Error::file(
            path,
            format!(
                "forward samples need {dim} columns and at least one row, got {} columns and {} rows",
                table.cols(),
                table.rows()
            ),
        ));
    }
    table.to_tensor(dtype, device)
}

/// Repeat each context row `n` times (the order of [`Flow::sample_and_log_prob`]).
fn repeat_rows(ctx: &Tensor, n: usize) -> Result<Tensor> {
    let m = ctx.dim(0)?;
    let idx: Vec<u32> = (0..m as u32)
        .flat_map(|i| std::iter::repeat_n(i, n))
        .collect();
    let idx = Tensor::from_vec(idx, m * n, ctx.device())?;
    Ok(ctx.index_select(&idx, 0)?)
}

/// Train `flow` towards `target` (module docs); `contexts` is required when the target
/// takes a context; `on_step` sees every step.
pub fn train_reverse_kl(
    flow: &Flow,
    target: &dyn LogDensity,
    cfg: &TrainConfig,
    contexts: Option<ContextSampler<'_>>,
    rng: &mut dyn RngCore,
    on_step: &mut dyn FnMut(&StepRecord),
) -> Result<TrainHistory> {
    cfg.validate()?;
    let d = target.dim();
    if flow.dim() != d || flow.context_dim() != target.context_dim() {
        return Err(Error::config(format!(
            "the flow (dimension {}, context {}) does not fit target `{}` (dimension {d}, context {})",
            flow.dim(),
            flow.context_dim(),
            target.name(),
            target.context_dim()
        )));
    }
    if target.context_dim() > 0 && contexts.is_none() {
        return Err(Error::Context {
            what: format!("target `{}`", target.name()),
            message: "amortised training needs a context sampler".into(),
        });
    }
    let score = match cfg.gradient {
        Gradient::Auto => !target.differentiable(),
        Gradient::Reparam if !target.differentiable() => {
            return Err(Error::config(format!(
                "target `{}` is not differentiable: use gradient = \"score\" (or \"auto\")",
                target.name()
            )))
        }
        Gradient::Reparam => false,
        Gradient::Score => true,
    };
    let forward = match &cfg.forward_samples {
        Some(p) if cfg.forward_weight > 0.0 => {
            Some(read_samples(p, d, flow.dtype(), flow.device())?)
        }
        _ => None,
    };
    let mut adam = Adam::new(
        flow.params().all_vars(),
        AdamConfig {
            lr: cfg.lr,
            ..AdamConfig::default()
        },
    )?;
    let schedule = LrSchedule::Cosine {
        warmup: 0,
        min_lr: cfg.min_lr.min(cfg.lr),
    };
    let mut hist = TrainHistory {
        gradient: if score { "score" } else { "reparam" }.into(),
        ..TrainHistory::default()
    };
    let lambda = if forward.is_some() {
        cfg.forward_weight
    } else {
        0.0
    };
    for step in 0..cfg.steps {
        let lr = schedule.rate(cfg.lr, step, cfg.steps);
        adam.set_learning_rate(lr);
        let beta = cfg.beta(step);
        let ctx = match contexts {
            Some(sample) if target.context_dim() > 0 => Some(sample(cfg.contexts, rng)?),
            _ => None,
        };
        let (x, lq) = flow.sample_and_log_prob(cfg.samples, ctx.as_ref(), rng)?;
        let ctx_rows = ctx
            .as_ref()
            .map(|c| repeat_rows(c, cfg.samples))
            .transpose()?;
        let x_eval = if score { x.detach() } else { x.clone() };
        let lp = target.log_density(&x_eval, ctx_rows.as_ref())?;
        let lp_host = lp.to_dtype(DType::F64)?.to_vec1::<f64>()?;
        let pts = host_rows(&x.detach())?;
        let keep = check_values(
            target.name(),
            &lp_host,
            &pts,
            d,
            cfg.max_invalid_fraction,
            &format!("training step {step}"),
            &mut hist.invalid,
        )?;
        let dropped = lp_host.len() - keep.len();
        let pick = |t: &Tensor| -> Result<Tensor> {
            if dropped == 0 {
                return Ok(t.clone());
            }
            let idx: Vec<u32> = keep.iter().map(|&i| i as u32).collect();
            let n = idx.len();
            Ok(t.index_select(&Tensor::from_vec(idx, n, t.device())?, 0)?)
        };
        let lq_host = lq.to_dtype(DType::F64)?.to_vec1::<f64>()?;
        let elbo = keep.iter().map(|&i| lp_host[i] - lq_host[i]).sum::<f64>() / keep.len() as f64;
        let reverse = if score {
            let f: Vec<f64> = keep
                .iter()
                .map(|&i| lq_host[i] - beta * lp_host[i])
                .collect();
            let b = f.iter().sum::<f64>() / f.len() as f64;
            let centred = to_tensor(
                f.iter().map(|v| v - b).collect(),
                flow.dtype(),
                flow.device(),
            )?;
            let lq_theta =
                flow.log_prob_unchecked(&pick(&x.detach())?, pick_ctx(&ctx_rows, &pick)?.as_ref())?;
            (centred * lq_theta)?.mean_all()?
        } else {
            let lp_k = pick(&lp)?.to_dtype(flow.dtype())?;
            (pick(&lq)? - (lp_k * beta)?)?.mean_all()?
        };
        let loss = match &forward {
            Some(data) if lambda > 0.0 => {
                let n = data.dim(0)?;
                let idx: Vec<u32> = (0..cfg.forward_batch)
                    .map(|_| rng.random_range(0..n) as u32)
                    .collect();
                let rows = data
                    .index_select(&Tensor::from_vec(idx, cfg.forward_batch, data.device())?, 0)?;
                let nll = flow.log_prob_unchecked(&rows, None)?.mean_all()?.neg()?;
                ((reverse * (1.0 - lambda))? + (nll * lambda)?)?
            }
            _ => reverse,
        };
        let value = loss.to_dtype(DType::F64)?.to_scalar::<f64>()?;
        let mut skipped = true;
        if value.is_finite() {
            let norm = adam.backward_step(&loss, Some(cfg.clip))?;
            skipped = !norm.is_some_and(f64::is_finite);
        }
        if skipped {
            hist.skipped_steps += 1;
        }
        let record = StepRecord {
            step,
            lr,
            beta,
            elbo,
            loss: value,
            dropped,
            skipped,
        };
        on_step(&record);
        hist.records.push(record);
    }
    Ok(hist)
}

/// The kept rows of the repeated context, when there is one.
fn pick_ctx(
    ctx: &Option<Tensor>,
    pick: &dyn Fn(&Tensor) -> Result<Tensor>,
) -> Result<Option<Tensor>> {
    ctx.as_ref().map(pick).transpose()
}
