//! [`SbiConfig`]: the `flowinfer sbi` spec (`models/sir-seed.toml`, `models/sbibm-*.toml`)
//! and the settings of [`train_npe`](crate::sbi::train_npe) — one type, so the library
//! and the command line share one set of defaults. Which simulator, how many
//! simulations, which estimator, how to train and diagnose. Unknown keys are errors;
//! every key but the simulator has a default.
//!
//! ```toml
//! device = "cpu"              # top level: cpu | cuda | cuda:N
//! seed = 0                    # top level: run seed, added to every section's seed
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
//! log_observations = false    # true: the estimator sees ln(1 + x) (counts)
//!
//! [flow]                      # as in `fit` specs, NPE defaults (5 blocks, width 64, zero_init)
//! [embedding]                 # optional network on x (mlp | deep_set | conv1d)
//! [train]                     # as in `flowinfer fit` specs
//!
//! [misspecification]         # optional: a flow on the simulated x, saved with the run;
//! level = 0.01                # `posterior` warns below this percentile (blocks, hidden,
//!                             # epochs, patience, lr, batch_size, seed also settable)
//!
//! [rounds]                    # optional: TSNPE for one observation
//! rounds = 4                  # round 1 from the prior, later ones from the prior
//! simulations = 2500          # truncated to the estimate's HPD region; per round
//! hpd_level = 1e-4            # posterior mass outside the truncation region
//! observation = "data/boarding_school/observation.csv"
//!
//! [diagnose]
//! sbc_runs = 200              # simulated data sets for SBC and coverage
//! sbc_samples = 1000          # posterior draws per data set
//! predictive_draws = 200      # posterior draws re-simulated for the predictive check
//! reference = "../shared/data/sbibm/two_moons"   # optional sbibm task folder
//! ```

use crate::config::JobConfig;
use crate::error::{Error, Result};
use crate::flow::{EmbeddingSpec, FlowConfig};
use crate::train::TrainerConfig;
use flowinfer_simulators::external::ExternalSimulatorConfig;
use flowinfer_simulators::{
    check_simulator_options, simulator_by_name, Simulator, SimulatorOptions, SIMULATOR_NAMES,
};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The built-in simulators, by spec name ([`flowinfer_simulators::SIMULATOR_NAMES`]).
pub const BUILTIN_SIMULATORS: &[&str] = &SIMULATOR_NAMES;

/// The `[simulator]` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimulatorConfig {
    /// Built-in name, or `"external"` with the `external` table.
    pub name: String,
    /// Observation noise standard deviation (seed and degenerate SIR only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub noise: Option<f64>,
    /// The external program (when `name = "external"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external: Option<ExternalSimulatorConfig>,
}

impl SimulatorConfig {
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

/// The `[npe]` section: the simulation budget and its split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NpeConfig {
    /// Simulation budget.
    pub simulations: usize,
    /// Fraction held out for validation.
    pub validation_fraction: f64,
    /// Simulation seed.
    pub seed: u64,
    /// Feed `ln(1 + x)` instead of `x` to the estimator (before z-scoring): for counts
    /// spanning orders of magnitude. Observations must then be greater than −1.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub log_observations: bool,
}

impl Default for NpeConfig {
    fn default() -> Self {
        Self {
            simulations: 10_000,
            validation_fraction: 0.1,
            seed: 0,
            log_observations: false,
        }
    }
}

/// The `[diagnose]` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DiagnoseConfig {
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

impl Default for DiagnoseConfig {
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

/// A whole `flowinfer sbi` spec, and the settings of
/// [`train_npe`](crate::sbi::train_npe) (module docs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SbiConfig {
    /// Device for training and sampling: `cpu` (absent), `cuda` or `cuda:N` (a top-level
    /// key, before the first section; `--device` overrides it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    /// The simulator (required by `flowinfer sbi`; a library caller passes its own).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub simulator: Option<SimulatorConfig>,
    /// Simulation budget and split.
    pub npe: NpeConfig,
    /// The conditional flow on θ.
    pub flow: FlowConfig,
    /// Optional embedding network on x.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub embedding: Option<EmbeddingSpec>,
    /// Training.
    pub train: TrainerConfig,
    /// Diagnostics.
    pub diagnose: DiagnoseConfig,
    /// A continuous normalizing flow as the estimator instead of `[flow]`; with
    /// `training = "flow_matching"` this is flow matching posterior estimation (FMPE,
    /// Wildberger et al. 2023). Absent: the `[flow]` stack (docs/CNF.md).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cnf: Option<crate::cnf::CnfConfig>,
    /// The misspecification check (`[misspecification]`): a flow fitted to the simulated
    /// observations, saved with the run; absent: no check.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub misspecification: Option<crate::sbi::diagnostics::MisspecificationConfig>,
    /// Sequential rounds with truncated proposals (`[rounds]`, TSNPE); absent: one
    /// amortised round on the prior.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rounds: Option<crate::sbi::rounds::RoundsConfig>,
    /// Neural likelihood estimation (`[nle]`, NLE/SNLE with MCMC) instead of NPE;
    /// absent: NPE.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nle: Option<crate::sbi::nle::NleConfig>,
    /// Run seed (top level; `--seed` sets it): added to the seeds of `[npe]`, `[flow]`,
    /// `[train]` and `[diagnose]`.
    #[serde(skip_serializing_if = "is_zero")]
    pub seed: u64,
    /// Where the simulation batches run, as files in a work directory (absent: in
    /// memory, this process; docs/CLUSTER.md).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub executor: Option<crate::cluster::ExecutorConfig>,
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

impl Default for SbiConfig {
    /// The NPE defaults: a 5-block NSF of width 64 with identity-initialised blocks,
    /// trained with batch 128, lr 5e-4, patience 20 and clipping at 5.
    fn default() -> Self {
        Self {
            device: None,
            simulator: None,
            npe: NpeConfig::default(),
            flow: FlowConfig {
                blocks: 5,
                hidden: 64,
                tail_bound: 4.0,
                zero_init: true,
                ..FlowConfig::default()
            },
            embedding: None,
            train: TrainerConfig {
                epochs: 200,
                batch_size: 128,
                lr: 5e-4,
                patience: Some(20),
                clip_grad_norm: Some(5.0),
                ..TrainerConfig::default()
            },
            diagnose: DiagnoseConfig::default(),
            cnf: None,
            misspecification: None,
            rounds: None,
            nle: None,
            seed: 0,
            executor: None,
        }
    }
}

impl JobConfig for SbiConfig {
    /// Check values serde cannot (the simulator, when given, is built to check its
    /// settings).
    fn validate(&self) -> Result<()> {
        if let Some(s) = &self.simulator {
            s.build()?;
        }
        self.validate_training()?;
        let d = &self.diagnose;
        if d.sbc_runs < 2 || d.sbc_samples < 2 || d.predictive_draws < 2 {
            return Err(Error::config(format!(
                "[diagnose] sbc_runs, sbc_samples and predictive_draws must be at least 2, got {}, {}, {}",
                d.sbc_runs, d.sbc_samples, d.predictive_draws
            )));
        }
        Ok(())
    }

