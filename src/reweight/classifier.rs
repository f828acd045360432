//! The DCTR classifier: an MLP (the project's [`ConditionerSpec::mlp`] network, one
//! output logit) trained with the [`Trainer`] on the class-balanced, event-weighted
//! binary cross-entropy between generated events (label 0, weight `wᵢ`) and reference
//! events (label 1, weight 1).
//!
//! **Balance.** Each class carries half of the total weight of the training rows, so
//! the minimiser of the loss is `D(x) = p_ref(x) / (p_ref(x) + p_gen,w(x))` whatever
//! the class sizes, and its logit `s(x) = ln(D/(1 − D))` estimates
//! `ln p_ref(x)/p_gen,w(x)` directly — the log of the DCTR weight.
//!
//! **Inputs** are z-scored with the mean and standard deviation of the training rows
//! (both classes; a constant column is only centred). **Early stopping** monitors the
//! loss on a seeded validation part of the training rows; the best weights are kept.

use crate::error::{Error, Result};
use crate::nn::{Conditioner, ConditionerSpec};
use crate::params::Params;
use crate::train::{Batches, Trainer, TrainerConfig};
use candle_core::{DType, Device, Tensor};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};

/// Network and training settings of the DCTR classifiers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClassifierConfig {
    /// Width of the hidden layers (≥ 1; default 64).
    pub hidden: usize,
    /// Number of hidden layers (≥ 1; default 2).
    pub layers: usize,
    /// Maximum training epochs (≥ 1; default 100; early stopping usually ends sooner).
    pub epochs: usize,
    /// Minibatch size (≥ 1; default 256).
    pub batch_size: usize,
    /// Adam learning rate (default 1e-3).
    pub lr: f64,
    /// Early-stopping patience in epochs (default 10).
    pub patience: usize,
    /// Fraction of the training rows held out for early stopping (in [0, 0.5];
    /// default 0.2; 0 = no early stopping).
    pub val_fraction: f64,
}

impl Default for ClassifierConfig {
    fn default() -> Self {
        Self {
            hidden: 64,
            layers: 2,
            epochs: 100,
            batch_size: 256,
            lr: 1e-3,
            patience: 10,
            val_fraction: 0.2,
        }
    }
}

impl ClassifierConfig {
    /// Check the settings (an [`Error::Config`] naming the bad value).
    pub fn validate(&self) -> Result<()> {
        if self.hidden == 0 || self.layers == 0 || self.epochs == 0 || self.batch_size == 0 {
            return Err(Error::config(format!(
                "reweight classifier: hidden, layers, epochs and batch_size must be ≥ 1, got {self:?}"
            )));
        }
        if !(0.0..=0.5).contains(&self.val_fraction) {
            return Err(Error::config(format!(
                "reweight classifier: val_fraction must lie in [0, 0.5], got {}",
                self.val_fraction
            )));
        }
        self.trainer(0).validate()
    }

    fn trainer(&self, seed: u64) -> TrainerConfig {
        TrainerConfig {
            epochs: self.epochs,
            batch_size: self.batch_size,
            lr: self.lr,
            patience: (self.val_fraction > 0.0).then_some(self.patience.max(1)),
            seed,
            ..TrainerConfig::default()
        }
    }
}

/// One labelled, weighted training or scoring set: rows of `d` values, `label` 0
/// (generated) or 1 (reference), a per-row weight.
#[derive(Debug, Clone, Copy)]
pub struct Labelled<'a> {
    /// Row-major values, `n · d`.
    pub x: &'a [f64],
    /// One label per row (`false` = generated, `true` = reference).
    pub label: &'a [bool],
    /// One weight per row (generated: the event weight; reference: 1).
    pub weight: &'a [f64],
}

impl Labelled<'_> {
    fn rows(&self) -> usize {
        self.label.len()
    }
}

/// A trained classifier with its input standardisation.
#[derive(Debug)]
pub struct Classifier {
    net: Box<dyn Conditioner>,
    mean: Vec<f64>,
    inv_sd: Vec<f64>,
}

