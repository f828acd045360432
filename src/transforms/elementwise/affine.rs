//! Affine element-wise map with a softly bounded log-scale.
//!
//! On the CPU a fused kernel (`affine_kernel.rs`) computes output, log-det and the
//! gradients in one pass each; the tensor-op version here is the reference and runs on
//! other devices.

use super::{affine_kernel, ElementwiseMap, ElementwiseSpec};
use crate::error::Result;
use candle_core::{Tensor, D};

/// `y = x·exp(log_s) + shift` with `log_s = bound·tanh(raw/bound)`; parameters per
/// feature `[shift, raw]`.
#[derive(Debug, Clone)]
pub struct Affine {
    scale_bound: f64,
    fused: bool,
}

impl Affine {
    /// A map whose |log scale| stays below `scale_bound`.
    ///
    /// ```
    /// use candle_core::{Device, Tensor};
    /// use flowinfer::transforms::{Affine, ElementwiseMap};
    /// let x = Tensor::new(&[[1f64, -2.0]], &Device::Cpu)?;
    /// // shift 0.5 and raw log-scale 0 on both features: y = x + 0.5, log-det 0.
    /// let p = Tensor::new(&[[[0.5f64, 0.0], [0.5, 0.0]]], &Device::Cpu)?;
    /// let (y, ld) = Affine::new(1.0).forward(&x, &p)?;
    /// assert_eq!(y.to_vec2::<f64>()?, [[1.5, -1.5]]);
    /// assert_eq!(ld.to_vec1::<f64>()?, [0.0]);
    /// # Ok::<(), flowinfer::Error>(())
    /// ```
    pub fn new(scale_bound: f64) -> Self {
        Self {
            scale_bound,
            fused: true,
        }
    }

    /// Use the fused CPU kernel (default) or the composite tensor-op implementation
    /// (always used on non-CPU devices; selectable for cross-checks).
    pub fn with_fused(mut self, fused: bool) -> Self {
        self.fused = fused;
        self
    }

    fn split(&self, params: &Tensor) -> Result<(Tensor, Tensor)> {
        let shift = params.narrow(D::Minus1, 0, 1)?.squeeze(D::Minus1)?;
        let raw = params.narrow(D::Minus1, 1, 1)?.squeeze(D::Minus1)?;
        let log_s = if self.scale_bound == 1.0 {
            raw.tanh()?
        } else {
            (raw / self.scale_bound)?
                .tanh()?
                .affine(self.scale_bound, 0.0)?
        };
        Ok((shift, log_s))
    }
}

impl ElementwiseMap for Affine {
    fn params_per_dim(&self) -> usize {
        2
    }
    fn forward(&self, x: &Tensor, params: &Tensor) -> Result<(Tensor, Tensor)> {
        if self.fused {
            if let Some(out) = affine_kernel::apply(self.scale_bound, x, params, false)? {
                return Ok(out);
            }
        }
        let (shift, log_s) = self.split(params)?;
        let y = x.mul(&log_s.exp()?)?.add(&shift)?;
        Ok((y, log_s.sum(1)?))
    }
    fn inverse(&self, y: &Tensor, params: &Tensor) -> Result<(Tensor, Tensor)> {
        if self.fused {
            if let Some(out) = affine_kernel::apply(self.scale_bound, y, params, true)? {
                return Ok(out);
            }
        }
        let (shift, log_s) = self.split(params)?;
        let x = y.sub(&shift)?.mul(&log_s.neg()?.exp()?)?;
        Ok((x, log_s.sum(1)?.neg()?))
    }
    fn spec(&self) -> ElementwiseSpec {
        ElementwiseSpec::Affine {
            scale_bound: self.scale_bound,
        }
    }
}
