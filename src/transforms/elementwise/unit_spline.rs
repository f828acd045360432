//! Monotonic rational-quadratic spline on the unit interval `[0, 1]` with free
//! derivatives at every knot, the end knots included (the i-flow spline, Gao et al.
//! 2020; Durkan et al. 2019). It maps `[0, 1]` onto itself, so coupling layers built
//! from it keep a flow on the unit hypercube, and unlike the `[−B, B]` spline with
//! identity tails ([`super::RationalQuadraticSpline`], end derivatives fixed at 1) the
//! density can vanish or peak at the boundary.
//!
//! Parameters per feature (`3K + 1`): `K` unnormalised widths, `K` heights, `K + 1`
//! knot derivatives. Widths and heights go through a softmax with a floor
//! (`min + (1 − K·min)·softmax`), knots are their cumulative sums with the end knots
//! exactly 0 and 1; derivatives are `min_derivative + softplus(raw)`. With all raw
//! parameters 0 except the derivatives at `softplus⁻¹(1 − min_derivative)`, the spline
//! is the identity. Inputs outside `[0, 1]` (rounding) pass unchanged with log-det 0.
//!
//! On the CPU a fused kernel (`unit_spline_kernel.rs`) computes values, log-dets and
//! gradients in one pass per element; the composite tensor-op path below is the
//! reference and runs on other devices.

use super::unit_spline_kernel::{UnitShape, UnitSplineOp};
use super::{ElementwiseMap, ElementwiseSpec};
use crate::error::{Error, Result};
use candle_core::{DType, Tensor, D};

/// Rational-quadratic spline on `[0, 1]` with free boundary derivatives (module docs).
#[derive(Debug, Clone)]
pub struct UnitIntervalSpline {
    bins: usize,
    min_w: f64,
    min_h: f64,
    min_d: f64,
    fused: bool,
}

/// The quantities of the bin each input falls in.
struct Bin {
    x_left: Tensor,
    width: Tensor,
    y_left: Tensor,
    height: Tensor,
    d_left: Tensor,
    d_right: Tensor,
}

impl UnitIntervalSpline {
    /// A spline with `bins` (2..=64) bins, minimum bin width and height (`> 0`, below
    /// `1/bins`) and minimum derivative (`> 0`).
    pub fn new(bins: usize, min_w: f64, min_h: f64, min_d: f64) -> Result<Self> {
        if !(2..=64).contains(&bins) {
            return Err(Error::config(format!(
                "unit-interval spline needs 2 to 64 bins, got {bins}"
            )));
        }
        let ok = |m: f64| m.is_finite() && m > 0.0 && m * (bins as f64) < 1.0;
        if !ok(min_w) || !ok(min_h) {
            return Err(Error::config(format!(
                "unit-interval spline minimum bin width/height must be > 0 and below 1/bins = {}",
                1.0 / bins as f64
            )));
        }
        if !(min_d.is_finite() && min_d > 0.0 && min_d < 1.0) {
            return Err(Error::config(format!(
                "unit-interval spline min_derivative must lie in (0, 1), got {min_d}"
            )));
        }
        Ok(Self {
            bins,
            min_w,
            min_h,
            min_d,
            fused: true,
        })
    }

    /// Use the fused CPU kernel (default) or the composite tensor-op implementation
    /// (always used on non-CPU devices; selectable for cross-checks).
    pub fn with_fused(mut self, fused: bool) -> Self {
        self.fused = fused;
        self
    }

    /// The raw derivative parameter that makes a knot derivative exactly 1
    /// (`softplus⁻¹(1 − min_derivative)`): the identity initialisation.
    pub fn identity_derivative_param(min_derivative: f64) -> f64 {
        (1.0 - min_derivative).exp_m1().ln()
    }

