//! Training the flow proposal, online or buffered.
//!
//! * **Online**: every optimizer step draws a fresh batch from the current flow,
//!   evaluates the integrand on it and takes one step on the [`Loss`] of that batch
//!   (one integrand call per point per step).
//! * **Buffered**: a fresh batch is drawn every [`TrainConfig::reuse`] steps and stored
//!   with its weights `w = f/q_old`; the steps in between reuse it, the loss
//!   reweighting the stored points to the current flow by `q_θ/q_old` (see
//!   [`super::loss`]). This trades integrand calls (expensive integrands) for flow
//!   evaluations.
//!
//! Fresh batches also give the running estimate shown while training: the
//! inverse-variance combination of the batch estimates (as VEGAS combines its
//! iterations). It is for monitoring only; the reported result comes from fresh samples
//! of the final flow ([`super::estimate()`]).
//!
//! **Annealing** (on by default, [`TrainConfig::anneal`]): during the first fraction of the
//! steps the flow is trained towards the tempered target `f^β/I_β` with `β` rising
//! linearly from [`TrainConfig::beta_start`] to 1, then towards `f` itself. A tempered
//! target is broad, so the flow first covers every region where `f` is appreciable and
//! then sharpens onto all of them; without it a flow started from the uniform
//! distribution can lock onto the first peak it samples and never see another one
//! (the 16-dimensional camel, see docs/INTEGRATION.md). The tempered weights are formed
//! in log space (`β ln f − ln q`, shifted by their maximum). Only the loss sees `β`;
//! the monitoring estimate always uses `f`.
//!
//! *Adaptive annealing* ([`TrainConfig::anneal_ess`] = τ > 0): at every fresh batch
//! `β` moves ahead of the linear schedule to the largest exponent `β' ≤ 1` for which
//! the current flow is still a good proposal for `f^β'`, i.e. the tempered weights
//! `f^β'/q` of the batch have an effective-sample-size fraction `(Σw)²/(NΣw²) ≥ τ`
//! (found by bisection; `β` never decreases). The flow is thus always trained towards
//! the sharpest tempered target it can already sample, as adaptive tempering in
//! sequential Monte Carlo chooses its next temperature; where the flow follows `f`
//! easily `β` reaches 1 within a few steps, and the linear schedule bounds how long
//! the annealing may take — as long as the flow can sample the scheduled target: the
//! schedule forces `β` ahead only while the batch's tempered weights at it keep an ESS
//! fraction of at least [`MIN_FORCED_ESS`], and otherwise waits (training may then end
//! below `β = 1`; the report warns).
//!
//! *Narrow integrands*: when the untrained proposal cannot sample `f^beta_start` (its
//! tempered ESS fraction is below τ), the annealing starts at the largest lower `β`
//! that it can sample and rises geometrically ([`TrainConfig::beta_from`]). The start
//! is chosen at the first batch in which `f > 0` somewhere (batches with `f = 0`
//! everywhere teach nothing, so the flow is still the untrained one there).
//!
//! *Blind pilots* ([`TrainConfig::peak_start`], on by default): when fewer than 0.2 %
//! of that first batch have `f > 0` (a needle in 16 dimensions), the peak is found by
//! optimising `ln f` and the flow is fitted to a widened Gaussian around it before
//! training ([`super::peak_start`]). The annealing then starts on the fitted flow's
//! first batch, at the largest `β` of a halving grid that it samples
//! (`fitted_beta`: the ESS is no longer monotone in `β`), and the learning rate
//! warms up over [`PEAK_START_WARMUP`] steps; the pilot gate does not apply (the
//! untrained proposal did not see the mass).
//!
//! The defensive fraction [`TrainConfig::defensive`] mixes uniform points into every
//! batch while the flow is still finding the mass (the annealing, `β < 1`); once `β`
//! has reached 1 it decays linearly to 0 over the fraction
//! [`TrainConfig::defensive_decay`] of the remaining steps, so the flow that is
//! evaluated was last trained on its own draws: the uniform points' job (exploration,
//! bounded weights while the flow is wrong) is done by then
//! ([`TrainConfig::defensive_at`]). The pilot gate ([`TrainConfig::defensive_gate`],
//! on by default) sets the fraction to 0 from the step after the pilot on where there
//! is no mass to find: the pilot, the untrained proposal, already samples the tempered
//! target `f^`[`GATE_BETA`] with an ESS fraction of at least [`GATE_ESS`]
//! ([`TrainHistory::mass_found`]). The uniform points are there for integrands whose
//! mass the untrained proposal cannot see (needles, thin shells: the annealing start
//! is lowered far below `GATE_BETA`), where they are what finds it (measured:
//! without them the 16-d needle was found at 3 of 7 seeds, with them at all 7);
//! where the mass is within reach of the flow's own draws they are not needed, and
//! without them the camels train exactly as with no fraction at all
//! (docs/INTEGRATION.md, "The pilot gate as the default").
//! Every fresh batch is watched for collapse ([`super::guard`]; switched off only by
//! [`TrainConfig::collapse_guard`] = false, to measure its cost).
//!
//! Steps are skipped (no update) when a batch has `f = 0` everywhere or the gradient
//! is not finite; the count is reported. The learning rate follows a cosine decay from
//! [`TrainConfig::lr`] to [`TrainConfig::min_lr`]; gradients are clipped to a global
//! norm of [`TrainConfig::clip`].

use super::batch::{draw_weighted, draw_weighted_components, EvalOptions, InvalidCounts};
use super::flow_proposal::UnitFlow;
use super::guard::{BatchEstimate, Collapse, CollapseGuard};
use super::loss::Loss;
use super::peak_start::{is_blind, peak_start, PeakStart};
use super::proposal::Proposal;
use crate::error::{Error, Result};
use crate::train::{Adam, AdamConfig, LrSchedule};
use candle_core::Tensor;
use flowinfer_simulators::Integrand;
use rand::RngCore;
use serde::{Deserialize, Serialize};

