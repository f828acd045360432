//! The integration report (`report.json`), its readable summary and `history.csv`.

use super::batch::InvalidCounts;
use super::estimate::WeightStats;
use super::train::TrainHistory;
use super::unweight::UnweightedEvents;
use super::vegas_baseline::VegasAdaptive;
use crate::error::Result;
use serde::Serialize;
use std::fmt::Write as _;
use std::path::Path;

/// Integrand calls by phase.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Calls {
    /// VEGAS warm start (0 without).
    pub warm_start: usize,
    /// Flow training (fresh batches).
    pub training: usize,
    /// Fresh samples of the final flow.
    pub evaluation: usize,
    /// Unweighting trials.
    pub unweighting: usize,
    /// All of the above.
    pub total: usize,
}

/// Wall-clock seconds by phase.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Seconds {
    /// VEGAS warm start.
    pub warm_start: f64,
    /// Flow training.
    pub training: f64,
    /// Evaluation.
    pub evaluation: f64,
    /// Unweighting.
    pub unweighting: f64,
    /// VEGAS baseline.
    pub vegas: f64,
    /// Everything.
    pub total: f64,
}

/// Training settings and outcome.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrainingSummary {
    /// `kl` or `variance`.
    pub loss: String,
    /// `online` or `buffered`.
    pub mode: String,
    /// Optimizer steps.
    pub steps: usize,
    /// Points per fresh batch.
    pub batch: usize,
    /// Buffered mode: steps per fresh batch.
    pub reuse: usize,
    /// Initial learning rate.
    pub lr: f64,
    /// Final learning rate.
    pub min_lr: f64,
    /// Fraction of the steps with an annealed target (0 = none).
    pub anneal: f64,
    /// Adaptive annealing's ESS fraction (0 = off).
    pub anneal_ess: f64,
    /// The first step trained on `f` itself (β = 1).
    pub first_full_step: Option<usize>,
    /// Starting exponent of the annealing, as configured.
    pub beta_start: f64,
    /// The exponent the annealing actually started from (lower than `beta_start` when
    /// the untrained proposal could not sample `f^beta_start`).
    pub beta_initial: f64,
    /// Uniform fraction of the training proposal (defensive mixture) while annealing.
    pub defensive: f64,
    /// Fraction of the steps after `β` reached 1 over which it decayed to 0 (0 = kept).
    pub defensive_decay: f64,
    /// Whether the pilot already sampled `f^GATE_BETA` (`β = 0.05`), so the training fraction was
    /// 0 after the pilot (`[train] defensive_gate`).
    pub mass_found: bool,
    /// The pilot: the first batch, drawn before any update ([`super::guard`]).
    pub pilot: Option<super::BatchEstimate>,
    /// The peak start, when the pilot was blind ([`super::peak_start`]).
    pub peak_start: Option<super::peak_start::PeakStart>,
    /// Collapses of the batch estimate during training ([`super::guard`]).
    pub collapses: Vec<super::Collapse>,
    /// Steps without an update.
    pub skipped_steps: usize,
    /// Relative std per event of the first fresh training batch (the initial
    /// proposal: uniform, or the VEGAS grid with a warm start).
    pub initial_rel_std: Option<f64>,
    /// Mean relative std per event over the last 10 fresh training batches.
    pub final_rel_std: Option<f64>,
    /// Running (inverse-variance) estimate of the training batches (monitoring only:
    /// batches of a collapsed flow have tiny variances and dominate it).
    pub running_estimate: f64,
    /// Its standard error.
    pub running_std_error: f64,
}

/// The flow's architecture.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FlowSummary {
    /// Dimension the flow works in.
    pub dim: usize,
    /// Coupling layers.
    pub couplings: usize,
    /// Spline bins.
    pub bins: usize,
    /// Conditioner hidden width.
    pub hidden: usize,
    /// Conditioner hidden layers.
    pub layers: usize,
    /// Trainable parameters.
    pub parameters: usize,
    /// `f32` or `f64`.
    pub dtype: String,
    /// Device name.
    pub device: String,
    /// Whether the flow was composed with a VEGAS grid.
    pub vegas_warm_start: bool,
    /// Uniform fraction of the evaluation proposal (defensive mixture).
    pub defensive: f64,
}

