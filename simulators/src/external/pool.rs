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
    /// Rows as little-endian `f64` rather than CSV text.
    pub binary: bool,
    /// Requests the rows are split into (1: one request; more only for programs
    /// whose answer for a row depends on that row alone).
    pub parts: usize,
}

impl SharedPool {
    /// Sends `points` (`cols` values per row) to a worker as `parts` framed
    /// requests with the call's seed and batch index (text, or little-endian `f64`
    /// when `binary`), at most [`IN_FLIGHT`] at once, and returns the answer rows
    /// (`out_cols` values each) of all parts in order.
    ///
    /// A lost worker (crash, no answer within `timeout`, out-of-step output) is
    /// replaced and every part not yet answered is sent again, up to `retries`
    /// fresh workers for the whole call; then the last failure is reported. An
    /// `ERR` or an answer of the wrong shape fails the call at once.
    pub(crate) fn call(&self, call: &PoolCall<'_>, points: &[f64]) -> Result<Rows, PoolError> {
        let cols = call.cols.max(1);
        let rows = points.len() / cols;
        let parts = call.parts.clamp(1, rows.max(1));
        let part_rows = rows.div_ceil(parts).max(1);
        // (first row, rows) of each part; encoded when first sent, so that a part
        // is encoded while the worker computes the one before.
        let spans: Vec<(usize, usize)> = (0..rows.div_ceil(part_rows).max(1))
            .map(|k| (k * part_rows, part_rows.min(rows - k * part_rows)))
            .collect();
        let mut encoded: Vec<Option<Arc<Vec<u8>>>> = vec![None; spans.len()];
        let mut answers: Vec<Rows> = Vec::with_capacity(spans.len());
        let mut worker: Option<Worker> = None;
        let mut sent = 0;
        let mut lost = 0;
        while answers.len() < spans.len() {
            let w = match worker.as_mut() {
                Some(w) => w,
                None => {
                    let taken = self.0.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
                    let fresh = match taken {
                        Some(w) => w,
                        None => Worker::start(call.command).map_err(PoolError::CannotStart)?,
                    };
                    sent = answers.len();
                    worker.insert(fresh)
                }
            };
            while sent < spans.len() && sent < answers.len() + IN_FLIGHT {
                let (first, n) = spans[sent];
                let bytes = encoded[sent].get_or_insert_with(|| {
                    let part = &points[first * cols..(first + n) * cols];
                    Arc::new(encode_request(
                        part,
                        cols,
                        call.seed,
                        call.batch,
                        call.binary,
                    ))
                });
                w.send(Arc::clone(bytes));
                sent += 1;
            }
            let (first, n) = spans[answers.len()];
            match w.receive(n, call.out_cols, call.timeout) {
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
