//! The posterior of the `sbibm` `gaussian_linear` task
//! ([`flowinfer_simulators::GaussianLinear`]): prior `θ ~ N(0, 0.1 I)` and likelihood
//! `x ~ N(θ, 0.1 I)` in 10 dimensions, at a reference observation `x_o` (number `k` of
//! the task's shipped observations, `../shared/data/sbibm/gaussian_linear`, default 1).
//! `log p̃(θ) = log N(θ; 0, 0.1 I) + log N(x_o; θ, 0.1 I)`, so `Z = p(x_o) =
//! N(x_o; 0, 0.2 I)` and the posterior is exactly `N(x_o/2, 0.05 I)`.

use crate::error::{Error, Result};
use crate::variational::target::{check_points, LogDensity, Truth};
use candle_core::Tensor;
use std::f64::consts::PI;
use std::path::Path;

/// The default folder of the task's reference observations.
pub const GAUSSIAN_LINEAR_DIR: &str = "../shared/data/sbibm/gaussian_linear";
/// Prior variance per coordinate (as in the simulator).
const PRIOR_VAR: f64 = 0.1;
/// Noise variance per coordinate.
const NOISE_VAR: f64 = 0.1;
/// Dimension.
const D: usize = 10;

/// The gaussian_linear posterior at one observation (module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct GaussianLinearPosterior {
    x_o: Vec<f64>,
}

impl GaussianLinearPosterior {
    /// At the observation `x_o` (10 values).
    pub fn new(x_o: Vec<f64>) -> Result<Self> {
        if x_o.len() != D || x_o.iter().any(|v| !v.is_finite()) {
            return Err(Error::config(format!(
                "gaussian_linear needs 10 finite observation values, got {x_o:?}"
            )));
        }
        Ok(Self { x_o })
    }

    /// Reference observation `k` from the task folder `dir`
    /// (`num_observation_k/observation.csv`).
    pub fn reference(dir: &Path, k: usize) -> Result<Self> {
        let path = dir
            .join(format!("num_observation_{k}"))
            .join("observation.csv");
        let text = std::fs::read_to_string(&path).map_err(|e| {
            Error::file(
                &path,
                format!("cannot read the observation ({e}); the sbibm reference data ships in {GAUSSIAN_LINEAR_DIR} (run from the repository root or give [target] data = DIR)"),
            )
        })?;
        let line = text.lines().nth(1).unwrap_or("");
        let x_o = line
            .split(',')
            .map(|v| v.trim().parse::<f64>())
            .collect::<std::result::Result<Vec<f64>, _>>()
            .map_err(|e| Error::file(&path, format!("line 2: {e}")))?;
        Self::new(x_o)
    }

    /// The observation.
    pub fn observation(&self) -> &[f64] {
        &self.x_o
    }
}

impl LogDensity for GaussianLinearPosterior {
    fn name(&self) -> &str {
        "gaussian_linear"
    }
    fn dim(&self) -> usize {
        D
    }
    fn log_density(&self, theta: &Tensor, _ctx: Option<&Tensor>) -> Result<Tensor> {
        check_points(self, theta)?;
        let x_o =
            Tensor::from_vec(self.x_o.clone(), (1, D), theta.device())?.to_dtype(theta.dtype())?;
        let c = -0.5 * D as f64 * ((2.0 * PI * PRIOR_VAR).ln() + (2.0 * PI * NOISE_VAR).ln());
        let prior = (theta.sqr()?.sum(1)? * (-0.5 / PRIOR_VAR))?;
        let lik = (theta.broadcast_sub(&x_o)?.sqr()?.sum(1)? * (-0.5 / NOISE_VAR))?;
        Ok(((prior + lik)? + c)?)
    }
    fn truth(&self) -> Result<Truth> {
        let v = PRIOR_VAR + NOISE_VAR;
        let log_z: f64 = self
            .x_o
            .iter()
            .map(|x| -0.5 * (2.0 * PI * v).ln() - 0.5 * x * x / v)
            .sum();
        let post_var = 1.0 / (1.0 / PRIOR_VAR + 1.0 / NOISE_VAR);
        let mean = self.x_o.iter().map(|x| x * post_var / NOISE_VAR).collect();
        let mut cov = vec![0.0; D * D];
        for i in 0..D {
            cov[i * D + i] = post_var;
        }
        Ok(Truth::log_z(log_z).with_moments(mean, cov))
    }
    fn columns(&self) -> Vec<String> {
        (1..=D).map(|i| format!("parameter_{i}")).collect()
    }
}
