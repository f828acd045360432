//! `DistillConfig`: the student's architecture, the teacher–student pairs, the loss
//! weights and the training settings of [`distill`](crate::distill::distill).

use crate::error::{Error, Result};
use crate::train::{LrSchedule, TrainerConfig};
use serde::{Deserialize, Serialize};

/// Settings of a MAF → IAF distillation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DistillConfig {
    /// Student blocks (`None`: as many as the teacher, which aligns the layers and
    /// enables the per-block latent loss).
    pub blocks: Option<usize>,
    /// Student conditioner width (`None`: the teacher's).
    pub hidden: Option<usize>,
    /// Teacher latents `z` drawn (with the teacher's states `T⁻¹(z)`) for training.
    pub pairs: usize,
    /// Further pairs for validation (early stopping).
    pub val_pairs: usize,
    /// Weight of the reverse KL `E_q[log q − log p_teacher]` on the student's own
    /// samples (nats; default 0.01 — at weight 1 its noisy gradient swamped the
    /// teacher-latent terms on Auger, docs/GENERATION.md).
    pub kl_weight: f64,
    /// Weight of the per-block teacher-latent loss: mean squared difference between
    /// each student block's output and the teacher block's, given the teacher's
    /// input state (CaloFlow's teacher–student term; aligned layers only).
    pub block_weight: f64,
    /// Weight of the end-to-end loss: mean squared difference between the student's
    /// and the teacher's sample for the same `z`, in standardised units.
    pub output_weight: f64,
    /// Weight of the student's NLL of the teacher's samples (forward KL; sequential
    /// density, so only `nll_rows` rows per batch; default 0.05 — on Auger it took the
    /// student's test NLL below the teacher's, docs/GENERATION.md).
    pub nll_weight: f64,
    /// Rows of each batch in the nll term.
    pub nll_rows: usize,
    /// Training (epochs, batch size, learning rate, schedule, early stopping).
    pub train: TrainerConfig,
    /// Seed of the student's initialisation and of the pairs.
    pub seed: u64,
}

impl Default for DistillConfig {
    fn default() -> Self {
        Self {
            blocks: None,
            hidden: None,
            pairs: 20_000,
            val_pairs: 4_000,
            kl_weight: 0.01,
            block_weight: 1.0,
            output_weight: 1.0,
            nll_weight: 0.05,
            nll_rows: 64,
            train: TrainerConfig {
                epochs: 60,
                batch_size: 256,
                lr: 1e-3,
                schedule: LrSchedule::Cosine {
                    warmup: 2,
                    min_lr: 1e-5,
                },
                clip_grad_norm: Some(5.0),
                patience: Some(20),
                ..TrainerConfig::default()
            },
            seed: 0,
        }
    }
}

impl DistillConfig {
    /// Check the settings (an [`Error::Config`] naming the bad value).
    pub fn validate(&self) -> Result<()> {
        if self.blocks == Some(0) || self.hidden == Some(0) {
            return Err(Error::config(
                "distill: student blocks and hidden must be at least 1",
            ));
        }
        if self.pairs < 2 {
            return Err(Error::config(format!(
                "distill: pairs must be at least 2, got {}",
                self.pairs
            )));
        }
        let w = [
            self.kl_weight,
            self.block_weight,
            self.output_weight,
            self.nll_weight,
        ];
        if w.iter().any(|v| !(v.is_finite() && *v >= 0.0)) || w.iter().all(|v| *v == 0.0) {
            return Err(Error::config(format!(
                "distill: loss weights must be finite, ≥ 0 and not all 0, got kl {}, block {}, output {}, nll {}",
                self.kl_weight, self.block_weight, self.output_weight, self.nll_weight
            )));
        }
        self.train.validate()
    }
}
