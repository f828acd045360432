//! The `Trainer`: minibatch training of any model held in a [`Params`] store against a
//! loss closure, with learning-rate schedules, gradient clipping, early stopping that
//! restores the best weights, rollback on non-finite losses, per-epoch atomic
//! checkpoints and exact resume. Density fitting, SBI and Bayesian training reuse it.

use crate::atomic::{previous_dir, write_dir_atomic};
use crate::error::{Error, Result};
use crate::params::Params;
use crate::train::{Adam, AdamConfig, LrSchedule};
use candle_core::{DType, Device, Tensor};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Trainer settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainerConfig {
    /// Maximum number of epochs.
    pub epochs: usize,
    /// Minibatch size.
    pub batch_size: usize,
    /// Base learning rate (Adam).
    pub lr: f64,
    /// Learning-rate schedule.
    pub schedule: LrSchedule,
    /// Clip the global gradient norm to this value.
    pub clip_grad_norm: Option<f64>,
    /// Stop after this many epochs without improvement of the monitored loss.
    pub patience: Option<usize>,
    /// Smallest decrease that counts as an improvement.
    pub min_delta: f64,
    /// Seed of the minibatch order (epoch `e` uses a generator seeded from `seed` and `e`).
    pub seed: u64,
    /// How often a non-finite loss may roll the epoch back before training fails.
    pub max_rollbacks: usize,
    /// Factor applied to the learning rate at each rollback.
    pub rollback_lr_factor: f64,
}

impl Default for TrainerConfig {
    fn default() -> Self {
        Self {
            epochs: 100,
            batch_size: 256,
            lr: 1e-3,
            schedule: LrSchedule::Constant,
            clip_grad_norm: None,
            patience: Some(12),
            min_delta: 1e-4,
            seed: 0,
            max_rollbacks: 5,
            rollback_lr_factor: 0.5,
        }
    }
}

impl TrainerConfig {
    /// Check the settings.
    pub fn validate(&self) -> Result<()> {
        if self.epochs == 0 || self.batch_size == 0 {
            return Err(Error::config("epochs and batch_size must be at least 1"));
        }
        if !(self.lr > 0.0 && self.lr.is_finite()) {
            return Err(Error::config(format!(
                "lr must be a positive number, got {}",
                self.lr
            )));
        }
        if let Some(c) = self.clip_grad_norm {
            if c.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) {
                return Err(Error::config(format!(
                    "clip_grad_norm must be > 0, got {c}"
                )));
            }
        }
        if self.patience == Some(0) {
            return Err(Error::config(
                "patience must be at least 1 (or absent for no early stopping)",
            ));
        }
        if !(self.min_delta.is_finite() && self.min_delta >= 0.0) {
            return Err(Error::config(format!(
                "min_delta must be a finite number ≥ 0, got {}",
                self.min_delta
            )));
        }
        if !(self.rollback_lr_factor > 0.0 && self.rollback_lr_factor < 1.0) {
            return Err(Error::config("rollback_lr_factor must lie in (0, 1)"));
        }
        self.schedule.validate()
    }
}

/// What happened in one epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// 0-based epoch.
    pub epoch: usize,
    /// Mean training loss (weighted by batch size).
    pub train_loss: f64,
    /// Validation loss, when validation data was given.
    pub val_loss: Option<f64>,
    /// Learning rate used.
    pub lr: f64,
    /// Wall time of the epoch in seconds.
    pub seconds: f64,
    /// Rollbacks that happened in this epoch before it succeeded.
    pub rollbacks: usize,
}

/// The outcome of training.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainReport {
    /// Every completed epoch.
    pub history: Vec<EpochRecord>,
    /// Epoch whose weights were kept (best monitored loss).
    pub best_epoch: usize,
    /// Best monitored loss (validation if given, else training).
    pub best_loss: f64,
    /// Whether early stopping ended the run.
    pub stopped_early: bool,
    /// Total rollbacks after non-finite losses.
    pub rollbacks: usize,
}

