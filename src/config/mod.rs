//! The spec dialect: one TOML root per job, one loader, one place for each default.
//!
//! * **Naming.** `*Spec` is saved with a model and rebuilds it (`FlowSpec`,
//!   `TransformSpec`, `EmbeddingSpec`, `ConditionerSpec`, `BaseSpec`); `*Config` is a run
//!   setting (`FitConfig`, `SbiConfig`, `IntegrateConfig`, `TrainerConfig`, `FlowConfig`,
//!   …). A TOML section deserialises straight into the `*Config` the job runs with: there
//!   are no mirror structs and no field-by-field copies.
//! * **Defaults.** Each job's defaults are its root type's [`Default`]; the loader
//!   overlays the keys a file gives on that default section by section, so a key left out
//!   of `[flow]` in an `sbi` spec takes the NPE default, in a `fit` spec the `fit` one.
//!   Values inside a key (a schedule table, an embedding) are replaced whole.
//! * **Errors.** Unknown keys and bad values are errors that name the file and the key.
//! * **Device.** Every root has a top-level `device` key (`cpu` when absent, `cuda` or
//!   `cuda:N` with the `cuda` feature) that `--device` overrides; it is opened by
//!   [`open_device`].
//! * **Seed.** Every root has a top-level `seed` (default 0) that `--seed` sets. A job
//!   whose sections have seeds of their own (`[data]`, `[flow]`, `[train]`, `[npe]`,
//!   `[diagnose]`) adds the run seed to each ([`JobConfig::with_run_seed`]), so the
//!   shipped specs' runs are unchanged at seed 0 and one number re-seeds a whole run.
//!
//! ```
//! use flowinfer::config::{from_toml, FitConfig};
//! let cfg: FitConfig = from_toml("[flow]\nblocks = 3\n", "inline.toml")?;
//! assert_eq!(cfg.flow.blocks, 3);
//! assert_eq!(cfg.flow.hidden, FitConfig::default().flow.hidden);
//! # Ok::<(), flowinfer::Error>(())
//! ```

pub mod any;
pub mod domain;
pub mod fit;

pub use any::AnyConfig;
pub use domain::ColumnDomain;
pub use fit::{DataConfig, EvalConfig, FitConfig};

use crate::error::{Error, Result};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::path::Path;

/// The root of a job's TOML spec: its defaults, its checks and its device key.
pub trait JobConfig: Default + Serialize + DeserializeOwned {
    /// Check the values serde cannot (ranges, combinations); errors name the key.
    fn validate(&self) -> Result<()>;
    /// The top-level `device` key (absent = CPU).
    fn device_name(&self) -> Option<&str>;
    /// The same settings with the top-level run seed folded into the sections' seeds
    /// (and set to 0): what a job runs with and records.
    fn with_run_seed(&self) -> Self;
    /// Open the configured device (see [`open_device`]).
    fn device(&self) -> Result<candle_core::Device> {
        open_device(self.device_name())
    }
}

/// Open a device by name: `None` or `"cpu"`, `"cuda"`, `"cuda:N"` (a clear error when
/// CUDA is asked for and not compiled in or not present).
pub fn open_device(name: Option<&str>) -> Result<candle_core::Device> {
    crate::device::parse_device(name.unwrap_or("cpu"))
}

/// Overlay `given` on `defaults`: sections (tables of the root) merge key by key; any
/// other value is replaced whole. A section that names a key the default does not
/// spell out (a serde alias such as `compare_vegas`, or a misspelling that
/// deserialisation then rejects) is taken as given, so its missing keys come from its
/// own type's `Default`.
fn overlay(defaults: &mut toml::Table, given: toml::Table) {
    for (key, value) in given {
        match (defaults.get_mut(&key), value) {
            (Some(toml::Value::Table(d)), toml::Value::Table(g))
                if g.keys().all(|k| d.contains_key(k)) =>
            {
                for (k, v) in g {
                    d.insert(k, v);
                }
            }
            (_, v) => {
                defaults.insert(key, v);
            }
        }
    }
}

/// Parse a job spec from TOML text on top of `T::default()` and validate it; `origin`
/// names the file in errors.
pub fn from_toml<T: JobConfig>(text: &str, origin: impl AsRef<Path>) -> Result<T> {
    let origin = origin.as_ref();
    let bad = |e: &dyn std::fmt::Display| Error::file(origin, format!("invalid spec: {e}"));
    let given: toml::Table = toml::from_str(text).map_err(|e| bad(&e))?;
    let mut merged = toml::Table::try_from(T::default()).map_err(|e| bad(&e))?;
    overlay(&mut merged, given);
    let cfg: T = merged.try_into().map_err(|e| bad(&e))?;
    cfg.validate()
        .map_err(|e| Error::file(origin, e.to_string()))?;
    Ok(cfg)
}

/// Read, parse and validate a job spec file.
pub fn load<T: JobConfig>(path: impl AsRef<Path>) -> Result<T> {
    let path = path.as_ref();
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::file(path, format!("cannot read spec: {e}")))?;
    from_toml(&text, path)
}
