//! One batch of a work directory, simulated: what the local executor does in
//! process and what each Slurm array task does (`flowinfer batch-task`).

use super::workdir::WorkDir;
use crate::error::{Error, Result};
use flowinfer_simulators::Simulator;

/// Simulates batch `k` of `work` with `sim` (seeds and row indices of the whole
/// run, [`Simulator::simulate_rows_at`]) and writes its results file. Returns the
/// batch's row count and failed-row count. The batch fails (`Err`, nothing written)
/// when the simulator reports a whole-batch error (e.g. an external program's failure
/// limit) or when every row failed (a crashed program, a wrong row count).
pub fn run_batch(work: &WorkDir, sim: &dyn Simulator, k: usize) -> Result<(usize, usize)> {
    let plan = work.plan();
    if k >= plan.batches() {
        return Err(Error::config(format!(
            "batch {k} does not exist: the work directory {} has {} batches",
            work.root().display(),
            plan.batches()
        )));
    }
    let thetas = work.read_params(k)?;
    let rows = sim.simulate_rows_at(&thetas, plan.seed, plan.range(k).start)?;
    let failed = rows.iter().filter(|r| r.is_err()).count();
    if !rows.is_empty() && failed == rows.len() {
        let first = rows.into_iter().find_map(|r| r.err());
        return Err(Error::config(format!(
            "batch {k}: all {failed} rows failed; first: {}",
            first.map(|f| f.to_string()).unwrap_or_default()
        )));
    }
    work.write_results(k, &rows)?;
    Ok((rows.len(), failed))
}

/// `flowinfer batch-task`: opens the work directory at `root`, rebuilds its
/// simulator and runs batch `k` (errors go to stderr, so to the task's log).
pub fn run_batch_task(root: &std::path::Path, k: usize) -> Result<(usize, usize)> {
    let work = WorkDir::open(root)?;
    let sim = work.plan().simulator.build()?;
    run_batch(&work, sim.as_ref(), k)
}
