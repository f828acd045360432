//! [`ProgramMode`]: whether an external program is started once per batch or kept
//! running as a persistent worker that answers many batches.

use serde::{Deserialize, Serialize};

/// How an external program is run (the `mode` key of an external section).
///
/// ```
/// use flowinfer_simulators::external::ProgramMode;
/// let m: ProgramMode = "persistent".parse().unwrap();
/// assert_eq!(m, ProgramMode::Persistent);
/// assert_eq!(ProgramMode::default(), ProgramMode::Oneshot);
/// let shm: ProgramMode = "persistent-shm".parse().unwrap();
/// assert_eq!(shm.to_string(), "persistent-shm");
/// assert!(shm.is_persistent());
/// assert!("forever".parse::<ProgramMode>().unwrap_err().contains("oneshot"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum ProgramMode {
    /// One program run per batch: rows on stdin, stdin closed, rows on stdout.
    #[default]
    #[serde(rename = "oneshot")]
    Oneshot,
    /// Long-lived workers speaking the framed protocol (`BATCH` / `OK` / `ERR`,
    /// see the [module docs](super)); a crashed or hung worker is restarted and its
    /// batch retried up to `retries` times.
    #[serde(rename = "persistent")]
    Persistent,
    /// Persistent workers whose rows travel as raw little-endian `f64` instead of
    /// CSV text (`BATCH … f64` / `OK … f64`): no formatting or parsing, for compiled
    /// programs whose per-point cost is small.
    #[serde(rename = "persistent-f64")]
    PersistentF64,
    /// Persistent workers whose rows and answers travel as little-endian `f64`
    /// through a shared file mapping (`FLOWINFER_SHM`); only the header lines
    /// (`BATCH … shm <slot> …` / `OK … shm <slot>`) go through the pipes. For
    /// compiled programs whose per-point cost is small (Unix only).
    #[serde(rename = "persistent-shm")]
    PersistentShm,
}

impl ProgramMode {
    /// Whether workers are kept alive between batches.
    pub fn is_persistent(self) -> bool {
        self != ProgramMode::Oneshot
    }
}

impl std::str::FromStr for ProgramMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "oneshot" | "one-shot" | "one_shot" => Ok(ProgramMode::Oneshot),
            "persistent" => Ok(ProgramMode::Persistent),
            "persistent-f64" | "persistent_f64" => Ok(ProgramMode::PersistentF64),
            "persistent-shm" | "persistent_shm" => Ok(ProgramMode::PersistentShm),
            other => Err(format!(
                "unknown program mode `{other}`, expected oneshot, persistent, persistent-f64 \
                 or persistent-shm"
            )),
        }
    }
}

impl std::fmt::Display for ProgramMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ProgramMode::Oneshot => "oneshot",
            ProgramMode::Persistent => "persistent",
            ProgramMode::PersistentF64 => "persistent-f64",
            ProgramMode::PersistentShm => "persistent-shm",
        })
    }
}

/// Default number of retries of a batch whose program run or persistent worker
/// crashed or hung: 2.
pub(crate) fn default_retries() -> usize {
    2
}

/// Whether `m` is the default mode (for `skip_serializing_if`).
pub(crate) fn is_oneshot(m: &ProgramMode) -> bool {
    *m == ProgramMode::Oneshot
}
