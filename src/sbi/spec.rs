//! `flowinfer sbi` specs (`models/sir-seed.toml`, `models/sbibm-*.toml`): which simulator,
//! how many simulations, which estimator, how to train and diagnose. Unknown keys are
//! errors; every key but the simulator has a default.
//!
//! ```toml
//! [simulator]
//! name = "two_moons"          # two_moons | gaussian_linear | slcp | sir | lotka_volterra
//!                             # | sir_seed | sir_degenerate | external
//! noise = 0.005               # sir_seed / sir_degenerate: N(0, noise²) on every entry
//! # external = { command = ["python3", "sim.py"], param_names = ["a"], obs_dim = 3,
//! #              prior = [{ type = "uniform", low = 0.0, high = 1.0 }] }
//!
//! [npe]
//! simulations = 10000         # simulation budget
//! validation_fraction = 0.1
//! seed = 0                    # simulation seed
//!
//! [flow]                      # as in `flowinfer fit` specs (the conditional flow on θ)
//! [embedding]                 # optional network on x (mlp | deep_set | conv1d)
//! [train]                     # as in `flowinfer fit` specs
//!
//! [diagnose]
//! sbc_runs = 200              # simulated data sets for SBC and coverage
//! sbc_samples = 1000          # posterior draws per data set
//! predictive_draws = 200      # posterior draws re-simulated for the predictive check
//! reference = "../shared/data/sbibm/two_moons"   # optional sbibm task folder
//! ```

use crate::config::FlowSection;
use crate::error::{Error, Result};
use crate::flow::EmbeddingSpec;
use crate::train::TrainerConfig;
use flowinfer_simulators::external::ExternalSimulatorConfig;
use flowinfer_simulators::{
    check_simulator_options, simulator_by_name, Simulator, SimulatorOptions, SIMULATOR_NAMES,
};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The built-in simulators, by spec name ([`flowinfer_simulators::SIMULATOR_NAMES`]).
pub const BUILTIN_SIMULATORS: [&str; 7] = SIMULATOR_NAMES;

/// The `[simulator]` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimulatorSpec {
    /// Built-in name, or `"external"` with the `external` table.
    pub name: String,
    /// Observation noise standard deviation (seed and degenerate SIR only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub noise: Option<f64>,
    /// The external program (when `name = "external"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external: Option<ExternalSimulatorConfig>,
}

impl SimulatorSpec {
    /// Build the simulator ([`simulator_by_name`]). A name or table that does not fit is
    /// an [`Error::Config`]; an invalid simulator setting (a negative noise, a bad
    /// external configuration) an [`Error::Simulation`].
    pub fn build(&self) -> Result<Box<dyn Simulator>> {
        let options = SimulatorOptions {
            noise: self.noise,
            external: self.external.clone(),
        };
        check_simulator_options(&self.name, &options)
            .map_err(|m| Error::config(format!("[simulator] {m}")))?;
        Ok(simulator_by_name(&self.name, options)?)
    }
}

/// The `[npe]` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NpeSection {
    /// Simulation budget.
    pub simulations: usize,
    /// Fraction held out for validation.
    pub validation_fraction: f64,
    /// Simulation seed.
    pub seed: u64,
}

impl Default for NpeSection {
    fn default() -> Self {
        Self {
            simulations: 10_000,
            validation_fraction: 0.1,
            seed: 0,
        }
    }
}

/// The `[diagnose]` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DiagnoseSpec {
    /// Simulated data sets for SBC and expected coverage.
    pub sbc_runs: usize,
    /// Posterior draws per SBC data set.
    pub sbc_samples: usize,
    /// Posterior draws re-simulated in the predictive check.
    pub predictive_draws: usize,
    /// sbibm task folder with `num_observation_k/{observation,reference_posterior_samples}.csv`.
    pub reference: Option<PathBuf>,
    /// Seed of the diagnostics.
    pub seed: u64,
}

impl Default for DiagnoseSpec {
    fn default() -> Self {
        Self {
            sbc_runs: 200,
            sbc_samples: 1000,
            predictive_draws: 200,
            reference: None,
            seed: 1,
        }
    }
}

/// A whole `flowinfer sbi` spec.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SbiSpec {
    /// The simulator.
    pub simulator: SimulatorSpec,
    /// Simulation budget and split.
    #[serde(default)]
    pub npe: NpeSection,
    /// The conditional flow on θ.
    #[serde(default = "default_flow")]
    pub flow: FlowSection,
    /// Optional embedding network on x.
    #[serde(default)]
    pub embedding: Option<EmbeddingSpec>,
    /// Training.
    #[serde(default = "default_train")]
    pub train: TrainerConfig,
    /// Diagnostics.
    #[serde(default)]
    pub diagnose: DiagnoseSpec,
    /// Device for training and sampling: `cpu`, `cuda` or `cuda:N` (a top-level key,
    /// before the first section; `--device` overrides it).
    #[serde(default = "default_device")]
    pub device: String,
    /// A continuous normalizing flow as the estimator instead of `[flow]`; with
    /// `training = "flow_matching"` this is flow matching posterior estimation (FMPE,
    /// Wildberger et al. 2023). Absent: the `[flow]` stack (docs/CNF.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cnf: Option<crate::cnf::CnfSection>,
}

/// The default device: `cpu`.
pub fn default_device() -> String {
    "cpu".into()
}

/// NPE defaults: a 5-block NSF, width 64, near-identity initialisation.
pub fn default_flow() -> FlowSection {
    FlowSection {
        blocks: 5,
        hidden: 64,
        tail_bound: 4.0,
        zero_init: true,
        ..Default::default()
    }
}