/// How training uses integrand calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum TrainMode {
    /// A fresh batch for every step.
    #[default]
    Online,
    /// A fresh batch every `reuse` steps, reused (reweighted) in between.
    Buffered,
}

impl TrainMode {
    /// Parse `online` or `buffered`.
    pub fn parse(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "online" => Ok(TrainMode::Online),
            "buffered" => Ok(TrainMode::Buffered),
            other => Err(Error::config(format!(
                "mode must be `online` or `buffered`, got `{other}`"
            ))),
        }
    }

    /// Name as written in reports.
    pub fn name(&self) -> &'static str {
        match self {
            TrainMode::Online => "online",
            TrainMode::Buffered => "buffered",
        }
    }
}

/// Training settings (the `[train]` section of a spec; unknown keys are errors).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainConfig {
    /// The loss.
    pub loss: Loss,
    /// Online or buffered.
    pub mode: TrainMode,
    /// Optimizer steps.
    pub steps: usize,
    /// Points per fresh batch.
    pub batch: usize,
    /// Buffered mode: optimizer steps per fresh batch (≥ 1; ignored online).
    pub reuse: usize,
    /// Initial (Adam) learning rate.
    pub lr: f64,
    /// Final learning rate of the cosine decay.
    pub min_lr: f64,
    /// Global gradient-norm clip.
    pub clip: f64,
    /// Fraction of the steps over which the target is annealed from `f^beta_start` to
    /// `f` at the latest (default 0.3; 0 = no annealing; module docs).
    pub anneal: f64,
    /// Starting exponent `β` of the annealing (in (0, 1]).
    pub beta_start: f64,
    /// Adaptive annealing (0 = off, else in (0, 1)): at each fresh batch `β` jumps
    /// ahead of the linear schedule to the largest exponent whose tempered weights
    /// `f^β/q` on that batch keep at least this effective-sample-size fraction (module
    /// docs). The linear schedule stays the slowest path; with `anneal = 0` there is
    /// no annealing and this is ignored. Default 0.5.
    pub anneal_ess: f64,
    /// Fraction of every training batch drawn uniformly from the flow's cube (the
    /// defensive mixture of [`super::proposal`]: weights are taken against the
    /// mixture, so the loss stays unbiased); 0 = the flow alone. Default
    /// [`DEFENSIVE_TRAIN`](super::proposal::DEFENSIVE_TRAIN).
    pub defensive: f64,
    /// Fraction of the steps left after `β` first reaches 1 over which the defensive
    /// fraction decays linearly to 0 (in [0, 1]; 0 = it stays at `defensive`
    /// throughout; module docs). Default [`DEFENSIVE_DECAY`].
    pub defensive_decay: f64,
    /// When the untrained proposal already samples `f^GATE_BETA` (the pilot's tempered
    /// weights at [`GATE_BETA`] keep an ESS fraction of at least [`GATE_ESS`]: the mass
    /// is within reach of the flow's own draws), the training defensive fraction is 0
    /// from the step after the pilot on instead of decaying (module docs). Default
    /// true; `false` keeps the fraction wherever the pilot stands.
    pub defensive_gate: bool,
    /// How the training loss weighs the points of a batch with a defensive fraction
    /// ([`DefensiveWeights`]; default `mixture`).
    pub defensive_weights: DefensiveWeights,
    /// When the untrained proposal is blind to the integrand (fewer than
    /// [`BLIND_FRACTION`](super::peak_start::BLIND_FRACTION) of the first batch with
    /// mass have `f > 0`), find the peak by optimising `ln f` and fit the flow to a
    /// Gaussian around it before training ([`super::peak_start`]; default true).
    pub peak_start: bool,
    /// Watch every fresh batch for collapse and restore the flow when its estimate
    /// falls by orders of magnitude ([`super::guard`]; default true). `false` switches
    /// the guard off — only to measure what it costs; a collapse then goes unseen.
    pub collapse_guard: bool,
}

/// How the training loss weighs a batch drawn from the defensive mixture
/// `q_α = (1 − α) q + α`. Both are unbiased; they differ in what a flow point in the
/// flow's own tail (where `q` is below about `α`) contributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum DefensiveWeights {
    /// `f/q_α` for every point (the balance heuristic; the default): every training
    /// weight is bounded by `f/α`, and a flow point in the flow's tail is damped by
    /// `q/q_α`.
    #[default]
    Mixture,
    /// `f/q` for a flow point and `f` for a uniform one (each point weighed by its own
    /// component): a flow point in the flow's tail keeps its full weight, so the loss
    /// sees where the flow is too thin. The price: a uniform point where the flow is
    /// thin carries `f` instead of about `f/α` (less exploration), and no training
    /// weight of a flow point is bounded. Experimental, for the camel-cost measurement
    /// (docs/INTEGRATION.md).
    Component,
}

/// The pilot's tempered ESS fraction at [`GATE_BETA`] from which
/// [`TrainConfig::defensive_gate`] counts the mass as found.
pub const GATE_ESS: f64 = 0.5;

/// The tempered target `f^GATE_BETA` that the pilot must sample for
/// [`TrainConfig::defensive_gate`] to count the mass as found. Of the shipped specs the
/// camels (annealing start 0.10–0.17), the Breit–Wigner and e⁺e⁻ → q q̄ g pass; the
/// needles, the shell and the two needles (start lowered to 0.004 or 10⁻⁶) do not.
pub const GATE_BETA: f64 = 0.05;

/// Steps over which the learning rate warms up linearly after a peak start
/// ([`super::peak_start`]).
pub const PEAK_START_WARMUP: usize = 50;

