//! Running simulations and integrand evaluations beyond one process: batches as files
//! in a work directory, executors that run them (here, as a Slurm job array, or as
//! srun steps inside an allocation), and resuming an interrupted run
//! (docs/CLUSTER.md). Both are a batched function of rows ([`BatchFunction`],
//! [`run_rows`]); `flowinfer integrate` uses [`ClusterIntegrand`], one work directory
//! per evaluate call.
//!
//! `flowinfer sbi` with an `[executor]` section (or `--executor`, `--work-dir`,
//! `--resume`) wraps its simulator in a [`ClusterSimulator`]: the prior draws are
//! the same as without it, each batch's parameter rows go to
//! `<work_dir>/batches/<k>.params.csv`, the executor simulates the batches not yet
//! done (seeds and row indices of the whole run, so the training data are bit for
//! bit those of an uninterrupted local run), results come back as
//! `<work_dir>/batches/<k>.results.csv`, and `manifest.json` records every finished
//! batch. A failed batch is retried `retries` times, then the run fails naming it
//! and its stderr, keeping the others for `--resume`.
//!
//! ```
//! use flowinfer::cluster::{ClusterSimulator, ExecutorConfig};
//! use flowinfer::sbi::SimulatorConfig;
//! use flowinfer_simulators::{simulate_dataset_lenient, Simulator};
//!
//! let dir = std::env::temp_dir().join(format!("flowinfer-doc-cluster-{}", std::process::id()));
//! let spec = SimulatorConfig { name: "two_moons".into(), noise: None, external: None };
//! let mut exec = ExecutorConfig::default();
//! exec.batch_size = Some(40);
//! let sim = ClusterSimulator::new(spec.clone(), exec.clone(), dir.clone())?;
//! let data = simulate_dataset_lenient(&sim, 100, 3)?;
//! // The same rows as simulating in memory, and 3 batch files on disk.
//! assert_eq!(data, simulate_dataset_lenient(spec.build()?.as_ref(), 100, 3)?);
//! assert_eq!(sim.batches_run(), vec![0, 1, 2]);
//! // Resuming a finished run simulates nothing.
//! exec.resume = true;
//! let again = ClusterSimulator::new(spec, exec, dir.clone())?;
//! assert_eq!(simulate_dataset_lenient(&again, 100, 3)?, data);
//! assert!(again.batches_run().is_empty());
//! # std::fs::remove_dir_all(&dir).ok();
//! # Ok::<(), flowinfer::Error>(())
//! ```

mod batch;
mod drive;
mod executor;
mod function;
mod integrand;
mod local;
mod simulator;
mod slurm;
mod spec;
mod srun;
mod workdir;

pub use batch::{run_batch, run_batch_task};
pub use drive::{executor_label, run_rows, RowsRun};
pub use executor::{BatchCounts, Executor, ProgressHook};
pub use function::{BatchFunction, RowFunction};
pub use integrand::{integrand_for_run, ClusterIntegrand};
pub use local::{run_queue, LocalExecutor};
pub use simulator::{simulator_for_run, ClusterSimulator};
pub use slurm::{array_spec, SlurmExecutor};
pub use spec::{ExecutorConfig, ExecutorKind, SlurmLaunch};
pub use srun::{allocation_id, SrunExecutor};
pub use workdir::{Plan, SimRow, WorkDir};
