//! `log Z` of a 2-D target by quadrature: the trapezoid rule on a square grid over a
//! box, summed in log space (f64 on the CPU). For the smooth, fast-decaying built-ins
//! the rule converges spectrally; the box must hold all but a negligible part of the
//! mass (the tests check the density on its edge).

use super::target::LogDensity;
use crate::error::{Error, Result};
use candle_core::{DType, Device, Tensor};

/// Grid points per axis used by the built-ins (`h ≈ 0.01` on a 12-wide box).
pub const GRID: usize = 1201;

/// `log ∫∫ p̃` over `bounds = [x_lo, x_hi, y_lo, y_hi]` with `n × n` trapezoid nodes.
///
/// ```
/// use flowinfer::variational::{quadrature::log_z_2d, FnLogDensity};
/// let t = FnLogDensity::new("normal", 2, |x: &candle_core::Tensor| x.sqr()?.sum(1)? * -0.5);
/// let lz = log_z_2d(&t, [-9.0, 9.0, -9.0, 9.0], 401)?;
/// assert!((lz - (2.0 * std::f64::consts::PI).ln()).abs() < 1e-10);
/// # Ok::<(), flowinfer::Error>(())
/// ```
pub fn log_z_2d(target: &dyn LogDensity, bounds: [f64; 4], n: usize) -> Result<f64> {
    if target.dim() != 2 || target.context_dim() != 0 {
        return Err(Error::config(format!(
            "quadrature needs an unconditional 2-D target; `{}` has dimension {}",
            target.name(),
            target.dim()
        )));
    }
    let [x0, x1, y0, y1] = bounds;
    if n < 3 || !(x1 > x0 && y1 > y0) {
        return Err(Error::config(format!(
            "quadrature needs at least 3 nodes and a non-empty box, got {n} and {bounds:?}"
        )));
    }
    let hx = (x1 - x0) / (n - 1) as f64;
    let hy = (y1 - y0) / (n - 1) as f64;
    let edge = |i: usize| {
        if i == 0 || i == n - 1 {
            0.5f64.ln()
        } else {
            0.0
        }
    };
    let mut logs = Vec::with_capacity(n * n);
    // One row of the grid (fixed x) per call keeps the batches moderate.
    for i in 0..n {
        let x = x0 + i as f64 * hx;
        let pts: Vec<f64> = (0..n).flat_map(|j| [x, y0 + j as f64 * hy]).collect();
        let t = Tensor::from_vec(pts, (n, 2), &Device::Cpu)?;
        let lp = target
            .log_density(&t, None)?
            .to_dtype(DType::F64)?
            .to_vec1::<f64>()?;
        for (j, v) in lp.into_iter().enumerate() {
            if !v.is_nan() && v != f64::INFINITY {
                logs.push(v + edge(i) + edge(j));
            }
        }
    }
    let m = logs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !m.is_finite() {
        return Err(Error::config(format!(
            "quadrature of `{}`: the density is zero or invalid everywhere on {bounds:?}",
            target.name()
        )));
    }
    let s: f64 = logs.iter().map(|v| (v - m).exp()).sum();
    Ok(m + s.ln() + (hx * hy).ln())
}

/// The largest `log p̃` on the edge of `bounds` minus `log Z` (how much mass the box
/// could miss: about `exp` of this times the edge length).
pub fn edge_log_density(target: &dyn LogDensity, bounds: [f64; 4], n: usize) -> Result<f64> {
    let [x0, x1, y0, y1] = bounds;
    let mut pts = Vec::with_capacity(8 * n);
    for k in 0..n {
        let t = k as f64 / (n - 1) as f64;
        let (x, y) = (x0 + t * (x1 - x0), y0 + t * (y1 - y0));
        pts.extend_from_slice(&[x, y0, x, y1, x0, y, x1, y]);
    }
    let t = Tensor::from_vec(pts, (4 * n, 2), &Device::Cpu)?;
    let lp = target
        .log_density(&t, None)?
        .to_dtype(DType::F64)?
        .to_vec1::<f64>()?;
    let max = lp
        .into_iter()
        .filter(|v| !v.is_nan())
        .fold(f64::NEG_INFINITY, f64::max);
    Ok(max - log_z_2d(target, bounds, GRID)?)
}
