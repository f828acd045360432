//! A dense layer `y = x W + b`, optionally with a fixed 0/1 mask on `W` (MADE).

use super::fused_linear;
use super::layer::{Layer, LayerSpec, Nonlinearity};
use crate::error::Result;
use crate::params::{Init, Params};
use candle_core::Tensor;

/// Dense layer with weight stored as `(in, out)` so the forward pass is one matmul.
///
/// Initialisation follows PyTorch's `nn.Linear`: weight and bias uniform on
/// `±1/sqrt(fan_in)`; `zero` initialises both to zero (identity-at-init output layers).
#[derive(Debug, Clone)]
pub struct Linear {
    weight: Tensor,
    bias: Tensor,
    mask: Option<Tensor>,
}

impl Linear {
    /// Create (or fetch) the layer's parameters under `params` (names `weight`, `bias`).
    pub fn new(params: &Params, in_dim: usize, out_dim: usize, zero: bool) -> Result<Self> {
        let bound = 1.0 / (in_dim.max(1) as f64).sqrt();
        let init = if zero {
            Init::Zeros
        } else {
            Init::Uniform(bound)
        };
        let weight = params.get("weight", (in_dim, out_dim), init)?;
        let bias = params.get("bias", out_dim, init)?;
        Ok(Self {
            weight,
            bias,
            mask: None,
        })
    }

    /// The layer `spec` asks for (`zero` as in [`Linear::new`]), with its mask if any.
    pub fn from_spec(spec: LayerSpec, zero: bool) -> Result<Self> {
        let l = Self::new(&spec.params, spec.in_dim, spec.out_dim, zero)?;
        match spec.mask {
            Some(m) => l.with_mask(m),
            None => Ok(l),
        }
    }

    /// Attach a fixed 0/1 mask of shape `(in, out)` (1 = connection allowed).
    pub fn with_mask(mut self, mask: Tensor) -> Result<Self> {
        self.mask = Some(mask.to_dtype(self.weight.dtype())?);
        Ok(self)
    }

    /// `x W + b` for `x` of shape `(batch, in)`.
    ///
    /// On the CPU this is one fused gemm call with adaptive parallelism
    /// ([`fused_linear::linear_forward`]).
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Ok(match &self.mask {
            Some(m) => fused_linear::linear_forward(x, &self.weight.mul(m)?, &self.bias)?,
            None => fused_linear::linear_forward(x, &self.weight, &self.bias)?,
        })
    }

    /// `x W` without the bias (for extra inputs such as a context feeding a hidden layer).
    pub fn forward_no_bias(&self, x: &Tensor) -> Result<Tensor> {
        Ok(x.matmul(&self.weight)?)
    }

    /// The weight matrix `(in, out)`.
    pub fn weight(&self) -> &Tensor {
        &self.weight
    }
}

impl Layer for Linear {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Linear::forward(self, x)
    }

    /// ReLU is fused into the product ([`fused_linear::linear_relu_forward`]); other
    /// activations are applied after it.
    fn forward_activated(&self, x: &Tensor, act: &dyn Nonlinearity) -> Result<Tensor> {
        if !act.is_relu() {
            return act.apply(&Linear::forward(self, x)?);
        }
        let w = match &self.mask {
            Some(m) => self.weight.mul(m)?,
            None => self.weight.clone(),
        };
        Ok(fused_linear::linear_relu_forward(x, &w, &self.bias)?)
    }
}
