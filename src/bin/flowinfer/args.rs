//! Arguments shared by several verbs, flattened into each with `#[command(flatten)]`,
//! and the small value enumerations of the command line.

use candle_core::Device;

/// `--device`: where the flow runs.
#[derive(clap::Args, Debug, Clone)]
pub struct DeviceArg {
    /// Device: cpu, cuda or cuda:N (cuda needs the `cuda` feature; default: the spec's
    /// `device` where the verb reads a spec, else cpu).
    #[arg(long)]
    pub device: Option<String>,
}

impl DeviceArg {
    /// The device name: `--device`, else `spec` (a spec's `device`), else `cpu`.
    pub fn name<'a>(&'a self, spec: Option<&'a str>) -> &'a str {
        self.device.as_deref().or(spec).unwrap_or("cpu")
    }

    /// Open the device named by [`DeviceArg::name`]; a clear error for an unknown name
    /// or for CUDA without the `cuda` feature.
    pub fn open(&self, spec: Option<&str>) -> anyhow::Result<Device> {
        Ok(flowinfer::device::parse_device(self.name(spec))?)
    }
}

/// `--seed` with default 0 (the verbs whose seed has a fixed default).
#[derive(clap::Args, Debug, Clone, Copy)]
pub struct SeedArg {
    /// Seed of the random draws: the same seed gives the same results.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

/// `--quiet`.
#[derive(clap::Args, Debug, Clone, Copy)]
pub struct QuietArg {
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

/// A model dtype (`--dtype`).
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum DtypeArg {
    /// 32-bit floats.
    F32,
    /// 64-bit floats.
    F64,
}

impl DtypeArg {
    /// The name as written in specs (`f32`, `f64`).
    pub fn name(self) -> &'static str {
        match self {
            DtypeArg::F32 => "f32",
            DtypeArg::F64 => "f64",
        }
    }
}

/// Override a spec value with a command-line option when the option was given.
pub fn set<T: Clone>(dst: &mut T, option: &Option<T>) {
    if let Some(v) = option {
        *dst = v.clone();
    }
}
