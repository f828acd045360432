//! [`WorkerPool`]: idle persistent workers of one command, shared by every batch of
//! an external simulator, integrand or log density (and by its clones), restarted
//! when they crash or hang.

use super::framed::{encode_request, Rows};
use super::mode::ProgramMode;
#[cfg(unix)]
use super::shm_worker::ShmWorker;
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
    #[cfg(unix)]
    idle_shm: Mutex<Vec<ShmWorker>>,
}

impl std::fmt::Debug for WorkerPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "WorkerPool {{ idle: {} }}", self.idle())
    }
}

impl WorkerPool {
    /// Idle workers of both transports.
    fn idle(&self) -> usize {
        let pipes = self.idle.lock().map_or(0, |w| w.len());
        #[cfg(unix)]
        let pipes = pipes + self.idle_shm.lock().map_or(0, |w| w.len());
        pipes
    }
}

/// One part of a call, as handed to a worker.
pub(crate) struct Part<'a> {
    /// The part's rows, `cols` values each.
    pub points: &'a [f64],
    /// Values per row sent.
    pub cols: usize,
    /// Values per row answered.
    pub out_cols: usize,
    /// The batch seed of the header.
    pub seed: u64,
    /// The batch index of the header.
    pub batch: usize,
    /// The transport (a persistent mode).
    pub mode: ProgramMode,
}

/// A persistent worker of one transport, as the pool drives it.
pub(crate) trait PoolWorker: Sized {
    /// Starts `command`.
    fn start(command: &[String]) -> Result<Self, String>;
    /// Sends one part (never blocks for long); `Err` when the worker is lost.
    fn send(&mut self, part: &Part<'_>) -> Result<(), WorkerFailure>;
    /// The answer to the oldest part in flight: `rows` rows of `cols` values.
    fn receive(
        &mut self,
        rows: usize,
        cols: usize,
        timeout: Option<Duration>,
    ) -> Result<Rows, WorkerFailure>;
    /// The pool's idle workers of this transport.
    fn idle(pool: &WorkerPool) -> &Mutex<Vec<Self>>;
}

impl PoolWorker for Worker {
    fn start(command: &[String]) -> Result<Self, String> {
        Worker::start(command)
    }

    /// Encodes the part (text, or `f64` in `persistent-f64` mode) and queues it; a
    /// closed stdin shows up in [`Worker::receive`].
    fn send(&mut self, part: &Part<'_>) -> Result<(), WorkerFailure> {
        let binary = part.mode == ProgramMode::PersistentF64;
        let bytes = encode_request(part.points, part.cols, part.seed, part.batch, binary);
        Worker::send(self, Arc::new(bytes));
        Ok(())
    }

    fn receive(
        &mut self,
        rows: usize,
        cols: usize,
        timeout: Option<Duration>,
    ) -> Result<Rows, WorkerFailure> {
        Worker::receive(self, rows, cols, timeout)
    }

    fn idle(pool: &WorkerPool) -> &Mutex<Vec<Self>> {
        &pool.idle
    }
}

#[cfg(unix)]
impl PoolWorker for ShmWorker {
    fn start(command: &[String]) -> Result<Self, String> {
        ShmWorker::start(command)
    }

    fn send(&mut self, part: &Part<'_>) -> Result<(), WorkerFailure> {
        ShmWorker::send(
            self,
            part.points,
            part.cols,
            part.out_cols,
            part.seed,
            part.batch,
        )
    }

    fn receive(
        &mut self,
        rows: usize,
        cols: usize,
        timeout: Option<Duration>,
    ) -> Result<Rows, WorkerFailure> {
        ShmWorker::receive(self, rows, cols, timeout)
    }

    fn idle(pool: &WorkerPool) -> &Mutex<Vec<Self>> {
        &pool.idle_shm
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

/// Most requests of one call in flight on its worker at once: the next part is
/// written while the worker computes the current one, and the previous answer is
/// read meanwhile.
const IN_FLIGHT: usize = 2;

/// One call of [`SharedPool::call`]: what to send and how to retry.
pub(crate) struct PoolCall<'a> {
    /// Program and arguments.
    pub command: &'a [String],
    /// Values per row sent.
    pub cols: usize,
    /// Values per row answered.
    pub out_cols: usize,
    /// The batch seed put in every request header.
    pub seed: u64,
    /// The batch index put in every request header.
    pub batch: usize,
    /// Longest wait for one answer (counted from when it is the oldest unanswered).
    pub timeout: Option<Duration>,
    /// Fresh workers started after lost ones, at most.
    pub retries: usize,
    /// The persistent mode: CSV text, little-endian `f64` on the pipe, or rows in a
    /// shared mapping.
    pub mode: ProgramMode,
    /// Requests the rows are split into (1: one request; more only for programs
    /// whose answer for a row depends on that row alone).
    pub parts: usize,
}

impl SharedPool {
    /// Sends `points` (`cols` values per row) to a worker as `parts` framed
    /// requests with the call's seed and batch index (text, little-endian `f64`, or
    /// rows in a shared mapping, by `call.mode`), at most [`IN_FLIGHT`] at once, and returns the answer rows
    /// (`out_cols` values each) of all parts in order.
    ///
    /// A lost worker (crash, no answer within `timeout`, out-of-step output) is
    /// replaced and every part not yet answered is sent again, up to `retries`
    /// fresh workers for the whole call; then the last failure is reported. An
    /// `ERR` or an answer of the wrong shape fails the call at once.
    pub(crate) fn call(&self, call: &PoolCall<'_>, points: &[f64]) -> Result<Rows, PoolError> {
        match call.mode {
            #[cfg(unix)]
            ProgramMode::PersistentShm => self.call_with::<ShmWorker>(call, points),
            #[cfg(not(unix))]
            ProgramMode::PersistentShm => Err(PoolError::CannotStart(
                "mode persistent-shm needs a Unix system (shared mappings and poll)".into(),
            )),
            _ => self.call_with::<Worker>(call, points),
        }
    }

