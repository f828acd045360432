//! The `flowinfer` command line.

use clap::{Parser, Subcommand};
use flowinfer::density::{fit_toy, ToyFitConfig};
use flowinfer::flow::io::parse_dtype;
use flowinfer::flow::FlowKind;
use flowinfer_simulators::toy::ToyDataset;
use std::path::PathBuf;
use std::process::ExitCode;

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
    /// Fit a flow to a built-in 2-D toy data set, print test NLL, write model and samples.
    Fit(FitArgs),
}

#[derive(clap::Args)]
struct FitArgs {
    /// Built-in data set (two-moons, circles, gaussian-ring, checkerboard, spiral, ...).
    #[arg(long, default_value = "two-moons")]
    dataset: String,
    /// Number of events (split 70/15/15 into train/validation/test).
    #[arg(long, default_value_t = 6000)]
    n: usize,
    /// Flow family: realnvp, nsf, maf.
    #[arg(long, default_value = "nsf")]
    flow: String,
    /// Number of blocks.
    #[arg(long, default_value_t = 4)]
    blocks: usize,
    /// Conditioner hidden width.
    #[arg(long, default_value_t = 64)]
    hidden: usize,
    /// Training epochs.
    #[arg(long, default_value_t = 40)]
    epochs: usize,
    /// Minibatch size.
    #[arg(long, default_value_t = 256)]
    batch_size: usize,
    /// Adam learning rate.
    #[arg(long, default_value_t = 2e-3)]
    lr: f64,
    /// Samples to write.
    #[arg(long, default_value_t = 2000)]
    samples: usize,
    /// Output directory.
    #[arg(long, default_value = "runs/toy")]
    out: PathBuf,
    /// Model dtype: f32 or f64.
    #[arg(long, default_value = "f32")]
    dtype: String,
    /// Device: cpu (cuda needs the `cuda` feature).
    #[arg(long, default_value = "cpu")]
    device: String,
    /// Seed for data, split, initialisation and sampling.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

fn run_fit(a: FitArgs) -> anyhow::Result<()> {
    let dataset: ToyDataset = a
        .dataset
        .parse()
        .map_err(|e| anyhow::anyhow!("--dataset: {e}"))?;
    let kind = match a.flow.as_str() {
        "realnvp" => FlowKind::RealNvp,
        "nsf" => FlowKind::Nsf,
        "maf" => FlowKind::Maf,
        other => anyhow::bail!("--flow must be realnvp, nsf or maf, got {other:?}"),
    };
    let device = flowinfer::device::parse_device(&a.device)?;
    if !device.is_cpu() {
        anyhow::bail!("the toy job runs on the CPU only for now");
    }
    let cfg = ToyFitConfig {
        dataset,
        n: a.n,
        kind,
        blocks: a.blocks,
        hidden: a.hidden,
        fit: flowinfer::train::FitConfig {
            epochs: a.epochs,
            batch_size: a.batch_size,
            learning_rate: a.lr,
            seed: a.seed,
        },
        samples: a.samples,
        out: Some(a.out.clone()),
        dtype: parse_dtype(&a.dtype)?,
        seed: a.seed,
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
    let bar = if a.quiet {
        indicatif::ProgressBar::hidden()
    } else {
        indicatif::ProgressBar::new(a.epochs as u64)
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template("epoch {pos}/{len} [{bar:30}] {msg} (ETA {eta})")?
            .progress_chars("=> "),
    );
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

fn main() -> ExitCode {
    flowinfer::device::apply_cpu_thread_defaults();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Fit(a) => run_fit(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
