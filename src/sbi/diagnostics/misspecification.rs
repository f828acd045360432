//! Is an observation typical of the simulator? A check for model misspecification.
//!
//! An unconditional flow `p̂(x)` is fitted to simulated observations (the prior
//! predictive distribution: the training simulations of the run). The log densities of
//! held-out simulations — never used for fitting nor for early stopping — are the
//! calibration set. An observation's **percentile** is the conformal p-value
//! `(1 + #{held-out with log p̂ ≤ log p̂(x_o)}) / (n + 1)`; it is flagged as atypical when
//! the percentile is below `level` (default 1 %). Held-out and fresh simulations are
//! exchangeable, so an observation the simulator did produce is flagged with
//! probability at most `level`, however good or poor `p̂` is; a poor `p̂` only costs
//! power against observations the simulator did not produce.
//!
//! `flowinfer sbi` fits the check when the spec has a `[misspecification]` section and
//! saves it in the run directory (`misspecification/`); `posterior` prints a warning for
//! every flagged observation and `diagnose` records the check in its report.

use crate::atomic::write_atomic;
use crate::error::{Error, Result};
use crate::flow::{Flow, FlowBuilder, FlowConfig};
use crate::train::{Batches, TrainReport, Trainer, TrainerConfig};
use crate::transforms::Standardize;
use candle_core::{DType, Device, Tensor};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The `[misspecification]` section of an sbi spec: the flow on x and the level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MisspecificationConfig {
    /// Flag observations whose percentile is below this level.
    pub level: f64,
    /// Blocks of the flow on x.
    pub blocks: usize,
    /// Hidden width of the flow on x.
    pub hidden: usize,
    /// Most training epochs.
    pub epochs: usize,
    /// Early-stopping patience (on a split of the training simulations).
    pub patience: usize,
    /// Learning rate.
    pub lr: f64,
    /// Batch size.
    pub batch_size: usize,
    /// Seed of the flow and its training.
    pub seed: u64,
}

impl Default for MisspecificationConfig {
    fn default() -> Self {
        Self {
            level: 0.01,
            blocks: 4,
            hidden: 64,
            epochs: 200,
            patience: 15,
            lr: 1e-3,
            batch_size: 128,
            seed: 0,
        }
    }
}

impl MisspecificationConfig {
    /// Check the values serde cannot.
    pub fn validate(&self) -> Result<()> {
        if !(self.level > 0.0 && self.level < 1.0) {
            return Err(Error::config(format!(
                "[misspecification] level must lie in (0, 1), got {}",
                self.level
            )));
        }
        if self.blocks == 0 || self.hidden == 0 || self.epochs == 0 || self.batch_size == 0 {
            return Err(Error::config(format!(
                "[misspecification] blocks, hidden, epochs and batch_size must be positive, got {}, {}, {}, {}",
                self.blocks, self.hidden, self.epochs, self.batch_size
            )));
        }
        Ok(())
    }
}

/// How typical one observation is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Typicality {
    /// `log p̂(x_o)` under the flow fitted to simulated observations.
    pub log_density: f64,
    /// Conformal percentile among the held-out simulations, in `(0, 1]`.
    pub percentile: f64,
    /// The level below which it is flagged.
    pub level: f64,
    /// Whether the observation is atypical of the simulator.
    pub flagged: bool,
    /// Held-out simulations in the calibration set.
    pub heldout: usize,
}

impl Typicality {
    /// One line for users: the numbers and, when flagged, what it means.
    pub fn message(&self) -> String {
        let base = format!(
            "log density {:.2} under a flow fitted to simulated observations, percentile {:.2} % among {} held-out simulations",
            self.log_density,
            100.0 * self.percentile,
            self.heldout
        );
        if self.flagged {
            format!(
                "{base}: below the {:.1} % level, the observation is atypical of the simulator (misspecified model?); its posterior may be unreliable",
                100.0 * self.level
            )
        } else {
            base
        }
    }
}

/// `check.json` beside the flow.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct CheckFile {
    level: f64,
    heldout_log_density: Vec<f64>,
}