/// The default [`TrainConfig::defensive_decay`]: the training defensive fraction
/// reaches 0 halfway through the steps after the annealing ends.
pub const DEFENSIVE_DECAY: f64 = 0.5;

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            loss: Loss::Kl,
            mode: TrainMode::Online,
            steps: 500,
            batch: 4096,
            reuse: 4,
            lr: 2e-2,
            min_lr: 1e-4,
            clip: 10.0,
            anneal: 0.3,
            beta_start: 0.2,
            anneal_ess: 0.5,
            defensive: super::proposal::DEFENSIVE_TRAIN,
            defensive_decay: DEFENSIVE_DECAY,
            defensive_gate: true,
            defensive_weights: DefensiveWeights::Mixture,
            peak_start: true,
            collapse_guard: true,
        }
    }
}

impl TrainConfig {
    /// Check the settings.
    pub fn validate(&self) -> Result<()> {
        if self.batch < 2 {
            return Err(Error::config(format!(
                "training batch must be at least 2, got {}",
                self.batch
            )));
        }
        if self.reuse == 0 {
            return Err(Error::config("buffered reuse must be at least 1"));
        }
        let pos = |v: f64| v.is_finite() && v > 0.0;
        if !(pos(self.lr) && self.min_lr.is_finite() && self.min_lr >= 0.0) {
            return Err(Error::config(format!(
                "learning rates must be finite with lr > 0 and min_lr ≥ 0, got {} and {}",
                self.lr, self.min_lr
            )));
        }
        if !(self.anneal.is_finite() && (0.0..=1.0).contains(&self.anneal)) {
            return Err(Error::config(format!(
                "anneal must be a fraction of the steps in [0, 1], got {}",
                self.anneal
            )));
        }
        if !(self.beta_start.is_finite() && self.beta_start > 0.0 && self.beta_start <= 1.0) {
            return Err(Error::config(format!(
                "beta_start must lie in (0, 1], got {}",
                self.beta_start
            )));
        }
        if !(self.anneal_ess.is_finite() && (0.0..1.0).contains(&self.anneal_ess)) {
            return Err(Error::config(format!(
                "anneal_ess must lie in [0, 1) (0 = off), got {}",
                self.anneal_ess
            )));
        }
        super::proposal::check_fraction(self.defensive)
            .map_err(|e| Error::config(format!("[train] {e}")))?;
        if !(self.defensive_decay.is_finite() && (0.0..=1.0).contains(&self.defensive_decay)) {
            return Err(Error::config(format!(
                "defensive_decay must be a fraction of the steps after the annealing in [0, 1] \
                 (0 = a constant defensive fraction), got {}",
                self.defensive_decay
            )));
        }
        if !pos(self.clip) {
            return Err(Error::config(format!(
                "gradient clip must be positive, got {}",
                self.clip
            )));
        }
        Ok(())
    }

    /// The annealing exponent `β` at `step` (1 without annealing).
    pub fn beta(&self, step: usize) -> f64 {
        self.beta_from(self.beta_start, step)
    }

    /// The slowest annealing path from `start` to 1 over the annealing span, at `step`:
    /// linear from `beta_start`, geometric (`start^(1 − t)`, a constant factor per
    /// step) from a lower start chosen for a narrow integrand, whose early targets
    /// differ by orders of magnitude in `β`.
    pub fn beta_from(&self, start: f64, step: usize) -> f64 {
        let span = self.anneal * self.steps as f64;
        if span < 1.0 {
            return 1.0;
        }
        let t = (step as f64 / span).min(1.0);
        if start < self.beta_start {
            start.powf(1.0 - t)
        } else {
            (start + (1.0 - start) * t).min(1.0)
        }
    }

    /// The training defensive fraction at `step`, given the step at which `β` first
    /// reached 1 (`None`: not yet): [`defensive`](Self::defensive) until then, then
    /// linearly down to 0 over [`defensive_decay`](Self::defensive_decay) of the steps
    /// left (module docs).
    ///
    /// ```
    /// use flowinfer::integrate::TrainConfig;
    /// let cfg = TrainConfig { steps: 1000, defensive: 0.05, defensive_decay: 0.5, ..TrainConfig::default() };
    /// assert_eq!(cfg.defensive_at(10, None), 0.05); // still annealing
    /// assert_eq!(cfg.defensive_at(200, Some(200)), 0.05); // β = 1 from step 200 on
    /// assert!((cfg.defensive_at(400, Some(200)) - 0.025).abs() < 1e-12); // 400 steps of decay
    /// assert_eq!(cfg.defensive_at(600, Some(200)), 0.0);
    /// ```
    pub fn defensive_at(&self, step: usize, full_from: Option<usize>) -> f64 {
        let Some(s1) = full_from.filter(|_| self.defensive_decay > 0.0) else {
            return self.defensive;
        };
        let span = self.defensive_decay * self.steps.saturating_sub(s1) as f64;
        if span <= 0.0 {
            return 0.0;
        }
        let t = step.saturating_sub(s1) as f64 / span;
        (self.defensive * (1.0 - t)).max(0.0)
    }

    /// Integrand calls `steps` steps use.
    pub fn calls(&self) -> usize {
        self.fresh_batches() * self.batch
    }

    /// Number of fresh batches drawn.
    pub fn fresh_batches(&self) -> usize {
        match self.mode {
            TrainMode::Online => self.steps,
            TrainMode::Buffered => self.steps.div_ceil(self.reuse),
        }
    }
}

