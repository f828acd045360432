//! The `bands` verb (histogram bands of a Bayesian run) and `sample --draws`.

use crate::args::{DeviceArg, SeedArg};
use candle_core::Device;
use flowinfer::atomic::{write_atomic, write_dir_atomic};
use flowinfer::bayes::bands::{bands_csv, bins_for, compute_bands, data_pulls};

use flowinfer::bayes::predict::{log_prob_spread, BayesModel};
use flowinfer::data::{read_table, ReadOptions, Table};
use std::fmt::Write as _;
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

/// The reference events: `--data`, the run's test split (`--test`), or none.
fn reference(
    a: &BandsArgs,
    model_columns: &[String],
    info: &flowinfer::pipeline::RunInfo,
) -> anyhow::Result<Option<Table>> {
    Ok(match (&a.data, a.test) {
        (Some(p), _) => Some(
            read_table(
                p,
                &ReadOptions {
                    columns: Some(model_columns.to_vec()),
                    drop_invalid: false,
                },
            )?
            .0,
        ),
        (None, true) => Some(info.test_split()?),
        (None, false) => None,
    })
}

/// `flowinfer bands`: per-bin bands over weight draws, pulls, plots.
pub fn run_bands(a: BandsArgs) -> anyhow::Result<()> {
    let seed = a.seed.seed;
    let (info, model) = BayesModel::load_on(&a.run, &a.device.open(None)?)?;
    let draws = a
        .draws
        .unwrap_or_else(|| info.spec.bayes.as_ref().map_or(1, |b| b.draws));
    let draws = match (a.draws, model.available_draws()) {
        (None, Some(k)) => draws.min(k),
        _ => draws,
    };
    model.check_draws(draws)?;
    let refdata = reference(&a, &info.columns, &info)?;
    let events = model.generate(a.n, draws, seed, !a.independent_latents)?;
    let bins = match &refdata {
        Some(t) => bins_for(&t.to_rows(), info.columns.len(), a.bins)?,
        None => bins_for(&events[0], info.columns.len(), a.bins)?,
    };
    let bands = compute_bands(&info.columns, &events, &bins, a.pair_bins)?;
    let pulls = refdata.as_ref().map(|t| data_pulls(&bands, &t.to_rows()));
    let spread = match &refdata {
        Some(t) => {
            let x = t.to_tensor(model.flow.dtype(), model.flow.device())?;
            Some(log_prob_spread(&model.log_prob_draws(&x, draws, seed)?))
        }
        None => None,
    };
    let real = refdata.as_ref().map(|t| t.to_rows());
    write_dir_atomic(&a.out, |dir| {
        write_atomic(
            &dir.join("bands.json"),
            serde_json::to_string(&bands)?.as_bytes(),
        )?;
        write_atomic(&dir.join("bands.csv"), bands_csv(&bands).as_bytes())?;
        if let Some(p) = &pulls {
            write_atomic(
                &dir.join("pulls.json"),
                serde_json::to_string_pretty(p)?.as_bytes(),
            )?;
        }
        if let Some(s) = &spread {
            let mut csv = String::from("row,log_p_predictive,log_p_mean,log_p_std\n");
            for i in 0..s.mean.len() {
                let _ = writeln!(csv, "{i},{},{},{}", s.predictive[i], s.mean[i], s.std[i]);
            }
            write_atomic(&dir.join("logp.csv"), csv.as_bytes())?;
        }
        let pdir = dir.join("plots");
        std::fs::create_dir_all(&pdir).map_err(|e| flowinfer::Error::file(&pdir, e.to_string()))?;
        flowinfer::plot::bands::band_histograms(pdir.join("bands.png"), &bands, real.as_deref())?;
        flowinfer::plot::bands::relative_uncertainty(pdir.join("rel_uncertainty.png"), &bands)?;
        Ok(())
    })?;
    println!("draws:                 {draws} × {} events", a.n);
    let mean_rel: f64 = {
        let v: Vec<f64> = bands
            .marginals
            .iter()
            .flat_map(|m| {
                m.mean
                    .iter()
                    .zip(&m.std)
                    .filter(|(a, _)| **a > 0.0)
                    .map(|(a, s)| s / a)
            })
            .collect();
        v.iter().sum::<f64>() / v.len().max(1) as f64
    };
    println!("mean relative σ/bin:   {mean_rel:.4}");
    if let Some(p) = &pulls {
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
    let events = model.generate(n, draws, seed, false)?;
    let mut cols = info.columns.clone();
    cols.push("draw".into());
    let mut values = Vec::with_capacity(n * draws * cols.len());
    for (m, ev) in events.iter().enumerate() {
        for r in ev {
            values.extend_from_slice(r);
            values.push(m as f64);
        }
    }
    let t = Table::new(cols, values)?;
    t.write_csv(out)?;
    println!(
        "wrote {} events ({draws} draws × {n}) × {} columns to {}",
        t.rows(),
        t.cols(),
        out.display()
    );
    Ok(())
}
