//! Executors and persistent workers through the `flowinfer` binary: external
//! integrands in every command mode, local batches as files for simulators and
//! integrands (always run)
//! and a real Slurm cluster (skipped with a message when none is up; start one with
//! `scripts/slurm-local.sh start`).

#[path = "cluster/common.rs"]
mod common;
#[path = "cluster/integrate.rs"]
mod integrate;
#[path = "cluster/integrate_executor.rs"]
mod integrate_executor;
#[path = "cluster/integrate_modes.rs"]
mod integrate_modes;
#[path = "cluster/local.rs"]
mod local;
#[path = "cluster/slurm.rs"]
mod slurm;
#[path = "cluster/variational_mode.rs"]
mod variational_mode;
