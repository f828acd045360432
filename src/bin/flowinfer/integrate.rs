//! The `integrate` verb (importance-sampled Monte Carlo integration with a flow) and
//! the `unweight` verb (more unweighted events from a finished `integrate` run).

use crate::args::{set, DeviceArg, DtypeArg, QuietArg};
use crate::progress;
use flowinfer::cluster::ClusterIntegrand;
use flowinfer::integrate::channels::{integrate_channels, write_channels_run};
use flowinfer::integrate::{
    integrate, unweight::write_events_csv, write_run, IntegrateConfig, IntegrationRun, Loss, Stage,
    TrainMode,
};
use flowinfer_simulators::Integrand;
use std::path::{Path, PathBuf};

/// The training losses (`--loss`).
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum LossArg {
    /// Forward KL divergence with importance weights.
    Kl,
    /// Variance of the weights (Pearson χ² divergence).
    #[value(alias = "chi2")]
    Variance,
}

impl From<LossArg> for Loss {
    fn from(l: LossArg) -> Self {
        match l {
            LossArg::Kl => Loss::Kl,
            LossArg::Variance => Loss::Variance,
        }
    }
}

/// The training modes (`--mode`).
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModeArg {
    /// A fresh batch for every step.
    Online,
    /// A fresh batch every --reuse steps, reused (reweighted) in between.
    Buffered,
}

impl From<ModeArg> for TrainMode {
    fn from(m: ModeArg) -> Self {
        match m {
            ModeArg::Online => TrainMode::Online,
            ModeArg::Buffered => TrainMode::Buffered,
        }
    }
}