    fn kernel(&self, v: &Tensor, inverse: bool) -> Option<UnitSplineOp> {
        let ok = self.fused && v.device().is_cpu() && matches!(v.dtype(), DType::F32 | DType::F64);
        ok.then_some(UnitSplineOp {
            shape: UnitShape {
                bins: self.bins,
                min_w: self.min_w,
                min_h: self.min_h,
                min_d: self.min_d,
            },
            inverse,
        })
    }

    /// Apply the fused kernel: `(values (n, d), params (n, d, P))` → `(out, Σ log-det)`.
    fn run_kernel(op: UnitSplineOp, v: &Tensor, params: &Tensor) -> Result<(Tensor, Tensor)> {
        let (n, d) = v.dims2()?;
        let np = params.dim(D::Minus1)?;
        let flat = v.contiguous()?.reshape(n * d)?;
        let p = params.contiguous()?.reshape((n * d, np))?;
        let out = flat.apply_op2(&p, op)?;
        let y = out.narrow(1, 0, 1)?.reshape((n, d))?;
        let ld = out.narrow(1, 1, 1)?.reshape((n, d))?.sum(1)?;
        Ok((y, ld))
    }

    /// Knot positions `(batch, d, K+1)` on `[0, 1]` from unnormalised sizes `(batch, d, K)`.
    fn knots(&self, raw: &Tensor, min: f64) -> Result<Tensor> {
        let k = self.bins;
        let m = raw.max_keepdim(D::Minus1)?.detach();
        let e = raw.broadcast_sub(&m)?.exp()?;
        let soft = e.broadcast_div(&e.sum_keepdim(D::Minus1)?)?;
        let sizes = soft.affine(1.0 - min * k as f64, min)?;
        let inner = sizes.cumsum(D::Minus1)?.narrow(D::Minus1, 0, k - 1)?;
        let (n, d, _) = raw.dims3()?;
        let lo = Tensor::zeros((n, d, 1), raw.dtype(), raw.device())?;
        let hi = Tensor::ones((n, d, 1), raw.dtype(), raw.device())?;
        Ok(Tensor::cat(&[&lo, &inner, &hi], D::Minus1)?)
    }

    /// Locate `v` (clamped, `(batch, d)`) among the knots of the axis it lives on and
    /// gather that bin's quantities.
    fn bin(&self, v: &Tensor, params: &Tensor, by_output: bool) -> Result<Bin> {
        let k = self.bins;
        let xk = self.knots(&params.narrow(D::Minus1, 0, k)?, self.min_w)?;
        let yk = self.knots(&params.narrow(D::Minus1, k, k)?, self.min_h)?;
        let dk = super::spline::softplus(&params.narrow(D::Minus1, 2 * k, k + 1)?)?
            .affine(1.0, self.min_d)?;
        let search = if by_output { &yk } else { &xk };
        let interior = search.narrow(D::Minus1, 1, k - 1)?;
        let idx = v
            .unsqueeze(D::Minus1)?
            .broadcast_ge(&interior)?
            .to_dtype(DType::U32)?
            .sum_keepdim(D::Minus1)?
            .contiguous()?;
        let idx1 = (&idx + idx.ones_like()?)?;
        let g = |t: &Tensor, i: &Tensor| -> Result<Tensor> {
            Ok(t.contiguous()?.gather(i, D::Minus1)?.squeeze(D::Minus1)?)
        };
        let x_left = g(&xk, &idx)?;
        let y_left = g(&yk, &idx)?;
        Ok(Bin {
            width: (g(&xk, &idx1)? - &x_left)?,
            height: (g(&yk, &idx1)? - &y_left)?,
            x_left,
            y_left,
            d_left: g(&dk, &idx)?,
            d_right: g(&dk, &idx1)?,
        })
    }

    fn inside(v: &Tensor) -> Result<(Tensor, Tensor)> {
        let inside = v.ge(0.0)?.mul(&v.le(1.0)?)?;
        Ok((inside, v.clamp(0.0, 1.0)?))
    }

