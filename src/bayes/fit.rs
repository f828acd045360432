//! The `fit` job for specs with a `[bayes]` section: the data prepared by the shared
//! pipeline ([`crate::pipeline::prepare()`]: columns, seeded split, standardisation stored
//! in the model), then MAP, SVI, an SGLD-family chain or an ensemble; evaluation of the
//! posterior predictive on the test split and of the bands against the test
//! histograms. The run directory is written atomically:
//!
//! `model/` (SVI/MAP: means and log-variances; SGLD: the last kept sample; ensemble:
//! member 0), `bayes/samples.safetensors` (SGLD samples / ensemble members),
//! `bayes/report.json`, `run.json`, `report.json`, `history.csv`, `plots/`.

use crate::atomic::{write_atomic, write_dir_atomic};
use crate::bayes::bands::{bins_for, compute_bands, data_pulls, DataPulls};
use crate::bayes::ensemble::train_ensemble;
use crate::bayes::predict::{log_prob_spread, BayesModel, Posterior, SAMPLES_FILE};
use crate::bayes::sgld::{run_chain, ChainConfig, ChainReport, SamplerConfig, SamplerKind, Sgmcmc};
use crate::bayes::svi::Elbo;
use crate::bayes::{bayesify, BayesConfig, Method};
use crate::config::FitConfig;
use crate::error::{Error, Result};
use crate::flow::Flow;
use crate::metrics::gaussian_baseline_nll;
use crate::nn::{NoiseControl, WeightNoise};
use crate::pipeline::{
    evaluation_of, generate, kde_ceiling, write_history, Evaluation, FitReport, Prepared, RunInfo,
};
use crate::pipeline::{Fitted, Output};
use crate::train::{Batches, EpochRecord, TrainReport, Trainer};
use candle_core::{Device, Tensor};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::Instant;

/// What `bayes/report.json` records.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BayesReport {
    /// The settings.
    pub settings: BayesConfig,
    /// Training events `N` (the KL is divided by it).
    pub n_train: usize,
    /// Stochastic (mean-field) weights (SVI/MAP).
    pub bayes_weights: usize,
    /// `KL(q ‖ p)` at the end (SVI), nats.
    pub kl: Option<f64>,
    /// The chain (SGLD family).
    pub chain: Option<ChainReport>,
    /// Best epoch of each ensemble member.
    pub member_best_epochs: Vec<usize>,
    /// Draws used in the evaluation.
    pub draws: usize,
    /// Test evaluation of the posterior predictive (events pooled over draws; NLL of
    /// the predictive density `log (1/M) Σ p(x | w_m)`).
    pub predictive: Evaluation,
    /// Test evaluation of the mean network (SVI/MAP) or draw 0 (samples, members).
    pub point: Evaluation,
    /// Mean over test events of the standard deviation of `log p(x | w_m)` across draws.
    pub test_logp_spread: f64,
    /// Test histograms (counts, Poisson error in quadrature) against the bands.
    pub test_pulls: DataPulls,
    /// Quantiles (min, 10 %, median, 90 %, max) of the learned weight standard
    /// deviations of the Bayesian layers (SVI).
    pub weight_std_quantiles: Option<[f64; 5]>,
    /// Training wall time in seconds.
    pub train_seconds: f64,
}

/// The name (last component) of the weight log-variance parameters of the Bayesian
/// layers; `[bayes] logvar_lr_scale` applies to them.
pub const LOGVAR_PARAM: &str = "weight_logvar";

/// One SVI epoch as `bayes/svi_history.csv` records it: the KL term per training
/// event and the learned weight standard deviations at the end of the epoch.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SviEpoch {
    /// 0-based epoch.
    pub epoch: usize,
    /// Training loss (negative ELBO per event) of the epoch.
    pub train_loss: f64,
    /// Validation loss, when there is a validation split.
    pub val_loss: Option<f64>,
    /// `KL(q ‖ p) / N` at the end of the epoch (nats per training event, before `β`).
    pub kl_per_event: f64,
    /// Weight σ quantiles (min, 10 %, median, 90 %, max) at the end of the epoch.
    pub std_quantiles: [f64; 5],
}

