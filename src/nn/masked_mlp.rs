//! MADE: a masked MLP whose output for feature `i` depends only on the features that
//! come before `i` in a given order (Germain et al. 2015). The context, when present,
//! feeds every first-layer hidden unit without a mask.
//!
//! [`Made`] is the network over any [`Layer`] type (the degrees, masks, parameter names
//! and forward pass); [`MaskedMlp`] is it with deterministic [`Linear`] layers and
//! [`crate::nn::BayesMaskedMlp`] with Bayesian ones.

use crate::error::{Error, Result};
use crate::nn::conditioner::{Conditioner, Dims, NetShape};
use crate::nn::layer::{Layer, LayerSpec, LayerStack, ResidualBlock};
use crate::nn::{Activation, Linear};
use crate::params::Params;
use candle_core::{Device, Tensor};

/// Degrees of input features: `deg[order[k]] = k + 1`.
fn input_degrees(dim: usize, order: &[usize]) -> Result<Vec<usize>> {
    let mut deg = vec![0usize; dim];
    if order.len() != dim {
        return Err(Error::config(format!(
            "autoregressive order has {} entries, expected {dim}",
            order.len()
        )));
    }
    for (k, &i) in order.iter().enumerate() {
        if i >= dim || deg[i] != 0 {
            return Err(Error::config(format!(
                "autoregressive order {order:?} is not a permutation of 0..{dim}"
            )));
        }
        deg[i] = k + 1;
    }
    Ok(deg)
}

/// A `(in, out)` 0/1 mask: connection allowed where `allowed(deg_in, deg_out)`.
fn mask(
    din: &[usize],
    dout: &[usize],
    allowed: impl Fn(usize, usize) -> bool,
    device: &Device,
) -> Result<Tensor> {
    let mut m = Vec::with_capacity(din.len() * dout.len());
    for &a in din {
        for &b in dout {
            m.push(if allowed(a, b) { 1f32 } else { 0f32 });
        }
    }
    Ok(Tensor::from_vec(m, (din.len(), dout.len()), device)?)
}

/// The layers between MADE's input and output.
#[derive(Debug)]
enum MadeBody<L> {
    /// `in → act → h0 → act → … → act → out`.
    Plain(LayerStack<L>),
    /// `in`, then residual blocks `(h{2i}, h{2i+1})`, then `act → out`.
    Residual {
        input: L,
        blocks: Vec<ResidualBlock<L>>,
        output: L,
        activation: Activation,
    },
}

/// A MADE network over the layer type `L`: `(batch, dim)` → `(batch, dim ·
/// params_per_dim)`, laid out feature-major. Parameters `in`, `ctx` (when there is a
/// context), `h{i}`, `out`, created in that order.
#[derive(Debug)]
pub struct Made<L> {
    context: Option<L>,
    body: MadeBody<L>,
    dims: Dims,
}

