//! The diagonal Gaussian that slice and augment layers use for the dimensions they
//! drop or add: a fixed standard normal, or one whose mean and log standard deviation
//! an MLP computes from the other dimensions.

use crate::error::Result;
use crate::nn::{Activation, Conditioner, Dims, Mlp, NetShape};
use crate::params::Params;
use candle_core::Tensor;
use serde::{Deserialize, Serialize};

/// Bound of the soft-clamped log standard deviation (`b·tanh(raw/b)`).
const LOG_STD_BOUND: f64 = 5.0;

/// Which Gaussian models the dropped (slice) or added (augment) dimensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum GaussianSpec {
    /// A fixed standard normal (no parameters).
    StandardNormal,
    /// `N(μ(c), diag σ(c)²)` with `(μ, log σ)` from a ReLU MLP of the conditioning
    /// dimensions `c` and, in a conditional flow, the (embedded) context (output layer
    /// zero-initialised: a standard normal at the start).
    Conditional {
        /// Hidden width.
        hidden: usize,
        /// Number of hidden layers.
        depth: usize,
    },
}

/// A (conditional) diagonal Gaussian over `k` dimensions given `c` conditioning ones.
///
/// ```
/// use flowinfer::surjective::{CondGaussian, GaussianSpec};
/// use flowinfer::params::Params;
/// use candle_core::{DType, Device, Tensor};
/// let p = Params::new(DType::F64, &Device::Cpu, 0);
/// let g = CondGaussian::new(&p, GaussianSpec::Conditional { hidden: 8, depth: 1 }, 1, 2, 0)?;
/// let c = Tensor::new(&[[0.5f64, 1.0]], &Device::Cpu)?;
/// let y = Tensor::new(&[[0.0f64]], &Device::Cpu)?;
/// // zero-initialised output layer: a standard normal at the start
/// let lp = g.log_prob(&y, &c, None)?.to_vec1::<f64>()?[0];
/// assert!((lp + 0.5 * (2.0 * std::f64::consts::PI).ln()).abs() < 1e-12);
/// # Ok::<(), flowinfer::Error>(())
/// ```
#[derive(Debug)]
pub struct CondGaussian {
    spec: GaussianSpec,
    k: usize,
    net: Option<Mlp>,
    context_dim: usize,
}

impl CondGaussian {
    /// A Gaussian over `k` dimensions given `cond_dim` conditioning ones and a context
    /// of width `context_dim` (0 = none; the standard normal ignores it); the network's
    /// parameters live in `params` (names `net.l0.weight`, …).
    pub fn new(
        params: &Params,
        spec: GaussianSpec,
        k: usize,
        cond_dim: usize,
        context_dim: usize,
    ) -> Result<Self> {
        let net = match spec {
            GaussianSpec::StandardNormal => None,
            GaussianSpec::Conditional { hidden, depth } => {
                if hidden == 0 || cond_dim == 0 {
                    return Err(crate::error::Error::config(format!(
                        "conditional Gaussian: needs hidden ≥ 1 and at least one conditioning \
                         dimension (got hidden {hidden}, {cond_dim} conditioning dimensions)"
                    )));
                }
                Some(Mlp::new(
                    &params.pp("net"),
                    Dims {
                        in_dim: cond_dim,
                        context_dim,
                        out_dim: 2 * k,
                    },
                    &NetShape {
                        hidden,
                        depth,
                        activation: Activation::Relu,
                        zero_init_output: true,
                    },
                )?)
            }
        };
        let context_dim = if net.is_some() { context_dim } else { 0 };
        Ok(Self {
            spec,
            k,
            net,
            context_dim,
        })
    }

    /// The description.
    pub fn spec(&self) -> GaussianSpec {
        self.spec
    }

    /// Width of the context it takes (0 = none).
    pub fn context_dim(&self) -> usize {
        self.context_dim
    }

    /// `(μ, log σ)`, each `(batch, k)`, or `None` for the standard normal.
    fn moments(&self, cond: &Tensor, ctx: Option<&Tensor>) -> Result<Option<(Tensor, Tensor)>> {
        let Some(net) = &self.net else {
            return Ok(None);
        };
        let out = net.forward(cond, ctx)?;
        let mu = out.narrow(1, 0, self.k)?;
        let raw = out.narrow(1, self.k, self.k)?;
        let log_std = ((raw / LOG_STD_BOUND)?.tanh()? * LOG_STD_BOUND)?;
        Ok(Some((mu, log_std)))
    }

    /// `log N(y | μ(cond), σ(cond))` summed over the `k` dimensions, shape `(batch,)`.
    pub fn log_prob(&self, y: &Tensor, cond: &Tensor, ctx: Option<&Tensor>) -> Result<Tensor> {
        let c = 0.5 * (2.0 * std::f64::consts::PI).ln() * self.k as f64;
        Ok(match self.moments(cond, ctx)? {
            None => ((y.sqr()?.sum(1)? * -0.5)? - c)?,
            Some((mu, ls)) => {
                let e = ((y - mu)? * ls.neg()?.exp()?)?;
                (((e.sqr()? * -0.5)? - ls)?.sum(1)? - c)?
            }
        })
    }

    /// Map standard normal draws `eps` `(batch, k)` to draws given `cond` (and the
    /// context): `(y, log N(y | cond))`.
    pub fn sample(
        &self,
        eps: &Tensor,
        cond: &Tensor,
        ctx: Option<&Tensor>,
    ) -> Result<(Tensor, Tensor)> {
        let c = 0.5 * (2.0 * std::f64::consts::PI).ln() * self.k as f64;
        let base = ((eps.sqr()?.sum(1)? * -0.5)? - c)?;
        Ok(match self.moments(cond, ctx)? {
            None => (eps.clone(), base),
            Some((mu, ls)) => {
                let y = ((eps * ls.exp()?)? + mu)?;
                let lp = (base - ls.sum(1)?)?;
                (y, lp)
            }
        })
    }
}
