//! [`ConditionerSpec`], the serializable description of a conditioner network, and the
//! factory that builds the concrete networks ([`Mlp`], [`ResidualMlp`], [`MaskedMlp`],
//! [`BayesMlp`], [`BayesMaskedMlp`]) behind the [`Conditioner`] trait.

use crate::error::{Error, Result};
use crate::nn::bayes_linear::BayesLinearConfig;
use crate::nn::bayes_mlp::{BayesMaskedMlp, BayesMlp};
use crate::nn::conditioner::Conditioner;
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

    fn validate(&self) -> Result<()> {
        let (h, n, what) = match self {
            ConditionerSpec::Mlp { hidden, layers, .. } => (*hidden, *layers, "layers"),
            ConditionerSpec::ResidualMlp { hidden, blocks, .. } => (*hidden, *blocks, "blocks"),
            ConditionerSpec::BayesMlp {
                hidden,
                layers,
                prior_std,
                init_logvar,
                ..
            } => {
                BayesLinearConfig {
                    prior_std: *prior_std,
                    init_logvar: *init_logvar,
                }
                .validate()?;
                (*hidden, *layers, "layers")
            }
        };
        if h == 0 || n == 0 {
            return Err(Error::config(format!(
                "conditioner needs hidden ≥ 1 and {what} ≥ 1, got hidden = {h}, {what} = {n}"
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
        Ok(match self {
            ConditionerSpec::Mlp {
                hidden,
                layers,
                activation,
                zero_init_output,
            } => Box::new(Mlp::new(
                params,
                in_dim,
                context_dim,
                out_dim,
                *hidden,
                *layers,
                *activation,
                *zero_init_output,
            )?),
            ConditionerSpec::ResidualMlp {
                hidden,
                blocks,
                activation,
                zero_init_output,
            } => Box::new(ResidualMlp::new(
                params,
                in_dim,
                context_dim,
                out_dim,
                *hidden,
                *blocks,
                *activation,
                *zero_init_output,
            )?),
            ConditionerSpec::BayesMlp {
                hidden,
                layers,
                activation,
                zero_init_output,
                bayes_layers,
                prior_std,
                init_logvar,
            } => Box::new(BayesMlp::new(
                params,
                in_dim,
                context_dim,
                out_dim,
                *hidden,
                *layers,
                *activation,
                *zero_init_output,
                *bayes_layers,
                &BayesLinearConfig {
                    prior_std: *prior_std,
                    init_logvar: *init_logvar,
                },
            )?),
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
        if let ConditionerSpec::BayesMlp {
            hidden,
            layers,
            activation,
            zero_init_output,
            bayes_layers,
            prior_std,
            init_logvar,
        } = self
        {
            return Ok(Box::new(BayesMaskedMlp::new(
                params,
                dim,
                context_dim,
                params_per_dim,
                order,
                *hidden,
                *layers,
                *activation,
                *zero_init_output,
                *bayes_layers,
                &BayesLinearConfig {
                    prior_std: *prior_std,
                    init_logvar: *init_logvar,
                },
            )?));
        }
        let (hidden, depth, activation, zero, residual) = match self {
            ConditionerSpec::Mlp {
                hidden,
                layers,
                activation,
                zero_init_output,
            } => (*hidden, *layers, *activation, *zero_init_output, false),
            ConditionerSpec::ResidualMlp {
                hidden,
                blocks,
                activation,
                zero_init_output,
            } => (*hidden, *blocks, *activation, *zero_init_output, true),
            ConditionerSpec::BayesMlp { .. } => unreachable!("handled above"),
        };
        Ok(Box::new(MaskedMlp::new(
            params,
            dim,
            context_dim,
            params_per_dim,
            order,
            hidden,
            depth,
            activation,
            zero,
            residual,
        )?))
    }
}
