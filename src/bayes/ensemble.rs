//! Deep ensembles (Lakshminarayanan et al. 2017): `K` flows of the same architecture
//! trained independently by maximum likelihood from different initialisations and
//! minibatch orders. The non-Bayesian baseline; its members are stored like weight
//! samples and go through the same prediction path.

use crate::bayes::store::SampleStore;
use crate::error::{Error, Result};
use crate::flow::{Flow, FlowSpec};
use crate::train::{Batches, EpochRecord, TrainReport, Trainer, TrainerConfig};
use candle_core::{DType, Device, Tensor};

/// Train `members` flows of `spec` on `train` (validation on `val`, early stopping as
/// configured); member `k` uses initialisation seed `seed + k` and minibatch seed
/// `cfg.seed + k`. `on_epoch(member, record)` sees every epoch.
#[allow(clippy::too_many_arguments)]
pub fn train_ensemble(
    spec: &FlowSpec,
    dtype: DType,
    train: &Tensor,
    val: Option<&Tensor>,
    cfg: &TrainerConfig,
    members: usize,
    seed: u64,
    mut on_epoch: impl FnMut(usize, &EpochRecord),
) -> Result<(SampleStore, Vec<TrainReport>)> {
    if members == 0 {
        return Err(Error::config("an ensemble needs at least one member"));
    }
    let mut store = SampleStore::new(members);
    let mut reports = Vec::with_capacity(members);
    for k in 0..members {
        let flow = Flow::new(
            spec.clone(),
            dtype,
            &Device::Cpu,
            seed.wrapping_add(k as u64),
        )?;
        flow.initialize_from_data(train, None)?;
        let trainer = Trainer::new(TrainerConfig {
            seed: cfg.seed.wrapping_add(k as u64),
            ..cfg.clone()
        })?;
        let rep = trainer.fit(
            flow.params(),
            Batches {
                x: train,
                ctx: None,
            },
            val.map(|v| Batches { x: v, ctx: None }),
            |x, _| Ok(flow.log_prob_unchecked(x, None)?.mean_all()?.neg()?),
            |r| on_epoch(k, r),
        )?;
        store.push(flow.params().snapshot()?)?;
        reports.push(rep);
    }
    Ok((store, reports))
}
