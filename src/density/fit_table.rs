//! Density estimation on a table of events: read, split, fit with the [`Trainer`],
//! evaluate (test NLL, KDE overlap with its real-vs-real ceiling, C2ST), plot, save.
//!
//! Output directory layout: `model/` (the flow: `flow.json` + `flow.safetensors`, the
//! standardisation included as its first layer), `run.json` (columns, data file, spec),
//! `history.csv`, `report.json`, `plots/*.png`, `checkpoint/` (for `--resume`).

use crate::atomic::write_atomic;
use crate::config::RunSpec;
use crate::data::{read_table, split_indices, ReadOptions, Scaler, Table};
use crate::error::{Error, Result};
use crate::flow::io::parse_dtype;
use crate::flow::Flow;
use crate::metrics::{
    c2st, gaussian_baseline_nll, kde_overlap, C2stConfig, C2stResult, KdeOverlap,
};
use crate::train::{Batches, EpochRecord, Trainer};
use candle_core::{DType, Device, Tensor};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// What `run.json` records about a run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunInfo {
    /// Column names, in model order.
    pub columns: Vec<String>,
    /// The data file the model was fitted to.
    pub data: PathBuf,
    /// The spec used.
    pub spec: RunSpec,
}

/// Sample-quality figures against a set of real events.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Evaluation {
    /// Events in the real set.
    pub events: usize,
    /// Mean negative log-likelihood of the real events (nats per event).
    pub nll: f64,
    /// Per-marginal KDE overlap of generated (as many as real) vs real events.
    pub kde_overlap: KdeOverlap,
    /// Classifier two-sample test, generated vs real (when enabled).
    pub c2st: Option<C2stResult>,
}

/// The report of a fit (`report.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FitReport {
    /// Rows read and dropped.
    pub rows_read: usize,
    /// Rows dropped as invalid.
    pub rows_dropped: usize,
    /// Train / validation / test sizes.
    pub split: [usize; 3],
    /// Trainable parameters.
    pub parameters: usize,
    /// Epochs run and the epoch kept.
    pub epochs: usize,
    /// Epoch whose weights were kept.
    pub best_epoch: usize,
    /// Whether early stopping ended training.
    pub stopped_early: bool,
    /// Epochs rolled back after a non-finite loss (each lowered the learning rate).
    pub rollbacks: usize,
    /// Wall time of training in seconds.
    pub train_seconds: f64,
    /// Test-split NLL of the best-fitting Gaussian (baseline).
    pub gaussian_test_nll: f64,
    /// Evaluation on the held-out test split.
    pub test: Evaluation,
    /// KDE overlap between a training subsample and the test split (same sizes): the
    /// ceiling a perfect generator would reach.
    pub kde_overlap_ceiling: KdeOverlap,
}

fn read(spec: &RunSpec, data: &Path) -> Result<(Table, crate::data::ReadReport)> {
    read_table(
        data,
        &ReadOptions {
            columns: spec.data.columns.clone(),
            drop_invalid: spec.data.drop_invalid,
        },
    )
}

/// Generated samples as rows (f64), `n` of them, seeded.
pub fn generate(flow: &Flow, n: usize, seed: u64) -> Result<Vec<Vec<f64>>> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    Ok(flow
        .sample(n, None, &mut rng)?
        .to_dtype(DType::F64)?
        .to_vec2::<f64>()?)
}

/// Evaluate `flow` against the real events `real`.
pub fn evaluate_against(
    flow: &Flow,
    real: &Table,
    with_c2st: bool,
    seed: u64,
) -> Result<Evaluation> {
    let x = real.to_tensor(flow.dtype(), flow.device())?;
    let nll = crate::train::mean_nll(flow, &x, None, 4096)?;
    let rows = real.to_rows();
    let gen = generate(flow, rows.len(), seed)?;
    Ok(Evaluation {
        events: rows.len(),
        nll,
        kde_overlap: kde_overlap(&gen, &rows)?,
        c2st: if with_c2st {
            Some(c2st(
                &gen,
                &rows,
                &C2stConfig {
                    seed,
                    ..Default::default()
                },
            )?)
        } else {
            None
        },
    })
}

