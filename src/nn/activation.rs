//! Activation functions, serializable by name.

use crate::error::Result;
use candle_core::Tensor;
use serde::{Deserialize, Serialize};

/// An element-wise non-linearity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    /// max(0, x) (the seed study's choice).
    #[default]
    Relu,
    /// tanh(x).
    Tanh,
    /// x·sigmoid(x).
    Silu,
    /// Gaussian error linear unit (tanh approximation).
    Gelu,
    /// Exponential linear unit with alpha = 1.
    Elu,
}

impl Activation {
    /// Apply the activation.
    pub fn apply(&self, x: &Tensor) -> Result<Tensor> {
        Ok(match self {
            Activation::Relu => x.relu()?,
            Activation::Tanh => x.tanh()?,
            Activation::Silu => x.silu()?,
            Activation::Gelu => x.gelu()?,
            Activation::Elu => x.elu(1.0)?,
        })
    }
}
