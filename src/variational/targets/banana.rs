//! The banana: `x₁ ~ N(0, 2²)`, `x₂ | x₁ ~ N(x₁²/4, 1)`, given unnormalised as
//! `p̃ = exp(−x₁²/8 − (x₂ − x₁²/4)²/2)`, so `Z = 2π·2·1 = 4π`. Its moments are exact:
//! `E x = (0, 1)`, `var x₁ = 4`, `cov(x₁, x₂) = E x₁³/4 = 0`,
//! `var x₂ = 1 + var(x₁²)/16 = 1 + 2·16/16 = 3`.

use super::ops::{col, half_sq};
use crate::error::Result;
use crate::variational::target::{check_points, LogDensity, Truth};
use candle_core::Tensor;
use std::f64::consts::PI;

/// The banana target (module docs).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Banana;

impl LogDensity for Banana {
    fn name(&self) -> &str {
        "banana"
    }
    fn dim(&self) -> usize {
        2
    }
    fn log_density(&self, x: &Tensor, _ctx: Option<&Tensor>) -> Result<Tensor> {
        check_points(self, x)?;
        let x1 = col(x, 0)?;
        let x2 = col(x, 1)?;
        let bend = (&x2 - (x1.sqr()? * 0.25)?)?;
        Ok((half_sq(&x1, 0.0, 2.0)? + half_sq(&bend, 0.0, 1.0)?)?)
    }
    fn truth(&self) -> Result<Truth> {
        Ok(Truth::log_z((4.0 * PI).ln()).with_moments(vec![0.0, 1.0], vec![4.0, 0.0, 0.0, 3.0]))
    }
    fn plot_box(&self) -> Option<[f64; 4]> {
        Some([-6.0, 6.0, -3.0, 9.0])
    }
}
