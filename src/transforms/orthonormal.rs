//! Fixed random orthonormal linear map (QR of a Gaussian matrix, via nalgebra).

use crate::error::{Error, Result};
use crate::transforms::{zero_logdet, Transform, TransformSpec};
use candle_core::{DType, Device, Tensor};
use nalgebra::DMatrix;
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};

/// `z = x Q` with `Q` orthonormal (fixed, not trained); log-det 0.
#[derive(Debug)]
pub struct Orthonormal {
    dim: usize,
    matrix: Vec<f64>,
    q: Tensor,
    qt: Tensor,
}

impl Orthonormal {
    /// From a row-major `dim × dim` matrix (checked to be orthonormal to 1e-8).
    pub fn new(dim: usize, matrix: &[f64], dtype: DType, device: &Device) -> Result<Self> {
        if matrix.len() != dim * dim {
            return Err(Error::config(format!(
                "orthonormal matrix has {} entries, expected {dim}×{dim}",
                matrix.len()
            )));
        }
        let m = DMatrix::from_row_slice(dim, dim, matrix);
        let err = (m.transpose() * &m - DMatrix::<f64>::identity(dim, dim)).amax();
        if err > 1e-8 {
            return Err(Error::config(format!(
                "orthonormal matrix is not orthonormal (max |QᵀQ − I| = {err:.2e})"
            )));
        }
        let q = Tensor::from_vec(matrix.to_vec(), (dim, dim), device)?.to_dtype(dtype)?;
        let qt = q.t()?.contiguous()?;
        Ok(Self {
            dim,
            matrix: matrix.to_vec(),
            q,
            qt,
        })
    }

    /// A Haar-random orthonormal matrix from `seed` (row-major): Q of the QR
    /// decomposition of a Gaussian matrix, columns sign-corrected by diag(R).
    pub fn random_matrix(dim: usize, seed: u64) -> Vec<f64> {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let g = DMatrix::<f64>::from_fn(dim, dim, |_, _| StandardNormal.sample(&mut rng));
        let qr = g.qr();
        let (mut q, r) = (qr.q(), qr.r());
        for j in 0..dim {
            if r[(j, j)] < 0.0 {
                q.column_mut(j).neg_mut();
            }
        }
        let mut out = Vec::with_capacity(dim * dim);
        for i in 0..dim {
            for j in 0..dim {
                out.push(q[(i, j)]);
            }
        }
        out
    }
}

impl Transform for Orthonormal {
    fn dim(&self) -> usize {
        self.dim
    }
    fn forward(&self, x: &Tensor, ctx: Option<&Tensor>) -> Result<(Tensor, Tensor)> {
        crate::checks::expect_context(ctx, 0, x.dim(0)?, "orthonormal layer")?;
        Ok((x.matmul(&self.q)?, zero_logdet(x)?))
    }
    fn inverse(&self, z: &Tensor, ctx: Option<&Tensor>) -> Result<(Tensor, Tensor)> {
        crate::checks::expect_context(ctx, 0, z.dim(0)?, "orthonormal layer")?;
        Ok((z.matmul(&self.qt)?, zero_logdet(z)?))
    }
    fn spec(&self) -> TransformSpec {
        TransformSpec::Orthonormal {
            dim: self.dim,
            matrix: self.matrix.clone(),
        }
    }
}
