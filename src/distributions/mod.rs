//! Base distributions of flows: standard normal, trainable diagonal Gaussian, uniform box.

pub mod diag_gaussian;
pub mod standard_normal;
pub mod uniform_box;

pub use diag_gaussian::DiagGaussian;
pub use standard_normal::StandardNormal;
pub use uniform_box::UniformBox;

use crate::error::Result;
use crate::params::Params;
use candle_core::Tensor;
use rand::RngCore;
use serde::{Deserialize, Serialize};

/// A distribution over the latent space.
pub trait BaseDistribution: Send + Sync + std::fmt::Debug {
    /// Dimension of the latent space.
    fn dim(&self) -> usize;
    /// `log q(z)` for `z (batch, dim)`, shape `(batch,)`.
    fn log_prob(&self, z: &Tensor) -> Result<Tensor>;
    /// `n` draws, shape `(n, dim)`, using `rng` for the noise.
    fn sample(&self, n: usize, rng: &mut dyn RngCore) -> Result<Tensor>;
    /// Serializable description.
    fn spec(&self) -> BaseSpec;
}

/// Serializable description of a base distribution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum BaseSpec {
    /// N(0, I).
    StandardNormal {
        /// Dimension.
        dim: usize,
    },
    /// N(μ, diag σ²) with trainable μ and log σ.
    DiagGaussian {
        /// Dimension.
        dim: usize,
    },
    /// Uniform on the box `[low, high]`.
    UniformBox {
        /// Lower corner.
        low: Vec<f64>,
        /// Upper corner.
        high: Vec<f64>,
    },
}

impl BaseSpec {
    /// Dimension of the described distribution.
    pub fn dim(&self) -> usize {
        match self {
            BaseSpec::StandardNormal { dim } | BaseSpec::DiagGaussian { dim } => *dim,
            BaseSpec::UniformBox { low, .. } => low.len(),
        }
    }

    /// Build it; trainable parameters live under `params`.
    pub fn build(&self, params: &Params) -> Result<Box<dyn BaseDistribution>> {
        Ok(match self {
            BaseSpec::StandardNormal { dim } => {
                Box::new(StandardNormal::new(*dim, params.dtype(), params.device()))
            }
            BaseSpec::DiagGaussian { dim } => Box::new(DiagGaussian::new(params, *dim)?),
            BaseSpec::UniformBox { low, high } => {
                Box::new(UniformBox::new(low, high, params.dtype(), params.device())?)
            }
        })
    }
}

/// `0.5·ln(2π)`.
pub(crate) const HALF_LN_2PI: f64 = 0.918_938_533_204_672_7;
