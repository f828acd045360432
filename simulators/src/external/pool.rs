//! [`WorkerPool`]: idle persistent workers of one command, shared by every batch of
//! an external simulator, integrand or log density (and by its clones), restarted
//! when they crash or hang.

use super::framed::{encode_request, Rows};
use super::worker::{Worker, WorkerFailure};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Why a pooled call failed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum PoolError {
    /// The program cannot be started at all (missing, not executable).
    CannotStart(String),
    /// The batch failed: refused, or the worker was lost on every attempt.
    Failed(String),
}

/// Idle workers waiting for a batch; a call takes one (or starts one) and puts it
/// back when it answered. Comparing two pools always says equal: they are runtime
/// state, not settings.
#[derive(Default)]
pub struct WorkerPool {
    idle: Mutex<Vec<Worker>>,
}

impl std::fmt::Debug for WorkerPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let idle = self.idle.lock().map_or(0, |w| w.len());
        write!(f, "WorkerPool {{ idle: {idle} }}")
    }
}

/// A pool shared between clones of an external program's settings.
#[derive(Debug, Default, Clone)]
pub struct SharedPool(Arc<WorkerPool>);

impl PartialEq for SharedPool {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl SharedPool {
    /// Sends `points` (`cols` values per row) as one framed batch with `seed` and
    /// `batch` (text, or little-endian `f64` when `binary`), and returns the `rows`
    /// answer rows of `out_cols` values each. A lost
    /// worker (crash, no answer within `timeout`, out-of-step output) is replaced and
    /// the batch retried up to `retries` times; the last failure is reported.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn call(
        &self,
        command: &[String],
        points: &[f64],
        cols: usize,
        out_cols: usize,
        seed: u64,
        batch: usize,
        timeout: Option<Duration>,
        retries: usize,
        binary: bool,
    ) -> Result<Rows, PoolError> {
        let rows = points.len() / cols.max(1);
        let request = Arc::new(encode_request(points, cols, seed, batch, binary));
        let mut last = String::new();
        for attempt in 0..=retries {
            let taken = self.0.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
            let mut worker = match taken {
                Some(w) => w,
                None => Worker::start(command).map_err(PoolError::CannotStart)?,
            };
            match worker.call(Arc::clone(&request), rows, out_cols, timeout) {
                Ok(lines) => {
                    self.give_back(worker);
                    return Ok(lines);
                }
                Err(WorkerFailure::Refused(message)) => {
                    self.give_back(worker);
                    return Err(PoolError::Failed(message));
                }
                Err(WorkerFailure::Lost(message)) => {
                    last = format!("attempt {} of {}: {message}", attempt + 1, retries + 1);
                }
            }
        }
        Err(PoolError::Failed(last))
    }

    /// Puts a worker that answered back among the idle ones.
    fn give_back(&self, worker: Worker) {
        self.0
            .idle
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(worker);
    }

    /// Idle workers right now (started and waiting).
    pub fn idle(&self) -> usize {
        self.0.idle.lock().map_or(0, |w| w.len())
    }
}
