//! A plain multilayer perceptron conditioner.

use crate::error::Result;
use crate::nn::conditioner::{join_context, Conditioner, Dims};
use crate::nn::layer::LayerStack;
use crate::nn::{Activation, Linear};
use crate::params::Params;
use candle_core::Tensor;

/// `Linear → act → (Linear → act)×(layers−1) → Linear`; the context is concatenated
/// to the input.
#[derive(Debug)]
pub struct Mlp {
    net: LayerStack<Linear>,
    dims: Dims,
}

impl Mlp {
    /// Build an MLP with `layers` hidden layers of width `hidden` (parameters `l0`, `l1`,
    /// …, `l{layers}`).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        params: &Params,
        in_dim: usize,
        context_dim: usize,
        out_dim: usize,
        hidden: usize,
        layers: usize,
        activation: Activation,
        zero_init_output: bool,
    ) -> Result<Self> {
        let net = LayerStack::linear(
            params,
            in_dim + context_dim,
            hidden,
            layers,
            out_dim,
            activation,
            zero_init_output,
        )?;
        Ok(Self {
            net,
            dims: Dims {
                in_dim,
                context_dim,
                out_dim,
            },
        })
    }
}

impl Conditioner for Mlp {
    fn forward(&self, x: &Tensor, ctx: Option<&Tensor>) -> Result<Tensor> {
        self.net.forward(&join_context(x, ctx)?)
    }
    fn dims(&self) -> Dims {
        self.dims
    }
}
