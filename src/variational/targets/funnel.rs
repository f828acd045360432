//! Neal's funnel in `d` dimensions (default 10): the log-scale `v ~ N(0, 3²)` and
//! `x_i | v ~ N(0, e^v)` for `i = 1..d−1`, given as
//! `p̃ = exp(−v²/18 − (d−1)v/2 − ½ e^{−v} Σ x_i²)` (the normal densities without their
//! `2π` factors), so `log Z = ½ log(18π) + (d−1)/2 · log 2π`. The first coordinate is
//! `v`; its marginal is exactly `N(0, 3²)`, which is how the neck (`v ≪ 0`) is checked.
//! Moments: mean 0, `var v = 9`, `var x_i = E e^v = e^{4.5}`.

use super::ops::col;
use crate::error::{Error, Result};
use crate::variational::target::{check_points, LogDensity, Truth};
use candle_core::Tensor;
use std::f64::consts::PI;

/// Neal's funnel (module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Funnel {
    dim: usize,
}

impl Funnel {
    /// The funnel in `dim ≥ 2` dimensions.
    pub fn new(dim: usize) -> Result<Self> {
        if dim < 2 {
            return Err(Error::config(format!(
                "the funnel needs at least 2 dimensions, got {dim}"
            )));
        }
        Ok(Self { dim })
    }
}

impl LogDensity for Funnel {
    fn name(&self) -> &str {
        "funnel"
    }
    fn dim(&self) -> usize {
        self.dim
    }
    fn log_density(&self, x: &Tensor, _ctx: Option<&Tensor>) -> Result<Tensor> {
        check_points(self, x)?;
        let k = (self.dim - 1) as f64;
        let v = col(x, 0)?;
        let rest = x.narrow(1, 1, self.dim - 1)?.sqr()?.sum(1)?;
        let prior = ((v.sqr()? * (-1.0 / 18.0))? - (&v * (0.5 * k))?)?;
        Ok((prior - ((rest * v.neg()?.exp()?)? * 0.5)?)?)
    }
    fn truth(&self) -> Result<Truth> {
        let d = self.dim;
        let log_z = 0.5 * (18.0 * PI).ln() + 0.5 * (d - 1) as f64 * (2.0 * PI).ln();
        let mut cov = vec![0.0; d * d];
        cov[0] = 9.0;
        for i in 1..d {
            cov[i * d + i] = 4.5f64.exp();
        }
        Ok(Truth::log_z(log_z).with_moments(vec![0.0; d], cov))
    }
    fn columns(&self) -> Vec<String> {
        std::iter::once("v".to_string())
            .chain((1..self.dim).map(|i| format!("x{i}")))
            .collect()
    }
    fn plot_box(&self) -> Option<[f64; 4]> {
        Some([-9.0, 9.0, -20.0, 20.0])
    }
}
