//! `run.json`: what a fitted run records about its inputs, and reading a run back.

use crate::config::FitConfig;
use crate::data::Table;
use crate::error::{Error, Result};
use crate::flow::Flow;
use crate::pipeline::prepare::prepare;
use crate::pipeline::source::DataOrigin;
use candle_core::Device;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// What `run.json` records about a run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunInfo {
    /// Column names, in model order.
    pub columns: Vec<String>,
    /// Where the events came from (older runs: the data file's path).
    pub data: DataOrigin,
    /// The spec used.
    pub spec: FitConfig,
    /// Conditional runs: the condition columns and how they become the context
    /// (`columns` then lists the modelled columns only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<crate::pipeline::condition::ContextMap>,
}

impl RunInfo {
    /// `--resume` must continue the same run: same data, columns and spec as the
    /// `run.json` in `out` (if any).
    pub fn check_resumable(&self, out: &Path) -> Result<()> {
        let p = out.join("run.json");
        let Ok(text) = std::fs::read_to_string(&p) else {
            // No finished run yet: the trainer checks its own checkpoint's settings.
            return Ok(());
        };
        let old: RunInfo =
            serde_json::from_str(&text).map_err(|e| Error::file(&p, e.to_string()))?;
        let what = if old.data != self.data {
            format!("{} (now {})", old.data, self.data)
        } else if old.columns != self.columns {
            format!("columns {:?} (now {:?})", old.columns, self.columns)
        } else if old.spec != self.spec {
            "another spec".to_string()
        } else {
            return Ok(());
        };
        Err(Error::file(
            p,
            format!("cannot resume: this run used {what}; use the same inputs or another --out"),
        ))
    }

    /// The run's test split again (same source, columns and seeded split as the fit).
    pub fn test_split(&self) -> Result<Table> {
        let mut data = self.spec.data.clone();
        data.columns = Some(self.columns.clone());
        // (prepare adds the condition columns of a conditional run and splits them off.)
        Ok(prepare(&self.data.source()?, &data)?.test)
    }
}

/// Read `run.json` and the model of a run directory (model on the CPU).
pub fn load_run(dir: &Path) -> Result<(RunInfo, Flow)> {
    load_run_on(dir, &Device::Cpu)
}

/// Read `run.json` and the model of a run directory onto `device`.
pub fn load_run_on(dir: &Path, device: &Device) -> Result<(RunInfo, Flow)> {
    let p = dir.join("run.json");
    let text = std::fs::read_to_string(&p)
        .map_err(|e| Error::file(&p, format!("not a run directory: {e}")))?;
    let info: RunInfo = serde_json::from_str(&text).map_err(|e| Error::file(&p, e.to_string()))?;
    let flow = Flow::load(dir.join("model"), device)?;
    Ok((info, flow))
}