    /// log of dy/dx at position θ in a bin (shared by both directions).
    fn log_derivative(bin: &Bin, theta: &Tensor, delta: &Tensor, denom: &Tensor) -> Result<Tensor> {
        let one_m = theta.affine(-1.0, 1.0)?;
        let num = (bin.d_right.mul(&theta.sqr()?)?
            + (delta.mul(theta)?.mul(&one_m)? * 2.0)?
            + bin.d_left.mul(&one_m.sqr()?)?)?
        .mul(&delta.sqr()?)?;
        Ok((num.log()? - (denom.log()? * 2.0)?)?)
    }
}

impl ElementwiseMap for UnitIntervalSpline {
    fn params_per_dim(&self) -> usize {
        3 * self.bins + 1
    }

    fn forward(&self, x: &Tensor, params: &Tensor) -> Result<(Tensor, Tensor)> {
        if let Some(op) = self.kernel(x, false) {
            return Self::run_kernel(op, x, params);
        }
        let (inside, xc) = Self::inside(x)?;
        let bin = self.bin(&xc, params, false)?;
        let theta = xc.sub(&bin.x_left)?.div(&bin.width)?;
        let delta = bin.height.div(&bin.width)?;
        let t1m = theta.mul(&theta.affine(-1.0, 1.0)?)?;
        let slope_sum = ((&bin.d_left + &bin.d_right)? - (&delta * 2.0)?)?;
        let denom = (&delta + slope_sum.mul(&t1m)?)?;
        let numer = bin
            .height
            .mul(&(delta.mul(&theta.sqr()?)? + bin.d_left.mul(&t1m)?)?)?;
        let y_in = (&bin.y_left + numer.div(&denom)?)?;
        let ld_in = Self::log_derivative(&bin, &theta, &delta, &denom)?;
        let y = inside.where_cond(&y_in, x)?;
        let ld = inside.where_cond(&ld_in, &ld_in.zeros_like()?)?;
        Ok((y, ld.sum(1)?))
    }

    fn inverse(&self, y: &Tensor, params: &Tensor) -> Result<(Tensor, Tensor)> {
        if let Some(op) = self.kernel(y, true) {
            return Self::run_kernel(op, y, params);
        }
        let (inside, yc) = Self::inside(y)?;
        let bin = self.bin(&yc, params, true)?;
        let delta = bin.height.div(&bin.width)?;
        let slope_sum = ((&bin.d_left + &bin.d_right)? - (&delta * 2.0)?)?;
        let dy = yc.sub(&bin.y_left)?;
        let a = (bin.height.mul(&(&delta - &bin.d_left)?)? + dy.mul(&slope_sum)?)?;
        let b = (bin.height.mul(&bin.d_left)? - dy.mul(&slope_sum)?)?;
        let c = delta.mul(&dy)?.neg()?;
        let disc = (b.sqr()? - (a.mul(&c)? * 4.0)?)?.relu()?;
        let theta = ((&c * 2.0)? / (b.neg()? - disc.sqrt()?)?)?.clamp(0.0, 1.0)?;
        let x_in = (theta.mul(&bin.width)? + &bin.x_left)?;
        let t1m = theta.mul(&theta.affine(-1.0, 1.0)?)?;
        let denom = (&delta + slope_sum.mul(&t1m)?)?;
        let ld_in = Self::log_derivative(&bin, &theta, &delta, &denom)?.neg()?;
        let x = inside.where_cond(&x_in, y)?;
        let ld = inside.where_cond(&ld_in, &ld_in.zeros_like()?)?;
        Ok((x, ld.sum(1)?))
    }

    fn spec(&self) -> ElementwiseSpec {
        ElementwiseSpec::UnitRationalQuadratic {
            bins: self.bins,
            min_bin_width: self.min_w,
            min_bin_height: self.min_h,
            min_derivative: self.min_d,
        }
    }
}
