//! Training a neural posterior estimator.

use crate::config::FlowSection;
use crate::error::{Error, Result};
use crate::flow::{EmbeddingSpec, Flow, FlowKind};
use crate::sbi::NpePosterior;
use crate::train::{Batches, EpochRecord, TrainReport, Trainer, TrainerConfig};
use crate::transforms::Standardize;
use candle_core::{DType, Device, Tensor};
use flowinfer_simulators::{simulate_dataset_lenient, LenientDataset, RowFailure, Simulator};
use serde::{Deserialize, Serialize};

/// Settings of [`train_npe`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NpeConfig {
    /// Simulation budget (θ, x pairs).
    pub simulations: usize,
    /// Fraction of the simulations held out for validation / early stopping.
    pub validation_fraction: f64,
    /// The conditional flow over θ.
    pub flow: FlowSection,
    /// Optional embedding network of x, trained with the flow (docs/SPECS.md).
    pub embedding: Option<EmbeddingSpec>,
    /// Training settings.
    pub train: TrainerConfig,
    /// Seed of the simulations.
    pub seed: u64,
    /// Device: `cpu`, `cuda` or `cuda:N` (CUDA needs the `cuda` feature).
    pub device: String,
    /// A continuous normalizing flow instead of `flow` (FMPE with flow matching).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cnf: Option<crate::cnf::CnfSection>,
}

impl Default for NpeConfig {
    fn default() -> Self {
        Self {
            simulations: 10_000,
            validation_fraction: 0.1,
            flow: FlowSection {
                kind: FlowKind::Nsf,
                blocks: 5,
                hidden: 64,
                ..Default::default()
            },
            embedding: None,
            train: TrainerConfig {
                epochs: 100,
                batch_size: 256,
                lr: 1e-3,
                patience: Some(20),
                ..Default::default()
            },
            seed: 0,
            device: "cpu".into(),
            cnf: None,
        }
    }
}

/// Rows as one `(n, d)` tensor on `device` (one host → device copy).
fn matrix(rows: &[Vec<f64>], dtype: DType, device: &Device) -> Result<Tensor> {
    let d = rows.first().map(|r| r.len()).unwrap_or(0);
    let flat: Vec<f64> = rows.iter().flatten().copied().collect();
    Ok(Tensor::from_vec(flat, (rows.len(), d), &Device::Cpu)?
        .to_dtype(dtype)?
        .to_device(device)?)
}

/// What [`train_npe`] produced.
#[derive(Debug)]
pub struct NpeTraining {
    /// The trained amortised posterior.
    pub posterior: NpePosterior,
    /// The training history.
    pub report: TrainReport,
    /// Simulations used (budget minus failures).
    pub simulations_used: usize,
    /// Simulations that failed (non-finite or malformed output) and were dropped.
    pub failures: Vec<RowFailure>,
}

/// Simulate, then fit `q(θ | x)`. Failed simulations (non-finite values, a failing
/// external program) are dropped and returned in [`NpeTraining::failures`]; too many
/// failures are an error. `on_epoch` sees every training epoch.
pub fn train_npe(
    sim: &dyn Simulator,
    cfg: &NpeConfig,
    on_epoch: impl FnMut(&EpochRecord),
) -> Result<NpeTraining> {
    if cfg.simulations < 20 {
        return Err(Error::config(format!(
            "NPE needs at least 20 simulations, got {}",
            cfg.simulations
        )));
    }
    if !(0.0..0.9).contains(&cfg.validation_fraction) {
        return Err(Error::config("validation_fraction must lie in [0, 0.9)"));
    }
    let device = crate::device::parse_device(&cfg.device)?;
    let LenientDataset {
        thetas,
        xs,
        failures,
    } = simulate_dataset_lenient(sim, cfg.simulations, cfg.seed)?;
    let n = thetas.len();
    if n < 20 {
        return Err(Error::config(format!(
            "only {n} of {} simulations succeeded; NPE needs at least 20 (first failure: {})",
            cfg.simulations,
            failures.first().map(|f| f.to_string()).unwrap_or_default()
        )));
    }
    let n_val = (n as f64 * cfg.validation_fraction).round() as usize;
    let n_train = n - n_val;
    let (theta_mean, theta_std) = Standardize::fit(&thetas[..n_train])?;
    let (x_mean, x_std) = Standardize::fit(&xs[..n_train])?;
    // A constant observation entry carries no information: leave it unscaled.
    let x_std: Vec<f64> = x_std
        .into_iter()
        .map(|s| if s > 0.0 { s } else { 1.0 })
        .collect();
    let theta_std: Vec<f64> = theta_std
        .into_iter()
        .map(|s| if s > 0.0 { s } else { 1.0 })
        .collect();
    let dtype = crate::flow::io::parse_dtype(&cfg.flow.dtype)?;
    let flow_spec = match &cfg.cnf {
        Some(c) => c.flow_spec(
            sim.param_dim(),
            sim.obs_dim(),
            Some((theta_mean, theta_std)),
            cfg.embedding.clone(),
            cfg.flow.seed,
        )?,
        None => {
            let mut b = cfg.flow.builder(sim.param_dim()).context(sim.obs_dim());
            b.embedding = cfg.embedding.clone();
            b.standardize = Some((theta_mean, theta_std));
            b.build_spec()?
        }
    };
    let flow = Flow::new(flow_spec, dtype, &device, cfg.flow.seed)?;
    let posterior = NpePosterior::new(flow, x_mean, x_std, sim.param_names())?;

    let theta_t = matrix(&thetas, dtype, &device)?;
    let x_t = posterior.scale_observations(&matrix(&xs, dtype, &device)?)?;
    let (tt, tv) = (
        theta_t.narrow(0, 0, n_train)?,
        theta_t.narrow(0, n_train, n_val)?,
    );
    let (xt, xv) = (x_t.narrow(0, 0, n_train)?, x_t.narrow(0, n_train, n_val)?);
    let flow = posterior.flow();
    flow.initialize_from_data(&tt, Some(&xt))?;
    let loss: crate::cnf::LossFn = match &cfg.cnf {
        Some(c) => crate::cnf::cnf_loss(flow, c, cfg.train.seed)?,
        None => Box::new(|th: &Tensor, c: Option<&Tensor>| {
            Ok(flow.log_prob_unchecked(th, c)?.mean_all()?.neg()?)
        }),
    };
    let val = (n_val > 0).then_some(Batches {
        x: &tv,
        ctx: Some(&xv),
    });
    let report = Trainer::new(cfg.train.clone())?.fit(
        flow.params(),
        Batches {
            x: &tt,
            ctx: Some(&xt),
        },
        val,
        loss,
        on_epoch,
    )?;
    Ok(NpeTraining {
        posterior,
        report,
        simulations_used: n,
        failures,
    })
}