/// A fitted check: the flow on x and the sorted held-out log densities.
#[derive(Debug)]
pub struct MisspecificationCheck {
    flow: Flow,
    heldout: Vec<f64>,
    level: f64,
}

fn matrix(rows: &[Vec<f64>], dtype: DType, device: &Device) -> Result<Tensor> {
    let d = rows.first().map_or(0, |r| r.len());
    let flat: Vec<f64> = rows.iter().flatten().copied().collect();
    Ok(Tensor::from_vec(flat, (rows.len(), d), &Device::Cpu)?
        .to_dtype(dtype)?
        .to_device(device)?)
}

impl MisspecificationCheck {
    /// Fit the flow to `train` (10 % of it held back for early stopping) and calibrate
    /// on `heldout` (at least 20 rows, all of one width).
    ///
    /// ```
    /// use flowinfer::sbi::diagnostics::misspecification::{
    ///     MisspecificationCheck, MisspecificationConfig,
    /// };
    ///
    /// // Simulated observations on a circle of radius 1 (a deterministic spread).
    /// let sim = |n: usize, o: usize| -> Vec<Vec<f64>> {
    ///     (0..n).map(|i| {
    ///         let a = ((i + o) as f64 * 2.399).rem_euclid(std::f64::consts::TAU);
    ///         vec![a.cos(), a.sin()]
    ///     }).collect()
    /// };
    /// let cfg = MisspecificationConfig { blocks: 2, hidden: 16, epochs: 20, ..Default::default() };
    /// let (check, _) = MisspecificationCheck::fit(&sim(1000, 0), &sim(300, 5000), &cfg,
    ///     &candle_core::Device::Cpu)?;
    /// assert!(check.assess(&[5.0, 5.0])?.flagged);
    /// # Ok::<(), flowinfer::Error>(())
    /// ```
    pub fn fit(
        train: &[Vec<f64>],
        heldout: &[Vec<f64>],
        cfg: &MisspecificationConfig,
        device: &Device,
    ) -> Result<(Self, TrainReport)> {
        cfg.validate()?;
        if train.len() < 20 || heldout.len() < 20 {
            return Err(Error::config(format!(
                "the misspecification check needs at least 20 training and 20 held-out simulations, got {} and {} (is [npe] validation_fraction 0?)",
                train.len(),
                heldout.len()
            )));
        }
        // The smallest percentile is 1/(n + 1): with fewer held-out simulations the
        // check could never flag anything at this level.
        if 1.0 / (heldout.len() + 1) as f64 >= cfg.level {
            return Err(Error::config(format!(
                "the misspecification check at level {} needs at least {} held-out simulations, got {} (raise the budget or [npe] validation_fraction, or the level)",
                cfg.level,
                (1.0 / cfg.level).ceil() as usize,
                heldout.len()
            )));
        }
        let d = train[0].len();
        let (mean, std) = Standardize::fit(train)?;
        let std: Vec<f64> = std
            .into_iter()
            .map(|s| if s > 0.0 { s } else { 1.0 })
            .collect();
        let flow_cfg = FlowConfig {
            blocks: cfg.blocks,
            hidden: cfg.hidden,
            tail_bound: 5.0,
            zero_init: true,
            seed: cfg.seed,
            ..FlowConfig::default()
        };
        let mut b = FlowBuilder::new(d, flow_cfg);
        b.standardize = Some((mean, std));
        let flow = Flow::new(b.build_spec()?, DType::F32, device, cfg.seed)?;
        let n_val = (train.len() / 10).max(1);
        let n_fit = train.len() - n_val;
        let all = matrix(train, DType::F32, device)?;
        let (fit, val) = (all.narrow(0, 0, n_fit)?, all.narrow(0, n_fit, n_val)?);
        flow.initialize_from_data(&fit, None)?;
        let trainer = Trainer::new(TrainerConfig {
            epochs: cfg.epochs,
            batch_size: cfg.batch_size,
            lr: cfg.lr,
            patience: Some(cfg.patience),
            clip_grad_norm: Some(5.0),
            seed: cfg.seed,
            ..TrainerConfig::default()
        })?;
        let report = trainer.fit(
            flow.params(),
            Batches { x: &fit, ctx: None },
            Some(Batches { x: &val, ctx: None }),
            Box::new(|x: &Tensor, _c: Option<&Tensor>| {
                Ok(flow.log_prob_unchecked(x, None)?.mean_all()?.neg()?)
            }),
            |_| {},
        )?;
        let mut check = Self {
            flow,
            heldout: Vec::new(),
            level: cfg.level,
        };
        let mut h = check.log_density(heldout)?;
        h.sort_by(f64::total_cmp);
        check.heldout = h;
        Ok((check, report))
    }

