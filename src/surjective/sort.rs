//! Sort (an inference surjection for exchangeable values): `z` = the row sorted
//! ascending; the generative direction applies a uniformly random permutation, so
//! `p(x) = p(z) / D!` for distinct values and the contribution `−log D!` is exact
//! (given that the layers after it put their mass on sorted vectors).

use crate::error::{Error, Result};
use crate::surjective::expect_width;
use crate::surjective::noise::Noise;
use crate::transforms::{Transform, TransformSpec};
use candle_core::Tensor;

/// `forward`: sort each row ascending, contribution `−log D!`. `inverse`: a uniformly
/// random permutation of each row, returning `+log D!`.
///
/// ```
/// use flowinfer::surjective::Sort;
/// use flowinfer::transforms::Transform;
/// use candle_core::{Device, Tensor};
/// let s = Sort::new(3, 0)?;
/// let x = Tensor::new(&[[3.0f64, 1.0, 2.0]], &Device::Cpu)?;
/// let (z, lp) = s.forward(&x, None)?;
/// assert_eq!(z.to_vec2::<f64>()?, vec![vec![1.0, 2.0, 3.0]]);
/// assert!((lp.to_vec1::<f64>()?[0] + 6f64.ln()).abs() < 1e-12);
/// # Ok::<(), flowinfer::Error>(())
/// ```
#[derive(Debug)]
pub struct Sort {
    dim: usize,
    noise: Noise,
}

impl Sort {
    /// Sort rows of `dim` values; `seed` drives the permutations of `inverse`.
    pub fn new(dim: usize, seed: u64) -> Result<Self> {
        if dim < 2 {
            return Err(Error::config(format!(
                "sort layer: needs at least 2 values per row, got {dim}"
            )));
        }
        Ok(Self {
            dim,
            noise: Noise::new(seed),
        })
    }

    /// `log D!`.
    fn log_factorial(&self) -> f64 {
        (2..=self.dim).map(|k| (k as f64).ln()).sum()
    }
}

impl Transform for Sort {
    fn dim(&self) -> usize {
        self.dim
    }
    fn stochastic_inverse(&self) -> bool {
        true
    }
    fn forward(&self, x: &Tensor, ctx: Option<&Tensor>) -> Result<(Tensor, Tensor)> {
        let b = expect_width(x, self.dim, "sort layer input")?;
        crate::checks::expect_context(ctx, 0, b, "sort layer")?;
        let x = x.contiguous()?;
        let idx = x.arg_sort_last_dim(true)?;
        let z = x.gather(&idx, 1)?;
        let lp = (Tensor::zeros(b, x.dtype(), x.device())? - self.log_factorial())?;
        Ok((z, lp))
    }
    fn inverse(&self, z: &Tensor, ctx: Option<&Tensor>) -> Result<(Tensor, Tensor)> {
        let b = expect_width(z, self.dim, "sort layer inverse input")?;
        crate::checks::expect_context(ctx, 0, b, "sort layer")?;
        // The ranks of i.i.d. uniforms are a uniformly random permutation.
        let perm = self
            .noise
            .uniform(z, 0, self.dim)?
            .contiguous()?
            .arg_sort_last_dim(true)?;
        let x = z.contiguous()?.gather(&perm, 1)?;
        let lp = (Tensor::zeros(b, z.dtype(), z.device())? + self.log_factorial())?;
        Ok((x, lp))
    }
    fn spec(&self) -> TransformSpec {
        TransformSpec::Sort {
            dim: self.dim,
            seed: self.noise.seed(),
        }
    }
}
