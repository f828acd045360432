//! [`VariationalConfig`]: the variational spec (TOML) and the settings of
//! [`variational`](super::variational) — the target, the flow, training and evaluation,
//! one type with one set of defaults for the library and the command line. Unknown
//! keys are errors.
//!
//! ```toml
//! seed = 0                # top level: seed of everything
//! device = "cpu"          # top level: cpu | cuda | cuda:N
//! mean_field = false      # true: one ActNorm layer over N(0, I) = mean-field Gaussian VI
//! [target]
//! name = "banana"         # a built-in, or: command = "python3 logp.py" with dim = D
//! [flow]                  # any FlowConfig (kind = "nsf" | "realnvp" | "maf" | …)
//! kind = "nsf"
//! blocks = 4
//! hidden = 64
//! [train]
//! steps = 2000
//! samples = 256           # S: draws of q per step
//! lr = 3e-3
//! anneal = 0.0            # fraction of the steps with β rising from beta_start to 1
//! [eval]
//! samples = 20000         # fresh draws for the ELBO, log Z, ESS, k̂
//! draws = 10000           # rows of samples.csv
//! resample = false        # importance-resample the draws
//! defensive = 0.1         # broad Gaussian fraction α of the evaluation proposal
//! defensive_inflation = 4 # factor on q's covariance for that Gaussian
//! ```

use super::external_target_in_mode;
use super::target::LogDensity;
use super::targets::{target_by_name, TargetOptions};
use super::train::TrainConfig;
use crate::config::JobConfig;
use crate::error::{Error, Result};
use crate::flow::{FlowConfig, FlowKind};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// `[target]`: a built-in by name, or an external command (a library caller passes its
/// own [`LogDensity`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetConfig {
    /// Built-in name ([`super::targets::TARGET_NAMES`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// External program and arguments, separated by whitespace (no shell quoting): it
    /// reads points as CSV rows on stdin and writes one log density per line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// Dimension (required for `command`; `funnel`, `gaussian`: default 10).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dim: Option<usize>,
    /// Column names of `samples.csv` for a command (default `x1..xD`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub names: Option<Vec<String>>,
    /// `logistic_iris`: the iris CSV; `gaussian_linear`: the sbibm task folder.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<PathBuf>,
    /// `gaussian_linear`: the reference observation (default 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observation: Option<usize>,
    /// `logistic_iris`: prior standard deviation (default 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prior_scale: Option<f64>,
    /// Command: points per program run (default 1000).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batch_size: Option<usize>,
    /// Command: seconds before a run is killed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_s: Option<f64>,
    /// Command: `oneshot` (a program run per batch, the default), `persistent`,
    /// `persistent-f64` or `persistent-shm` (long-lived workers, docs/CLUSTER.md) — as
    /// the integrand's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command_mode: Option<flowinfer_simulators::external::ProgramMode>,
}

impl TargetConfig {
    /// Build the target (errors name what was wrong: unknown name, missing dimension,
    /// both or neither of `name` and `command`, options that do not apply).
    pub fn build(&self) -> Result<Box<dyn LogDensity>> {
        match (&self.name, &self.command) {
            (Some(_), Some(_)) => Err(Error::config(
                "give either a built-in target name or a target command, not both",
            )),
            (None, None) => Err(Error::config(
                "no target: give a built-in name (--target NAME) or --target-command \"PROGRAM ARGS\" with --dim",
            )),
            (Some(name), None) => {
                if self.batch_size.is_some()
                    || self.timeout_s.is_some()
                    || self.names.is_some()
                    || self.command_mode.is_some()
                {
                    return Err(Error::config(
                        "[target] batch_size, timeout_s, names and command_mode apply to a \
                         target command only",
                    ));
                }
                target_by_name(
                    name,
                    &TargetOptions {
                        dim: self.dim,
                        data: self.data.clone(),
                        observation: self.observation,
                        prior_scale: self.prior_scale,
                    },
                )
            }
            (None, Some(cmd)) => {
                if self.data.is_some() || self.observation.is_some() || self.prior_scale.is_some()
                {
                    return Err(Error::config(
                        "[target] data, observation and prior_scale apply to built-in targets only",
                    ));
                }
                let dim = self.dim.ok_or_else(|| {
                    Error::config("a target command needs its dimension (--dim)")
                })?;
                external_target_in_mode(
                    cmd,
                    dim,
                    self.batch_size,
                    self.timeout_s,
                    self.names.clone(),
                    self.command_mode.unwrap_or_default(),
                )
            }
        }
    }
}