/// Arguments of `flowinfer integrate`.
#[derive(clap::Args)]
pub struct IntegrateArgs {
    /// Integration spec (TOML, see models/integrate-*.toml and docs/INTEGRATION.md);
    /// the options below override it.
    #[arg(long)]
    spec: Option<PathBuf>,
    /// Built-in integrand: gaussian, camel, annulus, entangled_circles, polynomial, ee_qqg.
    #[arg(long, conflicts_with = "integrand_command")]
    integrand: Option<String>,
    /// External integrand: "PROGRAM ARGS" (split at whitespace, no shell); reads points
    /// as CSV rows on stdin, writes one value per line. Needs --dim.
    #[arg(long)]
    integrand_command: Option<String>,
    /// Dimension d of [0,1]^d.
    #[arg(long)]
    dim: Option<usize>,
    /// Peak width of gaussian / camel (default 0.2).
    #[arg(long)]
    alpha: Option<f64>,
    /// ee_qqg: cut s_ij > y·s (default 0.01).
    #[arg(long)]
    y_cut: Option<f64>,
    /// ee_qqg: phase-space map, `rambo` (default) or `log_dalitz` (cuts built in).
    #[arg(long)]
    phase_space_map: Option<String>,
    /// needle / two_needles: σ; shell: radial width; breit_wigner: Γ.
    #[arg(long)]
    width: Option<f64>,
    /// needle / two_needles: correlation ρ between coordinates.
    #[arg(long)]
    correlation: Option<f64>,
    /// needle: centre (every coordinate).
    #[arg(long)]
    centre: Option<f64>,
    /// shell: radius.
    #[arg(long)]
    radius: Option<f64>,
    /// breit_wigner: resonance mass m₀ in (0, 1).
    #[arg(long)]
    mass: Option<f64>,
    /// two_needles: weight of the first needle.
    #[arg(long)]
    weight: Option<f64>,
    /// External integrand: points per program run (default 1000).
    #[arg(long)]
    command_batch: Option<usize>,
    /// External integrand: `oneshot` (a program run per batch, default), `persistent`,
    /// `persistent-f64` or `persistent-shm` (long-lived workers speaking the framed
    /// protocol of docs/CLUSTER.md; rows as text, as raw doubles, or in shared memory).
    #[arg(long)]
    command_mode: Option<flowinfer_simulators::external::ProgramMode>,
    /// Training loss (default kl).
    #[arg(long, value_enum, ignore_case = true)]
    loss: Option<LossArg>,
    /// Training mode (default online).
    #[arg(long, value_enum, ignore_case = true)]
    mode: Option<ModeArg>,
    /// Buffered mode: optimizer steps per fresh batch (default 4).
    #[arg(long)]
    reuse: Option<usize>,
    /// Optimizer steps (default 500).
    #[arg(long)]
    steps: Option<usize>,
    /// Points per training batch (default 4096).
    #[arg(long)]
    batch: Option<usize>,
    /// Initial learning rate (default 2e-2, cosine decay to --min-lr).
    #[arg(long)]
    lr: Option<f64>,
    /// Final learning rate (default 1e-4).
    #[arg(long)]
    min_lr: Option<f64>,
    /// Anneal the training target from f^β (β = --beta-start) to f over at most this
    /// fraction of the steps (default 0.3; 0 = off); keeps a flow from locking onto one
    /// of several peaks.
    #[arg(long)]
    anneal: Option<f64>,
    /// Adaptive annealing: move β ahead of the --anneal schedule while the tempered
    /// weights keep this effective-sample-size fraction (default 0.5; 0 = the plain
    /// linear schedule).
    #[arg(long)]
    anneal_ess: Option<f64>,
    /// Starting exponent of the annealing (default 0.2; lowered automatically when the
    /// untrained proposal cannot sample f^β).
    #[arg(long)]
    beta_start: Option<f64>,
    /// Fraction of the proposal drawn uniformly from the cube, in training and
    /// evaluation (the defensive mixture that bounds every weight by f/α; defaults 0.05
    /// in training and 0.005 in evaluation, spec [train]/[eval] defensive; 0 = the flow
    /// alone).
    #[arg(long)]
    defensive: Option<f64>,
    /// Fraction of the training steps left after the annealing reaches β = 1 over which
    /// the training defensive fraction decays to 0 (default 0.5; 0 = constant; spec
    /// [train] defensive_decay).
    #[arg(long)]
    defensive_decay: Option<f64>,
    /// Spline bins (default 8).
    #[arg(long)]
    bins: Option<usize>,
    /// Conditioner width (default 64).
    #[arg(long)]
    hidden: Option<usize>,
    /// Conditioner hidden layers (default 2).
    #[arg(long)]
    layers: Option<usize>,
    /// Coupling layers (default max(4, 2⌈log2 d⌉)).
    #[arg(long)]
    couplings: Option<usize>,
    /// Flow dtype (default f32; weights are always f64).
    #[arg(long, value_enum)]
    dtype: Option<DtypeArg>,
    /// Fresh samples for the final estimate (default 100000).
    #[arg(long)]
    eval_samples: Option<usize>,
    /// Unweighted events to generate (written to --events-out, default OUT/events.csv;
    /// more can be made later with `flowinfer unweight --run OUT`).
    #[arg(long)]
    unweighted: Option<usize>,
    /// CSV file for the unweighted events (x1..xd, weight).
    #[arg(long, requires = "unweighted")]
    events_out: Option<PathBuf>,
    /// Run VEGAS side by side with the same number of integrand calls (result.json
    /// gets its figures under `vegas`).
    #[arg(long, alias = "vegas")]
    compare_vegas: bool,
    /// Compose the flow with a VEGAS grid (the flow learns the residual).
    #[arg(long)]
    vegas_warm_start: bool,
    /// Integrand calls of the VEGAS warm start (default max(10000, training calls/5)).
    #[arg(long)]
    warm_start_calls: Option<usize>,
    /// A peak location that gets a channel of its own (comma-separated coordinates in
    /// [0, 1]; repeat for several peaks): multi-channel integration with one flow per
    /// channel and a uniform channel besides (spec: [channels] peaks).
    #[arg(long = "peak")]
    peaks: Vec<String>,
    /// Width of each peak channel's map (default 0.05).
    #[arg(long)]
    peak_width: Option<f64>,
    /// Count non-finite and negative integrand values as zero instead of failing.
    #[arg(long)]
    allow_invalid: bool,
    /// Exit 0 even when the diagnostics say the estimate cannot be trusted (the run
    /// directory is written either way, with `"trusted": false` and the reasons).
    #[arg(long)]
    accept_untrusted: bool,
    /// The device (`--device`).
    #[command(flatten)]
    device: DeviceArg,
    /// Output directory (result.json, report.json, history.csv, plots, spec.toml,
    /// model/; see docs/INTEGRATION.md).
    #[arg(long, default_value = "runs/integrate")]
    out: PathBuf,
    /// Seed (default: the spec's, else 0).
    #[arg(long)]
    seed: Option<u64>,
    /// `--quiet`.
    #[command(flatten)]
    quiet: QuietArg,
    /// `--executor`, `--work-dir`, `--resume` and the Slurm settings: the integrand's
    /// batches as files in a work directory (docs/CLUSTER.md).
    #[command(flatten)]
    executor: crate::cluster::ExecutorArgs,
}

