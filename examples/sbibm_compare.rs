//! The flowinfer side of the side-by-side with `sbi` (docs/SBI.md, "NPE beside sbi"):
//! files that `scripts/sbi_baseline.py` and `scripts/sbibm_c2st.py` read and write, so
//! both tools train on the same simulations and are scored by the same C2ST code.
//!
//! ```text
//! # simulate + train + draw 10,000 posterior samples per reference observation:
//! #   OUT/simulations.csv (θ columns, then x columns; training rows first, the last
//! #   [npe] validation_fraction validate), OUT/samples_<k>.csv, OUT/timing.json
//! cargo run --release --example sbibm_compare -- npe models/sbibm-two_moons.toml OUT
//! # our sbibm-protocol C2ST of OUT/samples_<k>.csv against the reference posteriors:
//! #   OUT/c2st_flowinfer.csv (observation, accuracy)
//! cargo run --release --example sbibm_compare -- c2st ../shared/data/sbibm/two_moons OUT [epochs]
//! ```
//!
//! The reference folder of `npe` is the spec's `[diagnose] reference`; the observations
//! are all `num_observation_<k>` in it (or `SBIBM_OBS=1,2,3`). `epochs` of `c2st`
//! (default 100, as `flowinfer diagnose`) is the classifier's training length.

use flowinfer::data::{read_table, ReadOptions, Table};
use flowinfer::sbi::diagnostics::reference::{
    c2st_samples, reference_observation, reference_observations,
};
use flowinfer::sbi::{fit_npe, SbiConfig};
use flowinfer_simulators::simulate_dataset_lenient;
use std::path::{Path, PathBuf};
use std::time::Instant;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The observation numbers to use: `SBIBM_OBS` or every folder in `task_dir`.
fn observations(task_dir: &Path) -> anyhow::Result<Vec<usize>> {
    Ok(match std::env::var("SBIBM_OBS") {
        Ok(s) => s
            .split(',')
            .map(|v| v.trim().parse())
            .collect::<Result<_, _>>()?,
        Err(_) => reference_observations(task_dir)?,
    })
}

fn write_rows(path: &Path, columns: Vec<String>, rows: &[Vec<f64>]) -> anyhow::Result<()> {
    let values: Vec<f64> = rows.iter().flatten().copied().collect();
    Table::new(columns, values)?.write_csv(path)?;
    Ok(())
}

/// CPU seconds (user + system, all threads) this process has used so far, from
/// `/proc/self/stat` (Linux; 0 elsewhere): on a shared host the CPU time compares
/// better between tools than the wall time.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are fields 14, 15.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<f64> = rest
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|v| v.parse().ok())
        .collect();
    f.iter().sum::<f64>() / 100.0
}

