//! The run directory of `flowinfer variational`:
//!
//! ```text
//! DIR/result.json    headline figures (ResultJson): elbo, log_z, log_z_std_error,
//!                    ess_fraction, pareto_k, trusted, reasons, …
//! DIR/report.json    everything (VariationalReport)
//! DIR/samples.csv    posterior draws, one column per dimension (x1..xD unless named)
//! DIR/history.csv    the training steps
//! DIR/marginals.png, training.png, density.png (2-D targets)
//! DIR/spec.toml      the effective spec (file and command-line overrides)
//! DIR/model/         the trained flow (flow.json + flow.safetensors)
//! ```
//!
//! The directory is staged beside `DIR` and moved into place complete.

use super::config::VariationalConfig;
use super::report::{write_history_csv, ResultJson};
use super::target::LogDensity;
use super::{plots, VariationalOutcome};
use crate::atomic::{write_atomic, write_dir_atomic};
use crate::error::{Error, Result};
use serde::Serialize;
use std::fmt::Write as _;
use std::path::Path;

/// Write the run directory `dir` (module docs) for `outcome` of `spec` on `target`.
pub fn write_run(
    outcome: &VariationalOutcome,
    spec: &VariationalConfig,
    target: &dyn LogDensity,
    dir: &Path,
) -> Result<()> {
    write_dir_atomic(dir, |stage| fill(outcome, spec, target, stage))
}

fn json<T: Serialize + ?Sized>(v: &T) -> Result<Vec<u8>> {
    let mut bytes = serde_json::to_vec_pretty(v)?;
    bytes.push(b'\n');
    Ok(bytes)
}

fn fill(
    o: &VariationalOutcome,
    spec: &VariationalConfig,
    target: &dyn LogDensity,
    dir: &Path,
) -> Result<()> {
    let r = &o.report;
    let d = r.dim;
    let n_draws = o.draws.len() / d;
    write_atomic(
        &dir.join("result.json"),
        &json(&ResultJson::from_report(r, n_draws))?,
    )?;
    write_atomic(&dir.join("report.json"), &json(r)?)?;
    let mut csv = r.columns.join(",");
    csv.push('\n');
    for row in o.draws.chunks_exact(d) {
        for (j, v) in row.iter().enumerate() {
            if j > 0 {
                csv.push(',');
            }
            let _ = write!(csv, "{v}");
        }
        csv.push('\n');
    }
    write_atomic(&dir.join("samples.csv"), csv.as_bytes())?;
    write_history_csv(&dir.join("history.csv"), &o.history)?;
    let spec_text = toml::to_string_pretty(spec)
        .map_err(|e| Error::config(format!("cannot write the effective spec: {e}")))?;
    write_atomic(&dir.join("spec.toml"), spec_text.as_bytes())?;
    o.flow.save(dir.join("model"))?;
    if spec.eval.plots {
        let max = o
            .log_w
            .iter()
            .copied()
            .filter(|v| v.is_finite())
            .fold(f64::MIN, f64::max);
        let w: Vec<f64> = o.log_w.iter().map(|v| (v - max).exp()).collect();
        plots::marginals(
            &dir.join("marginals.png"),
            &r.columns,
            &o.eval_points,
            &o.from_flow,
            &w,
        )?;
        let elbo: Vec<f64> = o.history.records.iter().map(|s| s.elbo).collect();
        plots::training(&dir.join("training.png"), &elbo)?;
        if d == 2 {
            let title = format!(
                "{}: target density (blue), q draws (orange); ELBO {:.3}, k̂ {:.2}",
                r.target, r.elbo, r.weights.pareto_k
            );
            let q_points: Vec<f64> = o
                .eval_points
                .chunks_exact(d)
                .zip(&o.from_flow)
                .filter(|(_, f)| **f)
                .flat_map(|(r, _)| r.iter().copied())
                .collect();
            plots::density(&dir.join("density.png"), target, &q_points, &title)?;
        }
    }
    Ok(())
}
