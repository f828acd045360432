//! The `flowinfer` command line.

use clap::{Parser, Subcommand};
use flowinfer::config::RunSpec;
use flowinfer::density::{eval_run, fit_table, fit_toy, sample_run, ToyFitConfig};
use flowinfer::flow::io::parse_dtype;
use flowinfer::flow::FlowKind;
use flowinfer_simulators::toy::ToyDataset;
use std::path::PathBuf;
use std::process::ExitCode;

mod bands_command;
mod integrate_command;
mod sbi_commands;
mod unweight_command;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "flowinfer",
    version,
    about = "Normalizing flows for scientific inference"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Fit a flow to a data file (CSV/JSON) with a spec, or to a built-in toy set (--toy).
    Fit(Box<FitArgs>),
    /// Draw events from a fitted run, in the original columns and units.
    Sample(SampleArgs),
    /// Histogram bands of a Bayesian run (per-bin mean/std over weight draws), pulls
    /// against reference events, band plots.
    Bands(Box<bands_command::BandsArgs>),
    /// Evaluate a fitted run against a data file (NLL, KDE overlap, C2ST).
    Eval(EvalArgs),
    /// Simulation-based inference: simulate, train a posterior estimator (NPE), save.
    Sbi(sbi_commands::SbiArgs),
    /// Posterior draws for observations from a run written by `sbi`.
    Posterior(sbi_commands::PosteriorArgs),
    /// SBC, expected coverage, predictive check and reference C2ST of an `sbi` run.
    Diagnose(sbi_commands::DiagnoseArgs),
    /// Monte Carlo integration over [0,1]^d with a flow as the importance-sampling proposal.
    Integrate(Box<integrate_command::IntegrateArgs>),
    /// Unweighted events from a finished `integrate` run (hit-or-miss against its
    /// bootstrap maximum weight).
    Unweight(unweight_command::UnweightArgs),
}

