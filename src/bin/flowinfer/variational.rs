//! The `variational` verb: fit a flow to an unnormalised log density by reverse KL,
//! estimate log Z by importance sampling, write the run directory.

use crate::args::{set, DeviceArg, DtypeArg, QuietArg};
use crate::progress;
use flowinfer::flow::FlowKind;
use flowinfer::variational::{variational, write_run, Stage, VariationalConfig};
use std::path::PathBuf;

/// `--flow NAME`: `mean_field` (or `mean-field`), or any `[flow] kind` of a spec
/// (`nsf`, `realnvp`, `maf`, `maf_spline`, …), so every flow kind the library knows is
/// accepted without a list here.
fn apply_flow(s: &mut VariationalConfig, name: &str) -> anyhow::Result<()> {
    let key = name.trim().to_ascii_lowercase().replace('-', "_");
    if key == "mean_field" {
        s.mean_field = true;
        return Ok(());
    }
    s.mean_field = false;
    s.flow.kind = serde_json::from_value::<FlowKind>(serde_json::Value::String(key))
        .map_err(|e| anyhow::anyhow!("--flow {name}: {e} (or mean_field)"))?;
    Ok(())
}

/// Arguments of `flowinfer variational`.
#[derive(clap::Args)]
pub struct VariationalArgs {
    /// Variational spec (TOML, see models/vi-*.toml and docs/VARIATIONAL.md); the
    /// options below override it.
    #[arg(long)]
    spec: Option<PathBuf>,
    /// Built-in target: u1, u2, u3, u4, banana, funnel, gaussian, mixture, sine,
    /// logistic_iris, gaussian_linear.
    #[arg(long, conflicts_with = "target_command")]
    target: Option<String>,
    /// External target: "PROGRAM ARGS" (split at whitespace, no shell); reads points as
    /// CSV rows on stdin, writes one log density per line. Needs --dim.
    #[arg(long)]
    target_command: Option<String>,
    /// Target command: oneshot (a program run per batch, the default), persistent,
    /// persistent-f64 or persistent-shm (long-lived workers answering framed batches;
    /// docs/CLUSTER.md).
    #[arg(long)]
    command_mode: Option<flowinfer_simulators::external::ProgramMode>,
    /// Dimension (target command; funnel and gaussian: default 10).
    #[arg(long)]
    dim: Option<usize>,
    /// The variational family: a flow kind (nsf, realnvp, maf, maf_spline, …) or
    /// mean_field (default: the spec's [flow], else nsf).
    #[arg(long)]
    flow: Option<String>,
    /// Blocks of the flow.
    #[arg(long)]
    blocks: Option<usize>,
    /// Conditioner width.
    #[arg(long)]
    hidden: Option<usize>,
    /// Flow dtype (default f32).
    #[arg(long, value_enum)]
    dtype: Option<DtypeArg>,
    /// Optimizer steps (default 2000).
    #[arg(long)]
    steps: Option<usize>,
    /// Draws of q per step (default 256).
    #[arg(long)]
    samples: Option<usize>,
    /// Initial learning rate (default 3e-3, cosine decay).
    #[arg(long)]
    lr: Option<f64>,
    /// Anneal β from --beta-start to 1 over this fraction of the steps (default 0).
    #[arg(long)]
    anneal: Option<f64>,
    /// Starting β of the annealing (default 0.01).
    #[arg(long)]
    beta_start: Option<f64>,
    /// Fresh draws for the final figures (default 20000).
    #[arg(long)]
    eval_samples: Option<usize>,
    /// Posterior draws written to samples.csv (default 10000).
    #[arg(long)]
    draws: Option<usize>,
    /// Importance-resample the posterior draws.
    #[arg(long)]
    resample: bool,
    /// No plots.
    #[arg(long)]
    no_plots: bool,
    /// Exit 0 even when the diagnostics say the estimates cannot be trusted (the run
    /// directory is written either way).
    #[arg(long)]
    accept_untrusted: bool,
    /// The device (`--device`).
    #[command(flatten)]
    device: DeviceArg,
    /// Output directory (result.json, report.json, samples.csv, history.csv, plots,
    /// spec.toml, model/).
    #[arg(long, default_value = "runs/variational")]
    out: PathBuf,
    /// Seed (default: the spec's, else 0).
    #[arg(long)]
    seed: Option<u64>,
    /// `--quiet`.
    #[command(flatten)]
    quiet: QuietArg,
}

