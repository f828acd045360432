//! The `sbi`, `posterior` and `diagnose` verbs of the command line.

use crate::args::{set, DeviceArg, QuietArg, SeedArg};
use crate::progress;
use clap::builder::PossibleValuesParser;
use flowinfer::config::JobConfig;
use flowinfer::pipeline::DataSource;
use flowinfer::sbi::diagnostics::{diagnose, DiagnoseOptions, SbcResult};
use flowinfer::sbi::spec::BUILTIN_SIMULATORS;
use flowinfer::sbi::{load_sbi_run, run_sbi_with_rounds, SbiConfig};
use std::path::PathBuf;

/// Arguments of `flowinfer sbi`.
#[derive(clap::Args)]
pub struct SbiArgs {
    /// SBI spec (TOML, see models/sbibm-*.toml, models/sir-*.toml and docs/SPECS.md).
    #[arg(long, conflicts_with = "task")]
    spec: Option<PathBuf>,
    /// Built-in simulator with default settings instead of a spec.
    #[arg(long, value_parser = PossibleValuesParser::new(BUILTIN_SIMULATORS))]
    task: Option<String>,
    /// Simulation budget (overrides the spec).
    #[arg(long)]
    simulations: Option<usize>,
    /// Training epochs (overrides the spec).
    #[arg(long)]
    epochs: Option<usize>,
    /// Run seed (overrides the spec's top-level `seed`, which is added to the seeds of
    /// [npe], [flow], [train] and [diagnose]).
    #[arg(long)]
    seed: Option<u64>,
    /// Output directory.
    #[arg(long, default_value = "runs/sbi")]
    out: PathBuf,
    /// The device (`--device`).
    #[command(flatten)]
    device: DeviceArg,
    /// `--quiet`.
    #[command(flatten)]
    quiet: QuietArg,
    /// `--executor`, `--work-dir`, `--resume` and the Slurm settings.
    #[command(flatten)]
    executor: crate::cluster::ExecutorArgs,
}

/// Arguments of `flowinfer posterior`.
#[derive(clap::Args)]
#[command(mut_arg("seed", |a| a.help("Sampling seed")))]
pub struct PosteriorArgs {
    /// Run directory written by `sbi`.
    #[arg(long)]
    run: PathBuf,
    /// Observation file: CSV with a header row and one row per observation.
    #[arg(long)]
    observation: PathBuf,
    /// Posterior draws per observation.
    #[arg(short, long, default_value_t = 10000)]
    n: usize,
    /// Output CSV (parameter names as header; an `observation` column first when the
    /// file holds several observations).
    #[arg(long)]
    out: PathBuf,
    /// The seed (`--seed`).
    #[command(flatten)]
    seed: SeedArg,
    /// Most sampling rounds before giving up on the prior-support rejection.
    #[arg(long, default_value_t = 100)]
    max_rounds: usize,
    /// Percentile below which an observation is flagged as atypical of the simulator
    /// (runs with a [misspecification] check; default: the spec's level).
    #[arg(long)]
    misspecification_level: Option<f64>,
    /// The device (`--device`).
    #[command(flatten)]
    device: DeviceArg,
}

/// Arguments of `flowinfer diagnose`.
#[derive(clap::Args)]
pub struct DiagnoseArgs {
    /// Run directory written by `sbi`.
    #[arg(long)]
    run: PathBuf,
    /// Observation (CSV, first row used) for the predictive check; default: reference
    /// observation 1, else a fresh simulation.
    #[arg(long)]
    observation: Option<PathBuf>,
    /// sbibm task folder with reference posteriors (default: the spec's).
    #[arg(long)]
    reference: Option<PathBuf>,
    /// SBC data sets (default: the spec's).
    #[arg(long)]
    sbc_runs: Option<usize>,
    /// Posterior draws per SBC data set (default: the spec's).
    #[arg(long)]
    sbc_samples: Option<usize>,
    /// Posterior draws re-simulated in the predictive check (default: the spec's).
    #[arg(long)]
    predictive_draws: Option<usize>,
    /// Classifier epochs per reference C2ST.
    #[arg(long, default_value_t = 30)]
    c2st_epochs: usize,
    /// NLE runs: MCMC chains per SBC data set.
    #[arg(long, default_value_t = 4)]
    sbc_chains: usize,
    /// NLE runs: warm-up sweeps of the SBC chains.
    #[arg(long, default_value_t = 50)]
    sbc_warmup: usize,
    /// Output directory (default: RUN/diagnostics).
    #[arg(long)]
    out: Option<PathBuf>,
    /// The device (`--device`).
    #[command(flatten)]
    device: DeviceArg,
}

