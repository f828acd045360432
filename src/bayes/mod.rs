//! Bayesian flows: a posterior over the flow's weights, and generated events with
//! error bands. See docs/BAYES.md.
//!
//! * [`svi`]: weight-space stochastic variational inference (mean-field Gaussian
//!   weights in the conditioners, `nn::bayes_linear`), ELBO with the KL scaled per
//!   training event; MAP (means only).
//! * [`sgld`]: SGLD, preconditioned SGLD and SGHMC over every flow parameter, with a
//!   bounded store of weight samples ([`store`]).
//! * [`ensemble`]: deep ensembles, the non-Bayesian baseline, stored like samples.
//! * [`predict`]: weight draws → events and densities; [`bands`]: per-bin histogram
//!   bands, pulls and coverage; [`fit`]: the `fit` job for specs with a `[bayes]`
//!   section.

pub mod bands;
pub mod bands_run;
pub mod ensemble;
pub mod fit;
pub mod predict;
pub mod sgld;
pub mod store;
pub mod svi;

pub use bands_run::{draws_table, run_bands, BandsConfig, BandsOutcome, Reference};
pub use predict::BayesModel;

use crate::error::{Error, Result};
use crate::flow::FlowSpec;
use crate::nn::ConditionerSpec;
use crate::transforms::TransformSpec;
use serde::{Deserialize, Serialize};

/// How the weight posterior is represented.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// Bayesian layers, trained at their means with the prior as weight decay.
    #[default]
    Map,
    /// Mean-field variational inference in the Bayesian layers.
    Svi,
    /// Stochastic-gradient Langevin dynamics over every parameter.
    Sgld,
    /// Preconditioned (RMSprop) SGLD.
    Psgld,
    /// Stochastic-gradient Hamiltonian Monte Carlo.
    Sghmc,
    /// K independently trained flows.
    Ensemble,
}

impl Method {
    /// Whether the method trains Bayesian layers (mean + log-variance).
    pub fn uses_bayes_layers(self) -> bool {
        matches!(self, Method::Map | Method::Svi)
    }

    /// Whether the method is one of the SGLD family.
    pub fn is_sgmcmc(self) -> bool {
        matches!(self, Method::Sgld | Method::Psgld | Method::Sghmc)
    }
}

/// The `[bayes]` section of a run spec.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BayesConfig {
    /// `map | svi | sgld | psgld | sghmc | ensemble`.
    pub method: Method,
    /// Standard deviation of the Gaussian prior on the weights (Bayesian layers; every
    /// parameter for the SGLD family).
    pub prior_std: f64,
    /// Initial log-variance of the Bayesian weights (SVI).
    pub init_logvar: f64,
    /// SVI: learning-rate multiplier of the weight log-variances (`weight_logvar`)
    /// relative to `[train] lr`. Adam moves every parameter by about `lr` per step
    /// whatever its gradient, which is right for weights of size ~0.1 but leaves a
    /// log-variance (which must travel several units) far from its optimum in a
    /// normal training budget.
    pub logvar_lr_scale: f64,
    /// How many of the last dense layers of each conditioner are Bayesian (absent = all).
    pub bayes_layers: Option<usize>,
    /// Multiplies the KL term (1 = the ELBO; a calibration knob).
    pub kl_weight: f64,
    /// Epochs over which the KL weight rises linearly from 0 (0 = no annealing).
    pub kl_anneal_epochs: usize,
    /// Monte Carlo samples of the likelihood per step (SVI).
    pub mc_samples: usize,
    /// Temperature of the SGLD-family target `p(θ | D)^{1/T}`.
    pub temperature: f64,
    /// SGLD family: start the chain from a maximum-likelihood fit with the `[train]`
    /// settings (Adam, schedule, early stopping); otherwise from the initialisation.
    pub warm_start: bool,
    /// SGLD family: epochs of the chain (burn-in included).
    pub chain_epochs: usize,
    /// SGLD family: learning rate `η` on the mean loss (at the chain's first epoch).
    pub step_size: f64,
    /// SGLD family: schedule of `η` over the chain's epochs (same forms as `[train]`).
    pub step_schedule: crate::train::LrSchedule,
    /// SGLD-family epochs discarded before samples are kept.
    pub burn_in_epochs: usize,
    /// Keep every `thin`-th step after burn-in.
    pub thin: usize,
    /// Largest number of weight samples kept (thinning doubles when the store is full).
    pub max_samples: usize,
    /// pSGLD: RMSprop decay of the squared-gradient average.
    pub psgld_alpha: f64,
    /// pSGLD: regulariser λ of the preconditioner `1/(λ + √V)` (mean-loss units).
    pub psgld_lambda: f64,
    /// SGHMC: friction α (momentum decay per step).
    pub sghmc_friction: f64,
    /// Ensemble members.
    pub members: usize,
    /// Weight draws used for the evaluation and the default of `bands`/`sample`.
    pub draws: usize,
}

