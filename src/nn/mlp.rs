//! A plain multilayer perceptron conditioner.

use crate::error::Result;
use crate::nn::conditioner::{join_context, Conditioner, Dims, NetShape};
use crate::nn::layer::{Layer, LayerSpec, LayerStack};
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
    /// An MLP of `shape.depth` hidden layers of width `shape.hidden` on the input and
    /// context concatenated; `make` creates each layer from its [`LayerSpec`]
    /// (parameters `l0`, `l1`, …, `l{depth}`).
    pub fn with_layers(
        params: &Params,
        dims: Dims,
        shape: &NetShape,
        make: impl FnMut(LayerSpec) -> Result<L>,
    ) -> Result<Self> {
        let net = LayerStack::build(
            params,
            dims.in_dim + dims.context_dim,
            shape.hidden,
            shape.depth,
            dims.out_dim,
            shape.activation,
            make,
        )?;
        Ok(Self { net, dims })
    }
}

impl Mlp<Linear> {
    /// Build an MLP with `shape.depth` hidden layers of width `shape.hidden`
    /// (parameters `l0`, `l1`, …, `l{depth}`).
    pub fn new(params: &Params, dims: Dims, shape: &NetShape) -> Result<Self> {
        let zero = shape.zero_init_output;
        Self::with_layers(params, dims, shape, |s| {
            let z = s.last && zero;
            Linear::from_spec(s, z)
        })
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
