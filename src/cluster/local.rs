//! [`LocalExecutor`]: batches run in this process, `parallel` at once, each retried
//! up to `retries` times — and [`run_queue`], the bounded, retrying queue it shares
//! with the `srun` launcher ([`SrunExecutor`](super::SrunExecutor)).

use super::batch::run_batch;
use super::executor::{BatchCounts, Executor};
use super::function::RowFunction;
use super::workdir::WorkDir;
use crate::error::Result;
use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;

/// Runs batches on this machine with an already built function.
pub struct LocalExecutor<'a> {
    /// The simulator or integrand (the plan's, built once).
    pub function: &'a dyn RowFunction,
    /// Batches at once.
    pub parallel: usize,
    /// Re-runs of a failed batch.
    pub retries: usize,
}

/// Shared state of a queue.
struct State {
    queue: VecDeque<(usize, usize)>,
    counts: BatchCounts,
    failed: BTreeMap<usize, String>,
}

/// Runs `batches` of `work` with `run_one` on `parallel` threads: a batch whose
/// `run_one` fails goes to the back of the queue, at most `retries` times, then is
/// recorded as failed (manifest and returned map); a finished one is recorded as
/// done. `progress` sees the counts whenever they change.
pub fn run_queue(
    work: &WorkDir,
    batches: &[usize],
    already_done: usize,
    parallel: usize,
    retries: usize,
    progress: &(dyn Fn(BatchCounts) + Sync),
    run_one: &(dyn Fn(usize) -> Result<(usize, usize)> + Sync),
) -> Result<BTreeMap<usize, String>> {
    let state = Mutex::new(State {
        queue: batches.iter().map(|&k| (k, 0)).collect(),
        counts: BatchCounts {
            total: already_done + batches.len(),
            pending: batches.len(),
            done: already_done,
            ..BatchCounts::default()
        },
        failed: BTreeMap::new(),
    });
    let lock = || state.lock().unwrap_or_else(|p| p.into_inner());
    progress(lock().counts);
    let manifest_error: Mutex<Option<crate::Error>> = Mutex::new(None);
    let worker = || loop {
        let (k, attempt) = {
            let mut s = lock();
            let Some(next) = s.queue.pop_front() else {
                break;
            };
            s.counts.pending -= 1;
            s.counts.running += 1;
            progress(s.counts);
            next
        };
        let result = run_one(k).and_then(|(rows, bad)| work.mark_done(k, rows, bad));
        let mut s = lock();
        s.counts.running -= 1;
        match result {
            Ok(()) => s.counts.done += 1,
            Err(_) if attempt < retries => {
                s.queue.push_back((k, attempt + 1));
                s.counts.pending += 1;
            }
            Err(e) => {
                let reason = format!("{e} (after {} attempts)", attempt + 1);
                if let Err(m) = work.mark_failed(k, &reason) {
                    manifest_error
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .get_or_insert(m);
                }
                s.failed.insert(k, reason);
                s.counts.failed += 1;
            }
        }
        progress(s.counts);
    };
    let n = parallel.clamp(1, batches.len().max(1));
    std::thread::scope(|scope| {
        for _ in 0..n {
            scope.spawn(worker);
        }
    });
    if let Some(e) = manifest_error
        .into_inner()
        .unwrap_or_else(|p| p.into_inner())
    {
        return Err(e);
    }
    Ok(state.into_inner().unwrap_or_else(|p| p.into_inner()).failed)
}

impl Executor for LocalExecutor<'_> {
    fn name(&self) -> &'static str {
        "local"
    }

    fn run(
        &self,
        work: &WorkDir,
        batches: &[usize],
        already_done: usize,
        progress: &(dyn Fn(BatchCounts) + Sync),
    ) -> Result<BTreeMap<usize, String>> {
        run_queue(
            work,
            batches,
            already_done,
            self.parallel,
            self.retries,
            progress,
            &|k| run_batch(work, self.function, k),
        )
    }
}
