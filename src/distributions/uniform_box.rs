//! Uniform distribution on a box.

use super::{BaseDistribution, BaseSpec};
use crate::error::{Error, Result};
use crate::random::rand_uniform;
use candle_core::{DType, Device, Tensor};
use rand::RngCore;

/// Uniform on `[low, high]` (per feature); `log_prob` is `−∞` outside.
#[derive(Debug, Clone)]
pub struct UniformBox {
    low_v: Vec<f64>,
    high_v: Vec<f64>,
    low: Tensor,
    high: Tensor,
    width: Tensor,
    log_volume: f64,
}

impl UniformBox {
    /// The box `[low, high]`.
    pub fn new(low: &[f64], high: &[f64], dtype: DType, device: &Device) -> Result<Self> {
        if low.len() != high.len() || low.is_empty() {
            return Err(Error::config(format!(
                "uniform box: {} lower and {} upper bounds; expected the same non-zero number",
                low.len(),
                high.len()
            )));
        }
        if let Some(i) = (0..low.len())
            .find(|&i| !(low[i].is_finite() && high[i] > low[i] && high[i].is_finite()))
        {
            return Err(Error::config(format!(
                "uniform box: feature {i} has bounds [{}, {}]; expected finite low < high",
                low[i], high[i]
            )));
        }
        let t = |v: Vec<f64>| -> Result<Tensor> {
            Ok(Tensor::from_vec(v, low.len(), device)?.to_dtype(dtype)?)
        };
        let w: Vec<f64> = low.iter().zip(high).map(|(l, h)| h - l).collect();
        Ok(Self {
            low_v: low.to_vec(),
            high_v: high.to_vec(),
            low: t(low.to_vec())?,
            high: t(high.to_vec())?,
            log_volume: w.iter().map(|v| v.ln()).sum(),
            width: t(w)?,
        })
    }

    /// The unit hypercube `[0, 1]^dim`.
    pub fn unit(dim: usize, dtype: DType, device: &Device) -> Result<Self> {
        Self::new(&vec![0.0; dim], &vec![1.0; dim], dtype, device)
    }
}

impl BaseDistribution for UniformBox {
    fn dim(&self) -> usize {
        self.low_v.len()
    }
    fn log_prob(&self, z: &Tensor) -> Result<Tensor> {
        let inside = z
            .broadcast_ge(&self.low)?
            .mul(&z.broadcast_le(&self.high)?)?
            .min(1)?;
        let n = z.dim(0)?;
        let inv = Tensor::full(-self.log_volume, n, z.device())?.to_dtype(z.dtype())?;
        let out = Tensor::full(f64::NEG_INFINITY, n, z.device())?.to_dtype(z.dtype())?;
        Ok(inside.where_cond(&inv, &out)?)
    }
    fn sample(&self, n: usize, rng: &mut dyn RngCore) -> Result<Tensor> {
        let u = rand_uniform(n, self.dim(), self.low.dtype(), self.low.device(), rng)?;
        Ok(u.broadcast_mul(&self.width)?.broadcast_add(&self.low)?)
    }
    fn spec(&self) -> BaseSpec {
        BaseSpec::UniformBox {
            low: self.low_v.clone(),
            high: self.high_v.clone(),
        }
    }
}
