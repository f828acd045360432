//! A deep set (Zaheer et al. 2017) over iid trials: `ρ(mean_i act(φ(x_i)))`, invariant
//! to the order of the trials by construction.

use crate::checks::expect_matrix;
use crate::error::{Error, Result};
use crate::nn::embedding::Embedding;
use crate::nn::layer::LayerStack;
use crate::nn::{Activation, Linear};
use crate::params::Params;
use candle_core::Tensor;

/// Embedding of a context holding `n_trials · trial_dim` values (row-major: trial 0's
/// values first). φ (MLP `trial_dim → pooled_dim`, parameters `phi.l{i}`) runs on every
/// trial in one batched product over `(batch · n_trials, trial_dim)`; its activated
/// output is averaged over the trials and ρ (MLP `pooled_dim → out_dim`, `rho.l{i}`) maps
/// the mean to the embedding.
#[derive(Debug)]
pub struct DeepSet {
    phi: LayerStack<Linear>,
    rho: LayerStack<Linear>,
    activation: Activation,
    trial_dim: usize,
    n_trials: usize,
    pooled_dim: usize,
    out_dim: usize,
}

impl DeepSet {
    /// The number of trials in a context of width `in_dim`; `Error::Config` unless it
    /// is a positive multiple of `trial_dim`.
    pub fn trials(in_dim: usize, trial_dim: usize) -> Result<usize> {
        if trial_dim == 0 || in_dim == 0 || !in_dim.is_multiple_of(trial_dim) {
            return Err(Error::config(format!(
                "deep_set embedding: context width {in_dim} is not a multiple of trial_dim {trial_dim}"
            )));
        }
        Ok(in_dim / trial_dim)
    }

    /// Build φ and ρ, each with `layers` hidden layers of width `hidden`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        params: &Params,
        in_dim: usize,
        out_dim: usize,
        trial_dim: usize,
        hidden: usize,
        layers: usize,
        pooled_dim: usize,
        activation: Activation,
    ) -> Result<Self> {
        let n_trials = Self::trials(in_dim, trial_dim)?;
        if hidden == 0 || layers == 0 || pooled_dim == 0 || out_dim == 0 {
            return Err(Error::config(format!(
                "deep_set embedding: hidden, layers, pooled_dim and out_dim must be at least 1, \
                 got {hidden}, {layers}, {pooled_dim}, {out_dim}"
            )));
        }
        let phi = LayerStack::linear(
            &params.pp("phi"),
            trial_dim,
            hidden,
            layers,
            pooled_dim,
            activation,
            false,
        )?;
        let rho = LayerStack::linear(
            &params.pp("rho"),
            pooled_dim,
            hidden,
            layers,
            out_dim,
            activation,
            false,
        )?;
        Ok(Self {
            phi,
            rho,
            activation,
            trial_dim,
            n_trials,
            pooled_dim,
            out_dim,
        })
    }

    /// Number of trials per context row.
    pub fn n_trials(&self) -> usize {
        self.n_trials
    }
}

impl Embedding for DeepSet {
    fn forward(&self, ctx: &Tensor) -> Result<Tensor> {
        let b = expect_matrix(ctx, self.in_dim(), "deep_set embedding input")?;
        let trials = ctx.reshape((b * self.n_trials, self.trial_dim))?;
        let feats = self.activation.apply(&self.phi.forward(&trials)?)?;
        let pooled = feats
            .reshape((b, self.n_trials, self.pooled_dim))?
            .mean(1)?;
        self.rho.forward(&pooled)
    }
    fn in_dim(&self) -> usize {
        self.n_trials * self.trial_dim
    }
    fn out_dim(&self) -> usize {
        self.out_dim
    }
}
