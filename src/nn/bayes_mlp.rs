//! Bayesian conditioners: an MLP (coupling layers) and a MADE (autoregressive layers)
//! whose last `bayes_layers` dense layers (or all of them) are [`BayesLinear`] layers.
//! The rest are ordinary deterministic layers, so "Bayesian last layer" flows are one
//! setting away from fully Bayesian ones. The networks are [`LayerStack`](crate::nn::layer::LayerStack) and [`Made`]
//! over [`Dense`] layers, with the parameter names of [`crate::nn::Mlp`] and
//! [`crate::nn::MaskedMlp`].

use crate::error::{Error, Result};
use crate::nn::bayes_linear::{BayesLinear, BayesLinearConfig};
use crate::nn::conditioner::{Dims, NetShape};
use crate::nn::layer::{Layer, LayerSpec};
use crate::nn::masked_mlp::Made;
use crate::nn::mlp::Mlp;
use crate::nn::Linear;
use crate::params::Params;
use candle_core::Tensor;

/// One dense layer, deterministic or Bayesian.
#[derive(Debug)]
pub enum Dense {
    /// A deterministic layer.
    Det(Linear),
    /// A mean-field Bayesian layer.
    Bayes(BayesLinear),
}

impl Dense {
    /// The layer `spec` asks for (`zero` as in [`Linear::new`]), Bayesian when `bayes`.
    fn new(spec: LayerSpec, zero: bool, bayes: bool, cfg: &BayesLinearConfig) -> Result<Self> {
        Ok(if bayes {
            Dense::Bayes(BayesLinear::new_masked(
                &spec.params,
                spec.in_dim,
                spec.out_dim,
                zero,
                cfg,
                spec.mask,
            )?)
        } else {
            Dense::Det(Linear::from_spec(spec, zero)?)
        })
    }
}

impl Layer for Dense {
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

/// The layer `spec` asks for in a network of `n` dense layers whose last
/// `bayes_layers` are Bayesian; the output layer zero when `zero_init_output`.
fn dense(
    spec: LayerSpec,
    zero_init_output: bool,
    n: usize,
    bayes_layers: Option<usize>,
    cfg: &BayesLinearConfig,
) -> Result<Dense> {
    let zero = spec.last && zero_init_output;
    let bayes = is_bayes(spec.depth, n, bayes_layers);
    Dense::new(spec, zero, bayes, cfg)
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
pub type BayesMlp = Mlp<Dense>;

impl Mlp<Dense> {
    /// Build the network (parameter names as [`crate::nn::Mlp`]: `l0`, `l1`, …).
    pub fn bayesian(
        params: &Params,
        dims: Dims,
        shape: &NetShape,
        bayes_layers: Option<usize>,
        cfg: &BayesLinearConfig,
    ) -> Result<Self> {
        let n = shape.depth + 1;
        check_bayes_layers(bayes_layers, n)?;
        Mlp::with_layers(params, dims, shape, |s| {
            dense(s, shape.zero_init_output, n, bayes_layers, cfg)
        })
    }
}

/// Bayesian MADE (same degrees and masks as [`crate::nn::MaskedMlp`], no residual
/// blocks): `(batch, dim)` → `(batch, dim · params_per_dim)`, feature-major.
pub type BayesMaskedMlp = Made<Dense>;

impl Made<Dense> {
    /// Build the network; `shape.depth` hidden layers; the last `bayes_layers` of the
    /// `depth + 1` dense layers Bayesian (`None` = all; the context layer follows the
    /// input layer).
    #[allow(clippy::too_many_arguments)]
    pub fn bayesian(
        params: &Params,
        dim: usize,
        context_dim: usize,
        params_per_dim: usize,
        order: &[usize],
        shape: &NetShape,
        bayes_layers: Option<usize>,
        cfg: &BayesLinearConfig,
    ) -> Result<Self> {
        let n = shape.depth + 1;
        check_bayes_layers(bayes_layers, n)?;
        Made::new(
            params,
            dim,
            context_dim,
            params_per_dim,
            order,
            shape,
            false,
            |s| dense(s, shape.zero_init_output, n, bayes_layers, cfg),
        )
    }
}
