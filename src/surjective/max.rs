//! Max (an inference surjection): a row of `D` values ↦ its maximum. The generative
//! direction draws which position holds the maximum from a learned categorical
//! (`π = softmax(ℓ)`, trainable logits) and the other values below it,
//! `x_i = m − d_i`, `d_i ~ HalfNormal(σ_i)` with a trainable scale per position. For
//! distinct values `x ↦ (m, argmax, gaps)` is a bijection with unit Jacobian, so
//! `p(x) = p(m) · π_k · Π_{i≠k} HalfNormal(m − x_i; σ_i)` (k the argmax) exactly.

use crate::error::{Error, Result};
use crate::params::{Init, Params};
use crate::surjective::expect_width;
use crate::surjective::noise::Noise;
use crate::transforms::{Transform, TransformSpec};
use candle_core::{DType, Tensor, D};
use rand::Rng;

/// `forward`: `x ↦ max_i x_i` (output width 1), contribution
/// `log π_k + Σ_{i≠k} log HalfNormal(m − x_i; σ_i)`. `inverse`: draws `k ~ π` and the
/// gaps, returning minus that contribution. Parameters `index_logit` and `log_scale`,
/// `(1, D)` each, initialised at 0 (uniform index, unit scales).
///
/// ```
/// use flowinfer::surjective::Max;
/// use flowinfer::transforms::Transform;
/// use flowinfer::params::Params;
/// use candle_core::{DType, Device, Tensor};
/// let p = Params::new(DType::F64, &Device::Cpu, 0);
/// let m = Max::new(&p, 2, 0)?;
/// let x = Tensor::new(&[[0.5f64, 1.5]], &Device::Cpu)?;
/// let (z, lp) = m.forward(&x, None)?;
/// assert_eq!(z.to_vec2::<f64>()?, vec![vec![1.5]]);
/// // log ½ + log HalfNormal(1; 1) = log ½ + log(2φ(1))
/// let hn = (2.0 / (2.0 * std::f64::consts::PI).sqrt()).ln() - 0.5;
/// assert!((lp.to_vec1::<f64>()?[0] - (0.5f64.ln() + hn)).abs() < 1e-12);
/// # Ok::<(), flowinfer::Error>(())
/// ```
#[derive(Debug)]
pub struct Max {
    dim: usize,
    logit: Tensor,
    log_scale: Tensor,
    noise: Noise,
}

impl Max {
    /// The maximum of `dim ≥ 2` values; `seed` drives the sampling direction.
    pub fn new(params: &Params, dim: usize, seed: u64) -> Result<Self> {
        if dim < 2 {
            return Err(Error::config(format!(
                "max layer: needs at least 2 values per row, got {dim}"
            )));
        }
        Ok(Self {
            dim,
            logit: params.get("index_logit", (1, dim), Init::Zeros)?,
            log_scale: params.get("log_scale", (1, dim), Init::Zeros)?,
            noise: Noise::new(seed),
        })
    }

    /// The probabilities `π_i` that position `i` holds the maximum.
    pub fn index_probability(&self) -> Result<Vec<f64>> {
        Ok(candle_nn::ops::softmax_last_dim(&self.logit)?
            .to_dtype(DType::F64)?
            .flatten_all()?
            .to_vec1::<f64>()?)
    }

    /// The contribution for gaps `d` `(b, D)` (0 at the maximum) and argmax `k`
    /// `(b, 1)` u32: `log π_k + Σ_{i≠k} log HalfNormal(d_i; σ_i)`, `(b,)`.
    fn contribution(&self, d: &Tensor, k: &Tensor) -> Result<Tensor> {
        let shape = d.shape();
        let ls = self.log_scale.broadcast_as(shape)?;
        let c = (2.0 / (2.0 * std::f64::consts::PI).sqrt()).ln();
        let hn = (((d * ls.neg()?.exp()?)?.sqr()? * -0.5)? - &ls)?;
        // Remove the argmax entry (d = 0 there: its term is c − log σ_k).
        let ls_k = ls.contiguous()?.gather(k, 1)?.squeeze(1)?;
        let others = ((hn.sum(1)? + ls_k)? + c * (self.dim - 1) as f64)?;
        let log_pi = candle_nn::ops::log_softmax(&self.logit, D::Minus1)?
            .broadcast_as(shape)?
            .contiguous()?
            .gather(k, 1)?
            .squeeze(1)?;
        Ok((others + log_pi)?)
    }
}

impl Transform for Max {
    fn dim(&self) -> usize {
        self.dim
    }
    fn output_dim(&self) -> usize {
        1
    }
    fn stochastic_inverse(&self) -> bool {
        true
    }
    fn forward(&self, x: &Tensor, ctx: Option<&Tensor>) -> Result<(Tensor, Tensor)> {
        let b = expect_width(x, self.dim, "max layer input")?;
        crate::checks::expect_context(ctx, 0, b, "max layer")?;
        let m = x.max_keepdim(1)?;
        let k = x.argmax_keepdim(1)?;
        let d = m.broadcast_sub(x)?;
        Ok((m, self.contribution(&d, &k)?))
    }
    fn inverse(&self, z: &Tensor, ctx: Option<&Tensor>) -> Result<(Tensor, Tensor)> {
        let b = expect_width(z, 1, "max layer inverse input")?;
        crate::checks::expect_context(ctx, 0, b, "max layer")?;
        // The position of the maximum: inverse-CDF draws from π, one per row.
        let pi = self.index_probability()?;
        let mut rng = self.noise.rng(z, 1)?;
        let mut others = vec![1f64; b * self.dim];
        let ks: Vec<u32> = (0..b)
            .map(|r| {
                let u: f64 = rng.random();
                let mut acc = 0.0;
                let k = pi
                    .iter()
                    .position(|p| {
                        acc += p;
                        u < acc
                    })
                    .unwrap_or(self.dim - 1);
                others[r * self.dim + k] = 0.0;
                k as u32
            })
            .collect();
        let k = Tensor::from_vec(ks, (b, 1), z.device())?;
        let others = Tensor::from_vec(others, (b, self.dim), z.device())?.to_dtype(z.dtype())?;
        let eps = self.noise.normal(z, 0, self.dim)?;
        let scale = self.log_scale.exp()?.broadcast_as(eps.shape())?;
        let d = ((eps.abs()? * scale)? * others)?;
        let x = z.broadcast_sub(&d)?;
        Ok((x, self.contribution(&d, &k)?.neg()?))
    }
    fn spec(&self) -> TransformSpec {
        TransformSpec::Max {
            dim: self.dim,
            seed: self.noise.seed(),
        }
    }
}
