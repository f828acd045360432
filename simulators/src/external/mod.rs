//! External programs as simulators, integrands and log densities.
//!
//! [`ExternalSimulator`] runs any program (Python, R, a compiled model, ...)
//! as the forward model of a [`Simulator`](crate::Simulator);
//! [`ExternalIntegrand`] runs one as an [`Integrand`](crate::Integrand);
//! [`ExternalLogDensity`] runs one as the unnormalised log density of a
//! variational target (the integrand protocol, see below).
//! Programs are started directly from `command` (program + arguments, no
//! shell); wrap a pipeline in `["sh", "-c", "..."]` if you need one.
//!
//! # Simulator protocol
//!
//! Parameter rows are split into batches of `batch_size` rows. For each batch
//! the program is started once, with at most `parallel` programs running at
//! once:
//!
//! * **stdin**: the batch's parameter rows as CSV, one row per simulation,
//!   `param_dim` comma-separated columns in `param_names` order, **no header**,
//!   each value written with Rust's `{}` (the shortest decimal that reads back
//!   to the same `f64`; never exponent notation). Stdin is closed after the
//!   last row.
//! * **environment**: `FLOWINFER_SEED`, the batch's seed
//!   ([`ExternalSimulator::batch_seed`]`(run seed, batch index)`, an integer
//!   in `[0, 2^31)`), and `FLOWINFER_BATCH`, the batch index (0-based), in
//!   addition to the inherited environment. A program that seeds its random
//!   generator from `FLOWINFER_SEED` makes runs reproducible; results then
//!   depend on `batch_size` (which rows share a seed) but not on `parallel`.
//! * **stdout**: exactly one CSV line per input row, in input order, each with
//!   `obs_dim` comma-separated numbers (`nan`/`inf` are read but make that row
//!   fail). Nothing else: a header line, blank lines or log messages on stdout
//!   make the line count wrong and fail the batch. Write logs to stderr.
//! * **exit status** 0 on success.
//!
//! Outcomes:
//!
//! * the program cannot be started (missing, not executable): the whole run
//!   fails with [`SimulationError::External`](crate::SimulationError::External)
//!   naming the command and the operating-system error;
//! * non-zero exit status, death by a signal, a timeout (`timeout_s`; the
//!   program is killed) or the wrong number of output lines: every row of that
//!   batch fails, with e.g.
//!   `` batch 3: `python3 sim.py` failed: exit status 1; stderr: <last 10 lines> ``
//!   or `` `python3 sim.py` wrote 7 lines for 10 parameter rows ``;
//! * a line with the wrong number of columns, an unparsable or a non-finite
//!   value: that row fails, naming the (1-based) column;
//! * more than `max_failure_fraction` of all rows failed: the whole run fails
//!   with [`SimulationError::TooManyFailures`](crate::SimulationError::TooManyFailures),
//!   quoting the first failure.
//!
//! Failed rows are reported by [`Simulator::simulate_rows`](crate::Simulator::simulate_rows)
//! and dropped and counted by
//! [`simulate_dataset_lenient`](crate::simulate_dataset_lenient). The strict
//! drivers ([`simulate_batch`](crate::simulate_batch)) go through
//! [`Simulator::simulate_one`](crate::Simulator::simulate_one), which starts
//! one program per row and turns any failure into a NaN row (reported as a
//! non-finite output): correct, but slow and without the reason.
//!
//! The timeout kills the started program only. If it is a wrapper script,
//! start the real simulator with `exec` so that the kill reaches it (output
//! pipes still held by a leftover child are abandoned, not waited for).
//!
//! # Integrand protocol
//!
//! [`ExternalIntegrand`] writes points to stdin as CSV rows (`dim` columns, no
//! header, same formatting) in chunks of `batch_size` points, at most
//! `parallel` programs at once, and reads exactly one number per line from
//! stdout. A non-zero exit or a timeout runs the chunk again, at most `retries`
//! times (default 2); that failing every time, a wrong line count or an unparsable
//! line fails the whole evaluation with
//! [`IntegrandError::External`](crate::IntegrandError::External), naming the
//! command, the chunk's point range and the stderr tail. Values that parse,
//! including `nan` and negative numbers, are returned as they are (the
//! integrator counts those).
//!
//! # Log-density protocol
//!
//! [`ExternalLogDensity`] speaks the integrand protocol with points in `R^dim`
//! and a log density (up to a constant) per line: `nan`, `inf` and `-inf`
//! are read and returned (the variational job counts them and drops those
//! points), and every other failure is a
//! [`LogDensityError::External`] naming the command, the chunk's point range
//! and the stderr tail.
//!
//! # Persistent workers (`mode = "persistent"`)
//!
//! A program with a costly start-up (an interpreter, a model loaded from disk) can
//! stay alive and answer many batches. With `mode = "persistent"` up to `parallel`
//! workers are started (environment `FLOWINFER_MODE=persistent`; one-shot runs get
//! `FLOWINFER_MODE=oneshot`) and kept for every later batch of the same simulator,
//! integrand or log density. Each batch is one request on the worker's stdin:
//!
//! ```text
//! BATCH <rows> <cols> <seed> <batch>
//! <rows> CSV lines of <cols> values (the one-shot formatting)
//! ```
//!
//! `seed` is the batch seed (the one-shot `FLOWINFER_SEED`; 0 for integrands and
//! log densities) and `batch` the batch index (`FLOWINFER_BATCH`), so a program that
//! seeds from them gives the same numbers in both modes. An integrand's or log
//! density's chunk of at least 1024 rows is sent as two requests (each with the
//! chunk's seed and batch index), both in flight at once: the worker reads the
//! second while flowinfer reads its answer to the first. A simulator batch is always
//! one request (its rows share the batch seed). The worker answers on stdout
//! with either
//!
//! ```text
//! OK <rows> <out_cols>
//! <rows> CSV lines of <out_cols> values (obs_dim for a simulator, 1 otherwise)
//! ```
//!
//! or one line `ERR <message>`, then **flushes stdout** and waits for the next
//! request; it exits when stdin closes. It must read exactly `rows` lines after a
//! header (with mawk use `awk -W interactive`, which does not wait for a full input
//! block). Outcomes:
//!
//! * `ERR`, or an `OK` whose row or column count differs from the request: the batch
//!   fails (a simulator's rows fail; an integrand's evaluation fails), not retried;
//!   the worker is kept;
//! * the worker exits or is killed (crash), writes a line that is not a reply header
//!   (e.g. a log message on stdout), or gives no complete answer within `timeout_s`
//!   (it is killed): the worker is replaced and the batch retried, at most `retries`
//!   times (default 2); then the batch fails with the last reason, e.g.
//!   `` batch 3: `python3 sim.py` failed: attempt 3 of 3: worker lost: exited with status 1; stderr: ... ``;
//! * the program cannot be started: the whole run fails, as in one-shot mode.
//!
//! With `mode = "persistent-f64"` the rows follow the header as little-endian
//! `f64` (header and answer end in ` f64`). With `mode = "persistent-shm"` (Unix)
//! they do not travel at all: each worker gets a mapped file (`FLOWINFER_SHM`, in
//! `/dev/shm`) of two slots; flowinfer writes the rows into a slot and sends
//! `BATCH <rows> <cols> <seed> <batch> shm <slot> <in_offset> <out_offset> <file_bytes>`,
//! the worker writes its answer at `out_offset` and replies `OK <rows> <cols> shm
//! <slot>`. docs/CLUSTER.md has the exact layout and when a slot may be reused.
//!
//! Minimal workers that speak both modes: `examples/workers/camel.py`,
//! `examples/workers/camel.c` (integrands) and `examples/workers/noisy_sim.py` (a
//! seeded simulator); docs/CLUSTER.md has the measured speed-up.
//!
//! # Example
//!
//! ```
//! # #[cfg(unix)] {
//! use flowinfer_simulators::external::{ExternalSimulator, ExternalSimulatorConfig, PriorSpec};
//! use flowinfer_simulators::simulate_dataset_lenient;
//!
//! // x = 2θ, computed by awk.
//! let command = ["awk", "-F,", r#"{ printf "%.17g\n", 2 * $1 }"#];
//! let config = ExternalSimulatorConfig::new(
//!     command.iter().map(|s| s.to_string()).collect(),
//!     vec!["theta".into()],
//!     vec![PriorSpec::Uniform { low: 0.0, high: 1.0 }],
//!     1,
//! );
//! let sim = ExternalSimulator::new(config).unwrap();
//! let data = simulate_dataset_lenient(&sim, 20, 1).unwrap();
//! assert!(data.failures.is_empty());
//! assert_eq!(data.xs[3][0], 2.0 * data.thetas[3][0]);
//! # }
//! ```

mod child;
mod framed;
mod integrand;
mod log_density;
mod mode;
mod pool;
mod prior;
mod process;
mod program;
#[cfg(unix)]
mod shm_region;
#[cfg(unix)]
mod shm_worker;
mod simulator;
mod wire;
mod worker;

#[cfg(test)]
mod persistent_tests;
#[cfg(test)]
mod pipeline_tests;
#[cfg(test)]
mod retry_tests;
#[cfg(all(test, unix))]
mod shm_tests;
#[cfg(test)]
mod test_util;
#[cfg(test)]
mod tests;

pub use integrand::ExternalIntegrand;
pub use log_density::{ExternalLogDensity, LogDensityError};
pub use mode::ProgramMode;
pub use pool::{SharedPool, WorkerPool};
pub use prior::PriorSpec;
pub use simulator::{ExternalSimulator, ExternalSimulatorConfig};
