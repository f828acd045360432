//! Serializable description of a continuous normalizing flow layer ([`CnfSpec`]) and of
//! its solver and divergence settings.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// Smooth non-linearities of the velocity field (their derivatives are needed for the
/// exact divergence, so only activations with a continuous derivative are offered).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum SmoothActivation {
    /// tanh(x).
    #[default]
    Tanh,
    /// x·sigmoid(x).
    Silu,
    /// log(1 + eˣ).
    Softplus,
}

/// How the ODE is integrated.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SolverSpec {
    /// Fixed-step classical Runge–Kutta in tensor operations (differentiable:
    /// discretize-then-optimize); `4·steps` evaluations of the field per solve.
    Rk4 {
        /// Number of steps over the unit time interval.
        steps: usize,
    },
    /// Adaptive Dormand–Prince 5(4) (`ode_solvers`) on the host, one state vector for the
    /// whole batch; not differentiable (evaluation and sampling).
    Dopri5 {
        /// Relative tolerance.
        rtol: f64,
        /// Absolute tolerance.
        atol: f64,
        /// Maximum number of steps before the solve fails with an error.
        max_steps: u32,
    },
}

impl Default for SolverSpec {
    fn default() -> Self {
        SolverSpec::Dopri5 {
            rtol: 1e-5,
            atol: 1e-5,
            max_steps: 10_000,
        }
    }
}

impl SolverSpec {
    /// Check the settings.
    pub fn validate(&self) -> Result<()> {
        match *self {
            SolverSpec::Rk4 { steps } => {
                if steps == 0 || steps > 100_000 {
                    return Err(Error::config(format!(
                        "cnf rk4 steps must lie in 1..=100000, got {steps}"
                    )));
                }
            }
            SolverSpec::Dopri5 {
                rtol,
                atol,
                max_steps,
            } => {
                if !(rtol > 0.0 && rtol.is_finite() && atol > 0.0 && atol.is_finite()) {
                    return Err(Error::config(format!(
                        "cnf dopri5 tolerances must be positive finite numbers, got rtol {rtol}, atol {atol}"
                    )));
                }
                if max_steps == 0 {
                    return Err(Error::config("cnf dopri5 max_steps must be at least 1"));
                }
            }
        }
        Ok(())
    }
}

/// How the divergence `tr ∂v/∂z` is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum DivergenceSpec {
    /// Exact trace: the input Jacobian is propagated through the network (`dim` tangents).
    #[default]
    Exact,
    /// Hutchinson estimator `εᵀ (∂v/∂z) ε` with Rademacher probes drawn once per solve.
    Hutchinson {
        /// Probes per row (the estimate is their mean).
        probes: usize,
        /// Seed of the probes (mixed with a per-solve counter).
        seed: u64,
    },
}

/// A continuous normalizing flow layer: `dz/dt = v(z, t, c)`, data at `t = 1`, latent at
/// `t = 0` (the flow-matching convention).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CnfSpec {
    /// Number of features.
    pub dim: usize,
    /// Width of the velocity MLP.
    pub hidden: usize,
    /// Hidden layers of the velocity MLP.
    pub layers: usize,
    /// Smooth activation.
    #[serde(default)]
    pub activation: SmoothActivation,
    /// Fourier time features: `t, sin(kπt), cos(kπt)` for `k = 1..=time_freqs`.
    #[serde(default)]
    pub time_freqs: usize,
    /// Solver used by `forward` / `inverse`.
    #[serde(default)]
    pub solver: SolverSpec,
    /// Divergence estimator.
    #[serde(default)]
    pub divergence: DivergenceSpec,
}

impl CnfSpec {
    /// Check the settings.
    pub fn validate(&self) -> Result<()> {
        if self.dim == 0 || self.hidden == 0 || self.layers == 0 {
            return Err(Error::config(format!(
                "cnf: dim, hidden and layers must be at least 1 (got {}, {}, {})",
                self.dim, self.hidden, self.layers
            )));
        }
        if self.time_freqs > 64 {
            return Err(Error::config(format!(
                "cnf: time_freqs must be at most 64, got {}",
                self.time_freqs
            )));
        }
        if let DivergenceSpec::Hutchinson { probes, .. } = self.divergence {
            if probes == 0 || probes > 1024 {
                return Err(Error::config(format!(
                    "cnf: Hutchinson probes must lie in 1..=1024, got {probes}"
                )));
            }
        }
        self.solver.validate()
    }

    /// The same layer with another solver.
    pub fn with_solver(&self, solver: SolverSpec) -> Self {
        Self {
            solver,
            ..self.clone()
        }
    }
}