/// A data set of rows with an optional context per row.
#[derive(Debug, Clone, Copy)]
pub struct Batches<'a> {
    /// Inputs `(n, d)`.
    pub x: &'a Tensor,
    /// Context `(n, c)`.
    pub ctx: Option<&'a Tensor>,
}

impl Batches<'_> {
    fn len(&self) -> Result<usize> {
        Ok(self.x.dim(0)?)
    }
}

/// State saved in `trainer.json` inside a checkpoint.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct TrainerState {
    config: TrainerConfig,
    next_epoch: usize,
    history: Vec<EpochRecord>,
    best_epoch: usize,
    best_loss: f64,
    since_best: usize,
    lr_scale: f64,
    rollbacks: usize,
}

/// The trainer.
#[derive(Debug, Clone)]
pub struct Trainer {
    cfg: TrainerConfig,
    checkpoint: Option<PathBuf>,
    resume: bool,
    /// Learning-rate multipliers by parameter-name suffix.
    lr_scales: Vec<(String, f64)>,
}

impl Trainer {
    /// A trainer with the given settings and no checkpoints.
    pub fn new(cfg: TrainerConfig) -> Result<Self> {
        cfg.validate()?;
        Ok(Self {
            cfg,
            checkpoint: None,
            resume: false,
            lr_scales: Vec::new(),
        })
    }

    /// Step the parameters whose last name component is `suffix` (e.g.
    /// `weight_logvar` matches `t0.net.l1.weight_logvar`) with `factor` times the
    /// scheduled learning rate. Rules are checked in the order given; the first match
    /// wins. An error at `fit` if `factor` is not a positive number.
    pub fn with_lr_scale(mut self, suffix: impl Into<String>, factor: f64) -> Self {
        self.lr_scales.push((suffix.into(), factor));
        self
    }

    /// The learning-rate multiplier of the parameter called `name` (1 when no rule of
    /// [`Trainer::with_lr_scale`] matches).
    pub fn lr_scale_of(&self, name: &str) -> f64 {
        self.lr_scales
            .iter()
            .find(|(suffix, _)| name == suffix || name.ends_with(&format!(".{suffix}")))
            .map_or(1.0, |(_, f)| *f)
    }

    /// Write a checkpoint into `dir` after every epoch; with `resume`, continue from the
    /// checkpoint found there (an error if its settings differ).
    pub fn with_checkpoints(mut self, dir: impl Into<PathBuf>, resume: bool) -> Self {
        self.checkpoint = Some(dir.into());
        self.resume = resume;
        self
    }

    /// The settings.
    pub fn config(&self) -> &TrainerConfig {
        &self.cfg
    }

