//! One batch through an external program in either [`ProgramMode`]: a one-shot run
//! (rows on stdin, environment `FLOWINFER_SEED`/`FLOWINFER_BATCH`) or a framed
//! request to a pooled persistent worker. The simulator, the integrand and the log
//! density all go through [`call_program`], so both modes see the same batches and
//! seeds.

use super::framed::Rows;
use super::mode::ProgramMode;
use super::pool::{PoolCall, PoolError, SharedPool};
use super::process::run_program;
use super::wire::{format_rows, output_lines};
use std::sync::Arc;
use std::time::Duration;

/// How to run the program for one batch.
pub(crate) struct ProgramCall<'a> {
    /// Program and arguments.
    pub command: &'a [String],
    /// One-shot or persistent.
    pub mode: ProgramMode,
    /// The persistent workers (unused in one-shot mode).
    pub pool: &'a SharedPool,
    /// Longest wait for one batch.
    pub timeout: Option<Duration>,
    /// Retries of a batch whose program run crashed or timed out (one-shot) or whose
    /// persistent worker was lost.
    pub retries: usize,
    /// Persistent modes: framed requests the batch is split into, so that one is
    /// written while the worker computes another (see [`pipeline_parts`]); 1 for
    /// programs whose rows share a seed (simulators).
    pub parts: usize,
}

/// Fewest rows per pipelined part: smaller batches go as one request.
pub(crate) const MIN_PART_ROWS: usize = 512;

/// Parts a batch of `rows` rows is split into in the persistent modes when each
/// row's answer depends on that row alone (integrands, log densities): 2 when
/// both halves have at least [`MIN_PART_ROWS`] rows, else 1.
pub(crate) fn pipeline_parts(rows: usize) -> usize {
    if rows >= 2 * MIN_PART_ROWS {
        2
    } else {
        1
    }
}

/// Why a batch produced no output lines.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum CallError {
    /// The program cannot be started (the message names it).
    CannotStart(String),
    /// The run failed: exit status, signal, timeout, lost worker, `ERR` (the message
    /// quotes the stderr tail but not the command).
    Failed(String),
}

/// The output rows of one batch and the program's stderr tail (for messages).
pub(crate) struct Answer {
    /// Output rows (one-shot: whatever lines stdout held; persistent: exactly the
    /// requested rows, as lines or, in `persistent-f64` and `persistent-shm` mode,
    /// values).
    pub rows: Rows,
    /// `stderr: <last lines>` (one-shot) or empty (persistent workers quote their
    /// stderr in failures only).
    pub stderr_tail: String,
}

impl ProgramCall<'_> {
    /// Runs `points` (`cols` values per row) as batch `batch` with `seed`; answers
    /// should have `out_cols` values per line.
    pub fn run(
        &self,
        points: &[f64],
        cols: usize,
        out_cols: usize,
        seed: u64,
        batch: usize,
    ) -> Result<Answer, CallError> {
        match self.mode {
            ProgramMode::Oneshot => {
                // Shared by the attempts (the writer thread of each run holds a reference).
                let input = Arc::new(format_rows(points.chunks(cols.max(1))));
                let env = [
                    ("FLOWINFER_SEED", seed.to_string()),
                    ("FLOWINFER_BATCH", batch.to_string()),
                    ("FLOWINFER_MODE", "oneshot".to_string()),
                ];
                // A run that crashed (non-zero status, signal) or timed out is run
                // again, at most `retries` times, as a lost persistent worker is.
                let attempts = self.retries + 1;
                let mut attempt = 0;
                loop {
                    attempt += 1;
                    let finished =
                        run_program(self.command, &env, Arc::clone(&input), self.timeout)
                            .map_err(CallError::CannotStart)?;
                    match finished.failure() {
                        None => {
                            return Ok(Answer {
                                rows: Rows::Lines(output_lines(&finished.stdout)),
                                stderr_tail: finished.stderr_tail(),
                            })
                        }
                        Some(reason) if attempt >= attempts => {
                            return Err(CallError::Failed(if attempts > 1 {
                                format!("attempt {attempt} of {attempts}: {reason}")
                            } else {
                                reason
                            }))
                        }
                        Some(_) => {}
                    }
                }
            }
            ProgramMode::Persistent | ProgramMode::PersistentF64 | ProgramMode::PersistentShm => {
                self.pool
                    .call(
                        &PoolCall {
                            command: self.command,
                            cols,
                            out_cols,
                            seed,
                            batch,
                            timeout: self.timeout,
                            retries: self.retries,
                            mode: self.mode,
                            parts: self.parts,
                        },
                        points,
                    )
                    .map(|rows| Answer {
                        rows,
                        stderr_tail: String::new(),
                    })
                    .map_err(|e| match e {
                        PoolError::CannotStart(m) => CallError::CannotStart(m),
                        PoolError::Failed(m) => CallError::Failed(m),
                    })
            }
        }
    }
}
