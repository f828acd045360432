//! The standard normal N(0, I).

use super::{BaseDistribution, BaseSpec, HALF_LN_2PI};
use crate::error::Result;
use crate::random::randn;
use candle_core::{DType, Device, Tensor};
use rand::RngCore;

/// N(0, I) in `dim` dimensions.
#[derive(Debug, Clone)]
pub struct StandardNormal {
    dim: usize,
    dtype: DType,
    device: Device,
}

impl StandardNormal {
    /// A standard normal of dimension `dim`.
    pub fn new(dim: usize, dtype: DType, device: &Device) -> Self {
        Self {
            dim,
            dtype,
            device: device.clone(),
        }
    }
}

impl BaseDistribution for StandardNormal {
    fn dim(&self) -> usize {
        self.dim
    }
    fn log_prob(&self, z: &Tensor) -> Result<Tensor> {
        let c = -(self.dim as f64) * HALF_LN_2PI;
        Ok(z.sqr()?.sum(1)?.affine(-0.5, c)?)
    }
    fn sample(&self, n: usize, rng: &mut dyn RngCore) -> Result<Tensor> {
        randn(n, self.dim, self.dtype, &self.device, rng)
    }
    fn spec(&self) -> BaseSpec {
        BaseSpec::StandardNormal { dim: self.dim }
    }
}
