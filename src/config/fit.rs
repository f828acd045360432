//! [`FitConfig`]: the `flowinfer fit` spec (`models/*.toml`) and the settings of
//! [`density::fit`](crate::density::fit()). Unknown keys are errors; every key has a
//! default, so a spec states only what differs. Format (all sections optional):
//!
//! ```toml
//! device = "cpu"              # cpu | cuda | cuda:N (top level, before the sections)
//! seed = 0                    # run seed, added to every section's seed (`--seed`)
//!
//! [data]                      # used when `--data` is not given on the command line
//! file = "data/auger/auger_events_aligned.csv"
//! columns = ["energy", "theta"]   # default: every column
//! drop_invalid = false        # drop rows with empty/non-numeric/non-finite cells
//! split = [0.7, 0.15, 0.15]   # train / validation / test fractions
//! seed = 42                   # split seed
//! domains = { energy = "positive", theta = { interval = [0, 60] } }
//!                             # real (default) | positive | interval | periodic | integer
//! condition = ["energy"]      # learn p(other columns | these); default: none (docs/GENERATION.md)
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
//! [[flow.surjective]]         # surjective layers (docs/SURJECTIVE.md; any number)
//! type = "abs"                # any layer type: abs, augment, slice, sort, max_pool2d, …
//! learned = true              # the layer's own keys (dim and seed default from the place)
//! at = "data"                 # "data": before the standardisation | k: before block k
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
//! iw_samples = 100            # K of the importance-weighted test NLL of a bound flow
//! ```

use crate::config::JobConfig;
use crate::error::{Error, Result};
use crate::flow::FlowConfig;
use crate::train::TrainerConfig;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The `[data]` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DataConfig {
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
    /// Physical domain of columns by name (absent: `real`); each becomes a map of the
    /// flow's first layer ([`crate::config::ColumnDomain`], docs/GENERATION.md).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub domains: BTreeMap<String, crate::config::ColumnDomain>,
    /// Columns to condition on: the flow learns p(other columns | these), which become
    /// its context (`fit --condition`, `sample --condition`; docs/GENERATION.md).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub condition: Vec<String>,
}

impl Default for DataConfig {
    fn default() -> Self {
        Self {
            file: None,
            columns: None,
            drop_invalid: false,
            split: [0.7, 0.15, 0.15],
            seed: 42,
            domains: BTreeMap::new(),
            condition: Vec::new(),
        }
    }
}

/// The `[eval]` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EvalConfig {
    /// Run the classifier two-sample test.
    pub c2st: bool,
    /// Draw plots.
    pub plots: bool,
    /// Importance samples K of the test NLL of a flow whose likelihood is a bound
    /// (`nll_iw` in the report; docs/SURJECTIVE.md).
    pub iw_samples: usize,
}

impl Default for EvalConfig {
    fn default() -> Self {
        Self {
            c2st: true,
            plots: true,
            iw_samples: crate::pipeline::iw::DEFAULT_IW_SAMPLES,
        }
    }
}

/// A whole run specification.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct FitConfig {
    /// Data options.
    pub data: DataConfig,
    /// Flow architecture.
    pub flow: FlowConfig,
    /// Training settings.
    pub train: TrainerConfig,
    /// Evaluation options.
    pub eval: EvalConfig,
    /// Continuous normalizing flow (absent = the `[flow]` stack; docs/CNF.md).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cnf: Option<crate::cnf::CnfConfig>,
    /// Bayesian flow: method and settings (absent = maximum likelihood; docs/BAYES.md).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bayes: Option<crate::bayes::BayesConfig>,
    /// Device: `cpu` (absent), `cuda` or `cuda:N` — a top-level key before the first
    /// section; `--device` overrides it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    /// Run seed (top level; `--seed` sets it): added to the seeds of `[data]`, `[flow]`
    /// and `[train]`, so one number re-seeds the whole run (the command line also
    /// draws a `--toy` set with it).
    #[serde(skip_serializing_if = "is_zero")]
    pub seed: u64,
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

impl JobConfig for FitConfig {
    fn validate(&self) -> Result<()> {
        let s = self.data.split;
        if s.iter().any(|f| !(0.0..=1.0).contains(f))
            || (s.iter().sum::<f64>() - 1.0).abs() > 1e-9
            || s[0] == 0.0
        {
            return Err(Error::config(format!(
                "[data] split must be three fractions in [0, 1] summing to 1 with a non-empty training part, got {s:?}"
            )));
        }
        for (column, d) in &self.data.domains {
            d.validate(column)?;
        }
        if self.eval.iw_samples == 0 {
            return Err(Error::config(
                "[eval] iw_samples must be at least 1 (importance samples per test event)",
            ));
        }
        crate::pipeline::condition::validate_condition(self)?;
        self.flow.validate()?;
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

    fn device_name(&self) -> Option<&str> {
        self.device.as_deref()
    }

    fn with_run_seed(&self) -> Self {
        let mut c = self.clone();
        let s = std::mem::take(&mut c.seed);
        c.data.seed = c.data.seed.wrapping_add(s);
        c.flow.seed = c.flow.seed.wrapping_add(s);
        c.train.seed = c.train.seed.wrapping_add(s);
        c
    }
}

impl FitConfig {
    /// Parse a spec from TOML text; `origin` names the file in errors.
    pub fn from_toml(text: &str, origin: &Path) -> Result<Self> {
        crate::config::from_toml(text, origin)
    }

    /// Read and parse a spec file.
    pub fn load(path: &Path) -> Result<Self> {
        crate::config::load(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::{FlowKind, Mixing};

    #[test]
    fn unknown_keys_and_bad_values_are_errors_naming_the_file() {
        let p = Path::new("models/x.toml");
        let e = FitConfig::from_toml("[flow]\nhiden = 3\n", p)
            .unwrap_err()
            .to_string();
        assert!(e.contains("models/x.toml") && e.contains("hiden"), "{e}");
        let e = FitConfig::from_toml("[train]\nlr = -1.0\n", p)
            .unwrap_err()
            .to_string();
        assert!(e.contains("lr"), "{e}");
        let e = FitConfig::from_toml("[data]\nsplit = [0.5, 0.5, 0.5]\n", p)
            .unwrap_err()
            .to_string();
        assert!(e.contains("split"), "{e}");
        let s = FitConfig::from_toml(
            "[flow]\nkind = \"realnvp\"\nmixing = \"lu_linear\"\n[train]\nschedule = { type = \"step\", every = 10, gamma = 0.1 }\n",
            p,
        )
        .unwrap();
        assert_eq!(s.flow.kind, FlowKind::RealNvp);
        assert_eq!(s.flow.mixing, Mixing::LuLinear);
    }

    #[test]
    fn shipped_specs_load_for_their_job() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("models");
        let mut jobs = std::collections::BTreeMap::new();
        for entry in std::fs::read_dir(&dir).unwrap() {
            let p = entry.unwrap().path();
            if p.extension().is_some_and(|e| e == "toml") {
                let spec = crate::config::AnyConfig::load(&p)
                    .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
                *jobs.entry(spec.job()).or_insert(0) += 1;
            }
        }
        assert!(
            jobs.get("fit") >= Some(&8)
                && jobs.get("sbi") >= Some(&7)
                && jobs.get("integrate") >= Some(&5),
            "expected the shipped specs in models/: {jobs:?}"
        );
    }
}