    /// [`SharedPool::call`] with workers of transport `W`.
    fn call_with<W: PoolWorker>(
        &self,
        call: &PoolCall<'_>,
        points: &[f64],
    ) -> Result<Rows, PoolError> {
        let cols = call.cols.max(1);
        let rows = points.len() / cols;
        let parts = call.parts.clamp(1, rows.max(1));
        let part_rows = rows.div_ceil(parts).max(1);
        // (first row, rows) of each part, the first the largest.
        let spans: Vec<(usize, usize)> = (0..rows.div_ceil(part_rows).max(1))
            .map(|k| (k * part_rows, part_rows.min(rows - k * part_rows)))
            .collect();
        let mut answers: Vec<Rows> = Vec::with_capacity(spans.len());
        let mut worker: Option<W> = None;
        let mut sent = 0;
        let mut lost = 0;
        while answers.len() < spans.len() {
            let w = match worker.as_mut() {
                Some(w) => w,
                None => {
                    let taken = W::idle(&self.0)
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .pop();
                    let fresh = match taken {
                        Some(w) => w,
                        None => W::start(call.command).map_err(PoolError::CannotStart)?,
                    };
                    sent = answers.len();
                    worker.insert(fresh)
                }
            };
            let mut outcome = Ok(());
            while outcome.is_ok() && sent < spans.len() && sent < answers.len() + IN_FLIGHT {
                let (first, n) = spans[sent];
                outcome = w.send(&Part {
                    points: &points[first * cols..(first + n) * cols],
                    cols,
                    out_cols: call.out_cols,
                    seed: call.seed,
                    batch: call.batch,
                    mode: call.mode,
                });
                sent += 1;
            }
            let (first, n) = spans[answers.len()];
            let received = outcome.and_then(|()| w.receive(n, call.out_cols, call.timeout));
            match received {
                Ok(r) => answers.push(r),
                Err(WorkerFailure::Refused(message)) => {
                    let message = if spans.len() > 1 {
                        format!("rows {first}..{} of the batch: {message}", first + n)
                    } else {
                        message
                    };
                    // Answers still owed for the parts in flight behind this one
                    // are read (and dropped) so the worker is in step again.
                    let in_step = spans[answers.len() + 1..sent]
                        .iter()
                        .all(|&(_, n)| w.receive(n, call.out_cols, call.timeout).is_ok());
                    if in_step {
                        if let Some(w) = worker.take() {
                            self.give_back(w);
                        }
                    }
                    return Err(PoolError::Failed(message));
                }
                Err(WorkerFailure::Lost(message)) => {
                    lost += 1;
                    worker = None;
                    if lost > call.retries {
                        return Err(PoolError::Failed(format!(
                            "attempt {lost} of {}: {message}",
                            call.retries + 1
                        )));
                    }
                }
            }
        }
        if let Some(w) = worker {
            self.give_back(w);
        }
        Ok(concat(answers, call.out_cols))
    }

    /// Puts a worker that answered back among the idle ones.
    fn give_back<W: PoolWorker>(&self, worker: W) {
        W::idle(&self.0)
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(worker);
    }

    /// Idle workers right now (started and waiting).
    pub fn idle(&self) -> usize {
        self.0.idle()
    }
}

/// The rows of all parts, in order (as lines when a worker mixed text and binary
/// answers: `{}` formatting reads back to the same values).
fn concat(mut answers: Vec<Rows>, cols: usize) -> Rows {
    if answers.len() == 1 {
        return answers.pop().expect("one answer");
    }
    if answers.iter().all(|r| matches!(r, Rows::Values(_))) {
        return Rows::Values(
            answers
                .into_iter()
                .flat_map(|r| match r {
                    Rows::Values(v) => v,
                    Rows::Lines(_) => Vec::new(),
                })
                .collect(),
        );
    }
    Rows::Lines(
        answers
            .into_iter()
            .flat_map(|r| match r {
                Rows::Lines(lines) => lines,
                Rows::Values(values) => values
                    .chunks(cols.max(1))
                    .map(|row| {
                        let text: Vec<String> = row.iter().map(|v| format!("{v}")).collect();
                        text.join(",")
                    })
                    .collect::<Vec<_>>(),
            })
            .collect(),
    )
}
