//! Run specifications (`models/*.toml`) for `flowinfer fit`. Unknown keys are errors;
//! every key has a default, so a spec states only what differs. Format (all sections
//! optional):
//!
//! ```toml
//! [data]                      # used when `--data` is not given on the command line
//! file = "data/auger/auger_events_aligned.csv"
//! columns = ["energy", "theta"]   # default: every column
//! drop_invalid = false        # drop rows with empty/non-numeric/non-finite cells
//! split = [0.7, 0.15, 0.15]   # train / validation / test fractions
//! seed = 42                   # split seed
//!
//! [flow]
//! kind = "nsf"                # realnvp | nsf | maf | maf_spline
//! blocks = 8
//! hidden = 128
//! layers = 2                  # hidden layers per conditioner
//! activation = "relu"         # relu | tanh | silu | gelu | elu
//! residual = false            # residual conditioner blocks
//! bins = 8                    # spline bins
//! tail_bound = 4.0            # spline acts on [-B, B] of the standardised data
//! scale_bound = 1.0           # affine |log scale| bound
//! mixing = "reverse"          # reverse | random_permutation | orthonormal | lu_linear
//! actnorm = false
//! dtype = "f32"               # f32 | f64
//! seed = 0                    # initialisation seed
//! zero_init = false           # conditioners' output layers start at zero (identity blocks)
//!
//! [train]                     # see train::TrainerConfig
//! epochs = 200
//! batch_size = 128
//! lr = 1e-3
//! schedule = { type = "step", every = 10, gamma = 0.1 }   # constant | step | exponential | cosine
//! clip_grad_norm = 5.0
//! patience = 12
//! min_delta = 1e-4
//! seed = 0
//!
//! [eval]
//! c2st = true                 # classifier two-sample test (costs a few seconds)
//! plots = true
//! ```

use crate::error::{Error, Result};
use crate::flow::{FlowBuilder, FlowKind, Mixing};
use crate::nn::Activation;
use crate::train::TrainerConfig;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The `[data]` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DataSpec {
    /// Data file (CSV with header, or JSON), relative to the working directory.
    pub file: Option<PathBuf>,
    /// Columns to use, by name (default: all).
    pub columns: Option<Vec<String>>,
    /// Drop invalid rows instead of failing.
    pub drop_invalid: bool,
    /// Train / validation / test fractions.
    pub split: [f64; 3],
    /// Seed of the split.
    pub seed: u64,
}

impl Default for DataSpec {
    fn default() -> Self {
        Self {
            file: None,
            columns: None,
            drop_invalid: false,
            split: [0.7, 0.15, 0.15],
            seed: 42,
        }
    }
}

/// The `[flow]` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FlowSection {
    /// Block family.
    pub kind: FlowKind,
    /// Number of blocks.
    pub blocks: usize,
    /// Conditioner width.
    pub hidden: usize,
    /// Conditioner hidden layers.
    pub layers: usize,
    /// Non-linearity.
    pub activation: Activation,
    /// Residual conditioner.
    pub residual: bool,
    /// Spline bins.
    pub bins: usize,
    /// Spline tail bound (standardised units).
    pub tail_bound: f64,
    /// Affine scale bound.
    pub scale_bound: f64,
    /// Mixing between blocks.
    pub mixing: Mixing,
    /// ActNorm before each block.
    pub actnorm: bool,
    /// "f32" or "f64".
    pub dtype: String,
    /// Initialisation seed.
    pub seed: u64,
    /// Zero-initialise the conditioners' output layers, so every block starts at the
    /// identity (helps conditional flows generalise).
    pub zero_init: bool,
}

impl Default for FlowSection {
    fn default() -> Self {
        Self {
            kind: FlowKind::Nsf,
            blocks: 6,
            hidden: 128,
            layers: 2,
            activation: Activation::Relu,
            residual: false,
            bins: 8,
            tail_bound: 4.0,
            scale_bound: 1.0,
            mixing: Mixing::Reverse,
            actnorm: false,
            dtype: "f32".into(),
            seed: 0,
            zero_init: false,
        }
    }
}

impl FlowSection {
    /// A builder for data of dimension `dim`.
    pub fn builder(&self, dim: usize) -> FlowBuilder {
        let mut b = match self.kind {
            FlowKind::RealNvp => FlowBuilder::realnvp(dim),
            FlowKind::Nsf => FlowBuilder::nsf(dim),
            FlowKind::Maf | FlowKind::MafSpline => FlowBuilder::maf(dim),
        };
        b.kind = self.kind;
        b.blocks = self.blocks;
        b.hidden = self.hidden;
        b.layers = self.layers;
        b.activation = self.activation;
        b.residual = self.residual;
        b.bins = self.bins;
        b.tail_bound = self.tail_bound;
        b.scale_bound = self.scale_bound;
        b.mixing = self.mixing;
        b.actnorm = self.actnorm;
        b.seed = self.seed;
        b.zero_init = self.zero_init;
        b
    }
}