/// `flowinfer sbi`: simulate, train the posterior estimator, write the run.
pub fn run_sbi_command(a: SbiArgs) -> anyhow::Result<()> {
    let mut spec = match (&a.spec, &a.task) {
        (Some(p), _) => SbiConfig::load(p)?,
        (None, Some(t)) => SbiConfig::for_simulator(t),
        (None, None) => anyhow::bail!("give --spec FILE (see models/) or --task NAME"),
    };
    set(&mut spec.npe.simulations, &a.simulations);
    set(&mut spec.train.epochs, &a.epochs);
    set(&mut spec.seed, &a.seed);
    if let Some(d) = &a.device.device {
        spec.device = Some(d.clone());
    }
    spec.device()?;
    let batch_bar = a.executor.apply(&mut spec.executor, a.quiet.quiet)?;
    spec.validate()?;
    if spec.nle.is_some() {
        return crate::nle::run_sbi_nle(&spec, &a.out, a.quiet.quiet);
    }
    let estimator = match &spec.cnf {
        Some(_) => "a continuous normalizing flow ([cnf])".to_string(),
        None => format!("NPE ({:?}, {} blocks)", spec.flow.kind, spec.flow.blocks),
    };
    eprintln!(
        "simulating {} × {} and training {estimator} ...",
        spec.npe.simulations,
        spec.simulator()?.name
    );
    if let Some(r) = &spec.rounds {
        eprintln!(
            "TSNPE: {} rounds × {} simulations (truncation at HPD level {})",
            r.rounds, r.simulations, r.hpd_level
        );
    }
    let bar = progress::bar("epoch", spec.train.epochs, a.quiet.quiet)?;
    let mut first_epoch = batch_bar;
    let info = run_sbi_with_rounds(
        &spec,
        &a.out,
        |rec| {
            if let Some(b) = first_epoch.take() {
                b.finish();
            }
            bar.inc(1);
            bar.set_message(format!(
                "train {:.4}  val {:.4}",
                rec.train_loss,
                rec.val_loss.unwrap_or(f64::NAN)
            ));
        },
        |r| {
            bar.println(format!(
                "round {}: {} simulations, accepted fraction {:.4}, {} pairs, {} epochs, best validation loss {:.4}",
                r.round, r.simulations, r.accepted_fraction, r.total_pairs, r.epochs, r.best_val_loss
            ));
            bar.reset();
        },
    )?;
    bar.finish_and_clear();
    if info.simulations_failed > 0 {
        eprintln!(
            "warning: {} of {} simulations failed and were dropped; first: {}",
            info.simulations_failed,
            info.simulations,
            info.failures.first().cloned().unwrap_or_default()
        );
    }
    println!(
        "simulations:           {} used of {} ({:.1} s)",
        info.simulations_used, info.simulations, info.simulation_seconds
    );
    println!("parameters:            {}", info.parameters);
    println!(
        "epochs:                {} (best {}, {:.1} s)",
        info.epochs, info.best_epoch, info.train_seconds
    );
    println!(
        "best validation loss:  {:.4}{}",
        info.best_val_loss,
        if spec.cnf.is_some() {
            " (the [cnf] training objective)"
        } else {
            " nats (−log q(θ | x))"
        }
    );
    if let Some(k) = info.resumed_rounds.filter(|k| *k > 0) {
        println!(
            "resumed:               after round {k} (state in {}/rounds/)",
            a.out.display()
        );
    }
    if let Some(rounds) = &info.rounds {
        println!("round  simulations  accepted fraction  pairs  epochs  best val loss");
        for r in rounds {
            println!(
                "{:>5}  {:>11}  {:>17.4}  {:>5}  {:>6}  {:>13.4}",
                r.round,
                r.simulations,
                r.accepted_fraction,
                r.total_pairs,
                r.epochs,
                r.best_val_loss
            );
        }
    }
    if let Some(s) = info.misspecification_seconds {
        println!("misspecification check: flow on x fitted in {s:.1} s (misspecification/)");
    }
    println!(
        "written:               {}/{{model/, sbi.json, history.csv, plots/}}",
        a.out.display()
    );
    Ok(())
}