    /// Train the parameters in `params` to minimise `loss(x_batch, ctx_batch)` (a scalar
    /// mean loss). `on_epoch` sees every completed epoch (progress bars).
    pub fn fit(
        &self,
        params: &Params,
        train: Batches<'_>,
        val: Option<Batches<'_>>,
        loss: impl Fn(&Tensor, Option<&Tensor>) -> Result<Tensor>,
        mut on_epoch: impl FnMut(&EpochRecord),
    ) -> Result<TrainReport> {
        let cfg = &self.cfg;
        let n = train.len()?;
        if n == 0 {
            return Err(Error::config("no training rows"));
        }
        let named = params.named_vars();
        let scales: Vec<f64> = named.iter().map(|(k, _)| self.lr_scale_of(k)).collect();
        let mut opt = Adam::new(
            named.into_iter().map(|(_, v)| v).collect(),
            AdamConfig {
                lr: cfg.lr,
                ..Default::default()
            },
        )?;
        if !self.lr_scales.is_empty() {
            opt.set_lr_scales(scales)?;
        }
        let mut st = TrainerState {
            config: cfg.clone(),
            next_epoch: 0,
            history: Vec::new(),
            best_epoch: 0,
            best_loss: f64::INFINITY,
            since_best: 0,
            lr_scale: 1.0,
            rollbacks: 0,
        };
        let mut best = params.snapshot()?;
        if let (Some(dir), true) = (&self.checkpoint, self.resume) {
            if let Some(loaded) = load_checkpoint(dir, params, &mut opt)? {
                if loaded.0.config != *cfg {
                    return Err(Error::file(
                        dir.join("trainer.json"),
                        "the checkpoint was written with other training settings; resume with the same spec or start afresh",
                    ));
                }
                st = loaded.0;
                best = loaded.1;
            }
        }
        let mut stopped_early = false;
        let mut epoch = st.next_epoch;
        while epoch < cfg.epochs {
            if cfg.patience.is_some_and(|p| st.since_best >= p) {
                stopped_early = true;
                break;
            }
            let start = Instant::now();
            let good = params.snapshot()?;
            let good_opt = opt.state()?;
            let mut epoch_rollbacks = 0;
            let (train_loss, lr) = loop {
                let lr = cfg.schedule.rate(cfg.lr, epoch, cfg.epochs) * st.lr_scale;
                opt.set_learning_rate(lr);
                match self.run_epoch(&mut opt, train, n, epoch, &loss)? {
                    Some(l) => break (l, lr),
                    None => {
                        st.rollbacks += 1;
                        epoch_rollbacks += 1;
                        if st.rollbacks > cfg.max_rollbacks {
                            return Err(Error::config(format!(
                                "training diverged: non-finite loss in epoch {epoch} after {} rollbacks (last learning rate {lr:.3e}); lower lr or enable clip_grad_norm",
                                cfg.max_rollbacks
                            )));
                        }
                        params.restore(&good)?;
                        opt.load_state(&good_opt.iter().cloned().collect::<HashMap<_, _>>())?;
                        st.lr_scale *= cfg.rollback_lr_factor;
                    }
                }
            };
            let val_loss = match val {
                Some(v) => Some(evaluate(v, cfg.batch_size.max(1024), &loss)?),
                None => None,
            };
            let monitored = val_loss.unwrap_or(train_loss);
            if monitored < st.best_loss - cfg.min_delta {
                st.best_loss = monitored;
                st.best_epoch = epoch;
                st.since_best = 0;
                best = params.snapshot()?;
            } else {
                st.since_best += 1;
            }
            let rec = EpochRecord {
                epoch,
                train_loss,
                val_loss,
                lr,
                seconds: start.elapsed().as_secs_f64(),
                rollbacks: epoch_rollbacks,
            };
            st.history.push(rec.clone());
            st.next_epoch = epoch + 1;
            if let Some(dir) = &self.checkpoint {
                save_checkpoint(dir, &st, params, &opt, &best)?;
            }
            on_epoch(&rec);
            epoch += 1;
        }
        params.restore(&best)?;
        Ok(TrainReport {
            history: st.history,
            best_epoch: st.best_epoch,
            best_loss: st.best_loss,
            stopped_early,
            rollbacks: st.rollbacks,
        })
    }

