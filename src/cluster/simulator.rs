//! [`ClusterSimulator`]: a [`Simulator`] whose batch driver
//! ([`Simulator::simulate_rows`]) writes the parameter rows as batch files into a
//! [`WorkDir`], has an [`Executor`] simulate them, and reads the results back — so
//! `train_npe` and every other driver run unchanged on a cluster, and a resumed run
//! only simulates the batches that are missing.

use super::drive::{executor_label, run_rows};
use super::function::BatchFunction;
use super::spec::ExecutorConfig;
use super::workdir::{Plan, SimRow};
use crate::error::{Error, Result};
use crate::sbi::SimulatorConfig;
use flowinfer_simulators::{SimulationError, Simulator};
use rand::RngCore;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;

/// A simulator run through an executor (module docs).
pub struct ClusterSimulator {
    inner: Box<dyn Simulator>,
    spec: SimulatorConfig,
    executor: ExecutorConfig,
    work_dir: PathBuf,
    /// Batches that the last `simulate_rows` call ran (the rest were reused).
    ran: Mutex<Vec<usize>>,
    /// Simulation seed → TSNPE round: those runs go to `<work_dir>/round-K/`.
    rounds: BTreeMap<u64, usize>,
}

impl ClusterSimulator {
    /// Builds the simulator of `spec`, to be run by `executor` with its batch files
    /// in `work_dir`.
    pub fn new(spec: SimulatorConfig, executor: ExecutorConfig, work_dir: PathBuf) -> Result<Self> {
        executor.validate()?;
        if let (Some(b), Some(e)) = (executor.batch_size, &spec.external) {
            if !b.is_multiple_of(e.batch_size) {
                return Err(Error::config(format!(
                    "[executor] batch_size ({b}) must be a multiple of the external simulator's \
                     batch_size ({}), so that its batches and seeds are those of an in-memory run",
                    e.batch_size
                )));
            }
        }
        Ok(Self {
            inner: spec.build()?,
            spec,
            executor,
            work_dir,
            ran: Mutex::new(Vec::new()),
            rounds: BTreeMap::new(),
        })
    }

    /// Sends the simulations of TSNPE rounds to a work directory of their own,
    /// `<work_dir>/round-K/`, recognised by their simulation seed (`seeds[K-1]` for
    /// round K, [`round_simulation_seed`](crate::sbi::rounds::round_simulation_seed)):
    /// a run interrupted between rounds resumes with `--resume` instead of finding
    /// the previous round's plan in the way.
    ///
    /// ```
    /// use flowinfer::cluster::{ClusterSimulator, ExecutorConfig};
    /// use flowinfer::sbi::SimulatorConfig;
    /// use flowinfer_simulators::Simulator;
    ///
    /// let dir = std::env::temp_dir().join(format!("flowinfer-doc-rounds-{}", std::process::id()));
    /// let spec = SimulatorConfig { name: "two_moons".into(), noise: None, external: None };
    /// let thetas = vec![vec![0.1, 0.2]; 30];
    /// let mut exec = ExecutorConfig::default();
    /// exec.batch_size = Some(10);
    /// let sim = ClusterSimulator::new(spec.clone(), exec.clone(), dir.clone())?.with_rounds(&[7, 8]);
    /// sim.simulate_rows(&thetas, 7)?; // round 1, then the run stops
    /// // Resumed: round 1 is kept, round 2 gets its own directory.
    /// exec.resume = true;
    /// let sim = ClusterSimulator::new(spec, exec, dir.clone())?.with_rounds(&[7, 8]);
    /// sim.simulate_rows(&thetas, 8)?;
    /// assert!(dir.join("round-1/batches/2.results.csv").exists());
    /// assert!(dir.join("round-2/batches/2.results.csv").exists());
    /// // Round 1 again (same rows, same seed): read back, nothing simulated.
    /// sim.simulate_rows(&thetas, 7)?;
    /// assert!(sim.batches_run().is_empty());
    /// # std::fs::remove_dir_all(&dir).ok();
    /// # Ok::<(), flowinfer::Error>(())
    /// ```
    pub fn with_rounds(mut self, seeds: &[u64]) -> Self {
        self.rounds = seeds.iter().enumerate().map(|(i, &s)| (s, i + 1)).collect();
        self
    }

    /// The work directory of a run with `seed`.
    pub fn work_dir_for(&self, seed: u64) -> PathBuf {
        match self.rounds.get(&seed) {
            Some(k) => self.work_dir.join(format!("round-{k}")),
            None => self.work_dir.clone(),
        }
    }

    /// Rows per batch: the executor's, else the external simulator's, else 1000.
    pub fn batch_size(&self) -> usize {
        self.executor
            .batch_size
            .or_else(|| self.spec.external.as_ref().map(|e| e.batch_size))
            .unwrap_or(1000)
    }

