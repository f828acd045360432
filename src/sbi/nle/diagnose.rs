//! `flowinfer diagnose` on an NLE/SNLE run directory: SBC, expected coverage and TARP
//! from MCMC draws of the neural likelihood's posterior for many simulated data sets
//! ([`sbc_nle`], all data sets' chains in one lockstep run), with R-hat/ESS summarised
//! across data sets. Writes `report.json` ([`NleDiagnoseReport`]) and the SBC plots
//! (`sbc_ranks.png`, `coverage.png`, `tarp.png`) atomically.
//!
//! An SNLE run's likelihood was trained on simulations concentrated around one
//! observation, so its SBC over the whole prior tests it where it was not trained
//! (as for TSNPE): expect miscalibration away from that observation.

use crate::atomic::{write_atomic, write_dir_atomic};
use crate::error::Result;
use crate::sbi::diagnostics::sbc::{plot_sbc, SbcResult};
use crate::sbi::nle::run::NleRun;
use crate::sbi::nle::sbc::{sbc_nle, McmcSbcConfig, SbcMixing};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// `report.json` of an NLE diagnosis.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NleDiagnoseReport {
    /// Simulation-based calibration, coverage and TARP.
    pub sbc: SbcResult,
    /// R-hat and ESS of the SBC chains across data sets (with the warning, if any).
    pub sbc_mixing: SbcMixing,
    /// The settings used.
    pub settings: McmcSbcConfig,
    /// Seconds for the whole diagnosis.
    pub seconds: f64,
}

/// Run SBC/coverage/TARP on a loaded NLE run with `cfg` and write the report and plots
/// to `out`.
///
/// ```
/// use candle_core::Device;
/// use flowinfer::sbi::mcmc::McmcConfig;
/// use flowinfer::sbi::nle::run::{load_nle_run, run_nle};
/// use flowinfer::sbi::nle::{diagnose_nle, McmcSbcConfig, NleConfig};
/// use flowinfer::sbi::{SbiConfig, SimulatorConfig};
///
/// let dir = std::env::temp_dir().join(format!("nle-diagnose-doc-{}", std::process::id()));
/// let mut spec = SbiConfig::default();
/// spec.simulator = Some(SimulatorConfig { name: "two_moons".into(), noise: None, external: None });
/// spec.npe.simulations = 300;
/// (spec.flow.blocks, spec.flow.hidden, spec.train.epochs) = (1, 8, 2);
/// spec.nle = Some(NleConfig::default());
/// run_nle(&spec, &dir.join("run"), |_| {}, |_| {})?;
/// let run = load_nle_run(&dir.join("run"), &Device::Cpu)?;
/// let cfg = McmcSbcConfig { runs: 10, samples: 20, candidates: 100,
///     mcmc: McmcConfig { chains: 2, warmup: 5, ..McmcSbcConfig::default().mcmc },
///     ..McmcSbcConfig::default() };
/// let r = diagnose_nle(&run, &dir.join("diagnostics"), &cfg)?;
/// assert_eq!((r.sbc.runs, r.sbc.samples, r.sbc_mixing.chains_per_set), (10, 20, 2));
/// assert!(dir.join("diagnostics/report.json").is_file());
/// # std::fs::remove_dir_all(&dir).ok();
/// # Ok::<(), flowinfer::Error>(())
/// ```
pub fn diagnose_nle(run: &NleRun, out: &Path, cfg: &McmcSbcConfig) -> Result<NleDiagnoseReport> {
    let start = std::time::Instant::now();
    let r = sbc_nle(&run.likelihood, run.simulator.as_ref(), cfg)?;
    write_dir_atomic(out, |stage| {
        plot_sbc(stage, &r.sbc)?;
        let report = NleDiagnoseReport {
            sbc: r.sbc,
            sbc_mixing: r.mixing,
            settings: cfg.clone(),
            seconds: start.elapsed().as_secs_f64(),
        };
        write_atomic(
            &stage.join("report.json"),
            serde_json::to_string_pretty(&report)?.as_bytes(),
        )?;
        Ok(report)
    })
}
