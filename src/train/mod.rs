//! Training. This module holds the minimal maximum-likelihood loop of the flow core
//! (Adam on the mean negative log-likelihood, shuffled minibatches); the full `Trainer`
//! (schedules, early stopping, checkpoints, progress) builds on it.

pub mod adam;
pub mod schedule;
pub mod trainer;

pub use adam::{Adam, AdamConfig};
pub use schedule::LrSchedule;
pub use trainer::{evaluate, Batches, EpochRecord, TrainReport, Trainer, TrainerConfig};

use crate::error::Result;
use crate::flow::Flow;
use candle_core::{DType, Tensor};

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

/// Fit `flow` to the rows of `train` by the [`Trainer`] on the mean NLL (the flow's
/// data-dependent layers are initialised from `train` first).
pub fn fit_nll(
    flow: &Flow,
    train: &Tensor,
    val: Option<&Tensor>,
    cfg: &TrainerConfig,
) -> Result<FitHistory> {
    fit_nll_with_progress(flow, train, val, cfg, |_, _| {})
}

/// [`fit_nll`] calling `on_epoch(epoch, &history)` after every epoch (for progress bars).
pub fn fit_nll_with_progress(
    flow: &Flow,
    train: &Tensor,
    val: Option<&Tensor>,
    cfg: &TrainerConfig,
    mut on_epoch: impl FnMut(usize, &FitHistory),
) -> Result<FitHistory> {
    flow.check_inputs(train, None)?;
    if let Some(v) = val {
        flow.check_inputs(v, None)?;
    }
    flow.initialize_from_data(train, None)?;
    let trainer = Trainer::new(cfg.clone())?;
    let mut hist = FitHistory::default();
    trainer.fit(
        flow.params(),
        Batches {
            x: train,
            ctx: None,
        },
        val.map(|v| Batches { x: v, ctx: None }),
        |x, _| Ok(flow.log_prob_unchecked(x, None)?.mean_all()?.neg()?),
        |rec| {
            hist.train_nll.push(rec.train_loss);
            if let Some(v) = rec.val_loss {
                hist.val_nll.push(v);
            }
            on_epoch(rec.epoch, &hist);
        },
    )?;
    Ok(hist)
}
