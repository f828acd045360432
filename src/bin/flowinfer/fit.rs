//! The `fit`, `sample` and `eval` verbs (density estimation).

use crate::args::{set, DeviceArg, DtypeArg, QuietArg, SeedArg};
use crate::progress;
use flowinfer::config::{FitConfig, JobConfig};
use flowinfer::density::{eval_run, eval_run_k, fit, sample_run, DataSource, Output};
use flowinfer::flow::FlowKind;
use std::path::PathBuf;

/// The flow families (`--flow`).
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowArg {
    /// Affine couplings (RealNVP).
    #[value(name = "realnvp")]
    RealNvp,
    /// Rational-quadratic spline couplings (neural spline flow).
    Nsf,
    /// Masked autoregressive, affine (MAF).
    Maf,
    /// Masked autoregressive, rational-quadratic spline.
    #[value(name = "maf_spline")]
    MafSpline,
}

impl FlowArg {
    /// The library's flow family.
    pub fn kind(self) -> FlowKind {
        match self {
            FlowArg::RealNvp => FlowKind::RealNvp,
            FlowArg::Nsf => FlowKind::Nsf,
            FlowArg::Maf => FlowKind::Maf,
            FlowArg::MafSpline => FlowKind::MafSpline,
        }
    }
}

/// Arguments of `flowinfer fit`. The data come from `--data`, `--toy` or the spec's
/// `[data] file`; every option below `--toy` overrides the spec's key of that name.
#[derive(clap::Args)]
pub struct FitArgs {
    /// Data file (CSV with header, or JSON); default: the spec's [data] file.
    #[arg(long)]
    data: Option<PathBuf>,
    /// Run specification (TOML, see models/ and docs/SPECS.md).
    #[arg(long)]
    spec: Option<PathBuf>,
    /// Built-in 2-D data set instead of a file (two-moons, circles, checkerboard, spiral,
    /// ...): the same spec, split, evaluation and run directory as a file.
    #[arg(long, conflicts_with = "data")]
    toy: Option<String>,
    /// Events drawn from the --toy set.
    #[arg(long, default_value_t = 6000)]
    n: usize,
    /// Columns to use, comma-separated (default: the spec's, else all).
    #[arg(long, value_delimiter = ',')]
    columns: Option<Vec<String>>,
    /// Drop rows with empty, non-numeric or non-finite values (the count is reported).
    #[arg(long)]
    drop_invalid: bool,
    /// Learn p(other columns | these columns), comma-separated (overrides [data]
    /// condition; docs/GENERATION.md).
    #[arg(long, value_delimiter = ',')]
    condition: Option<Vec<String>>,
    /// Continue an interrupted run from its checkpoint in --out.
    #[arg(long)]
    resume: bool,
    /// Flow family (overrides [flow] kind).
    #[arg(long, value_enum)]
    flow: Option<FlowArg>,
    /// Number of blocks (overrides [flow] blocks).
    #[arg(long)]
    blocks: Option<usize>,
    /// Conditioner width (overrides [flow] hidden).
    #[arg(long)]
    hidden: Option<usize>,
    /// Model dtype (overrides [flow] dtype).
    #[arg(long, value_enum)]
    dtype: Option<DtypeArg>,
    /// Training epochs (overrides [train] epochs).
    #[arg(long)]
    epochs: Option<usize>,
    /// Minibatch size (overrides [train] batch_size).
    #[arg(long)]
    batch_size: Option<usize>,
    /// Adam learning rate (overrides [train] lr).
    #[arg(long)]
    lr: Option<f64>,
    /// Run seed (overrides the spec's top-level `seed`, which is added to every
    /// section's seed); also draws the --toy set.
    #[arg(long)]
    seed: Option<u64>,
    /// Also write this many generated events to OUT/samples.csv.
    #[arg(long)]
    samples: Option<usize>,
    /// Output directory.
    #[arg(long, default_value = "runs/fit")]
    out: PathBuf,
    /// The device (`--device`).
    #[command(flatten)]
    device: DeviceArg,
    /// `--quiet`.
    #[command(flatten)]
    quiet: QuietArg,
}

/// The spec with the command-line overrides applied.
fn build_spec(a: &FitArgs) -> anyhow::Result<FitConfig> {
    let mut spec = match &a.spec {
        Some(p) => FitConfig::load(p)?,
        None => FitConfig::default(),
    };
    if let Some(d) = &a.device.device {
        spec.device = Some(d.clone());
    }
    if let Some(c) = &a.columns {
        spec.data.columns = Some(c.clone());
    }
    spec.data.drop_invalid |= a.drop_invalid;
    if let Some(c) = &a.condition {
        spec.data.condition = c.clone();
    }
    if !spec.data.condition.is_empty() && a.samples.is_some() {
        anyhow::bail!(
            "--samples needs the conditions to sample at for a conditional fit; use `flowinfer sample --condition` after the fit"
        );
    }
    if let Some(k) = a.flow {
        spec.flow.kind = k.kind();
    }
    set(&mut spec.flow.blocks, &a.blocks);
    set(&mut spec.flow.hidden, &a.hidden);
    if let Some(d) = a.dtype {
        spec.flow.dtype = d.name().into();
    }
    set(&mut spec.train.epochs, &a.epochs);
    set(&mut spec.train.batch_size, &a.batch_size);
    set(&mut spec.train.lr, &a.lr);
    set(&mut spec.seed, &a.seed);
    spec.validate()?;
    spec.device()?;
    Ok(spec)
}

