//! Affine element-wise map with a softly bounded log-scale.

use super::{ElementwiseMap, ElementwiseSpec};
use crate::error::Result;
use candle_core::{Tensor, D};

/// `y = x·exp(log_s) + shift` with `log_s = bound·tanh(raw/bound)`; parameters per
/// feature `[shift, raw]`.
#[derive(Debug, Clone)]
pub struct Affine {
    scale_bound: f64,
}

impl Affine {
    /// A map whose |log scale| stays below `scale_bound`.
    pub fn new(scale_bound: f64) -> Self {
        Self { scale_bound }
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
        let (shift, log_s) = self.split(params)?;
        let y = x.mul(&log_s.exp()?)?.add(&shift)?;
        Ok((y, log_s.sum(1)?))
    }
    fn inverse(&self, y: &Tensor, params: &Tensor) -> Result<(Tensor, Tensor)> {
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