fn svi_epoch(
    elbo: &Elbo,
    control: &NoiseControl,
    n_train: usize,
    r: &EpochRecord,
) -> Result<SviEpoch> {
    Ok(SviEpoch {
        epoch: r.epoch,
        train_loss: r.train_loss,
        val_loss: r.val_loss,
        kl_per_event: elbo.kl_value()? / n_train.max(1) as f64,
        std_quantiles: std_quantiles(control)?.unwrap_or([f64::NAN; 5]),
    })
}

fn write_svi_history(path: &Path, h: &[SviEpoch]) -> Result<()> {
    use std::fmt::Write;
    let mut s = String::from(
        "epoch,train_loss,val_loss,kl_per_event,std_min,std_q10,std_median,std_q90,std_max\n",
    );
    for e in h {
        let v = e.val_loss.map(|v| v.to_string()).unwrap_or_default();
        let q = e.std_quantiles;
        let _ = writeln!(
            s,
            "{},{},{},{},{},{},{},{},{}",
            e.epoch, e.train_loss, v, e.kl_per_event, q[0], q[1], q[2], q[3], q[4]
        );
    }
    write_atomic(path, s.as_bytes())
}

/// Fit a spec with a `[bayes]` section to prepared data; see the module docs. Called by
/// [`density::fit`](crate::density::fit()) for such specs.
pub fn fit_bayes(
    data: &Prepared,
    spec: &FitConfig,
    out: Output<'_>,
    mut on_epoch: impl FnMut(&EpochRecord),
) -> Result<Fitted> {
    let b = spec
        .bayes
        .clone()
        .ok_or_else(|| Error::config("fit_bayes needs a [bayes] section"))?;
    if out.resume {
        return Err(Error::config(
            "--resume is not supported for Bayesian runs ([bayes] section); start afresh",
        ));
    }
    let (table, train, val, test) = (&data.loaded.table, &data.train, &data.val, &data.test);
    let dtype = spec.flow.dtype()?;
    let mut fspec = data.stack_spec(&spec.flow)?;
    if b.method.uses_bayes_layers() {
        fspec = bayesify(&fspec, &b)?;
    }
    let control = NoiseControl::new(spec.train.seed ^ 0xba7e5);
    let flow = control.attach(|| Flow::new(fspec.clone(), dtype, &Device::Cpu, spec.flow.seed))?;
    let dev = Device::Cpu;
    let xt = train.to_tensor(dtype, &dev)?;
    let xv = val.to_tensor(dtype, &dev)?;
    let xval = (val.rows() > 0).then_some(&xv);
    flow.initialize_from_data(&xt, None)?;
    let n_train = train.rows();
    let start = Instant::now();
    let mut kl = None;
    let mut chain = None;
    let mut member_best_epochs = Vec::new();
    let mut svi_history: Vec<SviEpoch> = Vec::new();
    let mut history: Vec<EpochRecord> = Vec::new();
    let mut record = |r: &EpochRecord| {
        history.push(r.clone());
        on_epoch(r);
    };
    let (posterior, train_rep) = match b.method {
        Method::Map | Method::Svi => {
            let elbo = if b.method == Method::Map {
                Elbo::map(control.clone(), n_train)
            } else {
                Elbo::new(
                    control.clone(),
                    n_train,
                    b.kl_weight,
                    b.kl_anneal_epochs,
                    b.mc_samples,
                )
            };
            let trainer =
                Trainer::new(spec.train.clone())?.with_lr_scale(LOGVAR_PARAM, b.logvar_lr_scale);
            let mut epoch_err = None;
            let rep = trainer.fit(
                flow.params(),
                Batches { x: &xt, ctx: None },
                xval.map(|v| Batches { x: v, ctx: None }),
                |x, _| elbo.loss(|| Ok(flow.log_prob_unchecked(x, None)?.mean_all()?.neg()?)),
                |r| {
                    elbo.set_epoch(r.epoch + 1);
                    if b.method == Method::Svi && epoch_err.is_none() {
                        match svi_epoch(&elbo, &control, n_train, r) {
                            Ok(e) => svi_history.push(e),
                            Err(e) => epoch_err = Some(e),
                        }
                    }
                    record(r)
                },
            )?;
            if let Some(e) = epoch_err {
                return Err(e);
            }
            if b.method == Method::Svi {
                kl = Some(elbo.kl_value()?);
                (Posterior::Variational, rep)
            } else {
                (Posterior::Point, rep)
            }
        }
        m if m.is_sgmcmc() => {
            let prior = b.prior_std;
            let map_loss = |x: &Tensor| -> Result<Tensor> {
                let nll = flow.log_prob_unchecked(x, None)?.mean_all()?.neg()?;
                Ok(nll)
            };
            let mut pre = None;
            if b.warm_start {
                pre = Some(Trainer::new(spec.train.clone())?.fit(
                    flow.params(),
                    Batches { x: &xt, ctx: None },
                    xval.map(|v| Batches { x: v, ctx: None }),
                    |x, _| map_loss(x),
                    &mut record,
                )?);
            }
            let kind = match m {
                Method::Sgld => SamplerKind::Sgld,
                Method::Psgld => SamplerKind::Psgld {
                    alpha: b.psgld_alpha,
                    lambda: b.psgld_lambda,
                },
                _ => SamplerKind::Sghmc {
                    friction: b.sghmc_friction,
                },
            };
            let sampler = Sgmcmc::new(
                flow.params().all_vars(),
                SamplerConfig {
                    kind,
                    lr: b.step_size,
                    temperature: b.temperature,
                    n_train,
                    prior_std: Some(prior),
                },
                spec.train.seed ^ 0x5a5a,
            )?;
            let cfg = ChainConfig {
                epochs: b.chain_epochs,
                batch_size: spec.train.batch_size,
                schedule: b.step_schedule.clone(),
                burn_in_epochs: b.burn_in_epochs,
                thin: b.thin,
                max_samples: b.max_samples,
                seed: spec.train.seed,
            };
            let offset = pre.as_ref().map_or(0, |r: &TrainReport| r.history.len());
            let (store, rep) = run_chain(flow.params(), &xt, sampler, &cfg, map_loss, |e, l| {
                record(&EpochRecord {
                    epoch: offset + e,
                    train_loss: l,
                    val_loss: None,
                    lr: b.step_size,
                    seconds: 0.0,
                    rollbacks: 0,
                })
            })?;
            let last = store.len() - 1;
            flow.params()
                .restore(store.get(last).expect("store holds samples"))?;
            chain = Some(rep);
            let tr = pre.unwrap_or(TrainReport {
                history: Vec::new(),
                best_epoch: 0,
                best_loss: f64::NAN,
                stopped_early: false,
                rollbacks: 0,
            });
            (Posterior::Samples(store), tr)
        }
        _ => {
            let (store, reps) = train_ensemble(
                &fspec,
                dtype,
                &xt,
                xval,
                &spec.train,
                b.members,
                spec.flow.seed,
                |_, r| record(r),
            )?;
            member_best_epochs = reps.iter().map(|r| r.best_epoch).collect();
            flow.params()
                .restore(store.get(0).expect("store holds members"))?;
            let rep = reps.into_iter().next().expect("one member at least");
            (Posterior::Samples(store), rep)
        }
    };
    let train_seconds = start.elapsed().as_secs_f64();
    let model = BayesModel {
        flow,
        control,
        posterior,
    };
    let draws = match model.available_draws() {
        Some(k) => b.draws.min(k),
        None => b.draws,
    };
    let seed = spec.train.seed.wrapping_add(17);
    let rows_test = test.to_rows();
    let xtest = test.to_tensor(dtype, &dev)?;
    let lp = model.log_prob_draws(&xtest, draws, seed)?;
    let spread = log_prob_spread(&lp);
    let pred_nll = -spread.predictive.iter().sum::<f64>() / rows_test.len() as f64;
    let gen = model.predictive_sample(rows_test.len(), draws, seed)?;
    let predictive = evaluation_of(&gen, &rows_test, pred_nll, spec.eval.c2st, seed)?;
    model.set_mean()?;
    let point_nll = crate::train::mean_nll(&model.flow, &xtest, None, 4096)?;
    let point_gen = generate(&model.flow, rows_test.len(), seed)?;
    let point = evaluation_of(&point_gen, &rows_test, point_nll, spec.eval.c2st, seed)?;
    let n_gen = (20 * rows_test.len()).clamp(2000, 20000);
    let events = model.generate(n_gen, draws, seed ^ 0xb00, true)?;
    let bins = bins_for(&rows_test, table.cols(), 10)?;
    let bands = compute_bands(table.columns(), &events, &bins, 5)?;
    let test_pulls = data_pulls(&bands, &rows_test);
    model.set_mean()?;

    let report = FitReport {
        rows_read: data.loaded.report.rows_read,
        rows_dropped: data.loaded.report.rows_dropped,
        split: [train.rows(), val.rows(), test.rows()],
        parameters: model.flow.params().num_parameters(),
        epochs: history.len(),
        best_epoch: train_rep.best_epoch,
        stopped_early: train_rep.stopped_early,
        rollbacks: train_rep.rollbacks,
        train_seconds,
        gaussian_test_nll: gaussian_baseline_nll(&train.to_rows(), &rows_test)?,
        test: predictive.clone(),
        kde_overlap_ceiling: kde_ceiling(train, test, spec.data.seed)?,
        conditional: None,
    };
    let breport = BayesReport {
        settings: b.clone(),
        n_train,
        bayes_weights: model.control.num_weights(),
        kl,
        chain,
        member_best_epochs,
        draws,
        predictive,
        point,
        test_logp_spread: spread.std.iter().sum::<f64>() / spread.std.len().max(1) as f64,
        test_pulls,
        weight_std_quantiles: std_quantiles(&model.control)?,
        train_seconds,
    };
    let info = RunInfo {
        columns: table.columns().to_vec(),
        data: data.loaded.origin.clone(),
        spec: spec.clone(),
        condition: None,
    };
    if let Some(out) = out.dir {
        write_run(
            out,
            &model,
            &svi_history,
            &breport,
            &info,
            &history,
            &report,
            spec,
            &bands,
            &rows_test,
        )?;
    }
    model.control.set(WeightNoise::Mean);
    Ok(Fitted {
        report,
        columns: table.columns().to_vec(),
        flow: model.flow,
    })
}