/// `flowinfer fit`: a data file, a toy set or the spec's data, through one pipeline.
pub fn run_fit(a: FitArgs) -> anyhow::Result<()> {
    let spec = build_spec(&a)?;
    let source = match (&a.toy, &a.data) {
        (Some(name), _) => DataSource::toy(name, a.n, spec.seed)?,
        (None, Some(d)) => DataSource::File(d.clone()),
        (None, None) => DataSource::File(spec.data.file.clone().ok_or_else(|| {
            anyhow::anyhow!("no data: give --data FILE, a --spec with a [data] file, or --toy NAME")
        })?),
    };
    if a.spec.is_none() {
        eprintln!(
            "fitting {} with the default spec ({:?}, {} blocks of width {}; --spec FILE or the options change it) ...",
            source.describe(),
            spec.flow.kind,
            spec.flow.blocks,
            spec.flow.hidden
        );
    }
    let bar = progress::bar("epoch", spec.train.epochs, a.quiet.quiet)?;
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
    if let Some(b) = &r.conditional {
        crate::generation::print_condition_bins(b);
    }
    if let Some(n) = a.samples {
        let path = a.out.join("samples.csv");
        sample_run(&a.out, n, spec.seed.wrapping_add(1), &spec.device()?)?.write_csv(&path)?;
        println!("samples:               {} ({n} rows)", path.display());
    }
    println!(
        "written:               {}/{{model/, run.json, report.json, history.csv, plots/}}",
        a.out.display()
    );
    Ok(())
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
    /// Conditional runs: the conditions, as a CSV/JSON file with the condition columns
    /// (n events per row) or `col=value,...` (n events); the output starts with them.
    #[arg(long, conflicts_with = "draws")]
    condition: Option<String>,
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
    #[arg(long, required_unless_present = "toy")]
    data: Option<PathBuf>,
    /// A built-in data set instead of a file (`flowinfer fit --toy` names).
    #[arg(long, conflicts_with = "data")]
    toy: Option<String>,
    /// Events drawn from the --toy set.
    #[arg(long, default_value_t = 6000)]
    n: usize,
    /// Seed of the --toy draw (the fit's `--toy` set uses the run seed, 0 by default).
    #[arg(long, default_value_t = 1)]
    toy_seed: u64,
    /// Importance samples K of a bound flow's NLL (default: the run's `[eval]
    /// iw_samples`, 100).
    #[arg(long)]
    iw_samples: Option<usize>,
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

/// `flowinfer sample`: events from a fitted run (`--draws`: from a Bayesian run's
/// weight draws).
pub fn run_sample(a: SampleArgs) -> anyhow::Result<()> {
    let device = a.device.open(None)?;
    if let Some(m) = a.draws {
        return crate::bands::run_sample_draws(&a.run, a.n, m, a.seed.seed, &a.out, &device);
    }
    let t = match &a.condition {
        Some(c) => flowinfer::density::sample_run_conditional(
            &a.run,
            &flowinfer::pipeline::condition::ConditionInput::parse(c)?,
            a.n,
            a.seed.seed,
            &device,
        )?,
        None => sample_run(&a.run, a.n, a.seed.seed, &device)?,
    };
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
    let source = match (&a.toy, &a.data) {
        (Some(name), _) => DataSource::toy(name, a.n, a.toy_seed)?,
        (None, Some(d)) => DataSource::File(d.clone()),
        (None, None) => anyhow::bail!("no data: give --data FILE or --toy NAME"),
    };
    let (c2st, seed) = (!a.no_c2st, a.seed.seed);
    let e = match a.iw_samples {
        Some(k) => eval_run_k(&a.run, &source, c2st, seed, k, &device)?,
        None => eval_run(&a.run, &source, c2st, seed, &device)?,
    };
    println!("events:                {}", e.events);
    match (&e.likelihood, &e.nll_iw) {
        (flowinfer::transforms::Contribution::Exact, _) => {
            println!("NLL (exact):           {:.4} nats/event", e.nll)
        }
        (_, iw) => {
            println!("NLL (bound, 1 sample): {:.4} nats/event", e.nll);
            if let Some(iw) = iw {
                println!(
                    "NLL (log_prob_iw, K = {}): {:.4} nats/event (a bound; tighter as K grows)",
                    iw.k, iw.nll
                );
            }
        }
    }
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