    /// Batches the last run simulated (not reused from an earlier, interrupted run).
    pub fn batches_run(&self) -> Vec<usize> {
        self.ran.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Runs `thetas` with `seed` through the executor (module docs).
    fn run(&self, thetas: &[Vec<f64>], seed: u64) -> Result<Vec<SimRow>> {
        let plan = Plan {
            function: BatchFunction::Simulator(self.spec.clone()),
            rows: thetas.len(),
            seed,
            batch_size: self.batch_size(),
        };
        let parallel = self.spec.external.as_ref().map_or(1, |e| e.parallel);
        let run = run_rows(
            &self.work_dir_for(seed),
            plan,
            thetas,
            &self.executor,
            self.executor.resume,
            &self.inner,
            parallel,
        )?;
        *self.ran.lock().unwrap_or_else(|p| p.into_inner()) = run.ran;
        Ok(run.rows)
    }
}

impl Simulator for ClusterSimulator {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn param_dim(&self) -> usize {
        self.inner.param_dim()
    }
    fn obs_dim(&self) -> usize {
        self.inner.obs_dim()
    }
    fn param_names(&self) -> Vec<String> {
        self.inner.param_names()
    }
    fn sample_prior(&self, n: usize, rng: &mut dyn RngCore) -> Vec<Vec<f64>> {
        self.inner.sample_prior(n, rng)
    }
    fn log_prior(&self, theta: &[f64]) -> f64 {
        self.inner.log_prior(theta)
    }
    fn in_support(&self, theta: &[f64]) -> bool {
        self.inner.in_support(theta)
    }
    fn simulate_one(&self, theta: &[f64], rng: &mut dyn RngCore) -> Vec<f64> {
        self.inner.simulate_one(theta, rng)
    }

    /// Writes the rows as batch files, runs the missing batches through the
    /// executor, and reads every batch's results back. Errors: the work directory
    /// or the executor failed, or batches still failed after their retries (named,
    /// with their stderr).
    fn simulate_rows(
        &self,
        thetas: &[Vec<f64>],
        seed: u64,
    ) -> std::result::Result<Vec<SimRow>, SimulationError> {
        self.run(thetas, seed)
            .map_err(|e| SimulationError::External {
                simulator: self.inner.name().to_string(),
                message: format!("{} executor: {e}", executor_label(&self.executor)),
            })
    }

    /// Slices of a run go to the simulator itself (the executor handles whole runs).
    fn simulate_rows_at(
        &self,
        thetas: &[Vec<f64>],
        seed: u64,
        first_row: usize,
    ) -> std::result::Result<Vec<SimRow>, SimulationError> {
        if first_row == 0 {
            return self.simulate_rows(thetas, seed);
        }
        self.inner.simulate_rows_at(thetas, seed, first_row)
    }
}

/// The simulator of an SBI run writing to `out`: the spec's simulator, run through a
/// [`ClusterSimulator`] when the spec has an `[executor]` (work directory: its
/// `work_dir`, default `<out>.work`; with `[rounds]`, one `round-K/` in it per
/// round, [`ClusterSimulator::with_rounds`]).
///
/// ```
/// use flowinfer::cluster::simulator_for_run;
/// use flowinfer::sbi::SbiConfig;
/// use flowinfer_simulators::simulate_dataset_lenient;
///
/// let out = std::env::temp_dir().join(format!("flowinfer-doc-run-{}", std::process::id()));
/// let mut spec: SbiConfig = toml::from_str(
///     "[simulator]\nname = \"two_moons\"\n[executor]\nbatch_size = 25\n",
/// ).unwrap();
/// let sim = simulator_for_run(&spec, &out)?;
/// let data = simulate_dataset_lenient(sim.as_ref(), 50, 1)?;
/// let work = out.with_file_name(format!("{}.work", out.file_name().unwrap().to_str().unwrap()));
/// assert!(work.join("batches/1.results.csv").exists());
/// // Without an [executor] the simulation stays in memory, with the same rows.
/// spec.executor = None;
/// let plain = simulate_dataset_lenient(simulator_for_run(&spec, &out)?.as_ref(), 50, 1)?;
/// assert_eq!(plain, data);
/// # std::fs::remove_dir_all(&work).ok();
/// # Ok::<(), flowinfer::Error>(())
/// ```
pub fn simulator_for_run(
    spec: &crate::sbi::SbiConfig,
    out: &std::path::Path,
) -> Result<Box<dyn Simulator>> {
    let sim_spec = spec.simulator()?;
    match &spec.executor {
        None => sim_spec.build(),
        Some(exec) => {
            let work_dir = exec.work_dir.clone().unwrap_or_else(|| {
                let mut name = out.file_name().unwrap_or_default().to_os_string();
                name.push(".work");
                out.with_file_name(name)
            });
            let seeds: Vec<u64> = match &spec.rounds {
                Some(r) => (1..=r.rounds)
                    .map(|k| crate::sbi::rounds::round_simulation_seed(spec, k))
                    .collect(),
                None => Vec::new(),
            };
            Ok(Box::new(
                ClusterSimulator::new(sim_spec.clone(), exec.clone(), work_dir)?
                    .with_rounds(&seeds),
            ))
        }
    }
}