/// The observations in `path` (CSV, one row each), checked against the run's `dim`.
/// `flowinfer posterior`: posterior draws for each observation.
pub fn run_posterior(a: PosteriorArgs) -> anyhow::Result<()> {
    if flowinfer::sbi::nle::run::is_nle_run(&a.run) {
        let device = a.device.open(None)?;
        return crate::nle::run_posterior_nle(
            &a.run,
            &a.observation,
            a.n,
            a.seed.seed,
            &a.out,
            &device,
        );
    }
    let mut run = load_sbi_run(&a.run, &a.device.open(None)?)?;
    let obs = run.observations(&DataSource::File(a.observation.clone()))?;
    if let Some(check) = run.misspecification.take() {
        let check = match a.misspecification_level {
            Some(l) => check.with_level(l)?,
            None => check,
        };
        let rows: Vec<Vec<f64>> = (0..obs.rows()).map(|i| obs.row(i).to_vec()).collect();
        for (i, t) in check.assess_many(&rows)?.iter().enumerate() {
            if t.flagged {
                eprintln!("warning: observation {}: {}", i + 1, t.message());
            } else {
                eprintln!(
                    "observation {}: typical of the simulator ({})",
                    i + 1,
                    t.message()
                );
            }
        }
    } else if a.misspecification_level.is_some() {
        anyhow::bail!(
            "{}: --misspecification-level given, but the run has no misspecification check (add a [misspecification] section to the spec)",
            a.run.display()
        );
    }
    let d = run.draws(&obs, a.n, a.seed.seed, a.max_rounds)?;
    for (i, acc) in d.acceptance.iter().enumerate() {
        eprintln!("observation {}: {} draws, acceptance {acc:.3}", i + 1, a.n);
    }
    for i in d.low_acceptance() {
        eprintln!(
            "warning: observation {i}: only {:.1} % of posterior draws fell inside the prior support; the estimate may be poor for this observation",
            100.0 * d.acceptance[i - 1]
        );
    }
    let table = d.table;
    table.write_csv(&a.out)?;
    println!(
        "wrote {} draws × {} columns to {}",
        table.rows(),
        table.cols(),
        a.out.display()
    );
    Ok(())
}

/// `flowinfer diagnose`: SBC, coverage, predictive check, reference C2ST.
pub fn run_diagnose(a: DiagnoseArgs) -> anyhow::Result<()> {
    if flowinfer::sbi::nle::run::is_nle_run(&a.run) {
        let out = a.out.clone().unwrap_or_else(|| a.run.join("diagnostics"));
        let settings = crate::nle::NleSbcArgs {
            runs: a.sbc_runs,
            samples: a.sbc_samples,
            chains: a.sbc_chains,
            warmup: a.sbc_warmup,
        };
        return crate::nle::run_diagnose_nle(&a.run, &out, &settings, &a.device.open(None)?);
    }
    let run = load_sbi_run(&a.run, &a.device.open(None)?)?;
    let d = &run.info.spec.diagnose;
    let observation = match &a.observation {
        Some(p) => Some(
            run.observations(&DataSource::File(p.clone()))?
                .row(0)
                .to_vec(),
        ),
        None => None,
    };
    let opts = DiagnoseOptions {
        observation,
        sbc_runs: a.sbc_runs.unwrap_or(d.sbc_runs),
        sbc_samples: a.sbc_samples.unwrap_or(d.sbc_samples),
        predictive_draws: a.predictive_draws.unwrap_or(d.predictive_draws),
        reference: a.reference.clone().or_else(|| d.reference.clone()),
        c2st_epochs: a.c2st_epochs,
        seed: d.seed,
    };
    let out = a.out.clone().unwrap_or_else(|| a.run.join("diagnostics"));
    let r = diagnose(&run, &out, &opts, |stage| eprintln!("{stage} ..."))?;
    println!(
        "SBC ({} data sets × {} draws), χ² uniformity p-values:",
        r.sbc.runs, r.sbc.samples
    );
    for (n, p) in r.sbc.names.iter().zip(&r.sbc.p_values) {
        println!("  {n:>12}: p = {p:.3}");
    }
    print_coverage_and_tarp(&r.sbc);
    println!(
        "predictive check:      {:.1} % of observation entries inside the 90 % band",
        100.0 * r.predictive.inside_90
    );
    if let Some(t) = &r.misspecification {
        if t.flagged {
            eprintln!("warning: the observation: {}", t.message());
        } else {
            println!("misspecification:      {}", t.message());
        }
    }
    for c in &r.reference_c2st {
        println!(
            "  reference obs {:2}: C2ST {:.3} ± {:.3} ({:.1} s)",
            c.observation, c.c2st.accuracy, c.c2st.accuracy_std, c.seconds
        );
    }
    if let Some(m) = r.reference_c2st_mean {
        println!("reference C2ST mean:   {m:.3}");
    }
    println!(
        "written:               {}/{{report.json, *.png}}",
        out.display()
    );
    Ok(())
}

/// The coverage and TARP lines of an SBC summary, shared by the NPE and NLE `diagnose`.
pub(crate) fn print_coverage_and_tarp(sbc: &SbcResult) {
    println!(
        "expected coverage:     max |coverage − level| = {:.3}",
        sbc.max_coverage_gap
    );
    println!(
        "TARP:                  max |ECP − α| = {:.3}, ATC {:.3}, KS p = {:.3}",
        sbc.tarp.max_gap, sbc.tarp.atc, sbc.tarp.ks_p_value
    );
}
