//! A plain multilayer perceptron conditioner.

use crate::error::Result;
use crate::nn::conditioner::{join_context, Conditioner, Dims, NetShape};
use crate::nn::layer::{Layer, LayerStack};
use crate::nn::Linear;
use crate::params::Params;
use candle_core::Tensor;

/// `Linear → act → (Linear → act)×(layers−1) → Linear`; the context is concatenated
/// to the input.
/// The layers are [`Linear`] by default; [`crate::nn::BayesMlp`] is the same network
/// over deterministic-or-Bayesian layers.
#[derive(Debug)]
pub struct Mlp<L = Linear> {
    net: LayerStack<L>,
    dims: Dims,
}

impl<L: Layer> Mlp<L> {
    /// An MLP conditioner from a built stack (input width `in_dim + context_dim`).
    pub fn from_stack(net: LayerStack<L>, dims: Dims) -> Self {
        Self { net, dims }
    }
}

impl Mlp<Linear> {
    /// Build an MLP with `shape.depth` hidden layers of width `shape.hidden`
    /// (parameters `l0`, `l1`, …, `l{depth}`).
    pub fn new(params: &Params, dims: Dims, shape: &NetShape) -> Result<Self> {
        let net = LayerStack::linear(
            params,
            dims.in_dim + dims.context_dim,
            shape.hidden,
            shape.depth,
            dims.out_dim,
            shape.activation,
            shape.zero_init_output,
        )?;
        Ok(Self { net, dims })
    }
}

impl<L: Layer> Conditioner for Mlp<L> {
    fn forward(&self, x: &Tensor, ctx: Option<&Tensor>) -> Result<Tensor> {
        self.net.forward(&join_context(x, ctx)?)
    }
    fn dims(&self) -> Dims {
        self.dims
    }
}