/// One optimizer step.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepRecord {
    /// Step index (0-based).
    pub step: usize,
    /// Integrand calls so far (including this step's).
    pub calls: usize,
    /// Loss value (NaN when the step was skipped).
    pub loss: f64,
    /// Learning rate used.
    pub lr: f64,
    /// Annealing exponent of the target (1 = the integrand itself).
    pub beta: f64,
    /// Batch estimate, when the step drew a fresh batch.
    pub estimate: Option<f64>,
    /// Batch relative standard deviation per event, when the step drew a fresh batch.
    pub rel_std: Option<f64>,
    /// The proposal's entropy `−mean(ln q)` over a fresh batch (nats; see
    /// [`super::guard`]).
    pub entropy: Option<f64>,
    /// The defensive fraction of the proposal this step's batch was drawn from
    /// ([`TrainConfig::defensive_at`]).
    pub defensive: f64,
    /// Whether the update was skipped.
    pub skipped: bool,
}

/// Inverse-variance combination of batch estimates (for monitoring).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RunningEstimate {
    sum_w: f64,
    sum_wi: f64,
    /// Batches combined.
    pub batches: usize,
}

impl RunningEstimate {
    /// Add a batch estimate with its standard error (ignored when not positive).
    pub fn add(&mut self, estimate: f64, std_error: f64) {
        if std_error > 0.0 && std_error.is_finite() && estimate.is_finite() {
            let w = 1.0 / (std_error * std_error);
            self.sum_w += w;
            self.sum_wi += w * estimate;
            self.batches += 1;
        }
    }

    /// The combined estimate (NaN before any batch).
    pub fn estimate(&self) -> f64 {
        if self.sum_w > 0.0 {
            self.sum_wi / self.sum_w
        } else {
            f64::NAN
        }
    }

    /// Its standard error (NaN before any batch).
    pub fn std_error(&self) -> f64 {
        if self.sum_w > 0.0 {
            self.sum_w.sqrt().recip()
        } else {
            f64::NAN
        }
    }
}

/// The outcome of training.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TrainHistory {
    /// Every step.
    pub records: Vec<StepRecord>,
    /// Integrand calls used.
    pub calls: usize,
    /// Steps without an update (all-zero batch or non-finite gradient).
    pub skipped_steps: usize,
    /// The running (monitoring) estimate.
    pub running: RunningEstimate,
    /// The first fresh batch, drawn before any update: the pilot estimate
    /// ([`super::guard`]).
    pub pilot: Option<BatchEstimate>,
    /// Collapses of the batch estimate seen during training ([`super::guard`]).
    pub collapses: Vec<Collapse>,
    /// The exponent the annealing started from (below `beta_start` when the untrained
    /// proposal could not sample `f^beta_start`; module docs).
    pub beta_initial: f64,
    /// Whether the pilot already sampled `f^`[`GATE_BETA`], so that the training
    /// defensive fraction stopped after the pilot ([`TrainConfig::defensive_gate`]).
    pub mass_found: bool,
    /// The peak start, when the pilot was blind ([`TrainConfig::peak_start`]).
    pub peak_start: Option<PeakStart>,
}

/// A stored batch in the loss's normalisation (see [`super::loss`]).
struct Stored {
    x: Tensor,
    a: Tensor,
    b: Tensor,
}

/// The loss inputs `a = (f^β/q)/Î_β` and `b = f^β/Î_β` (see [`super::loss`]) of a
/// batch with `f > 0` somewhere, computed in log space.
fn loss_weights(f: &[f64], log_q: &[f64], beta: f64) -> (Vec<f64>, Vec<f64>) {
    let lf: Vec<f64> = f
        .iter()
        .map(|v| {
            if *v > 0.0 {
                beta * v.ln()
            } else {
                f64::NEG_INFINITY
            }
        })
        .collect();
    let lw: Vec<f64> = lf.iter().zip(log_q).map(|(l, q)| l - q).collect();
    let m = lw.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mean = lw.iter().map(|l| (l - m).exp()).sum::<f64>() / lw.len() as f64;
    let a = lw.iter().map(|l| (l - m).exp() / mean).collect();
    let b = lf.iter().map(|l| (l - m).exp() / mean).collect();
    (a, b)
}

/// `ln f` per point, `−∞` where `f = 0`.
fn ln_values(f: &[f64]) -> Vec<f64> {
    f.iter()
        .map(|v| if *v > 0.0 { v.ln() } else { f64::NEG_INFINITY })
        .collect()
}

/// Effective-sample-size fraction `(Σw)²/(N Σw²)` of the tempered weights
/// `w = f^β/q`, from `ln f` (−∞ where `f = 0`) and `ln q`, in log space.
fn tempered_ess_fraction(log_f: &[f64], log_q: &[f64], beta: f64) -> f64 {
    let lw = |(lf, lq): (&f64, &f64)| beta * lf - lq;
    let m = log_f
        .iter()
        .zip(log_q)
        .map(lw)
        .fold(f64::NEG_INFINITY, f64::max);
    if !m.is_finite() {
        return 0.0;
    }
    let (s1, s2) = log_f
        .iter()
        .zip(log_q)
        .map(lw)
        .fold((0.0, 0.0), |(a, b), l| {
            let e = (l - m).exp();
            (a + e, b + e * e)
        });
    s1 * s1 / (s2 * log_f.len() as f64)
}