/// Fit the spec to `data`, writing everything under `out`. Input is validated before
/// anything is written. `on_epoch` sees every epoch (progress bars).
pub fn fit_table(
    spec: &RunSpec,
    data: &Path,
    out: &Path,
    resume: bool,
    on_epoch: impl FnMut(&EpochRecord),
) -> Result<FitReport> {
    spec.validate()?;
    if spec.bayes.is_some() {
        return crate::bayes::fit::fit_bayes(spec, data, out, resume, on_epoch);
    }
    let (table, read_report) = read(spec, data)?;
    let s = spec.data.split;
    let split = split_indices(table.rows(), (s[0], s[1], s[2]), spec.data.seed)?;
    let (train, val, test) = split.tables(&table);
    if test.rows() < 2 || train.rows() < 2 {
        return Err(Error::config(format!(
            "{}: {} rows are too few for a train/validation/test split",
            data.display(),
            table.rows()
        )));
    }
    let scaler = Scaler::fit(&train)?;
    let dtype = parse_dtype(&spec.flow.dtype)?;
    let standardize = Some((scaler.mean.clone(), scaler.std.clone()));
    let flow_spec = match &spec.cnf {
        Some(c) => c.flow_spec(table.cols(), 0, standardize, None, spec.flow.seed)?,
        None => {
            let mut builder = spec.flow.builder(table.cols());
            builder.standardize = standardize;
            builder.build_spec()?
        }
    };
    let dev = spec.device()?;
    let flow = Flow::new(flow_spec, dtype, &dev, spec.flow.seed)?;

    let info = RunInfo {
        columns: table.columns().to_vec(),
        data: data.to_path_buf(),
        spec: spec.clone(),
    };
    if resume {
        check_resumable(out, &info)?;
    }
    std::fs::create_dir_all(out).map_err(|e| Error::file(out, e.to_string()))?;

    let xt = train.to_tensor(dtype, &dev)?;
    let xv = val.to_tensor(dtype, &dev)?;
    flow.initialize_from_data(&xt, None)?;
    let loss: crate::cnf::LossFn = match &spec.cnf {
        Some(c) => crate::cnf::cnf_loss(&flow, c, spec.train.seed)?,
        None => Box::new(|x: &Tensor, _: Option<&Tensor>| {
            Ok(flow.log_prob_unchecked(x, None)?.mean_all()?.neg()?)
        }),
    };
    let start = std::time::Instant::now();
    let trainer =
        Trainer::new(spec.train.clone())?.with_checkpoints(out.join("checkpoint"), resume);
    let val_batches = (val.rows() > 0).then_some(Batches { x: &xv, ctx: None });
    let rep = trainer.fit(
        flow.params(),
        Batches { x: &xt, ctx: None },
        val_batches,
        loss,
        on_epoch,
    )?;
    let train_seconds = start.elapsed().as_secs_f64();
    flow.save(out.join("model"))?;
    // run.json last: it pairs the columns with the model just written.
    write_atomic(
        &out.join("run.json"),
        serde_json::to_string_pretty(&info)?.as_bytes(),
    )?;
    write_history(&out.join("history.csv"), &rep.history)?;

    let test_eval = evaluate_against(
        &flow,
        &test,
        spec.eval.c2st,
        spec.train.seed.wrapping_add(17),
    )?;
    let mut sub = train.to_rows();
    sub.shuffle(&mut rand::rngs::StdRng::seed_from_u64(
        spec.data.seed ^ 0xc0ffee,
    ));
    sub.truncate(test.rows());
    let ceiling = kde_overlap(&sub, &test.to_rows())?;
    let report = FitReport {
        rows_read: read_report.rows_read,
        rows_dropped: read_report.rows_dropped,
        split: [train.rows(), val.rows(), test.rows()],
        parameters: flow.params().num_parameters(),
        epochs: rep.history.len(),
        best_epoch: rep.best_epoch,
        stopped_early: rep.stopped_early,
        rollbacks: rep.rollbacks,
        train_seconds,
        gaussian_test_nll: gaussian_baseline_nll(&train.to_rows(), &test.to_rows())?,
        test: test_eval,
        kde_overlap_ceiling: ceiling,
    };
    write_atomic(
        &out.join("report.json"),
        serde_json::to_string_pretty(&report)?.as_bytes(),
    )?;
    if spec.eval.plots {
        draw_plots(&flow, out, &rep.history, &table, &test)?;
    }
    Ok(report)
}