/// The `[eval]` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EvalSpec {
    /// Run the classifier two-sample test.
    pub c2st: bool,
    /// Draw plots.
    pub plots: bool,
}

impl Default for EvalSpec {
    fn default() -> Self {
        Self {
            c2st: true,
            plots: true,
        }
    }
}

/// A whole run specification.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct RunSpec {
    /// Data options.
    pub data: DataSpec,
    /// Flow architecture.
    pub flow: FlowSection,
    /// Training settings.
    pub train: TrainerConfig,
    /// Evaluation options.
    pub eval: EvalSpec,
    /// Continuous normalizing flow (absent = the `[flow]` stack; docs/CNF.md).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cnf: Option<crate::cnf::CnfSection>,
    /// Bayesian flow: method and settings (absent = maximum likelihood; docs/BAYES.md).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bayes: Option<crate::bayes::BayesSection>,
    /// Device: `cpu` (absent), `cuda` or `cuda:N` — a top-level key before the first
    /// section; `--device` overrides it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
}

impl RunSpec {
    /// Open the spec's device (CPU when absent); a clear error when CUDA is asked for
    /// and not compiled in or not present.
    pub fn device(&self) -> Result<candle_core::Device> {
        crate::device::parse_device(self.device.as_deref().unwrap_or("cpu"))
    }

    /// Parse a spec from TOML text; `origin` names the file in errors.
    pub fn from_toml(text: &str, origin: &Path) -> Result<Self> {
        let spec: RunSpec =
            toml::from_str(text).map_err(|e| Error::file(origin, format!("invalid spec: {e}")))?;
        spec.validate()
            .map_err(|e| Error::file(origin, e.to_string()))?;
        Ok(spec)
    }

    /// Read and parse a spec file.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::file(path, format!("cannot read spec: {e}")))?;
        Self::from_toml(&text, path)
    }

    /// Check values that serde cannot.
    pub fn validate(&self) -> Result<()> {
        let s = self.data.split;
        if s.iter().any(|f| !(0.0..=1.0).contains(f))
            || (s.iter().sum::<f64>() - 1.0).abs() > 1e-9
            || s[0] == 0.0
        {
            return Err(Error::config(format!(
                "[data] split must be three fractions in [0, 1] summing to 1 with a non-empty training part, got {s:?}"
            )));
        }
        crate::flow::io::parse_dtype(&self.flow.dtype)
            .map_err(|e| Error::config(format!("[flow] {e}")))?;
        if let Some(c) = &self.cnf {
            c.validate()?;
        }
        if let Some(b) = &self.bayes {
            b.validate()?;
        }
        self.train
            .validate()
            .map_err(|e| Error::config(format!("[train] {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_and_bad_values_are_errors_naming_the_file() {
        let p = Path::new("models/x.toml");
        let e = RunSpec::from_toml("[flow]\nhiden = 3\n", p)
            .unwrap_err()
            .to_string();
        assert!(e.contains("models/x.toml") && e.contains("hiden"), "{e}");
        let e = RunSpec::from_toml("[train]\nlr = -1.0\n", p)
            .unwrap_err()
            .to_string();
        assert!(e.contains("lr"), "{e}");
        let e = RunSpec::from_toml("[data]\nsplit = [0.5, 0.5, 0.5]\n", p)
            .unwrap_err()
            .to_string();
        assert!(e.contains("split"), "{e}");
        let s = RunSpec::from_toml(
            "[flow]\nkind = \"realnvp\"\nmixing = \"lu_linear\"\n[train]\nschedule = { type = \"step\", every = 10, gamma = 0.1 }\n",
            p,
        )
        .unwrap();
        assert_eq!(s.flow.kind, FlowKind::RealNvp);
        assert_eq!(s.flow.mixing, Mixing::LuLinear);
    }

    #[test]
    fn shipped_specs_parse() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("models");
        let mut n = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let p = entry.unwrap().path();
            if p.extension().is_some_and(|e| e == "toml") {
                let text = std::fs::read_to_string(&p).unwrap();
                if text.contains("[simulator]") {
                    crate::sbi::SbiSpec::load(&p).unwrap();
                } else if text.contains("[integrand]") {
                    crate::integrate::spec::IntegrateSpec::load(&p).unwrap();
                } else {
                    RunSpec::load(&p).unwrap();
                }
                n += 1;
            }
        }
        assert!(n >= 10, "expected the shipped specs in models/");
    }
}