/// NPE training defaults: batch 128, lr 5e-4, patience 20, clipping at 5.
pub fn default_train() -> TrainerConfig {
    TrainerConfig {
        epochs: 200,
        batch_size: 128,
        lr: 5e-4,
        patience: Some(20),
        clip_grad_norm: Some(5.0),
        ..Default::default()
    }
}

/// Replace `table[key]` by `defaults` with the keys given in `table[key]` on top.
fn overlay<T: Serialize>(
    table: &mut toml::Table,
    key: &str,
    defaults: &T,
) -> std::result::Result<(), String> {
    let mut merged = toml::Table::try_from(defaults).map_err(|e| e.to_string())?;
    match table.remove(key) {
        Some(toml::Value::Table(given)) => merged.extend(given),
        Some(other) => return Err(format!("`{key}` must be a table, got {}", other.type_str())),
        None => {}
    }
    table.insert(key.into(), toml::Value::Table(merged));
    Ok(())
}

impl SbiSpec {
    /// A spec for a simulator with all defaults.
    pub fn for_simulator(name: &str) -> Self {
        Self {
            simulator: SimulatorSpec {
                name: name.into(),
                noise: None,
                external: None,
            },
            npe: NpeSection::default(),
            flow: default_flow(),
            embedding: None,
            train: default_train(),
            diagnose: DiagnoseSpec::default(),
            device: default_device(),
            cnf: None,
        }
    }

    /// Parse from TOML; `origin` names the file in errors.
    pub fn from_toml(text: &str, origin: &Path) -> Result<Self> {
        let bad = |e: &dyn std::fmt::Display| Error::file(origin, format!("invalid spec: {e}"));
        let mut table: toml::Table = toml::from_str(text).map_err(|e| bad(&e))?;
        // `[flow]` and `[train]` keys override the NPE defaults, not the density-fit ones.
        overlay(&mut table, "flow", &default_flow()).map_err(|e| bad(&e))?;
        overlay(&mut table, "train", &default_train()).map_err(|e| bad(&e))?;
        let spec: SbiSpec = table.try_into().map_err(|e| bad(&e))?;
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

    /// Check values serde cannot (the simulator is built to check its settings).
    pub fn validate(&self) -> Result<()> {
        self.simulator.build()?;
        if self.npe.simulations < 20 {
            return Err(Error::config(format!(
                "[npe] simulations must be at least 20, got {}",
                self.npe.simulations
            )));
        }
        if !(0.0..0.9).contains(&self.npe.validation_fraction) {
            return Err(Error::config(format!(
                "[npe] validation_fraction must lie in [0, 0.9), got {}",
                self.npe.validation_fraction
            )));
        }
        crate::flow::io::parse_dtype(&self.flow.dtype)
            .map_err(|e| Error::config(format!("[flow] {e}")))?;
        if let Some(c) = &self.cnf {
            c.validate()?;
        }
        self.train
            .validate()
            .map_err(|e| Error::config(format!("[train] {e}")))?;
        let d = &self.diagnose;
        if d.sbc_runs < 2 || d.sbc_samples < 2 || d.predictive_draws < 2 {
            return Err(Error::config(format!(
                "[diagnose] sbc_runs, sbc_samples and predictive_draws must be at least 2, got {}, {}, {}",
                d.sbc_runs, d.sbc_samples, d.predictive_draws
            )));
        }
        Ok(())
    }

    /// The settings of [`train_npe`](crate::sbi::train_npe).
    pub fn npe_config(&self) -> crate::sbi::NpeConfig {
        crate::sbi::NpeConfig {
            simulations: self.npe.simulations,
            validation_fraction: self.npe.validation_fraction,
            flow: self.flow.clone(),
            embedding: self.embedding.clone(),
            train: self.train.clone(),
            seed: self.npe.seed,
            device: self.device.clone(),
            cnf: self.cnf.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<SbiSpec> {
        SbiSpec::from_toml(text, Path::new("models/x.toml"))
    }

    #[test]
    fn malformed_specs_name_the_file_and_the_problem() {
        let e = parse("[simulator]\nname = \"two_moon\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("models/x.toml") && e.contains("two_moons"),
            "{e}"
        );
        let e = parse("[simulator]\nname = \"slcp\"\nnoise = 0.1\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("noise"), "{e}");
        let e = parse("[simulator]\nname = \"external\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("external"), "{e}");
        let e = parse("[simulator]\nname = \"sir_seed\"\nnoise = -1.0\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("sir"), "{e}");
        let e = parse("[simulator]\nname = \"two_moons\"\n[npe]\nsimulations = 5\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("simulations"), "{e}");
        let e = parse("[simulator]\nname = \"two_moons\"\n[npe]\nsimulation = 500\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("simulation"), "{e}");
        let e = parse("[simulator]\nname = \"two_moons\"\n[embedding]\nout_dim = 4\n[embedding.net]\ntype = \"deep_set\"\ntrial_dim = 3\n")
            .map(|s| s.npe_config())
            .map(|c| c.embedding.unwrap().validate(2))
            .unwrap()
            .unwrap_err()
            .to_string();
        assert!(e.contains("trial_dim"), "{e}");
    }

    #[test]
    fn defaults_and_overrides() {
        let s = parse("[simulator]\nname = \"sir_seed\"\nnoise = 0.01\n[flow]\nkind = \"maf\"\n")
            .unwrap();
        assert_eq!(s.npe.simulations, 10_000);
        assert!(
            s.flow.zero_init,
            "NPE flows default to identity-initialised blocks"
        );
        assert_eq!(s.flow.kind, crate::flow::FlowKind::Maf);
        let sim = s.simulator.build().unwrap();
        assert_eq!((sim.param_dim(), sim.obs_dim()), (3, 2000));
    }
}
