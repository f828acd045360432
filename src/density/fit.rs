//! The `fit` job: a flow fitted to a table of events by maximum likelihood (or flow
//! matching for a CNF), evaluated on the held-out test split (NLL, KDE overlap with
//! its real-vs-real ceiling, C2ST), with plots; a `[bayes]` section hands the same
//! prepared data to [`bayes::fit`](crate::bayes::fit).
//!
//! Output directory layout: `model/` (the flow: `flow.json` + `flow.safetensors`, the
//! standardisation included as its first layer), `run.json` (columns, data source,
//! spec), `history.csv`, `report.json`, `plots/*.png`, `checkpoint/` (for `--resume`).

use crate::atomic::write_atomic;
use crate::config::{FitConfig, JobConfig};
use crate::data::Table;
use crate::error::{Error, Result};
use crate::flow::Flow;
use crate::pipeline::{
    evaluate_against_k, generate, kde_ceiling, load_run_on, prepare, write_history, DataSource,
    Evaluation, FitReport, Fitted, Output, Prepared, RunInfo,
};
use crate::train::{Batches, EpochRecord, Trainer};
use candle_core::{DType, Device, Tensor};
use std::path::Path;

/// Fit the events of `source` with the settings `cfg`; with an output directory, write
/// the run there (input is validated before anything is written). `on_epoch` sees every
/// epoch (progress bars).
///
/// ```
/// use flowinfer::config::FitConfig;
/// use flowinfer::density::{fit, Output};
/// use flowinfer::pipeline::DataSource;
///
/// // 300 events of a correlated 2-D Gaussian, in memory.
/// let rows: Vec<Vec<f64>> = (0..300)
///     .map(|i| { let t = i as f64 / 300.0 - 0.5; vec![t, 0.5 * t + 0.1 * (7.0 * t).sin()] })
///     .collect();
/// let mut cfg = FitConfig::default();
/// (cfg.flow.blocks, cfg.flow.hidden, cfg.train.epochs) = (2, 16, 3);
/// cfg.eval.c2st = false;
/// let run = fit(&DataSource::rows(&["a", "b"], &rows)?, &cfg, Output::default(), |_| {})?;
/// assert!(run.report.test.nll.is_finite());
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// # use rand::SeedableRng;
/// let x = run.flow.sample(5, None, &mut rng)?; // (5, 2), in the original units
/// assert_eq!(x.dims(), &[5, 2]);
/// # Ok::<(), flowinfer::Error>(())
/// ```
pub fn fit(
    source: &DataSource,
    cfg: &FitConfig,
    out: Output<'_>,
    on_epoch: impl FnMut(&EpochRecord),
) -> Result<Fitted> {
    cfg.validate()?;
    let cfg = &cfg.with_run_seed();
    let data = prepare(source, &cfg.data)?;
    if cfg.bayes.is_some() {
        return crate::bayes::fit::fit_bayes(&data, cfg, out, on_epoch);
    }
    if data.conditioning.is_some() {
        return crate::density::conditional::fit_conditional(&data, cfg, out, on_epoch);
    }
    let dtype = cfg.flow.dtype()?;
    let dev = cfg.device()?;
    let flow = Flow::new(data.flow_spec(cfg)?, dtype, &dev, cfg.flow.seed)?;
    let info = RunInfo {
        columns: data.columns().to_vec(),
        data: data.loaded.origin.clone(),
        spec: cfg.clone(),
        condition: None,
    };
    if let Some(dir) = out.dir {
        if out.resume {
            info.check_resumable(dir)?;
        }
        std::fs::create_dir_all(dir).map_err(|e| Error::file(dir, e.to_string()))?;
    }

    let xt = data.train.to_tensor(dtype, &dev)?;
    let xv = data.val.to_tensor(dtype, &dev)?;
    flow.initialize_from_data(&xt, None)?;
    let loss: crate::cnf::LossFn = match &cfg.cnf {
        Some(c) => crate::cnf::cnf_loss(&flow, c, cfg.train.seed)?,
        None => Box::new(|x: &Tensor, _: Option<&Tensor>| {
            Ok(flow.log_prob_unchecked(x, None)?.mean_all()?.neg()?)
        }),
    };
    let start = std::time::Instant::now();
    let mut trainer = Trainer::new(cfg.train.clone())?;
    if let Some(dir) = out.dir {
        trainer = trainer.with_checkpoints(dir.join("checkpoint"), out.resume);
    }
    let val_batches = (data.val.rows() > 0).then_some(Batches { x: &xv, ctx: None });
    let rep = trainer.fit(
        flow.params(),
        Batches { x: &xt, ctx: None },
        val_batches,
        loss,
        on_epoch,
    )?;
    let train_seconds = start.elapsed().as_secs_f64();
    if let Some(dir) = out.dir {
        flow.save(dir.join("model"))?;
        // run.json last: it pairs the columns with the model just written.
        write_atomic(
            &dir.join("run.json"),
            serde_json::to_string_pretty(&info)?.as_bytes(),
        )?;
        write_history(&dir.join("history.csv"), &rep.history)?;
    }

    let test = evaluate_against_k(
        &flow,
        &data.test,
        cfg.eval.c2st,
        cfg.train.seed.wrapping_add(17),
        cfg.eval.iw_samples,
    )?;
    let report = FitReport {
        rows_read: data.loaded.report.rows_read,
        rows_dropped: data.loaded.report.rows_dropped,
        split: [data.train.rows(), data.val.rows(), data.test.rows()],
        parameters: flow.params().num_parameters(),
        epochs: rep.history.len(),
        best_epoch: rep.best_epoch,
        stopped_early: rep.stopped_early,
        rollbacks: rep.rollbacks,
        train_seconds,
        gaussian_test_nll: crate::pipeline::iw::baseline_or_nan(
            &data.train.to_rows(),
            &data.test.to_rows(),
        )?,
        test,
        kde_overlap_ceiling: kde_ceiling(&data.train, &data.test, cfg.data.seed)?,
        conditional: None,
    };
    if let Some(dir) = out.dir {
        write_atomic(
            &dir.join("report.json"),
            serde_json::to_string_pretty(&report)?.as_bytes(),
        )?;
        if cfg.eval.plots {
            draw_plots(&flow, dir, &rep.history, &data)?;
        }
    }
    Ok(Fitted {
        report,
        columns: data.columns().to_vec(),
        flow,
    })
}

