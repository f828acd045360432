//! [`DomainMap`]: the map of one column of a [`Domain`](super::Domain) layer, from the
//! column's physical domain (data side) to the real line (latent side).

use crate::error::Result;
use crate::transforms::sigmoid::{log_sigmoid_derivative, logit_with_logdet};
use candle_core::{DType, Tensor};
use serde::{Deserialize, Serialize};

/// Largest |z| the `log` map exponentiates when sampling: `exp(80)` is finite in f32.
const EXP_BOUND: f64 = 80.0;
/// Smallest value the `log` map takes the logarithm of (so `log` stays finite).
const LOG_FLOOR: f64 = 1e-30;

/// How one column is mapped to the real line; its parameters are fixed numbers (f64 in
/// the saved flow), nothing is trained.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "map", rename_all = "snake_case")]
pub enum DomainMap {
    /// Unbounded column: `z = x`.
    Identity,
    /// Positive column: `z = ln x`, log-det `−ln x`; sampling returns `exp z > 0`.
    Log,
    /// Column in `[low, high]`: `z = logit((x − low)/(high − low))`; sampling returns
    /// `low + (high − low) σ(z)`.
    Logit {
        /// Lower bound.
        low: f64,
        /// Upper bound.
        high: f64,
    },
    /// Angle-like column with period `[low, high)`: the circle is cut at `cut` (a point
    /// of low data density chosen at fit time) and the cut circle is mapped to ℝ by
    /// `z = logit(((x − cut) mod P)/P)`, `P = high − low`. A bijection from the circle
    /// minus one point (a null set) to ℝ, so the density is exact; sampling returns
    /// `low + ((cut − low + P σ(z)) mod P)`, always in `[low, high)`.
    Circle {
        /// Start of the period.
        low: f64,
        /// End of the period (excluded).
        high: f64,
        /// Where the circle is cut, in `[low, high)`.
        cut: f64,
    },
    /// Integer-valued column, uniformly dequantised: `z = x + u` with `u ∈ [0, 1)` from
    /// the layer's noise (log-det 0); sampling returns `floor(z)`. The density of an
    /// integer `x` is then the dequantised density at `x + u`, whose expectation over
    /// `u` is a lower bound on `log P(x)`.
    Dequantize,
}

/// Smallest positive step of `dtype`'s grid near `v` used to keep samples inside a
/// half-open period.
fn below(v: f64, dtype: DType) -> f64 {
    if dtype == DType::F64 {
        v - v.abs().max(1.0) * 1e-15
    } else {
        v - v.abs().max(1.0) * 1e-6
    }
}

impl DomainMap {
    /// Whether the map is the identity (a layer of identities is not built).
    pub fn is_identity(&self) -> bool {
        matches!(self, DomainMap::Identity)
    }

    /// Data → latent for one column `x` of shape `(batch, 1)`; `noise` is the `(batch, 1)`
    /// dequantisation offset (used by [`DomainMap::Dequantize`] only).
    pub fn forward(&self, x: &Tensor, noise: Option<&Tensor>) -> Result<(Tensor, Tensor)> {
        let b = x.dim(0)?;
        let zero = || -> Result<Tensor> { Ok(Tensor::zeros(b, x.dtype(), x.device())?) };
        Ok(match self {
            DomainMap::Identity => (x.clone(), zero()?),
            DomainMap::Log => {
                let z = x.maximum(LOG_FLOOR)?.log()?;
                let ld = z.neg()?.squeeze(1)?;
                (z, ld)
            }
            DomainMap::Logit { low, high } => {
                let w = high - low;
                let u = x.affine(1.0 / w, -low / w)?;
                let (z, ld) = logit_with_logdet(&u)?;
                (z, ld.affine(1.0, -w.ln())?)
            }
            DomainMap::Circle { low, high, cut } => {
                let p = high - low;
                let s = x.affine(1.0, -cut)?;
                // The number of whole periods to remove carries no gradient.
                let k = s.detach().affine(1.0 / p, 0.0)?.floor()?;
                let u = (s - k.affine(p, 0.0)?)?.affine(1.0 / p, 0.0)?;
                let (z, ld) = logit_with_logdet(&u)?;
                (z, ld.affine(1.0, -p.ln())?)
            }
            DomainMap::Dequantize => {
                let u = noise.ok_or_else(|| {
                    crate::error::Error::config(
                        "dequantisation needs its (batch, 1) offsets in [0, 1); none were given",
                    )
                })?;
                ((x + u)?, zero()?)
            }
        })
    }

    /// Latent → data for one column `z` of shape `(batch, 1)`.
    pub fn inverse(&self, z: &Tensor) -> Result<(Tensor, Tensor)> {
        let b = z.dim(0)?;
        let zero = || -> Result<Tensor> { Ok(Tensor::zeros(b, z.dtype(), z.device())?) };
        Ok(match self {
            DomainMap::Identity => (z.clone(), zero()?),
            DomainMap::Log => {
                let zc = z.clamp(-EXP_BOUND, EXP_BOUND)?;
                (zc.exp()?, zc.squeeze(1)?)
            }
            DomainMap::Logit { low, high } => {
                let w = high - low;
                let x = candle_nn::ops::sigmoid(z)?.affine(w, *low)?;
                (x, log_sigmoid_derivative(z)?.affine(1.0, w.ln())?)
            }
            DomainMap::Circle { low, high, cut } => {
                let p = high - low;
                let t = candle_nn::ops::sigmoid(z)?.affine(p, cut - low)?;
                let k = t.detach().affine(1.0 / p, 0.0)?.floor()?;
                let x = (t - k.affine(p, 0.0)?)?.affine(1.0, *low)?;
                // Rounding may land exactly on `high` (f32): keep the period half-open.
                let x = x.clamp(*low, below(*high, z.dtype()))?;
                (x, log_sigmoid_derivative(z)?.affine(1.0, p.ln())?)
            }
            DomainMap::Dequantize => (z.floor()?, zero()?),
        })
    }
}
