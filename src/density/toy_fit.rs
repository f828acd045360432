//! Fit a flow to a built-in toy data set (seeded split 70/15/15, standardisation fitted
//! on the training split and stored in the model as its first layer).

use crate::atomic::write_atomic;
use crate::error::{Error, Result};
use crate::flow::{Flow, FlowBuilder, FlowKind};
use crate::metrics::gaussian_baseline_nll;
use crate::train::{fit_nll_with_progress, mean_nll, FitConfig, FitHistory};
use crate::transforms::Standardize;
use candle_core::{DType, Device, Tensor};
use flowinfer_simulators::toy::ToyDataset;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use std::fmt::Write as _;
use std::path::PathBuf;

/// Settings of the toy density job.
#[derive(Debug, Clone)]
pub struct ToyFitConfig {
    /// Which data set.
    pub dataset: ToyDataset,
    /// Number of events generated (split 70/15/15).
    pub n: usize,
    /// Flow family.
    pub kind: FlowKind,
    /// Number of blocks.
    pub blocks: usize,
    /// Conditioner width.
    pub hidden: usize,
    /// Training settings.
    pub fit: FitConfig,
    /// Number of samples to write.
    pub samples: usize,
    /// Output directory (model/, samples.csv).
    pub out: Option<PathBuf>,
    /// Model dtype.
    pub dtype: DType,
    /// Seed for data, split, initialisation and sampling.
    pub seed: u64,
    /// Device of the model and the data.
    pub device: Device,
}

impl Default for ToyFitConfig {
    fn default() -> Self {
        Self {
            dataset: ToyDataset::TwoMoons,
            n: 6000,
            kind: FlowKind::Nsf,
            blocks: 4,
            hidden: 64,
            fit: FitConfig {
                epochs: 40,
                batch_size: 256,
                learning_rate: 2e-3,
                seed: 0,
            },
            samples: 2000,
            out: None,
            dtype: DType::F32,
            seed: 0,
            device: Device::Cpu,
        }
    }
}

/// What the toy job measured.
#[derive(Debug, Clone)]
pub struct ToyFitReport {
    /// Test NLL of the flow (nats per event).
    pub test_nll: f64,
    /// Test NLL of the best-fitting Gaussian.
    pub gaussian_nll: f64,
    /// Per-epoch training and validation NLL.
    pub history: crate::train::FitHistory,
    /// Trainable parameter count.
    pub parameters: usize,
    /// Generated samples `(samples, 2)`.
    pub samples: Vec<Vec<f64>>,
}

fn to_tensor(rows: &[Vec<f64>], dtype: DType, dev: &Device) -> Result<Tensor> {
    let d = rows.first().map(|r| r.len()).unwrap_or(0);
    let flat: Vec<f64> = rows.iter().flatten().copied().collect();
    Ok(Tensor::from_vec(flat, (rows.len(), d), dev)?.to_dtype(dtype)?)
}

/// Run the job: generate, split, fit, evaluate, sample, and (with `out`) write the
/// model, `samples.csv` and `samples.png`. `on_epoch(epoch, history)` is called after every epoch.
pub fn fit_toy(
    cfg: &ToyFitConfig,
    on_epoch: impl FnMut(usize, &FitHistory),
) -> Result<ToyFitReport> {
    if cfg.n < 20 {
        return Err(Error::config(format!(
            "need at least 20 events, got {}",
            cfg.n
        )));
    }
    let dev = cfg.device.clone();
    let mut rows: Vec<Vec<f64>> = cfg
        .dataset
        .generate(cfg.n, cfg.seed)
        .into_iter()
        .map(|p| p.to_vec())
        .collect();
    rows.shuffle(&mut rand::rngs::StdRng::seed_from_u64(cfg.seed ^ 0x5eed));
    let n_train = cfg.n * 70 / 100;
    let n_val = cfg.n * 15 / 100;
    let (train, rest) = rows.split_at(n_train);
    let (val, test) = rest.split_at(n_val);

    let (mean, std) = Standardize::fit(train)?;
    let mut b = match cfg.kind {
        FlowKind::RealNvp => FlowBuilder::realnvp(2),
        FlowKind::Nsf => FlowBuilder::nsf(2),
        FlowKind::Maf | FlowKind::MafSpline => FlowBuilder::maf(2),
    };
    b.kind = cfg.kind;
    b.standardize = Some((mean, std));
    let spec = b
        .blocks(cfg.blocks)
        .hidden(cfg.hidden)
        .seed(cfg.seed)
        .build_spec()?;
    let flow = Flow::new(spec, cfg.dtype, &dev, cfg.seed)?;

    let xt = to_tensor(train, cfg.dtype, &dev)?;
    let xv = to_tensor(val, cfg.dtype, &dev)?;
    let xs = to_tensor(test, cfg.dtype, &dev)?;
    let history = fit_nll_with_progress(&flow, &xt, Some(&xv), &cfg.fit, on_epoch)?;
    let test_nll = mean_nll(&flow, &xs, None, 4096)?;
    let gaussian_nll = gaussian_baseline_nll(train, test)?;

    let mut rng = rand::rngs::StdRng::seed_from_u64(cfg.seed.wrapping_add(1));
    let samples = flow
        .sample(cfg.samples, None, &mut rng)?
        .to_dtype(DType::F64)?
        .to_vec2::<f64>()?;
    if let Some(out) = &cfg.out {
        std::fs::create_dir_all(out).map_err(|e| Error::file(out, e.to_string()))?;
        flow.save(out.join("model"))?;
        let mut csv = String::from("x1,x2\n");
        for s in &samples {
            let _ = writeln!(csv, "{},{}", s[0], s[1]);
        }
        write_atomic(&out.join("samples.csv"), csv.as_bytes())?;
        crate::plot::scatter2d(
            out.join("samples.png"),
            test,
            &samples,
            &format!("{}: test events vs flow samples", cfg.dataset.name()),
        )?;
    }
    Ok(ToyFitReport {
        test_nll,
        gaussian_nll,
        history,
        parameters: flow.params().num_parameters(),
        samples,
    })
}