fn draw_plots(flow: &Flow, out: &Path, history: &[EpochRecord], data: &Prepared) -> Result<()> {
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
    let all = &data.loaded.table;
    let gen = generate(flow, data.test.rows().max(2000), 4242)?;
    let real = data.test.to_rows();
    crate::plot::histograms(dir.join("histograms.png"), all.columns(), &real, &gen, 40)?;
    crate::plot::corner(dir.join("corner.png"), all.columns(), &real, &gen, 2000)?;
    if all.cols() == 2 {
        crate::plot::scatter2d(
            dir.join("samples.png"),
            &real,
            &gen,
            "test events vs flow samples",
        )?;
    }
    let x = all.to_tensor(flow.dtype(), flow.device())?;
    let (z, _) = flow.to_latent(&x, None)?;
    crate::plot::latent_marginals(
        dir.join("latent.png"),
        &z.to_dtype(DType::F64)?.to_vec2::<f64>()?,
    )?;
    Ok(())
}

/// `n` events from a run, as a table with the original column names and units.
pub fn sample_run(dir: &Path, n: usize, seed: u64, device: &Device) -> Result<Table> {
    let (info, flow) = load_run_on(dir, device)?;
    if let Some(c) = &info.condition {
        return Err(Error::config(format!(
            "{}: this run generates events given {:?}; give the conditions (sample --condition FILE or {}=VALUE)",
            dir.display(),
            c.columns,
            c.columns[0]
        )));
    }
    let rows = generate(&flow, n, seed)?;
    Table::new(info.columns, rows.into_iter().flatten().collect())
}

/// Evaluate a run against the events in `data` (the run's columns are selected by name;
/// a bound flow's importance-weighted NLL with the run's `[eval] iw_samples`).
pub fn eval_run(
    dir: &Path,
    data: &DataSource,
    with_c2st: bool,
    seed: u64,
    device: &Device,
) -> Result<Evaluation> {
    let (info, _) = load_run_on(dir, device)?;
    eval_run_k(
        dir,
        data,
        with_c2st,
        seed,
        info.spec.eval.iw_samples,
        device,
    )
}

/// [`eval_run`] with `k` importance samples per event for a bound flow's `nll_iw`.
pub fn eval_run_k(
    dir: &Path,
    data: &DataSource,
    with_c2st: bool,
    seed: u64,
    k: usize,
    device: &Device,
) -> Result<Evaluation> {
    if k == 0 {
        return Err(Error::config(
            "eval: the number of importance samples K must be at least 1",
        ));
    }
    let (info, flow) = load_run_on(dir, device)?;
    if info.condition.is_some() {
        return crate::density::conditional::eval_conditional(
            dir, data, with_c2st, seed, k, device,
        );
    }
    let table = data.load(Some(info.columns.clone()), false)?.table;
    evaluate_against_k(&flow, &table, with_c2st, seed, k)
}
