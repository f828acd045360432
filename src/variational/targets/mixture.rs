//! A 2-D mixture of two isotropic Gaussians with separated modes:
//! `p̃ = 0.3 e^{−‖x − μ₁‖²/(2σ²)} + 0.7 e^{−‖x − μ₂‖²/(2σ²)}`, `μ₁ = (−3, 0)`,
//! `μ₂ = (3, 0)`, `σ = 0.6`; `Z = 2πσ²`. Reverse KL is mode-seeking: a flow that finds
//! one mode gets a low `k̂` yet misses 30 % or 70 % of `Z` — a failure the weight
//! diagnostics cannot see, shown in docs/VARIATIONAL.md.

use super::ops::{col, logaddexp};
use crate::error::Result;
use crate::variational::target::{check_points, LogDensity, Truth};
use candle_core::Tensor;
use std::f64::consts::PI;

/// Mixture weights.
const WEIGHTS: [f64; 2] = [0.3, 0.7];
/// Mode positions on the x₁ axis.
const MODES: [f64; 2] = [-3.0, 3.0];
/// Component standard deviation.
const SIGMA: f64 = 0.6;

/// The two-mode mixture (module docs).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Mixture;

impl LogDensity for Mixture {
    fn name(&self) -> &str {
        "mixture"
    }
    fn dim(&self) -> usize {
        2
    }
    fn log_density(&self, x: &Tensor, _ctx: Option<&Tensor>) -> Result<Tensor> {
        check_points(self, x)?;
        let x1 = col(x, 0)?;
        let y2 = (col(x, 1)?.sqr()? * (-0.5 / (SIGMA * SIGMA)))?;
        let comp = |k: usize| -> candle_core::Result<Tensor> {
            let a = (x1.affine(1.0, -MODES[k])?.sqr()? * (-0.5 / (SIGMA * SIGMA)))?;
            (a + &y2)? + WEIGHTS[k].ln()
        };
        Ok(logaddexp(&comp(0)?, &comp(1)?)?)
    }
    fn truth(&self) -> Result<Truth> {
        let m1: f64 = WEIGHTS.iter().zip(MODES).map(|(w, m)| w * m).sum();
        let v1: f64 = SIGMA * SIGMA
            + WEIGHTS
                .iter()
                .zip(MODES)
                .map(|(w, m)| w * (m - m1).powi(2))
                .sum::<f64>();
        Ok(Truth::log_z((2.0 * PI * SIGMA * SIGMA).ln())
            .with_moments(vec![m1, 0.0], vec![v1, 0.0, 0.0, SIGMA * SIGMA]))
    }
    fn plot_box(&self) -> Option<[f64; 4]> {
        Some([-5.5, 5.5, -3.0, 3.0])
    }
}
