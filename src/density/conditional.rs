//! Conditional density estimation: a flow for p(modelled columns | condition columns),
//! trained by maximum likelihood with the condition columns as its context
//! (`[data] condition`, `fit --condition`), evaluated at the test split's own
//! conditions, and sampled at given conditions (`sample --condition`).

use crate::atomic::write_atomic;
use crate::config::{FitConfig, JobConfig};
use crate::data::Table;
use crate::density::condition_bins::{condition_bins, generate_at};
use crate::error::{Error, Result};
use crate::flow::Flow;
use crate::metrics::gaussian_baseline_nll;
use crate::pipeline::condition::{ConditionInput, ContextMap};
use crate::pipeline::{
    evaluation_of, kde_ceiling, load_run_on, write_history, DataSource, Evaluation, FitReport,
    Fitted, Output, Prepared, RunInfo,
};
use crate::train::{Batches, EpochRecord, Trainer};
use candle_core::{Device, Tensor};
use std::path::Path;

/// Bins of the first condition column in the report.
const REPORT_BINS: usize = 3;

/// Rows of `a` with the rows of `b` appended column-wise.
fn join(a: &[Vec<f64>], b: &[Vec<f64>]) -> Vec<Vec<f64>> {
    a.iter()
        .zip(b)
        .map(|(x, c)| x.iter().chain(c).copied().collect())
        .collect()
}

/// The test figures of a conditional flow against real events `x` at their conditions
/// `c`: NLL of p(x | c), KDE overlap of one generated event per real condition, and a
/// C2ST on (event, condition) pairs.
pub fn evaluate_conditional(
    flow: &Flow,
    map: &ContextMap,
    x: &Table,
    c: &Table,
    with_c2st: bool,
    seed: u64,
    k: usize,
) -> Result<Evaluation> {
    let xt = x.to_tensor(flow.dtype(), flow.device())?;
    let ct = map.context(c, "evaluation conditions", flow.dtype(), flow.device())?;
    let nll = crate::train::mean_nll(flow, &xt, Some(&ct), 4096)?;
    let gen = generate_at(flow, map, c, 1, seed)?;
    let conds = c.select_columns(&map.columns)?.to_rows();
    let mut e = evaluation_of(&gen, &x.to_rows(), nll, false, seed)?;
    e.likelihood = flow.likelihood();
    e.nll_iw = crate::pipeline::iw::iw_nll(flow, &xt, Some(&ct), k)?;
    if with_c2st {
        e.c2st = evaluation_of(
            &join(&gen, &conds),
            &join(&x.to_rows(), &conds),
            nll,
            true,
            seed,
        )?
        .c2st;
    }
    Ok(e)
}

/// Fit p(modelled columns | condition columns) on prepared data (called by
/// [`density::fit`](crate::density::fit()) when `[data] condition` is set).
pub fn fit_conditional(
    data: &Prepared,
    cfg: &FitConfig,
    out: Output<'_>,
    on_epoch: impl FnMut(&EpochRecord),
) -> Result<Fitted> {
    let cond = data
        .conditioning
        .as_ref()
        .ok_or_else(|| Error::config("fit_conditional needs [data] condition columns"))?;
    let dtype = cfg.flow.dtype()?;
    let dev = cfg.device()?;
    let flow = Flow::new(data.flow_spec(cfg)?, dtype, &dev, cfg.flow.seed)?;
    let info = RunInfo {
        columns: data.columns().to_vec(),
        data: data.loaded.origin.clone(),
        spec: cfg.clone(),
        condition: Some(cond.map.clone()),
    };
    if let Some(dir) = out.dir {
        if out.resume {
            info.check_resumable(dir)?;
        }
        std::fs::create_dir_all(dir).map_err(|e| Error::file(dir, e.to_string()))?;
    }
    let xt = data.train.to_tensor(dtype, &dev)?;
    let xv = data.val.to_tensor(dtype, &dev)?;
    let ct = cond
        .map
        .context(&cond.train, "training split", dtype, &dev)?;
    let cv = cond
        .map
        .context(&cond.val, "validation split", dtype, &dev)?;
    flow.initialize_from_data(&xt, Some(&ct))?;
    let loss = |x: &Tensor, c: Option<&Tensor>| -> Result<Tensor> {
        Ok(flow.log_prob_unchecked(x, c)?.mean_all()?.neg()?)
    };
    let start = std::time::Instant::now();
    let mut trainer = Trainer::new(cfg.train.clone())?;
    if let Some(dir) = out.dir {
        trainer = trainer.with_checkpoints(dir.join("checkpoint"), out.resume);
    }
    let val = (data.val.rows() > 0).then_some(Batches {
        x: &xv,
        ctx: Some(&cv),
    });
    let rep = trainer.fit(
        flow.params(),
        Batches {
            x: &xt,
            ctx: Some(&ct),
        },
        val,
        Box::new(loss),
        on_epoch,
    )?;
    let train_seconds = start.elapsed().as_secs_f64();
    let seed = cfg.train.seed.wrapping_add(17);
    let plots = match out.dir {
        Some(dir) if cfg.eval.plots => {
            let p = dir.join("plots");
            std::fs::create_dir_all(&p).map_err(|e| Error::file(&p, e.to_string()))?;
            Some(p)
        }
        _ => None,
    };
    let test = evaluate_conditional(
        &flow,
        &cond.map,
        &data.test,
        &cond.test,
        cfg.eval.c2st,
        seed,
        cfg.eval.iw_samples,
    )?;
    let bins = condition_bins(
        &flow,
        &cond.map,
        (&data.train, &cond.train),
        (&data.test, &cond.test),
        REPORT_BINS,
        seed,
        plots.as_deref(),
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
        gaussian_test_nll: gaussian_baseline_nll(&data.train.to_rows(), &data.test.to_rows())?,
        test,
        kde_overlap_ceiling: kde_ceiling(&data.train, &data.test, cfg.data.seed)?,
        conditional: Some(bins),
    };
    if let Some(dir) = out.dir {
        flow.save(dir.join("model"))?;
        write_atomic(
            &dir.join("run.json"),
            serde_json::to_string_pretty(&info)?.as_bytes(),
        )?;
        write_history(&dir.join("history.csv"), &rep.history)?;
        write_atomic(
            &dir.join("report.json"),
            serde_json::to_string_pretty(&report)?.as_bytes(),
        )?;
    }
    if let Some(p) = &plots {
        let train: Vec<f64> = rep.history.iter().map(|r| r.train_loss).collect();
        let val: Vec<f64> = rep.history.iter().filter_map(|r| r.val_loss).collect();
        crate::plot::loss_curves(
            p.join("loss.png"),
            &[("train", &train[..]), ("validation", &val[..])],
            "Training",
            "NLL (nats/event)",
        )?;
        let gen = generate_at(&flow, &cond.map, &cond.test, 10, 4242)?;
        crate::plot::histograms(
            p.join("histograms.png"),
            data.columns(),
            &data.test.to_rows(),
            &gen,
            40,
        )?;
    }
    Ok(Fitted {
        report,
        columns: data.columns().to_vec(),
        flow,
    })
}

