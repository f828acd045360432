//! [`IntegrateConfig`]: the integration spec (TOML) and the settings of
//! [`integrate`](super::integrate) — the integrand, the flow, training and evaluation,
//! one type with one set of defaults for the library and the command line. Unknown
//! keys are errors.
//!
//! ```toml
//! seed = 1                # top level: seed of everything
//! device = "cpu"          # top level: cpu | cuda | cuda:N
//! [integrand]
//! name = "camel"          # or: command = "sh my_integrand.sh" (with dim)
//! dim = 4
//! alpha = 0.2
//! [flow]
//! bins = 8
//! hidden = 64
//! layers = 2
//! dtype = "f32"
//! [train]
//! loss = "kl"             # or "variance"
//! mode = "online"         # or "buffered" (with reuse)
//! steps = 300
//! batch = 4096
//! lr = 2e-2
//! [eval]
//! samples = 100000
//! vegas = true
//! ```

use super::batch::EvalOptions;
use super::flow_proposal::UnitFlowConfig;
use super::train::TrainConfig;
use crate::config::JobConfig;
use crate::error::{Error, Result};
use flowinfer_simulators::{integrand_by_name, ExternalIntegrand, Integrand, IntegrandOptions};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// `[integrand]`: a built-in by name, or an external command (used by the command line;
/// a library caller passes its own [`Integrand`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntegrandConfig {
    /// Built-in name (gaussian, camel, annulus, entangled_circles, polynomial, ee_qqg,
    /// needle, shell, breit_wigner, two_needles).
    pub name: Option<String>,
    /// External program and arguments, separated by whitespace (no shell quoting): it
    /// reads points as CSV rows on stdin and writes one value per line.
    pub command: Option<String>,
    /// Dimension (required for `command`, `gaussian`, `camel`, `polynomial`; fixed for
    /// the others).
    pub dim: Option<usize>,
    /// Peak width of gaussian and camel.
    pub alpha: Option<f64>,
    /// Cut of ee_qqg.
    pub y_cut: Option<f64>,
    /// Phase-space map of ee_qqg: `rambo` (the default: flat, cuts as f = 0) or
    /// `log_dalitz` (cuts built in, collinear peaks flattened; docs/INTEGRATION.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub map: Option<String>,
    /// Narrow scale of the hard integrands: σ of needle and two_needles, the radial
    /// width of shell, Γ of breit_wigner (docs/HARD_INTEGRANDS.md for the defaults).
    pub width: Option<f64>,
    /// Correlation between coordinates of needle and two_needles (default 0.9).
    pub correlation: Option<f64>,
    /// Centre coordinate of needle, at (c, …, c) (default 0.5).
    pub centre: Option<f64>,
    /// Radius of shell (default 0.35).
    pub radius: Option<f64>,
    /// Pole position of breit_wigner (default 0.35).
    pub mass: Option<f64>,
    /// Weight of the first needle of two_needles (default 0.7).
    pub weight: Option<f64>,
    /// External command: points per program run.
    pub batch_size: Option<usize>,
    /// External command: seconds before a run is killed.
    pub timeout_s: Option<f64>,
    /// External command: `oneshot` (a program run per batch, the default) or
    /// `persistent` (long-lived workers, docs/CLUSTER.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command_mode: Option<flowinfer_simulators::external::ProgramMode>,
}

impl IntegrandConfig {
    /// The settings of a built-in integrand (those not given are `None`; an unknown
    /// `map` is an error naming the key).
    fn builtin_options(&self) -> Result<IntegrandOptions> {
        let map = match &self.map {
            Some(name) => Some(
                flowinfer_simulators::integrands::QqgMap::from_name(name)
                    .map_err(|e| Error::config(format!("[integrand] {e}")))?,
            ),
            None => None,
        };
        Ok(IntegrandOptions {
            alpha: self.alpha,
            y_cut: self.y_cut,
            width: self.width,
            correlation: self.correlation,
            centre: self.centre,
            radius: self.radius,
            mass: self.mass,
            weight: self.weight,
            map,
        })
    }
}

