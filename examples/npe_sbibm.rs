//! Neural posterior estimation on sbibm tasks, scored by C2ST against the sbibm
//! reference posteriors in `../shared/data/sbibm/<task>/num_observation_<k>/`.
//!
//! One amortised NPE model per task (10,000 simulations by default) serves every
//! observation; for each, 10,000 posterior draws are compared with the 10,000 reference
//! draws by a classifier two-sample test (MLP, 5-fold CV; 0.5 = indistinguishable).
//!
//! `cargo run --release --example npe_sbibm -- two_moons 1,2,3 [simulations]`
//! (tasks: two_moons, gaussian_linear, sir). Knobs: `NPE_FLOW=maf|realnvp` (default
//! nsf), `NPE_HIDDEN=32` (default 64), `NPE_HISTORY=1` prints the loss per epoch.

use flowinfer::data::{read_table, ReadOptions};
use flowinfer::flow::FlowConfig;
use flowinfer::flow::{FlowKind, Mixing};
use flowinfer::metrics::{c2st, C2stConfig};
use flowinfer::sbi::{train_npe, NpeConfig, SbiConfig};
use flowinfer::train::TrainerConfig;
use flowinfer_simulators::{GaussianLinear, SbibmSir, Simulator, TwoMoons};
use std::path::PathBuf;
use std::time::Instant;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn env_or<T: std::str::FromStr>(key: &str, default: T) -> T {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() -> anyhow::Result<()> {
    flowinfer::device::apply_cpu_thread_defaults();
    let args: Vec<String> = std::env::args().collect();
    let task = args.get(1).map(String::as_str).unwrap_or("two_moons");
    let obs: Vec<usize> = args
        .get(2)
        .map(|s| s.split(',').map(|v| v.parse()).collect::<Result<_, _>>())
        .transpose()?
        .unwrap_or_else(|| (1..=10).collect());
    let simulations: usize = args
        .get(3)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(10_000);
    let sim: Box<dyn Simulator> = match task {
        "two_moons" => Box::new(TwoMoons),
        "gaussian_linear" => Box::new(GaussianLinear),
        "sir" => Box::new(SbibmSir::new()),
        other => anyhow::bail!("unknown task {other:?} (two_moons, gaussian_linear, sir)"),
    };
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data/sbibm")
        .join(task);
    let kind = match std::env::var("NPE_FLOW").as_deref() {
        Ok("maf") => FlowKind::Maf,
        Ok("realnvp") => FlowKind::RealNvp,
        _ => FlowKind::Nsf,
    };
    let cfg = SbiConfig {
        npe: NpeConfig {
            simulations,
            ..Default::default()
        },
        flow: FlowConfig {
            kind,
            blocks: 5,
            hidden: std::env::var("NPE_HIDDEN")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(64),
            tail_bound: env_or("NPE_TAIL", 5.0),
            bins: env_or("NPE_BINS", 8),
            residual: std::env::var_os("NPE_RESIDUAL").is_some(),
            mixing: match std::env::var("NPE_MIXING").as_deref() {
                Ok("lu") => Mixing::LuLinear,
                Ok("random") => Mixing::RandomPermutation,
                _ => Mixing::Reverse,
            },
            ..Default::default()
        },
        train: TrainerConfig {
            epochs: env_or("NPE_EPOCHS", 200),
            batch_size: env_or("NPE_BATCH", 50),
            lr: env_or("NPE_LR", 5e-4),
            patience: Some(env_or("NPE_PATIENCE", 20)),
            ..Default::default()
        },
        ..Default::default()
    };
    let t0 = Instant::now();
    let t = train_npe(sim.as_ref(), &cfg, |_| {})?;
    let (post, rep) = (t.posterior, t.report);
    let train_s = t0.elapsed().as_secs_f64();
    if std::env::var_os("NPE_HISTORY").is_some() {
        for r in &rep.history {
            println!(
                "  epoch {:3}: train {:.4} val {:.4}",
                r.epoch,
                r.train_loss,
                r.val_loss.unwrap_or(f64::NAN)
            );
        }
    }
    println!(
        "{task}: {simulations} simulations, {} epochs (best {}), {train_s:.1} s",
        rep.history.len(),
        rep.best_epoch
    );
    let mut accs = Vec::new();
    for k in obs {
        let dir = root.join(format!("num_observation_{k}"));
        let (x, _) = read_table(&dir.join("observation.csv"), &ReadOptions::default())?;
        let (reference, _) = read_table(
            &dir.join("reference_posterior_samples.csv"),
            &ReadOptions::default(),
        )?;
        let t = Instant::now();
        let s = post.sample(sim.as_ref(), x.row(0), reference.rows(), k as u64, 100)?;
        let r = c2st(
            &s.samples,
            &reference.to_rows(),
            &C2stConfig {
                seed: k as u64,
                ..Default::default()
            },
        )?;
        println!(
            "  observation {k:2}: C2ST {:.3} ± {:.3} (AUC {:.3}), acceptance {:.3}, {:.1} s",
            r.accuracy,
            r.accuracy_std,
            r.auc,
            s.acceptance,
            t.elapsed().as_secs_f64()
        );
        accs.push(r.accuracy);
    }
    let mean = accs.iter().sum::<f64>() / accs.len().max(1) as f64;
    println!(
        "{task}: mean C2ST over {} observations {mean:.3}; total {:.1} s",
        accs.len(),
        t0.elapsed().as_secs_f64()
    );
    Ok(())
}