    /// One pass over the shuffled training rows; `None` if a loss was not finite.
    fn run_epoch(
        &self,
        opt: &mut Adam,
        train: Batches<'_>,
        n: usize,
        epoch: usize,
        loss: &impl Fn(&Tensor, Option<&Tensor>) -> Result<Tensor>,
    ) -> Result<Option<f64>> {
        let seed = self.cfg.seed ^ (epoch as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let mut order: Vec<u32> = (0..n as u32).collect();
        order.shuffle(&mut rand::rngs::StdRng::seed_from_u64(seed));
        let idx = Tensor::from_vec(order, n, train.x.device())?;
        let xs = train.x.index_select(&idx, 0)?;
        let cs = train.ctx.map(|c| c.index_select(&idx, 0)).transpose()?;
        let (mut sum, mut start) = (0.0, 0);
        while start < n {
            let len = self.cfg.batch_size.min(n - start);
            let xb = xs.narrow(0, start, len)?;
            let cb = cs.as_ref().map(|c| c.narrow(0, start, len)).transpose()?;
            let l = loss(&xb, cb.as_ref())?;
            let v = l.to_dtype(DType::F64)?.to_scalar::<f64>()?;
            if !v.is_finite() {
                return Ok(None);
            }
            if let Some(norm) = opt.backward_step(&l, self.cfg.clip_grad_norm)? {
                if !norm.is_finite() {
                    return Ok(None);
                }
            }
            sum += v * len as f64;
            start += len;
        }
        // A finite loss can still come with an infinite gradient: never keep (or
        // checkpoint) weights that are not finite.
        if !opt.parameters_finite()? {
            return Ok(None);
        }
        Ok(Some(sum / n as f64))
    }
}

/// Mean loss over all rows, in batches of `batch` (weighted by batch size).
pub fn evaluate(
    data: Batches<'_>,
    batch: usize,
    loss: &impl Fn(&Tensor, Option<&Tensor>) -> Result<Tensor>,
) -> Result<f64> {
    let n = data.len()?;
    if n == 0 {
        return Err(Error::config("evaluate: no rows"));
    }
    let (mut sum, mut start) = (0.0, 0);
    while start < n {
        let len = batch.min(n - start);
        let xb = data.x.narrow(0, start, len)?;
        let cb = data.ctx.map(|c| c.narrow(0, start, len)).transpose()?;
        sum += loss(&xb.detach(), cb.as_ref())?
            .to_dtype(DType::F64)?
            .to_scalar::<f64>()?
            * len as f64;
        start += len;
    }
    Ok(sum / n as f64)
}

fn save_tensors(path: &Path, tensors: &[(String, Tensor)]) -> Result<()> {
    let map: HashMap<String, Tensor> = tensors
        .iter()
        .map(|(k, t)| Ok((k.clone(), t.to_device(&Device::Cpu)?)))
        .collect::<Result<_>>()?;
    candle_core::safetensors::save(&map, path).map_err(|e| Error::file(path, e.to_string()))
}

fn load_tensors(path: &Path) -> Result<Vec<(String, Tensor)>> {
    let map = candle_core::safetensors::load(path, &Device::Cpu)
        .map_err(|e| Error::file(path, format!("cannot read checkpoint tensors: {e}")))?;
    let mut v: Vec<(String, Tensor)> = map.into_iter().collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(v)
}

/// Write the checkpoint into a staging directory, then swap it in for `dir`
/// ([`write_dir_atomic`]), so that a crash leaves either the old or the new checkpoint,
/// never a mixture.
fn save_checkpoint(
    dir: &Path,
    st: &TrainerState,
    params: &Params,
    opt: &Adam,
    best: &[(String, Tensor)],
) -> Result<()> {
    write_dir_atomic(dir, |tmp| {
        save_tensors(&tmp.join("weights.safetensors"), &params.snapshot()?)?;
        save_tensors(&tmp.join("best.safetensors"), best)?;
        save_tensors(&tmp.join("optimizer.safetensors"), &opt.state()?)?;
        std::fs::write(tmp.join("trainer.json"), serde_json::to_string_pretty(st)?)
            .map_err(|e| Error::file(tmp.join("trainer.json"), e.to_string()))
    })
}

type Loaded = (TrainerState, Vec<(String, Tensor)>);

fn load_checkpoint(dir: &Path, params: &Params, opt: &mut Adam) -> Result<Option<Loaded>> {
    let dir = if dir.exists() {
        dir.to_path_buf()
    } else if previous_dir(dir).exists() {
        previous_dir(dir)
    } else {
        return Ok(None);
    };
    let json = dir.join("trainer.json");
    let text = std::fs::read_to_string(&json).map_err(|e| Error::file(&json, e.to_string()))?;
    let st: TrainerState = serde_json::from_str(&text)
        .map_err(|e| Error::file(&json, format!("not a valid trainer state: {e}")))?;
    params.restore(&load_tensors(&dir.join("weights.safetensors"))?)?;
    let best = load_tensors(&dir.join("best.safetensors"))?;
    let state: HashMap<String, Tensor> = load_tensors(&dir.join("optimizer.safetensors"))?
        .into_iter()
        .collect();
    opt.load_state(&state)?;
    Ok(Some((st, best)))
}
