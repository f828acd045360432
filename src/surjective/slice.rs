//! Slice: keep the first dimensions, drop the rest (an inference surjection). The
//! dropped dimensions are modelled by a Gaussian given the kept ones, so the
//! contribution `log p(dropped | kept)` is exact.

use crate::error::{Error, Result};
use crate::params::Params;
use crate::surjective::noise::Noise;
use crate::surjective::{expect_width, CondGaussian, GaussianSpec};
use crate::transforms::{Transform, TransformSpec};
use candle_core::Tensor;

/// `forward`: `x = (x_keep, x_drop) ↦ x_keep`, contribution `log p(x_drop | x_keep)`
/// (exact). `inverse`: `x_drop ~ p(· | z)`, `x = (z, x_drop)`, returning
/// `−log p(x_drop | z)`.
///
/// ```
/// use flowinfer::surjective::{GaussianSpec, Slice};
/// use flowinfer::transforms::{Contribution, Transform};
/// use flowinfer::params::Params;
/// use candle_core::{DType, Device, Tensor};
/// let p = Params::new(DType::F64, &Device::Cpu, 0);
/// let s = Slice::new(&p, 3, 2, GaussianSpec::StandardNormal, 1, 0)?;
/// let x = Tensor::new(&[[1.0f64, 2.0, 0.0]], &Device::Cpu)?;
/// let (z, lp) = s.forward(&x, None)?;
/// assert_eq!(z.to_vec2::<f64>()?, vec![vec![1.0, 2.0]]);
/// let expected = -0.5 * (2.0 * std::f64::consts::PI).ln(); // log N(0 | 0, 1)
/// assert!((lp.to_vec1::<f64>()?[0] - expected).abs() < 1e-12);
/// assert_eq!(s.likelihood(), Contribution::Exact);
/// # Ok::<(), flowinfer::Error>(())
/// ```
#[derive(Debug)]
pub struct Slice {
    dim: usize,
    keep: usize,
    model: CondGaussian,
    noise: Noise,
}

impl Slice {
    /// Keep the first `keep` of `dim` dimensions; `model` describes `p(dropped | kept)`;
    /// `seed` drives the sampling direction; `context_dim` is the flow's (embedded) context
    /// width, taken by a conditional `model` (0 = unconditional).
    pub fn new(
        params: &Params,
        dim: usize,
        keep: usize,
        model: GaussianSpec,
        seed: u64,
        context_dim: usize,
    ) -> Result<Self> {
        if keep == 0 || keep >= dim {
            return Err(Error::config(format!(
                "slice layer: keep must be in 1..{dim} (it drops at least one of {dim} \
                 dimensions and keeps at least one); got {keep}"
            )));
        }
        let model = CondGaussian::new(&params.pp("drop"), model, dim - keep, keep, context_dim)?;
        Ok(Self {
            dim,
            keep,
            model,
            noise: Noise::new(seed),
        })
    }
}

impl Transform for Slice {
    fn dim(&self) -> usize {
        self.dim
    }
    fn output_dim(&self) -> usize {
        self.keep
    }
    fn context_dim(&self) -> usize {
        self.model.context_dim()
    }
    fn stochastic_inverse(&self) -> bool {
        true
    }
    fn forward(&self, x: &Tensor, ctx: Option<&Tensor>) -> Result<(Tensor, Tensor)> {
        let b = expect_width(x, self.dim, "slice layer input")?;
        crate::checks::expect_context(ctx, self.context_dim(), b, "slice layer")?;
        let kept = x.narrow(1, 0, self.keep)?;
        let dropped = x.narrow(1, self.keep, self.dim - self.keep)?;
        let lp = self.model.log_prob(&dropped, &kept, ctx)?;
        // contiguous: the next layer may index its columns (a permutation does)
        Ok((kept.contiguous()?, lp))
    }
    fn inverse(&self, z: &Tensor, ctx: Option<&Tensor>) -> Result<(Tensor, Tensor)> {
        let b = expect_width(z, self.keep, "slice layer inverse input")?;
        crate::checks::expect_context(ctx, self.context_dim(), b, "slice layer")?;
        let eps = self.noise.normal(z, 0, self.dim - self.keep)?;
        let (dropped, lp) = self.model.sample(&eps, z, ctx)?;
        Ok((Tensor::cat(&[z, &dropped], 1)?, lp.neg()?))
    }
    fn spec(&self) -> TransformSpec {
        TransformSpec::Slice {
            dim: self.dim,
            keep: self.keep,
            model: self.model.spec(),
            seed: self.noise.seed(),
        }
    }
}
