//! Max pooling over 2-D blocks (an inference surjection): each `s × s` block of an
//! image keeps only its maximum. The generative direction draws which position holds
//! the maximum (uniformly, probability `1/s²`) and the other values below it,
//! `x_i = m − d_i` with `d_i ~ HalfNormal(σ)` (one trainable `σ` per layer), so
//! `p(x) = p(z) · Π_blocks [ (1/s²) · Π_{i ≠ argmax} HalfNormal(m − x_i; σ) ]` exactly
//! (for distinct values; the map from `x` to (max, argmax, gaps) is a bijection with
//! unit Jacobian).

use crate::error::{Error, Result};
use crate::params::{Init, Params};
use crate::surjective::expect_width;
use crate::surjective::noise::Noise;
use crate::transforms::{Transform, TransformSpec};
use candle_core::{Tensor, D};
use rand::Rng;

/// Images of `height × width` pixels, flattened row-major to `(batch, height·width)`,
/// pooled to `(batch, (height/block)·(width/block))` (block-major, row-major).
///
/// ```
/// use flowinfer::surjective::MaxPool2d;
/// use flowinfer::transforms::Transform;
/// use flowinfer::params::Params;
/// use candle_core::{DType, Device, Tensor};
/// let p = Params::new(DType::F64, &Device::Cpu, 0);
/// let m = MaxPool2d::new(&p, 2, 4, 2, 0)?;
/// let x = Tensor::new(&[[1.0f64, 5.0, 0.0, 2.0, 3.0, 4.0, 7.0, 1.0]], &Device::Cpu)?;
/// assert_eq!(m.forward(&x, None)?.0.to_vec2::<f64>()?, vec![vec![5.0, 7.0]]);
/// assert!(MaxPool2d::new(&p, 3, 4, 2, 0).is_err()); // 2 does not divide 3
/// # Ok::<(), flowinfer::Error>(())
/// ```
#[derive(Debug)]
pub struct MaxPool2d {
    height: usize,
    width: usize,
    block: usize,
    log_scale: Tensor,
    noise: Noise,
}

impl MaxPool2d {
    /// Pool `height × width` images over `block × block` blocks; `block` must divide
    /// both sides. `seed` drives the sampling direction.
    pub fn new(
        params: &Params,
        height: usize,
        width: usize,
        block: usize,
        seed: u64,
    ) -> Result<Self> {
        if block < 2
            || height == 0
            || width == 0
            || !height.is_multiple_of(block)
            || !width.is_multiple_of(block)
        {
            return Err(Error::config(format!(
                "max-pooling layer: a block of {block}×{block} must be at least 2×2 and divide \
                 the {height}×{width} image"
            )));
        }
        let log_scale = params.get("log_scale", (1, 1, 1), Init::Zeros)?;
        Ok(Self {
            height,
            width,
            block,
            log_scale,
            noise: Noise::new(seed),
        })
    }

    fn blocks(&self) -> usize {
        (self.height / self.block) * (self.width / self.block)
    }

    /// `(b, H·W)` → `(b, blocks, s²)`.
    fn to_blocks(&self, x: &Tensor) -> Result<Tensor> {
        let (b, s) = (x.dim(0)?, self.block);
        let (hb, wb) = (self.height / s, self.width / s);
        Ok(x.reshape((b, hb, s, wb, s))?
            .permute((0, 1, 3, 2, 4))?
            .reshape((b, hb * wb, s * s))?)
    }

    /// `(b, blocks, s²)` → `(b, H·W)`.
    fn unblock(&self, x: &Tensor) -> Result<Tensor> {
        let (b, s) = (x.dim(0)?, self.block);
        let (hb, wb) = (self.height / s, self.width / s);
        Ok(x.reshape((b, hb, wb, s, s))?
            .permute((0, 1, 3, 2, 4))?
            .reshape((b, self.height * self.width))?)
    }

    /// Contribution of gaps `d` `(b, blocks, s²)` (0 at each block's maximum):
    /// `Σ_blocks [−log s² + Σ_{i ≠ argmax} log HalfNormal(d_i; σ)]`, `(b,)`.
    fn contribution(&self, d: &Tensor) -> Result<Tensor> {
        let ls = self.log_scale.broadcast_as(d.shape())?;
        let e = (d * ls.neg()?.exp()?)?;
        // log HalfNormal(d; σ) = log(2/√(2π)) − log σ − d²/(2σ²), summed over every
        // entry, then the argmax entry's value at d = 0 removed.
        let c = (2.0 / (2.0 * std::f64::consts::PI).sqrt()).ln();
        let all = (((e.sqr()? * -0.5)? - ls)? + c)?.sum(D::Minus1)?;
        let at_max = ((self.log_scale.flatten_all()?.neg()? + c)?).broadcast_as(all.shape())?;
        let per_block = ((all - at_max)? - ((self.block * self.block) as f64).ln())?;
        Ok(per_block.sum(1)?)
    }
}

impl Transform for MaxPool2d {
    fn dim(&self) -> usize {
        self.height * self.width
    }
    fn output_dim(&self) -> usize {
        self.blocks()
    }
    fn stochastic_inverse(&self) -> bool {
        true
    }
    fn forward(&self, x: &Tensor, ctx: Option<&Tensor>) -> Result<(Tensor, Tensor)> {
        let b = expect_width(x, self.dim(), "max-pooling layer input")?;
        crate::checks::expect_context(ctx, 0, b, "max-pooling layer")?;
        let blocks = self.to_blocks(x)?;
        let m = blocks.max_keepdim(D::Minus1)?;
        let d = m.broadcast_sub(&blocks)?;
        Ok((m.squeeze(D::Minus1)?, self.contribution(&d)?))
    }
    fn inverse(&self, z: &Tensor, ctx: Option<&Tensor>) -> Result<(Tensor, Tensor)> {
        let b = expect_width(z, self.blocks(), "max-pooling layer inverse input")?;
        crate::checks::expect_context(ctx, 0, b, "max-pooling layer")?;
        let (nb, s2) = (self.blocks(), self.block * self.block);
        // Which position of each block holds the maximum: a 0/1 mask of the others.
        let mut rng = self.noise.rng(z, 1)?;
        let mut others = vec![1f64; b * nb * s2];
        for blk in 0..b * nb {
            others[blk * s2 + rng.random_range(0..s2)] = 0.0;
        }
        let others = Tensor::from_vec(others, (b, nb, s2), z.device())?.to_dtype(z.dtype())?;
        let eps = self.noise.normal(z, 0, nb * s2)?.reshape((b, nb, s2))?;
        let ls = self.log_scale.broadcast_as(eps.shape())?;
        let d = ((eps.abs()? * ls.exp()?)? * others)?;
        let x = z.unsqueeze(D::Minus1)?.broadcast_sub(&d)?;
        Ok((self.unblock(&x)?, self.contribution(&d)?.neg()?))
    }
    fn spec(&self) -> TransformSpec {
        TransformSpec::MaxPool2d {
            height: self.height,
            width: self.width,
            block: self.block,
            seed: self.noise.seed(),
        }
    }
}