/// The VEGAS baseline in the report: the same keys as the flow's result, plus its
/// adaptive run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VegasReport {
    /// Frozen-grid weight statistics on fresh points.
    #[serde(flatten)]
    pub stats: WeightStats,
    /// `(estimate − exact)/std_error` of the frozen-grid estimate.
    pub pull: Option<f64>,
    /// Integrand calls (adaptation + evaluation).
    pub calls: usize,
    /// Seconds.
    pub seconds: f64,
    /// VEGAS's own adaptive estimate.
    pub adaptive: VegasAdaptive,
    /// Pull of the adaptive estimate.
    pub adaptive_pull: Option<f64>,
}

/// Everything `report.json` holds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IntegrationReport {
    /// Integrand name.
    pub integrand: String,
    /// The integrand's dimension.
    pub dim: usize,
    /// The exact value, when known.
    pub exact: Option<f64>,
    /// Weight statistics of the final flow on fresh samples (the result).
    #[serde(flatten)]
    pub stats: WeightStats,
    /// `(estimate − exact)/std_error`.
    pub pull: Option<f64>,
    /// Reliability warnings: heavy-tailed flow weights, or flow and VEGAS estimates
    /// that disagree by more than [`super::DISAGREEMENT_SIGMAS`] combined standard errors.
    pub warnings: Vec<String>,
    /// Whether the flow's estimate can be trusted (see [`Self::reasons`]).
    pub trusted: bool,
    /// Why not, in plain words ([`super::WeightStats::untrusted_reasons`]); empty when
    /// trusted.
    pub reasons: Vec<String>,
    /// Definitions of the figures.
    pub definitions: Definitions,
    /// Integrand calls.
    pub calls: Calls,
    /// Seconds.
    pub seconds: Seconds,
    /// Invalid (non-finite or negative) integrand values, counted as zero.
    pub invalid: InvalidCounts,
    /// Training.
    pub training: TrainingSummary,
    /// Flow architecture.
    pub flow: FlowSummary,
    /// Unweighted events, when requested.
    pub unweighted: Option<UnweightedEvents>,
    /// The VEGAS baseline, when requested.
    pub vegas: Option<VegasReport>,
    /// Seed.
    pub seed: u64,
}

/// The definitions, written into the report so that it explains itself.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Definitions {
    /// Relative std.
    pub rel_std: &'static str,
    /// ESS.
    pub ess: &'static str,
    /// Unweighting efficiency.
    pub unweighting_efficiency: &'static str,
    /// Bootstrap variant.
    pub unweighting_efficiency_bootstrap: &'static str,
}

impl Default for Definitions {
    fn default() -> Self {
        Self {
            rel_std: "std(w)/mean(w) per event over the n fresh samples, w = f/q",
            ess: "(sum w)^2 / sum w^2",
            unweighting_efficiency: "mean(w)/max(w) over the n fresh samples (depends on n)",
            unweighting_efficiency_bootstrap: "mean(w)/w_boot, w_boot = median over bootstrap \
                resamples of size m = n/10 of their maximum weight (exact order statistic)",
        }
    }
}

/// `x ± σ` with a sensible number of digits.
fn pm(x: f64, s: f64) -> String {
    if !(s > 0.0 && s.is_finite()) {
        return format!("{x:.6e}");
    }
    let digits = ((x.abs().max(s) / s).log10().ceil() as usize + 1).clamp(2, 12);
    format!("{x:.*e} ± {s:.2e}", digits)
}

