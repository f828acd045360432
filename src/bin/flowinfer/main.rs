//! The `flowinfer` command line: one module per verb group (`fit`, `bands`, `sbi`,
//! `integrate`, `variational`), arguments shared between verbs in `args`, the progress bar in
//! `progress`. The verbs parse, call a library job and print; errors go to stderr as
//! `error: …` with a non-zero exit status.

#![deny(missing_docs)]

use clap::{Parser, Subcommand};
use std::process::ExitCode;

mod args;
mod bands;
mod cluster;
mod distill;
mod fit;
mod generation;
mod integrate;
mod nle;
mod progress;
mod reweight;
mod sbi;
mod variational;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The command line.
#[derive(Parser)]
#[command(
    name = "flowinfer",
    version,
    about = "Normalizing flows for scientific inference"
)]
struct Cli {
    /// The verb.
    #[command(subcommand)]
    command: Command,
}

/// The verbs.
#[derive(Subcommand)]
enum Command {
    /// Fit a flow to a data file (CSV/JSON) with a spec, or to a built-in toy set (--toy).
    Fit(Box<fit::FitArgs>),
    /// Draw events from a fitted run, in the original columns and units.
    Sample(fit::SampleArgs),
    /// Histogram bands of a Bayesian run (per-bin mean/std over weight draws), pulls
    /// against reference events, band plots.
    Bands(Box<bands::BandsArgs>),
    /// Evaluate a fitted run against a data file (NLL, KDE overlap, C2ST).
    Eval(fit::EvalArgs),
    /// Simulation-based inference: simulate, train a posterior estimator (NPE), save.
    Sbi(sbi::SbiArgs),
    /// Posterior draws for observations from a run written by `sbi`.
    Posterior(sbi::PosteriorArgs),
    /// SBC, expected coverage, predictive check and reference C2ST of an `sbi` run.
    Diagnose(sbi::DiagnoseArgs),
    /// Monte Carlo integration over [0,1]^d with a flow as the importance-sampling proposal.
    Integrate(Box<integrate::IntegrateArgs>),
    /// Unweighted events from a finished `integrate` run (hit-or-miss against its
    /// bootstrap maximum weight).
    Unweight(integrate::UnweightArgs),
    /// Variational inference: fit a flow to an unnormalised log density (reverse KL),
    /// estimate log Z by importance sampling with ESS and Pareto-k̂ diagnostics.
    Variational(Box<variational::VariationalArgs>),
    /// Classifier reweighting (DCTR): per-event weights D/(1 − D) for a run's generated
    /// events against a data file; AUC and χ²/ndf before and after, weight summary.
    Reweight(Box<reweight::ReweightArgs>),
    /// Probability density distillation: train a fast-sampling IAF student on a MAF run
    /// (KL on its own samples plus the teacher's latents); the student is a run directory.
    Distill(Box<distill::DistillArgs>),
    /// Compute one batch of an `sbi` or `integrate` work directory (what each Slurm task runs).
    #[command(hide = true)]
    BatchTask(cluster::BatchTaskArgs),
}

fn main() -> ExitCode {
    flowinfer::device::apply_cpu_thread_defaults();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Fit(a) => fit::run_fit(*a),
        Command::Sample(a) => fit::run_sample(a),
        Command::Bands(a) => bands::run_bands(*a),
        Command::Eval(a) => fit::run_eval(a),
        Command::Sbi(a) => sbi::run_sbi_command(a),
        Command::Posterior(a) => sbi::run_posterior(a),
        Command::Diagnose(a) => sbi::run_diagnose(a),
        Command::Integrate(a) => integrate::run_integrate(*a),
        Command::Unweight(a) => integrate::run_unweight(a),
        Command::Variational(a) => variational::run_variational(*a),
        Command::Reweight(a) => reweight::run_reweight(*a),
        Command::Distill(a) => distill::run_distill(*a),
        Command::BatchTask(a) => cluster::run_batch_task_command(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", flowinfer::error::chain_message(e.chain()));
            ExitCode::FAILURE
        }
    }
}
