//! A residual MLP conditioner (pre-activation residual blocks).

use crate::error::Result;
use crate::nn::conditioner::{join_context, Conditioner};
use crate::nn::{Activation, Linear};
use crate::params::Params;
use candle_core::Tensor;

/// `Linear(in→H)`, then `blocks` × `h + L2(act(L1(act(h))))`, then `Linear(H→out)`.
#[derive(Debug)]
pub struct ResidualMlp {
    input: Linear,
    blocks: Vec<(Linear, Linear)>,
    output: Linear,
    activation: Activation,
    in_dim: usize,
    context_dim: usize,
    out_dim: usize,
}

impl ResidualMlp {
    /// Build a residual MLP with `blocks` residual blocks of width `hidden`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        params: &Params,
        in_dim: usize,
        context_dim: usize,
        out_dim: usize,
        hidden: usize,
        blocks: usize,
        activation: Activation,
        zero_init_output: bool,
    ) -> Result<Self> {
        let input = Linear::new(&params.pp("in"), in_dim + context_dim, hidden, false)?;
        let blocks = (0..blocks)
            .map(|i| {
                let p = params.pp(format!("b{i}"));
                Ok((
                    Linear::new(&p.pp("l0"), hidden, hidden, false)?,
                    Linear::new(&p.pp("l1"), hidden, hidden, false)?,
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        let output = Linear::new(&params.pp("out"), hidden, out_dim, zero_init_output)?;
        Ok(Self {
            input,
            blocks,
            output,
            activation,
            in_dim,
            context_dim,
            out_dim,
        })
    }
}

impl Conditioner for ResidualMlp {
    fn forward(&self, x: &Tensor, ctx: Option<&Tensor>) -> Result<Tensor> {
        let mut h = self.input.forward(&join_context(x, ctx)?)?;
        for (l0, l1) in &self.blocks {
            let t = l0.forward(&self.activation.apply(&h)?)?;
            let t = l1.forward(&self.activation.apply(&t)?)?;
            h = (h + t)?;
        }
        self.output.forward(&h)
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
