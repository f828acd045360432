//! The conditioner abstraction: a network that maps the conditioning inputs (and an
//! optional context) to the parameters of an element-wise map. Coupling and
//! autoregressive layers only see this trait, so new networks (a Bayesian MLP, say)
//! drop in without touching the transforms. The networks are described and built by
//! [`ConditionerSpec`](crate::nn::ConditionerSpec) (`nn::conditioner_spec`).

use crate::error::Result;
use crate::nn::Activation;
use candle_core::Tensor;

/// The widths a conditioner maps between.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dims {
    /// Width of the conditioning input.
    pub in_dim: usize,
    /// Width of the context (0 = none).
    pub context_dim: usize,
    /// Width of the output.
    pub out_dim: usize,
}

/// The sizes shared by the dense conditioner networks (see
/// [`ConditionerSpec::shape`](crate::nn::ConditionerSpec::shape)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NetShape {
    /// Hidden width.
    pub hidden: usize,
    /// Number of hidden layers (MLP, MADE) or residual blocks (residual networks).
    pub depth: usize,
    /// Non-linearity between layers.
    pub activation: Activation,
    /// Initialise the output layer to zero.
    pub zero_init_output: bool,
}

/// A network producing element-wise-map parameters.
pub trait Conditioner: Send + Sync + std::fmt::Debug {
    /// Map inputs `(batch, in_dim)` and context `(batch, context_dim)` to `(batch, out_dim)`.
    fn forward(&self, x: &Tensor, ctx: Option<&Tensor>) -> Result<Tensor>;
    /// The input, context and output widths.
    fn dims(&self) -> Dims;
    /// Width of the conditioning input.
    fn in_dim(&self) -> usize {
        self.dims().in_dim
    }
    /// Width of the context (0 = none).
    fn context_dim(&self) -> usize {
        self.dims().context_dim
    }
    /// Width of the output.
    fn out_dim(&self) -> usize {
        self.dims().out_dim
    }
}

/// Concatenate inputs and context along the feature axis (or return whichever exists).
pub(crate) fn join_context(x: &Tensor, ctx: Option<&Tensor>) -> Result<Tensor> {
    Ok(match ctx {
        None => x.clone(),
        Some(c) if x.dim(1)? == 0 => c.clone(),
        Some(c) => Tensor::cat(&[x, c], 1)?,
    })
}
