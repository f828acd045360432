//! Planar flow layer (Rezende & Mohamed 2015), sampling direction explicit.
//!
//! Sampling (`inverse`, latent → data): `x = z + û·tanh(wᵀz + b)`,
//! `log|det ∂x/∂z| = log(1 + wᵀû·tanh'(wᵀz + b))`.
//!
//! Invertibility is built in: the raw parameter `u` is replaced by
//! `û = u + (m(wᵀu) − wᵀu)·w/‖w‖²` with `m(s) = −1 + ε + softplus(s)` (ε =
//! [`CONSTRAINT_MARGIN`](super::CONSTRAINT_MARGIN)), so `wᵀû = m(wᵀu) > −1` for every
//! raw `u`, `w`, and the Jacobian determinant `1 + wᵀû·tanh' ≥ min(1, ε)` is positive.
//!
//! Density (`forward`, data → latent): with `a = wᵀz + b`, `wᵀx + b = a + wᵀû·tanh(a)`,
//! an increasing equation in `a` whose root lies in `[c − |wᵀû|, c + |wᵀû|]`,
//! `c = wᵀx + b`. It is solved per event by [`solve_increasing`](super::root); then
//! `z = x − û·tanh(a)`. See the [module docs](super) for how gradients flow.

use super::root::{solve_increasing, RootOptions};
use super::{from_host, host, positive};
use crate::checks::expect_context;
use crate::error::Result;
use crate::params::{Init, Params};
use crate::transforms::{Transform, TransformSpec};
use candle_core::Tensor;

/// `x = z + û·tanh(wᵀz + b)` with the constraint `wᵀû > −1` built in.
///
/// ```
/// use candle_core::{DType, Device, Tensor};
/// use flowinfer::params::Params;
/// use flowinfer::transforms::{classic::Planar, Transform};
/// let params = Params::new(DType::F64, &Device::Cpu, 0);
/// let layer = Planar::new(&params, 3)?;
/// let z = Tensor::new(&[[0.5f64, -1.0, 2.0], [0.0, 0.0, 0.0]], &Device::Cpu)?;
/// let (x, ld_sample) = layer.inverse(&z, None)?; // explicit
/// let (z_back, ld_density) = layer.forward(&x, None)?; // root finding
/// let err = (z_back - &z)?.abs()?.max_all()?.to_scalar::<f64>()?;
/// assert!(err < 1e-12);
/// let sum = (ld_sample + ld_density)?.abs()?.max_all()?.to_scalar::<f64>()?;
/// assert!(sum < 1e-12);
/// # Ok::<(), flowinfer::Error>(())
/// ```
#[derive(Debug)]
pub struct Planar {
    dim: usize,
    u: Tensor,
    w: Tensor,
    b: Tensor,
    root: RootOptions,
}

/// The constrained parameters of one evaluation.
struct Constrained {
    /// `û`, shape `(1, dim)`.
    u_hat: Tensor,
    /// `w` as a column, `(dim, 1)`.
    w_col: Tensor,
    /// `wᵀû = m(wᵀu)`, a scalar tensor.
    wu_hat: Tensor,
}

impl Planar {
    /// A layer over `dim` features with parameters `u`, `w` (uniform on ±1/√dim) and
    /// `b` (zero) in `params`.
    pub fn new(params: &Params, dim: usize) -> Result<Self> {
        let bound = 1.0 / (dim.max(1) as f64).sqrt();
        Ok(Self {
            dim,
            u: params.get("u", dim, Init::Uniform(bound))?,
            w: params.get("w", dim, Init::Uniform(bound))?,
            b: params.get("b", 1, Init::Zeros)?,
            root: RootOptions::default(),
        })
    }

    /// The same layer with other root-finding limits for the density direction.
    pub fn with_root_options(mut self, root: RootOptions) -> Self {
        self.root = root;
        self
    }

    fn constrained(&self) -> Result<Constrained> {
        let wu = self.w.mul(&self.u)?.sum_all()?;
        let wu_hat = (positive(&wu)? - 1.0)?;
        // ‖w‖² floored so that w = 0 gives û = u (the layer is then a shift).
        let ww = self.w.sqr()?.sum_all()?.maximum(1e-30)?;
        let coef = (&wu_hat - &wu)?.div(&ww)?;
        let u_hat = (&self.u + self.w.broadcast_mul(&coef)?)?.unsqueeze(0)?;
        Ok(Constrained {
            u_hat,
            w_col: self.w.unsqueeze(1)?,
            wu_hat,
        })
    }

    /// `log(1 + wᵀû·tanh'(a))` for `t = tanh(a)` of shape `(batch, 1)`, as `(batch,)`.
    fn log_slope(wu_hat: &Tensor, t: &Tensor) -> Result<Tensor> {
        let dh = (1.0 - t.sqr()?)?;
        Ok((dh.broadcast_mul(wu_hat)? + 1.0)?.log()?.squeeze(1)?)
    }
}

impl Transform for Planar {
    fn dim(&self) -> usize {
        self.dim
    }

    fn forward(&self, x: &Tensor, ctx: Option<&Tensor>) -> Result<(Tensor, Tensor)> {
        let batch = x.dim(0)?;
        expect_context(ctx, 0, batch, "planar layer")?;
        let p = self.constrained()?;
        let c = x.matmul(&p.w_col)?.broadcast_add(&self.b)?;
        let (c_h, s) = (host(&c)?, host(&p.wu_hat)?[0]);
        let lo: Vec<f64> = c_h.iter().map(|c| c - s.abs()).collect();
        let hi: Vec<f64> = c_h.iter().map(|c| c + s.abs()).collect();
        let g = |e: usize, a: f64| {
            let t = a.tanh();
            (a + s * t - c_h[e], 1.0 + s * (1.0 - t * t))
        };
        let a0 = solve_increasing("planar layer", &lo, &hi, g, &self.root)?;
        // One Newton step as a tensor expression: same value, implicit gradients.
        let slope: Vec<f64> = a0
            .iter()
            .map(|a| 1.0 + s * (1.0 - a.tanh().powi(2)))
            .collect();
        let slope = from_host(slope, batch, 1, x)?;
        let a0 = from_host(a0, batch, 1, x)?;
        let residual = (&a0 + a0.tanh()?.broadcast_mul(&p.wu_hat)?)?.sub(&c)?;
        let a = (&a0 - residual.div(&slope)?)?;
        let t = a.tanh()?;
        let z = (x - t.broadcast_mul(&p.u_hat)?)?;
        Ok((z, Self::log_slope(&p.wu_hat, &t)?.neg()?))
    }

    fn inverse(&self, z: &Tensor, ctx: Option<&Tensor>) -> Result<(Tensor, Tensor)> {
        expect_context(ctx, 0, z.dim(0)?, "planar layer")?;
        let p = self.constrained()?;
        let t = z.matmul(&p.w_col)?.broadcast_add(&self.b)?.tanh()?;
        let x = (z + t.broadcast_mul(&p.u_hat)?)?;
        Ok((x, Self::log_slope(&p.wu_hat, &t)?))
    }

    fn spec(&self) -> TransformSpec {
        TransformSpec::Planar { dim: self.dim }
    }
}
