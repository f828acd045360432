//! SGLD (Welling & Teh 2011), preconditioned SGLD (Li et al. 2016) and SGHMC (Chen et
//! al. 2014) over every parameter of a model, driven by a **mean-over-batch** loss.
//!
//! ## Noise scale for a mean loss
//!
//! The tempered posterior is `p_T(θ | D) ∝ exp(−N U(θ) / T)` with `N` training events and
//! `U(θ) = (1/N) Σ_i −log p(x_i | θ) − log p(θ) / N`, the per-event loss whose minibatch
//! estimate `Û` (batch mean NLL + prior / N) is what the code differentiates. Langevin
//! dynamics on the total potential `N U / T` with step `ε`,
//!
//! ```text
//! θ ← θ − ε ∇(N U / T) + √(2ε) ξ,        ξ ~ N(0, I),
//! ```
//!
//! written with the learning rate `η = ε N / T` that multiplies the gradient of the
//! *mean* loss, becomes
//!
//! ```text
//! θ ← θ − η ∇Û + √(2 η T / N) ξ.
//! ```
//!
//! Using `√(2η)` (the noise for a *summed* loss) with a mean loss inflates the posterior
//! variance by a factor `N`; that is the usual mistake. The same substitution gives
//!
//! * pSGLD: `V ← αV + (1−α) g²`, `P = 1 / (λ + √V)`, `θ ← θ − η P g + √(2 η T P / N) ξ`
//!   (`g = ∇Û`; the `Γ(θ)` correction term is dropped, as in the paper's experiments);
//! * SGHMC: `v ← (1 − a) v − η g + √(2 a η T / N) ξ`, `θ ← θ + v` (friction `a`, the
//!   gradient-noise estimate `β̂ = 0`).
//!
//! The Gaussian prior `N(0, σ_p²)` on every parameter adds `θ / (σ_p² N)` to the gradient.
//! `tests/bayes.rs` checks all three against the exact posterior of a Bayesian linear
//! regression.

use crate::bayes::store::SampleStore;
use crate::error::{Error, Result};
use crate::params::Params;
use crate::train::LrSchedule;
use candle_core::{DType, Tensor, Var};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// Which sampler.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SamplerKind {
    /// Plain SGLD.
    Sgld,
    /// RMSprop-preconditioned SGLD.
    Psgld {
        /// Decay of the squared-gradient average.
        alpha: f64,
        /// Regulariser of the preconditioner.
        lambda: f64,
    },
    /// SGHMC with friction `friction` (momentum decay per step).
    Sghmc {
        /// Friction `a` in (0, 1].
        friction: f64,
    },
}

/// Settings of one sampler.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SamplerConfig {
    /// The algorithm.
    pub kind: SamplerKind,
    /// Learning rate `η` on the mean loss.
    pub lr: f64,
    /// Temperature `T` (1 = the posterior).
    pub temperature: f64,
    /// Training events `N` (sets the noise scale).
    pub n_train: usize,
    /// Standard deviation of the Gaussian prior on every parameter (`None`: flat).
    pub prior_std: Option<f64>,
}

/// The sampler state over a list of variables.
#[derive(Debug)]
pub struct Sgmcmc {
    vars: Vec<Var>,
    cfg: SamplerConfig,
    aux: Vec<Vec<f64>>,
    rng: StdRng,
    steps: u64,
}

impl Sgmcmc {
    /// A sampler over `vars`, noise seeded by `seed`.
    pub fn new(vars: Vec<Var>, cfg: SamplerConfig, seed: u64) -> Result<Self> {
        if !(cfg.lr > 0.0 && cfg.lr.is_finite()) {
            return Err(Error::config(format!(
                "sampler learning rate must be positive, got {}",
                cfg.lr
            )));
        }
        if !(cfg.temperature > 0.0 && cfg.temperature.is_finite()) || cfg.n_train == 0 {
            return Err(Error::config(
                "sampler needs a positive temperature and at least one training event",
            ));
        }
        let aux = vars.iter().map(|v| vec![0.0; v.elem_count()]).collect();
        Ok(Self {
            vars,
            cfg,
            aux,
            rng: StdRng::seed_from_u64(seed),
            steps: 0,
        })
    }

    /// Change the learning rate (schedules).
    pub fn set_lr(&mut self, lr: f64) {
        self.cfg.lr = lr;
    }

    /// Steps taken.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// The settings.
    pub fn config(&self) -> &SamplerConfig {
        &self.cfg
    }

