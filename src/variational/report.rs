//! The variational report (`report.json`), its readable summary, the headline
//! `result.json` and `history.csv`.

use super::evaluate::{Marginal, MomentErrors};
use super::target::Truth;
use super::train::TrainHistory;
use super::values::InvalidCounts;
use crate::error::Result;
use crate::integrate::WeightStats;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

/// Moments of the draws against the exact ones.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MomentReport {
    /// The plain `q` draws.
    pub q: MomentErrors,
    /// The self-normalised importance-weighted draws.
    pub weighted: MomentErrors,
}

/// Training settings and outcome.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrainingSummary {
    /// Steps.
    pub steps: usize,
    /// Draws per step.
    pub samples: usize,
    /// `reparam` or `score`.
    pub gradient: String,
    /// Initial learning rate.
    pub lr: f64,
    /// Fraction of the steps annealed.
    pub anneal: f64,
    /// Forward-KL weight.
    pub forward_weight: f64,
    /// Steps without an update.
    pub skipped_steps: usize,
    /// Mean batch ELBO over the last 10 % of the steps.
    pub final_elbo: f64,
    /// Non-finite log densities met.
    pub invalid: InvalidCounts,
    /// Seconds.
    pub seconds: f64,
}

/// The variational family.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FamilySummary {
    /// `mean_field` or the flow kind.
    pub kind: String,
    /// Blocks (0 for mean field).
    pub blocks: usize,
    /// Conditioner width.
    pub hidden: usize,
    /// Trainable parameters.
    pub parameters: usize,
    /// Model dtype.
    pub dtype: String,
    /// Device.
    pub device: String,
}

/// Everything `report.json` holds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VariationalReport {
    /// Target name.
    pub target: String,
    /// Dimension.
    pub dim: usize,
    /// Column names of the draws.
    pub columns: Vec<String>,
    /// What is known exactly.
    pub truth: Truth,
    /// ELBO (nats).
    pub elbo: f64,
    /// Its standard error.
    pub elbo_std_error: f64,
    /// `log Ẑ`.
    pub log_z: f64,
    /// Its standard error.
    pub log_z_std_error: f64,
    /// `(log Ẑ − log Z)/se` when `log Z` is known.
    pub log_z_pull: Option<f64>,
    /// Statistics of the weights `p̃/q` (scaled by their maximum).
    pub weights: WeightStats,
    /// Whether the estimates can be trusted.
    pub trusted: bool,
    /// Why not, in plain words.
    pub reasons: Vec<String>,
    /// Other caveats.
    pub warnings: Vec<String>,
    /// Moment errors against the truth, when known.
    pub moments: Option<MomentReport>,
    /// Marginals of the `q` draws (flow coordinates).
    pub marginals: Vec<Marginal>,
    /// Target-specific figures of the draws (e.g. held-out log likelihood).
    pub metrics: BTreeMap<String, f64>,
    /// Whether `samples.csv` holds importance-resampled draws.
    pub resampled: bool,
    /// Broad fraction `α` of the evaluation proposal (0: the flow alone).
    pub defensive: f64,
    /// Factor on the flow's covariance of the broad component.
    pub defensive_inflation: f64,
    /// Evaluation draws that came from the broad component.
    pub broad_draws: usize,
    /// Non-finite log densities met during evaluation.
    pub invalid: InvalidCounts,
    /// Training.
    pub training: TrainingSummary,
    /// The family.
    pub family: FamilySummary,
    /// Seed.
    pub seed: u64,
    /// Seconds in all.
    pub seconds: f64,
}

/// `result.json`: the headline figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResultJson {
    /// Target name.
    pub target: String,
    /// Dimension.
    pub dim: usize,
    /// ELBO.
    pub elbo: f64,
    /// Its standard error.
    pub elbo_std_error: f64,
    /// `log Ẑ` (importance sampling).
    pub log_z: f64,
    /// Its standard error.
    pub log_z_std_error: f64,
    /// The exact `log Z`, when known.
    pub log_z_exact: Option<f64>,
    /// ESS fraction of the weights.
    pub ess_fraction: f64,
    /// Pareto k̂ (`null` when it cannot be estimated).
    pub pareto_k: Option<f64>,
    /// Whether the estimates can be trusted.
    pub trusted: bool,
    /// Why not.
    pub reasons: Vec<String>,
    /// Draws in `samples.csv`.
    pub draws: usize,
    /// Whether they were importance-resampled.
    pub resampled: bool,
    /// Broad fraction `α` of the evaluation proposal `(1 − α) q + α g` (0: `q` alone).
    #[serde(default)]
    pub defensive: f64,
    /// Factor on `q`'s covariance of the broad Gaussian `g`.
    #[serde(default)]
    pub defensive_inflation: f64,
}