fn npe(spec: &Path, out: &Path) -> anyhow::Result<()> {
    let mut cfg = SbiConfig::load(spec)?;
    let sim = cfg.simulator()?.build()?;
    let reference = cfg
        .diagnose
        .reference
        .clone()
        .ok_or_else(|| anyhow::anyhow!("{}: no [diagnose] reference", spec.display()))?;
    let obs = observations(&reference)?;
    std::fs::create_dir_all(out)?;
    // The run seed goes into every seed, as `flowinfer sbi` does.
    let s = std::mem::take(&mut cfg.seed);
    cfg.npe.seed = cfg.npe.seed.wrapping_add(s);
    cfg.flow.seed = cfg.flow.seed.wrapping_add(s);
    cfg.train.seed = cfg.train.seed.wrapping_add(s);

    let (t0, c0) = (Instant::now(), cpu_seconds());
    let data = simulate_dataset_lenient(sim.as_ref(), cfg.npe.simulations, cfg.npe.seed)?;
    let (simulate_s, simulate_cpu_s) = (t0.elapsed().as_secs_f64(), cpu_seconds() - c0);
    let mut columns = sim.param_names();
    columns.extend((1..=sim.obs_dim()).map(|j| format!("data_{j}")));
    let joined: Vec<Vec<f64>> = data
        .thetas
        .iter()
        .zip(&data.xs)
        .map(|(t, x)| t.iter().chain(x).copied().collect())
        .collect();
    write_rows(&out.join("simulations.csv"), columns, &joined)?;

    let (t1, c1) = (Instant::now(), cpu_seconds());
    let t = fit_npe(
        sim.as_ref(),
        data.thetas,
        data.xs,
        data.failures,
        &cfg,
        |_| {},
    )?;
    let (train_s, train_cpu_s) = (t1.elapsed().as_secs_f64(), cpu_seconds() - c1);
    let rep = &t.report;

    let (t2, c2) = (Instant::now(), cpu_seconds());
    let mut acceptance = Vec::new();
    for &k in &obs {
        let x = reference_observation(&reference, k)?;
        let draws = t
            .posterior
            .sample(sim.as_ref(), &x, 10_000, k as u64, 100)?;
        acceptance.push(draws.acceptance);
        write_rows(
            &out.join(format!("samples_{k}.csv")),
            sim.param_names(),
            &draws.samples,
        )?;
    }
    let (sample_s, sample_cpu_s) = (t2.elapsed().as_secs_f64(), cpu_seconds() - c2);
    let timing = serde_json::json!({
        "tool": "flowinfer",
        // The cargo profile: dev and release timings differ severalfold.
        "profile": if cfg!(debug_assertions) { "dev" } else { "release" },
        // The rayon pool (RAYON_NUM_THREADS): its idle threads spin, so on a loaded host
        // two threads can cost twice the CPU seconds of one for the same result.
        "rayon_threads": rayon::current_num_threads(),
        "spec": spec,
        "simulations": t.simulations_used,
        "epochs": rep.history.len(),
        "best_epoch": rep.best_epoch,
        "best_val_loss": rep.history.get(rep.best_epoch).and_then(|r| r.val_loss),
        "simulate_s": simulate_s,
        "train_s": train_s,
        "sample_s": sample_s,
        "total_s": simulate_s + train_s + sample_s,
        "simulate_cpu_s": simulate_cpu_s,
        "train_cpu_s": train_cpu_s,
        "sample_cpu_s": sample_cpu_s,
        "observations": obs,
        "acceptance": acceptance,
    });
    flowinfer::atomic::write_atomic(
        &out.join("timing.json"),
        serde_json::to_string_pretty(&timing)?.as_bytes(),
    )?;
    println!("{timing}");
    Ok(())
}

fn c2st(task_dir: &Path, samples: &Path, epochs: usize) -> anyhow::Result<()> {
    let opts = ReadOptions::default();
    let mut lines = vec!["observation,accuracy".to_string()];
    let mut accs = Vec::new();
    for k in observations(task_dir)? {
        let file = samples.join(format!("samples_{k}.csv"));
        if !file.exists() {
            continue;
        }
        let (draws, _) = read_table(&file, &opts)?;
        let ref_file = task_dir
            .join(format!("num_observation_{k}"))
            .join("reference_posterior_samples.csv");
        let (reference, _) = read_table(&ref_file, &opts)?;
        let r = c2st_samples(&draws.to_rows(), &reference.to_rows(), epochs, k as u64)?;
        println!("observation {k:2}: C2ST {:.4}", r.accuracy);
        lines.push(format!("{k},{}", r.accuracy));
        accs.push(r.accuracy);
    }
    anyhow::ensure!(
        !accs.is_empty(),
        "no samples_<k>.csv in {}",
        samples.display()
    );
    println!(
        "mean C2ST over {} observations: {:.4}",
        accs.len(),
        accs.iter().sum::<f64>() / accs.len() as f64
    );
    flowinfer::atomic::write_atomic(
        &samples.join("c2st_flowinfer.csv"),
        (lines.join("\n") + "\n").as_bytes(),
    )?;
    Ok(())
}

fn main() -> anyhow::Result<()> {
    flowinfer::device::apply_cpu_thread_defaults();
    let a: Vec<String> = std::env::args().skip(1).collect();
    match a.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["npe", spec, out] => npe(Path::new(spec), Path::new(out)),
        ["c2st", task, samples, rest @ ..] => {
            let epochs = rest.first().map(|e| e.parse()).transpose()?.unwrap_or(100);
            c2st(&PathBuf::from(task), Path::new(samples), epochs)
        }
        _ => anyhow::bail!(
            "usage: sbibm_compare npe SPEC OUT | sbibm_compare c2st TASK_DIR SAMPLES_DIR [EPOCHS]"
        ),
    }
}