/// The estimate line of a summary (marked when untrusted), then the exact value and the
/// pull when known.
pub(crate) fn write_estimate(
    o: &mut String,
    estimate: f64,
    std_error: f64,
    trusted: bool,
    exact: Option<f64>,
    pull: Option<f64>,
) {
    let mark = if trusted {
        ""
    } else {
        "   (NOT TRUSTED: see below)"
    };
    let _ = writeln!(
        o,
        "estimate:              {}{mark}",
        pm(estimate, std_error)
    );
    if let Some(e) = exact {
        let _ = writeln!(o, "exact:                 {e:.10e}");
        if let Some(p) = pull {
            let _ = writeln!(o, "pull (est − exact)/σ:  {p:+.2}");
        }
    }
}

/// The warnings of a summary, then — when untrusted — the reasons in plain words.
pub(crate) fn write_trust(o: &mut String, warnings: &[String], trusted: bool, reasons: &[String]) {
    for w in warnings {
        let _ = writeln!(o, "warning:               {w}");
    }
    if !trusted {
        let _ = writeln!(
            o,
            "NOT TRUSTED:           this estimate and its error cannot be trusted:"
        );
        for r in reasons {
            let _ = writeln!(o, "                       - {r}");
        }
    }
}

impl IntegrationReport {
    /// A readable multi-line summary.
    pub fn summary(&self) -> String {
        let s = &self.stats;
        let mut o = String::new();
        let _ = writeln!(
            o,
            "integrand:             {} (d = {})",
            self.integrand, self.dim
        );
        write_estimate(
            &mut o,
            s.estimate,
            s.std_error,
            self.trusted,
            self.exact,
            self.pull,
        );
        let _ = writeln!(
            o,
            "rel. std per event:    {:.4}   (σ/I = {:.2e} with {} samples)",
            s.rel_std,
            if s.estimate != 0.0 {
                s.std_error / s.estimate
            } else {
                f64::NAN
            },
            s.n
        );
        let _ = writeln!(
            o,
            "ESS:                   {:.0} ({:.1} % of {})",
            s.ess,
            100.0 * s.ess_fraction,
            s.n
        );
        let _ = writeln!(
            o,
            "Pareto k̂ (PSIS):       {:.2} (reliable up to {:.2})",
            s.pareto_k, s.pareto_k_threshold
        );
        let _ = writeln!(
            o,
            "unweighting eff.:      {:.4} (mean/max at n = {}); bootstrap {:.4} (m = {})",
            s.unweighting_efficiency,
            s.n,
            s.unweighting_efficiency_bootstrap,
            s.bootstrap_resample_size
        );
        let _ = writeln!(
            o,
            "max weight:            {:.4e} ({:.2e} of the sum; variance known to ±{:.1} %)",
            s.max_weight,
            s.max_weight_share,
            100.0 * s.variance_rel_uncertainty
        );
        write_trust(&mut o, &self.warnings, self.trusted, &self.reasons);
        let t = &self.training;
        let _ = writeln!(
            o,
            "training:              {} loss, {}, {} steps × {} ({} calls{}), rel. std {} → {}",
            t.loss,
            t.mode,
            t.steps,
            t.batch,
            self.calls.training,
            if self.calls.warm_start > 0 {
                format!(" + {} VEGAS warm start", self.calls.warm_start)
            } else {
                String::new()
            },
            t.initial_rel_std.map_or("–".into(), |v| format!("{v:.3}")),
            t.final_rel_std.map_or("–".into(), |v| format!("{v:.3}"))
        );
        if let Some(p) = &t.pilot {
            let _ = writeln!(
                o,
                "pilot (untrained):     {}  ({} points, ESS {:.0})",
                pm(p.estimate, p.std_error),
                p.n,
                p.ess
            );
        }
        if let Some(p) = &t.peak_start {
            let _ = writeln!(
                o,
                "peak start:            the pilot saw f > 0 at {} of {} points; ln f optimised from {:.1} to {:.2} \
                 ({} iterations in {} rounds, {} calls); flow fitted to a Gaussian of widths {:.3}–{:.3} ({:.1} s){}",
                p.pilot_nonzero,
                p.pilot_points,
                p.start_log_f,
                p.peak_log_f,
                p.iterations,
                p.rounds,
                p.calls,
                p.widths.first().copied().unwrap_or(f64::NAN),
                p.widths.last().copied().unwrap_or(f64::NAN),
                p.seconds,
                p.optimiser_note
                    .as_ref()
                    .map_or(String::new(), |n| format!(" (optimiser stopped: {n})"))
            );
        }
        let _ = writeln!(
            o,
            "proposal:              flow + {} % uniform (defensive; training {} %{}); annealing from β = {:.3e}",
            100.0 * self.flow.defensive,
            100.0 * t.defensive,
            if t.mass_found && t.defensive > 0.0 {
                ", 0 after the pilot: it already sampled the tempered target"
            } else if t.defensive_decay > 0.0 && t.defensive > 0.0 {
                ", decaying to 0 after β = 1"
            } else {
                ""
            },
            t.beta_initial
        );
        if self.invalid.total() > 0 {
            let _ = writeln!(
                o,
                "invalid values:        {} non-finite, {} negative (counted as zero)",
                self.invalid.non_finite, self.invalid.negative
            );
        }
        if let Some(u) = &self.unweighted {
            let _ = writeln!(
                o,
                "unweighted events:     {} from {} trials (acceptance {:.4}); over-weight {:.3} % (excess weight {:.2e})",
                u.events,
                u.trials,
                u.acceptance,
                100.0 * u.over_weight_fraction,
                u.excess_weight_fraction
            );
        }
        if let Some(v) = &self.vegas {
            let vs = &v.stats;
            let _ = writeln!(
                o,
                "VEGAS (same calls):    {}  rel. std {:.4}  unweighting eff. {:.4} / bootstrap {:.4}{}",
                pm(vs.estimate, vs.std_error),
                vs.rel_std,
                vs.unweighting_efficiency,
                vs.unweighting_efficiency_bootstrap,
                v.pull.map_or(String::new(), |p| format!("  pull {p:+.2}"))
            );
            let _ = writeln!(
                o,
                "VEGAS adaptive:        {}  χ²/dof {}",
                pm(v.adaptive.estimate, v.adaptive.std_error),
                v.adaptive
                    .chi2_per_dof
                    .map_or("–".into(), |c| format!("{c:.2}"))
            );
            for w in vs.warnings() {
                let _ = writeln!(o, "warning (VEGAS):       {w}");
            }
            for r in vs.untrusted_reasons() {
                let _ = writeln!(o, "VEGAS NOT TRUSTED:     {r}");
            }
            if vs.rel_std > 0.0 {
                let _ = writeln!(
                    o,
                    "flow/VEGAS rel. std:   {:.3} (VEGAS/flow = {:.1}×){}",
                    s.rel_std / vs.rel_std,
                    vs.rel_std / s.rel_std,
                    if vs.untrusted_reasons().is_empty() {
                        ""
                    } else {
                        "; VEGAS's rel. std is itself not trusted"
                    }
                );
            }
        }
        let _ = writeln!(
            o,
            "calls / time:          {} calls, {:.1} s",
            self.calls.total, self.seconds.total
        );
        o
    }
}

/// Write `history.csv` (one row per training step) atomically.
pub fn write_history_csv(path: &Path, h: &TrainHistory) -> Result<()> {
    let mut s =
        String::from("step,calls,loss,lr,beta,estimate,rel_std,entropy,skipped,defensive\n");
    let opt = |v: Option<f64>| v.map_or(String::new(), |v| format!("{v}"));
    for r in &h.records {
        let _ = writeln!(
            s,
            "{},{},{},{},{},{},{},{},{},{}",
            r.step,
            r.calls,
            r.loss,
            r.lr,
            r.beta,
            opt(r.estimate),
            opt(r.rel_std),
            opt(r.entropy),
            r.skipped,
            r.defensive
        );
    }
    crate::atomic::write_atomic(path, s.as_bytes())
}