    /// `log p̂(x)` for each row (non-finite values give `−∞`; a wrong width is an error).
    pub fn log_density(&self, xs: &[Vec<f64>]) -> Result<Vec<f64>> {
        let d = self.flow.dim();
        if let Some(i) = xs.iter().position(|x| x.len() != d) {
            return Err(Error::Shape {
                what: format!("observation {i} for the misspecification check"),
                expected: format!("{d} values"),
                got: vec![xs[i].len()],
            });
        }
        let finite: Vec<bool> = xs.iter().map(|x| x.iter().all(|v| v.is_finite())).collect();
        let rows: Vec<Vec<f64>> = xs
            .iter()
            .zip(&finite)
            .map(|(x, &f)| if f { x.clone() } else { vec![0.0; d] })
            .collect();
        let lp = self
            .flow
            .log_prob_unchecked(&matrix(&rows, self.flow.dtype(), self.flow.device())?, None)?
            .to_dtype(DType::F64)?
            .to_vec1::<f64>()?;
        Ok(lp
            .into_iter()
            .zip(finite)
            .map(|(v, f)| {
                if f && v.is_finite() {
                    v
                } else {
                    f64::NEG_INFINITY
                }
            })
            .collect())
    }

    /// The typicality of every row of `xs` (batched).
    pub fn assess_many(&self, xs: &[Vec<f64>]) -> Result<Vec<Typicality>> {
        let n = self.heldout.len();
        Ok(self
            .log_density(xs)?
            .into_iter()
            .map(|lp| {
                let below = self.heldout.partition_point(|&h| h <= lp);
                let percentile = (1 + below) as f64 / (n + 1) as f64;
                Typicality {
                    log_density: lp,
                    percentile,
                    level: self.level,
                    flagged: percentile < self.level,
                    heldout: n,
                }
            })
            .collect())
    }

    /// The typicality of one observation.
    pub fn assess(&self, x: &[f64]) -> Result<Typicality> {
        Ok(self.assess_many(&[x.to_vec()])?.remove(0))
    }

    /// The level of the check.
    pub fn level(&self) -> f64 {
        self.level
    }

    /// The same check at another level (e.g. from the command line).
    pub fn with_level(mut self, level: f64) -> Result<Self> {
        if !(level > 0.0 && level < 1.0) {
            return Err(Error::config(format!(
                "misspecification level must lie in (0, 1), got {level}"
            )));
        }
        self.level = level;
        Ok(self)
    }

    /// Write `dir/model/` and `dir/check.json` (`dir` is created).
    pub fn save(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(|e| Error::file(dir, e.to_string()))?;
        self.flow.save(dir.join("model"))?;
        let f = CheckFile {
            level: self.level,
            heldout_log_density: self.heldout.clone(),
        };
        write_atomic(
            &dir.join("check.json"),
            serde_json::to_string_pretty(&f)?.as_bytes(),
        )
    }

