//! Gaussian targets given by mean and precision, `p̃ = exp(−½ (x − μ)ᵀ P (x − μ))`, so
//! `log Z = d/2 · log 2π − ½ log det P`; and the built-in 10-D correlated Gaussian:
//! scales `s_i` log-spaced from 0.5 to 2, AR(1) correlation `ρ^{|i−j|}` with `ρ = 0.8`,
//! mean `μ_i = (i − (d−1)/2)/2`, so `Σ_ij = s_i s_j ρ^{|i−j|}`.

use crate::error::{Error, Result};
use crate::variational::target::{check_points, LogDensity, Truth};
use candle_core::{DType, Device, Tensor};
use nalgebra::{DMatrix, DVector};
use std::f64::consts::PI;

/// A Gaussian target (module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct Gaussian {
    name: String,
    mean: DVector<f64>,
    cov: DMatrix<f64>,
    precision: DMatrix<f64>,
    log_det_cov: f64,
}

impl Gaussian {
    /// `N(mean, cov)` named `name`, unnormalised (module docs). Errors when `cov` is not
    /// symmetric positive definite or the sizes disagree.
    pub fn new(name: impl Into<String>, mean: Vec<f64>, cov: Vec<f64>) -> Result<Self> {
        let d = mean.len();
        let name = name.into();
        if d == 0 || cov.len() != d * d {
            return Err(Error::config(format!(
                "Gaussian target `{name}`: {} covariance entries for dimension {d}",
                cov.len()
            )));
        }
        let cov = DMatrix::from_row_slice(d, d, &cov);
        let chol = cov.clone().cholesky().ok_or_else(|| {
            Error::config(format!(
                "Gaussian target `{name}`: the covariance is not positive definite"
            ))
        })?;
        let log_det_cov = 2.0 * chol.l().diagonal().iter().map(|v| v.ln()).sum::<f64>();
        Ok(Self {
            name,
            mean: DVector::from_vec(mean),
            precision: chol.inverse(),
            cov,
            log_det_cov,
        })
    }

    /// The built-in correlated Gaussian in `dim` dimensions (module docs).
    pub fn correlated(dim: usize) -> Result<Self> {
        if dim == 0 {
            return Err(Error::config("the Gaussian target needs a dimension ≥ 1"));
        }
        let rho: f64 = 0.8;
        let s = |i: usize| {
            let t = if dim > 1 {
                i as f64 / (dim - 1) as f64
            } else {
                0.5
            };
            (0.5f64.ln() + t * 4.0f64.ln()).exp()
        };
        let mean = (0..dim)
            .map(|i| (i as f64 - (dim - 1) as f64 / 2.0) / 2.0)
            .collect();
        let cov = (0..dim * dim)
            .map(|k| {
                let (i, j) = (k / dim, k % dim);
                s(i) * s(j) * rho.powi((i as i32 - j as i32).abs())
            })
            .collect();
        Self::new("gaussian", mean, cov)
    }

    fn tensors(&self, dtype: DType, device: &Device) -> Result<(Tensor, Tensor)> {
        let d = self.mean.len();
        let mu = Tensor::from_vec(self.mean.as_slice().to_vec(), (1, d), device)?;
        let p: Vec<f64> = self.precision.transpose().as_slice().to_vec(); // row-major
        let p = Tensor::from_vec(p, (d, d), device)?;
        Ok((mu.to_dtype(dtype)?, p.to_dtype(dtype)?))
    }
}

impl LogDensity for Gaussian {
    fn name(&self) -> &str {
        &self.name
    }
    fn dim(&self) -> usize {
        self.mean.len()
    }
    fn log_density(&self, x: &Tensor, _ctx: Option<&Tensor>) -> Result<Tensor> {
        check_points(self, x)?;
        let (mu, p) = self.tensors(x.dtype(), x.device())?;
        let diff = x.broadcast_sub(&mu)?;
        Ok(((diff.matmul(&p)? * &diff)?.sum(1)? * -0.5)?)
    }
    fn truth(&self) -> Result<Truth> {
        let d = self.dim() as f64;
        let log_z = 0.5 * d * (2.0 * PI).ln() + 0.5 * self.log_det_cov;
        let cov = self.cov.transpose().as_slice().to_vec();
        Ok(Truth::log_z(log_z).with_moments(self.mean.as_slice().to_vec(), cov))
    }
    fn plot_box(&self) -> Option<[f64; 4]> {
        let w = |i: usize| 4.0 * self.cov[(i, i)].sqrt();
        (self.dim() == 2).then(|| {
            [
                self.mean[0] - w(0),
                self.mean[0] + w(0),
                self.mean[1] - w(1),
                self.mean[1] + w(1),
            ]
        })
    }
}