/// Write a Bayesian run directory atomically (module docs).
#[allow(clippy::too_many_arguments)]
fn write_run(
    out: &Path,
    model: &BayesModel,
    svi_history: &[SviEpoch],
    breport: &BayesReport,
    info: &RunInfo,
    history: &[EpochRecord],
    report: &FitReport,
    spec: &FitConfig,
    bands: &crate::bayes::bands::Bands,
    rows_test: &[Vec<f64>],
) -> Result<()> {
    write_dir_atomic(out, |dir| {
        model.flow.save(dir.join("model"))?;
        let bdir = dir.join("bayes");
        std::fs::create_dir_all(&bdir).map_err(|e| Error::file(&bdir, e.to_string()))?;
        if let Posterior::Samples(store) = &model.posterior {
            store.save(&dir.join(SAMPLES_FILE))?;
        }
        if !svi_history.is_empty() {
            write_svi_history(&bdir.join("svi_history.csv"), svi_history)?;
        }
        write_atomic(
            &bdir.join("report.json"),
            serde_json::to_string_pretty(breport)?.as_bytes(),
        )?;
        write_atomic(
            &dir.join("run.json"),
            serde_json::to_string_pretty(info)?.as_bytes(),
        )?;
        write_history(&dir.join("history.csv"), history)?;
        write_atomic(
            &dir.join("report.json"),
            serde_json::to_string_pretty(report)?.as_bytes(),
        )?;
        if spec.eval.plots {
            let pdir = dir.join("plots");
            std::fs::create_dir_all(&pdir).map_err(|e| Error::file(&pdir, e.to_string()))?;
            let tl: Vec<f64> = history.iter().map(|r| r.train_loss).collect();
            let vl: Vec<f64> = history.iter().filter_map(|r| r.val_loss).collect();
            crate::plot::loss_curves(
                pdir.join("loss.png"),
                &[("train", &tl[..]), ("validation", &vl[..])],
                "Training",
                "loss (nats/event)",
            )?;
            crate::plot::bands::band_histograms(pdir.join("bands.png"), bands, Some(rows_test))?;
            crate::plot::bands::relative_uncertainty(pdir.join("rel_uncertainty.png"), bands)?;
        }
        Ok(())
    })
}

fn std_quantiles(control: &NoiseControl) -> Result<Option<[f64; 5]>> {
    let mut v: Vec<f64> = control
        .weight_moments()?
        .into_iter()
        .flat_map(|(_, _, s)| s)
        .collect();
    if v.is_empty() {
        return Ok(None);
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let q = |p: f64| v[((v.len() - 1) as f64 * p).round() as usize];
    Ok(Some([q(0.0), q(0.1), q(0.5), q(0.9), q(1.0)]))
}
