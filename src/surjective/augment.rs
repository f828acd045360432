//! Augment: add dimensions drawn from a Gaussian on the way in (a generative
//! surjection). The contribution `−log q(a | x)` is a one-sample estimate of a lower
//! bound: `E_q[log p(x, a) − log q(a | x)] ≤ log p(x)`.

use crate::error::{Error, Result};
use crate::params::Params;
use crate::surjective::noise::Noise;
use crate::surjective::{expect_width, CondGaussian, GaussianSpec};
use crate::transforms::{Contribution, Transform, TransformSpec};
use candle_core::Tensor;

/// `forward`: `a ~ q(· | x)`, `z = (x, a)`, contribution `−log q(a | x)` (a bound).
/// `inverse`: `z = (x, a) ↦ x`, returning `log q(a | x)` (minus the forward
/// contribution at that pair).
///
/// ```
/// use flowinfer::surjective::{Augment, GaussianSpec};
/// use flowinfer::transforms::{Contribution, Transform};
/// use flowinfer::params::Params;
/// use candle_core::{DType, Device, Tensor};
/// let p = Params::new(DType::F64, &Device::Cpu, 0);
/// let a = Augment::new(&p, 2, 1, GaussianSpec::StandardNormal, 3, 0)?;
/// let x = Tensor::new(&[[1.0f64, 2.0]], &Device::Cpu)?;
/// let (z, _) = a.forward(&x, None)?;
/// assert_eq!(z.dims(), &[1, 3]);
/// let (back, _) = a.inverse(&z, None)?;
/// assert_eq!(back.to_vec2::<f64>()?, x.to_vec2::<f64>()?);
/// assert_eq!(a.likelihood(), Contribution::Bound);
/// # Ok::<(), flowinfer::Error>(())
/// ```
#[derive(Debug)]
pub struct Augment {
    dim: usize,
    extra: usize,
    model: CondGaussian,
    noise: Noise,
}

impl Augment {
    /// Add `extra` dimensions to `dim`; `model` describes `q(a | x)`; `seed` drives the
    /// draws.
    pub fn new(
        params: &Params,
        dim: usize,
        extra: usize,
        model: GaussianSpec,
        seed: u64,
        context_dim: usize,
    ) -> Result<Self> {
        if dim == 0 || extra == 0 {
            return Err(Error::config(format!(
                "augment layer: needs at least one input and one added dimension \
                 (got dim {dim}, extra {extra})"
            )));
        }
        let model = CondGaussian::new(&params.pp("aug"), model, extra, dim, context_dim)?;
        Ok(Self {
            dim,
            extra,
            model,
            noise: Noise::new(seed),
        })
    }
}

impl Transform for Augment {
    fn dim(&self) -> usize {
        self.dim
    }
    fn output_dim(&self) -> usize {
        self.dim + self.extra
    }
    fn context_dim(&self) -> usize {
        self.model.context_dim()
    }
    fn likelihood(&self) -> Contribution {
        Contribution::Bound
    }
    fn forward(&self, x: &Tensor, ctx: Option<&Tensor>) -> Result<(Tensor, Tensor)> {
        let b = expect_width(x, self.dim, "augment layer input")?;
        crate::checks::expect_context(ctx, self.context_dim(), b, "augment layer")?;
        let eps = self.noise.normal(x, 0, self.extra)?;
        let (a, lq) = self.model.sample(&eps, x, ctx)?;
        Ok((Tensor::cat(&[x, &a], 1)?, lq.neg()?))
    }
    fn inverse(&self, z: &Tensor, ctx: Option<&Tensor>) -> Result<(Tensor, Tensor)> {
        let b = expect_width(z, self.dim + self.extra, "augment layer inverse input")?;
        crate::checks::expect_context(ctx, self.context_dim(), b, "augment layer")?;
        let x = z.narrow(1, 0, self.dim)?;
        let a = z.narrow(1, self.dim, self.extra)?;
        let lq = self.model.log_prob(&a, &x, ctx)?;
        // contiguous: the layer before may index its columns (a permutation does)
        Ok((x.contiguous()?, lq))
    }
    fn spec(&self) -> TransformSpec {
        TransformSpec::Augment {
            dim: self.dim,
            extra: self.extra,
            model: self.model.spec(),
            seed: self.noise.seed(),
        }
    }
}
