//! [`ExecutorConfig`]: the `[executor]` section of a `flowinfer sbi` or `flowinfer
//! integrate` spec — where the simulation or integrand batches run (this machine or
//! a Slurm cluster), where their files go, and how often a failed batch is retried.
//!
//! ```toml
//! [executor]
//! kind = "slurm"              # local | slurm
//! launch = "array"            # slurm: "array" (sbatch --array) or "srun" (job steps
//!                             # inside the allocation flowinfer runs in)
//! work_dir = "runs/sir.work"  # default: <out>.work next to the run directory
//! batch_size = 1000           # rows per batch file (default: the external
//!                             # simulator's batch_size, else 1000)
//! retries = 2                 # re-runs of a failed batch before it is reported
//! parallel = 2                # local: batches at once (default 1; an external
//!                             # simulator's `parallel` when it has one)
//! partition = "debug"         # slurm: sbatch --partition
//! time = "00:30:00"           # slurm: sbatch --time (per array task)
//! mem = "2G"                  # slurm: sbatch --mem (per array task)
//! array_width = 50            # slurm: most array tasks (or srun steps) running at once
//! sbatch_args = ["--account=myproj"]  # slurm: anything else for sbatch
//! poll_s = 1.0                # slurm: seconds between squeue polls
//! keep = false                # integrate: keep the batch files after a finished run
//! ```

use super::executor::ProgressHook;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Where simulation batches run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ExecutorKind {
    /// In this process, `parallel` batches at once.
    #[default]
    Local,
    /// As a Slurm job array submitted with `sbatch`, one array task per batch.
    Slurm,
}

/// How the Slurm executor starts its batches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum SlurmLaunch {
    /// One job array submitted with `sbatch` ([`SlurmExecutor`](super::SlurmExecutor)).
    #[default]
    Array,
    /// Job steps (`srun --exclusive -N1 -n1 …`) inside the Slurm allocation that
    /// flowinfer itself runs in ([`SrunExecutor`](super::SrunExecutor)).
    Srun,
}

/// The `[executor]` section (module docs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExecutorConfig {
    /// Local or Slurm.
    pub kind: ExecutorKind,
    /// Slurm: a job array (default) or srun steps inside the current allocation.
    #[serde(skip_serializing_if = "is_array")]
    pub launch: SlurmLaunch,
    /// Work directory holding the batch files and the manifest (default `<out>.work`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub work_dir: Option<PathBuf>,
    /// Rows per batch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batch_size: Option<usize>,
    /// Re-runs of a failed batch before the run fails naming it.
    pub retries: usize,
    /// Local: batches at once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parallel: Option<usize>,
    /// Slurm: partition.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partition: Option<String>,
    /// Slurm: time limit per array task (`sbatch --time`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    /// Slurm: memory per array task (`sbatch --mem`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mem: Option<String>,
    /// Slurm: most array tasks (or srun steps) running at once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub array_width: Option<usize>,
    /// Slurm: further `sbatch` arguments.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sbatch_args: Vec<String>,
    /// Slurm: seconds between polls of `squeue`.
    pub poll_s: f64,
    /// `flowinfer integrate`: keep every call's batch files after the run finished
    /// (default: they are removed then, keeping each call's `plan.json` and
    /// `manifest.json`; `--keep-work-dir`). `flowinfer sbi` always keeps them.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub keep: bool,
    /// Keep the batches already done in the work directory and run only the missing
    /// ones (`flowinfer sbi --resume`; not part of a spec file).
    #[serde(skip)]
    pub resume: bool,
    /// Sees the batch counts whenever they change (set by the command line).
    #[serde(skip)]
    pub progress: Option<ProgressHook>,
}

impl Default for ExecutorConfig {
    fn default() -> Self {
        Self {
            kind: ExecutorKind::Local,
            launch: SlurmLaunch::Array,
            work_dir: None,
            batch_size: None,
            retries: 2,
            parallel: None,
            partition: None,
            time: None,
            mem: None,
            array_width: None,
            sbatch_args: Vec::new(),
            poll_s: 1.0,
            keep: false,
            resume: false,
            progress: None,
        }
    }
}

fn is_array(l: &SlurmLaunch) -> bool {
    *l == SlurmLaunch::Array
}

impl ExecutorConfig {
    /// Checks the values serde cannot (positive sizes and poll interval).
    ///
    /// ```
    /// use flowinfer::cluster::ExecutorConfig;
    /// let mut c = ExecutorConfig::default();
    /// assert!(c.validate().is_ok());
    /// c.batch_size = Some(0);
    /// assert!(c.validate().unwrap_err().to_string().contains("[executor] batch_size"));
    /// ```
    pub fn validate(&self) -> Result<()> {
        for (name, v) in [
            ("batch_size", self.batch_size),
            ("parallel", self.parallel),
            ("array_width", self.array_width),
        ] {
            if v == Some(0) {
                return Err(Error::config(format!(
                    "[executor] {name} must be at least 1, got 0"
                )));
            }
        }
        if !(self.poll_s.is_finite() && self.poll_s > 0.0) {
            return Err(Error::config(format!(
                "[executor] poll_s must be positive, got {}",
                self.poll_s
            )));
        }
        Ok(())
    }
}
