//! Composite tensor-op implementation of both rational-quadratic splines (notation and
//! frames in `rq_core.rs`): the reference for the fused kernel and the path on
//! non-CPU devices. Widths and heights go through a softmax with a floor
//! (`min + (1 − K·min)·softmax`), knots are their cumulative sums mapped onto the
//! interval with the end knots exact; derivatives are `min_derivative + softplus(raw)`
//! (the `[−B, B]` spline's end derivatives are exactly 1). The spline is evaluated at
//! the input clamped to the interval, so far-away inputs never produce NaN gradients;
//! outside it the map is the identity with log-det 0.

use super::rq_core::{Frame, RqShape};
use crate::error::Result;
use candle_core::{DType, Tensor, D};

/// The quantities of the bin each input falls in.
struct Bin {
    x_left: Tensor,
    width: Tensor,
    y_left: Tensor,
    height: Tensor,
    d_left: Tensor,
    d_right: Tensor,
}

/// Map `v (batch, d)` with `params (batch, d, P)` forward or inverse:
/// `(out, log-det summed over features)`.
pub(crate) fn apply<Fr: Frame>(
    sh: &RqShape<Fr>,
    v: &Tensor,
    params: &Tensor,
    inverse: bool,
) -> Result<(Tensor, Tensor)> {
    let (lo, hi) = (sh.frame.lo(), sh.frame.hi());
    let inside = v.ge(lo)?.mul(&v.le(hi)?)?;
    let vc = v.clamp(lo, hi)?;
    let bin = locate(sh, &vc, params, inverse)?;
    let slope_sum = |delta: &Tensor| -> Result<Tensor> {
        Ok(((&bin.d_left + &bin.d_right)? - (delta * 2.0)?)?)
    };
    let (out, ld) = if inverse {
        let delta = bin.height.div(&bin.width)?;
        let slope_sum = slope_sum(&delta)?;
        let dy = vc.sub(&bin.y_left)?;
        let a = (bin.height.mul(&(&delta - &bin.d_left)?)? + dy.mul(&slope_sum)?)?;
        let b = (bin.height.mul(&bin.d_left)? - dy.mul(&slope_sum)?)?;
        let c = delta.mul(&dy)?.neg()?;
        let disc = (b.sqr()? - (a.mul(&c)? * 4.0)?)?.relu()?;
        let mut theta = ((&c * 2.0)? / (b.neg()? - disc.sqrt()?)?)?;
        if Fr::CLAMP_THETA {
            theta = theta.clamp(0.0, 1.0)?;
        }
        let x = (theta.mul(&bin.width)? + &bin.x_left)?;
        let t1m = theta.mul(&theta.affine(-1.0, 1.0)?)?;
        let denom = (&delta + slope_sum.mul(&t1m)?)?;
        (x, log_derivative(&bin, &theta, &delta, &denom)?.neg()?)
    } else {
        let theta = vc.sub(&bin.x_left)?.div(&bin.width)?;
        let delta = bin.height.div(&bin.width)?;
        let t1m = theta.mul(&theta.affine(-1.0, 1.0)?)?;
        let slope_sum = slope_sum(&delta)?;
        let denom = (&delta + slope_sum.mul(&t1m)?)?;
        let numer = bin
            .height
            .mul(&(delta.mul(&theta.sqr()?)? + bin.d_left.mul(&t1m)?)?)?;
        let y = (&bin.y_left + numer.div(&denom)?)?;
        (y, log_derivative(&bin, &theta, &delta, &denom)?)
    };
    let out = inside.where_cond(&out, v)?;
    let ld = inside.where_cond(&ld, &ld.zeros_like()?)?;
    Ok((out, ld.sum(1)?))
}

/// Knot positions `(batch, d, K+1)` from unnormalised sizes `(batch, d, K)`.
fn knots<Fr: Frame>(sh: &RqShape<Fr>, raw: &Tensor, min: f64) -> Result<Tensor> {
    let k = sh.bins;
    let sizes = softmax_last(raw)?.affine(1.0 - min * k as f64, min)?;
    let mut inner = sizes.cumsum(D::Minus1)?.narrow(D::Minus1, 0, k - 1)?;
    if let Some((m, a)) = sh.frame.knot_map() {
        inner = inner.affine(m, a)?;
    }
    let (n, d, _) = raw.dims3()?;
    let end = |v: f64| Tensor::full(v, (n, d, 1), raw.device())?.to_dtype(raw.dtype());
    let (lo, hi) = (end(sh.frame.lo())?, end(sh.frame.hi())?);
    Ok(Tensor::cat(&[&lo, &inner, &hi], D::Minus1)?)
}

/// Derivatives at all K+1 knots (fixed ends exactly 1).
fn derivatives<Fr: Frame>(sh: &RqShape<Fr>, raw: &Tensor) -> Result<Tensor> {
    let free = softplus(raw)?.affine(1.0, sh.min_d)?;
    if Fr::FREE_ENDS {
        return Ok(free);
    }
    let (n, d, _) = raw.dims3()?;
    let one = Tensor::ones((n, d, 1), raw.dtype(), raw.device())?;
    Ok(Tensor::cat(&[&one, &free, &one], D::Minus1)?)
}

/// Locate `v` (clamped, `(batch, d)`) among the knots of the axis it lives on (the
/// outputs' when `by_output`) and gather that bin's quantities.
fn locate<Fr: Frame>(
    sh: &RqShape<Fr>,
    v: &Tensor,
    params: &Tensor,
    by_output: bool,
) -> Result<Bin> {
    let k = sh.bins;
    let xk = knots(sh, &params.narrow(D::Minus1, 0, k)?, sh.min_w)?;
    let yk = knots(sh, &params.narrow(D::Minus1, k, k)?, sh.min_h)?;
    let dk = derivatives(sh, &params.narrow(D::Minus1, 2 * k, sh.derivs())?)?;
    let search = if by_output { &yk } else { &xk };
    // Bin index = number of interior knots ≤ v (0..K-1).
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

/// log of dy/dx at position θ in a bin (shared by both directions).
fn log_derivative(bin: &Bin, theta: &Tensor, delta: &Tensor, denom: &Tensor) -> Result<Tensor> {
    let one_m = theta.affine(-1.0, 1.0)?;
    let num = (bin.d_right.mul(&theta.sqr()?)?
        + (delta.mul(theta)?.mul(&one_m)? * 2.0)?
        + bin.d_left.mul(&one_m.sqr()?)?)?
    .mul(&delta.sqr()?)?;
    Ok((num.log()? - (denom.log()? * 2.0)?)?)
}

/// Softmax over the last axis with the max subtracted (treated as a constant).
fn softmax_last(t: &Tensor) -> Result<Tensor> {
    let m = t.max_keepdim(D::Minus1)?.detach();
    let e = t.broadcast_sub(&m)?.exp()?;
    Ok(e.broadcast_div(&e.sum_keepdim(D::Minus1)?)?)
}

/// Numerically stable softplus: `max(x, 0) + log(1 + exp(-|x|))`.
pub(crate) fn softplus(t: &Tensor) -> Result<Tensor> {
    Ok((t.relu()? + (t.abs()?.neg()?.exp()? + 1.0)?.log()?)?)
}