/// Events of a conditional run at the conditions `input`: `per_row` events for each
/// condition, as a table of the condition columns followed by the generated ones.
///
/// ```
/// use flowinfer::config::FitConfig;
/// use flowinfer::density::{fit, sample_run_conditional, DataSource, Output};
/// use flowinfer::pipeline::condition::ConditionInput;
///
/// // y depends on the positive column e; learn p(y | e), then sample at e = 2.
/// let rows: Vec<Vec<f64>> = (0..300)
///     .map(|i| { let e = 0.5 + (i as f64 * 0.618).fract() * 3.0; vec![e, e.ln() + 0.1 * (i as f64).sin()] })
///     .collect();
/// let mut cfg = FitConfig::default();
/// cfg.data.condition = vec!["e".into()];
/// cfg.data.domains.insert("e".into(), flowinfer::config::ColumnDomain::Positive);
/// (cfg.flow.kind, cfg.flow.blocks, cfg.flow.hidden, cfg.train.epochs) =
///     (flowinfer::flow::FlowKind::Maf, 2, 16, 3); // 1-D events: an autoregressive flow
/// (cfg.eval.c2st, cfg.eval.plots) = (false, false);
/// let dir = std::env::temp_dir().join(format!("flowinfer-doc-cond-{}", std::process::id()));
/// fit(&DataSource::rows(&["e", "y"], &rows)?, &cfg, Output::to(&dir), |_| {})?;
/// let at = ConditionInput::parse("e=2")?;
/// let t = sample_run_conditional(&dir, &at, 50, 0, &candle_core::Device::Cpu)?;
/// assert_eq!(t.columns(), ["e", "y"]); // the condition, then the generated column
/// assert_eq!((t.rows(), t.row(49)[0]), (50, 2.0));
/// # std::fs::remove_dir_all(&dir).ok();
/// # Ok::<(), flowinfer::Error>(())
/// ```
pub fn sample_run_conditional(
    dir: &Path,
    input: &ConditionInput,
    per_row: usize,
    seed: u64,
    device: &Device,
) -> Result<Table> {
    let (info, flow) = load_run_on(dir, device)?;
    let map = info.condition.ok_or_else(|| {
        Error::config(format!(
            "{}: this run is not conditional; sample it without --condition",
            dir.display()
        ))
    })?;
    let (cond, origin) = input.table(&map)?;
    map.context(&cond, &origin, flow.dtype(), device)?; // domain check before sampling
    let gen = generate_at(&flow, &map, &cond, per_row, seed)?;
    let mut columns = map.columns.clone();
    columns.extend(info.columns);
    let rows: Vec<f64> = gen
        .iter()
        .enumerate()
        .flat_map(|(i, g)| {
            cond.row(i / per_row)
                .iter()
                .chain(g)
                .copied()
                .collect::<Vec<_>>()
        })
        .collect();
    Table::new(columns, rows)
}

/// Evaluate a conditional run against the events of `data` (modelled and condition
/// columns selected by name).
pub fn eval_conditional(
    dir: &Path,
    data: &DataSource,
    with_c2st: bool,
    seed: u64,
    k: usize,
    device: &Device,
) -> Result<Evaluation> {
    let (info, flow) = load_run_on(dir, device)?;
    let map = info
        .condition
        .ok_or_else(|| Error::config(format!("{}: this run is not conditional", dir.display())))?;
    let mut cols = info.columns.clone();
    cols.extend(map.columns.iter().cloned());
    let table = data.load(Some(cols), false)?.table;
    let x = table.select_columns(&info.columns)?;
    let c = table.select_columns(&map.columns)?;
    evaluate_conditional(&flow, &map, &x, &c, with_c2st, seed, k)
}
