//! Element-wise sigmoid and logit maps for bounded domains.
//!
//! [`Logit`] maps data in a box `(low, high)` to ℝ (put it first in a flow for data on
//! a bounded domain); [`Sigmoid`] maps ℝ to `(0, 1)`. Values at or beyond the domain
//! edge are clamped a small distance inside (1e-6 in f32, 1e-12 in f64) so results
//! stay finite.

use crate::error::{Error, Result};
use crate::transforms::elementwise::spline::softplus;
use crate::transforms::{Transform, TransformSpec};
use candle_core::{DType, Device, Tensor};

fn edge_eps(dtype: DType) -> f64 {
    if dtype == DType::F64 {
        1e-12
    } else {
        1e-6
    }
}

/// `log σ'(x) = −softplus(−x) − softplus(x)`, summed over features.
pub(crate) fn log_sigmoid_derivative(x: &Tensor) -> Result<Tensor> {
    Ok((softplus(&x.neg()?)? + softplus(x)?)?.neg()?.sum(1)?)
}

/// `log(u) − log(1 − u)` with `u` clamped inside (0, 1), and `Σ −log u − log(1−u)`.
pub(crate) fn logit_with_logdet(u: &Tensor) -> Result<(Tensor, Tensor)> {
    let e = edge_eps(u.dtype());
    let u = u.clamp(e, 1.0 - e)?;
    let lu = u.log()?;
    let l1u = u.affine(-1.0, 1.0)?.log()?;
    Ok(((&lu - &l1u)?, (lu + l1u)?.neg()?.sum(1)?))
}

/// `z = σ(x)` (ℝ → (0, 1)).
#[derive(Debug)]
pub struct Sigmoid {
    dim: usize,
}

impl Sigmoid {
    /// Sigmoid over `dim` features.
    pub fn new(dim: usize) -> Self {
        Self { dim }
    }
}

impl Transform for Sigmoid {
    fn dim(&self) -> usize {
        self.dim
    }
    fn forward(&self, x: &Tensor, ctx: Option<&Tensor>) -> Result<(Tensor, Tensor)> {
        crate::checks::expect_context(ctx, 0, x.dim(0)?, "sigmoid layer")?;
        Ok((candle_nn::ops::sigmoid(x)?, log_sigmoid_derivative(x)?))
    }
    fn inverse(&self, z: &Tensor, ctx: Option<&Tensor>) -> Result<(Tensor, Tensor)> {
        crate::checks::expect_context(ctx, 0, z.dim(0)?, "sigmoid layer")?;
        logit_with_logdet(z)
    }
    fn spec(&self) -> TransformSpec {
        TransformSpec::Sigmoid { dim: self.dim }
    }
}

/// `z = logit((x − low)/(high − low))` (box → ℝ).
#[derive(Debug)]
pub struct Logit {
    low_v: Vec<f64>,
    high_v: Vec<f64>,
    low: Tensor,
    width: Tensor,
    inv_width: Tensor,
    log_width: f64,
}

impl Logit {
    /// Logit over the box `low < x < high` (per feature).
    pub fn new(low: &[f64], high: &[f64], dtype: DType, device: &Device) -> Result<Self> {
        if low.len() != high.len() || low.is_empty() {
            return Err(Error::config(format!(
                "logit: {} lower and {} upper bounds; expected the same non-zero number",
                low.len(),
                high.len()
            )));
        }
        for (i, (l, h)) in low.iter().zip(high).enumerate() {
            if !(l.is_finite() && h.is_finite() && h > l) {
                return Err(Error::config(format!(
                    "logit: feature {i} has bounds ({l}, {h}); expected finite low < high"
                )));
            }
        }
        let w: Vec<f64> = low.iter().zip(high).map(|(l, h)| h - l).collect();
        let t = |v: Vec<f64>| -> Result<Tensor> {
            Ok(Tensor::from_vec(v, low.len(), device)?.to_dtype(dtype)?)
        };
        Ok(Self {
            low_v: low.to_vec(),
            high_v: high.to_vec(),
            low: t(low.to_vec())?,
            inv_width: t(w.iter().map(|v| 1.0 / v).collect())?,
            log_width: w.iter().map(|v| v.ln()).sum(),
            width: t(w)?,
        })
    }
}

impl Transform for Logit {
    fn dim(&self) -> usize {
        self.low_v.len()
    }
    fn forward(&self, x: &Tensor, ctx: Option<&Tensor>) -> Result<(Tensor, Tensor)> {
        crate::checks::expect_context(ctx, 0, x.dim(0)?, "logit layer")?;
        let u = x.broadcast_sub(&self.low)?.broadcast_mul(&self.inv_width)?;
        let (z, ld) = logit_with_logdet(&u)?;
        Ok((z, (ld - self.log_width)?))
    }
    fn inverse(&self, z: &Tensor, ctx: Option<&Tensor>) -> Result<(Tensor, Tensor)> {
        crate::checks::expect_context(ctx, 0, z.dim(0)?, "logit layer")?;
        let u = candle_nn::ops::sigmoid(z)?;
        let x = u.broadcast_mul(&self.width)?.broadcast_add(&self.low)?;
        Ok((x, (log_sigmoid_derivative(z)? + self.log_width)?))
    }
    fn spec(&self) -> TransformSpec {
        TransformSpec::Logit {
            low: self.low_v.clone(),
            high: self.high_v.clone(),
        }
    }
}
