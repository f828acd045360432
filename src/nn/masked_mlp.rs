//! MADE: a masked MLP whose output for feature `i` depends only on the features that
//! come before `i` in a given order (Germain et al. 2015). The context, when present,
//! feeds every first-layer hidden unit without a mask.

use crate::error::{Error, Result};
use crate::nn::conditioner::Conditioner;
use crate::nn::{Activation, Linear};
use crate::params::Params;
use candle_core::{Device, Tensor};

/// Autoregressive conditioner: `(batch, dim)` → `(batch, dim · params_per_dim)`, laid
/// out feature-major (`[feature 0 params | feature 1 params | ...]`).
#[derive(Debug)]
pub struct MaskedMlp {
    input: Linear,
    context: Option<Linear>,
    hidden: Vec<Linear>,
    output: Linear,
    activation: Activation,
    residual: bool,
    dim: usize,
    context_dim: usize,
    out_dim: usize,
}

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

impl MaskedMlp {
    /// Build a MADE network; `depth` is the number of hidden layers (or residual blocks
    /// when `residual`).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        params: &Params,
        dim: usize,
        context_dim: usize,
        params_per_dim: usize,
        order: &[usize],
        hidden: usize,
        depth: usize,
        activation: Activation,
        zero_init_output: bool,
        residual: bool,
    ) -> Result<Self> {
        let dev = params.device();
        let din = input_degrees(dim, order)?;
        let dh: Vec<usize> = (0..hidden)
            .map(|k| if dim > 1 { k % (dim - 1) + 1 } else { 0 })
            .collect();
        let dout: Vec<usize> = (0..dim * params_per_dim)
            .map(|j| din[j / params_per_dim])
            .collect();
        let input = Linear::new(&params.pp("in"), dim, hidden, false)?.with_mask(mask(
            &din,
            &dh,
            |a, b| b >= a,
            dev,
        )?)?;
        let context = if context_dim > 0 {
            Some(Linear::new(&params.pp("ctx"), context_dim, hidden, false)?)
        } else {
            None
        };
        let n_hidden = if residual { 2 * depth } else { depth - 1 };
        let hmask = mask(&dh, &dh, |a, b| b >= a, dev)?;
        let hidden_layers = (0..n_hidden)
            .map(|i| {
                Linear::new(&params.pp(format!("h{i}")), hidden, hidden, false)?
                    .with_mask(hmask.clone())
            })
            .collect::<Result<Vec<_>>>()?;
        let output = Linear::new(
            &params.pp("out"),
            hidden,
            dim * params_per_dim,
            zero_init_output,
        )?
        .with_mask(mask(&dh, &dout, |a, b| b > a, dev)?)?;
        Ok(Self {
            input,
            context,
            hidden: hidden_layers,
            output,
            activation,
            residual,
            dim,
            context_dim,
            out_dim: dim * params_per_dim,
        })
    }
}

impl Conditioner for MaskedMlp {
    fn forward(&self, x: &Tensor, ctx: Option<&Tensor>) -> Result<Tensor> {
        let mut h = self.input.forward(x)?;
        if let (Some(l), Some(c)) = (&self.context, ctx) {
            h = (h + l.forward(c)?)?;
        }
        if self.residual {
            for pair in self.hidden.chunks(2) {
                let t = pair[0].forward(&self.activation.apply(&h)?)?;
                let t = pair[1].forward(&self.activation.apply(&t)?)?;
                h = (h + t)?;
            }
        } else {
            for l in &self.hidden {
                h = l.forward(&self.activation.apply(&h)?)?;
            }
        }
        self.output.forward(&self.activation.apply(&h)?)
    }
    fn in_dim(&self) -> usize {
        self.dim
    }
    fn context_dim(&self) -> usize {
        self.context_dim
    }
    fn out_dim(&self) -> usize {
        self.out_dim
    }
}