impl ResultJson {
    /// The headline of a report.
    pub fn from_report(r: &VariationalReport, draws: usize) -> Self {
        Self {
            target: r.target.clone(),
            dim: r.dim,
            elbo: r.elbo,
            elbo_std_error: r.elbo_std_error,
            log_z: r.log_z,
            log_z_std_error: r.log_z_std_error,
            log_z_exact: r.truth.log_z,
            ess_fraction: r.weights.ess_fraction,
            pareto_k: r.weights.pareto_k.is_finite().then_some(r.weights.pareto_k),
            trusted: r.trusted,
            reasons: r.reasons.clone(),
            draws,
            resampled: r.resampled,
            defensive: r.defensive,
            defensive_inflation: r.defensive_inflation,
        }
    }
}

impl VariationalReport {
    /// A readable multi-line summary.
    pub fn summary(&self) -> String {
        let mut o = String::new();
        let w = &self.weights;
        let _ = writeln!(
            o,
            "target:                {} (d = {})",
            self.target, self.dim
        );
        let _ = writeln!(
            o,
            "ELBO:                  {:.4} ± {:.4}",
            self.elbo, self.elbo_std_error
        );
        let _ = writeln!(
            o,
            "log Z (IS):            {:.4} ± {:.4}{}",
            self.log_z,
            self.log_z_std_error,
            if self.trusted {
                ""
            } else {
                "   (NOT TRUSTED: see below)"
            }
        );
        if let Some(z) = self.truth.log_z {
            let _ = writeln!(
                o,
                "log Z exact:           {z:.4} ({}){}",
                self.truth.log_z_source.as_deref().unwrap_or("known"),
                self.log_z_pull
                    .map_or(String::new(), |p| format!("   pull {p:+.2}"))
            );
        }
        let _ = writeln!(
            o,
            "ESS:                   {:.0} of {} ({:.1} %)",
            w.ess,
            w.n,
            100.0 * w.ess_fraction
        );
        if self.defensive > 0.0 {
            let _ = writeln!(
                o,
                "proposal:              (1 − {a}) q + {a} N(mean, {f} × cov of q); {} broad draws",
                self.broad_draws,
                a = self.defensive,
                f = self.defensive_inflation
            );
        }
        let _ = writeln!(
            o,
            "Pareto k̂ (PSIS):       {:.2} (reliable up to {:.2})",
            w.pareto_k, w.pareto_k_threshold
        );
        if let Some(m) = &self.moments {
            let _ = writeln!(
                o,
                "moments vs exact:      q: mean {:.3} sd, cov {:.1} %, var {:.1} %; weighted: mean {:.3} sd, cov {:.1} %, var {:.1} %",
                m.q.mean_error,
                100.0 * m.q.cov_rel_error,
                100.0 * m.q.var_rel_error,
                m.weighted.mean_error,
                100.0 * m.weighted.cov_rel_error,
                100.0 * m.weighted.var_rel_error
            );
        }
        for (k, v) in &self.metrics {
            let _ = writeln!(o, "{:<22} {v:.4}", format!("{k}:"));
        }
        for wmsg in &self.warnings {
            let _ = writeln!(o, "warning:               {wmsg}");
        }
        if !self.trusted {
            let _ = writeln!(
                o,
                "NOT TRUSTED:           log Z, its error and the weighted figures cannot be trusted:"
            );
            for r in &self.reasons {
                let _ = writeln!(o, "                       - {r}");
            }
        }
        let t = &self.training;
        let _ = writeln!(
            o,
            "training:              {} steps × {} draws ({} gradient), final batch ELBO {:.4}, {} skipped, {:.1} s",
            t.steps, t.samples, t.gradient, t.final_elbo, t.skipped_steps, t.seconds
        );
        if t.invalid.total() + self.invalid.total() > 0 {
            let i = &self.invalid;
            let _ = writeln!(
                o,
                "non-finite log p̃:      training {} of {} (dropped); evaluation {} NaN, {} +inf (dropped), {} −inf (zero weight)",
                t.invalid.total(),
                t.invalid.points,
                i.nan,
                i.pos_inf,
                i.neg_inf
            );
        }
        let f = &self.family;
        let _ = writeln!(
            o,
            "family:                {} ({} blocks, width {}, {} parameters, {}, {})",
            f.kind, f.blocks, f.hidden, f.parameters, f.dtype, f.device
        );
        o
    }
}

/// Write `history.csv` (one row per training step) atomically.
pub fn write_history_csv(path: &Path, h: &TrainHistory) -> Result<()> {
    let mut s = String::from("step,lr,beta,elbo,loss,dropped,skipped\n");
    for r in &h.records {
        let _ = writeln!(
            s,
            "{},{},{},{},{},{},{}",
            r.step, r.lr, r.beta, r.elbo, r.loss, r.dropped, r.skipped
        );
    }
    crate::atomic::write_atomic(path, s.as_bytes())
}
