//! Saving and loading flows: `flow.json` (architecture, dtype, format version) and
//! `flow.safetensors` (weights) in one directory, each written atomically.

use crate::atomic::{write_atomic, write_atomic_with};
use crate::error::{Error, Result};
use crate::flow::{Flow, FlowSpec};
use crate::params::Params;
use candle_core::{DType, Device};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Format version written into `flow.json`.
pub const FORMAT_VERSION: u32 = 1;

/// The JSON side of a saved flow.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SavedFlow {
    /// Format version (currently 1).
    pub format_version: u32,
    /// flowinfer version that wrote the file.
    pub flowinfer_version: String,
    /// Model dtype ("f32" or "f64").
    pub dtype: String,
    /// The architecture.
    pub spec: FlowSpec,
}

/// Parse a dtype name ("f32" or "f64").
pub fn parse_dtype(s: &str) -> Result<DType> {
    match s {
        "f32" => Ok(DType::F32),
        "f64" => Ok(DType::F64),
        other => Err(Error::config(format!(
            "dtype must be \"f32\" or \"f64\", got {other:?}"
        ))),
    }
}

/// The name of a supported dtype.
pub fn dtype_name(d: DType) -> &'static str {
    if d == DType::F64 {
        "f64"
    } else {
        "f32"
    }
}

impl Flow {
    /// Save into directory `dir` (created if needed): `flow.json` + `flow.safetensors`.
    pub fn save(&self, dir: impl AsRef<Path>) -> Result<()> {
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir).map_err(|e| Error::file(dir, e.to_string()))?;
        let weights = dir.join("flow.safetensors");
        write_atomic_with(&weights, |tmp| {
            self.params()
                .varmap()
                .save(tmp)
                .map_err(|e| Error::file(&weights, e.to_string()))
        })?;
        let saved = SavedFlow {
            format_version: FORMAT_VERSION,
            flowinfer_version: env!("CARGO_PKG_VERSION").to_string(),
            dtype: dtype_name(self.dtype()).to_string(),
            spec: self.spec(),
        };
        write_atomic(
            &dir.join("flow.json"),
            serde_json::to_string_pretty(&saved)?.as_bytes(),
        )
    }

    /// Load a flow saved with [`Flow::save`] onto `device`.
    pub fn load(dir: impl AsRef<Path>, device: &Device) -> Result<Self> {
        let dir = dir.as_ref();
        let json_path = dir.join("flow.json");
        let text = std::fs::read_to_string(&json_path)
            .map_err(|e| Error::file(&json_path, format!("cannot read: {e}")))?;
        let saved: SavedFlow = serde_json::from_str(&text)
            .map_err(|e| Error::file(&json_path, format!("not a valid flow description: {e}")))?;
        if saved.format_version != FORMAT_VERSION {
            return Err(Error::file(
                &json_path,
                format!(
                    "format version {} is not supported (expected {FORMAT_VERSION})",
                    saved.format_version
                ),
            ));
        }
        let dtype =
            parse_dtype(&saved.dtype).map_err(|e| Error::file(&json_path, e.to_string()))?;
        let mut params = Params::new(dtype, device, 0);
        let flow = Flow::with_params(saved.spec, params.clone())?;
        let weights = dir.join("flow.safetensors");
        params
            .varmap_mut()
            .load(&weights)
            .map_err(|e| Error::file(&weights, format!("cannot load weights: {e}")))?;
        Ok(flow)
    }
}
