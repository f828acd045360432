//! A residual MLP conditioner (pre-activation residual blocks).

use crate::error::Result;
use crate::nn::conditioner::{join_context, Conditioner, Dims, NetShape};
use crate::nn::layer::ResidualBlock;
use crate::nn::{Activation, Linear};
use crate::params::Params;
use candle_core::Tensor;

/// `Linear(in→H)`, then `blocks` × `h + L2(act(L1(act(h))))`, then `Linear(H→out)`
/// (no activation before the output layer).
#[derive(Debug)]
pub struct ResidualMlp {
    input: Linear,
    blocks: Vec<ResidualBlock<Linear>>,
    output: Linear,
    activation: Activation,
    dims: Dims,
}

impl ResidualMlp {
    /// Build a residual MLP with `shape.depth` residual blocks of width `shape.hidden`
    /// (parameters `in`, `b{i}.l0`, `b{i}.l1`, `out`).
    pub fn new(params: &Params, dims: Dims, shape: &NetShape) -> Result<Self> {
        let hidden = shape.hidden;
        let in_dim = dims.in_dim + dims.context_dim;
        let input = Linear::new(&params.pp("in"), in_dim, hidden, false)?;
        let blocks = (0..shape.depth)
            .map(|i| {
                let p = params.pp(format!("b{i}"));
                let l0 = Linear::new(&p.pp("l0"), hidden, hidden, false)?;
                let l1 = Linear::new(&p.pp("l1"), hidden, hidden, false)?;
                Ok(ResidualBlock::new(l0, l1))
            })
            .collect::<Result<Vec<_>>>()?;
        let output = Linear::new(
            &params.pp("out"),
            hidden,
            dims.out_dim,
            shape.zero_init_output,
        )?;
        Ok(Self {
            input,
            blocks,
            output,
            activation: shape.activation,
            dims,
        })
    }
}

impl Conditioner for ResidualMlp {
    fn forward(&self, x: &Tensor, ctx: Option<&Tensor>) -> Result<Tensor> {
        let h = self.input.forward(&join_context(x, ctx)?)?;
        let h = self
            .blocks
            .iter()
            .try_fold(h, |h, b| b.forward(h, &self.activation))?;
        self.output.forward(&h)
    }
    fn dims(&self) -> Dims {
        self.dims
    }
}
