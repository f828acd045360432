//! The `reweight` verb: DCTR weights for a run's generated events against a data file.

use crate::args::{set, DeviceArg, SeedArg};
use flowinfer::reweight::{reweight_run, ReweightConfig, ReweightRun};
use std::path::PathBuf;

/// Arguments of `flowinfer reweight`.
#[derive(clap::Args)]
#[command(mut_arg("seed", |a| a.help("Seed of the generated events, folds and classifiers")))]
pub struct ReweightArgs {
    /// Run directory written by `fit` (generates the events, names the columns).
    #[arg(long)]
    run: PathBuf,
    /// Reference events (CSV/JSON with exactly the run's columns).
    #[arg(long)]
    data: PathBuf,
    /// Weight the events of this file (exactly the run's columns) instead of sampling
    /// the run's flow.
    #[arg(long)]
    generated: Option<PathBuf>,
    /// Events to generate (default: 4 × the data rows).
    #[arg(long, conflicts_with = "generated")]
    samples: Option<usize>,
    /// Output directory (generated.csv, weights.csv, report.json, plots/).
    #[arg(long)]
    out: PathBuf,
    /// Classifier training epochs (default 100, early stopping on a validation part).
    #[arg(long)]
    epochs: Option<usize>,
    /// Classifier hidden width (default 64).
    #[arg(long)]
    hidden: Option<usize>,
    /// Classifier hidden layers (default 2).
    #[arg(long)]
    layers: Option<usize>,
    /// Classifier learning rate (default 1e-3).
    #[arg(long)]
    lr: Option<f64>,
    /// Cross-fitting folds (default 3).
    #[arg(long)]
    folds: Option<usize>,
    /// Clip raw weights D/(1 − D) above this value (default 20).
    #[arg(long, conflicts_with = "no_clip")]
    clip: Option<f64>,
    /// Do not clip the weights.
    #[arg(long)]
    no_clip: bool,
    /// Histogram bins per column for χ²/ndf and plots (default 30).
    #[arg(long)]
    bins: Option<usize>,
    /// The seed (`--seed`).
    #[command(flatten)]
    seed: SeedArg,
    /// The device of the run's flow (`--device`).
    #[command(flatten)]
    device: DeviceArg,
}

/// `flowinfer reweight`.
pub fn run_reweight(a: ReweightArgs) -> anyhow::Result<()> {
    let mut cfg = ReweightConfig {
        seed: a.seed.seed,
        ..Default::default()
    };
    set(&mut cfg.classifier.epochs, &a.epochs);
    set(&mut cfg.classifier.hidden, &a.hidden);
    set(&mut cfg.classifier.layers, &a.layers);
    set(&mut cfg.classifier.lr, &a.lr);
    set(&mut cfg.folds, &a.folds);
    set(&mut cfg.bins, &a.bins);
    if a.no_clip {
        cfg.clip = None;
    } else if a.clip.is_some() {
        cfg.clip = a.clip;
    }
    let job = ReweightRun {
        run: a.run,
        data: a.data,
        generated: a.generated,
        samples: a.samples,
        out: a.out.clone(),
    };
    let r = reweight_run(&job, &cfg, &a.device.open(None)?)?;
    println!(
        "events:                {} generated, {} reference",
        r.generated_events, r.reference_events
    );
    println!(
        "classifier AUC:        {:.4} before → {:.4} after reweighting (0.5 = indistinguishable)",
        r.auc_before, r.auc_after
    );
    println!(
        "χ²/ndf (column mean):  {:.3} before → {:.3} after",
        r.mean_chi2_ndf_before, r.mean_chi2_ndf_after
    );
    let w = &r.weights;
    println!(
        "weights:               median {:.3}, 99 % {:.3}, max {:.3}; {} clipped at {}",
        w.quantiles[3],
        w.quantiles[6],
        w.max,
        w.clipped,
        w.clip.map_or("-".into(), |c| c.to_string())
    );
    println!(
        "Kish ESS:              {:.0} of {} ({:.1} %)",
        w.ess,
        w.events,
        100.0 * w.ess_fraction
    );
    println!(
        "written:               {}/{{generated.csv, weights.csv, report.json, plots/}}",
        a.out.display()
    );
    Ok(())
}