/// The spec with the command-line overrides applied.
fn build_spec(a: &IntegrateArgs) -> anyhow::Result<IntegrateConfig> {
    let mut s = match &a.spec {
        Some(p) => IntegrateConfig::load(p)?,
        None => IntegrateConfig::default(),
    };
    let i = &mut s.integrand;
    if let Some(n) = &a.integrand {
        i.name = Some(n.clone());
        i.command = None;
    }
    if let Some(c) = &a.integrand_command {
        i.command = Some(c.clone());
        i.name = None;
    }
    if a.dim.is_some() {
        i.dim = a.dim;
    }
    if a.alpha.is_some() {
        i.alpha = a.alpha;
    }
    if a.y_cut.is_some() {
        i.y_cut = a.y_cut;
    }
    if a.phase_space_map.is_some() {
        i.map = a.phase_space_map.clone();
    }
    for (dst, src) in [
        (&mut i.width, a.width),
        (&mut i.correlation, a.correlation),
        (&mut i.centre, a.centre),
        (&mut i.radius, a.radius),
        (&mut i.mass, a.mass),
        (&mut i.weight, a.weight),
    ] {
        if src.is_some() {
            *dst = src;
        }
    }
    if a.command_batch.is_some() {
        i.batch_size = a.command_batch;
    }
    if a.command_mode.is_some() {
        i.command_mode = a.command_mode;
    }
    let t = &mut s.train;
    if let Some(l) = a.loss {
        t.loss = l.into();
    }
    if let Some(m) = a.mode {
        t.mode = m.into();
    }
    set(&mut t.reuse, &a.reuse);
    set(&mut t.steps, &a.steps);
    set(&mut t.batch, &a.batch);
    set(&mut t.lr, &a.lr);
    set(&mut t.min_lr, &a.min_lr);
    set(&mut t.anneal, &a.anneal);
    set(&mut t.anneal_ess, &a.anneal_ess);
    set(&mut t.beta_start, &a.beta_start);
    set(&mut t.defensive, &a.defensive);
    set(&mut t.defensive_decay, &a.defensive_decay);
    set(&mut s.eval.defensive, &a.defensive);
    set(&mut s.flow.bins, &a.bins);
    set(&mut s.flow.hidden, &a.hidden);
    set(&mut s.flow.layers, &a.layers);
    if let Some(d) = a.dtype {
        s.flow.dtype = d.name().to_string();
    }
    set(&mut s.eval.samples, &a.eval_samples);
    set(&mut s.seed, &a.seed);
    if a.couplings.is_some() {
        s.flow.couplings = a.couplings;
    }
    if a.unweighted.is_some() {
        s.eval.unweighted = a.unweighted;
    }
    if a.warm_start_calls.is_some() {
        s.eval.warm_start_calls = a.warm_start_calls;
    }
    if !a.peaks.is_empty() {
        s.channels.peaks = parse_peaks(&a.peaks)?;
    }
    set(&mut s.channels.width, &a.peak_width);
    s.eval.vegas |= a.compare_vegas;
    s.eval.vegas_warm_start |= a.vegas_warm_start;
    s.eval.allow_invalid |= a.allow_invalid;
    Ok(s)
}

/// `--peak` values: each occurrence is one peak, its coordinates comma-separated.
fn parse_peaks(raw: &[String]) -> anyhow::Result<Vec<Vec<f64>>> {
    raw.iter()
        .map(|p| {
            p.split(',')
                .map(|v| {
                    v.trim().parse::<f64>().map_err(|_| {
                        anyhow::anyhow!("--peak {p}: `{v}` is not a number; expected comma-separated coordinates such as 0.25,0.25")
                    })
                })
                .collect()
        })
        .collect()
}

