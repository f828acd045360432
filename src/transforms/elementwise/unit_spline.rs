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
//! The math is shared with the `[−B, B]` spline: on the CPU a fused kernel
//! (`rq_kernel.rs`) computes values, log-dets and gradients in one pass per element;
//! the composite tensor-op path (`rq_reference.rs`) is the reference and runs on other
//! devices.

use super::rq_core::{check_bins, RqShape, Unit};
use super::{rq_kernel, ElementwiseMap, ElementwiseSpec};
use crate::error::{Error, Result};
use candle_core::Tensor;

/// Rational-quadratic spline on `[0, 1]` with free boundary derivatives (module docs).
#[derive(Debug, Clone)]
pub struct UnitIntervalSpline {
    shape: RqShape<Unit>,
    fused: bool,
}

impl UnitIntervalSpline {
    /// A spline with `bins` (2..=64) bins, minimum bin width and height (`> 0`, below
    /// `1/bins`) and minimum derivative (`> 0`).
    pub fn new(bins: usize, min_w: f64, min_h: f64, min_d: f64) -> Result<Self> {
        check_bins("unit-interval spline", bins, min_w, min_h)?;
        if !(min_d.is_finite() && min_d > 0.0 && min_d < 1.0) {
            return Err(Error::config(format!(
                "unit-interval spline min_derivative must lie in (0, 1), got {min_d}"
            )));
        }
        Ok(Self {
            shape: RqShape {
                bins,
                min_w,
                min_h,
                min_d,
                frame: Unit,
            },
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
}

impl ElementwiseMap for UnitIntervalSpline {
    fn params_per_dim(&self) -> usize {
        self.shape.params()
    }

    fn forward(&self, x: &Tensor, params: &Tensor) -> Result<(Tensor, Tensor)> {
        rq_kernel::apply(self.shape, self.fused, x, params, false)
    }

    fn inverse(&self, y: &Tensor, params: &Tensor) -> Result<(Tensor, Tensor)> {
        rq_kernel::apply(self.shape, self.fused, y, params, true)
    }

    fn spec(&self) -> ElementwiseSpec {
        let s = &self.shape;
        ElementwiseSpec::UnitRationalQuadratic {
            bins: s.bins,
            min_bin_width: s.min_w,
            min_bin_height: s.min_h,
            min_derivative: s.min_d,
        }
    }
}
