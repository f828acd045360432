//! The sampling proposal of the integrator: the flow `q`, mixed with a fixed fraction
//! `α` of the uniform density on the flow's cube (a *defensive mixture*, Hesterberg
//! 1995):
//!
//! `q_α(x) = (1 − α) q(x) + α`.
//!
//! Every weight is then bounded, `w = f/q_α ≤ f/α`, so a flow that has become too
//! narrow somewhere cannot produce the unbounded weights that make an error estimate
//! meaningless, and training batches always carry a few points outside the flow's
//! current support. With a VEGAS warm start the flow's cube is the grid's `y` space, so
//! the broad component is the VEGAS map's own density.
//!
//! Draws are independent: the number of uniform points in a batch of `n` is binomial
//! `B(n, α)` and the batch is shuffled, so the weights are i.i.d. draws from `q_α`
//! and the usual standard error applies. `α = 0` is exactly the flow (the same random
//! stream as without a mixture).

use super::flow_proposal::UnitFlow;
use crate::error::{Error, Result};
use crate::random::rand_uniform;
use candle_core::Tensor;
use rand::seq::SliceRandom;
use rand::RngCore;
use rand_distr::{Binomial, Distribution};

/// The default defensive fraction of training batches: exploration and bounded
/// training weights (docs/INTEGRATION.md).
pub const DEFENSIVE_TRAIN: f64 = 0.05;

/// The default defensive fraction of the evaluation and unweighting proposal. A
/// fraction `α` costs about `√((r² + α)/(1 − α))` in place of the flow's own rel. std
/// `r` where the uniform points miss the mass, so it is kept small; every weight is
/// still bounded by `f/α` (measured on the camel functions: docs/INTEGRATION.md).
pub const DEFENSIVE_EVAL: f64 = 0.005;

/// The flow with a defensive uniform fraction (module docs).
#[derive(Debug, Clone, Copy)]
pub struct Proposal<'a> {
    flow: &'a UnitFlow,
    defensive: f64,
}

impl<'a> Proposal<'a> {
    /// The mixture `(1 − defensive) q + defensive · uniform`; `defensive` in `[0, 1)`.
    pub fn new(flow: &'a UnitFlow, defensive: f64) -> Result<Self> {
        check_fraction(defensive)?;
        Ok(Self { flow, defensive })
    }

    /// The flow alone (`α = 0`).
    pub fn flow_only(flow: &'a UnitFlow) -> Self {
        Self {
            flow,
            defensive: 0.0,
        }
    }

    /// The flow component.
    pub fn flow(&self) -> &'a UnitFlow {
        self.flow
    }

    /// The uniform fraction `α`.
    pub fn defensive(&self) -> f64 {
        self.defensive
    }

    /// `n` i.i.d. draws from the mixture: `(x (n, d), log q_α(x) (n,))` on the flow's
    /// device, detached from the parameters.
    pub fn sample(&self, n: usize, rng: &mut dyn RngCore) -> Result<(Tensor, Tensor)> {
        let (x, log_q, _) = self.draw(n, rng, false)?;
        Ok((x, log_q))
    }

    /// As [`Self::sample`] (the same draws from the same random stream), and also the
    /// log density of the component each point came from: the flow's `log q` for a
    /// flow point, 0 for a uniform one (the cube's density is 1). `f/q_component` is
    /// the one-sample weight of each component: unbiased like `f/q_α`, but a flow
    /// point in the flow's own tail keeps its full weight instead of the damped
    /// `f/q_α` ([`super::train::DefensiveWeights`]).
    pub fn sample_components(
        &self,
        n: usize,
        rng: &mut dyn RngCore,
    ) -> Result<(Tensor, Tensor, Tensor)> {
        let (x, log_q, own) = self.draw(n, rng, true)?;
        let own = own.unwrap_or_else(|| log_q.clone());
        Ok((x, log_q, own))
    }

    /// The draws of [`Self::sample`]; with `components`, also the component log
    /// densities of [`Self::sample_components`] (`None` for the flow alone, where they
    /// are `log q` itself). The random stream does not depend on `components`.
    fn draw(
        &self,
        n: usize,
        rng: &mut dyn RngCore,
        components: bool,
    ) -> Result<(Tensor, Tensor, Option<Tensor>)> {
        if self.defensive == 0.0 {
            let (x, log_q) = self.flow.sample(n, rng)?;
            return Ok((x, log_q, None));
        }
        if n == 0 {
            return Err(Error::config("the number of samples must be at least 1"));
        }
        let binomial = Binomial::new(n as u64, self.defensive)
            .map_err(|e| Error::config(format!("defensive fraction: {e}")))?;
        let n_uniform = binomial.sample(rng) as usize;
        let n_flow = n - n_uniform;
        let mut xs = Vec::with_capacity(2);
        let mut lqs = Vec::with_capacity(2);
        if n_flow > 0 {
            let (x, lq) = self.flow.sample(n_flow, rng)?;
            xs.push(x);
            lqs.push(lq);
        }
        if n_uniform > 0 {
            let flow = self.flow;
            let u = rand_uniform(n_uniform, flow.dim(), flow.dtype(), flow.device(), rng)?;
            lqs.push(flow.log_prob(&u)?.detach());
            xs.push(u);
        }
        let x = Tensor::cat(&xs, 0)?;
        let flow_lq = Tensor::cat(&lqs, 0)?;
        let log_q = self.mix_log_density(&flow_lq)?;
        // Component densities in the unshuffled order: the flow's for the first
        // `n_flow` rows, 1 (log 0) for the uniform rows after them.
        let own = if components {
            let mut parts = Vec::with_capacity(2);
            if n_flow > 0 {
                parts.push(flow_lq.narrow(0, 0, n_flow)?);
            }
            if n_uniform > 0 {
                parts.push(Tensor::zeros(n_uniform, flow_lq.dtype(), flow_lq.device())?);
            }
            Some(Tensor::cat(&parts, 0)?)
        } else {
            None
        };
        let mut order: Vec<u32> = (0..n as u32).collect();
        order.shuffle(rng);
        let idx = Tensor::from_vec(order, n, x.device())?;
        Ok((
            x.index_select(&idx, 0)?,
            log_q.index_select(&idx, 0)?,
            own.map(|o| o.index_select(&idx, 0)).transpose()?,
        ))
    }

    /// `log q_α = log((1 − α) e^{log q} + α)` from the flow's `log q`, stably.
    pub fn mix_log_density(&self, log_q: &Tensor) -> Result<Tensor> {
        if self.defensive == 0.0 {
            return Ok(log_q.clone());
        }
        let a = log_q.affine(1.0, (1.0 - self.defensive).ln())?;
        let b = a.ones_like()?.affine(self.defensive.ln(), 0.0)?;
        let m = a.maximum(&b)?;
        let s = ((a - &m)?.exp()? + (b - &m)?.exp()?)?;
        Ok((m + s.log()?)?)
    }
}

/// Check a defensive fraction: in `[0, 1)`.
pub fn check_fraction(defensive: f64) -> Result<()> {
    if defensive.is_finite() && (0.0..1.0).contains(&defensive) {
        Ok(())
    } else {
        Err(Error::config(format!(
            "defensive must be a fraction in [0, 1) (0 = the flow alone), got {defensive}"
        )))
    }
}