    /// Backpropagate the mean loss `loss` and take one step. A non-finite loss or
    /// non-finite weights after the step are an error naming the step (the caller must
    /// then discard the chain).
    pub fn step(&mut self, loss: &Tensor) -> Result<()> {
        self.steps += 1;
        let step = self.steps;
        let v = loss.to_dtype(DType::F64)?.to_scalar::<f64>()?;
        if !v.is_finite() {
            return Err(diverged(step, &format!("loss = {v}")));
        }
        let grads = loss.backward()?;
        let SamplerConfig {
            kind,
            lr,
            temperature,
            n_train,
            prior_std,
        } = self.cfg;
        let n = n_train as f64;
        let prior_prec = prior_std.map(|s| 1.0 / (s * s * n)).unwrap_or(0.0);
        for (var, aux) in self.vars.iter().zip(self.aux.iter_mut()) {
            let Some(g) = grads.get(var.as_tensor()) else {
                continue;
            };
            let g = g.to_dtype(DType::F64)?.flatten_all()?.to_vec1::<f64>()?;
            let mut th = var
                .as_tensor()
                .to_dtype(DType::F64)?
                .flatten_all()?
                .to_vec1::<f64>()?;
            let rng = &mut self.rng;
            let mut normal = || <StandardNormal as Distribution<f64>>::sample(&StandardNormal, rng);
            match kind {
                SamplerKind::Sgld => {
                    let s = (2.0 * lr * temperature / n).sqrt();
                    for (t, gi) in th.iter_mut().zip(&g) {
                        let gi = gi + prior_prec * *t;
                        *t += -lr * gi + s * normal();
                    }
                }
                SamplerKind::Psgld { alpha, lambda } => {
                    for ((t, gi), vv) in th.iter_mut().zip(&g).zip(aux.iter_mut()) {
                        let gi = gi + prior_prec * *t;
                        *vv = if step == 1 {
                            gi * gi
                        } else {
                            alpha * *vv + (1.0 - alpha) * gi * gi
                        };
                        let p = 1.0 / (lambda + vv.sqrt());
                        *t += -lr * p * gi + (2.0 * lr * temperature * p / n).sqrt() * normal();
                    }
                }
                SamplerKind::Sghmc { friction } => {
                    let s = (2.0 * friction * lr * temperature / n).sqrt();
                    for ((t, gi), mom) in th.iter_mut().zip(&g).zip(aux.iter_mut()) {
                        let gi = gi + prior_prec * *t;
                        *mom = (1.0 - friction) * *mom - lr * gi + s * normal();
                        *t += *mom;
                    }
                }
            }
            if let Some(bad) = th.iter().find(|t| !t.is_finite()) {
                return Err(diverged(step, &format!("a weight became {bad}")));
            }
            let t = Tensor::from_vec(th, var.shape(), var.device())?.to_dtype(var.dtype())?;
            var.set(&t)?;
        }
        Ok(())
    }
}

fn diverged(step: u64, what: &str) -> Error {
    Error::config(format!(
        "sampler chain diverged at step {step} ({what}); no sample from it was kept — lower the learning rate"
    ))
}

/// Settings of a whole chain over a data set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChainConfig {
    /// Passes over the training data.
    pub epochs: usize,
    /// Minibatch size.
    pub batch_size: usize,
    /// Learning-rate schedule (per epoch, from the sampler's base rate).
    pub schedule: LrSchedule,
    /// Epochs before samples are kept.
    pub burn_in_epochs: usize,
    /// Keep every `thin`-th step after burn-in.
    pub thin: usize,
    /// Most samples kept.
    pub max_samples: usize,
    /// Minibatch order and noise seed.
    pub seed: u64,
}

/// What a chain did.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChainReport {
    /// Steps taken.
    pub steps: u64,
    /// Samples kept.
    pub samples: usize,
    /// Steps between kept samples at the end (thinning × store stride).
    pub steps_between_samples: usize,
    /// Mean minibatch loss per epoch.
    pub epoch_loss: Vec<f64>,
    /// Learning rate per epoch.
    pub epoch_lr: Vec<f64>,
    /// Wall time in seconds.
    pub seconds: f64,
}

/// Run a chain of `sampler` over the rows of `x` (mean loss `loss(batch)`), keeping
/// weight samples of `params` after burn-in. `on_epoch(epoch, mean_loss)` sees every
/// epoch. A diverging chain is an error and returns no samples.
pub fn run_chain(
    params: &Params,
    x: &Tensor,
    mut sampler: Sgmcmc,
    cfg: &ChainConfig,
    loss: impl Fn(&Tensor) -> Result<Tensor>,
    mut on_epoch: impl FnMut(usize, f64),
) -> Result<(SampleStore, ChainReport)> {
    if cfg.epochs <= cfg.burn_in_epochs {
        return Err(Error::config(format!(
            "the chain runs {} epochs, all of them burn-in ({}): no sample would be kept",
            cfg.epochs, cfg.burn_in_epochs
        )));
    }
    if cfg.batch_size == 0 || cfg.thin == 0 {
        return Err(Error::config("batch_size and thin must be at least 1"));
    }
    let n = x.dim(0)?;
    if n == 0 {
        return Err(Error::config("no training rows"));
    }
    let start = Instant::now();
    let base_lr = sampler.config().lr;
    let mut store = SampleStore::new(cfg.max_samples);
    let mut report = ChainReport {
        steps: 0,
        samples: 0,
        steps_between_samples: cfg.thin,
        epoch_loss: Vec::new(),
        epoch_lr: Vec::new(),
        seconds: 0.0,
    };
    let mut since_kept = 0usize;
    for epoch in 0..cfg.epochs {
        let lr = cfg.schedule.rate(base_lr, epoch, cfg.epochs);
        sampler.set_lr(lr);
        let mut order: Vec<u32> = (0..n as u32).collect();
        let seed = cfg.seed ^ (epoch as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        order.shuffle(&mut StdRng::seed_from_u64(seed));
        let idx = Tensor::from_vec(order, n, x.device())?;
        let xs = x.index_select(&idx, 0)?;
        let (mut sum, mut at) = (0.0, 0);
        while at < n {
            let len = cfg.batch_size.min(n - at);
            let l = loss(&xs.narrow(0, at, len)?)?;
            sum += l.to_dtype(DType::F64)?.to_scalar::<f64>()? * len as f64;
            sampler.step(&l)?;
            at += len;
            if epoch >= cfg.burn_in_epochs {
                since_kept += 1;
                if since_kept >= cfg.thin {
                    since_kept = 0;
                    store.offer(params)?;
                }
            }
        }
        report.epoch_loss.push(sum / n as f64);
        report.epoch_lr.push(lr);
        on_epoch(epoch, sum / n as f64);
    }
    if store.is_empty() {
        store.push(params.snapshot()?)?;
    }
    report.steps = sampler.steps();
    report.samples = store.len();
    report.steps_between_samples = cfg.thin * store.stride();
    report.seconds = start.elapsed().as_secs_f64();
    Ok((store, report))
}
