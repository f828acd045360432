//! The [`Executor`] trait: something that runs simulation batches stored in a
//! [`WorkDir`] — in this process ([`LocalExecutor`](super::LocalExecutor)) or as a
//! Slurm job array ([`SlurmExecutor`](super::SlurmExecutor)) — and the batch
//! counts it reports while doing so.

use super::workdir::WorkDir;
use crate::error::Result;
use std::collections::BTreeMap;
use std::sync::Arc;

/// How many batches of a run are in each state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchCounts {
    /// Batches in the run.
    pub total: usize,
    /// Waiting to run (including those waiting for a retry).
    pub pending: usize,
    /// Running now.
    pub running: usize,
    /// Finished, results on disk (including those reused by `--resume`).
    pub done: usize,
    /// Failed for good (retries used up).
    pub failed: usize,
}

impl std::fmt::Display for BatchCounts {
    /// `pending 3  running 2  done 10  failed 0`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "pending {}  running {}  done {}  failed {}",
            self.pending, self.running, self.done, self.failed
        )
    }
}

/// A callback that sees the batch counts whenever they change.
#[derive(Clone)]
pub struct ProgressHook(pub Arc<dyn Fn(BatchCounts) + Send + Sync>);

impl ProgressHook {
    /// Wraps `f`.
    pub fn new(f: impl Fn(BatchCounts) + Send + Sync + 'static) -> Self {
        Self(Arc::new(f))
    }

    /// Reports `counts`.
    pub fn report(&self, counts: BatchCounts) {
        (self.0)(counts)
    }
}

impl std::fmt::Debug for ProgressHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ProgressHook")
    }
}

impl PartialEq for ProgressHook {
    /// Hooks are runtime state, not settings: always equal.
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// Runs batches of a [`WorkDir`].
pub trait Executor {
    /// `local` or `slurm`, for messages.
    fn name(&self) -> &'static str;

    /// Runs `batches` (indices into the work directory's plan), writing each one's
    /// results into the work directory and recording it in the manifest as it
    /// finishes. A failed batch is retried up to the executor's retry count; the
    /// returned map names every batch that still failed, with the reason (its stderr
    /// tail). `Err` is for failures of the executor itself (e.g. `sbatch` refusing
    /// the job). `progress` sees the counts (`done` starts at `already_done`).
    fn run(
        &self,
        work: &WorkDir,
        batches: &[usize],
        already_done: usize,
        progress: &(dyn Fn(BatchCounts) + Sync),
    ) -> Result<BTreeMap<usize, String>>;
}
