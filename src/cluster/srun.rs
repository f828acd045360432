//! [`SrunExecutor`]: batches as job steps inside the Slurm allocation that flowinfer
//! itself runs in (`sbatch driver.sh` or `salloc`): each batch is
//! `srun --exclusive -N1 -n1 … flowinfer batch-task --work-dir W --batch k`, at most
//! `array_width` steps in flight, a failed step retried `retries` times.
//!
//! No job is queued per batch, so the batches start as soon as the allocation has a
//! free CPU — for allocations granted once (e.g. a reservation of many nodes) and for
//! clusters that limit job arrays.

use super::executor::{BatchCounts, Executor};
use super::local::run_queue;
use super::slurm::{slurm, stderr_tail};
use super::spec::ExecutorConfig;
use super::workdir::WorkDir;
use crate::error::{Error, Result};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

/// Runs batches as srun steps in the current allocation.
pub struct SrunExecutor {
    /// Width (`array_width`, else `parallel`, else the allocation's `SLURM_NTASKS`,
    /// else 1), time and memory per step, retries, extra arguments (`sbatch_args`
    /// are passed to srun too).
    pub config: ExecutorConfig,
    /// The `flowinfer` binary the steps run.
    pub program: PathBuf,
}

/// The id of the allocation flowinfer runs in, or an error saying how to get one.
///
/// ```
/// use flowinfer::cluster::allocation_id;
/// match std::env::var("SLURM_JOB_ID") {
///     Ok(id) => assert_eq!(allocation_id().unwrap(), id),
///     Err(_) => assert!(allocation_id().unwrap_err().to_string().contains("SLURM_JOB_ID")),
/// }
/// ```
pub fn allocation_id() -> Result<String> {
    match std::env::var("SLURM_JOB_ID") {
        Ok(id) if !id.trim().is_empty() => Ok(id.trim().to_string()),
        _ => Err(Error::config(
            "[executor] launch = \"srun\" starts job steps inside a Slurm allocation, but \
             SLURM_JOB_ID is not set: run flowinfer inside one (`sbatch driver.sh` or \
             `salloc … flowinfer …`), or use launch = \"array\" to submit a job array",
        )),
    }
}

impl SrunExecutor {
    /// Steps in flight at once.
    pub fn width(&self) -> usize {
        let c = &self.config;
        c.array_width
            .or(c.parallel)
            .or_else(|| {
                std::env::var("SLURM_NTASKS")
                    .ok()
                    .and_then(|n| n.trim().parse().ok())
            })
            .unwrap_or(1)
            .max(1)
    }

    /// The srun arguments of batch `k`.
    fn args(&self, work: &WorkDir, k: usize) -> Vec<String> {
        let logs = work.root().join("logs");
        let mut args = vec![
            "--exclusive".to_string(),
            "-N1".to_string(),
            "-n1".to_string(),
            format!("--job-name=flowinfer-batch-{k}"),
            format!("--output={}", logs.join(format!("batch-{k}.out")).display()),
            format!("--error={}", work.stderr_path(k).display()),
        ];
        for (flag, value) in [("time", &self.config.time), ("mem", &self.config.mem)] {
            if let Some(v) = value {
                args.push(format!("--{flag}={v}"));
            }
        }
        args.extend(self.config.sbatch_args.iter().cloned());
        args.push(self.program.display().to_string());
        args.extend([
            "batch-task".to_string(),
            "--work-dir".to_string(),
            work.root().display().to_string(),
            "--batch".to_string(),
            k.to_string(),
        ]);
        args
    }

    /// Runs batch `k` as one step and reads its results back.
    fn run_one(&self, work: &WorkDir, k: usize) -> Result<(usize, usize)> {
        let args = self.args(work, k);
        let status = Command::new("srun")
            .args(&args)
            .stdin(std::process::Stdio::null())
            .status()
            .map_err(|e| Error::config(format!("cannot run `srun`: {e}")))?;
        let rows = work.read_results(k).map_err(|e| {
            Error::config(format!(
                "srun step for batch {k} ({status}) left no results ({e}; {})",
                stderr_tail(&work.stderr_path(k))
            ))
        })?;
        let bad = rows.iter().filter(|r| r.is_err()).count();
        Ok((rows.len(), bad))
    }
}

impl Executor for SrunExecutor {
    fn name(&self) -> &'static str {
        "srun"
    }

    fn run(
        &self,
        work: &WorkDir,
        batches: &[usize],
        already_done: usize,
        progress: &(dyn Fn(BatchCounts) + Sync),
    ) -> Result<BTreeMap<usize, String>> {
        allocation_id()?;
        slurm("srun", &["--version".to_string()])?;
        let mut log =
            std::fs::read_to_string(work.root().join("submissions.log")).unwrap_or_default();
        log.push_str(&format!(
            "srun {} width {}\n",
            super::slurm::array_spec(batches),
            self.width()
        ));
        crate::atomic::write_atomic(&work.root().join("submissions.log"), log.as_bytes())?;
        run_queue(
            work,
            batches,
            already_done,
            self.width(),
            self.config.retries,
            progress,
            &|k| self.run_one(work, k),
        )
    }
}
