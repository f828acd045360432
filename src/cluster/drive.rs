//! [`run_rows`]: the driver shared by [`ClusterSimulator`](super::ClusterSimulator)
//! and [`ClusterIntegrand`](super::ClusterIntegrand) — a batched function of rows
//! computed through an executor: the input rows become batch files in a
//! [`WorkDir`], the batches not already done run on the configured executor, and
//! every batch's results are read back in order.

use super::executor::{BatchCounts, Executor};
use super::function::RowFunction;
use super::local::LocalExecutor;
use super::slurm::SlurmExecutor;
use super::spec::{ExecutorConfig, ExecutorKind, SlurmLaunch};
use super::srun::SrunExecutor;
use super::workdir::{Plan, SimRow, WorkDir};
use crate::error::{Error, Result};
use std::path::Path;

/// What [`run_rows`] returns.
#[derive(Debug)]
pub struct RowsRun {
    /// One result per input row, in order.
    pub rows: Vec<SimRow>,
    /// The batches computed by this call (the others were reused from the work
    /// directory).
    pub ran: Vec<usize>,
}

/// The `flowinfer` binary that Slurm tasks run.
fn this_program() -> Result<std::path::PathBuf> {
    std::env::current_exe()
        .map_err(|e| Error::config(format!("cannot find the flowinfer binary: {e}")))
}

/// Computes `inputs` (the rows of `plan`) through the executor of `exec`, with the
/// batch files in `work_dir` (module docs). With `resume`, batches of an earlier run
/// of the same plan whose results read back and whose input file holds the same rows
/// are reused; without, an old work directory is emptied ([`WorkDir::prepare`]).
/// `local` is the function the local executor calls (Slurm tasks rebuild it from the
/// plan); `parallel` the local executor's default number of batches at once.
/// Errors name the failed batches (at most five) and where the others are kept.
///
/// ```
/// use flowinfer::cluster::{run_rows, BatchFunction, ExecutorConfig, Plan};
/// use flowinfer::integrate::IntegrandConfig;
///
/// let dir = std::env::temp_dir().join(format!("flowinfer-doc-rows-{}", std::process::id()));
/// let function = BatchFunction::Integrand(IntegrandConfig {
///     name: Some("camel".into()),
///     dim: Some(2),
///     ..Default::default()
/// });
/// let inputs: Vec<Vec<f64>> = (0..10).map(|i| vec![i as f64 / 10.0, 0.5]).collect();
/// let plan = Plan { function: function.clone(), rows: 10, seed: 0, batch_size: 4 };
/// let exec = ExecutorConfig::default();
/// let local = function.build()?;
/// let run = run_rows(&dir, plan.clone(), &inputs, &exec, false, local.as_ref(), 1)?;
/// assert_eq!((run.rows.len(), run.ran.clone()), (10, vec![0, 1, 2]));
/// // Resumed: the three batches are read back, none is computed again.
/// let again = run_rows(&dir, plan, &inputs, &exec, true, local.as_ref(), 1)?;
/// assert!(again.ran.is_empty());
/// assert_eq!(again.rows, run.rows);
/// # std::fs::remove_dir_all(&dir).ok();
/// # Ok::<(), flowinfer::Error>(())
/// ```
pub fn run_rows(
    work_dir: &Path,
    plan: Plan,
    inputs: &[Vec<f64>],
    exec: &ExecutorConfig,
    resume: bool,
    local: &dyn RowFunction,
    parallel: usize,
) -> Result<RowsRun> {
    if inputs.len() != plan.rows {
        return Err(Error::config(format!(
            "the plan has {} rows, {} were given",
            plan.rows,
            inputs.len()
        )));
    }
    let work = WorkDir::prepare(work_dir, plan, resume)?;
    let plan = work.plan().clone();
    let done = work.done();
    let mut todo = Vec::new();
    for k in 0..plan.batches() {
        let rows = &inputs[plan.range(k)];
        if done.contains(&k) && work.params_match(k, rows) {
            continue;
        }
        work.write_params(k, rows)?;
        todo.push(k);
    }
    let hook = exec.progress.clone();
    let progress = move |c: BatchCounts| {
        if let Some(h) = &hook {
            h.report(c)
        }
    };
    let already = plan.batches() - todo.len();
    let failed = if todo.is_empty() {
        progress(BatchCounts {
            total: plan.batches(),
            done: already,
            ..BatchCounts::default()
        });
        Default::default()
    } else {
        match (exec.kind, exec.launch) {
            (ExecutorKind::Local, _) => LocalExecutor {
                function: local,
                parallel: exec.parallel.unwrap_or(parallel),
                retries: exec.retries,
            }
            .run(&work, &todo, already, &progress)?,
            (ExecutorKind::Slurm, SlurmLaunch::Array) => SlurmExecutor {
                config: exec.clone(),
                program: this_program()?,
            }
            .run(&work, &todo, already, &progress)?,
            (ExecutorKind::Slurm, SlurmLaunch::Srun) => SrunExecutor {
                config: exec.clone(),
                program: this_program()?,
            }
            .run(&work, &todo, already, &progress)?,
        }
    };
    if !failed.is_empty() {
        let list: Vec<String> = failed
            .iter()
            .take(5)
            .map(|(k, r)| format!("batch {k}: {r}"))
            .collect();
        return Err(Error::config(format!(
            "{} of {} {} batches failed; the {} others are kept in {} (rerun with \
             --resume to retry only the failed ones): {}",
            failed.len(),
            plan.batches(),
            plan.function.what(),
            plan.batches() - failed.len(),
            work_dir.display(),
            list.join("; ")
        )));
    }
    let mut rows = Vec::with_capacity(inputs.len());
    for k in 0..plan.batches() {
        rows.extend(work.read_results(k)?);
    }
    Ok(RowsRun { rows, ran: todo })
}

/// `local`, `slurm` or `srun`, for messages.
pub fn executor_label(exec: &ExecutorConfig) -> &'static str {
    match (exec.kind, exec.launch) {
        (ExecutorKind::Local, _) => "local",
        (ExecutorKind::Slurm, SlurmLaunch::Array) => "slurm",
        (ExecutorKind::Slurm, SlurmLaunch::Srun) => "slurm (srun)",
    }
}
