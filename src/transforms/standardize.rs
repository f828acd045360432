//! Fixed standardisation (z-score) with a stored mean and standard deviation.

use crate::error::{Error, Result};
use crate::transforms::{Transform, TransformSpec};
use candle_core::{DType, Device, Tensor};

/// `z = (x − mean) / std`, log-det `−Σ log std`; not trained.
#[derive(Debug)]
pub struct Standardize {
    mean_v: Vec<f64>,
    std_v: Vec<f64>,
    mean: Tensor,
    inv_std: Tensor,
    std: Tensor,
    logdet: f64,
}

impl Standardize {
    /// From per-feature means and (positive, finite) standard deviations.
    pub fn new(mean: &[f64], std: &[f64], dtype: DType, device: &Device) -> Result<Self> {
        if mean.len() != std.len() {
            return Err(Error::config(format!(
                "standardize: {} means but {} standard deviations",
                mean.len(),
                std.len()
            )));
        }
        if let Some((i, s)) = std
            .iter()
            .enumerate()
            .find(|(_, s)| !(s.is_finite() && **s > 0.0))
        {
            return Err(Error::config(format!(
                "standardize: standard deviation of feature {i} is {s}; expected a positive finite number (constant column?)"
            )));
        }
        if let Some(i) = mean.iter().position(|m| !m.is_finite()) {
            return Err(Error::config(format!(
                "standardize: mean of feature {i} is not finite"
            )));
        }
        let t = |v: Vec<f64>| -> Result<Tensor> {
            Ok(Tensor::from_vec(v, mean.len(), device)?.to_dtype(dtype)?)
        };
        Ok(Self {
            mean_v: mean.to_vec(),
            std_v: std.to_vec(),
            mean: t(mean.to_vec())?,
            inv_std: t(std.iter().map(|s| 1.0 / s).collect())?,
            std: t(std.to_vec())?,
            logdet: -std.iter().map(|s| s.ln()).sum::<f64>(),
        })
    }

    /// Fit the mean and standard deviation (population) of the rows of `data`
    /// (`(n, dim)`, f64 on the host).
    pub fn fit(data: &[Vec<f64>]) -> Result<(Vec<f64>, Vec<f64>)> {
        let n = data.len();
        if n < 2 {
            return Err(Error::config("standardize: need at least 2 rows to fit"));
        }
        let d = data[0].len();
        let mut mean = vec![0.0; d];
        for r in data {
            for (m, v) in mean.iter_mut().zip(r) {
                *m += v / n as f64;
            }
        }
        let mut var = vec![0.0; d];
        for r in data {
            for ((s, v), m) in var.iter_mut().zip(r).zip(&mean) {
                *s += (v - m) * (v - m) / n as f64;
            }
        }
        Ok((mean, var.into_iter().map(f64::sqrt).collect()))
    }

    fn logdet_t(&self, batch: usize, sign: f64, like: &Tensor) -> Result<Tensor> {
        Ok(Tensor::full(sign * self.logdet, batch, like.device())?.to_dtype(like.dtype())?)
    }
}

impl Transform for Standardize {
    fn dim(&self) -> usize {
        self.mean_v.len()
    }
    fn forward(&self, x: &Tensor, ctx: Option<&Tensor>) -> Result<(Tensor, Tensor)> {
        crate::checks::expect_context(ctx, 0, x.dim(0)?, "standardize layer")?;
        let z = x.broadcast_sub(&self.mean)?.broadcast_mul(&self.inv_std)?;
        Ok((z, self.logdet_t(x.dim(0)?, 1.0, x)?))
    }
    fn inverse(&self, z: &Tensor, ctx: Option<&Tensor>) -> Result<(Tensor, Tensor)> {
        crate::checks::expect_context(ctx, 0, z.dim(0)?, "standardize layer")?;
        let x = z.broadcast_mul(&self.std)?.broadcast_add(&self.mean)?;
        Ok((x, self.logdet_t(z.dim(0)?, -1.0, z)?))
    }
    fn spec(&self) -> TransformSpec {
        TransformSpec::Standardize {
            mean: self.mean_v.clone(),
            std: self.std_v.clone(),
        }
    }
}
