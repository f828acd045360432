//! One batch of a work directory, computed: what the local executor does in
//! process and what each Slurm task does (`flowinfer batch-task`).

use super::function::RowFunction;
use super::workdir::WorkDir;
use crate::error::{Error, Result};

/// Computes batch `k` of `work` with `function` (for a simulator: the seeds and row
/// indices of the whole run, [`Simulator::simulate_rows_at`]) and writes its results
/// file. Returns the batch's row count and failed-row count. The batch fails (`Err`,
/// nothing written) when the function reports a whole-batch error (e.g. an external
/// program's failure limit, an integrand program that wrote the wrong number of
/// values) or when every row failed (a crashed simulator, a wrong row count).
///
/// [`Simulator::simulate_rows_at`]: flowinfer_simulators::Simulator::simulate_rows_at
pub fn run_batch(work: &WorkDir, function: &dyn RowFunction, k: usize) -> Result<(usize, usize)> {
    let plan = work.plan();
    if k >= plan.batches() {
        return Err(Error::config(format!(
            "batch {k} does not exist: the work directory {} has {} batches",
            work.root().display(),
            plan.batches()
        )));
    }
    let inputs = work.read_params(k)?;
    let rows = function.rows_at(&inputs, plan.seed, plan.range(k).start)?;
    if rows.len() != inputs.len() {
        return Err(Error::config(format!(
            "batch {k}: `{}` returned {} rows for {} input rows",
            function.name(),
            rows.len(),
            inputs.len()
        )));
    }
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
/// simulator or integrand from `plan.json` and runs batch `k` (errors go to stderr,
/// so to the task's log).
pub fn run_batch_task(root: &std::path::Path, k: usize) -> Result<(usize, usize)> {
    let work = WorkDir::open(root)?;
    let function = work.plan().function.build()?;
    run_batch(&work, function.as_ref(), k)
}
