//! The importance-weighted test figure of a flow whose likelihood is a stochastic
//! bound (augmentation, dequantization): `eval` and `fit` report the one-sample bound
//! as `nll` and, beside it, the negative mean of
//! [`Flow::log_prob_iw`](crate::flow::Flow::log_prob_iw) with `K` samples, which is
//! tighter (its expectation rises toward `log p` as `K` grows).

use crate::error::Result;
use crate::flow::Flow;
use crate::transforms::Contribution;
use candle_core::{DType, Tensor};
use serde::{Deserialize, Serialize};

/// `K` of the importance-weighted estimate when none is given (`[eval] iw_samples`,
/// `eval --iw-samples`).
pub const DEFAULT_IW_SAMPLES: usize = 100;

/// Rows per pass of the importance-weighted estimate (`K · batch` rows go through the
/// flow at once).
const ROWS_PER_PASS: usize = 65_536;

/// The importance-weighted NLL of a bound flow.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct IwNll {
    /// Importance samples per event.
    pub k: usize,
    /// `−mean log_prob_iw(x, K)` over the events (nats per event).
    pub nll: f64,
}

/// The default of [`Evaluation::likelihood`](crate::pipeline::Evaluation) in records
/// written before it existed.
pub fn exact() -> Contribution {
    Contribution::Exact
}

/// Read an `f64` that JSON holds as `null` when it was NaN (serde_json writes NaN so).
pub fn nan_if_null<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

/// The Gaussian-baseline test NLL, NaN where the training split has no Gaussian fit
/// (singular covariance); other errors pass through.
pub fn baseline_or_nan(train: &[Vec<f64>], test: &[Vec<f64>]) -> Result<f64> {
    match crate::metrics::gaussian_baseline_nll(train, test) {
        Ok(v) => Ok(v),
        Err(e) if e.to_string().contains("singular") => Ok(f64::NAN),
        Err(e) => Err(e),
    }
}

/// `−mean log_prob_iw(x, K)` over the rows of `x` (with their context rows), batched
/// so that at most [`ROWS_PER_PASS`] rows go through the flow at once; `None` for an
/// exact flow (its `nll` is already exact).
///
/// ```
/// use flowinfer::distributions::BaseSpec;
/// use flowinfer::flow::{Flow, FlowSpec};
/// use flowinfer::pipeline::iw::iw_nll;
/// use flowinfer::surjective::GaussianSpec;
/// use flowinfer::transforms::TransformSpec;
/// use candle_core::{DType, Device, Tensor};
/// let spec = FlowSpec { dim: 1, context_dim: 0, embedding: None,
///     base: BaseSpec::StandardNormal { dim: 2 },
///     transforms: vec![TransformSpec::Augment { dim: 1, extra: 1,
///         model: GaussianSpec::StandardNormal, seed: 0 }] };
/// let flow = Flow::new(spec, DType::F64, &Device::Cpu, 0)?;
/// let x = Tensor::new(&[[0.3f64], [-1.0]], &Device::Cpu)?;
/// let iw = iw_nll(&flow, &x, None, 8)?.unwrap();
/// // q(a | x) is the true p(a): every importance weight is exact
/// let exact = 0.5 * (0.09 + 1.0) / 2.0 + 0.5 * (2.0 * std::f64::consts::PI).ln();
/// assert!((iw.nll - exact).abs() < 1e-12 && iw.k == 8);
/// # Ok::<(), flowinfer::Error>(())
/// ```
pub fn iw_nll(flow: &Flow, x: &Tensor, ctx: Option<&Tensor>, k: usize) -> Result<Option<IwNll>> {
    let n = flow.check_inputs(x, ctx)?;
    if flow.likelihood() == Contribution::Exact {
        return Ok(None);
    }
    let batch = (ROWS_PER_PASS / k.max(1)).max(1);
    let mut total = 0.0;
    let mut start = 0;
    while start < n {
        let len = batch.min(n - start);
        let c = ctx.map(|c| c.narrow(0, start, len)).transpose()?;
        let lp = flow.log_prob_iw(&x.narrow(0, start, len)?, c.as_ref(), k)?;
        total += lp.to_dtype(DType::F64)?.sum_all()?.to_scalar::<f64>()?;
        start += len;
    }
    Ok(Some(IwNll {
        k,
        nll: -total / n as f64,
    }))
}
