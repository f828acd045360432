//! The misspecification check of a finished `flowinfer sbi` run with a
//! `[misspecification]` section: its flag rate on fresh simulations from the prior
//! predictive (should be at most the level), and on observations from shifted and
//! noisier versions of the simulator (should be high).
//!
//! ```sh
//! flowinfer sbi --spec models/sir-boarding-school.toml --out runs/boarding-school
//! cargo run --release --example misspecification -- runs/boarding-school [N]
//! ```
//!
//! `N` (default 1000) fresh simulations, seed 12345 (never used in training). The
//! shifted observations add `k` prior-predictive standard deviations to every entry, the
//! noisier ones add Gaussian noise of `k` standard deviations (both clamped at the
//! simulations' minimum when every simulated value is non-negative, e.g. counts); the
//! multiplicative ones scale every entry by `1 + k` or by log-normal noise `exp(k·ε)`.

use flowinfer::sbi::load_sbi_run;
use flowinfer_simulators::simulate_dataset_lenient;
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};
use std::path::PathBuf;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    flowinfer::device::apply_cpu_thread_defaults();
    let args: Vec<String> = std::env::args().collect();
    let run_dir = PathBuf::from(
        args.get(1)
            .ok_or_else(|| anyhow::anyhow!("usage: misspecification RUN_DIR [N]"))?,
    );
    let n: usize = args.get(2).map(|s| s.parse()).transpose()?.unwrap_or(1000);
    let run = load_sbi_run(&run_dir, &candle_core::Device::Cpu)?;
    let check = run.misspecification.as_ref().ok_or_else(|| {
        anyhow::anyhow!(
            "{}: the run has no misspecification check (spec without [misspecification])",
            run_dir.display()
        )
    })?;
    let sim = run.simulator.as_ref();
    let xs = simulate_dataset_lenient(sim, n, 12345)?.xs;
    let d = sim.obs_dim();
    let sd: Vec<f64> = (0..d)
        .map(|j| {
            let m = xs.iter().map(|x| x[j]).sum::<f64>() / xs.len() as f64;
            (xs.iter().map(|x| (x[j] - m).powi(2)).sum::<f64>() / xs.len() as f64).sqrt()
        })
        .collect();
    let floor = xs.iter().flatten().copied().fold(f64::INFINITY, f64::min);
    let clamp = |v: f64| if floor >= 0.0 { v.max(floor) } else { v };
    let rate = |rows: &[Vec<f64>]| -> anyhow::Result<f64> {
        let t = check.assess_many(rows)?;
        Ok(t.iter().filter(|t| t.flagged).count() as f64 / t.len() as f64)
    };
    println!(
        "{} ({}), level {:.1} %, {} fresh simulations per row",
        run_dir.display(),
        sim.name(),
        100.0 * check.level(),
        xs.len()
    );
    println!("  {:<40} {:>10}", "observations", "flagged");
    println!(
        "  {:<40} {:>9.1} %",
        "in-distribution (prior predictive)",
        100.0 * rate(&xs)?
    );
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    for k in [0.25, 0.5, 1.0] {
        let shifted: Vec<Vec<f64>> = xs
            .iter()
            .map(|x| (0..d).map(|j| clamp(x[j] + k * sd[j])).collect())
            .collect();
        let noisy: Vec<Vec<f64>> = xs
            .iter()
            .map(|x| {
                (0..d)
                    .map(|j| {
                        let e: f64 = StandardNormal.sample(&mut rng);
                        clamp(x[j] + k * sd[j] * e)
                    })
                    .collect()
            })
            .collect();
        println!(
            "  {:<40} {:>9.1} %",
            format!("shifted by {k} sd"),
            100.0 * rate(&shifted)?
        );
        println!(
            "  {:<40} {:>9.1} %",
            format!("noisier: + N(0, ({k} sd)²)"),
            100.0 * rate(&noisy)?
        );
    }
    for k in [0.3, 1.0] {
        // Multiplicative versions (natural for counts): over-reporting by a factor
        // 1 + k, and log-normal noise of scale k on every entry.
        let scaled: Vec<Vec<f64>> = xs
            .iter()
            .map(|x| x.iter().map(|v| v * (1.0 + k)).collect())
            .collect();
        let noisy: Vec<Vec<f64>> = xs
            .iter()
            .map(|x| {
                x.iter()
                    .map(|v| {
                        let e: f64 = StandardNormal.sample(&mut rng);
                        v * (k * e).exp()
                    })
                    .collect()
            })
            .collect();
        println!(
            "  {:<40} {:>9.1} %",
            format!("scaled by {}", 1.0 + k),
            100.0 * rate(&scaled)?
        );
        println!(
            "  {:<40} {:>9.1} %",
            format!("noisier: × exp(N(0, {k}²))"),
            100.0 * rate(&noisy)?
        );
    }
    if sim.name() == "sir_boarding_school" {
        let t = check.assess(&flowinfer_simulators::BOARDING_SCHOOL_COUNTS)?;
        println!("  the 1978 counts: {}", t.message());
    }
    Ok(())
}
