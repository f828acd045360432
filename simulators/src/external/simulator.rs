//! [`ExternalSimulator`]: a [`Simulator`] whose forward model is an external
//! program speaking the CSV protocol described in the [module
//! docs](super).

use super::framed::Rows;
use super::mode::{default_retries, is_oneshot, ProgramMode};
use super::pool::SharedPool;
use super::prior::{PriorSpec, Sampler};
use super::process::{describe_command, run_indexed};
use super::program::{CallError, ProgramCall};
use super::wire::{finite_row, parse_finite_row};
use crate::lenient::{check_param_rows, RowFailure};
use crate::simulator::{row_seed, SimulationError, Simulator};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

/// Configuration of an [`ExternalSimulator`]; embeddable in a TOML run spec
/// (unknown keys are errors).
///
/// ```toml
/// command = ["python3", "sim.py"]
/// param_names = ["beta", "gamma"]
/// prior = [
///     { type = "log_normal", mean = -0.9, std = 0.5 },
///     { type = "uniform", low = 0.0, high = 1.0 },
/// ]
/// obs_dim = 10
/// batch_size = 500        # default 1000
/// parallel = 4            # default: number of rayon threads
/// timeout_s = 60.0        # default: none
/// max_failure_fraction = 0.1  # default 0.5
/// mode = "persistent"     # default "oneshot"
/// retries = 2             # retries of a batch whose run or worker crashed or hung
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExternalSimulatorConfig {
    /// Simulator name used in messages (default `"external"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Program and arguments (started directly, no shell).
    pub command: Vec<String>,
    /// One name per parameter, in column order.
    pub param_names: Vec<String>,
    /// One prior per parameter (independent), in column order.
    pub prior: Vec<PriorSpec>,
    /// Number of values the program writes per row.
    pub obs_dim: usize,
    /// Parameter rows per program run.
    #[serde(default = "default_batch_size")]
    pub batch_size: usize,
    /// Most program runs at once.
    #[serde(default = "default_parallel")]
    pub parallel: usize,
    /// Seconds after which a program run is killed (all its rows fail).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_s: Option<f64>,
    /// Largest fraction of failed rows a run tolerates; more is an error.
    #[serde(default = "default_max_failure_fraction")]
    pub max_failure_fraction: f64,
    /// One program run per batch (`oneshot`, the default) or persistent workers.
    #[serde(default, skip_serializing_if = "is_oneshot")]
    pub mode: ProgramMode,
    /// Retries of a batch whose program run (one-shot) or worker (persistent) crashed
    /// or hung (default 2).
    #[serde(default = "default_retries")]
    pub retries: usize,
}

/// Default [`ExternalSimulatorConfig::batch_size`]: 1000.
fn default_batch_size() -> usize {
    1000
}

/// Default [`ExternalSimulatorConfig::parallel`]: the rayon thread count.
fn default_parallel() -> usize {
    rayon::current_num_threads()
}

/// Default [`ExternalSimulatorConfig::max_failure_fraction`]: 0.5.
fn default_max_failure_fraction() -> f64 {
    0.5
}

impl ExternalSimulatorConfig {
    /// A configuration with the default name, batch size (1000), parallelism
    /// (rayon threads), no timeout and `max_failure_fraction` 0.5.
    pub fn new(
        command: Vec<String>,
        param_names: Vec<String>,
        prior: Vec<PriorSpec>,
        obs_dim: usize,
    ) -> Self {
        ExternalSimulatorConfig {
            name: None,
            command,
            param_names,
            prior,
            obs_dim,
            batch_size: default_batch_size(),
            parallel: default_parallel(),
            timeout_s: None,
            max_failure_fraction: default_max_failure_fraction(),
            mode: ProgramMode::Oneshot,
            retries: default_retries(),
        }
    }
}

/// A simulator that runs an external program on batches of parameter rows
/// (see the [module docs](super) for the protocol).
#[derive(Debug, Clone)]
pub struct ExternalSimulator {
    config: ExternalSimulatorConfig,
    name: String,
    samplers: Vec<Sampler>,
    pool: SharedPool,
}

/// Outcome of one program run: one result per row, or a whole-run error.
type BatchResult = Result<Vec<Result<Vec<f64>, String>>, SimulationError>;

