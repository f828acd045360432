//! The NLE branches of `flowinfer sbi` (a spec with `[nle]`) and `flowinfer posterior`
//! (a run directory with `nle.json`): likelihood training and MCMC posterior draws with
//! their R-hat/ESS report.

use crate::progress;
use flowinfer::data::Table;
use flowinfer::pipeline::DataSource;
use flowinfer::sbi::mcmc::McmcConfig;
use flowinfer::sbi::nle::run::{load_nle_run, run_nle, MixingReport};
use flowinfer::sbi::nle::{diagnose_nle, McmcSbcConfig};
use flowinfer::sbi::SbiConfig;
use std::path::Path;

/// Print a mixing report, with its warning on stderr in plain words.
fn print_mixing(label: &str, m: &MixingReport, names: &[String]) {
    eprintln!(
        "{label}: {} chains × {} draws ({:.1} s)",
        m.chains, m.draws_per_chain, m.seconds
    );
    for (j, name) in names.iter().enumerate() {
        eprintln!(
            "  {name:>12}  R-hat {:.3}  ESS {:.0}",
            m.rhat.get(j).copied().unwrap_or(f64::NAN),
            m.ess.get(j).copied().unwrap_or(f64::NAN)
        );
    }
    if let Some(w) = &m.warning {
        eprintln!("warning: {label}: {w}");
    }
}

/// `flowinfer sbi` with an `[nle]` section: train (NLE or SNLE), write the run.
pub fn run_sbi_nle(spec: &SbiConfig, out: &Path, quiet: bool) -> anyhow::Result<()> {
    let nle = spec
        .nle
        .as_ref()
        .ok_or_else(|| anyhow::anyhow!("the spec has no [nle] section"))?;
    eprintln!(
        "NLE on {}: {} round(s) × {} simulations, MCMC with {} slice-sampling chains",
        spec.simulator()?.name,
        nle.rounds,
        nle.per_round(spec.npe.simulations),
        nle.mcmc.chains
    );
    let bar = progress::bar("epoch", spec.train.epochs, quiet)?;
    let info = run_nle(
        spec,
        out,
        |rec| {
            bar.inc(1);
            bar.set_message(format!(
                "train {:.4}  val {:.4}",
                rec.train_loss,
                rec.val_loss.unwrap_or(f64::NAN)
            ));
        },
        |r| {
            bar.println(format!(
                "round {}: {} simulations ({} failed), {} pairs, {} epochs, best validation loss {:.4}{}",
                r.round,
                r.simulations,
                r.failed,
                r.total_pairs,
                r.epochs,
                r.best_val_loss,
                r.proposal_max_rhat
                    .map(|v| format!(", proposal chains R-hat ≤ {v:.3}"))
                    .unwrap_or_default()
            ));
            bar.reset();
        },
    )?;
    bar.finish_and_clear();
    println!(
        "simulations:           {} used, {} failed",
        info.simulations_used, info.simulations_failed
    );
    println!(
        "epochs:                {} (last fit), best validation loss {:.4} nats (−log q(x | θ))",
        info.epochs, info.best_val_loss
    );
    println!("seconds:               {:.1}", info.seconds);
    if let Some(m) = &info.mixing {
        print_mixing("posterior MCMC", m, &info.param_names);
        println!("written:               {}/draws.csv", out.display());
    }
    println!(
        "written:               {}/{{model/, nle.json, history.csv}}",
        out.display()
    );
    Ok(())
}

/// `flowinfer posterior` on an NLE run: MCMC draws for each observation.
pub fn run_posterior_nle(
    run_dir: &Path,
    observation: &Path,
    n: usize,
    seed: u64,
    out: &Path,
    device: &flowinfer::candle_core::Device,
) -> anyhow::Result<()> {
    let run = load_nle_run(run_dir, device)?;
    let source = DataSource::File(observation.to_path_buf());
    let obs: Table = source.load(None, false)?.table;
    let (table, reports) = run.draws(&obs, n, seed)?;
    for (i, m) in reports.iter().enumerate() {
        print_mixing(&format!("observation {}", i + 1), m, &run.info.param_names);
    }
    table.write_csv(out)?;
    println!(
        "wrote {} draws × {} columns to {}",
        table.rows(),
        table.cols(),
        out.display()
    );
    Ok(())
}

/// The SBC settings of `flowinfer diagnose` on an NLE run (absent: the defaults of
/// [`McmcSbcConfig`]; the MCMC thinning and slice width are the spec's `[nle.mcmc]`).
pub struct NleSbcArgs {
    /// `--sbc-runs`.
    pub runs: Option<usize>,
    /// `--sbc-samples`.
    pub samples: Option<usize>,
    /// `--sbc-chains`.
    pub chains: usize,
    /// `--sbc-warmup`.
    pub warmup: usize,
}

/// `flowinfer diagnose` on an NLE run: SBC, expected coverage and TARP from MCMC draws,
/// with R-hat/ESS across data sets and a warning when the chains did not mix.
pub fn run_diagnose_nle(
    run_dir: &Path,
    out: &Path,
    a: &NleSbcArgs,
    device: &flowinfer::candle_core::Device,
) -> anyhow::Result<()> {
    let run = load_nle_run(run_dir, device)?;
    let defaults = McmcSbcConfig::default();
    let spec_mcmc = run.info.spec.nle.clone().unwrap_or_default().mcmc;
    let cfg = McmcSbcConfig {
        runs: a.runs.unwrap_or(defaults.runs),
        samples: a.samples.unwrap_or(defaults.samples),
        mcmc: McmcConfig {
            chains: a.chains,
            warmup: a.warmup,
            thin: spec_mcmc.thin,
            initial_width: spec_mcmc.initial_width,
            seed: run.info.spec.diagnose.seed,
            ..defaults.mcmc
        },
        candidates: defaults.candidates,
        seed: run.info.spec.diagnose.seed,
    };
    eprintln!(
        "simulation-based calibration by MCMC: {} data sets × {} chains ...",
        cfg.runs, cfg.mcmc.chains
    );
    let r = diagnose_nle(&run, out, &cfg)?;
    let m = &r.sbc_mixing;
    println!(
        "SBC ({} data sets × {} MCMC draws), χ² uniformity p-values:",
        r.sbc.runs, r.sbc.samples
    );
    for (j, n) in r.sbc.names.iter().enumerate() {
        println!(
            "  {n:>12}: p = {:.3}   R-hat median {:.3} max {:.3}   ESS median {:.0} min {:.0}",
            r.sbc.p_values[j], m.median_rhat[j], m.max_rhat[j], m.median_ess[j], m.min_ess[j]
        );
    }
    crate::sbi::print_coverage_and_tarp(&r.sbc);
    println!(
        "MCMC:                  {} chains per data set × {} draws, {} of {} data sets unmixed, {:.1} s",
        m.chains_per_set, m.draws_per_chain, m.unmixed_sets, m.data_sets, m.seconds
    );
    if let Some(w) = &m.warning {
        eprintln!("warning: SBC MCMC: {w}");
    }
    println!(
        "written:               {}/{{report.json, *.png}}",
        out.display()
    );
    Ok(())
}
