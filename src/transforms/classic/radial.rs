//! Radial flow layer (Rezende & Mohamed 2015), sampling direction explicit.
//!
//! Sampling (`inverse`, latent → data): with `r = ‖z − z₀‖` and `h = 1/(α + r)`,
//! `x = z + β·h·(z − z₀)` and
//! `log|det ∂x/∂z| = (d − 1)·log(1 + βh) + log(1 + βαh²)`.
//!
//! Invertibility is built in: `α = ε + softplus(α_raw)` and
//! `β = −α + ε + softplus(β_raw)` (ε = [`CONSTRAINT_MARGIN`](super::CONSTRAINT_MARGIN)),
//! so `β > −α` for every raw value and both factors of the determinant are positive.
//!
//! Density (`forward`, data → latent): the map moves points along rays from `z₀`, so
//! with `ρ = ‖x − z₀‖` the radius solves `r + βr/(α + r) = ρ`, i.e. the quadratic
//! `r² + (α + β − ρ)·r − αρ = 0`, whose positive root is taken in closed form (the
//! cancellation-free form of each sign of `α + β − ρ`); then
//! `z = z₀ + (x − z₀)/(1 + βh(r))`. Unlike planar and Sylvester layers no iterative
//! root finding is needed, and both directions are plain tensor expressions with exact
//! gradients.

use super::{from_host, positive};
use crate::checks::expect_context;
use crate::error::Result;
use crate::params::{Init, Params};
use crate::transforms::{Transform, TransformSpec};
use candle_core::Tensor;

/// Floor on `‖z − z₀‖²` so the radius has a finite gradient at the centre.
const TINY_SQUARED_RADIUS: f64 = 1e-30;

/// `x = z + β(z − z₀)/(α + ‖z − z₀‖)` with `α > 0`, `β > −α` built in.
///
/// ```
/// use candle_core::{DType, Device, Tensor};
/// use flowinfer::params::Params;
/// use flowinfer::transforms::{classic::Radial, Transform};
/// let params = Params::new(DType::F64, &Device::Cpu, 0);
/// let layer = Radial::new(&params, 2)?;
/// let z = Tensor::new(&[[0.5f64, -1.0], [3.0, 0.1]], &Device::Cpu)?;
/// let (x, _) = layer.inverse(&z, None)?;
/// let (z_back, _) = layer.forward(&x, None)?;
/// let err = (z_back - &z)?.abs()?.max_all()?.to_scalar::<f64>()?;
/// assert!(err < 1e-12);
/// # Ok::<(), flowinfer::Error>(())
/// ```
#[derive(Debug)]
pub struct Radial {
    dim: usize,
    center: Tensor,
    alpha_raw: Tensor,
    beta_raw: Tensor,
}

impl Radial {
    /// A layer over `dim` features with parameters `z0`, `alpha`, `beta` (raw, uniform
    /// on ±1/√dim) in `params`.
    pub fn new(params: &Params, dim: usize) -> Result<Self> {
        let bound = 1.0 / (dim.max(1) as f64).sqrt();
        Ok(Self {
            dim,
            center: params.get("z0", dim, Init::Uniform(bound))?,
            alpha_raw: params.get("alpha", 1, Init::Uniform(bound))?,
            beta_raw: params.get("beta", 1, Init::Uniform(bound))?,
        })
    }

    /// `(α, β)`, each of shape `(1,)`.
    fn alpha_beta(&self) -> Result<(Tensor, Tensor)> {
        let alpha = positive(&self.alpha_raw)?;
        let beta = (positive(&self.beta_raw)? - &alpha)?;
        Ok((alpha, beta))
    }

    /// `‖y‖` per row, `(batch, 1)`, floored at `√TINY_SQUARED_RADIUS`.
    fn radius(y: &Tensor) -> Result<Tensor> {
        Ok(y.sqr()?
            .sum_keepdim(1)?
            .maximum(TINY_SQUARED_RADIUS)?
            .sqrt()?)
    }

    /// `(1 + βh, log|det ∂x/∂z|)` at radius `r` (latent side), shapes `(batch, 1)` and
    /// `(batch,)`.
    fn scale_and_logdet(
        &self,
        r: &Tensor,
        alpha: &Tensor,
        beta: &Tensor,
    ) -> Result<(Tensor, Tensor)> {
        let h = r.broadcast_add(alpha)?.recip()?;
        let scale = (h.broadcast_mul(beta)? + 1.0)?;
        let second = (h.sqr()?.broadcast_mul(&alpha.mul(beta)?)? + 1.0)?.log()?;
        let ld = ((scale.log()? * (self.dim as f64 - 1.0))? + second)?.squeeze(1)?;
        Ok((scale, ld))
    }
}

impl Transform for Radial {
    fn dim(&self) -> usize {
        self.dim
    }

    fn forward(&self, x: &Tensor, ctx: Option<&Tensor>) -> Result<(Tensor, Tensor)> {
        expect_context(ctx, 0, x.dim(0)?, "radial layer")?;
        let (alpha, beta) = self.alpha_beta()?;
        let y = x.broadcast_sub(&self.center)?;
        let rho = Self::radius(&y)?;
        // r² + q·r − αρ = 0 with q = α + β − ρ; positive root without cancellation.
        let q = rho.neg()?.broadcast_add(&(&alpha + &beta)?)?;
        let four_alpha_rho = rho.broadcast_mul(&(&alpha * 4.0)?)?;
        let disc = (q.sqr()? + &four_alpha_rho)?.sqrt()?;
        let q_abs = q.abs()?;
        let when_positive = ((&four_alpha_rho * 0.5)? / (&q_abs + &disc)?)?;
        let when_negative = ((&disc + &q_abs)? * 0.5)?;
        let zeros = from_host(vec![0.0; q.dim(0)?], q.dim(0)?, 1, &q)?;
        let r = q.gt(&zeros)?.where_cond(&when_positive, &when_negative)?;
        let (scale, ld) = self.scale_and_logdet(&r, &alpha, &beta)?;
        let z = y.broadcast_div(&scale)?.broadcast_add(&self.center)?;
        Ok((z, ld.neg()?))
    }

    fn inverse(&self, z: &Tensor, ctx: Option<&Tensor>) -> Result<(Tensor, Tensor)> {
        expect_context(ctx, 0, z.dim(0)?, "radial layer")?;
        let (alpha, beta) = self.alpha_beta()?;
        let y = z.broadcast_sub(&self.center)?;
        let r = Self::radius(&y)?;
        let (scale, ld) = self.scale_and_logdet(&r, &alpha, &beta)?;
        let x = y.broadcast_mul(&scale)?.broadcast_add(&self.center)?;
        Ok((x, ld))
    }

    fn spec(&self) -> TransformSpec {
        TransformSpec::Radial { dim: self.dim }
    }
}
