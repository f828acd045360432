//! Absolute value (an inference surjection): `z = |x|`, the sign forgotten. The
//! generative direction draws the sign `s ~ π(s)` (fixed ½ or a learned probability
//! per dimension), so `p(x) = p(z) · π(sign x)` and the contribution `log π(sign x)` is
//! exact: the forward is deterministic and `x ↦ (|x|, sign x)` is a bijection off 0.

use crate::error::Result;
use crate::params::{Init, Params};
use crate::surjective::expect_width;
use crate::surjective::noise::Noise;
use crate::transforms::{Transform, TransformSpec};
use candle_core::{DType, Tensor};

/// `forward`: `x ↦ |x|`, contribution `Σ_j log π_j(sign x_j)` (0 counts as positive).
/// `inverse`: `s_j ~ π_j`, `x = s·|z|`, returning `−Σ_j log π_j(s_j)`. With
/// `learned = false` every `π_j(±) = ½`; otherwise `π_j(+) = sigmoid(ℓ_j)` with a
/// trainable logit per dimension (parameter `sign_logit`, initialised at 0).
///
/// ```
/// use flowinfer::surjective::Abs;
/// use flowinfer::transforms::{Contribution, Transform};
/// use flowinfer::params::Params;
/// use candle_core::{DType, Device, Tensor};
/// let p = Params::new(DType::F64, &Device::Cpu, 0);
/// let a = Abs::new(&p, 2, false, 5)?;
/// let x = Tensor::new(&[[-1.5f64, 2.0]], &Device::Cpu)?;
/// let (z, lp) = a.forward(&x, None)?;
/// assert_eq!(z.to_vec2::<f64>()?, vec![vec![1.5, 2.0]]);
/// assert!((lp.to_vec1::<f64>()?[0] - 2.0 * 0.5f64.ln()).abs() < 1e-12);
/// assert_eq!(a.likelihood(), Contribution::Exact);
/// # Ok::<(), flowinfer::Error>(())
/// ```
#[derive(Debug)]
pub struct Abs {
    dim: usize,
    logit: Option<Tensor>,
    noise: Noise,
}

impl Abs {
    /// `dim` features; `learned` makes the sign probabilities trainable; `seed` drives
    /// the sign draws of `inverse`.
    pub fn new(params: &Params, dim: usize, learned: bool, seed: u64) -> Result<Self> {
        if dim == 0 {
            return Err(crate::error::Error::config(
                "absolute-value layer: needs at least one dimension",
            ));
        }
        let logit = if learned {
            Some(params.get("sign_logit", (1, dim), Init::Zeros)?)
        } else {
            None
        };
        Ok(Self {
            dim,
            logit,
            noise: Noise::new(seed),
        })
    }

    /// The probabilities `π_j(+)` of a positive sign, one per dimension.
    pub fn positive_probability(&self) -> Result<Vec<f64>> {
        Ok(match &self.logit {
            None => vec![0.5; self.dim],
            Some(l) => candle_nn::ops::sigmoid(l)?
                .to_dtype(DType::F64)?
                .flatten_all()?
                .to_vec1::<f64>()?,
        })
    }

    /// `Σ_j log π_j(s_j)` for `pos` (1 where positive, 0 where negative), `(batch,)`.
    fn log_sign_prob(&self, pos: &Tensor) -> Result<Tensor> {
        Ok(match &self.logit {
            None => (pos.zeros_like()?.sum(1)? + 0.5f64.ln() * self.dim as f64)?,
            Some(l) => {
                // log sigmoid(±ℓ) = −softplus(∓ℓ)
                let lp = softplus(&l.neg()?)?.neg()?;
                let ln = softplus(l)?.neg()?;
                let neg = (1.0 - pos)?;
                (pos.broadcast_mul(&lp)? + neg.broadcast_mul(&ln)?)?.sum(1)?
            }
        })
    }
}

/// `log(1 + e^x)`, stable for large `|x|`.
pub(crate) fn softplus(x: &Tensor) -> Result<Tensor> {
    Ok((x.relu()? + (x.abs()?.neg()?.exp()? + 1.0)?.log()?)?)
}

impl Transform for Abs {
    fn dim(&self) -> usize {
        self.dim
    }
    fn stochastic_inverse(&self) -> bool {
        true
    }
    fn forward(&self, x: &Tensor, ctx: Option<&Tensor>) -> Result<(Tensor, Tensor)> {
        let b = expect_width(x, self.dim, "absolute-value layer input")?;
        crate::checks::expect_context(ctx, 0, b, "absolute-value layer")?;
        let pos = x.ge(0.0)?.to_dtype(x.dtype())?;
        Ok((x.abs()?, self.log_sign_prob(&pos)?))
    }
    fn inverse(&self, z: &Tensor, ctx: Option<&Tensor>) -> Result<(Tensor, Tensor)> {
        let b = expect_width(z, self.dim, "absolute-value layer inverse input")?;
        crate::checks::expect_context(ctx, 0, b, "absolute-value layer")?;
        let u = self.noise.uniform(z, 0, self.dim)?;
        let p = match &self.logit {
            None => u.ones_like()?.affine(0.5, 0.0)?,
            Some(l) => candle_nn::ops::sigmoid(l)?
                .broadcast_as(u.shape())?
                .contiguous()?,
        };
        let pos = u.lt(&p)?.to_dtype(z.dtype())?;
        let sign = ((&pos * 2.0)? - 1.0)?;
        let x = (z.abs()? * sign)?;
        Ok((x, self.log_sign_prob(&pos)?.neg()?))
    }
    fn spec(&self) -> TransformSpec {
        TransformSpec::Abs {
            dim: self.dim,
            learned: self.logit.is_some(),
            seed: self.noise.seed(),
        }
    }
}
