//! The velocity field `v(z, t, c)`: an MLP on `[z, time features, context]` with a smooth
//! activation, and forward-mode propagation of input tangents through it, layer by layer
//! alongside the activations. With the `dim` unit tangents this gives the exact Jacobian
//! `∂v/∂z` (and so the exact divergence) in ordinary tensor operations, which candle can
//! differentiate with respect to the weights — no gradient of a gradient is needed.

use crate::cnf::fast_tanh::tanh;
use crate::cnf::spec::{CnfSpec, SmoothActivation};
use crate::error::{Error, Result};
use crate::nn::{LayerStack, Linear, Nonlinearity};
use crate::params::Params;
use candle_core::{DType, Tensor, D};

impl SmoothActivation {
    /// `(σ(x), σ'(x))`.
    pub fn apply_with_derivative(&self, x: &Tensor) -> Result<(Tensor, Tensor)> {
        Ok(match self {
            SmoothActivation::Tanh => {
                let y = tanh(x)?;
                let dy = (1.0 - y.sqr()?)?;
                (y, dy)
            }
            SmoothActivation::Silu => {
                let s = sigmoid(x)?;
                let y = (x * &s)?;
                // s (1 + x (1 − s))
                let dy = (&s * ((x * (1.0 - &s)?)? + 1.0)?)?;
                (y, dy)
            }
            SmoothActivation::Softplus => (softplus(x)?, sigmoid(x)?),
        })
    }

    /// `σ(x)`.
    pub fn apply(&self, x: &Tensor) -> Result<Tensor> {
        Ok(match self {
            SmoothActivation::Tanh => tanh(x)?,
            SmoothActivation::Silu => (x * sigmoid(x)?)?,
            SmoothActivation::Softplus => softplus(x)?,
        })
    }
}

impl Nonlinearity for SmoothActivation {
    fn apply(&self, x: &Tensor) -> Result<Tensor> {
        SmoothActivation::apply(self, x)
    }
}

/// Logistic sigmoid `(1 + tanh(x/2))/2`.
fn sigmoid(x: &Tensor) -> Result<Tensor> {
    Ok(((tanh(&(x * 0.5)?)? + 1.0)? * 0.5)?)
}

/// Numerically stable `log(1 + eˣ) = max(x, 0) + log(1 + e^{−|x|})`.
fn softplus(x: &Tensor) -> Result<Tensor> {
    Ok((x.relu()? + (x.abs()?.neg()?.exp()? + 1.0)?.log()?)?)
}

/// The velocity MLP: a [`LayerStack`] with a smooth activation, on the input
/// `[z, time features, context]`.
#[derive(Debug, Clone)]
pub struct VelocityField {
    net: LayerStack<Linear, SmoothActivation>,
    dim: usize,
    context_dim: usize,
    time_freqs: usize,
}

impl VelocityField {
    /// Create (or fetch, when the names exist: weights are shared) the network under
    /// `params` (`net.l0.weight`, …). The output layer starts at zero, so an untrained
    /// field is the identity map.
    pub fn new(params: &Params, spec: &CnfSpec, context_dim: usize) -> Result<Self> {
        spec.validate()?;
        let in_dim = spec.dim + 1 + 2 * spec.time_freqs + context_dim;
        let net = LayerStack::linear(
            &params.pp("net"),
            in_dim,
            spec.hidden,
            spec.layers,
            spec.dim,
            spec.activation,
            true,
        )?;
        Ok(Self {
            net,
            dim: spec.dim,
            context_dim,
            time_freqs: spec.time_freqs,
        })
    }

    /// Number of features of `z`.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Context width (0 = none).
    pub fn context_dim(&self) -> usize {
        self.context_dim
    }

    /// `[t, sin(kπt), cos(kπt)]` for `t` of shape `(batch, 1)`.
    fn time_features(&self, t: &Tensor) -> Result<Tensor> {
        if self.time_freqs == 0 {
            return Ok(t.clone());
        }
        let mut parts = vec![t.clone()];
        for k in 1..=self.time_freqs {
            let a = (t * (k as f64 * std::f64::consts::PI))?;
            parts.push(a.sin()?);
            parts.push(a.cos()?);
        }
        Ok(Tensor::cat(&parts, 1)?)
    }