#[derive(clap::Args)]
struct FitArgs {
    /// Data file (CSV with header, or JSON); default: the spec's [data] file.
    #[arg(long)]
    data: Option<PathBuf>,
    /// Run specification (TOML, see models/ and docs/SPECS.md).
    #[arg(long)]
    spec: Option<PathBuf>,
    /// Columns to use, comma-separated (default: the spec's, else all).
    #[arg(long, value_delimiter = ',')]
    columns: Option<Vec<String>>,
    /// Drop rows with empty, non-numeric or non-finite values (the count is reported).
    #[arg(long)]
    drop_invalid: bool,
    /// Continue an interrupted run from its checkpoint in --out.
    #[arg(long)]
    resume: bool,
    /// Built-in 2-D data set instead of a file (two-moons, circles, checkerboard, spiral, ...).
    #[arg(long)]
    toy: Option<String>,
    /// Toy mode: number of events (split 70/15/15).
    #[arg(long, default_value_t = 6000)]
    n: usize,
    /// Toy mode: flow family (realnvp, nsf, maf).
    #[arg(long, default_value = "nsf")]
    flow: String,
    /// Toy mode: number of blocks.
    #[arg(long, default_value_t = 4)]
    blocks: usize,
    /// Toy mode: conditioner width.
    #[arg(long, default_value_t = 64)]
    hidden: usize,
    /// Training epochs (overrides the spec).
    #[arg(long)]
    epochs: Option<usize>,
    /// Toy mode: minibatch size.
    #[arg(long, default_value_t = 256)]
    batch_size: usize,
    /// Toy mode: Adam learning rate.
    #[arg(long, default_value_t = 2e-3)]
    lr: f64,
    /// Toy mode: samples to write.
    #[arg(long, default_value_t = 2000)]
    samples: usize,
    /// Output directory.
    #[arg(long, default_value = "runs/fit")]
    out: PathBuf,
    /// Toy mode: model dtype (f32 or f64).
    #[arg(long, default_value = "f32")]
    dtype: String,
    /// Device: cpu, cuda or cuda:N (cuda needs the `cuda` feature; default: the spec's
    /// `device`, else cpu).
    #[arg(long)]
    device: Option<String>,
    /// Seed (toy mode: data, split, initialisation, sampling).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

#[derive(clap::Args)]
struct SampleArgs {
    /// Run directory written by `fit`.
    #[arg(long)]
    run: PathBuf,
    /// Number of events.
    #[arg(short, long, default_value_t = 10000)]
    n: usize,
    /// Output CSV file (header row, original column names).
    #[arg(long)]
    out: PathBuf,
    /// Sampling seed.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Bayesian runs: n events from each of M weight draws, with a `draw` column.
    #[arg(long)]
    draws: Option<usize>,
    /// Device: cpu, cuda or cuda:N.
    #[arg(long, default_value = "cpu")]
    device: String,
}

#[derive(clap::Args)]
struct EvalArgs {
    /// Run directory written by `fit`.
    #[arg(long)]
    run: PathBuf,
    /// Data file with (at least) the run's columns.
    #[arg(long)]
    data: PathBuf,
    /// Skip the classifier two-sample test.
    #[arg(long)]
    no_c2st: bool,
    /// Seed for generated events and the classifier.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Device: cpu, cuda or cuda:N.
    #[arg(long, default_value = "cpu")]
    device: String,
}

pub(crate) fn progress(epochs: usize, quiet: bool) -> anyhow::Result<indicatif::ProgressBar> {
    let bar = if quiet {
        indicatif::ProgressBar::hidden()
    } else {
        indicatif::ProgressBar::new(epochs as u64)
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template("epoch {pos}/{len} [{bar:30}] {msg} (ETA {eta})")?
            .progress_chars("=> "),
    );
    Ok(bar)
}

fn run_toy(a: &FitArgs, name: &str) -> anyhow::Result<()> {
    let dataset: ToyDataset = name.parse().map_err(|e| anyhow::anyhow!("--toy: {e}"))?;
    let kind = match a.flow.as_str() {
        "realnvp" => FlowKind::RealNvp,
        "nsf" => FlowKind::Nsf,
        "maf" => FlowKind::Maf,
        other => anyhow::bail!("--flow must be realnvp, nsf or maf, got {other:?}"),
    };
    let epochs = a.epochs.unwrap_or(40);
    let cfg = ToyFitConfig {
        dataset,
        n: a.n,
        kind,
        blocks: a.blocks,
        hidden: a.hidden,
        fit: flowinfer::train::FitConfig {
            epochs,
            batch_size: a.batch_size,
            learning_rate: a.lr,
            seed: a.seed,
        },
        samples: a.samples,
        out: Some(a.out.clone()),
        dtype: parse_dtype(&a.dtype)?,
        seed: a.seed,
        device: flowinfer::device::parse_device(a.device.as_deref().unwrap_or("cpu"))?,
    };
    eprintln!(
        "fitting {} ({} blocks, hidden {}) to {} events of {} ...",
        a.flow,
        a.blocks,
        a.hidden,
        a.n,
        dataset.name()
    );
    let start = std::time::Instant::now();
    let bar = progress(epochs, a.quiet)?;
    let r = fit_toy(&cfg, |_, h| {
        bar.inc(1);
        bar.set_message(format!(
            "train {:.4}  val {:.4}",
            h.train_nll.last().copied().unwrap_or(f64::NAN),
            h.val_nll.last().copied().unwrap_or(f64::NAN)
        ));
    })?;
    bar.finish_and_clear();
    let last = r.history.train_nll.last().copied().unwrap_or(f64::NAN);
    println!("parameters:            {}", r.parameters);
    println!(
        "epochs:                {} ({:.1} s)",
        r.history.train_nll.len(),
        start.elapsed().as_secs_f64()
    );
    println!("final train NLL:       {last:.4} nats/event");
    println!("test NLL (flow):       {:.4} nats/event", r.test_nll);
    println!("test NLL (Gaussian):   {:.4} nats/event", r.gaussian_nll);
    println!("model:                 {}", a.out.join("model").display());
    println!(
        "samples:               {} ({} rows)",
        a.out.join("samples.csv").display(),
        r.samples.len()
    );
    Ok(())
}

fn run_fit(a: FitArgs) -> anyhow::Result<()> {
    if let Some(name) = &a.toy {
        return run_toy(&a, name);
    }
    let mut spec = match &a.spec {
        Some(p) => RunSpec::load(p)?,
        None => RunSpec::default(),
    };
    if let Some(d) = &a.device {
        spec.device = Some(d.clone());
    }
    spec.device()?;
    if let Some(c) = &a.columns {
        spec.data.columns = Some(c.clone());
    }
    spec.data.drop_invalid |= a.drop_invalid;
    if let Some(e) = a.epochs {
        spec.train.epochs = e;
    }
    let data = a
        .data
        .clone()
        .or_else(|| spec.data.file.clone())
        .ok_or_else(|| {
            anyhow::anyhow!("no data: give --data FILE, a --spec with a [data] file, or --toy NAME")
        })?;
    let bar = progress(spec.train.epochs, a.quiet)?;
    let r = fit_table(&spec, &data, &a.out, a.resume, |rec| {
        bar.inc(1);
        bar.set_message(format!(
            "train {:.4}  val {:.4}  lr {:.1e}",
            rec.train_loss,
            rec.val_loss.unwrap_or(f64::NAN),
            rec.lr
        ));
    })?;
    bar.finish_and_clear();
    if r.rollbacks > 0 {
        eprintln!(
            "warning: {} epoch(s) hit a non-finite loss and were rolled back with a lower learning rate (see history.csv)",
            r.rollbacks
        );
    }
    if r.rows_dropped > 0 {
        eprintln!("dropped {} invalid rows of {}", r.rows_dropped, r.rows_read);
    }
    println!(
        "data:                  {} ({} rows; train/val/test {:?})",
        data.display(),
        r.rows_read - r.rows_dropped,
        r.split
    );
    println!("parameters:            {}", r.parameters);
    println!(
        "epochs:                {} (best {}, {:.1} s{})",
        r.epochs,
        r.best_epoch,
        r.train_seconds,
        if r.stopped_early {
            ", stopped early"
        } else {
            ""
        }
    );
    println!("test NLL (flow):       {:.4} nats/event", r.test.nll);
    println!(
        "test NLL (Gaussian):   {:.4} nats/event",
        r.gaussian_test_nll
    );
    println!(
        "KDE overlap (mean):    {:.4}  (real-vs-real ceiling {:.4})",
        r.test.kde_overlap.mean, r.kde_overlap_ceiling.mean
    );
    if let Some(c) = &r.test.c2st {
        println!(
            "C2ST accuracy / AUC:   {:.3} ± {:.3} / {:.3}  (0.5 = indistinguishable)",
            c.accuracy, c.accuracy_std, c.auc
        );
    }
    println!(
        "written:               {}/{{model/, report.json, history.csv, plots/}}",
        a.out.display()
    );
    Ok(())
}

fn run_sample(a: SampleArgs) -> anyhow::Result<()> {
    if let Some(m) = a.draws {
        return bands_command::run_sample_draws(&a.run, a.n, m, a.seed, &a.out, &a.device);
    }
    let device = flowinfer::device::parse_device(&a.device)?;
    let t = sample_run(&a.run, a.n, a.seed, &device)?;
    t.write_csv(&a.out)?;
    println!(
        "wrote {} events × {} columns to {}",
        t.rows(),
        t.cols(),
        a.out.display()
    );
    Ok(())
}

fn run_eval(a: EvalArgs) -> anyhow::Result<()> {
    let device = flowinfer::device::parse_device(&a.device)?;
    let e = eval_run(&a.run, &a.data, !a.no_c2st, a.seed, &device)?;
    println!("events:                {}", e.events);
    println!("NLL:                   {:.4} nats/event", e.nll);
    println!("KDE overlap (mean):    {:.4}", e.kde_overlap.mean);
    if let Some(c) = &e.c2st {
        println!(
            "C2ST accuracy / AUC:   {:.3} ± {:.3} / {:.3}",
            c.accuracy, c.accuracy_std, c.auc
        );
    }
    let path = a.run.join("eval.json");
    flowinfer::atomic::write_atomic(&path, serde_json::to_string_pretty(&e)?.as_bytes())?;
    println!("written:               {}", path.display());
    Ok(())
}

fn main() -> ExitCode {
    flowinfer::device::apply_cpu_thread_defaults();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Fit(a) => run_fit(*a),
        Command::Sample(a) => run_sample(a),
        Command::Bands(a) => bands_command::run_bands(*a),
        Command::Eval(a) => run_eval(a),
        Command::Sbi(a) => sbi_commands::run_sbi_command(a),
        Command::Posterior(a) => sbi_commands::run_posterior(a),
        Command::Diagnose(a) => sbi_commands::run_diagnose(a),
        Command::Integrate(a) => integrate_command::run_integrate(*a),
        Command::Unweight(a) => unweight_command::run_unweight(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", flowinfer::error::chain_message(e.chain()));
            ExitCode::FAILURE
        }
    }
}
