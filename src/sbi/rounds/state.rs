//! The resumable state of a sequential run (TSNPE, and SNLE with its own round
//! report `R`): `rounds/state.json` (the spec, the observation and the report of every
//! completed round) and `rounds/round_<k>.json` (that round's simulated pairs), each
//! written atomically when the round ends.

use crate::atomic::write_atomic;
use crate::error::{Error, Result};
use crate::sbi::rounds::RoundReport;
use crate::sbi::SbiConfig;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// `rounds/state.json`; `R` is the per-round report (TSNPE's [`RoundReport`] by default).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RoundsState<R = RoundReport> {
    /// The spec (run seed applied) the rounds were made with.
    pub spec: SbiConfig,
    /// The observation the rounds target.
    pub observation: Vec<f64>,
    /// Completed rounds.
    pub rounds: Vec<R>,
}

/// One round's simulated pairs.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RoundData {
    /// Parameter rows.
    pub thetas: Vec<Vec<f64>>,
    /// Observation rows.
    pub xs: Vec<Vec<f64>>,
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::file(path, e.to_string()))?;
    serde_json::from_str(&text).map_err(|e| Error::file(path, format!("malformed: {e}")))
}

/// The completed rounds in `dir` for `spec` and `observation`: nothing when `dir` holds
/// no state; an error when it holds rounds of another spec or observation (a resumed
/// run must be the same run).
pub fn load_state<R: serde::de::DeserializeOwned>(
    dir: &Path,
    spec: &SbiConfig,
    observation: &[f64],
) -> Result<(Vec<R>, Vec<RoundData>)> {
    let path = dir.join("state.json");
    if !path.exists() {
        return Ok((Vec::new(), Vec::new()));
    }
    let state: RoundsState<R> = read_json(&path)?;
    // Where the simulations ran ([executor], --resume) does not change the rounds:
    // the executors give the in-memory data bit for bit.
    let without_executor = |s: &SbiConfig| SbiConfig {
        executor: None,
        ..s.clone()
    };
    if without_executor(&state.spec) != without_executor(spec) {
        return Err(Error::file(
            &path,
            "this run directory holds rounds made with a different spec; resuming would mix \
             them. Use the original spec, another --out, or remove the directory",
        ));
    }
    if state.observation != observation {
        return Err(Error::file(
            &path,
            format!(
                "this run directory holds rounds for another observation ({:?}); use another --out or remove the directory",
                state.observation
            ),
        ));
    }
    let data = (1..=state.rounds.len())
        .map(|k| read_json(&dir.join(format!("round_{k}.json"))))
        .collect::<Result<Vec<RoundData>>>()?;
    Ok((state.rounds, data))
}

/// Write round `k`'s data, then the state with its report (so a state never names a
/// round whose data is missing).
pub fn save_round<R: Serialize>(
    dir: &Path,
    state: &RoundsState<R>,
    data: &RoundData,
) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::file(dir, e.to_string()))?;
    let k = state.rounds.len();
    write_atomic(
        &dir.join(format!("round_{k}.json")),
        serde_json::to_string(data)?.as_bytes(),
    )?;
    write_atomic(
        &dir.join("state.json"),
        serde_json::to_string_pretty(state)?.as_bytes(),
    )
}