/// Check that `path` (given as option `flag`) can become a CSV file: not a directory,
/// in a directory that exists.
fn check_csv_output(flag: &str, path: &Path) -> anyhow::Result<()> {
    if path.is_dir() {
        anyhow::bail!(
            "{flag} {} is a directory; expected a CSV file name",
            path.display()
        );
    }
    if let Some(d) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !d.is_dir() {
            anyhow::bail!(
                "{flag} {}: directory {} does not exist",
                path.display(),
                d.display()
            );
        }
    }
    Ok(())
}

/// After a finished run: removes the integrand's batch files from the work directory
/// unless they are to be kept (`--keep-work-dir`), saying so.
fn clean_work_dir(cluster: Option<&ClusterIntegrand>) -> anyhow::Result<()> {
    let Some(c) = cluster else { return Ok(()) };
    if c.keep() {
        return Ok(());
    }
    let calls = c.remove_batch_files()?;
    eprintln!(
        "integrand work directory: batch files of {calls} calls removed, manifests kept in {} \
         (--keep-work-dir keeps them)",
        c.work_dir().display()
    );
    Ok(())
}

/// `flowinfer integrate`: train the proposal, estimate, write the run.
pub fn run_integrate(a: IntegrateArgs) -> anyhow::Result<()> {
    let mut spec = build_spec(&a)?;
    // The step bar is the progress; the batch counts stay hidden.
    a.executor.apply(&mut spec.executor, true)?;
    let cluster = match spec.executor {
        Some(_) => Some(ClusterIntegrand::for_run(&spec, &a.out)?),
        None => None,
    };
    let plain;
    let integrand: &dyn Integrand = match &cluster {
        Some(c) => c,
        None => {
            plain = spec.build_integrand()?;
            plain.as_ref()
        }
    };
    let report_batches = || {
        if let Some(c) = &cluster {
            eprintln!(
                "integrand batches: {} evaluated, {} reused from {}",
                c.batches_run(),
                c.batches_reused(),
                c.work_dir().display()
            );
        }
    };
    let cfg = &spec;
    cfg.validate_for(integrand.dim())?;
    if let Some(p) = &a.events_out {
        check_csv_output("--events-out", p)?;
    }
    if a.out.is_file() {
        anyhow::bail!("--out {} is a file; expected a directory", a.out.display());
    }
    let device = a.device.open(cfg.device.as_deref())?;
    eprintln!(
        "integrating {} in d = {} ({} loss, {}, {} steps × {}) ...",
        integrand.name(),
        integrand.dim(),
        cfg.train.loss.name(),
        cfg.train.mode.name(),
        cfg.train.steps,
        cfg.train.batch
    );
    let quiet = a.quiet.quiet;
    let channels = cfg.channels.is_active();
    let bar_steps = if channels {
        (cfg.train.steps / cfg.channels.maps(integrand.dim())?.len()).max(1)
    } else {
        cfg.train.steps
    };
    let pb = progress::bar("step", bar_steps, quiet)?;
    let mut on_stage = |stage: Stage<'_>| match stage {
        Stage::Channel {
            channel,
            channels,
            map,
        } => {
            pb.reset();
            if !quiet {
                pb.println(format!("channel {}/{channels}: {map}", channel + 1));
            }
        }
        Stage::WarmStart { calls } => {
            if !quiet {
                pb.println(format!("VEGAS warm start with {calls} calls ..."));
            }
        }
        Stage::Training {
            record, running, ..
        } => {
            pb.inc(1);
            if let Some(r) = record.rel_std {
                pb.set_message(format!(
                    "I = {:.5e} ± {:.1e}  rel.std {:.3}",
                    running.estimate(),
                    running.std_error(),
                    r
                ));
            }
        }
        Stage::Collapse { collapse } => {
            // A warning, shown even with --quiet.
            pb.suspend(|| eprintln!("warning: {}", collapse.message()));
        }
        Stage::Evaluating { samples } => {
            pb.finish_and_clear();
            if !quiet {
                eprintln!("evaluating on {samples} fresh samples ...");
            }
        }
        Stage::Unweighting { events } => {
            if !quiet {
                eprintln!("generating {events} unweighted events ...");
            }
        }
        Stage::Vegas { calls } => {
            if !quiet {
                eprintln!("VEGAS baseline with {calls} adaptation calls ...");
            }
        }
    };
    if channels {
        let outcome = integrate_channels(integrand, cfg, &device, &mut on_stage);
        pb.finish_and_clear();
        report_batches();
        let outcome = outcome?;
        write_channels_run(&outcome, &spec, &a.out)?;
        clean_work_dir(cluster.as_ref())?;
        let r = &outcome.report;
        print!("{}", r.summary());
        println!(
            "written:               {}/{{result.json, report.json, spec.toml, channel1..{}/}}",
            a.out.display(),
            r.channels.len()
        );
        if !r.trusted && !a.accept_untrusted {
            anyhow::bail!(
                "the estimate cannot be trusted: {}; the run is written with \"trusted\": false in {} (pass --accept-untrusted to exit 0 anyway)",
                r.reasons.join("; "),
                a.out.join("result.json").display()
            );
        }
        return Ok(());
    }
    let outcome = integrate(integrand, cfg, &device, &mut on_stage);
    pb.finish_and_clear();
    report_batches();
    let outcome = outcome?;
    write_run(&outcome, &spec, &a.out, a.events_out.as_deref())?;
    clean_work_dir(cluster.as_ref())?;
    print!("{}", outcome.report.summary());
    if outcome.events.is_some() {
        let p = a
            .events_out
            .clone()
            .unwrap_or_else(|| a.out.join("events.csv"));
        println!("events:                {}", p.display());
    }
    println!(
        "written:               {}/{{result.json, report.json, history.csv, weights.png, training.png, marginals.png, spec.toml, model/}}",
        a.out.display()
    );
    let r = &outcome.report;
    if !r.trusted && !a.accept_untrusted {
        anyhow::bail!(
            "the estimate cannot be trusted: {}; the run is written with \"trusted\": false in {} (pass --accept-untrusted to exit 0 anyway)",
            r.reasons.join("; "),
            a.out.join("result.json").display()
        );
    }
    Ok(())
}

