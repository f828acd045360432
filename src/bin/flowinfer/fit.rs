//! The `fit`, `sample` and `eval` verbs (density estimation).

use crate::args::{DeviceArg, DtypeArg, QuietArg, SeedArg};
use crate::progress;
use flowinfer::config::RunSpec;
use flowinfer::density::{eval_run, fit_table, fit_toy, sample_run, ToyFitConfig};
use flowinfer::flow::FlowKind;
use flowinfer_simulators::toy::ToyDataset;
use std::path::PathBuf;

/// The flow families of toy mode (`--flow`).
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToyFlow {
    /// Affine couplings (RealNVP).
    #[value(name = "realnvp")]
    RealNvp,
    /// Rational-quadratic spline couplings (neural spline flow).
    Nsf,
    /// Masked autoregressive, affine (MAF).
    Maf,
}

impl ToyFlow {
    /// The name as given on the command line.
    pub fn name(self) -> &'static str {
        match self {
            ToyFlow::RealNvp => "realnvp",
            ToyFlow::Nsf => "nsf",
            ToyFlow::Maf => "maf",
        }
    }

    /// The library's flow family.
    pub fn kind(self) -> FlowKind {
        match self {
            ToyFlow::RealNvp => FlowKind::RealNvp,
            ToyFlow::Nsf => FlowKind::Nsf,
            ToyFlow::Maf => FlowKind::Maf,
        }
    }
}

/// Arguments of `flowinfer fit`.
#[derive(clap::Args)]
#[command(mut_arg("seed", |a| a.help("Seed (toy mode: data, split, initialisation, sampling)")))]
pub struct FitArgs {
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
    /// Toy mode: flow family.
    #[arg(long, value_enum, default_value_t = ToyFlow::Nsf)]
    flow: ToyFlow,
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
    /// Toy mode: model dtype.
    #[arg(long, value_enum, default_value_t = DtypeArg::F32)]
    dtype: DtypeArg,
    /// The device (`--device`).
    #[command(flatten)]
    device: DeviceArg,
    /// The seed (`--seed`).
    #[command(flatten)]
    seed: SeedArg,
    /// `--quiet`.
    #[command(flatten)]
    quiet: QuietArg,
}

/// Arguments of `flowinfer sample`.
#[derive(clap::Args)]
#[command(mut_arg("seed", |a| a.help("Sampling seed")))]
pub struct SampleArgs {
    /// Run directory written by `fit`.
    #[arg(long)]
    run: PathBuf,
    /// Number of events.
    #[arg(short, long, default_value_t = 10000)]
    n: usize,
    /// Output CSV file (header row, original column names).
    #[arg(long)]
    out: PathBuf,
    /// The seed (`--seed`).
    #[command(flatten)]
    seed: SeedArg,
    /// Bayesian runs: n events from each of M weight draws, with a `draw` column.
    #[arg(long)]
    draws: Option<usize>,
    /// The device (`--device`).
    #[command(flatten)]
    device: DeviceArg,
}

/// Arguments of `flowinfer eval`.
#[derive(clap::Args)]
#[command(mut_arg("seed", |a| a.help("Seed for generated events and the classifier")))]
pub struct EvalArgs {
    /// Run directory written by `fit`.
    #[arg(long)]
    run: PathBuf,
    /// Data file with (at least) the run's columns.
    #[arg(long)]
    data: PathBuf,
    /// Skip the classifier two-sample test.
    #[arg(long)]
    no_c2st: bool,
    /// The seed (`--seed`).
    #[command(flatten)]
    seed: SeedArg,
    /// The device (`--device`).
    #[command(flatten)]
    device: DeviceArg,
}

/// `fit --toy NAME`: a flow fitted to a built-in 2-D data set.
fn run_toy(a: &FitArgs, name: &str) -> anyhow::Result<()> {
    let dataset: ToyDataset = name.parse().map_err(|e| anyhow::anyhow!("--toy: {e}"))?;
    let epochs = a.epochs.unwrap_or(40);
    let seed = a.seed.seed;
    let cfg = ToyFitConfig {
        dataset,
        n: a.n,
        kind: a.flow.kind(),
        blocks: a.blocks,
        hidden: a.hidden,
        fit: flowinfer::train::FitConfig {
            epochs,
            batch_size: a.batch_size,
            learning_rate: a.lr,
            seed,
        },
        samples: a.samples,
        out: Some(a.out.clone()),
        dtype: a.dtype.dtype(),
        seed,
        device: a.device.open(None)?,
    };
    eprintln!(
        "fitting {} ({} blocks, hidden {}) to {} events of {} ...",
        a.flow.name(),
        a.blocks,
        a.hidden,
        a.n,
        dataset.name()
    );
    let start = std::time::Instant::now();
    let bar = progress::bar("epoch", epochs, a.quiet.quiet)?;
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

/// `flowinfer fit`: toy mode, or a data file with a spec.
pub fn run_fit(a: FitArgs) -> anyhow::Result<()> {
    if let Some(name) = &a.toy {
        return run_toy(&a, name);
    }
    let mut spec = match &a.spec {
        Some(p) => RunSpec::load(p)?,
        None => RunSpec::default(),
    };
    if let Some(d) = &a.device.device {
        spec.device = Some(d.clone());
    }
    a.device.open(spec.device.as_deref())?;
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
    let bar = progress::bar("epoch", spec.train.epochs, a.quiet.quiet)?;
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

/// `flowinfer sample`: events from a fitted run (`--draws`: from a Bayesian run's
/// weight draws).
pub fn run_sample(a: SampleArgs) -> anyhow::Result<()> {
    let device = a.device.open(None)?;
    if let Some(m) = a.draws {
        return crate::bands::run_sample_draws(&a.run, a.n, m, a.seed.seed, &a.out, &device);
    }
    let t = sample_run(&a.run, a.n, a.seed.seed, &device)?;
    t.write_csv(&a.out)?;
    println!(
        "wrote {} events × {} columns to {}",
        t.rows(),
        t.cols(),
        a.out.display()
    );
    Ok(())
}

/// `flowinfer eval`: a fitted run against a data file; writes RUN/eval.json.
pub fn run_eval(a: EvalArgs) -> anyhow::Result<()> {
    let device = a.device.open(None)?;
    let e = eval_run(&a.run, &a.data, !a.no_c2st, a.seed.seed, &device)?;
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