/// `[eval]`: the final figures and the draws.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EvalConfig {
    /// Fresh draws of `q` for the ELBO, `log Z`, ESS and `k̂` (default 20 000).
    pub samples: usize,
    /// Draws per batch (default 10 000).
    pub batch: usize,
    /// Posterior draws written to `samples.csv` (default 10 000).
    pub draws: usize,
    /// Importance-resample the draws (multinomial on the weights `p̃/q`) instead of
    /// writing the flow's own draws.
    pub resample: bool,
    /// Broad fraction `α` of the evaluation proposal `q_α = (1 − α) q + α g`, `g` a
    /// Gaussian fitted to the flow's draws with its covariance inflated
    /// ([`super::defensive`]); 0 evaluates with the flow alone.
    pub defensive: f64,
    /// Factor on the flow's covariance for the broad component `g` (≥ 1).
    pub defensive_inflation: f64,
    /// Write the plots.
    pub plots: bool,
}

impl Default for EvalConfig {
    fn default() -> Self {
        Self {
            samples: 20_000,
            batch: 10_000,
            draws: 10_000,
            resample: false,
            defensive: super::defensive::DEFAULT_DEFENSIVE,
            defensive_inflation: super::defensive::DEFAULT_INFLATION,
            plots: true,
        }
    }
}

/// The variational family's default flow: 4 spline couplings, width 64, tail bound 5.
pub fn default_flow() -> FlowConfig {
    FlowConfig {
        kind: FlowKind::Nsf,
        blocks: 4,
        hidden: 64,
        tail_bound: 5.0,
        ..FlowConfig::default()
    }
}

/// A whole variational spec, and the settings of [`variational`](super::variational)
/// (module docs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VariationalConfig {
    /// Seed of everything (initialisation, draws).
    pub seed: u64,
    /// Device: `cpu` (absent), `cuda` or `cuda:N`; `--device` overrides it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    /// Fit a mean-field Gaussian (one ActNorm layer over `N(0, I)`) instead of `[flow]`.
    pub mean_field: bool,
    /// The target (command line and run directories).
    pub target: TargetConfig,
    /// The flow (the variational family).
    pub flow: FlowConfig,
    /// Training.
    pub train: TrainConfig,
    /// Evaluation.
    pub eval: EvalConfig,
}

impl Default for VariationalConfig {
    fn default() -> Self {
        Self {
            seed: 0,
            device: None,
            mean_field: false,
            target: TargetConfig::default(),
            flow: default_flow(),
            train: TrainConfig::default(),
            eval: EvalConfig::default(),
        }
    }
}

impl JobConfig for VariationalConfig {
    /// Checks that need no target (its dimension is checked by
    /// [`VariationalConfig::validate_for`]).
    fn validate(&self) -> Result<()> {
        self.flow.validate()?;
        self.train.validate()?;
        let e = &self.eval;
        if e.samples < 2 || e.batch == 0 || e.draws == 0 {
            return Err(Error::config(format!(
                "[eval] needs samples ≥ 2, batch ≥ 1 and draws ≥ 1, got {}, {} and {}",
                e.samples, e.batch, e.draws
            )));
        }
        super::defensive::check_fraction(e.defensive)?;
        super::defensive::check_inflation(e.defensive_inflation)?;
        if self.target.name.is_some() && self.target.command.is_some() {
            return Err(Error::config(
                "[target] give either name or command, not both",
            ));
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

impl VariationalConfig {
    /// Read and validate a spec file.
    pub fn load(path: &Path) -> Result<Self> {
        crate::config::load(path)
    }

    /// Check the settings for a target of dimension `dim`.
    pub fn validate_for(&self, dim: usize) -> Result<()> {
        if dim == 0 {
            return Err(Error::config("the target's dimension must be at least 1"));
        }
        let coupling = matches!(self.flow.kind, FlowKind::RealNvp | FlowKind::Nsf);
        if coupling && dim < 2 && !self.mean_field {
            return Err(Error::config(format!(
                "[flow] kind {:?} needs at least 2 dimensions; use kind = \"maf\" for a 1-D target",
                self.flow.kind
            )));
        }
        JobConfig::validate(self)
    }

    /// Whether the target is an external command (it parallelises itself).
    pub fn is_external(&self) -> bool {
        self.target.command.is_some()
    }
}