/// `[eval]`: the final estimate, unweighting and the VEGAS comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EvalConfig {
    /// Fresh samples for the final estimate (default 100 000).
    pub samples: usize,
    /// Points per evaluation batch (default 16 384).
    pub batch: usize,
    /// Unweighted events to generate (none by default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unweighted: Option<usize>,
    /// Run VEGAS side by side at the same number of calls (also spelled
    /// `compare_vegas`).
    #[serde(alias = "compare_vegas")]
    pub vegas: bool,
    /// Warm-start the flow from a VEGAS grid.
    pub vegas_warm_start: bool,
    /// Calls of the VEGAS warm start (default: a fifth of the training calls, at least
    /// 10 000).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warm_start_calls: Option<usize>,
    /// Count non-finite and negative values as zero instead of failing.
    pub allow_invalid: bool,
    /// Fraction of the evaluation (and unweighting) proposal drawn uniformly from the
    /// flow's cube — the defensive mixture `(1 − α) q + α` that bounds every weight by
    /// `f/α` ([`super::proposal`]); 0 = the flow alone. Default
    /// [`DEFENSIVE_EVAL`](super::proposal::DEFENSIVE_EVAL).
    pub defensive: f64,
}

impl Default for EvalConfig {
    fn default() -> Self {
        Self {
            samples: 100_000,
            batch: 16_384,
            unweighted: None,
            vegas: false,
            vegas_warm_start: false,
            warm_start_calls: None,
            allow_invalid: false,
            defensive: super::proposal::DEFENSIVE_EVAL,
        }
    }
}

/// A whole integration spec, and the settings of [`integrate`](super::integrate)
/// (module docs).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IntegrateConfig {
    /// Seed of everything (initialisation, sampling, VEGAS).
    pub seed: u64,
    /// Device: `cpu` (absent), `cuda` or `cuda:N`; `--device` overrides it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    /// The integrand (command line and run directories).
    pub integrand: IntegrandConfig,
    /// Flow architecture.
    pub flow: UnitFlowConfig,
    /// Training.
    pub train: TrainConfig,
    /// Evaluation.
    pub eval: EvalConfig,
    /// Multi-channel integration (none by default; [`super::channels`]).
    #[serde(skip_serializing_if = "is_default_channels")]
    pub channels: super::channels::ChannelsConfig,
    /// Where the integrand's batches run: none (in memory, the default), or batch
    /// files in a work directory run here or on Slurm, resumable
    /// ([`crate::cluster::integrand_for_run`], docs/CLUSTER.md).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub executor: Option<crate::cluster::ExecutorConfig>,
}

fn is_default_channels(c: &super::channels::ChannelsConfig) -> bool {
    *c == super::channels::ChannelsConfig::default()
}

impl JobConfig for IntegrateConfig {
    /// Checks that need no integrand (its dimension is checked by
    /// [`IntegrateConfig::validate_for`]).
    fn validate(&self) -> Result<()> {
        self.flow.dtype()?;
        self.train.validate()?;
        if let Some(x) = &self.executor {
            x.validate()?;
        }
        let e = &self.eval;
        if e.samples < 2 || e.batch == 0 {
            return Err(Error::config(format!(
                "evaluation needs at least 2 samples and a batch ≥ 1, got {} and {}",
                e.samples, e.batch
            )));
        }
        if e.unweighted == Some(0) {
            return Err(Error::config(
                "the number of unweighted events must be at least 1",
            ));
        }
        super::proposal::check_fraction(e.defensive)
            .map_err(|err| Error::config(format!("[eval] {err}")))?;
        if e.vegas_warm_start && e.warm_start_calls.is_some_and(|c| c < 4) {
            return Err(Error::config("the VEGAS warm start needs at least 4 calls"));
        }
        Ok(())
    }

