//! Element-wise bijections parameterised per feature. Coupling and autoregressive
//! layers are generic over these: the conditioner produces `params_per_dim()` numbers
//! for each transformed feature, laid out feature-major as `(batch, d, params_per_dim)`.

pub mod affine;
mod affine_kernel;
mod cpu_storage;
mod rq_core;
mod rq_kernel;
mod rq_reference;
pub mod spline;
pub mod unit_spline;

pub use affine::Affine;
pub use spline::RationalQuadraticSpline;
pub use unit_spline::UnitIntervalSpline;

use crate::error::{Error, Result};
use candle_core::Tensor;
use serde::{Deserialize, Serialize};

/// A scalar bijection applied to each feature with its own parameters.
pub trait ElementwiseMap: Send + Sync + std::fmt::Debug {
    /// Number of unconstrained parameters per feature.
    fn params_per_dim(&self) -> usize;
    /// `x (batch, d)`, `params (batch, d, P)` → `(y, log|dy/dx| summed over features)`.
    fn forward(&self, x: &Tensor, params: &Tensor) -> Result<(Tensor, Tensor)>;
    /// Inverse of [`forward`](Self::forward) with its own log-determinant.
    fn inverse(&self, y: &Tensor, params: &Tensor) -> Result<(Tensor, Tensor)>;
    /// Serializable description.
    fn spec(&self) -> ElementwiseSpec;
}

/// Serializable description of an element-wise map.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ElementwiseSpec {
    /// `y = x·exp(log_s) + shift`, `log_s = bound·tanh(raw/bound)` (bounded scale).
    Affine {
        /// Bound on |log scale| (1.0: scale in (e⁻¹, e), as in the seed study).
        #[serde(default = "default_scale_bound")]
        scale_bound: f64,
    },
    /// Monotonic rational-quadratic spline on `[-bound, bound]` with identity tails
    /// (Durkan et al. 2019, "linear tails").
    RationalQuadratic {
        /// Number of bins K.
        bins: usize,
        /// Tail bound B: the spline acts on [-B, B], identity outside.
        tail_bound: f64,
        /// Minimum bin width (fraction of the interval).
        #[serde(default = "default_min")]
        min_bin_width: f64,
        /// Minimum bin height.
        #[serde(default = "default_min")]
        min_bin_height: f64,
        /// Minimum knot derivative.
        #[serde(default = "default_min")]
        min_derivative: f64,
    },
    /// Monotonic rational-quadratic spline on `[0, 1]` with free derivatives at every
    /// knot, the end knots included ([`UnitIntervalSpline`]; flows on the unit cube).
    UnitRationalQuadratic {
        /// Number of bins K.
        bins: usize,
        /// Minimum bin width (fraction of the interval).
        #[serde(default = "default_min")]
        min_bin_width: f64,
        /// Minimum bin height.
        #[serde(default = "default_min")]
        min_bin_height: f64,
        /// Minimum knot derivative.
        #[serde(default = "default_min")]
        min_derivative: f64,
    },
}

fn default_scale_bound() -> f64 {
    1.0
}
fn default_min() -> f64 {
    1e-3
}

impl ElementwiseSpec {
    /// Affine map with the seed study's bound (scale in (e⁻¹, e)).
    pub fn affine() -> Self {
        ElementwiseSpec::Affine { scale_bound: 1.0 }
    }

    /// Rational-quadratic spline with `bins` bins on `[-tail_bound, tail_bound]` and
    /// the usual minimums (1e-3).
    pub fn spline(bins: usize, tail_bound: f64) -> Self {
        ElementwiseSpec::RationalQuadratic {
            bins,
            tail_bound,
            min_bin_width: 1e-3,
            min_bin_height: 1e-3,
            min_derivative: 1e-3,
        }
    }

    /// Build the map, validating its settings.
    pub fn build(&self) -> Result<Box<dyn ElementwiseMap>> {
        Ok(match self {
            ElementwiseSpec::Affine { scale_bound } => {
                if !(scale_bound.is_finite() && *scale_bound > 0.0) {
                    return Err(Error::config(format!(
                        "affine scale_bound must be a positive number, got {scale_bound}"
                    )));
                }
                Box::new(Affine::new(*scale_bound))
            }
            ElementwiseSpec::RationalQuadratic {
                bins,
                tail_bound,
                min_bin_width,
                min_bin_height,
                min_derivative,
            } => Box::new(RationalQuadraticSpline::new(
                *bins,
                *tail_bound,
                *min_bin_width,
                *min_bin_height,
                *min_derivative,
            )?),
            ElementwiseSpec::UnitRationalQuadratic {
                bins,
                min_bin_width,
                min_bin_height,
                min_derivative,
            } => Box::new(UnitIntervalSpline::new(
                *bins,
                *min_bin_width,
                *min_bin_height,
                *min_derivative,
            )?),
        })
    }
}