impl Default for BayesConfig {
    fn default() -> Self {
        Self {
            method: Method::Map,
            prior_std: 1.0,
            init_logvar: -9.0,
            logvar_lr_scale: 30.0,
            bayes_layers: None,
            kl_weight: 1.0,
            kl_anneal_epochs: 0,
            mc_samples: 1,
            temperature: 1.0,
            warm_start: true,
            chain_epochs: 50,
            step_size: 1e-4,
            step_schedule: crate::train::LrSchedule::Constant,
            burn_in_epochs: 10,
            thin: 10,
            max_samples: 50,
            psgld_alpha: 0.99,
            psgld_lambda: 1e-5,
            sghmc_friction: 0.1,
            members: 5,
            draws: 20,
        }
    }
}

impl BayesConfig {
    /// Check the values.
    pub fn validate(&self) -> Result<()> {
        let pos = |v: f64, name: &str| {
            if v > 0.0 && v.is_finite() {
                Ok(())
            } else {
                Err(Error::config(format!(
                    "[bayes] {name} must be a positive number, got {v}"
                )))
            }
        };
        pos(self.prior_std, "prior_std")?;
        pos(self.temperature, "temperature")?;
        pos(self.psgld_lambda, "psgld_lambda")?;
        pos(self.step_size, "step_size")?;
        pos(self.logvar_lr_scale, "logvar_lr_scale")?;
        self.step_schedule
            .validate()
            .map_err(|e| Error::config(format!("[bayes] step_schedule: {e}")))?;
        if self.method.is_sgmcmc() && self.chain_epochs <= self.burn_in_epochs {
            return Err(Error::config(format!(
                "[bayes] chain_epochs ({}) must exceed burn_in_epochs ({}), or no sample is kept",
                self.chain_epochs, self.burn_in_epochs
            )));
        }
        if !(self.kl_weight >= 0.0 && self.kl_weight.is_finite()) {
            return Err(Error::config(format!(
                "[bayes] kl_weight must be a finite number ≥ 0, got {}",
                self.kl_weight
            )));
        }
        if !(self.psgld_alpha > 0.0 && self.psgld_alpha < 1.0) {
            return Err(Error::config("[bayes] psgld_alpha must lie in (0, 1)"));
        }
        if !(self.sghmc_friction > 0.0 && self.sghmc_friction <= 1.0) {
            return Err(Error::config("[bayes] sghmc_friction must lie in (0, 1]"));
        }
        if self.mc_samples == 0 || self.thin == 0 || self.max_samples == 0 {
            return Err(Error::config(
                "[bayes] mc_samples, thin and max_samples must be at least 1",
            ));
        }
        if self.members == 0 {
            return Err(Error::config("[bayes] members must be at least 1"));
        }
        if self.draws == 0 {
            return Err(Error::config("[bayes] draws must be at least 1"));
        }
        if self.bayes_layers == Some(0) {
            return Err(Error::config(
                "[bayes] bayes_layers must be at least 1 (leave it out for all layers)",
            ));
        }
        crate::nn::BayesLinearConfig {
            prior_std: self.prior_std,
            init_logvar: self.init_logvar,
        }
        .validate()
        .map_err(|e| Error::config(format!("[bayes] {e}")))
    }
}

/// Replace every MLP conditioner of `spec` by a Bayesian MLP with the section's prior
/// and initial variance (coupling and autoregressive layers alike). Residual
/// conditioners have no Bayesian version: an error.
pub fn bayesify(spec: &FlowSpec, b: &BayesConfig) -> Result<FlowSpec> {
    let convert = |c: &ConditionerSpec| -> Result<ConditionerSpec> {
        match c {
            ConditionerSpec::Mlp {
                hidden,
                layers,
                activation,
                zero_init_output,
            } => Ok(ConditionerSpec::BayesMlp {
                hidden: *hidden,
                layers: *layers,
                activation: *activation,
                zero_init_output: *zero_init_output,
                bayes_layers: b.bayes_layers,
                prior_std: b.prior_std,
                init_logvar: b.init_logvar,
            }),
            ConditionerSpec::BayesMlp { .. } => Ok(c.clone()),
            ConditionerSpec::ResidualMlp { .. } => Err(Error::config(
                "Bayesian flows need plain MLP conditioners ([flow] residual = false)",
            )),
        }
    };
    let mut out = spec.clone();
    for t in &mut out.transforms {
        match t {
            TransformSpec::Coupling { conditioner, .. }
            | TransformSpec::MaskedAutoregressive { conditioner, .. } => {
                *conditioner = convert(conditioner)?;
            }
            _ => {}
        }
    }
    Ok(out)
}
