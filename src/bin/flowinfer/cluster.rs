//! The executor options of `flowinfer sbi` and `flowinfer integrate` (`--executor`,
//! `--work-dir`, `--resume`, Slurm settings) and `flowinfer batch-task`, the command
//! each Slurm task runs.

use crate::progress;
use flowinfer::cluster::{run_batch_task, ExecutorConfig, ExecutorKind, ProgressHook, SlurmLaunch};
use indicatif::ProgressBar;
use std::path::PathBuf;

/// Where `flowinfer sbi` runs its simulations, or `flowinfer integrate` its integrand
/// batches (overrides the spec's `[executor]`; any of these turns batch files on).
#[derive(clap::Args, Debug, Clone)]
pub struct ExecutorArgs {
    /// Run the simulation (or integrand) batches here (local) or on Slurm (slurm), as
    /// files in a work directory (docs/CLUSTER.md).
    #[arg(long, value_enum)]
    executor: Option<ExecutorKind>,
    /// Slurm: submit a job array (array, the default) or start srun steps inside the
    /// allocation flowinfer runs in (srun; needs SLURM_JOB_ID).
    #[arg(long, value_enum)]
    launch: Option<SlurmLaunch>,
    /// Work directory of the batch files (default: the spec's, else OUT.work).
    #[arg(long)]
    work_dir: Option<PathBuf>,
    /// Keep the finished batches of an interrupted run in the work directory and
    /// compute only the missing ones (same spec and seed required).
    #[arg(long)]
    resume: bool,
    /// Rows per batch file (default: the external simulator's or integrand command's
    /// batch_size, else 1000).
    #[arg(long, alias = "batch-rows")]
    sim_batch: Option<usize>,
    /// Slurm: partition (sbatch --partition).
    #[arg(long)]
    partition: Option<String>,
    /// Slurm: time limit per array task, e.g. 00:30:00 (sbatch --time).
    #[arg(long)]
    time: Option<String>,
    /// Slurm: memory per array task, e.g. 2G (sbatch --mem).
    #[arg(long)]
    mem: Option<String>,
    /// Slurm: most array tasks (or srun steps) running at once (sbatch --array=…%N).
    #[arg(long)]
    array_width: Option<usize>,
    /// integrate: keep the integrand's batch files in the work directory after the
    /// run finished (default: removed, keeping each call's plan.json and
    /// manifest.json; spec: [executor] keep = true).
    #[arg(long)]
    keep_work_dir: bool,
}

impl ExecutorArgs {
    /// Puts the options into `executor` (creating it when any is given) and, when
    /// there is an executor, returns a bar over the batches fed by its progress
    /// (hidden with `quiet`).
    pub fn apply(
        &self,
        executor: &mut Option<ExecutorConfig>,
        quiet: bool,
    ) -> anyhow::Result<Option<ProgressBar>> {
        let any = self.executor.is_some()
            || self.launch.is_some()
            || self.work_dir.is_some()
            || self.resume
            || self.sim_batch.is_some()
            || self.partition.is_some()
            || self.time.is_some()
            || self.mem.is_some()
            || self.array_width.is_some()
            || self.keep_work_dir;
        if any && executor.is_none() {
            *executor = Some(ExecutorConfig::default());
        }
        let Some(e) = executor.as_mut() else {
            return Ok(None);
        };
        if let Some(k) = self.executor {
            e.kind = k;
        }
        if let Some(l) = self.launch {
            e.launch = l;
        }
        for (dst, src) in [
            (&mut e.partition, &self.partition),
            (&mut e.time, &self.time),
            (&mut e.mem, &self.mem),
        ] {
            if src.is_some() {
                dst.clone_from(src);
            }
        }
        if self.work_dir.is_some() {
            e.work_dir.clone_from(&self.work_dir);
        }
        if self.sim_batch.is_some() {
            e.batch_size = self.sim_batch;
        }
        if self.array_width.is_some() {
            e.array_width = self.array_width;
        }
        e.resume = self.resume;
        e.keep |= self.keep_work_dir;
        e.validate()?;
        let bar = progress::bar("batch", 0, quiet)?;
        let b = bar.clone();
        e.progress = Some(ProgressHook::new(move |c| {
            b.set_length(c.total as u64);
            b.set_position((c.done + c.failed) as u64);
            b.set_message(c.to_string());
        }));
        Ok(Some(bar))
    }
}

/// Arguments of `flowinfer batch-task`.
#[derive(clap::Args)]
pub struct BatchTaskArgs {
    /// Work directory written by `flowinfer sbi` or `integrate` with an executor (for
    /// an integrand, one call's directory, `WORK/calls/<key>`).
    #[arg(long)]
    work_dir: PathBuf,
    /// Batch index (a Slurm array task passes $SLURM_ARRAY_TASK_ID).
    #[arg(long)]
    batch: usize,
}

/// `flowinfer batch-task`: compute one batch of a work directory.
pub fn run_batch_task_command(a: BatchTaskArgs) -> anyhow::Result<()> {
    let (rows, failed) = run_batch_task(&a.work_dir, a.batch)?;
    eprintln!("batch {}: {rows} rows computed, {failed} failed", a.batch);
    Ok(())
}
