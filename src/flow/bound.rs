//! Exact vs bound densities of flows with surjective layers (SurVAE): which one
//! `log_prob` returns, and the importance-weighted estimate that tightens a bound.

use crate::error::{Error, Result};
use crate::flow::Flow;
use crate::transforms::Contribution;
use candle_core::Tensor;

impl Flow {
    /// Whether [`Flow::log_prob`] is the exact log density or a one-sample stochastic
    /// lower bound (some layer's forward draws randomness: augment, dequantization).
    pub fn likelihood(&self) -> Contribution {
        self.transforms()
            .iter()
            .fold(Contribution::Exact, |acc, t| acc.and(t.likelihood()))
    }

    /// The importance-weighted estimate `log (1/K) Σ_k exp(ℓ_k)` of `log p(x | ctx)`
    /// from `K = k` independent draws `ℓ_k` of the bound, shape `(batch,)`. Its
    /// expectation increases with `K` toward `log p(x)` (Burda et al. 2016); for an
    /// exact flow it is `log_prob`. The `K` draws of all rows go through the flow as one
    /// batch of `K·batch` rows.
    ///
    /// ```
    /// use flowinfer::flow::{Flow, FlowSpec};
    /// use flowinfer::distributions::BaseSpec;
    /// use flowinfer::surjective::GaussianSpec;
    /// use flowinfer::transforms::{Contribution, TransformSpec};
    /// use candle_core::{DType, Device, Tensor};
    /// let spec = FlowSpec {
    ///     dim: 1,
    ///     context_dim: 0,
    ///     embedding: None,
    ///     base: BaseSpec::StandardNormal { dim: 2 },
    ///     transforms: vec![TransformSpec::Augment {
    ///         dim: 1, extra: 1, model: GaussianSpec::StandardNormal, seed: 0,
    ///     }],
    /// };
    /// let flow = Flow::new(spec, DType::F64, &Device::Cpu, 0)?;
    /// assert_eq!(flow.likelihood(), Contribution::Bound);
    /// let x = Tensor::new(&[[0.3f64], [-1.0]], &Device::Cpu)?;
    /// let lp = flow.log_prob_iw(&x, None, 16)?;
    /// assert_eq!(lp.dims(), &[2]);
    /// # Ok::<(), flowinfer::Error>(())
    /// ```
    pub fn log_prob_iw(&self, x: &Tensor, ctx: Option<&Tensor>, k: usize) -> Result<Tensor> {
        if k == 0 {
            return Err(Error::config(
                "importance-weighted log_prob: the number of samples K must be at least 1",
            ));
        }
        let n = self.check_inputs(x, ctx)?;
        if k == 1 || self.likelihood() == Contribution::Exact {
            return self.log_prob_unchecked(x, ctx);
        }
        let copies = vec![x.clone(); k];
        let xk = Tensor::cat(&copies, 0)?;
        let ck = match ctx {
            Some(c) => Some(Tensor::cat(&vec![c.clone(); k], 0)?),
            None => None,
        };
        let l = self.log_prob_unchecked(&xk, ck.as_ref())?.reshape((k, n))?;
        let m = l.max_keepdim(0)?.detach();
        let s = l.broadcast_sub(&m)?.exp()?.sum_keepdim(0)?.log()?;
        let lk = (k as f64).ln();
        Ok(((s + m)? - lk)?.squeeze(0)?)
    }
}