    /// Read a check written by [`save`](Self::save).
    pub fn load(dir: &Path, device: &Device) -> Result<Self> {
        let path = dir.join("check.json");
        let text = std::fs::read_to_string(&path).map_err(|e| Error::file(&path, e.to_string()))?;
        let f: CheckFile = serde_json::from_str(&text)
            .map_err(|e| Error::file(&path, format!("malformed check file: {e}")))?;
        if f.heldout_log_density.len() < 20 {
            return Err(Error::file(
                &path,
                format!(
                    "expected at least 20 held-out log densities, found {}",
                    f.heldout_log_density.len()
                ),
            ));
        }
        Ok(Self {
            flow: Flow::load(dir.join("model"), device)?,
            heldout: f.heldout_log_density,
            level: f.level,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_distr::{Distribution, StandardNormal};

    fn gaussian(n: usize, seed: u64, shift: f64, sd: f64) -> Vec<Vec<f64>> {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        (0..n)
            .map(|_| {
                let a: f64 = StandardNormal.sample(&mut rng);
                let b: f64 = StandardNormal.sample(&mut rng);
                // Correlated 2-D Gaussian, then widened / shifted across the correlation.
                vec![shift + sd * a, -shift + sd * (0.8 * a + 0.6 * b)]
            })
            .collect()
    }

    #[test]
    fn flags_shifted_and_noisier_data_but_not_fresh_simulations() {
        let cfg = MisspecificationConfig {
            blocks: 2,
            hidden: 16,
            epochs: 30,
            ..Default::default()
        };
        let (check, _) = MisspecificationCheck::fit(
            &gaussian(2000, 1, 0.0, 1.0),
            &gaussian(1000, 2, 0.0, 1.0),
            &cfg,
            &Device::Cpu,
        )
        .unwrap();
        // 500 fresh in-distribution observations: expected flag rate ≤ 1 %; allow
        // sampling noise up to 2.5 % (≈ 3.4 standard deviations).
        let fresh = check.assess_many(&gaussian(500, 3, 0.0, 1.0)).unwrap();
        let rate = fresh.iter().filter(|t| t.flagged).count() as f64 / 500.0;
        assert!(rate <= 0.025, "in-distribution flag rate {rate}");
        let shifted = check.assess_many(&gaussian(100, 4, 4.0, 1.0)).unwrap();
        let noisy = check.assess_many(&gaussian(100, 5, 0.0, 3.0)).unwrap();
        let rate =
            |t: &[Typicality]| t.iter().filter(|t| t.flagged).count() as f64 / t.len() as f64;
        assert!(rate(&shifted) > 0.9, "shifted {}", rate(&shifted));
        assert!(rate(&noisy) > 0.3, "noisier {}", rate(&noisy));
        let nan = check.assess(&[f64::NAN, 0.0]).unwrap();
        assert!(nan.flagged && nan.message().contains("atypical"));
        assert!(check.assess(&[0.0]).is_err());
    }

    #[test]
    fn save_and_load_give_the_same_percentiles() {
        let cfg = MisspecificationConfig {
            level: 0.05,
            blocks: 1,
            hidden: 8,
            epochs: 2,
            ..Default::default()
        };
        let (check, _) = MisspecificationCheck::fit(
            &gaussian(200, 1, 0.0, 1.0),
            &gaussian(50, 2, 0.0, 1.0),
            &cfg,
            &Device::Cpu,
        )
        .unwrap();
        let dir = std::env::temp_dir().join(format!("flowinfer-misspec-{}", std::process::id()));
        check.save(&dir).unwrap();
        let back = MisspecificationCheck::load(&dir, &Device::Cpu).unwrap();
        let x = gaussian(5, 9, 0.5, 1.0);
        assert_eq!(
            check.assess_many(&x).unwrap(),
            back.assess_many(&x).unwrap()
        );
        std::fs::remove_dir_all(&dir).ok();
        let e = MisspecificationCheck::fit(
            &gaussian(200, 1, 0.0, 1.0),
            &gaussian(5, 2, 0.0, 1.0),
            &cfg,
            &Device::Cpu,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("20 held-out"), "{e}");
        let strict = MisspecificationConfig { level: 0.01, ..cfg };
        let e = MisspecificationCheck::fit(
            &gaussian(200, 1, 0.0, 1.0),
            &gaussian(50, 2, 0.0, 1.0),
            &strict,
            &Device::Cpu,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("at least 100 held-out"), "{e}");
    }
}