/// The spec with the command-line overrides applied.
fn build_spec(a: &VariationalArgs) -> anyhow::Result<VariationalConfig> {
    let mut s = match &a.spec {
        Some(p) => VariationalConfig::load(p)?,
        None => VariationalConfig::default(),
    };
    if let Some(n) = &a.target {
        s.target.name = Some(n.clone());
        s.target.command = None;
    }
    if let Some(c) = &a.target_command {
        s.target.command = Some(c.clone());
        s.target.name = None;
    }
    if a.dim.is_some() {
        s.target.dim = a.dim;
    }
    if a.command_mode.is_some() {
        s.target.command_mode = a.command_mode;
    }
    if let Some(f) = &a.flow {
        apply_flow(&mut s, f)?;
    }
    set(&mut s.flow.blocks, &a.blocks);
    set(&mut s.flow.hidden, &a.hidden);
    if let Some(d) = a.dtype {
        s.flow.dtype = d.name().to_string();
    }
    let t = &mut s.train;
    set(&mut t.steps, &a.steps);
    set(&mut t.samples, &a.samples);
    set(&mut t.lr, &a.lr);
    set(&mut t.anneal, &a.anneal);
    set(&mut t.beta_start, &a.beta_start);
    set(&mut s.eval.samples, &a.eval_samples);
    set(&mut s.eval.draws, &a.draws);
    s.eval.resample |= a.resample;
    s.eval.plots &= !a.no_plots;
    set(&mut s.seed, &a.seed);
    flowinfer::config::JobConfig::validate(&s)?;
    Ok(s)
}

/// `flowinfer variational`: train, evaluate, write the run.
pub fn run_variational(a: VariationalArgs) -> anyhow::Result<()> {
    let spec = build_spec(&a)?;
    let target = spec.target.build()?;
    spec.validate_for(target.dim())?;
    if a.out.is_file() {
        anyhow::bail!("--out {} is a file; expected a directory", a.out.display());
    }
    let device = a.device.open(spec.device.as_deref())?;
    eprintln!(
        "fitting {} (d = {}) by reverse KL: {}, {} steps × {} draws ...",
        target.name(),
        target.dim(),
        if spec.mean_field {
            "mean-field Gaussian".to_string()
        } else {
            format!("{:?} × {}", spec.flow.kind, spec.flow.blocks)
        },
        spec.train.steps,
        spec.train.samples
    );
    let quiet = a.quiet.quiet;
    let pb = progress::bar("step", spec.train.steps, quiet)?;
    let outcome = variational(target.as_ref(), &spec, &device, &mut |stage| match stage {
        Stage::Training { record, .. } => {
            pb.inc(1);
            if record.step % 10 == 0 {
                pb.set_message(format!("ELBO {:.4}  β {:.2}", record.elbo, record.beta));
            }
        }
        Stage::Evaluating { samples } => {
            pb.finish_and_clear();
            if !quiet {
                eprintln!("evaluating on {samples} fresh draws ...");
            }
        }
    });
    pb.finish_and_clear();
    let outcome = outcome?;
    write_run(&outcome, &spec, target.as_ref(), &a.out)?;
    print!("{}", outcome.report.summary());
    println!(
        "written:               {}/{{result.json, report.json, samples.csv, history.csv, *.png, spec.toml, model/}}",
        a.out.display()
    );
    let r = &outcome.report;
    if !r.trusted && !a.accept_untrusted {
        anyhow::bail!(
            "the estimates cannot be trusted: {}; the run is written with \"trusted\": false in {} (pass --accept-untrusted to exit 0 anyway)",
            r.reasons.join("; "),
            a.out.join("result.json").display()
        );
    }
    Ok(())
}