/// `--resume` must continue the same run: same data file, columns and spec.
fn check_resumable(out: &Path, info: &RunInfo) -> Result<()> {
    let p = out.join("run.json");
    let Ok(text) = std::fs::read_to_string(&p) else {
        // No finished run yet: the trainer checks its own checkpoint's settings.
        return Ok(());
    };
    let old: RunInfo = serde_json::from_str(&text).map_err(|e| Error::file(&p, e.to_string()))?;
    let what = if old.data != info.data {
        format!(
            "data file {} (now {})",
            old.data.display(),
            info.data.display()
        )
    } else if old.columns != info.columns {
        format!("columns {:?} (now {:?})", old.columns, info.columns)
    } else if old.spec != info.spec {
        "another spec".to_string()
    } else {
        return Ok(());
    };
    Err(Error::file(
        p,
        format!("cannot resume: this run used {what}; use the same inputs or another --out"),
    ))
}

/// Write the per-epoch history as CSV (`epoch,train_loss,val_loss,lr,seconds,rollbacks`).
pub(crate) fn write_history(path: &Path, history: &[EpochRecord]) -> Result<()> {
    let mut s = String::from("epoch,train_loss,val_loss,lr,seconds,rollbacks\n");
    for r in history {
        let v = r.val_loss.map(|v| v.to_string()).unwrap_or_default();
        let _ = writeln!(
            s,
            "{},{},{},{},{:.4},{}",
            r.epoch, r.train_loss, v, r.lr, r.seconds, r.rollbacks
        );
    }
    write_atomic(path, s.as_bytes())
}

fn draw_plots(
    flow: &Flow,
    out: &Path,
    history: &[EpochRecord],
    all: &Table,
    test: &Table,
) -> Result<()> {
    let dir = out.join("plots");
    std::fs::create_dir_all(&dir).map_err(|e| Error::file(&dir, e.to_string()))?;
    let train: Vec<f64> = history.iter().map(|r| r.train_loss).collect();
    let val: Vec<f64> = history.iter().filter_map(|r| r.val_loss).collect();
    crate::plot::loss_curves(
        dir.join("loss.png"),
        &[("train", &train[..]), ("validation", &val[..])],
        "Training",
        "NLL (nats/event)",
    )?;
    let gen = generate(flow, test.rows().max(2000), 4242)?;
    let real = test.to_rows();
    crate::plot::histograms(dir.join("histograms.png"), all.columns(), &real, &gen, 40)?;
    crate::plot::corner(dir.join("corner.png"), all.columns(), &real, &gen, 2000)?;
    let x = all.to_tensor(flow.dtype(), flow.device())?;
    let (z, _) = flow.to_latent(&x, None)?;
    crate::plot::latent_marginals(
        dir.join("latent.png"),
        &z.to_dtype(DType::F64)?.to_vec2::<f64>()?,
    )?;
    Ok(())
}

/// Read `run.json` and the model of a run directory (model on the CPU).
pub fn load_run(dir: &Path) -> Result<(RunInfo, Flow)> {
    load_run_on(dir, &Device::Cpu)
}

/// Read `run.json` and the model of a run directory onto `device`.
pub fn load_run_on(dir: &Path, device: &Device) -> Result<(RunInfo, Flow)> {
    let p = dir.join("run.json");
    let text = std::fs::read_to_string(&p)
        .map_err(|e| Error::file(&p, format!("not a run directory: {e}")))?;
    let info: RunInfo = serde_json::from_str(&text).map_err(|e| Error::file(&p, e.to_string()))?;
    let flow = Flow::load(dir.join("model"), device)?;
    Ok((info, flow))
}

/// `n` events from a run, as a table with the original column names and units.
pub fn sample_run(dir: &Path, n: usize, seed: u64, device: &Device) -> Result<Table> {
    let (info, flow) = load_run_on(dir, device)?;
    let rows = generate(&flow, n, seed)?;
    Table::new(info.columns, rows.into_iter().flatten().collect())
}

/// Evaluate a run against the events in `data` (the run's columns are selected by name).
pub fn eval_run(
    dir: &Path,
    data: &Path,
    with_c2st: bool,
    seed: u64,
    device: &Device,
) -> Result<Evaluation> {
    let (info, flow) = load_run_on(dir, device)?;
    let (table, _) = read_table(
        data,
        &ReadOptions {
            columns: Some(info.columns.clone()),
            drop_invalid: false,
        },
    )?;
    evaluate_against(&flow, &table, with_c2st, seed)
}
