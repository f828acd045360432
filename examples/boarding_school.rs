//! The 1978 boarding-school outbreak: NPE (a finished `flowinfer sbi` run of
//! `models/sir-boarding-school.toml`) against a likelihood-based reference posterior
//! (slice-sampling MCMC on the exact negative-binomial likelihood, several chains with
//! R-hat and ESS), compared by C2ST; posterior summaries of β, γ, φ_inv, R0 = β/γ and the
//! recovery time 1/γ with 90 % credible intervals.
//!
//! ```sh
//! flowinfer sbi --spec models/sir-boarding-school.toml --out runs/boarding-school
//! cargo run --release --example boarding_school -- runs/boarding-school
//! ```
//!
//! Writes `RUN/boarding-school/{reference_posterior_samples.csv, npe_samples.csv,
//! summary.json}`. Knobs: `MCMC_CHAINS` (4), `MCMC_WARMUP` (1000), `MCMC_DRAWS` per
//! chain (2500), `MCMC_THIN` (4), `C2ST_EPOCHS` (100).

use flowinfer::data::Table;
use flowinfer::sbi::diagnostics::reference::c2st_samples;
use flowinfer::sbi::load_sbi_run;
use flowinfer::sbi::mcmc::{sample_mcmc, McmcConfig};
use flowinfer::sbi::summary::{credible_columns, Credible};
use flowinfer_simulators::{BoardingSchool, Simulator, BOARDING_SCHOOL_COUNTS};
use rand::SeedableRng;
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

/// θ rows extended by R0 = β/γ and the recovery time 1/γ.
fn with_derived(rows: &[Vec<f64>]) -> Vec<Vec<f64>> {
    rows.iter()
        .map(|r| vec![r[0], r[1], r[2], r[0] / r[1], 1.0 / r[1]])
        .collect()
}

fn print_table(label: &str, s: &[Credible]) {
    println!("{label}");
    println!(
        "  {:>14} {:>9} {:>9} {:>22}",
        "quantity", "mean", "median", "90 % interval"
    );
    for c in s {
        println!(
            "  {:>14} {:>9.4} {:>9.4}     [{:>7.4}, {:>7.4}]",
            c.name, c.mean, c.median, c.lower, c.upper
        );
    }
}

fn main() -> anyhow::Result<()> {
    flowinfer::device::apply_cpu_thread_defaults();
    let run_dir = PathBuf::from(
        std::env::args()
            .nth(1)
            .ok_or_else(|| anyhow::anyhow!("usage: boarding_school RUN_DIR"))?,
    );
    let run = load_sbi_run(&run_dir, &candle_core::Device::Cpu)?;
    if run.simulator.name() != "sir_boarding_school" {
        anyhow::bail!(
            "{}: the run's simulator is {}, expected sir_boarding_school",
            run_dir.display(),
            run.simulator.name()
        );
    }
    let out = run_dir.join("boarding-school");
    std::fs::create_dir_all(&out)?;
    let sim = BoardingSchool;
    let x_o = BOARDING_SCHOOL_COUNTS;

    let cfg = McmcConfig {
        chains: env_or("MCMC_CHAINS", 4),
        warmup: env_or("MCMC_WARMUP", 1000),
        draws: env_or("MCMC_DRAWS", 2500),
        thin: env_or("MCMC_THIN", 4),
        ..McmcConfig::default()
    };
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    let inits = sim.sample_prior(cfg.chains, &mut rng);
    let log_post = |t: &[f64]| sim.log_prior(t) + sim.log_likelihood(t, &x_o);
    let mcmc = sample_mcmc(&log_post, &inits, &cfg)?;
    let names = sim.param_names();
    println!(
        "MCMC reference: {} chains × {} draws (thin {}, warm-up {}), {} log-likelihood evaluations, {:.1} s",
        cfg.chains, cfg.draws, cfg.thin, cfg.warmup, mcmc.evaluations, mcmc.seconds
    );
    for (p, n) in names.iter().enumerate() {
        println!(
            "  {n:>8}: split R-hat {:.4}, ESS {:.0}",
            mcmc.rhat[p], mcmc.ess[p]
        );
    }
    if let Some(w) = mcmc.warning(&names) {
        eprintln!("warning: {w}");
    }
    let reference = mcmc.pooled();

    let t = Instant::now();
    let npe = run
        .posterior
        .sample(run.simulator.as_ref(), &x_o, reference.len(), 7, 100)?;
    println!(
        "NPE: {} draws in {:.2} s (prior-support acceptance {:.3}); trained on {} simulations in {:.1} s + {:.1} s simulation",
        npe.samples.len(),
        t.elapsed().as_secs_f64(),
        npe.acceptance,
        run.info.simulations_used,
        run.info.train_seconds,
        run.info.simulation_seconds
    );

    let mut quantities = names.clone();
    quantities.extend(["R0 = beta/gamma".to_string(), "1/gamma (days)".to_string()]);
    let s_ref = credible_columns(&quantities, &with_derived(&reference), 0.9)?;
    let s_npe = credible_columns(&quantities, &with_derived(&npe.samples), 0.9)?;
    print_table("MCMC (exact likelihood):", &s_ref);
    print_table("NPE:", &s_npe);

    let epochs = env_or("C2ST_EPOCHS", 100);
    let t = Instant::now();
    let c = c2st_samples(&npe.samples, &reference, epochs, 0)?;
    println!(
        "C2ST NPE vs MCMC: {:.3} ± {:.3} ({} vs {} draws, {epochs} classifier epochs, {:.1} s)",
        c.accuracy,
        c.accuracy_std,
        npe.samples.len(),
        reference.len(),
        t.elapsed().as_secs_f64()
    );
    // Baseline: the first half of the chains against the second half.
    let half = cfg.chains / 2;
    if half >= 1 {
        let a: Vec<Vec<f64>> = mcmc.chains[..half].iter().flatten().cloned().collect();
        let b: Vec<Vec<f64>> = mcmc.chains[half..].iter().flatten().cloned().collect();
        let cb = c2st_samples(&a, &b, epochs, 0)?;
        println!(
            "C2ST MCMC chains 1..{half} vs the others (baseline): {:.3} ± {:.3}",
            cb.accuracy, cb.accuracy_std
        );
    }

    let flat = |rows: &[Vec<f64>]| rows.iter().flatten().copied().collect::<Vec<f64>>();
    Table::new(names.clone(), flat(&reference))?
        .write_csv(&out.join("reference_posterior_samples.csv"))?;
    Table::new(names.clone(), flat(&npe.samples))?.write_csv(&out.join("npe_samples.csv"))?;
    let summary = serde_json::json!({
        "mcmc": { "config": cfg, "rhat": mcmc.rhat, "ess": mcmc.ess,
                  "evaluations": mcmc.evaluations, "seconds": mcmc.seconds,
                  "summary": s_ref },
        "npe": { "acceptance": npe.acceptance, "summary": s_npe },
        "c2st": c,
    });
    flowinfer::atomic::write_atomic(
        &out.join("summary.json"),
        serde_json::to_string_pretty(&summary)?.as_bytes(),
    )?;
    println!(
        "written: {}/{{reference_posterior_samples.csv, npe_samples.csv, summary.json}}",
        out.display()
    );
    Ok(())
}