impl Classifier {
    /// Train on `data` (`d` columns) with `cfg`; `seed` fixes initialisation, the
    /// validation split and the minibatch order.
    ///
    /// Errors ([`Error::Config`]) for invalid settings, fewer than 4 rows, a class
    /// without rows or without positive weight, or training that diverged.
    pub fn train(data: Labelled<'_>, d: usize, cfg: &ClassifierConfig, seed: u64) -> Result<Self> {
        cfg.validate()?;
        let n = data.rows();
        if n < 4 || data.x.len() != n * d || data.weight.len() != n {
            return Err(Error::config(format!(
                "reweight classifier: expected ≥ 4 rows of {d} values with one label and weight each, got {n} labels, {} values, {} weights",
                data.x.len(),
                data.weight.len()
            )));
        }
        let (mean, inv_sd) = standardisation(data.x, d);
        // Class-balanced sample weights: each class sums to n / 2.
        let (mut sum_gen, mut sum_ref) = (0.0, 0.0);
        for (w, l) in data.weight.iter().zip(data.label) {
            if *l {
                sum_ref += w;
            } else {
                sum_gen += w;
            }
        }
        if !(sum_gen > 0.0 && sum_ref > 0.0) {
            return Err(Error::config(
                "reweight classifier: both classes need rows with positive weight",
            ));
        }
        let half = n as f64 / 2.0;
        let mut ctx = Vec::with_capacity(2 * n);
        for (w, l) in data.weight.iter().zip(data.label) {
            let bw = if *l {
                w * half / sum_ref
            } else {
                w * half / sum_gen
            };
            ctx.extend([f32::from(u8::from(*l)), bw as f32]);
        }
        let x = to_tensor(data.x, d, &mean, &inv_sd)?;
        let ctx = Tensor::from_vec(ctx, (n, 2), &Device::Cpu)?;

        let mut order: Vec<u32> = (0..n as u32).collect();
        order.shuffle(&mut rand::rngs::StdRng::seed_from_u64(seed ^ 0x5eed_da7a));
        let n_val = ((n as f64) * cfg.val_fraction).round() as usize;
        let (val_idx, train_idx) = order.split_at(n_val.min(n - 2));
        let pick = |idx: &[u32], t: &Tensor| -> Result<Tensor> {
            Ok(t.index_select(&Tensor::from_slice(idx, idx.len(), &Device::Cpu)?, 0)?)
        };
        let (xt, ct) = (pick(train_idx, &x)?, pick(train_idx, &ctx)?);
        let val = if val_idx.is_empty() {
            None
        } else {
            Some((pick(val_idx, &x)?, pick(val_idx, &ctx)?))
        };

        let params = Params::new(DType::F32, &Device::Cpu, seed);
        let net = ConditionerSpec::mlp(cfg.hidden, cfg.layers).build(&params, d, 0, 1)?;
        let trainer = Trainer::new(cfg.trainer(seed))?;
        trainer.fit(
            &params,
            Batches {
                x: &xt,
                ctx: Some(&ct),
            },
            val.as_ref().map(|(x, c)| Batches { x, ctx: Some(c) }),
            |xb, cb| {
                let c = cb.expect("labels and weights travel as the context");
                weighted_bce(&net.forward(xb, None)?, c)
            },
            |_| {},
        )?;
        Ok(Self { net, mean, inv_sd })
    }

    /// The logits `s(x) = ln D/(1 − D)` of `n` rows of `d` values (row-major), in one
    /// batched pass per 8192 rows.
    pub fn logits(&self, x: &[f64]) -> Result<Vec<f64>> {
        let d = self.mean.len();
        let n = x.len() / d;
        let mut out = Vec::with_capacity(n);
        for chunk in x.chunks(8192 * d) {
            let t = to_tensor(chunk, d, &self.mean, &self.inv_sd)?;
            let s = self
                .net
                .forward(&t, None)?
                .flatten_all()?
                .to_vec1::<f32>()?;
            out.extend(s.into_iter().map(f64::from));
        }
        if let Some(i) = out.iter().position(|s| !s.is_finite()) {
            return Err(Error::config(format!(
                "reweight classifier: non-finite score for row {i}; the training diverged (lower lr)"
            )));
        }
        Ok(out)
    }
}

