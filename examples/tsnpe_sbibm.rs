//! TSNPE against amortised NPE on an sbibm task at the same total budget, scored by
//! C2ST (the sbibm protocol of `flowinfer diagnose`) against the reference posteriors in
//! `../shared/data/sbibm/<task>/num_observation_<k>/`.
//!
//! ```sh
//! cargo run --release --example tsnpe_sbibm -- models/sbibm-two_moons.toml [1,2,...] [rounds]
//! ```
//!
//! The spec gives the simulator, flow and training (its `[npe] simulations` is the
//! total budget B). Amortised NPE: one model on B prior simulations serves every
//! observation. TSNPE: per observation, `rounds` rounds (default 4) of B / rounds
//! simulations with HPD level 1e-4. Prints one row per observation and the means, with
//! wall times (simulation + training; TSNPE per observation). `C2ST_EPOCHS` (100).
//! `SBIBM_OUT=DIR` saves each method's 10,000 draws per observation as
//! `DIR/{npe,tsnpe}/samples_<k>.csv` and appends a row per observation to `DIR/rows.csv`
//! (`examples/sbibm_out`), for `scripts/sbibm_c2st.py`; `SKIP_NPE=1` skips amortised NPE.

mod sbibm_out;

use flowinfer::data::{read_table, ReadOptions};
use flowinfer::sbi::diagnostics::reference::reference_observation;
use flowinfer::sbi::rounds::{train_tsnpe, RoundsConfig};
use flowinfer::sbi::{train_npe, SbiConfig};
use std::path::{Path, PathBuf};
use std::time::Instant;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    flowinfer::device::apply_cpu_thread_defaults();
    let args: Vec<String> = std::env::args().collect();
    let spec_path = args
        .get(1)
        .ok_or_else(|| anyhow::anyhow!("usage: tsnpe_sbibm SPEC [k1,k2,...] [rounds]"))?;
    let obs: Vec<usize> = args
        .get(2)
        .map(|s| s.split(',').map(|v| v.parse()).collect::<Result<_, _>>())
        .transpose()?
        .unwrap_or_else(|| (1..=10).collect());
    let rounds: usize = args.get(3).map(|s| s.parse()).transpose()?.unwrap_or(4);
    let epochs: usize = std::env::var("C2ST_EPOCHS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let spec = SbiConfig::load(Path::new(spec_path))?;
    let sim = spec.simulator()?.build()?;
    let reference: PathBuf = spec
        .diagnose
        .reference
        .clone()
        .ok_or_else(|| anyhow::anyhow!("{spec_path}: no [diagnose] reference folder"))?;
    let budget = spec.npe.simulations;

    let skip_npe = std::env::var("SKIP_NPE").is_ok_and(|v| v == "1");
    let names = sim.param_names();
    let (t, c0) = (Instant::now(), sbibm_out::cpu_seconds());
    let npe = if skip_npe {
        None
    } else {
        Some(train_npe(sim.as_ref(), &spec, |_| {})?)
    };
    let (npe_seconds, npe_cpu) = (t.elapsed().as_secs_f64(), sbibm_out::cpu_seconds() - c0);
    if let Some(npe) = &npe {
        println!(
            "{}: amortised NPE on {budget} simulations, {} epochs, {npe_seconds:.1} s ({npe_cpu:.1} CPU s)",
            sim.name(),
            npe.report.history.len()
        );
    }
    let mut tsnpe_spec = spec.clone();
    tsnpe_spec.rounds = Some(RoundsConfig {
        rounds,
        simulations: budget / rounds,
        ..RoundsConfig::default()
    });
    println!("| obs | NPE C2ST | TSNPE C2ST | TSNPE accepted fraction per round | TSNPE s | TSNPE CPU s |");
    println!("|---|---|---|---|---|---|");
    let (mut a, mut b, mut secs) = (Vec::new(), Vec::new(), Vec::new());
    for k in obs {
        let x_o = reference_observation(&reference, k)?;
        let ref_file = reference
            .join(format!("num_observation_{k}"))
            .join("reference_posterior_samples.csv");
        let ref_rows = read_table(&ref_file, &ReadOptions::default())?.0.to_rows();
        let n = ref_rows.len();
        let c_npe = match &npe {
            Some(npe) => {
                let (t, c0) = (Instant::now(), sbibm_out::cpu_seconds());
                let d = npe
                    .posterior
                    .sample(sim.as_ref(), &x_o, n, 1 ^ k as u64, 100)?;
                let (w, c) = (t.elapsed().as_secs_f64(), sbibm_out::cpu_seconds() - c0);
                let acc = sbibm_out::c2st(&d.samples, &ref_rows, epochs, 1 + k as u64)?;
                sbibm_out::record(&names, "npe", k, &d.samples, acc, w, c)?;
                a.push(acc);
                format!("{acc:.3}")
            }
            None => "—".to_string(),
        };
        let (t, c0) = (Instant::now(), sbibm_out::cpu_seconds());
        let on_round = |r: &flowinfer::sbi::rounds::RoundReport| {
            let detail = format!(
                "simulation (with truncation) {:.2} s wall; training {:.2} s wall",
                r.simulation_seconds, r.train_seconds
            );
            let (w, c) = (t.elapsed().as_secs_f64(), sbibm_out::cpu_seconds() - c0);
            if let Err(e) = sbibm_out::record_round("tsnpe", k, r.round, w, c, r.epochs, &detail) {
                eprintln!("rounds.csv: {e}");
            }
        };
        let ts = train_tsnpe(sim.as_ref(), &tsnpe_spec, &x_o, None, |_| {}, on_round)?;
        let d = ts
            .training
            .posterior
            .sample(sim.as_ref(), &x_o, n, 1 ^ k as u64, 100)?;
        let (s, cpu) = (t.elapsed().as_secs_f64(), sbibm_out::cpu_seconds() - c0);
        let c_ts = sbibm_out::c2st(&d.samples, &ref_rows, epochs, 1 + k as u64)?;
        sbibm_out::record(&names, "tsnpe", k, &d.samples, c_ts, s, cpu)?;
        let fractions: Vec<String> = ts
            .rounds
            .iter()
            .map(|r| format!("{:.3}", r.accepted_fraction))
            .collect();
        println!(
            "| {k} | {c_npe} | {c_ts:.3} | {} | {s:.1} | {cpu:.1} |",
            fractions.join(" "),
        );
        b.push(c_ts);
        secs.push(s);
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    println!(
        "| mean | {:.3} | {:.3} | | {:.1} |",
        mean(&a),
        mean(&b),
        mean(&secs)
    );
    Ok(())
}
