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

use flowinfer::sbi::diagnostics::reference::{c2st_against_reference, reference_observation};
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

    let t = Instant::now();
    let npe = train_npe(sim.as_ref(), &spec, |_| {})?;
    let npe_seconds = t.elapsed().as_secs_f64();
    println!(
        "{}: amortised NPE on {budget} simulations, {} epochs, {npe_seconds:.1} s",
        sim.name(),
        npe.report.history.len()
    );
    let mut tsnpe_spec = spec.clone();
    tsnpe_spec.rounds = Some(RoundsConfig {
        rounds,
        simulations: budget / rounds,
        ..RoundsConfig::default()
    });
    println!("| obs | NPE C2ST | TSNPE C2ST | TSNPE accepted fraction per round | TSNPE s |");
    println!("|---|---|---|---|---|");
    let (mut a, mut b, mut secs) = (Vec::new(), Vec::new(), Vec::new());
    for k in obs {
        let x_o = reference_observation(&reference, k)?;
        let c_npe =
            c2st_against_reference(&npe.posterior, sim.as_ref(), &reference, &[k], epochs, 1)?;
        let t = Instant::now();
        let ts = train_tsnpe(sim.as_ref(), &tsnpe_spec, &x_o, None, |_| {}, |_| {})?;
        let s = t.elapsed().as_secs_f64();
        let c_ts = c2st_against_reference(
            &ts.training.posterior,
            sim.as_ref(),
            &reference,
            &[k],
            epochs,
            1,
        )?;
        let fractions: Vec<String> = ts
            .rounds
            .iter()
            .map(|r| format!("{:.3}", r.accepted_fraction))
            .collect();
        println!(
            "| {k} | {:.3} | {:.3} | {} | {s:.1} |",
            c_npe[0].c2st.accuracy,
            c_ts[0].c2st.accuracy,
            fractions.join(" "),
        );
        a.push(c_npe[0].c2st.accuracy);
        b.push(c_ts[0].c2st.accuracy);
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
