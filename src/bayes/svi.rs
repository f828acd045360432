//! Weight-space stochastic variational inference.
//!
//! Convention: with `N` training events the negative ELBO per event is
//!
//! ```text
//! L(q) = (1/N) Σ_i E_q[−log p(x_i | w)] + β · KL(q(w) ‖ p(w)) / N
//! ```
//!
//! estimated on a minibatch by the mean NLL over the batch (averaged over `mc_samples`
//! local-reparameterisation draws) plus `β · KL / N`; `β = kl_weight` (1 = the ELBO),
//! ramped linearly from 0 over `kl_anneal_epochs` epochs when annealing is on. The
//! minibatch estimate is unbiased for `L`, so the same learning rates as maximum
//! likelihood apply. MAP mode uses the means only and `Σ μ²/(2σ_p²) / N` as the prior.

use crate::error::Result;
use crate::nn::{NoiseControl, WeightNoise};
use candle_core::Tensor;
use std::cell::Cell;

/// The SVI (or MAP) objective of one model, as a loss for the `Trainer`.
#[derive(Debug)]
pub struct Elbo {
    control: NoiseControl,
    n_train: usize,
    kl_weight: f64,
    anneal_epochs: usize,
    mc_samples: usize,
    map: bool,
    epoch: Cell<usize>,
}

impl Elbo {
    /// The objective for `n_train` training events.
    pub fn new(
        control: NoiseControl,
        n_train: usize,
        kl_weight: f64,
        anneal_epochs: usize,
        mc_samples: usize,
    ) -> Self {
        Self {
            control,
            n_train: n_train.max(1),
            kl_weight,
            anneal_epochs,
            mc_samples: mc_samples.max(1),
            map: false,
            epoch: Cell::new(0),
        }
    }

    /// The MAP objective: means only, the prior as weight decay.
    pub fn map(control: NoiseControl, n_train: usize) -> Self {
        let mut e = Self::new(control, n_train, 1.0, 0, 1);
        e.map = true;
        e
    }

    /// Tell the objective which epoch is running (for KL annealing).
    pub fn set_epoch(&self, epoch: usize) {
        self.epoch.set(epoch);
    }

    /// The KL factor `β` used in the current epoch.
    pub fn kl_factor(&self) -> f64 {
        if self.anneal_epochs == 0 {
            self.kl_weight
        } else {
            self.kl_weight * ((self.epoch.get() + 1) as f64 / self.anneal_epochs as f64).min(1.0)
        }
    }

    /// `mean NLL + β KL / N` with `nll()` the mean NLL of the current batch (called
    /// `mc_samples` times under local-reparameterisation noise; once at the means in
    /// MAP mode).
    pub fn loss(&self, nll: impl Fn() -> Result<Tensor>) -> Result<Tensor> {
        if self.map {
            self.control.set(WeightNoise::Mean);
            let l = nll()?;
            return Ok(match self.control.prior_penalty()? {
                Some(p) => (l + (p / self.n_train as f64)?)?,
                None => l,
            });
        }
        self.control.set(WeightNoise::Local);
        let mut total = nll()?;
        for _ in 1..self.mc_samples {
            total = (total + nll()?)?;
        }
        let mut l = (total / self.mc_samples as f64)?;
        let beta = self.kl_factor();
        if beta > 0.0 {
            if let Some(kl) = self.control.kl()? {
                l = (l + (kl * (beta / self.n_train as f64))?)?;
            }
        }
        Ok(l)
    }

    /// The KL term `KL(q ‖ p)` in nats (for reports).
    pub fn kl_value(&self) -> Result<f64> {
        Ok(match self.control.kl()? {
            Some(k) => k.to_dtype(candle_core::DType::F64)?.to_scalar::<f64>()?,
            None => 0.0,
        })
    }
}
