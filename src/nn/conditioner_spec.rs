//! [`ConditionerSpec`], the serializable description of a conditioner network, and the
//! factory that builds the concrete networks ([`Mlp`], [`ResidualMlp`], [`MaskedMlp`],
//! [`BayesMlp`], [`BayesMaskedMlp`]) behind the [`Conditioner`] trait.

use crate::error::{Error, Result};
use crate::nn::bayes_linear::BayesLinearConfig;
use crate::nn::bayes_mlp::{BayesMaskedMlp, BayesMlp};
use crate::nn::conditioner::{Conditioner, Dims, NetShape};
use crate::nn::{Activation, MaskedMlp, Mlp, ResidualMlp};
use crate::params::Params;
use serde::{Deserialize, Serialize};

/// Serializable description of a conditioner network.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ConditionerSpec {
    /// Plain MLP: `layers` hidden layers of width `hidden`.
    Mlp {
        /// Hidden width.
        hidden: usize,
        /// Number of hidden layers (≥ 1).
        layers: usize,
        /// Non-linearity between layers.
        #[serde(default)]
        activation: Activation,
        /// Initialise the output layer to zero (map starts at its zero-parameter point).
        #[serde(default)]
        zero_init_output: bool,
    },
    /// MLP with residual blocks of two layers each.
    ResidualMlp {
        /// Hidden width.
        hidden: usize,
        /// Number of residual blocks (≥ 1).
        blocks: usize,
        /// Non-linearity.
        #[serde(default)]
        activation: Activation,
        /// Initialise the output layer to zero.
        #[serde(default)]
        zero_init_output: bool,
    },
    /// Bayesian MLP (MADE when autoregressive): mean-field Gaussian weights in the last
    /// `bayes_layers` dense layers (all when absent); see `nn::bayes_linear`.
    BayesMlp {
        /// Hidden width.
        hidden: usize,
        /// Number of hidden layers (≥ 1).
        layers: usize,
        /// Non-linearity between layers.
        #[serde(default)]
        activation: Activation,
        /// Initialise the output layer's weight means and bias to zero.
        #[serde(default)]
        zero_init_output: bool,
        /// How many of the last dense layers are Bayesian (absent = all).
        #[serde(default)]
        bayes_layers: Option<usize>,
        /// Standard deviation of the Gaussian weight prior.
        prior_std: f64,
        /// Initial log-variance of the weights.
        init_logvar: f64,
    },
}

impl ConditionerSpec {
    /// A plain ReLU MLP with `layers` hidden layers of width `hidden`.
    pub fn mlp(hidden: usize, layers: usize) -> Self {
        ConditionerSpec::Mlp {
            hidden,
            layers,
            activation: Activation::Relu,
            zero_init_output: false,
        }
    }

    /// The hidden width, depth (hidden layers or residual blocks), activation and
    /// output initialisation of the network.
    pub fn shape(&self) -> NetShape {
        let (hidden, depth, activation, zero_init_output) = match *self {
            ConditionerSpec::Mlp {
                hidden,
                layers,
                activation,
                zero_init_output,
            }
            | ConditionerSpec::BayesMlp {
                hidden,
                layers,
                activation,
                zero_init_output,
                ..
            } => (hidden, layers, activation, zero_init_output),
            ConditionerSpec::ResidualMlp {
                hidden,
                blocks,
                activation,
                zero_init_output,
            } => (hidden, blocks, activation, zero_init_output),
        };
        NetShape {
            hidden,
            depth,
            activation,
            zero_init_output,
        }
    }

    /// For a Bayesian network, `bayes_layers` and the weight prior.
    fn bayes(&self) -> Option<(Option<usize>, BayesLinearConfig)> {
        match *self {
            ConditionerSpec::BayesMlp {
                bayes_layers,
                prior_std,
                init_logvar,
                ..
            } => Some((
                bayes_layers,
                BayesLinearConfig {
                    prior_std,
                    init_logvar,
                },
            )),
            _ => None,
        }
    }

    fn validate(&self) -> Result<()> {
        if let Some((_, cfg)) = self.bayes() {
            cfg.validate()?;
        }
        let what = match self {
            ConditionerSpec::ResidualMlp { .. } => "blocks",
            _ => "layers",
        };
        let NetShape { hidden, depth, .. } = self.shape();
        if hidden == 0 || depth == 0 {
            return Err(Error::config(format!(
                "conditioner needs hidden ≥ 1 and {what} ≥ 1, got hidden = {hidden}, {what} = {depth}"
            )));
        }
        Ok(())
    }

    /// Build a dense conditioner (coupling layers, embedding networks).
    pub fn build(
        &self,
        params: &Params,
        in_dim: usize,
        context_dim: usize,
        out_dim: usize,
    ) -> Result<Box<dyn Conditioner>> {
        self.validate()?;
        let dims = Dims {
            in_dim,
            context_dim,
            out_dim,
        };
        let shape = self.shape();
        Ok(match (self, self.bayes()) {
            (_, Some((bayes_layers, cfg))) => Box::new(BayesMlp::bayesian(
                params,
                dims,
                &shape,
                bayes_layers,
                &cfg,
            )?),
            (ConditionerSpec::ResidualMlp { .. }, None) => {
                Box::new(ResidualMlp::new(params, dims, &shape)?)
            }
            _ => Box::new(Mlp::new(params, dims, &shape)?),
        })
    }

    /// Build an autoregressive (MADE-masked) conditioner over `dim` features visited in
    /// `order`, with `params_per_dim` outputs per feature laid out feature-major.
    pub fn build_autoregressive(
        &self,
        params: &Params,
        dim: usize,
        context_dim: usize,
        params_per_dim: usize,
        order: &[usize],
    ) -> Result<Box<dyn Conditioner>> {
        self.validate()?;
        let shape = self.shape();
        Ok(match self.bayes() {
            Some((bayes_layers, cfg)) => Box::new(BayesMaskedMlp::bayesian(
                params,
                dim,
                context_dim,
                params_per_dim,
                order,
                &shape,
                bayes_layers,
                &cfg,
            )?),
            None => {
                let residual = matches!(self, ConditionerSpec::ResidualMlp { .. });
                Box::new(MaskedMlp::deterministic(
                    params,
                    dim,
                    context_dim,
                    params_per_dim,
                    order,
                    &shape,
                    residual,
                )?)
            }
        })
    }
}