impl<L: Layer> Made<L> {
    /// Build the network; `shape.depth` is the number of hidden layers (or residual
    /// blocks when `residual`; `shape.zero_init_output` is left to `make`). `make` creates each layer from its [`LayerSpec`] (masked
    /// except the context layer; depth positions: `in` and `ctx` 0, `h{i}` `i + 1`, `out`
    /// last).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        params: &Params,
        dim: usize,
        context_dim: usize,
        params_per_dim: usize,
        order: &[usize],
        shape: &NetShape,
        residual: bool,
        mut make: impl FnMut(LayerSpec) -> Result<L>,
    ) -> Result<Self> {
        let NetShape {
            hidden,
            depth,
            activation,
            ..
        } = *shape;
        let dev = params.device();
        let din = input_degrees(dim, order)?;
        let dh: Vec<usize> = (0..hidden)
            .map(|k| if dim > 1 { k % (dim - 1) + 1 } else { 0 })
            .collect();
        let out_dim = dim * params_per_dim;
        let dout: Vec<usize> = (0..out_dim).map(|j| din[j / params_per_dim]).collect();
        let spec = |name: String, in_dim, out_dim, depth, last, mask| LayerSpec {
            params: params.pp(name),
            in_dim,
            out_dim,
            depth,
            last,
            mask,
        };
        let in_mask = mask(&din, &dh, |a, b| b >= a, dev)?;
        let input = make(spec("in".into(), dim, hidden, 0, false, Some(in_mask)))?;
        let context = if context_dim > 0 {
            Some(make(spec(
                "ctx".into(),
                context_dim,
                hidden,
                0,
                false,
                None,
            ))?)
        } else {
            None
        };
        let n_hidden = if residual { 2 * depth } else { depth - 1 };
        let hmask = mask(&dh, &dh, |a, b| b >= a, dev)?;
        let mut hidden_layers = (0..n_hidden)
            .map(|i| {
                let m = Some(hmask.clone());
                make(spec(format!("h{i}"), hidden, hidden, i + 1, false, m))
            })
            .collect::<Result<Vec<_>>>()?;
        let out_mask = mask(&dh, &dout, |a, b| b > a, dev)?;
        let output = make(spec(
            "out".into(),
            hidden,
            out_dim,
            n_hidden + 1,
            true,
            Some(out_mask),
        ))?;
        let body = if residual {
            let mut blocks = Vec::with_capacity(depth);
            let mut layers = hidden_layers.into_iter();
            while let (Some(l0), Some(l1)) = (layers.next(), layers.next()) {
                blocks.push(ResidualBlock::new(l0, l1));
            }
            MadeBody::Residual {
                input,
                blocks,
                output,
                activation,
            }
        } else {
            let mut layers = Vec::with_capacity(depth + 1);
            layers.push(input);
            layers.append(&mut hidden_layers);
            layers.push(output);
            MadeBody::Plain(LayerStack::from_layers(layers, activation))
        };
        Ok(Self {
            context,
            body,
            dims: Dims {
                in_dim: dim,
                context_dim,
                out_dim,
            },
        })
    }

    /// The first layer's output plus the context layer's (when both exist).
    fn with_context(&self, h: Tensor, ctx: Option<&Tensor>) -> Result<Tensor> {
        Ok(match (&self.context, ctx) {
            (Some(l), Some(c)) => (h + l.forward(c)?)?,
            _ => h,
        })
    }

    /// The network on `x` `(batch, dim)` and the context.
    pub fn forward(&self, x: &Tensor, ctx: Option<&Tensor>) -> Result<Tensor> {
        match &self.body {
            MadeBody::Plain(stack) => {
                let h = self.with_context(stack.first().forward(x)?, ctx)?;
                stack.forward_after_first(h)
            }
            MadeBody::Residual {
                input,
                blocks,
                output,
                activation,
            } => {
                let h = self.with_context(input.forward(x)?, ctx)?;
                let h = blocks.iter().try_fold(h, |h, b| b.forward(h, activation))?;
                output.forward(&activation.apply(&h)?)
            }
        }
    }

    /// The input, context and output widths.
    pub fn dims(&self) -> Dims {
        self.dims
    }
}

/// Autoregressive conditioner with deterministic layers: `(batch, dim)` → `(batch, dim ·
/// params_per_dim)`, laid out feature-major (`[feature 0 params | feature 1 params |
/// ...]`).
pub type MaskedMlp = Made<Linear>;

impl Made<Linear> {
    /// Build a MADE network of deterministic layers; `shape.depth` is the number of
    /// hidden layers (or residual blocks when `residual`).
    pub fn deterministic(
        params: &Params,
        dim: usize,
        context_dim: usize,
        params_per_dim: usize,
        order: &[usize],
        shape: &NetShape,
        residual: bool,
    ) -> Result<Self> {
        let zero_init_output = shape.zero_init_output;
        Made::new(
            params,
            dim,
            context_dim,
            params_per_dim,
            order,
            shape,
            residual,
            |s| {
                let zero = s.last && zero_init_output;
                Linear::from_spec(s, zero)
            },
        )
    }
}

/// Every MADE is a conditioner, whatever its layers.
impl<L: Layer> Conditioner for Made<L> {
    fn forward(&self, x: &Tensor, ctx: Option<&Tensor>) -> Result<Tensor> {
        Made::forward(self, x, ctx)
    }
    fn dims(&self) -> Dims {
        Made::dims(self)
    }
}