impl ExternalSimulator {
    /// Checks `config` and builds the simulator. Errors
    /// ([`SimulationError::InvalidSetting`]) say which setting is wrong.
    pub fn new(config: ExternalSimulatorConfig) -> Result<Self, SimulationError> {
        let name = config
            .name
            .clone()
            .unwrap_or_else(|| "external".to_string());
        let invalid = |message: String| SimulationError::InvalidSetting {
            simulator: name.clone(),
            message,
        };
        if config.command.first().is_none_or(|p| p.is_empty()) {
            return Err(invalid("`command` must name a program".into()));
        }
        if config.param_names.is_empty() {
            return Err(invalid("`param_names` must not be empty".into()));
        }
        if config.prior.len() != config.param_names.len() {
            return Err(invalid(format!(
                "`prior` has {} entries for {} parameters ({:?})",
                config.prior.len(),
                config.param_names.len(),
                config.param_names
            )));
        }
        for (i, n) in config.param_names.iter().enumerate() {
            if config.param_names[..i].contains(n) {
                return Err(invalid(format!("parameter name `{n}` appears twice")));
            }
        }
        if config.obs_dim == 0 {
            return Err(invalid("`obs_dim` must be at least 1".into()));
        }
        if config.batch_size == 0 || config.parallel == 0 {
            return Err(invalid(format!(
                "`batch_size` and `parallel` must be at least 1, got {} and {}",
                config.batch_size, config.parallel
            )));
        }
        if let Some(t) = config.timeout_s {
            if !(t.is_finite() && t > 0.0) {
                return Err(invalid(format!("`timeout_s` must be positive, got {t}")));
            }
        }
        let f = config.max_failure_fraction;
        if !(0.0..=1.0).contains(&f) {
            return Err(invalid(format!(
                "`max_failure_fraction` must be in [0, 1], got {f}"
            )));
        }
        let samplers = config
            .prior
            .iter()
            .zip(&config.param_names)
            .map(|(p, n)| {
                p.sampler()
                    .map_err(|e| invalid(format!("parameter `{n}`: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ExternalSimulator {
            config,
            name,
            samplers,
            pool: SharedPool::default(),
        })
    }

    /// The configuration the simulator was built from.
    pub fn config(&self) -> &ExternalSimulatorConfig {
        &self.config
    }

    /// `FLOWINFER_SEED` of batch `batch` in a run with `seed`:
    /// `row_seed(seed, batch) mod 2^31` (fits every language's seed function).
    pub fn batch_seed(seed: u64, batch: usize) -> u64 {
        row_seed(seed, batch) & 0x7FFF_FFFF
    }

    /// Runs batch `batch` (the program once, or one framed request to a persistent
    /// worker) on `rows`; `Err` only if the program cannot be started.
    fn run_batch(&self, rows: &[Vec<f64>], batch: usize, batch_seed: u64) -> BatchResult {
        let points: Vec<f64> = rows.iter().flatten().copied().collect();
        let call = ProgramCall {
            command: &self.config.command,
            mode: self.config.mode,
            pool: &self.pool,
            timeout: self.config.timeout_s.map(Duration::from_secs_f64),
            retries: self.config.retries,
            parts: 1,
        };
        let batch_failure = |reason: String| {
            let reason = format!("batch {batch}: {reason}");
            Ok(rows.iter().map(|_| Err(reason.clone())).collect())
        };
        let cmd = describe_command(&self.config.command);
        let answer = match call.run(
            &points,
            self.param_dim(),
            self.config.obs_dim,
            batch_seed,
            batch,
        ) {
            Ok(answer) => answer,
            Err(CallError::CannotStart(message)) => {
                return Err(SimulationError::External {
                    simulator: self.name.clone(),
                    message,
                })
            }
            Err(CallError::Failed(reason)) => {
                return batch_failure(format!("`{cmd}` failed: {reason}"))
            }
        };
        let d = self.config.obs_dim;
        if answer.rows.count(d) != rows.len() {
            return batch_failure(format!(
                "`{cmd}` wrote {} lines for {} parameter rows; {}",
                answer.rows.count(d),
                rows.len(),
                answer.stderr_tail
            ));
        }
        Ok(match &answer.rows {
            Rows::Lines(lines) => lines.iter().map(|l| parse_finite_row(l, d)).collect(),
            Rows::Values(values) => values.chunks(d).map(finite_row).collect(),
        })
    }
}

impl Simulator for ExternalSimulator {
    fn name(&self) -> &str {
        &self.name
    }

    fn param_dim(&self) -> usize {
        self.config.param_names.len()
    }

    fn obs_dim(&self) -> usize {
        self.config.obs_dim
    }

    fn param_names(&self) -> Vec<String> {
        self.config.param_names.clone()
    }

    fn sample_prior(&self, n: usize, rng: &mut dyn RngCore) -> Vec<Vec<f64>> {
        (0..n)
            .map(|_| self.samplers.iter().map(|s| s.sample(rng)).collect())
            .collect()
    }

    fn log_prior(&self, theta: &[f64]) -> f64 {
        if theta.len() != self.config.prior.len() {
            return f64::NEG_INFINITY;
        }
        theta
            .iter()
            .zip(&self.config.prior)
            .map(|(&t, p)| p.log_density(t))
            .sum()
    }

    fn in_support(&self, theta: &[f64]) -> bool {
        theta.len() == self.config.prior.len()
            && theta
                .iter()
                .zip(&self.config.prior)
                .all(|(&t, p)| p.contains(t))
    }

    /// Runs a one-row batch seeded from `rng`. Never panics: any failure
    /// (including a wrong-length `theta`) gives a row of NaN, which the strict
    /// driver reports as non-finite. Prefer the lenient driver, which runs
    /// whole batches and keeps the reason.
    fn simulate_one(&self, theta: &[f64], rng: &mut dyn RngCore) -> Vec<f64> {
        let failed = vec![f64::NAN; self.config.obs_dim];
        if theta.len() != self.param_dim() {
            return failed;
        }
        let seed = rng.next_u64() & 0x7FFF_FFFF;
        match self.run_batch(&[theta.to_vec()], 0, seed) {
            Ok(mut rows) => rows.pop().and_then(Result::ok).unwrap_or(failed),
            Err(_) => failed,
        }
    }

    /// Runs the rows in batches of `batch_size`, at most `parallel` programs
    /// at once. Errors for the whole run: a wrong-length parameter row, a
    /// program that cannot be started, or more than `max_failure_fraction`
    /// of the rows failing (new batches stop being started once that is
    /// certain).
    fn simulate_rows(
        &self,
        thetas: &[Vec<f64>],
        seed: u64,
    ) -> Result<Vec<Result<Vec<f64>, RowFailure>>, SimulationError> {
        self.simulate_rows_at(thetas, seed, 0)
    }

    /// [`Simulator::simulate_rows`] for the rows from `first_row` on of a larger run:
    /// batch `b` of the slice is batch `first_row / batch_size + b` of the run (its
    /// seed and `FLOWINFER_BATCH`), so `first_row` must be a multiple of `batch_size`
    /// ([`SimulationError::InvalidSetting`] otherwise).
    fn simulate_rows_at(
        &self,
        thetas: &[Vec<f64>],
        seed: u64,
        first_row: usize,
    ) -> Result<Vec<Result<Vec<f64>, RowFailure>>, SimulationError> {
        if !first_row.is_multiple_of(self.config.batch_size) {
            return Err(SimulationError::InvalidSetting {
                simulator: self.name.clone(),
                message: format!(
                    "a slice of a run must start at a multiple of batch_size = {}, got row {first_row}",
                    self.config.batch_size
                ),
            });
        }
        let first_batch = first_row / self.config.batch_size;
        check_param_rows(self, thetas)?;
        let total = thetas.len();
        let batches: Vec<&[Vec<f64>]> = thetas.chunks(self.config.batch_size).collect();
        let allowed = self.config.max_failure_fraction * total as f64;
        let failed = AtomicUsize::new(0);
        let cannot_start = AtomicBool::new(false);
        let stop = || {
            cannot_start.load(Ordering::SeqCst) || failed.load(Ordering::SeqCst) as f64 > allowed
        };
        let task = |b: usize| {
            let run_b = first_batch + b;
            let result = self.run_batch(batches[b], run_b, Self::batch_seed(seed, run_b));
            match &result {
                Ok(rows) => {
                    let bad = rows.iter().filter(|r| r.is_err()).count();
                    failed.fetch_add(bad, Ordering::SeqCst);
                }
                Err(_) => cannot_start.store(true, Ordering::SeqCst),
            }
            result
        };
        let results = run_indexed(batches.len(), self.config.parallel, &stop, &task);

        let mut rows = Vec::with_capacity(total);
        let mut first_failure = None;
        let mut n_failed = 0;
        let mut complete = true;
        for (b, result) in results.into_iter().enumerate() {
            let start = first_row + b * self.config.batch_size;
            match result {
                Some(Ok(batch)) => {
                    for (j, r) in batch.into_iter().enumerate() {
                        let r = r.map_err(|reason| RowFailure {
                            row: start + j,
                            reason,
                        });
                        if let Err(f) = &r {
                            n_failed += 1;
                            first_failure.get_or_insert_with(|| f.clone());
                        }
                        rows.push(r);
                    }
                }
                Some(Err(e)) => return Err(e),
                None => complete = false,
            }
        }
        if n_failed as f64 > allowed || !complete {
            return Err(SimulationError::TooManyFailures {
                simulator: self.name.clone(),
                failed: n_failed,
                total,
                max_failure_fraction: self.config.max_failure_fraction,
                first: first_failure.unwrap_or_else(|| RowFailure {
                    row: first_row,
                    reason: "run stopped early".into(),
                }),
            });
        }
        Ok(rows)
    }
}
