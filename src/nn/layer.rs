//! The shared core of the dense networks: [`Layer`] (anything mapping `(batch, in)` to
//! `(batch, out)`: [`Linear`], [`BayesLinear`](crate::nn::BayesLinear)),
//! [`Nonlinearity`], [`LayerStack`] (the MLP body: layers with the activation between
//! them and none after the last), [`ResidualBlock`], and [`LayerSpec`], what a network
//! asks its layer factory for. The networks own their differences (how the context
//! enters, masks, residual blocks, time features); the stack owns the width chaining,
//! the `l{i}` parameter names and the forward loop.

use crate::error::Result;
use crate::nn::{Activation, Linear};
use crate::params::Params;
use candle_core::Tensor;

/// A layer mapping `(batch, in)` to `(batch, out)`.
pub trait Layer: std::fmt::Debug + Send + Sync {
    /// Apply the layer to `x` of shape `(batch, in)`.
    fn forward(&self, x: &Tensor) -> Result<Tensor>;

    /// `act(self.forward(x))`; a layer may fuse the two (the dense [`Linear`] does for
    /// ReLU on the CPU: [`crate::nn::fused_linear::linear_relu_forward`]).
    fn forward_activated(&self, x: &Tensor, act: &dyn Nonlinearity) -> Result<Tensor> {
        act.apply(&self.forward(x)?)
    }
}

/// An element-wise non-linearity applied between layers.
pub trait Nonlinearity: std::fmt::Debug + Send + Sync {
    /// Apply it element-wise.
    fn apply(&self, x: &Tensor) -> Result<Tensor>;

    /// Whether this is `max(x, 0)` (layers may then fuse it into their product).
    fn is_relu(&self) -> bool {
        false
    }
}

impl Nonlinearity for Activation {
    fn apply(&self, x: &Tensor) -> Result<Tensor> {
        Activation::apply(self, x)
    }
    fn is_relu(&self) -> bool {
        matches!(self, Activation::Relu)
    }
}

/// One dense layer a network asks its layer factory for: `in_dim → out_dim` with its
/// parameters under `params`.
#[derive(Debug, Clone)]
pub struct LayerSpec {
    /// Where the layer's parameters live (`…l0`, `…in`, …).
    pub params: Params,
    /// Input width.
    pub in_dim: usize,
    /// Output width.
    pub out_dim: usize,
    /// Position among the network's dense layers in depth order (0 = first; a layer
    /// fed in parallel with another, as MADE's context layer, shares its position).
    pub depth: usize,
    /// Whether this is the output layer.
    pub last: bool,
    /// A fixed 0/1 mask `(in_dim, out_dim)` on the weights (MADE), if any.
    pub mask: Option<Tensor>,
}

/// Layers applied in turn with an activation between consecutive layers and none after
/// the last: `l0 → act → l1 → act → … → l{n−1}`.
#[derive(Debug, Clone)]
pub struct LayerStack<L, A = Activation> {
    layers: Vec<L>,
    activation: A,
}

impl<L: Layer, A: Nonlinearity> LayerStack<L, A> {
    /// The MLP `in_dim → hidden → … → hidden → out_dim` with `hidden_layers` hidden
    /// layers: layer `i` is `make`'s answer for the parameters `params.l{i}`, created in
    /// the order `l0, l1, …, l{hidden_layers}` (the order of the seeded initialisation).
    pub fn build(
        params: &Params,
        in_dim: usize,
        hidden: usize,
        hidden_layers: usize,
        out_dim: usize,
        activation: A,
        mut make: impl FnMut(LayerSpec) -> Result<L>,
    ) -> Result<Self> {
        let mut layers = Vec::with_capacity(hidden_layers + 1);
        let mut width = in_dim;
        for i in 0..=hidden_layers {
            let last = i == hidden_layers;
            layers.push(make(LayerSpec {
                params: params.pp(format!("l{i}")),
                in_dim: width,
                out_dim: if last { out_dim } else { hidden },
                depth: i,
                last,
                mask: None,
            })?);
            width = hidden;
        }
        Ok(Self::from_layers(layers, activation))
    }

    /// A stack of the given layers (at least one).
    pub fn from_layers(layers: Vec<L>, activation: A) -> Self {
        assert!(!layers.is_empty(), "a layer stack needs at least one layer");
        Self { layers, activation }
    }

    /// The whole stack on `x` (each hidden layer with its activation through
    /// [`Layer::forward_activated`]).
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (last, hidden) = self.layers.split_last().expect("non-empty stack");
        let h = hidden
            .iter()
            .try_fold(x.clone(), |h, l| l.forward_activated(&h, &self.activation))?;
        last.forward(&h)
    }

    /// The rest of the stack given the first layer's output `h` (before its
    /// activation): `act → l1 → act → … → l{n−1}`. For networks that add a second
    /// input to the first layer's output.
    pub fn forward_after_first(&self, h: Tensor) -> Result<Tensor> {
        let Some((last, middle)) = self.layers[1..].split_last() else {
            return Ok(h);
        };
        let h = middle.iter().try_fold(self.activation.apply(&h)?, |h, l| {
            l.forward_activated(&h, &self.activation)
        })?;
        last.forward(&h)
    }

    /// The layers, first to last.
    pub fn layers(&self) -> &[L] {
        &self.layers
    }

    /// The first layer.
    pub fn first(&self) -> &L {
        &self.layers[0]
    }

    /// The activation between layers.
    pub fn activation(&self) -> &A {
        &self.activation
    }
}

impl<A: Nonlinearity> LayerStack<Linear, A> {
    /// [`LayerStack::build`] with deterministic [`Linear`] layers, the output layer
    /// zero-initialised when `zero_init_output`.
    pub fn linear(
        params: &Params,
        in_dim: usize,
        hidden: usize,
        hidden_layers: usize,
        out_dim: usize,
        activation: A,
        zero_init_output: bool,
    ) -> Result<Self> {
        Self::build(
            params,
            in_dim,
            hidden,
            hidden_layers,
            out_dim,
            activation,
            |s| {
                let zero = s.last && zero_init_output;
                Linear::from_spec(s, zero)
            },
        )
    }
}

/// A pre-activation residual block: `h + l1(act(l0(act(h))))`.
#[derive(Debug, Clone)]
pub struct ResidualBlock<L> {
    l0: L,
    l1: L,
}

impl<L: Layer> ResidualBlock<L> {
    /// The block of two layers (`l0` applied first).
    pub fn new(l0: L, l1: L) -> Self {
        Self { l0, l1 }
    }

    /// `h + l1(act(l0(act(h))))`.
    pub fn forward(&self, h: Tensor, activation: &impl Nonlinearity) -> Result<Tensor> {
        let t = self.l0.forward(&activation.apply(&h)?)?;
        let t = self.l1.forward(&activation.apply(&t)?)?;
        Ok((h + t)?)
    }
}
