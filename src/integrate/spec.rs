//! Integration run specs (TOML): the integrand, the flow, training and evaluation, with
//! the same defaults as the command line. Unknown keys are errors.
//!
//! ```toml
//! seed = 1
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
use super::IntegrateConfig;
use crate::error::{Error, Result};
use flowinfer_simulators::{integrand_by_name, ExternalIntegrand, Integrand, IntegrandOptions};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// `[integrand]`: a built-in by name, or an external command.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntegrandSection {
    /// Built-in name (gaussian, camel, annulus, entangled_circles, polynomial, ee_qqg).
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
    /// External command: points per program run.
    pub batch_size: Option<usize>,
    /// External command: seconds before a run is killed.
    pub timeout_s: Option<f64>,
}

/// `[flow]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FlowSection {
    /// Spline bins.
    pub bins: usize,
    /// Conditioner width.
    pub hidden: usize,
    /// Conditioner hidden layers.
    pub layers: usize,
    /// Coupling layers (default `max(4, 2⌈log₂ d⌉)`).
    pub couplings: Option<usize>,
    /// `f32` or `f64`.
    pub dtype: String,
}

impl Default for FlowSection {
    fn default() -> Self {
        let f = UnitFlowConfig::default();
        Self {
            bins: f.bins,
            hidden: f.hidden,
            layers: f.layers,
            couplings: f.couplings,
            dtype: "f32".into(),
        }
    }
}

/// `[eval]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EvalSection {
    /// Fresh samples for the estimate.
    pub samples: usize,
    /// Points per batch.
    pub batch: usize,
    /// Unweighted events to generate.
    pub unweighted: Option<usize>,
    /// Run VEGAS side by side at the same number of calls (also spelled
    /// `compare_vegas`).
    #[serde(alias = "compare_vegas")]
    pub vegas: bool,
    /// Warm-start the flow from a VEGAS grid.
    pub vegas_warm_start: bool,
    /// Calls of the warm start.
    pub warm_start_calls: Option<usize>,
    /// Count non-finite and negative values as zero instead of failing.
    pub allow_invalid: bool,
}

impl Default for EvalSection {
    fn default() -> Self {
        let c = IntegrateConfig::default();
        Self {
            samples: c.eval_samples,
            batch: c.eval_batch,
            unweighted: None,
            vegas: false,
            vegas_warm_start: false,
            warm_start_calls: None,
            allow_invalid: false,
        }
    }
}

/// A whole integration spec (module docs).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntegrateSpec {
    /// Seed.
    #[serde(default)]
    pub seed: u64,
    /// The integrand.
    #[serde(default)]
    pub integrand: IntegrandSection,
    /// The flow.
    #[serde(default)]
    pub flow: FlowSection,
    /// Training.
    #[serde(default)]
    pub train: TrainConfig,
    /// Evaluation.
    #[serde(default)]
    pub eval: EvalSection,
}

impl IntegrateSpec {
    /// Read a spec file.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::config(format!("{}: cannot read spec: {e}", path.display())))?;
        toml::from_str(&text).map_err(|e| Error::config(format!("{}: {e}", path.display())))
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
                if s.batch_size.is_some() || s.timeout_s.is_some() {
                    return Err(Error::config(
                        "batch_size and timeout_s apply to an integrand command only",
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
                let opts = IntegrandOptions {
                    alpha: s.alpha,
                    y_cut: s.y_cut,
                };
                Ok(integrand_by_name(name, dim, opts)?)
            }
            (None, Some(cmd)) => {
                if s.alpha.is_some() || s.y_cut.is_some() {
                    return Err(Error::config(
                        "alpha and y_cut apply to built-in integrands only",
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
                e.validate()?;
                Ok(Box::new(e))
            }
        }
    }

    /// Whether the integrand is an external command (it parallelises itself).
    pub fn is_external(&self) -> bool {
        self.integrand.command.is_some()
    }

    /// The integrator settings.
    pub fn to_config(&self) -> Result<IntegrateConfig> {
        let f = &self.flow;
        let dtype = crate::flow::io::parse_dtype(&f.dtype)
            .map_err(|e| Error::config(format!("[flow] {e}")))?;
        let e = &self.eval;
        Ok(IntegrateConfig {
            flow: UnitFlowConfig {
                bins: f.bins,
                hidden: f.hidden,
                layers: f.layers,
                couplings: f.couplings,
                ..UnitFlowConfig::default()
            },
            train: self.train.clone(),
            eval_samples: e.samples,
            eval_batch: e.batch,
            unweighted_events: e.unweighted,
            vegas: e.vegas,
            vegas_warm_start: e.vegas_warm_start,
            warm_start_calls: e.warm_start_calls,
            dtype,
            seed: self.seed,
            eval: EvalOptions {
                parallel_chunk: if self.is_external() {
                    None
                } else {
                    EvalOptions::default().parallel_chunk
                },
                allow_invalid: e.allow_invalid,
            },
        })
    }
}
