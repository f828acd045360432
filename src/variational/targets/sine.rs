//! The sine density of the planar-flow tutorial: `x₂ ~ U(−3, 3)`,
//! `x₁ | x₂ ~ N(sin x₂, 0.1²)`, normalised (`log Z = 0`).
//!
//! The uniform has bounded support, so the flow works on `R²` through the bijection
//! `x₂ = 3 tanh y`: the density in the flow's coordinates `(x₁, y)` is
//! `p(x₁, 3 tanh y) · 3(1 − tanh² y)`, which has the same `Z`. Draws are mapped back
//! ([`LogDensity::to_user`]); plots show the flow's coordinates.

use super::ops::{col, half_sq, softplus};
use crate::error::Result;
use crate::variational::target::{check_points, LogDensity, Truth};
use candle_core::Tensor;
use std::f64::consts::PI;

/// Half-width of the uniform's support.
const HALF: f64 = 3.0;
/// Noise standard deviation.
const NOISE: f64 = 0.1;

/// The sine density (module docs).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sine;

impl LogDensity for Sine {
    fn name(&self) -> &str {
        "sine"
    }
    fn dim(&self) -> usize {
        2
    }
    fn log_density(&self, x: &Tensor, _ctx: Option<&Tensor>) -> Result<Tensor> {
        check_points(self, x)?;
        let x1 = col(x, 0)?;
        let y = col(x, 1)?;
        let x2 = (y.tanh()? * HALF)?;
        let gauss = (half_sq(&(&x1 - x2.sin()?)?, 0.0, NOISE)? - (NOISE * (2.0 * PI).sqrt()).ln())?;
        // log(3 (1 − tanh² y)) = log 3 + 2 (log 2 − |y| − log(1 + e^{−2|y|})), stably.
        let a = y.abs()?;
        let jac = (((a.neg()? - softplus(&(&a * -2.0)?)?)? + 2f64.ln())? * 2.0)?;
        Ok(((gauss + jac)? + (HALF.ln() - (2.0 * HALF).ln()))?)
    }
    fn truth(&self) -> Result<Truth> {
        Ok(Truth::log_z(0.0))
    }
    fn to_user(&self, x: &Tensor) -> Result<Tensor> {
        let x2 = (col(x, 1)?.tanh()? * HALF)?;
        Ok(Tensor::stack(&[col(x, 0)?, x2], 1)?)
    }
    fn plot_box(&self) -> Option<[f64; 4]> {
        Some([-1.6, 1.6, -4.0, 4.0])
    }
}
