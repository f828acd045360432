//! Uniform dequantization (a generative surjection from integers to the reals):
//! `z = x + u`, `u ~ U[0, 1)^D`. With `q(u | x) = 1` the contribution `−log q = 0`
//! and `E_u[log p(x + u)] ≤ log P(x)` is a lower bound on the discrete log-probability.

use crate::error::{Error, Result};
use crate::surjective::expect_width;
use crate::surjective::noise::Noise;
use crate::transforms::{Contribution, Transform, TransformSpec};
use candle_core::{DType, Tensor};

/// `forward`: integer `x ↦ x + u`, contribution 0 (a bound); non-integer input is an
/// [`Error::InvalidInput`] naming the row and column. `inverse`: `z ↦ ⌊z⌋`, 0.
///
/// ```
/// use flowinfer::surjective::UniformDequantize;
/// use flowinfer::transforms::{Contribution, Transform};
/// use candle_core::{Device, Tensor};
/// let d = UniformDequantize::new(2, 0)?;
/// let x = Tensor::new(&[[3.0f64, 0.0]], &Device::Cpu)?;
/// let (z, _) = d.forward(&x, None)?;
/// assert_eq!(d.inverse(&z, None)?.0.to_vec2::<f64>()?, x.to_vec2::<f64>()?);
/// assert!(d.forward(&Tensor::new(&[[0.5f64, 1.0]], &Device::Cpu)?, None).is_err());
/// assert_eq!(d.likelihood(), Contribution::Bound);
/// # Ok::<(), flowinfer::Error>(())
/// ```
#[derive(Debug)]
pub struct UniformDequantize {
    dim: usize,
    noise: Noise,
}

impl UniformDequantize {
    /// `dim` integer features; `seed` drives the offsets.
    pub fn new(dim: usize, seed: u64) -> Result<Self> {
        if dim == 0 {
            return Err(Error::config(
                "dequantization layer: needs at least one dimension",
            ));
        }
        Ok(Self {
            dim,
            noise: Noise::new(seed),
        })
    }
}

/// The first non-integer entry of `x`, as an error naming its row and column.
pub(crate) fn expect_integers(x: &Tensor) -> Result<()> {
    let frac = (x - x.floor()?)?.abs()?;
    let any = frac
        .flatten_all()?
        .max(0)?
        .to_dtype(DType::F64)?
        .to_scalar::<f64>()?;
    if any == 0.0 {
        return Ok(());
    }
    let rows = x.to_dtype(DType::F64)?.to_vec2::<f64>()?;
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            if v.fract() != 0.0 || !v.is_finite() {
                return Err(Error::InvalidInput {
                    what: "dequantization layer input".into(),
                    row: r,
                    column: c,
                    value: *v,
                    expected: "an integer".into(),
                });
            }
        }
    }
    Ok(())
}

impl Transform for UniformDequantize {
    fn dim(&self) -> usize {
        self.dim
    }
    fn likelihood(&self) -> Contribution {
        Contribution::Bound
    }
    fn forward(&self, x: &Tensor, ctx: Option<&Tensor>) -> Result<(Tensor, Tensor)> {
        let b = expect_width(x, self.dim, "dequantization layer input")?;
        crate::checks::expect_context(ctx, 0, b, "dequantization layer")?;
        expect_integers(x)?;
        let u = self.noise.uniform(x, 0, self.dim)?;
        Ok(((x + u)?, Tensor::zeros(b, x.dtype(), x.device())?))
    }
    fn inverse(&self, z: &Tensor, ctx: Option<&Tensor>) -> Result<(Tensor, Tensor)> {
        let b = expect_width(z, self.dim, "dequantization layer inverse input")?;
        crate::checks::expect_context(ctx, 0, b, "dequantization layer")?;
        Ok((z.floor()?, Tensor::zeros(b, z.dtype(), z.device())?))
    }
    fn spec(&self) -> TransformSpec {
        TransformSpec::UniformDequantize {
            dim: self.dim,
            seed: self.noise.seed(),
        }
    }
}
