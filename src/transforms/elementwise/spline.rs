//! Monotonic rational-quadratic spline (Durkan et al. 2019) on `[-B, B]` with identity
//! ("linear") tails.
//!
//! Parameters per feature: `K` unnormalised widths, `K` heights, `K − 1` interior knot
//! derivatives (`3K − 1` in all). Widths and heights go through a softmax with a floor
//! (`min + (1 − K·min)·softmax`), knots are cumulative sums scaled to `[-B, B]` with the
//! end knots set exactly to `±B`; interior derivatives are `min_derivative +
//! softplus(raw)`, the boundary derivatives are exactly 1 so the tails join smoothly.
//! Inputs outside `[-B, B]` pass unchanged with log-det 0. The spline is evaluated at
//! the input clamped to `[-B, B]`, so far-away inputs never produce NaN gradients.
//!
//! The math is shared with [`super::UnitIntervalSpline`]: on the CPU a fused kernel
//! (`rq_kernel.rs`) computes values, log-dets and gradients in one pass per element;
//! the composite tensor-op path (`rq_reference.rs`) is the reference and runs on other
//! devices.

use super::rq_core::{check_bins, Bounded, RqShape};
use super::{rq_kernel, ElementwiseMap, ElementwiseSpec};
use crate::error::{Error, Result};
use candle_core::Tensor;

pub(crate) use super::rq_reference::softplus;

/// Rational-quadratic spline element-wise map.
#[derive(Debug, Clone)]
pub struct RationalQuadraticSpline {
    shape: RqShape<Bounded>,
    fused: bool,
}

impl RationalQuadraticSpline {
    /// Build a spline with `bins` bins on `[-bound, bound]`.
    pub fn new(bins: usize, bound: f64, min_w: f64, min_h: f64, min_d: f64) -> Result<Self> {
        if !(2..=64).contains(&bins) {
            return Err(Error::config(format!(
                "spline needs 2 to 64 bins, got {bins}"
            )));
        }
        if !(bound.is_finite() && bound > 0.0) {
            return Err(Error::config(format!(
                "spline tail_bound must be > 0, got {bound}"
            )));
        }
        check_bins("spline", bins, min_w, min_h)?;
        if min_d.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) {
            return Err(Error::config(format!(
                "spline min_derivative must be > 0, got {min_d}"
            )));
        }
        Ok(Self {
            shape: RqShape {
                bins,
                min_w,
                min_h,
                min_d,
                frame: Bounded { bound },
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
}

impl ElementwiseMap for RationalQuadraticSpline {
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
        ElementwiseSpec::RationalQuadratic {
            bins: s.bins,
            tail_bound: s.frame.bound,
            min_bin_width: s.min_w,
            min_bin_height: s.min_h,
            min_derivative: s.min_d,
        }
    }
}
