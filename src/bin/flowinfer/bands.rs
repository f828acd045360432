//! The `bands` verb (histogram bands of a Bayesian run) and `sample --draws`.

use crate::args::{DeviceArg, SeedArg};
use candle_core::Device;
use flowinfer::bayes::{self, draws_table, BandsConfig, BayesModel, Reference};
use flowinfer::pipeline::DataSource;
use std::path::{Path, PathBuf};

/// Arguments of `flowinfer bands`.
#[derive(clap::Args)]
#[command(mut_arg("seed", |a| a.help("Seed of the weight draws and latent points")))]
pub struct BandsArgs {
    /// Run directory written by `fit` with a `[bayes]` section.
    #[arg(long)]
    run: PathBuf,
    /// Reference events (CSV/JSON with the run's columns): bins from them, pulls
    /// against them and log-density spreads for them.
    #[arg(long)]
    data: Option<PathBuf>,
    /// Use the run's own test split as the reference (instead of --data).
    #[arg(long, conflicts_with = "data")]
    test: bool,
    /// Output directory (written atomically).
    #[arg(long)]
    out: PathBuf,
    /// Weight draws M (default: the spec's [bayes] draws).
    #[arg(long)]
    draws: Option<usize>,
    /// Events generated per draw.
    #[arg(short, long, default_value_t = 20000)]
    n: usize,
    /// Bins per column.
    #[arg(long, default_value_t = 20)]
    bins: usize,
    /// Bins per axis of the 2-D pair bands (0 = none).
    #[arg(long, default_value_t = 6)]
    pair_bins: usize,
    /// The seed (`--seed`).
    #[command(flatten)]
    seed: SeedArg,
    /// The device (`--device`).
    #[command(flatten)]
    device: DeviceArg,
    /// A different latent sample for every draw (default: the same latent points).
    #[arg(long)]
    independent_latents: bool,
}

/// `flowinfer bands`: per-bin bands over weight draws, pulls, plots.
pub fn run_bands(a: BandsArgs) -> anyhow::Result<()> {
    let (info, model) = BayesModel::load_on(&a.run, &a.device.open(None)?)?;
    let reference = match (&a.data, a.test) {
        (Some(p), _) => Reference::Data(DataSource::File(p.clone())),
        (None, true) => Reference::TestSplit,
        (None, false) => Reference::None,
    };
    let cfg = BandsConfig {
        draws: a.draws,
        events_per_draw: a.n,
        bins: a.bins,
        pair_bins: a.pair_bins,
        seed: a.seed.seed,
        same_latent: !a.independent_latents,
    };
    let r = bayes::run_bands(&info, &model, &reference, &cfg)?;
    r.write(&a.out)?;
    println!("draws:                 {} × {} events", r.draws, a.n);
    println!("mean relative σ/bin:   {:.4}", r.mean_relative_std());
    if let Some(p) = &r.pulls {
        let m = &p.marginals;
        println!(
            "marginal pulls:        mean {:+.3}, std {:.3}, within ±1σ {:.3}, ±2σ {:.3} ({} bins, {} events)",
            m.mean, m.std, m.within_1sigma, m.within_2sigma, m.bins, p.events
        );
        if let Some(q) = &p.pairs {
            println!(
                "pair pulls:            mean {:+.3}, std {:.3}, within ±1σ {:.3}, ±2σ {:.3} ({} cells)",
                q.mean, q.std, q.within_1sigma, q.within_2sigma, q.bins
            );
        }
    }
    println!(
        "written:               {}/{{bands.json, bands.csv, pulls.json, logp.csv, plots/}}",
        a.out.display()
    );
    Ok(())
}

/// `sample --draws M`: `n` events from each of `M` weight draws, with a `draw` column.
pub fn run_sample_draws(
    run: &Path,
    n: usize,
    draws: usize,
    seed: u64,
    out: &Path,
    device: &Device,
) -> anyhow::Result<()> {
    let (info, model) = BayesModel::load_on(run, device)?;
    let t = draws_table(&info, &model, n, draws, seed)?;
    t.write_csv(out)?;
    println!(
        "wrote {} events ({draws} draws × {n}) × {} columns to {}",
        t.rows(),
        t.cols(),
        out.display()
    );
    Ok(())
}
