//! Bayesian conditioners: an MLP (coupling layers) and a MADE (autoregressive layers)
//! whose last `bayes_layers` dense layers (or all of them) are [`BayesLinear`] layers.
//! The rest are ordinary deterministic layers, so "Bayesian last layer" flows are one
//! setting away from fully Bayesian ones.

use crate::error::{Error, Result};
use crate::nn::bayes_linear::{BayesLinear, BayesLinearConfig};
use crate::nn::conditioner::{join_context, Conditioner};
use crate::nn::{Activation, Linear};
use crate::params::Params;
use candle_core::{Device, Tensor};

/// One dense layer, deterministic or Bayesian.
#[derive(Debug)]
enum Dense {
    Det(Linear),
    Bayes(BayesLinear),
}

impl Dense {
    #[allow(clippy::too_many_arguments)]
    fn new(
        params: &Params,
        in_dim: usize,
        out_dim: usize,
        zero: bool,
        bayes: bool,
        cfg: &BayesLinearConfig,
        mask: Option<Tensor>,
    ) -> Result<Self> {
        Ok(if bayes {
            Dense::Bayes(BayesLinear::new_masked(
                params, in_dim, out_dim, zero, cfg, mask,
            )?)
        } else {
            let l = Linear::new(params, in_dim, out_dim, zero)?;
            Dense::Det(match mask {
                Some(m) => l.with_mask(m)?,
                None => l,
            })
        })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        match self {
            Dense::Det(l) => l.forward(x),
            Dense::Bayes(l) => l.forward(x),
        }
    }
}

/// Which of `n` layers (0-based) are Bayesian when the last `bayes_layers` are
/// (`None` = all).
fn is_bayes(i: usize, n: usize, bayes_layers: Option<usize>) -> bool {
    match bayes_layers {
        None => true,
        Some(k) => i + k >= n,
    }
}

/// Check `bayes_layers` against the number of dense layers of a network.
pub fn check_bayes_layers(bayes_layers: Option<usize>, total: usize) -> Result<()> {
    if let Some(k) = bayes_layers {
        if k == 0 || k > total {
            return Err(Error::config(format!(
                "bayes_layers must be between 1 and the number of dense layers ({total}), got {k}"
            )));
        }
    }
    Ok(())
}

/// Bayesian MLP conditioner: `layers` hidden layers of width `hidden`, the context
/// concatenated to the input, the last `bayes_layers` layers Bayesian (`None` = all).
#[derive(Debug)]
pub struct BayesMlp {
    layers: Vec<Dense>,
    activation: Activation,
    in_dim: usize,
    context_dim: usize,
    out_dim: usize,
}

impl BayesMlp {
    /// Build the network (parameter names as [`crate::nn::Mlp`]: `l0`, `l1`, …).
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
        bayes_layers: Option<usize>,
        cfg: &BayesLinearConfig,
    ) -> Result<Self> {
        let n = layers + 1;
        check_bayes_layers(bayes_layers, n)?;
        let mut ls = Vec::with_capacity(n);
        let mut width = in_dim + context_dim;
        for i in 0..n {
            let last = i == layers;
            let out = if last { out_dim } else { hidden };
            ls.push(Dense::new(
                &params.pp(format!("l{i}")),
                width,
                out,
                last && zero_init_output,
                is_bayes(i, n, bayes_layers),
                cfg,
                None,
            )?);
            width = hidden;
        }
        Ok(Self {
            layers: ls,
            activation,
            in_dim,
            context_dim,
            out_dim,
        })
    }
}

impl Conditioner for BayesMlp {
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

/// A `(in, out)` 0/1 mask: connection allowed where `allowed(deg_in, deg_out)`.
fn mask(
    din: &[usize],
    dout: &[usize],
    allowed: impl Fn(usize, usize) -> bool,
    device: &Device,
) -> Result<Tensor> {
    let m: Vec<f32> = din
        .iter()
        .flat_map(|&a| dout.iter().map(move |&b| (a, b)))
        .map(|(a, b)| if allowed(a, b) { 1.0 } else { 0.0 })
        .collect();
    Ok(Tensor::from_vec(m, (din.len(), dout.len()), device)?)
}

/// Bayesian MADE (same degrees and masks as [`crate::nn::MaskedMlp`], no residual
/// blocks): `(batch, dim)` → `(batch, dim · params_per_dim)`, feature-major.
#[derive(Debug)]
pub struct BayesMaskedMlp {
    input: Dense,
    context: Option<Dense>,
    hidden: Vec<Dense>,
    output: Dense,
    activation: Activation,
    dim: usize,
    context_dim: usize,
    out_dim: usize,
}

impl BayesMaskedMlp {
    /// Build the network; `depth` hidden layers; the last `bayes_layers` of the
    /// `depth + 1` dense layers Bayesian (`None` = all; the context layer follows the
    /// input layer).
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
        bayes_layers: Option<usize>,
        cfg: &BayesLinearConfig,
    ) -> Result<Self> {
        let n = depth + 1;
        check_bayes_layers(bayes_layers, n)?;
        let dev = params.device();
        if order.len() != dim {
            return Err(Error::config(format!(
                "autoregressive order has {} entries, expected {dim}",
                order.len()
            )));
        }
        let mut din = vec![0usize; dim];
        for (k, &i) in order.iter().enumerate() {
            if i >= dim || din[i] != 0 {
                return Err(Error::config(format!(
                    "autoregressive order {order:?} is not a permutation of 0..{dim}"
                )));
            }
            din[i] = k + 1;
        }
        let dh: Vec<usize> = (0..hidden)
            .map(|k| if dim > 1 { k % (dim - 1) + 1 } else { 0 })
            .collect();
        let dout: Vec<usize> = (0..dim * params_per_dim)
            .map(|j| din[j / params_per_dim])
            .collect();
        let b0 = is_bayes(0, n, bayes_layers);
        let input = Dense::new(
            &params.pp("in"),
            dim,
            hidden,
            false,
            b0,
            cfg,
            Some(mask(&din, &dh, |a, b| b >= a, dev)?),
        )?;
        let context = if context_dim > 0 {
            Some(Dense::new(
                &params.pp("ctx"),
                context_dim,
                hidden,
                false,
                b0,
                cfg,
                None,
            )?)
        } else {
            None
        };
        let hmask = mask(&dh, &dh, |a, b| b >= a, dev)?;
        let hidden_layers = (1..depth)
            .map(|i| {
                Dense::new(
                    &params.pp(format!("h{}", i - 1)),
                    hidden,
                    hidden,
                    false,
                    is_bayes(i, n, bayes_layers),
                    cfg,
                    Some(hmask.clone()),
                )
            })
            .collect::<Result<Vec<_>>>()?;
        let output = Dense::new(
            &params.pp("out"),
            hidden,
            dim * params_per_dim,
            zero_init_output,
            true,
            cfg,
            Some(mask(&dh, &dout, |a, b| b > a, dev)?),
        )?;
        Ok(Self {
            input,
            context,
            hidden: hidden_layers,
            output,
            activation,
            dim,
            context_dim,
            out_dim: dim * params_per_dim,
        })
    }
}

impl Conditioner for BayesMaskedMlp {
    fn forward(&self, x: &Tensor, ctx: Option<&Tensor>) -> Result<Tensor> {
        let mut h = self.input.forward(x)?;
        if let (Some(l), Some(c)) = (&self.context, ctx) {
            h = (h + l.forward(c)?)?;
        }
        for l in &self.hidden {
            h = l.forward(&self.activation.apply(&h)?)?;
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
