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

/// Apply flowinfer's CPU threading default: unless the user set `CANDLE_NUM_THREADS`,
/// switch off candle's element-wise thread pool (`CANDLE_NUM_THREADS=1`). On small
/// machines that pool competes with rayon (used by the fused linear and spline kernels
/// for large batches) for the same cores; measured on 2 cores it costs 5–20 % (see
/// docs/PERFORMANCE.md). Call it first thing in `main`, before any tensor operation and
/// before other threads start: candle reads the variable once.
pub fn apply_cpu_thread_defaults() {
    if std::env::var_os("CANDLE_NUM_THREADS").is_none() {
        std::env::set_var("CANDLE_NUM_THREADS", "1");
    }
}