    fn device_name(&self) -> Option<&str> {
        self.device.as_deref()
    }

    fn with_run_seed(&self) -> Self {
        // The top-level seed is the only one: nothing to fold.
        self.clone()
    }
}

impl IntegrateConfig {
    /// Read and validate a spec file.
    pub fn load(path: &Path) -> Result<Self> {
        crate::config::load(path)
    }

    /// Check the settings for an integrand of dimension `dim`.
    pub fn validate_for(&self, dim: usize) -> Result<()> {
        if dim == 0 {
            return Err(Error::config(
                "the integrand's dimension must be at least 1",
            ));
        }
        self.flow.validate(dim.max(2))?;
        if self.channels.is_active() {
            self.channels.validate(dim)?;
        }
        JobConfig::validate(self)
    }

    /// The warm-start budget (see [`EvalConfig::warm_start_calls`]).
    pub fn warm_start_budget(&self) -> usize {
        self.eval
            .warm_start_calls
            .unwrap_or_else(|| (self.train.calls() / 5).max(10_000))
    }

    /// How the integrand is called: in parallel chunks, except an external command
    /// (it parallelises itself) or an integrand behind an executor (its batches are
    /// its own).
    pub fn eval_options(&self) -> EvalOptions {
        EvalOptions {
            parallel_chunk: if self.is_external() || self.executor.is_some() {
                None
            } else {
                EvalOptions::default().parallel_chunk
            },
            allow_invalid: self.eval.allow_invalid,
        }
    }

    /// Build the integrand (errors name what was wrong: unknown name, wrong or missing
    /// dimension, both or neither of `name` and `command`).
    pub fn build_integrand(&self) -> Result<Box<dyn Integrand>> {
        let s = &self.integrand;
        match (&s.name, &s.command) {
            (Some(_), Some(_)) => Err(Error::config(
                "give either a built-in integrand name or an integrand command, not both",
            )),
            (None, None) => Err(Error::config(
                "no integrand: give a built-in name (--integrand NAME) or --integrand-command \"CMD ARGS\" with --dim",
            )),
            (Some(name), None) => {
                if s.batch_size.is_some() || s.timeout_s.is_some() || s.command_mode.is_some() {
                    return Err(Error::config(
                        "batch_size, timeout_s and command_mode apply to an integrand command only",
                    ));
                }
                let key = name.trim().to_ascii_lowercase().replace('-', "_");
                let dim = match (key.as_str(), s.dim) {
                    ("annulus" | "entangled_circles", d) => d.unwrap_or(2),
                    ("ee_qqg", d) => d.unwrap_or(5),
                    (_, Some(d)) => d,
                    (_, None) => {
                        return Err(Error::config(format!(
                            "integrand `{name}` needs a dimension (--dim)"
                        )))
                    }
                };
                Ok(integrand_by_name(name, dim, s.builtin_options()?)?)
            }
            (None, Some(cmd)) => {
                if s.map.is_some() || s.builtin_options()? != IntegrandOptions::default() {
                    return Err(Error::config(
                        "alpha, y_cut, map, width, correlation, centre, radius, mass and weight \
                         apply to built-in integrands only",
                    ));
                }
                let words: Vec<String> = cmd.split_whitespace().map(String::from).collect();
                if words.is_empty() {
                    return Err(Error::config("the integrand command is empty"));
                }
                let dim = s.dim.ok_or_else(|| {
                    Error::config("an integrand command needs its dimension (--dim)")
                })?;
                let mut e = ExternalIntegrand::new(words, dim);
                if let Some(b) = s.batch_size {
                    e.batch_size = b;
                }
                e.timeout_s = s.timeout_s;
                e.mode = s.command_mode.unwrap_or_default();
                e.validate()?;
                Ok(Box::new(e))
            }
        }
    }

    /// Whether the integrand is an external command (it parallelises itself).
    pub fn is_external(&self) -> bool {
        self.integrand.command.is_some()
    }
}