    fn input(&self, z: &Tensor, t: &Tensor, ctx: Option<&Tensor>) -> Result<Tensor> {
        let b = z.dim(0)?;
        if t.dims() != [b, 1] {
            return Err(Error::Shape {
                what: "velocity field time".into(),
                expected: format!("({b}, 1)"),
                got: t.dims().to_vec(),
            });
        }
        let mut parts = vec![z.clone(), self.time_features(t)?];
        match (ctx, self.context_dim) {
            (Some(c), n) if n > 0 => parts.push(c.clone()),
            (None, 0) => {}
            (Some(_), _) => {
                return Err(Error::Context {
                    what: "velocity field".into(),
                    message: "a context was given to an unconditional field".into(),
                })
            }
            (None, n) => {
                return Err(Error::Context {
                    what: "velocity field".into(),
                    message: format!("a context of width {n} is required"),
                })
            }
        }
        Ok(Tensor::cat(&parts, 1)?)
    }

    /// `v(z, t, c)` for `z` `(batch, dim)`, `t` `(batch, 1)`, `c` `(batch, context_dim)`.
    pub fn forward(&self, z: &Tensor, t: &Tensor, ctx: Option<&Tensor>) -> Result<Tensor> {
        self.net.forward(&self.input(z, t, ctx)?)
    }

    /// `v` and the Jacobian-vector products `(∂v/∂z) e_k` for the tangents `e` of shape
    /// `(K, batch, dim)` or `(K, 1, dim)` (shared by every row). Returns `(v, jv)` with
    /// `jv` of shape `(K, batch, dim)`.
    pub fn forward_with_tangents(
        &self,
        z: &Tensor,
        t: &Tensor,
        ctx: Option<&Tensor>,
        tangents: &Tensor,
    ) -> Result<(Tensor, Tensor)> {
        let b = z.dim(0)?;
        let (k, tb, td) = tangents.dims3()?;
        if td != self.dim || (tb != b && tb != 1) {
            return Err(Error::Shape {
                what: "velocity field tangents".into(),
                expected: format!("(K, {b} or 1, {})", self.dim),
                got: tangents.dims().to_vec(),
            });
        }
        let mut h = self.input(z, t, ctx)?;
        // The tangent of the first pre-activation only involves the z rows of W₁.
        let layers = self.net.layers();
        let w0 = layers[0].weight().narrow(0, 0, self.dim)?;
        let mut jt = tangents
            .reshape((k * tb, self.dim))?
            .matmul(&w0)?
            .reshape((k, tb, ()))?;
        let last = layers.len() - 1;
        for (i, l) in layers.iter().enumerate() {
            if i > 0 {
                let (kk, bb, w) = jt.dims3()?;
                jt = jt
                    .reshape((kk * bb, w))?
                    .matmul(l.weight())?
                    .reshape((kk, bb, ()))?;
            }
            h = l.forward(&h)?;
            if i < last {
                let (y, dy) = self.net.activation().apply_with_derivative(&h)?;
                h = y;
                jt = jt.broadcast_mul(&dy.unsqueeze(0)?)?;
            }
        }
        if jt.dim(1)? != b {
            // Only possible for a network without hidden layers (affine in z).
            jt = jt.broadcast_as((k, b, self.dim))?.contiguous()?;
        }
        Ok((h, jt))
    }

    /// The full Jacobian `J[b, i, j] = ∂v_i/∂z_j` at `(z, t)`, shape `(batch, dim, dim)`.
    pub fn jacobian(&self, z: &Tensor, t: &Tensor, ctx: Option<&Tensor>) -> Result<Tensor> {
        let eye = Tensor::eye(self.dim, z.dtype(), z.device())?.unsqueeze(1)?;
        let (_, jv) = self.forward_with_tangents(z, t, ctx, &eye)?;
        // jv[k, b, i] = ∂v_i/∂z_k  →  (b, i, k)
        Ok(jv.permute((1, 2, 0))?.contiguous()?)
    }
}

/// A `(batch, 1)` tensor filled with `t`.
pub fn time_column(
    t: f64,
    batch: usize,
    dtype: DType,
    dev: &candle_core::Device,
) -> Result<Tensor> {
    Ok(Tensor::full(t, (batch, 1), dev)?.to_dtype(dtype)?)
}

/// Row sums over the last axis then over the first: `(K, B, d)` → `(B,)`.
pub(crate) fn sum_tangent_axes(t: &Tensor) -> Result<Tensor> {
    Ok(t.sum(D::Minus1)?.sum(0)?)
}
