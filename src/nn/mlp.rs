//! A plain multilayer perceptron conditioner.

use crate::error::Result;
use crate::nn::conditioner::{join_context, Conditioner};
use crate::nn::{Activation, Linear};
use crate::params::Params;
use candle_core::Tensor;

/// `Linear → act → (Linear → act)×(layers−1) → Linear`; the context is concatenated
/// to the input.
#[derive(Debug)]
pub struct Mlp {
    layers: Vec<Linear>,
    activation: Activation,
    in_dim: usize,
    context_dim: usize,
    out_dim: usize,
}

impl Mlp {
    /// Build an MLP with `layers` hidden layers of width `hidden`.
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
        let mut ls = Vec::with_capacity(layers + 1);
        let mut width = in_dim + context_dim;
        for i in 0..layers {
            ls.push(Linear::new(
                &params.pp(format!("l{i}")),
                width,
                hidden,
                false,
            )?);
            width = hidden;
        }
        ls.push(Linear::new(
            &params.pp(format!("l{layers}")),
            width,
            out_dim,
            zero_init_output,
        )?);
        Ok(Self {
            layers: ls,
            activation,
            in_dim,
            context_dim,
            out_dim,
        })
    }
}

impl Conditioner for Mlp {
    fn forward(&self, x: &Tensor, ctx: Option<&Tensor>) -> Result<Tensor> {
        let mut h = join_context(x, ctx)?;
        let last = self.layers.len() - 1;
        for (i, l) in self.layers.iter().enumerate() {
            h = l.forward(&h)?;
            if i < last {
                h = self.activation.apply(&h)?;
            }
        }
        Ok(h)
    }
    fn in_dim(&self) -> usize {
        self.in_dim
    }
    fn context_dim(&self) -> usize {
        self.context_dim
    }
    fn out_dim(&self) -> usize {
        self.out_dim
    }
}
