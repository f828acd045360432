//! Diagonal Gaussian with trainable mean and log standard deviation.

use super::{BaseDistribution, BaseSpec, HALF_LN_2PI};
use crate::error::Result;
use crate::params::{Init, Params};
use crate::random::randn;
use candle_core::Tensor;
use rand::RngCore;

/// N(μ, diag exp(2·log σ)), initialised to N(0, I).
#[derive(Debug, Clone)]
pub struct DiagGaussian {
    dim: usize,
    loc: Tensor,
    log_scale: Tensor,
}

impl DiagGaussian {
    /// A trainable diagonal Gaussian of dimension `dim` (parameters `loc`, `log_scale`).
    pub fn new(params: &Params, dim: usize) -> Result<Self> {
        Ok(Self {
            dim,
            loc: params.get("loc", dim, Init::Zeros)?,
            log_scale: params.get("log_scale", dim, Init::Zeros)?,
        })
    }
}

impl BaseDistribution for DiagGaussian {
    fn dim(&self) -> usize {
        self.dim
    }
    fn log_prob(&self, z: &Tensor) -> Result<Tensor> {
        let u = z
            .broadcast_sub(&self.loc)?
            .broadcast_mul(&self.log_scale.neg()?.exp()?)?;
        let c = -(self.dim as f64) * HALF_LN_2PI;
        Ok(u.sqr()?
            .sum(1)?
            .affine(-0.5, c)?
            .broadcast_sub(&self.log_scale.sum_all()?)?)
    }
    fn sample(&self, n: usize, rng: &mut dyn RngCore) -> Result<Tensor> {
        let e = randn(n, self.dim, self.loc.dtype(), self.loc.device(), rng)?;
        Ok(e.broadcast_mul(&self.log_scale.exp()?)?
            .broadcast_add(&self.loc)?)
    }
    fn spec(&self) -> BaseSpec {
        BaseSpec::DiagGaussian { dim: self.dim }
    }
}
