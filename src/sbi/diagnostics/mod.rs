//! Diagnostics of a trained posterior estimator: simulation-based calibration,
//! expected coverage and TARP from the same draws ([`sbc`](mod@sbc), [`tarp`]), the posterior predictive check ([`predictive`]), C2ST
//! against reference posterior samples ([`reference`](mod@reference)), and [`diagnose`], which runs
//! them on a run directory and writes `diagnostics/report.json` and plots.

pub mod misspecification;
pub mod predictive;
pub mod reference;
pub mod sbc;
pub mod tarp;

pub use misspecification::{MisspecificationCheck, MisspecificationConfig, Typicality};
pub use predictive::{observation_segments, predictive_check, PredictiveResult};
pub use reference::{c2st_against_reference, reference_observation, ReferenceC2st};
pub use sbc::{sbc, SbcResult};
pub use tarp::TarpResult;

use crate::atomic::{write_atomic, write_dir_atomic};
use crate::error::Result;
use crate::sbi::run::SbiRun;
use flowinfer_simulators::{RowFailure, SimulationError};
use rand::SeedableRng;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// What to run in [`diagnose`].
#[derive(Debug, Clone)]
pub struct DiagnoseOptions {
    /// Observation for the predictive check and posterior plot; default: reference
    /// observation 1 when a reference folder is set, else a simulation from a prior draw.
    pub observation: Option<Vec<f64>>,
    /// SBC data sets.
    pub sbc_runs: usize,
    /// Posterior draws per SBC data set.
    pub sbc_samples: usize,
    /// Posterior draws re-simulated in the predictive check.
    pub predictive_draws: usize,
    /// sbibm task folder for C2ST against reference posteriors.
    pub reference: Option<PathBuf>,
    /// Classifier epochs per C2ST.
    pub c2st_epochs: usize,
    /// Seed.
    pub seed: u64,
}

/// `diagnostics/report.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DiagnoseReport {
    /// Simulation-based calibration and coverage.
    pub sbc: SbcResult,
    /// Posterior predictive check.
    pub predictive: PredictiveResult,
    /// The true parameters of the observation, when it was simulated here.
    pub true_parameters: Option<Vec<f64>>,
    /// C2ST against reference posteriors, per observation.
    pub reference_c2st: Vec<ReferenceC2st>,
    /// Mean reference C2ST accuracy.
    pub reference_c2st_mean: Option<f64>,
    /// How typical the observation is of the simulator (runs with a
    /// `[misspecification]` check).
    #[serde(default)]
    pub misspecification: Option<Typicality>,
    /// Seconds for the whole diagnosis.
    pub seconds: f64,
}

/// Run every diagnostic on a loaded run and write `out/report.json` and plots
/// (`sbc_ranks.png`, `coverage.png`, `tarp.png`, `predictive.png`, `posterior.png`, and for the
/// degenerate SIR model `ridge.png`).
pub fn diagnose(
    run: &SbiRun,
    out: &Path,
    opts: &DiagnoseOptions,
    progress: impl FnMut(&str),
) -> Result<DiagnoseReport> {
    write_dir_atomic(out, |stage| diagnose_into(run, stage, opts, progress))
}

fn diagnose_into(
    run: &SbiRun,
    out: &Path,
    opts: &DiagnoseOptions,
    mut progress: impl FnMut(&str),
) -> Result<DiagnoseReport> {
    let start = std::time::Instant::now();
    let sim = run.simulator.as_ref();
    let post = &run.posterior;
    let names = post.param_names().to_vec();

    progress("simulation-based calibration");
    let s = sbc(post, sim, opts.sbc_runs, opts.sbc_samples, opts.seed)?;
    sbc::plot_sbc(out, &s)?;

    let (observation, truth) = match (&opts.observation, &opts.reference) {
        (Some(x), _) => (x.clone(), None),
        (None, Some(dir)) => (reference_observation(dir, 1)?, None),
        (None, None) => {
            let mut rng = rand::rngs::StdRng::seed_from_u64(opts.seed ^ 0x0b5);
            let theta = sim.sample_prior(1, &mut rng);
            let x = sim
                .simulate_rows(&theta, opts.seed ^ 0x0b5)?
                .pop()
                .unwrap_or_else(|| {
                    Err(RowFailure {
                        row: 0,
                        reason: "no output".into(),
                    })
                })
                .map_err(|f| SimulationError::External {
                    simulator: sim.name().to_string(),
                    message: format!("simulating the test observation failed: {f}"),
                })?;
            (x, Some(theta[0].clone()))
        }
    };
    let typicality = match &run.misspecification {
        Some(c) => Some(c.assess(&observation)?),
        None => None,
    };
    progress("posterior predictive check");
    let p = predictive_check(post, sim, &observation, opts.predictive_draws, opts.seed)?;
    crate::plot::predictive_bands(
        out.join("predictive.png"),
        &p.observation,
        &p.q05,
        &p.q50,
        &p.q95,
        &observation_segments(sim),
        &format!("Posterior predictive check ({} draws)", p.draws),
    )?;
    let draws = post.sample(sim, &observation, 5000, opts.seed ^ 0x9a1, 100)?;
    let mut rng = rand::rngs::StdRng::seed_from_u64(opts.seed ^ 0x9a2);
    let prior = sim.sample_prior(5000, &mut rng);
    crate::plot::posterior_pairs(
        out.join("posterior.png"),
        &names,
        &draws.samples,
        Some(&prior),
        truth.as_deref(),
        5000,
    )?;
    if sim.name() == "sir_degenerate" {
        if let Some(t) = &truth {
            let pts: Vec<[f64; 2]> = draws.samples.iter().map(|r| [r[0], r[1]]).collect();
            crate::plot::ridge_plot(
                out.join("ridge.png"),
                [&names[0], &names[1]],
                &pts,
                t[0] * t[1],
                "Degenerate SIR: only λ1·λ2 is identifiable",
            )?;
        }
    }

    let mut reference_c2st = Vec::new();
    if let Some(dir) = &opts.reference {
        let ks = reference::reference_observations(dir)?;
        for k in ks {
            progress(&format!("C2ST against reference observation {k}"));
            reference_c2st.extend(c2st_against_reference(
                post,
                sim,
                dir,
                &[k],
                opts.c2st_epochs,
                opts.seed,
            )?);
        }
    }
    let reference_c2st_mean = (!reference_c2st.is_empty()).then(|| {
        reference_c2st.iter().map(|r| r.c2st.accuracy).sum::<f64>() / reference_c2st.len() as f64
    });
    let report = DiagnoseReport {
        sbc: s,
        predictive: p,
        true_parameters: truth,
        reference_c2st,
        reference_c2st_mean,
        misspecification: typicality,
        seconds: start.elapsed().as_secs_f64(),
    };
    write_atomic(
        &out.join("report.json"),
        serde_json::to_string_pretty(&report)?.as_bytes(),
    )?;
    Ok(report)
}
