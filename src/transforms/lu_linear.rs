//! Trainable invertible linear map in LU form (Glow, Kingma & Dhariwal 2018):
//! `z = x W + b`, `W = L U`, `L` unit lower-triangular, `U` upper-triangular with a
//! positive diagonal `exp(log_d)`; `log|det W| = Σ log_d`. The inverse uses the
//! nilpotent series of the strictly triangular parts (differentiable, `dim − 1` small
//! matmuls per factor).

use crate::error::Result;
use crate::params::{Init, Params};
use crate::transforms::{Transform, TransformSpec};
use candle_core::{Device, Tensor};

/// LU-decomposed linear layer.
#[derive(Debug)]
pub struct LuLinear {
    dim: usize,
    lower: Tensor,
    upper: Tensor,
    log_d: Tensor,
    bias: Tensor,
    lower_mask: Tensor,
    upper_mask: Tensor,
    eye: Tensor,
}

fn tri_mask(dim: usize, lower: bool, device: &Device) -> Result<Tensor> {
    let v: Vec<f32> = (0..dim * dim)
        .map(|k| {
            let (i, j) = (k / dim, k % dim);
            if (lower && i > j) || (!lower && j > i) {
                1.0
            } else {
                0.0
            }
        })
        .collect();
    Ok(Tensor::from_vec(v, (dim, dim), device)?)
}

impl LuLinear {
    /// A layer over `dim` features, initialised near the identity.
    pub fn new(params: &Params, dim: usize) -> Result<Self> {
        let dev = params.device();
        let dt = params.dtype();
        let scale = 0.1 / (dim as f64).sqrt();
        Ok(Self {
            dim,
            lower: params.get("lower", (dim, dim), Init::Uniform(scale))?,
            upper: params.get("upper", (dim, dim), Init::Uniform(scale))?,
            log_d: params.get("log_diag", dim, Init::Zeros)?,
            bias: params.get("bias", dim, Init::Zeros)?,
            lower_mask: tri_mask(dim, true, dev)?.to_dtype(dt)?,
            upper_mask: tri_mask(dim, false, dev)?.to_dtype(dt)?,
            eye: Tensor::eye(dim, dt, dev)?,
        })
    }

    /// `(I + N)⁻¹ = Σ_k (−N)^k` for nilpotent `N` (Horner form).
    fn inv_unit_triangular(&self, n: &Tensor) -> Result<Tensor> {
        let mut x = self.eye.clone();
        for _ in 1..self.dim {
            x = (&self.eye - n.matmul(&x)?)?;
        }
        Ok(x)
    }

    fn logdet(&self, batch: usize) -> Result<Tensor> {
        Ok(self.log_d.sum_all()?.broadcast_as(batch)?.contiguous()?)
    }
}

impl Transform for LuLinear {
    fn dim(&self) -> usize {
        self.dim
    }
    fn forward(&self, x: &Tensor, ctx: Option<&Tensor>) -> Result<(Tensor, Tensor)> {
        crate::checks::expect_context(ctx, 0, x.dim(0)?, "LU linear layer")?;
        let l = (self.lower.mul(&self.lower_mask)? + &self.eye)?;
        let d = self.log_d.exp()?;
        let u = (self.upper.mul(&self.upper_mask)? + self.eye.broadcast_mul(&d.unsqueeze(0)?)?)?;
        let w = l.matmul(&u)?;
        let z = x.matmul(&w)?.broadcast_add(&self.bias)?;
        Ok((z, self.logdet(x.dim(0)?)?))
    }
    fn inverse(&self, z: &Tensor, ctx: Option<&Tensor>) -> Result<(Tensor, Tensor)> {
        crate::checks::expect_context(ctx, 0, z.dim(0)?, "LU linear layer")?;
        // W⁻¹ = U⁻¹ L⁻¹, U = (I + N') D with N' = M D⁻¹ strictly upper ⇒ U⁻¹ = D⁻¹ (I + N')⁻¹.
        let l_inv = self.inv_unit_triangular(&self.lower.mul(&self.lower_mask)?)?;
        let d_inv = self.log_d.neg()?.exp()?;
        let n_up = self
            .upper
            .mul(&self.upper_mask)?
            .broadcast_mul(&d_inv.unsqueeze(0)?)?;
        let u_inv = self
            .inv_unit_triangular(&n_up)?
            .broadcast_mul(&d_inv.unsqueeze(1)?)?;
        let w_inv = u_inv.matmul(&l_inv)?;
        let x = z.broadcast_sub(&self.bias)?.matmul(&w_inv)?;
        Ok((x, self.logdet(z.dim(0)?)?.neg()?))
    }
    fn spec(&self) -> TransformSpec {
        TransformSpec::LuLinear { dim: self.dim }
    }
}
