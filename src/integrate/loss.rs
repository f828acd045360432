//! Training losses of the flow proposal `q_θ` for a target density `p = f/I`.
//!
//! Every loss is estimated from points `xᵢ` drawn from some earlier proposal `q_old`
//! (the current flow in online training, a stored batch in buffered training) with
//! stored weights `wᵢ = f(xᵢ)/q_old(xᵢ)`. An expectation under the current flow is
//! reweighted to the stored points by `q_θ/q_old`. With `Î` the batch estimate of the
//! integral (a constant) and `aᵢ = wᵢ/Î`, `bᵢ = f(xᵢ)/Î`:
//!
//! * **KL** (forward, `D_KL(p ‖ q_θ) = ∫ p ln(p/q_θ)` up to a θ-independent term):
//!   `L = −(1/N) Σ aᵢ ln q_θ(xᵢ)`, an unbiased estimate of `−∫ p ln q_θ`.
//! * **Variance** (Pearson χ², `D_χ²(p ‖ q_θ) = ∫ p²/q_θ − 1 = Var_q(f/q)/I²`):
//!   `L = (1/N) Σ aᵢ bᵢ / q_θ(xᵢ) − 1`. In online training (`q_θ = q_old` in value)
//!   this is the batch's squared relative standard deviation per event; its gradient
//!   is that of the variance of the estimator.
//!
//! Both are dimensionless (scale-free in `f`), so one learning rate fits all
//! integrands. Points with `f = 0` carry no weight.

use crate::error::{Error, Result};
use candle_core::Tensor;
use serde::{Deserialize, Serialize};

/// Which divergence the flow minimises (module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Loss {
    /// Forward KL divergence with importance weights (the default: in our camel
    /// and e⁺e⁻ → q q̄ g runs it trained faster than the variance loss).
    #[default]
    Kl,
    /// Variance of the weights (Pearson χ² divergence).
    Variance,
}

impl Loss {
    /// Parse `kl` or `variance` (also `chi2`).
    pub fn parse(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "kl" => Ok(Loss::Kl),
            "variance" | "chi2" => Ok(Loss::Variance),
            other => Err(Error::config(format!(
                "loss must be `kl` or `variance`, got `{other}`"
            ))),
        }
    }

    /// Name as written in reports.
    pub fn name(&self) -> &'static str {
        match self {
            Loss::Kl => "kl",
            Loss::Variance => "variance",
        }
    }

    /// The loss (a scalar tensor) from `log q_θ(xᵢ)` (with the graph to the
    /// parameters), `a = w/Î` and `b = f/Î` (constants, same dtype and device).
    pub fn value(&self, log_q: &Tensor, a: &Tensor, b: &Tensor) -> Result<Tensor> {
        Ok(match self {
            Loss::Kl => (a * log_q)?.mean_all()?.neg()?,
            Loss::Variance => ((a * b)? * log_q.neg()?.exp()?)?
                .mean_all()?
                .affine(1.0, -1.0)?,
        })
    }
}