/// Arguments of `flowinfer unweight`.
#[derive(clap::Args)]
pub struct UnweightArgs {
    /// Run directory written by `flowinfer integrate --out DIR`.
    #[arg(long)]
    run: PathBuf,
    /// Number of unweighted events.
    #[arg(short = 'n', long = "events")]
    events: usize,
    /// Output CSV (x1..xd, weight; weight is 1 except for over-weight events, which
    /// carry w/w_max).
    #[arg(long)]
    out: PathBuf,
    /// Seed of the draws (default: the run's seed + 1, so the events differ from any
    /// made during the run).
    #[arg(long)]
    seed: Option<u64>,
    /// Points per flow batch.
    #[arg(long, default_value_t = 16_384)]
    batch: usize,
    /// The device (`--device`).
    #[command(flatten)]
    device: DeviceArg,
    /// Count non-finite and negative integrand values as zero instead of failing.
    #[arg(long)]
    allow_invalid: bool,
}

/// `flowinfer unweight`: hit-or-miss events against the run's bootstrap maximum weight.
pub fn run_unweight(a: UnweightArgs) -> anyhow::Result<()> {
    check_csv_output("--out", &a.out)?;
    let run = IntegrationRun::load(&a.run, &a.device.open(None)?)?;
    let r = &run.result.flow;
    eprintln!(
        "unweighting {} events against w_max = {:.4e}, expected acceptance {:.3} ...",
        a.events, r.bootstrap_max_weight, r.unweighting_efficiency_bootstrap
    );
    let u = run.unweight(a.events, a.batch, a.seed, a.allow_invalid)?;
    let t = &u.table;
    write_events_csv(&a.out, &t.columns, &t.points, &t.weights)?;
    let s = &u.summary;
    println!(
        "events:                {} ({} trials, acceptance {:.4}; {}, d = {})",
        s.events, s.trials, s.acceptance, u.integrand, u.dim
    );
    println!(
        "over-weight events:    {} ({:.2e} of the events; excess weight {:.2e})",
        s.over_weight_events, s.over_weight_fraction, s.excess_weight_fraction
    );
    println!(
        "max weight seen/used:  {:.4e} / {:.4e}",
        s.max_weight_seen, s.max_weight_used
    );
    if u.invalid.non_finite + u.invalid.negative > 0 {
        println!(
            "invalid values:        {} non-finite, {} negative (counted as zero)",
            u.invalid.non_finite, u.invalid.negative
        );
    }
    println!("written:               {}", a.out.display());
    Ok(())
}