    fn device_name(&self) -> Option<&str> {
        self.device.as_deref()
    }

    fn with_run_seed(&self) -> Self {
        let mut c = self.clone();
        let s = std::mem::take(&mut c.seed);
        c.npe.seed = c.npe.seed.wrapping_add(s);
        c.flow.seed = c.flow.seed.wrapping_add(s);
        c.train.seed = c.train.seed.wrapping_add(s);
        c.diagnose.seed = c.diagnose.seed.wrapping_add(s);
        if let Some(m) = &mut c.misspecification {
            m.seed = m.seed.wrapping_add(s);
        }
        if let Some(n) = &mut c.nle {
            n.mcmc.seed = n.mcmc.seed.wrapping_add(s);
        }
        c
    }
}

impl SbiConfig {
    /// A spec for a built-in simulator with all defaults.
    pub fn for_simulator(name: &str) -> Self {
        Self {
            simulator: Some(SimulatorConfig {
                name: name.into(),
                noise: None,
                external: None,
            }),
            ..Self::default()
        }
    }

    /// Parse from TOML; `origin` names the file in errors.
    pub fn from_toml(text: &str, origin: &Path) -> Result<Self> {
        crate::config::from_toml(text, origin)
    }

    /// Read and parse a spec file.
    pub fn load(path: &Path) -> Result<Self> {
        crate::config::load(path)
    }

    /// The `[simulator]` section (an error when the spec has none).
    pub fn simulator(&self) -> Result<&SimulatorConfig> {
        self.simulator.as_ref().ok_or_else(|| {
            Error::config(format!(
                "the spec has no [simulator] section; expected name = one of {} or external",
                BUILTIN_SIMULATORS.join(", ")
            ))
        })
    }

    /// Check the settings [`train_npe`](crate::sbi::train_npe) uses: budget, flow,
    /// embedding, training.
    pub fn validate_training(&self) -> Result<()> {
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
        self.flow.validate()?;
        if let Some(c) = &self.cnf {
            c.validate()?;
        }
        if let Some(m) = &self.misspecification {
            m.validate()?;
        }
        if let Some(r) = &self.rounds {
            r.validate()?;
        }
        if let Some(n) = &self.nle {
            n.validate()?;
            if self.rounds.is_some() {
                return Err(Error::config(
                    "[nle] and [rounds] together: SNLE rounds are set in [nle] (rounds = N)",
                ));
            }
        }
        self.train
            .validate()
            .map_err(|e| Error::config(format!("[train] {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<SbiConfig> {
        SbiConfig::from_toml(text, Path::new("models/x.toml"))
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
        let sim = s.simulator().unwrap().build().unwrap();
        assert_eq!((sim.param_dim(), sim.obs_dim()), (3, 2000));
    }

    /// The library's defaults (`SbiConfig::default()`, what `train_npe` callers start
    /// from) and the command line's (a spec that names only the simulator, or
    /// `--task`) must be the same settings.
    #[test]
    fn library_and_cli_npe_defaults_agree() {
        let lib = SbiConfig::default();
        let mut cli = parse("[simulator]\nname = \"two_moons\"\n").unwrap();
        assert!(cli.simulator.take().is_some());
        assert_eq!(lib, cli);
        let mut task = SbiConfig::for_simulator("two_moons");
        task.simulator = None;
        assert_eq!(lib, task);
        // A [flow] or [train] key overrides the NPE default, not the `fit` default.
        let one =
            parse("[simulator]\nname = \"two_moons\"\n[flow]\nhidden = 32\n[train]\nlr = 1e-3\n")
                .unwrap();
        assert_eq!(one.flow.blocks, lib.flow.blocks);
        assert!(one.flow.zero_init);
        assert_eq!(one.train.batch_size, lib.train.batch_size);
        assert_ne!(lib.flow, crate::flow::FlowConfig::default());
    }

    #[test]
    fn a_spec_without_simulator_is_refused_by_the_cli_accessor() {
        let s = parse("[npe]\nsimulations = 100\n").unwrap();
        let e = s.simulator().unwrap_err().to_string();
        assert!(e.contains("[simulator]") && e.contains("two_moons"), "{e}");
    }
}