/// Mean of `weight · (softplus(s) − y·s)` over the batch; `c` holds `(label, weight)`.
fn weighted_bce(s: &Tensor, c: &Tensor) -> Result<Tensor> {
    let y = c.narrow(1, 0, 1)?;
    let w = c.narrow(1, 1, 1)?;
    let softplus = (s.relu()? + (s.abs()?.neg()?.exp()? + 1.0)?.log()?)?;
    Ok(((softplus - (&y * s)?)? * w)?.mean_all()?)
}

/// Column means and inverse standard deviations (1 for a constant column).
fn standardisation(x: &[f64], d: usize) -> (Vec<f64>, Vec<f64>) {
    let n = (x.len() / d).max(1) as f64;
    let mut mean = vec![0.0; d];
    for row in x.chunks(d) {
        mean.iter_mut().zip(row).for_each(|(m, v)| *m += v / n);
    }
    let mut var = vec![0.0; d];
    for row in x.chunks(d) {
        for j in 0..d {
            var[j] += (row[j] - mean[j]).powi(2) / n;
        }
    }
    let inv_sd = var
        .into_iter()
        .map(|v| if v > 0.0 { 1.0 / v.sqrt() } else { 1.0 })
        .collect();
    (mean, inv_sd)
}

fn to_tensor(x: &[f64], d: usize, mean: &[f64], inv_sd: &[f64]) -> Result<Tensor> {
    let v: Vec<f32> = x
        .iter()
        .enumerate()
        .map(|(i, v)| ((v - mean[i % d]) * inv_sd[i % d]) as f32)
        .collect();
    Ok(Tensor::from_vec(v, (x.len() / d, d), &Device::Cpu)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logit_learns_the_log_density_ratio_of_two_gaussians() {
        // Generated N(0, 1), reference N(0.5, 1): ln p_ref/p_gen = 0.5·x − 0.125.
        use rand_distr::{Distribution, StandardNormal};
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let n = 3000;
        let mut x = Vec::new();
        let mut label = Vec::new();
        for i in 0..2 * n {
            let z: f64 = StandardNormal.sample(&mut rng);
            let is_ref = i >= n;
            x.push(z + if is_ref { 0.5 } else { 0.0 });
            label.push(is_ref);
        }
        let weight = vec![1.0; 2 * n];
        let cfg = ClassifierConfig {
            hidden: 16,
            epochs: 15,
            ..Default::default()
        };
        let c = Classifier::train(
            Labelled {
                x: &x,
                label: &label,
                weight: &weight,
            },
            1,
            &cfg,
            1,
        )
        .unwrap();
        let s = c.logits(&[-1.0, 0.0, 1.0]).unwrap();
        for (xv, sv) in [-1.0, 0.0, 1.0].iter().zip(&s) {
            let exact = 0.5 * xv - 0.125;
            assert!((sv - exact).abs() < 0.2, "x = {xv}: {sv} vs {exact}");
        }
    }

    #[test]
    fn bad_settings_and_shapes_are_errors() {
        let cfg = ClassifierConfig {
            val_fraction: 0.9,
            ..Default::default()
        };
        assert!(cfg.validate().is_err());
        let x = [0.0; 6];
        let l = [false, true, false, true, false, true];
        let w = [1.0; 6];
        let ok = ClassifierConfig::default();
        let only_gen = [false; 6];
        let r = Classifier::train(
            Labelled {
                x: &x,
                label: &only_gen,
                weight: &w,
            },
            1,
            &ok,
            0,
        );
        assert!(matches!(r, Err(Error::Config(_))));
        let r = Classifier::train(
            Labelled {
                x: &x[..5],
                label: &l,
                weight: &w,
            },
            1,
            &ok,
            0,
        );
        assert!(matches!(r, Err(Error::Config(_))));
    }
}
