//! The four 2-D energy functions of Rezende & Mohamed (2015, table 1), `p̃ = e^{−U}`:
//!
//! * `w₁ = sin(2π z₁/4)`, `w₂ = 3 exp(−½((z₁ − 1)/0.6)²)`, `w₃ = 3 σ((z₁ − 1)/0.3)`;
//! * `U₁ = ½((‖z‖ − 2)/0.4)² − log(e^{−½((z₁−2)/0.6)²} + e^{−½((z₁+2)/0.6)²})`;
//! * `U₂ = ½((z₂ − w₁)/0.4)²`;
//! * `U₃ = −log(e^{−½((z₂−w₁)/0.35)²} + e^{−½((z₂−w₁+w₂)/0.35)²})`;
//! * `U₄ = −log(e^{−½((z₂−w₁)/0.4)²} + e^{−½((z₂−w₁+w₃)/0.35)²})`.
//!
//! `U₂`–`U₄` do not depend on `z₁` far from the origin, so `e^{−U}` has infinite mass
//! on `R²`; the paper draws them on `[−4, 4]²`. Here they carry the smooth window
//! `e^{−(z₁/4)⁸}` (≈ 1 for `|z₁| ≤ 3`, `e^{−1}` at 4), which makes them normalisable
//! with the same picture. `log Z` comes from quadrature on `[−6, 6]²`
//! ([`super::super::quadrature`]).

use super::ops::{col, half_sq, logaddexp, sigmoid};
use crate::error::{Error, Result};
use crate::variational::quadrature::{log_z_2d, GRID};
use crate::variational::target::{check_points, LogDensity, Truth};
use candle_core::Tensor;
use std::f64::consts::PI;

/// The quadrature box of every energy function.
pub const ENERGY_BOX: [f64; 4] = [-6.0, 6.0, -6.0, 6.0];

/// One of `U₁`–`U₄` (module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Energy {
    which: u8,
    name: &'static str,
}

impl Energy {
    /// `U_k` for `k` in 1..=4.
    pub fn new(k: u8) -> Result<Self> {
        let name = match k {
            1 => "u1",
            2 => "u2",
            3 => "u3",
            4 => "u4",
            _ => {
                return Err(Error::config(format!(
                    "the energy functions are U1 to U4, got U{k}"
                )))
            }
        };
        Ok(Self { which: k, name })
    }

    /// `U(z)` for the rows of `z` (`(n, 2)` → `(n,)`).
    pub fn energy(&self, z: &Tensor) -> candle_core::Result<Tensor> {
        let z1 = col(z, 0)?;
        let z2 = col(z, 1)?;
        let w1 = (&z1 * (2.0 * PI / 4.0))?.sin()?;
        let window = || -> candle_core::Result<Tensor> { (&z1 * 0.25)?.sqr()?.sqr()?.sqr() };
        match self.which {
            1 => {
                let r = ((z.sqr()?.sum(1)? + 1e-12)?).sqrt()?;
                let ring = (half_sq(&r, 2.0, 0.4)? * -1.0)?;
                let modes = logaddexp(&half_sq(&z1, 2.0, 0.6)?, &half_sq(&z1, -2.0, 0.6)?)?;
                ring - modes
            }
            2 => (half_sq(&(&z2 - &w1)?, 0.0, 0.4)? * -1.0)? + window()?,
            3 => {
                let w2 = (half_sq(&z1, 1.0, 0.6)?.exp()? * 3.0)?;
                let d = (&z2 - &w1)?;
                let a = half_sq(&d, 0.0, 0.35)?;
                let b = half_sq(&(&d + &w2)?, 0.0, 0.35)?;
                logaddexp(&a, &b)?.neg()? + window()?
            }
            _ => {
                let w3 = (sigmoid(&z1.affine(1.0 / 0.3, -1.0 / 0.3)?)? * 3.0)?;
                let d = (&z2 - &w1)?;
                let a = half_sq(&d, 0.0, 0.4)?;
                let b = half_sq(&(&d + &w3)?, 0.0, 0.35)?;
                logaddexp(&a, &b)?.neg()? + window()?
            }
        }
    }
}

impl LogDensity for Energy {
    fn name(&self) -> &str {
        self.name
    }
    fn dim(&self) -> usize {
        2
    }
    fn log_density(&self, x: &Tensor, _ctx: Option<&Tensor>) -> Result<Tensor> {
        check_points(self, x)?;
        Ok(self.energy(x)?.neg()?)
    }
    fn truth(&self) -> Result<Truth> {
        Ok(Truth {
            log_z: Some(log_z_2d(self, ENERGY_BOX, GRID)?),
            log_z_source: Some(format!("quadrature, trapezoid {GRID}² on [-6, 6]²")),
            ..Truth::default()
        })
    }
    fn plot_box(&self) -> Option<[f64; 4]> {
        Some([-4.0, 4.0, -4.0, 4.0])
    }
}