/// The adaptive exponent (module docs): the largest `β' ∈ [beta, 1]` with a tempered
/// ESS fraction of at least `tau`, or `beta` when even that falls short.
fn adaptive_beta(f: &[f64], log_q: &[f64], beta: f64, tau: f64) -> f64 {
    let log_f = ln_values(f);
    let ess = |b: f64| tempered_ess_fraction(&log_f, log_q, b);
    if ess(1.0) >= tau {
        return 1.0;
    }
    if ess(beta) < tau {
        return beta;
    }
    let (mut lo, mut hi) = (beta, 1.0);
    for _ in 0..30 {
        let mid = 0.5 * (lo + hi);
        if ess(mid) >= tau {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    lo
}

/// The tempered-weight ESS fraction below which the schedule's slowest path does not
/// force `β` ahead: the flow cannot yet sample that target (module docs).
pub const MIN_FORCED_ESS: f64 = 0.01;

/// The slowest path's exponent `scheduled` when the batch's tempered weights at it keep
/// an ESS fraction of at least [`MIN_FORCED_ESS`], else `beta` (no forced step into a
/// target the flow cannot sample: the annealing then waits, as adaptive tempering
/// does, and training may end below `β = 1` — reported).
fn forced_beta(f: &[f64], log_q: &[f64], beta: f64, scheduled: f64) -> f64 {
    if scheduled <= beta {
        return beta;
    }
    let log_f = ln_values(f);
    if tempered_ess_fraction(&log_f, log_q, scheduled) >= MIN_FORCED_ESS {
        scheduled
    } else {
        beta
    }
}

/// The exponent the annealing starts from: `beta_start`, or — when the untrained
/// proposal's tempered weights at `beta_start` keep an ESS fraction below `tau` (a
/// narrow integrand) — the largest `β < beta_start` at which they reach `tau`
/// (bisection in `ln β` down to `1e-6`), so the first target is one the proposal can
/// sample, as adaptive tempering chooses its first temperature.
fn initial_beta(f: &[f64], log_q: &[f64], beta_start: f64, tau: f64) -> f64 {
    let log_f = ln_values(f);
    let ess = |b: f64| tempered_ess_fraction(&log_f, log_q, b);
    const FLOOR: f64 = 1e-6;
    if ess(beta_start) >= tau || ess(FLOOR) < tau {
        return if ess(beta_start) >= tau {
            beta_start
        } else {
            FLOOR
        };
    }
    let (mut lo, mut hi) = (FLOOR.ln(), beta_start.ln());
    for _ in 0..40 {
        let mid = 0.5 * (lo + hi);
        if ess(mid.exp()) >= tau {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    lo.exp()
}

/// The annealing start after a peak start: the largest `β` of a grid from 1 down to
/// `1e-6` (halving) whose tempered weights keep an ESS fraction of at least `tau`, else
/// the grid's `β` with the largest ESS fraction. A flow fitted around the peak samples
/// a sharp target better than a flat one (the flat one is mostly where the flow has
/// no points), so the ESS is not monotone in `β` and [`initial_beta`]'s search from
/// below does not apply.
fn fitted_beta(f: &[f64], log_q: &[f64], tau: f64) -> f64 {
    let log_f = ln_values(f);
    let grid = std::iter::successors(Some(1.0f64), |b| Some(b * 0.5)).take_while(|b| *b >= 1e-6);
    let mut best = (f64::NEG_INFINITY, 1.0);
    for b in grid {
        let e = tempered_ess_fraction(&log_f, log_q, b);
        if e >= tau {
            return b;
        }
        if e > best.0 {
            best = (e, b);
        }
    }
    best.1
}

/// Train `flow` on `integrand` (module docs); `on_step` sees every step and the
/// running estimate, `on_collapse` every collapse of the batch estimate
/// ([`super::guard`]).
#[allow(clippy::too_many_arguments)]
pub fn train_flow(
    flow: &UnitFlow,
    integrand: &dyn Integrand,
    cfg: &TrainConfig,
    rng: &mut dyn RngCore,
    opts: &EvalOptions,
    invalid: &mut InvalidCounts,
    on_step: &mut dyn FnMut(&StepRecord, &RunningEstimate),
    on_collapse: &mut dyn FnMut(&Collapse),
) -> Result<TrainHistory> {
    cfg.validate()?;
    let vars = flow.flow().params().all_vars();
    let mut adam = Adam::new(
        vars,
        AdamConfig {
            lr: cfg.lr,
            ..AdamConfig::default()
        },
    )?;
    let schedule = LrSchedule::Cosine {
        warmup: 0,
        min_lr: cfg.min_lr.min(cfg.lr),
    };
    let reuse = match cfg.mode {
        TrainMode::Online => 1,
        TrainMode::Buffered => cfg.reuse,
    };
    // The step at which β first reached 1 (the defensive fraction decays from there).
    let mut full_from: Option<usize> = None;
    let mut hist = TrainHistory::default();
    let mut stored: Option<Stored> = None;
    let mut guard = CollapseGuard::default();
    // Learning-rate factor: halved at every repaired collapse.
    let mut lr_factor = 1.0;
    // The exponent in force (adaptive annealing moves it ahead of the schedule) and the
    // start of the linear schedule (lowered at the first batch when needed).
    let mut beta_start = cfg.beta_start;
    let mut beta = cfg.beta(0);
    // Whether a batch with f > 0 somewhere has been seen (the annealing start is
    // chosen there).
    let mut started = false;
    // The step at which the peak start fitted the flow, if it did.
    let mut fitted_at: Option<usize> = None;
    for step in 0..cfg.steps {
        // After a peak start the flow is no longer the identity, and Adam's first steps
        // (every parameter moved by about the learning rate) would undo the fit: the
        // rate warms up linearly over [`PEAK_START_WARMUP`] steps.
        let warm = fitted_at.map_or(1.0, |s: usize| {
            ((step - s) as f64 / PEAK_START_WARMUP as f64).min(1.0)
        });
        let lr = warm * lr_factor * schedule.rate(cfg.lr, step, cfg.steps);
        adam.set_learning_rate(lr);
        let mut record = StepRecord {
            step,
            calls: hist.calls,
            loss: f64::NAN,
            lr,
            beta,
            estimate: None,
            rel_std: None,
            entropy: None,
            defensive: if hist.mass_found {
                0.0
            } else {
                cfg.defensive_at(step, full_from)
            },
            skipped: true,
        };
        if step % reuse == 0 {
            let proposal = Proposal::new(flow, record.defensive)?;
            // The loss's own log densities (module docs of `DefensiveWeights`); `None`:
            // the mixture's, as every other figure of the batch.
            let (b, loss_log_q) =
                if cfg.defensive_weights == DefensiveWeights::Component && record.defensive > 0.0 {
                    let (b, own) = draw_weighted_components(
                        &proposal, integrand, cfg.batch, rng, opts, invalid, "training",
                    )?;
                    (b, Some(own))
                } else {
                    let b = draw_weighted(
                        &proposal, integrand, cfg.batch, rng, opts, invalid, "training",
                    )?;
                    (b, None)
                };
            hist.calls += cfg.batch;
            record.calls = hist.calls;
            let n = b.w.len() as f64;
            let mean = b.w.iter().sum::<f64>() / n;
            let var = b.w.iter().map(|w| (w - mean).powi(2)).sum::<f64>() / (n - 1.0);
            record.estimate = Some(mean);
            record.rel_std = Some(if mean > 0.0 {
                var.sqrt() / mean
            } else {
                f64::NAN
            });
            hist.running.add(mean, (var / n).sqrt());
            let summary = BatchEstimate::new(step, &b.w, &b.log_q);
            record.entropy = Some(summary.entropy);
            if step == 0 {
                hist.pilot = Some(summary.clone());
                hist.beta_initial = beta;
            }
            // The start is chosen at the first batch with f > 0 somewhere: until then
            // nothing was learnt (no batch to learn from), so that batch still comes
            // from the untrained proposal. A needle in 16 dimensions can give a first
            // batch of 4096 uniform points whose f all underflow to 0.
            // A blind pilot (a needle in many dimensions): find the peak and fit the
            // flow around it; this batch came from the untrained proposal, so the
            // annealing starts at the next one, drawn from the fitted flow.
            if !started
                && mean > 0.0
                && cfg.peak_start
                && hist.peak_start.is_none()
                && is_blind(&b.f)
            {
                let p = peak_start(
                    flow, integrand, opts, &b.points, &b.f, cfg.batch, cfg.lr, rng, invalid,
                )?;
                hist.calls += p.calls;
                record.calls = hist.calls;
                hist.peak_start = Some(p);
                fitted_at = Some(step);
                // Nothing is learnt from this batch (the flow it came from is gone):
                // a skipped step.
                stored = None;
                if beta >= 1.0 && full_from.is_none() {
                    full_from = Some(step);
                }
                hist.skipped_steps += 1;
                on_step(&record, &hist.running);
                hist.records.push(record);
                continue;
            }
            if !started && mean > 0.0 {
                started = true;
                hist.mass_found = cfg.defensive_gate && hist.peak_start.is_none() && {
                    let log_f = ln_values(&b.f);
                    tempered_ess_fraction(&log_f, &b.log_q, GATE_BETA) >= GATE_ESS
                };
                if cfg.anneal > 0.0 && cfg.anneal_ess > 0.0 {
                    beta_start = if hist.peak_start.is_some() {
                        fitted_beta(&b.f, &b.log_q, cfg.anneal_ess)
                    } else {
                        initial_beta(&b.f, &b.log_q, cfg.beta_start, cfg.anneal_ess)
                    };
                    beta = beta_start;
                }
                hist.beta_initial = beta;
            }
            let mut restored = false;
            let collapse = if cfg.collapse_guard {
                guard.observe(&summary, flow.flow().params())?
            } else {
                None
            };
            if let Some(c) = collapse {
                restored = c.restored;
                if c.restored {
                    // The flow is back at the reference; start the optimizer afresh.
                    lr_factor *= 0.5;
                    adam = Adam::new(
                        flow.flow().params().all_vars(),
                        AdamConfig {
                            lr: lr_factor * schedule.rate(cfg.lr, step, cfg.steps),
                            ..AdamConfig::default()
                        },
                    )?;
                }
                on_collapse(&c);
            }
            beta = forced_beta(&b.f, &b.log_q, beta, cfg.beta_from(beta_start, step));
            if cfg.anneal_ess > 0.0 && beta < 1.0 && mean > 0.0 {
                beta = adaptive_beta(&b.f, &b.log_q, beta, cfg.anneal_ess);
            }
            record.beta = beta;
            if beta >= 1.0 && full_from.is_none() {
                full_from = Some(step);
            }
            // A batch of a collapsed flow is not learnt from: the flow was restored.
            stored = if mean > 0.0 && !restored {
                let (a, bb) =
                    loss_weights(&b.f, loss_log_q.as_ref().unwrap_or(&b.log_q), record.beta);
                let dev = flow.device();
                let t = |v: Vec<f64>| -> Result<Tensor> {
                    Ok(Tensor::from_vec(v, b.w.len(), dev)?.to_dtype(flow.dtype())?)
                };
                Some(Stored {
                    a: t(a)?,
                    b: t(bb)?,
                    x: b.x,
                })
            } else {
                None
            };
        }
        if let Some(s) = &stored {
            let log_q = flow.log_prob(&s.x)?;
            let loss = cfg.loss.value(&log_q, &s.a, &s.b)?;
            let value = loss.to_dtype(candle_core::DType::F64)?.to_scalar::<f64>()?;
            record.loss = value;
            if value.is_finite() {
                let norm = adam.backward_step(&loss, Some(cfg.clip))?;
                record.skipped = !norm.is_some_and(f64::is_finite);
            }
        }
        if record.skipped {
            hist.skipped_steps += 1;
        }
        on_step(&record, &hist.running);
        hist.records.push(record);
    }
    hist.collapses = guard.collapses;
    Ok(hist)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_does_not_force_a_target_the_flow_cannot_sample() {
        // 1000 points; f = 1 everywhere except one point with f = 1e12: at β = 1 one
        // weight carries everything (ESS fraction 1e-3), at β = 0.1 it is broad.
        let mut f = vec![1.0; 1000];
        f[7] = 1e12;
        let log_q = vec![0.0; 1000];
        assert_eq!(forced_beta(&f, &log_q, 0.05, 1.0), 0.05);
        assert_eq!(forced_beta(&f, &log_q, 0.05, 0.1), 0.1);
        // Never backwards.
        assert_eq!(forced_beta(&f, &log_q, 0.5, 0.1), 0.5);
        // A lowered start: the largest β below beta_start with ESS fraction ≥ τ.
        let b = initial_beta(&f, &log_q, 0.2, 0.5);
        assert!(b < 0.2 && b > 1e-6, "{b}");
        let lf: Vec<f64> = f.iter().map(|v| v.ln()).collect();
        assert!((tempered_ess_fraction(&lf, &log_q, b) - 0.5).abs() < 1e-3);
        // Geometric from a lowered start, linear from beta_start.
        let cfg = TrainConfig {
            steps: 100,
            anneal: 0.5,
            ..TrainConfig::default()
        };
        assert!((cfg.beta_from(1e-4, 25) - 1e-2).abs() < 1e-12);
        assert!((cfg.beta_from(0.2, 25) - 0.6).abs() < 1e-12);
        assert_eq!(cfg.beta_from(1e-4, 50), 1.0);
    }

    /// `train_flow` of a small 2-d unit flow (8 bins, hidden 16, 2 layers; flow seed 1)
    /// on `f` for `steps` steps of 256 points (rng seed 2), with or without the gate.
    fn train_small(f: &dyn Integrand, steps: usize, gate: bool) -> (TrainConfig, TrainHistory) {
        let cfg = TrainConfig {
            steps,
            batch: 256,
            defensive_gate: gate,
            ..TrainConfig::default()
        };
        let h = train_small_with(f, &cfg);
        (cfg, h)
    }

    /// `train_flow` of the small flow of [`train_small`] with the settings `cfg`.
    fn train_small_with(f: &dyn Integrand, cfg: &TrainConfig) -> TrainHistory {
        use super::super::flow_proposal::UnitFlowConfig;
        use rand::SeedableRng;
        let flow_cfg = UnitFlowConfig {
            bins: 8,
            hidden: 16,
            layers: 2,
            ..UnitFlowConfig::default()
        };
        let dev = candle_core::Device::Cpu;
        let flow = UnitFlow::new(2, &flow_cfg, candle_core::DType::F32, &dev, 1).unwrap();
        train_flow(
            &flow,
            f,
            cfg,
            &mut rand::rngs::StdRng::seed_from_u64(2),
            &EvalOptions::default(),
            &mut InvalidCounts::default(),
            &mut |_, _| {},
            &mut |_| {},
        )
        .unwrap()
    }

    #[test]
    fn the_collapse_guard_can_be_switched_off() {
        use flowinfer_simulators::FnIntegrand;
        use std::sync::atomic::{AtomicUsize, Ordering};
        // Mass in the first two batches (2 × 256 calls), none afterwards: a collapse at
        // every later batch, which the guard sees and the switched-off guard does not.
        let vanishing = || {
            let calls = AtomicUsize::new(0);
            FnIntegrand::new("vanishing", 2, move |_x: &[f64]| {
                f64::from(calls.fetch_add(1, Ordering::Relaxed) < 512)
            })
        };
        let cfg = TrainConfig {
            steps: 5,
            batch: 256,
            ..TrainConfig::default()
        };
        assert!(cfg.collapse_guard);
        let on = train_small_with(&vanishing(), &cfg);
        assert_eq!(on.collapses.len(), 3, "steps 2..4 collapse");
        assert!(on.collapses[0].restored);
        let off = train_small_with(
            &vanishing(),
            &TrainConfig {
                collapse_guard: false,
                ..cfg
            },
        );
        assert!(off.collapses.is_empty(), "{:?}", off.collapses);
        assert_eq!(off.records.len(), 5);
    }

    #[test]
    fn the_annealing_start_is_chosen_at_the_first_batch_with_mass() {
        use flowinfer_simulators::FnIntegrand;
        use std::sync::atomic::{AtomicUsize, Ordering};
        // A narrow bump whose first three batches (all f underflowing, as a needle in
        // 16-d gives) are 0: the start must still be lowered, at the fourth batch.
        let calls = AtomicUsize::new(0);
        let f = FnIntegrand::new("late bump", 2, move |x: &[f64]| {
            if calls.fetch_add(1, Ordering::Relaxed) < 3 * 256 {
                return 0.0;
            }
            let r2 = (x[0] - 0.3).powi(2) + (x[1] - 0.6).powi(2);
            (-r2 / (2.0 * 0.01f64.powi(2))).exp()
        });
        let (cfg, h) = train_small(&f, 6, true);
        assert!(h.records[..3].iter().all(|r| r.estimate == Some(0.0)));
        assert!(h.records[..3].iter().all(|r| r.beta == cfg.beta_start));
        assert!(h.beta_initial < cfg.beta_start, "{}", h.beta_initial);
        // The narrow bump is not found by the pilot: the fraction is not gated off.
        assert!(!h.mass_found);
        assert!(h.records.iter().all(|r| r.defensive == cfg.defensive));
    }

    #[test]
    fn component_weights_change_training_only_where_there_are_uniform_points() {
        use flowinfer_simulators::FnIntegrand;
        let f = FnIntegrand::new("bump", 2, |x: &[f64]| {
            (-((x[0] - 0.5).powi(2) + (x[1] - 0.5).powi(2)) / (2.0 * 0.1f64.powi(2))).exp()
        });
        let cfg = |weights, defensive| TrainConfig {
            steps: 6,
            batch: 256,
            defensive,
            defensive_weights: weights,
            // The pilot samples this bump: keep the fraction the test compares.
            defensive_gate: false,
            ..TrainConfig::default()
        };
        let losses = |h: &TrainHistory| h.records.iter().map(|r| r.loss).collect::<Vec<_>>();
        // Without a defensive fraction both weigh by the flow alone: the same run.
        let a = train_small_with(&f, &cfg(DefensiveWeights::Mixture, 0.0));
        let b = train_small_with(&f, &cfg(DefensiveWeights::Component, 0.0));
        assert_eq!(losses(&a), losses(&b));
        // With one, the same first batch (same stream), then different updates: the
        // untrained flow is uniform (log q = 0, loss 0 whatever the weights), so the
        // weights show from the second step on.
        let a = train_small_with(&f, &cfg(DefensiveWeights::Mixture, 0.3));
        let b = train_small_with(&f, &cfg(DefensiveWeights::Component, 0.3));
        assert_eq!(a.records[0].estimate, b.records[0].estimate);
        assert_ne!(losses(&a)[1..], losses(&b)[1..]);
        assert!(
            b.records.iter().all(|r| r.loss.is_finite()),
            "{:?}",
            losses(&b)
        );
    }

    const DEFENSIVE_TRAIN_DEFAULT: f64 = super::super::proposal::DEFENSIVE_TRAIN;

    #[test]
    fn the_gate_asks_for_f_to_the_gate_beta_not_to_beta_start() {
        use flowinfer_simulators::FnIntegrand;
        // A bump of σ = 0.06: the uniform pilot samples f^GATE_BETA (ESS fraction ≈ 0.7)
        // but not f^0.2 (≈ 0.23), so the annealing start is lowered below beta_start —
        // as on the camels — and the gate still fires.
        let f = FnIntegrand::new("bump", 2, |x: &[f64]| {
            (-((x[0] - 0.5).powi(2) + (x[1] - 0.5).powi(2)) / (2.0 * 0.06f64.powi(2))).exp()
        });
        let (cfg, h) = train_small(&f, 4, true);
        assert!(h.beta_initial < cfg.beta_start, "{}", h.beta_initial);
        assert!(h.beta_initial > GATE_BETA, "{}", h.beta_initial);
        assert!(h.mass_found);
        assert!(h.records[1..].iter().all(|r| r.defensive == 0.0));
    }

    #[test]
    fn the_defensive_fraction_stops_after_the_pilot_when_it_found_the_mass() {
        use flowinfer_simulators::FnIntegrand;
        // A bump of σ = 0.1: the uniform pilot samples f^GATE_BETA (and even f^0.2,
        // ESS fraction ≈ 0.6) but not f (≈ 0.13), so the annealing runs, and the
        // fraction is 0 from the step after the pilot on, while β is still below 1.
        let f = FnIntegrand::new("bump", 2, |x: &[f64]| {
            (-((x[0] - 0.5).powi(2) + (x[1] - 0.5).powi(2)) / (2.0 * 0.1f64.powi(2))).exp()
        });
        let run = |gate: bool| train_small(&f, 8, gate).1;
        let gated = run(true);
        assert!(gated.mass_found);
        assert!(gated.records[1].beta < 1.0, "{:?}", gated.records[1]);
        let alphas: Vec<f64> = gated.records.iter().map(|r| r.defensive).collect();
        assert_eq!(alphas[0], DEFENSIVE_TRAIN_DEFAULT);
        assert!(alphas[1..].iter().all(|a| *a == 0.0), "{alphas:?}");
        // Without the gate the fraction is kept while the annealing runs.
        let kept = run(false);
        assert!(!kept.mass_found);
        assert!(kept.records[1].defensive > 0.0, "{:?}", kept.records[1]);
    }

    #[test]
    fn a_blind_pilot_gets_a_peak_start_and_the_flow_finds_the_peak() {
        use flowinfer_simulators::FnIntegrand;
        // A bump of σ = 0.005 cut off at r = 0.015: f > 0 on 0.07 % of the square, so
        // the uniform pilot of 1024 points is blind (about 1 point).
        // Exact: 2πσ² (1 − e^{−4.5}).
        let (c, s) = ([0.37, 0.61], 0.005f64);
        let f = FnIntegrand::new("cut bump", 2, move |x: &[f64]| {
            let r2 = (x[0] - c[0]).powi(2) + (x[1] - c[1]).powi(2);
            if r2 < 0.015f64.powi(2) {
                (-r2 / (2.0 * s * s)).exp()
            } else {
                0.0
            }
        });
        let exact = 2.0 * std::f64::consts::PI * s * s * (1.0 - (-4.5f64).exp());
        let cfg = TrainConfig {
            steps: 40,
            batch: 1024,
            ..TrainConfig::default()
        };
        let h = train_small_with(&f, &cfg);
        let p = h
            .peak_start
            .as_ref()
            .expect("the blind pilot triggers the peak start");
        assert!(p.pilot_nonzero < 3, "{p:?}");
        assert!(
            (p.peak[0] - c[0]).abs() < 1e-3 && (p.peak[1] - c[1]).abs() < 1e-3,
            "{p:?}"
        );
        // Laplace widths σ, widened twice.
        assert!(p.widths.iter().all(|w| (w - 2.0 * s).abs() < 1e-3), "{p:?}");
        // The optimisation's calls are counted with the training's.
        assert_eq!(h.calls, 40 * cfg.batch + p.calls);
        // Not the gate's business: the untrained proposal did not see the mass.
        assert!(!h.mass_found);
        // The fitted flow samples the bump at once: β reaches 1 and the last batches
        // estimate the integral within 10 %.
        assert!(h.records.iter().any(|r| r.beta >= 1.0));
        let last = h.records.last().unwrap().estimate.unwrap();
        assert!((last / exact - 1.0).abs() < 0.1, "{last} vs {exact}");
        // Switched off, the same pilot starts the annealing as before.
        let off = train_small_with(
            &f,
            &TrainConfig {
                peak_start: false,
                ..cfg
            },
        );
        assert!(off.peak_start.is_none());
    }
}
