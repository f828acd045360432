//! Training. This module holds the minimal maximum-likelihood loop of the flow core
//! (Adam on the mean negative log-likelihood, shuffled minibatches); the full `Trainer`
//! (schedules, early stopping, checkpoints, progress) builds on it.

pub mod adam;

pub use adam::{Adam, AdamConfig};

use crate::error::{Error, Result};
use crate::flow::Flow;
use candle_core::{DType, Tensor};
use rand::seq::SliceRandom;
use rand::SeedableRng;

/// Settings of [`fit_nll`].
#[derive(Debug, Clone)]
pub struct FitConfig {
    /// Passes over the training data.
    pub epochs: usize,
    /// Minibatch size.
    pub batch_size: usize,
    /// Adam learning rate.
    pub learning_rate: f64,
    /// Seed for the minibatch order.
    pub seed: u64,
}

impl Default for FitConfig {
    fn default() -> Self {
        Self {
            epochs: 20,
            batch_size: 256,
            learning_rate: 1e-3,
            seed: 0,
        }
    }
}

/// Per-epoch mean losses (nats per event).
#[derive(Debug, Clone, Default)]
pub struct FitHistory {
    /// Mean training NLL per epoch (averaged over minibatches).
    pub train_nll: Vec<f64>,
    /// Validation NLL per epoch (when validation data was given).
    pub val_nll: Vec<f64>,
}

/// Mean negative log-likelihood of the rows of `x`, evaluated in batches of `batch`.
pub fn mean_nll(flow: &Flow, x: &Tensor, ctx: Option<&Tensor>, batch: usize) -> Result<f64> {
    let n = flow.check_inputs(x, ctx)?;
    let mut total = 0.0;
    let mut start = 0;
    while start < n {
        let len = batch.min(n - start);
        let c = ctx.map(|c| c.narrow(0, start, len)).transpose()?;
        let lp = flow.log_prob_unchecked(&x.narrow(0, start, len)?, c.as_ref())?;
        total += lp.to_dtype(DType::F64)?.sum_all()?.to_scalar::<f64>()?;
        start += len;
    }
    Ok(-total / n as f64)
}

/// Fit `flow` to the rows of `train` by Adam on the mean NLL. Non-finite losses abort
/// with an error naming the epoch (the full Trainer rolls back instead).
pub fn fit_nll(
    flow: &Flow,
    train: &Tensor,
    val: Option<&Tensor>,
    cfg: &FitConfig,
) -> Result<FitHistory> {
    fit_nll_with_progress(flow, train, val, cfg, |_, _| {})
}

/// [`fit_nll`] calling `on_epoch(epoch, &history)` after every epoch (for progress bars).
pub fn fit_nll_with_progress(
    flow: &Flow,
    train: &Tensor,
    val: Option<&Tensor>,
    cfg: &FitConfig,
    mut on_epoch: impl FnMut(usize, &FitHistory),
) -> Result<FitHistory> {
    let n = flow.check_inputs(train, None)?;
    if let Some(v) = val {
        flow.check_inputs(v, None)?;
    }
    if cfg.batch_size == 0
        || cfg.learning_rate.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater)
    {
        return Err(Error::config(
            "batch_size must be ≥ 1 and learning_rate > 0",
        ));
    }
    flow.initialize_from_data(train, None)?;
    let mut opt = Adam::new(
        flow.params().all_vars(),
        AdamConfig {
            lr: cfg.learning_rate,
            ..Default::default()
        },
    )?;
    let mut rng = rand::rngs::StdRng::seed_from_u64(cfg.seed);
    let mut order: Vec<u32> = (0..n as u32).collect();
    let mut hist = FitHistory::default();
    for epoch in 0..cfg.epochs {
        order.shuffle(&mut rng);
        let idx = Tensor::from_slice(&order, n, train.device())?;
        let shuffled = train.index_select(&idx, 0)?;
        let (mut sum, mut count) = (0.0, 0usize);
        let mut start = 0;
        while start < n {
            let len = cfg.batch_size.min(n - start);
            let xb = shuffled.narrow(0, start, len)?;
            let loss = flow.log_prob_unchecked(&xb, None)?.mean_all()?.neg()?;
            opt.backward_step(&loss, None)?;
            let l = loss.to_dtype(DType::F64)?.to_scalar::<f64>()?;
            if !l.is_finite() {
                return Err(Error::config(format!(
                    "training diverged: non-finite loss in epoch {epoch}; lower the learning rate"
                )));
            }
            sum += l * len as f64;
            count += len;
            start += len;
        }
        hist.train_nll.push(sum / count as f64);
        if let Some(v) = val {
            hist.val_nll.push(mean_nll(flow, v, None, 4096)?);
        }
        on_epoch(epoch, &hist);
    }
    Ok(hist)
}
