//! Device selection: `cpu`, `cuda`, `cuda:N`. CUDA needs the `cuda` cargo feature.

use crate::error::{Error, Result};
use candle_core::Device;

/// Parse a device name and open the device, with a clear error when CUDA is asked for
/// but not compiled in or not present.
pub fn parse_device(name: &str) -> Result<Device> {
    let name = name.trim();
    if name == "cpu" {
        return Ok(Device::Cpu);
    }
    let ordinal = match name.strip_prefix("cuda") {
        Some("") => 0,
        Some(rest) => rest
            .strip_prefix(':')
            .and_then(|n| n.parse::<usize>().ok())
            .ok_or_else(|| {
                Error::config(format!("device must be cpu, cuda or cuda:N, got {name:?}"))
            })?,
        None => {
            return Err(Error::config(format!(
                "device must be cpu, cuda or cuda:N, got {name:?}"
            )))
        }
    };
    if !cfg!(feature = "cuda") {
        return Err(Error::config(format!(
            "device {name:?} requested, but this flowinfer was built without the `cuda` feature"
        )));
    }
    Device::new_cuda(ordinal)
        .map_err(|e| Error::config(format!("cannot open CUDA device {ordinal}: {e}")))
}
