//! The `flowinfer` command line.

use clap::{Parser, Subcommand};
use flowinfer::config::{FitConfig, JobConfig};
use flowinfer::density::{eval_run, fit, sample_run, DataSource, Output};
use flowinfer::flow::FlowKind;
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
    /// Built-in 2-D data set instead of a file (two-moons, circles, checkerboard, spiral,
    /// ...); it goes through the same spec, split and evaluation as a file.
    #[arg(long)]
    toy: Option<String>,
    /// Events drawn from the --toy set.
    #[arg(long, default_value_t = 6000)]
    n: usize,
    /// Flow family (overrides the spec's [flow] kind): realnvp, nsf, maf, maf_spline.
    #[arg(long)]
    flow: Option<String>,
    /// Number of blocks (overrides the spec).
    #[arg(long)]
    blocks: Option<usize>,
    /// Conditioner width (overrides the spec).
    #[arg(long)]
    hidden: Option<usize>,
    /// Training epochs (overrides the spec).
    #[arg(long)]
    epochs: Option<usize>,
    /// Minibatch size (overrides the spec).
    #[arg(long)]
    batch_size: Option<usize>,
    /// Adam learning rate (overrides the spec).
    #[arg(long)]
    lr: Option<f64>,
    /// Also write this many generated events to OUT/samples.csv.
    #[arg(long)]
    samples: Option<usize>,
    /// Output directory.
    #[arg(long, default_value = "runs/fit")]
    out: PathBuf,
    /// Model dtype, f32 or f64 (overrides the spec).
    #[arg(long)]
    dtype: Option<String>,
    /// Device: cpu, cuda or cuda:N (cuda needs the `cuda` feature; default: the spec's
    /// `device`, else cpu).
    #[arg(long)]
    device: Option<String>,
    /// Run seed (overrides the spec's top-level `seed`; added to every section's seed;
    /// also draws the --toy set).
    #[arg(long)]
    seed: Option<u64>,
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

fn run_fit(a: FitArgs) -> anyhow::Result<()> {
    let mut spec = match &a.spec {
        Some(p) => FitConfig::load(p)?,
        None => FitConfig::default(),
    };
    if let Some(d) = &a.device {
        spec.device = Some(d.clone());
    }
    if let Some(c) = &a.columns {
        spec.data.columns = Some(c.clone());
    }
    spec.data.drop_invalid |= a.drop_invalid;
    if let Some(e) = a.epochs {
        spec.train.epochs = e;
    }
    if let Some(k) = &a.flow {
        spec.flow.kind = match k.as_str() {
            "realnvp" => FlowKind::RealNvp,
            "nsf" => FlowKind::Nsf,
            "maf" => FlowKind::Maf,
            "maf_spline" => FlowKind::MafSpline,
            other => anyhow::bail!("--flow must be realnvp, nsf, maf or maf_spline, got {other:?}"),
        };
    }
    if let Some(b) = a.blocks {
        spec.flow.blocks = b;
    }
    if let Some(h) = a.hidden {
        spec.flow.hidden = h;
    }
    if let Some(d) = &a.dtype {
        spec.flow.dtype = d.clone();
    }
    if let Some(b) = a.batch_size {
        spec.train.batch_size = b;
    }
    if let Some(lr) = a.lr {
        spec.train.lr = lr;
    }
    if let Some(s) = a.seed {
        spec.seed = s;
    }
    spec.validate()?;
    spec.device()?;
    let source = match (&a.toy, &a.data) {
        (Some(_), Some(_)) => anyhow::bail!("give either --data FILE or --toy NAME, not both"),
        (Some(name), None) => DataSource::toy(name, a.n, spec.seed)?,
        (None, Some(d)) => DataSource::File(d.clone()),
        (None, None) => DataSource::File(spec.data.file.clone().ok_or_else(|| {
            anyhow::anyhow!("no data: give --data FILE, a --spec with a [data] file, or --toy NAME")
        })?),
    };
    if a.toy.is_some() && a.spec.is_none() && a.data.is_none() {
        // A toy set alone: the spec's defaults, said so.
        eprintln!(
            "fitting {} with the default spec (pass --spec FILE to change it)",
            source.describe()
        );
    }
    let bar = progress(spec.train.epochs, a.quiet)?;
    let out = Output {
        dir: Some(&a.out),
        resume: a.resume,
    };
    let r = fit(&source, &spec, out, |rec| {
        bar.inc(1);
        bar.set_message(format!(
            "train {:.4}  val {:.4}  lr {:.1e}",
            rec.train_loss,
            rec.val_loss.unwrap_or(f64::NAN),
            rec.lr
        ));
    })?
    .report;
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
        source.describe(),
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
    if let Some(n) = a.samples {
        let t = sample_run(&a.out, n, spec.seed.wrapping_add(1), &spec.device()?)?;
        t.write_csv(&a.out.join("samples.csv"))?;
        println!(
            "samples:               {} ({n} rows)",
            a.out.join("samples.csv").display()
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
    let e = eval_run(
        &a.run,
        &DataSource::File(a.data.clone()),
        !a.no_c2st,
        a.seed,
        &device,
    )?;
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
    flowinfer::flow::io::write_atomic(&path, serde_json::to_string_pretty(&e)?.as_bytes())?;
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
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
