//! [`ClusterIntegrand`]: an [`Integrand`] whose `evaluate` writes the points as batch
//! files into a work directory, has an executor evaluate them (in this process, as a
//! Slurm job array, or as srun steps) and reads the values back — so `flowinfer
//! integrate` trains and evaluates unchanged on a cluster, and `--resume` after an
//! interruption evaluates only the batches that are missing.
//!
//! Each `evaluate` call is one [`WorkDir`](super::WorkDir) under
//! `<work_dir>/calls/<key>/`, where `<key>` is a SHA-256 digest of the points: a run
//! with the same seed draws the same points (the flow trains on the same values), so
//! a resumed run finds every call it made before, in any order (VEGAS evaluates its
//! chunks in parallel), and reuses each batch whose results read back.
//!
//! ```text
//! <work_dir>/integrand.json        the integrand and batch size (the run's identity)
//! <work_dir>/calls/<key>/          one evaluate call: plan.json, manifest.json,
//!                                  batches/<k>.params.csv, batches/<k>.results.csv, logs/
//! ```

use super::drive::{executor_label, run_rows};
use super::function::BatchFunction;
use super::spec::ExecutorConfig;
use super::workdir::Plan;
use crate::atomic::write_atomic;
use crate::error::{Error, Result};
use crate::integrate::{IntegrandConfig, IntegrateConfig};
use flowinfer_simulators::integrands::check_batch;
use flowinfer_simulators::{Integrand, IntegrandError};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// `integrand.json`: what a work directory evaluates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Identity {
    integrand: IntegrandConfig,
    batch_size: usize,
}

/// An integrand evaluated through an executor (module docs).
pub struct ClusterIntegrand {
    inner: Box<dyn Integrand>,
    spec: IntegrandConfig,
    executor: ExecutorConfig,
    root: PathBuf,
    ran: AtomicUsize,
    reused: AtomicUsize,
}

impl ClusterIntegrand {
    /// Builds the integrand of `spec`, to be evaluated by `executor` with its batch
    /// files under `work_dir`. With `executor.resume`, an existing work directory must
    /// have been made for the same integrand and batch size; without, an old one is
    /// emptied (a non-empty directory that is not one is refused, never deleted).
    ///
    /// ```
    /// use flowinfer::cluster::{ClusterIntegrand, ExecutorConfig};
    /// use flowinfer::integrate::IntegrandConfig;
    /// use flowinfer_simulators::Integrand;
    ///
    /// let dir = std::env::temp_dir().join(format!("flowinfer-doc-ci-{}", std::process::id()));
    /// let spec = IntegrandConfig { name: Some("camel".into()), dim: Some(2), ..Default::default() };
    /// let mut exec = ExecutorConfig::default();
    /// exec.batch_size = Some(3);
    /// let f = ClusterIntegrand::new(spec.clone(), exec.clone(), dir.clone())?;
    /// let points = [0.1, 0.2, 0.3, 0.3, 0.5, 0.5, 0.9, 0.1];
    /// let mut out = [0.0; 4];
    /// f.evaluate(&points, &mut out)?;
    /// assert_eq!(f.batches_run(), 2); // 4 points in batches of 3
    /// // The same values as the integrand itself, bit for bit.
    /// let plain = flowinfer::integrate::IntegrateConfig { integrand: spec.clone(), ..Default::default() };
    /// let mut direct = [0.0; 4];
    /// plain.build_integrand()?.evaluate(&points, &mut direct)?;
    /// assert_eq!(out, direct);
    /// // Resumed, the same call is read back from the work directory.
    /// exec.resume = true;
    /// let again = ClusterIntegrand::new(spec, exec, dir.clone())?;
    /// again.evaluate(&points, &mut out)?;
    /// assert_eq!((again.batches_run(), again.batches_reused()), (0, 2));
    /// # std::fs::remove_dir_all(&dir).ok();
    /// # Ok::<(), flowinfer::Error>(())
    /// ```
    pub fn new(spec: IntegrandConfig, executor: ExecutorConfig, work_dir: PathBuf) -> Result<Self> {
        executor.validate()?;
        let inner = IntegrateConfig {
            integrand: spec.clone(),
            ..Default::default()
        }
        .build_integrand()?;
        let identity = Identity {
            integrand: spec.clone(),
            batch_size: batch_size(&spec, &executor),
        };
        prepare_root(&work_dir, &identity, executor.resume)?;
        Ok(Self {
            inner,
            spec,
            executor,
            root: work_dir,
            ran: AtomicUsize::new(0),
            reused: AtomicUsize::new(0),
        })
    }

    /// Batches evaluated so far (not reused from an earlier run).
    pub fn batches_run(&self) -> usize {
        self.ran.load(Ordering::Relaxed)
    }

    /// Batches read back from the work directory so far (done by an earlier,
    /// interrupted run, or an identical earlier call).
    pub fn batches_reused(&self) -> usize {
        self.reused.load(Ordering::Relaxed)
    }

    /// The work directory.
    pub fn work_dir(&self) -> &Path {
        &self.root
    }

    /// Whether the batch files are to be kept after a finished run (`[executor]
    /// keep`, `--keep-work-dir`).
    pub fn keep(&self) -> bool {
        self.executor.keep
    }

    /// Removes every call's `batches/` and `logs/` (the points, values and task
    /// logs), keeping `integrand.json` and each call's `plan.json` and
    /// `manifest.json`; returns the number of calls. For a finished run: a later
    /// `--resume` evaluates such calls again.
    ///
    /// ```
    /// use flowinfer::cluster::{ClusterIntegrand, ExecutorConfig};
    /// use flowinfer::integrate::IntegrandConfig;
    /// use flowinfer_simulators::Integrand;
    ///
    /// let dir = std::env::temp_dir().join(format!("flowinfer-doc-clean-{}", std::process::id()));
    /// let spec = IntegrandConfig { name: Some("camel".into()), dim: Some(2), ..Default::default() };
    /// let f = ClusterIntegrand::new(spec, ExecutorConfig::default(), dir.clone())?;
    /// let mut out = [0.0; 2];
    /// f.evaluate(&[0.1, 0.2, 0.3, 0.4], &mut out)?;
    /// assert_eq!(f.remove_batch_files()?, 1);
    /// let call = std::fs::read_dir(dir.join("calls"))?.next().unwrap()?.path();
    /// assert!(call.join("manifest.json").exists() && !call.join("batches").exists());
    /// # std::fs::remove_dir_all(&dir).ok();
    /// # Ok::<(), flowinfer::Error>(())
    /// ```
    pub fn remove_batch_files(&self) -> Result<usize> {
        let calls = self.root.join("calls");
        let io =
            |p: &Path, what: &str, e: std::io::Error| Error::file(p, format!("cannot {what}: {e}"));
        let mut n = 0;
        for entry in std::fs::read_dir(&calls).map_err(|e| io(&calls, "read", e))? {
            let call = entry.map_err(|e| io(&calls, "read", e))?.path();
            if !call.is_dir() {
                continue;
            }
            for sub in ["batches", "logs"] {
                let dir = call.join(sub);
                if dir.exists() {
                    std::fs::remove_dir_all(&dir).map_err(|e| io(&dir, "remove", e))?;
                }
            }
            n += 1;
        }
        Ok(n)
    }

    /// Evaluates `points` through the executor (module docs).
    fn run(&self, points: &[f64], out: &mut [f64]) -> Result<()> {
        let d = self.inner.dim();
        let rows: Vec<Vec<f64>> = points.chunks_exact(d).map(<[f64]>::to_vec).collect();
        let mut hash = Sha256::new();
        hash.update((d as u64).to_le_bytes());
        for v in points {
            hash.update(v.to_bits().to_le_bytes());
        }
        let key: String = hash.finalize()[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let plan = Plan {
            function: BatchFunction::Integrand(self.spec.clone()),
            rows: rows.len(),
            seed: 0,
            batch_size: batch_size(&self.spec, &self.executor),
        };
        let batches = plan.batches();
        let dir = self.root.join("calls").join(key);
        let run = run_rows(&dir, plan, &rows, &self.executor, true, &self.inner, 1)?;
        self.ran.fetch_add(run.ran.len(), Ordering::Relaxed);
        self.reused
            .fetch_add(batches - run.ran.len(), Ordering::Relaxed);
        for (i, (o, row)) in out.iter_mut().zip(run.rows).enumerate() {
            *o = match row {
                Ok(v) if v.len() == 1 => v[0],
                Ok(v) => {
                    return Err(Error::file(
                        &dir,
                        format!("point {}: {} values, expected 1", i + 1, v.len()),
                    ))
                }
                Err(f) => return Err(Error::file(&dir, format!("point {}: {}", i + 1, f.reason))),
            };
        }
        Ok(())
    }
}

/// Points per batch: the executor's, else the integrand command's, else 1000.
fn batch_size(spec: &IntegrandConfig, exec: &ExecutorConfig) -> usize {
    exec.batch_size.or(spec.batch_size).unwrap_or(1000)
}

/// Creates (or, resuming, checks) the work directory's root.
fn prepare_root(root: &Path, identity: &Identity, resume: bool) -> Result<()> {
    let path = root.join("integrand.json");
    let io = |what: &str, e: std::io::Error| Error::file(root, format!("cannot {what}: {e}"));
    if path.exists() {
        if resume {
            let text = std::fs::read_to_string(&path).map_err(|e| io("read integrand.json", e))?;
            let old: Identity = serde_json::from_str(&text)
                .map_err(|e| Error::file(&path, format!("malformed: {e}")))?;
            if old != *identity {
                return Err(Error::file(
                    &path,
                    "the work directory was made for a different integrand or batch size; run \
                     without --resume to start again, or give another --work-dir",
                ));
            }
            return Ok(());
        }
        std::fs::remove_dir_all(root).map_err(|e| io("empty the old work directory", e))?;
    } else if root.exists()
        && std::fs::read_dir(root)
            .map_err(|e| io("read the work directory", e))?
            .next()
            .is_some()
    {
        return Err(Error::file(
            root,
            "exists, is not empty and has no integrand.json: not a flowinfer integrand work \
             directory (choose another --work-dir)",
        ));
    }
    let calls = root.join("calls");
    std::fs::create_dir_all(&calls).map_err(|e| io("create calls/", e))?;
    write_atomic(&path, serde_json::to_string_pretty(identity)?.as_bytes())
}

impl Integrand for ClusterIntegrand {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn dim(&self) -> usize {
        self.inner.dim()
    }

    /// Writes the points as batch files, evaluates the missing batches through the
    /// executor and reads every value back. Errors: the work directory or the
    /// executor failed, or batches still failed after their retries (named, with
    /// their stderr, the others kept for `--resume`).
    fn evaluate(&self, points: &[f64], out: &mut [f64]) -> std::result::Result<(), IntegrandError> {
        check_batch(self, points, out)?;
        self.run(points, out).map_err(|e| IntegrandError::External {
            integrand: self.inner.name().to_string(),
            message: format!("{} executor: {e}", executor_label(&self.executor)),
        })
    }

    fn exact(&self) -> Option<f64> {
        self.inner.exact()
    }
}

/// The integrand of a `flowinfer integrate` run writing to `out`: the spec's
/// integrand, evaluated through a [`ClusterIntegrand`] when the spec has an
/// `[executor]` (work directory: its `work_dir`, default `<out>.work`).
///
/// ```
/// use flowinfer::cluster::integrand_for_run;
/// use flowinfer::integrate::IntegrateConfig;
///
/// let out = std::env::temp_dir().join(format!("flowinfer-doc-irun-{}", std::process::id()));
/// let spec: IntegrateConfig = toml::from_str(
///     "[integrand]\nname = \"camel\"\ndim = 2\n[executor]\nbatch_size = 2\n",
/// ).unwrap();
/// let f = integrand_for_run(&spec, &out)?;
/// let mut v = [0.0; 3];
/// f.evaluate(&[0.3, 0.3, 0.5, 0.5, 0.7, 0.7], &mut v)?;
/// let work = out.with_file_name(format!("{}.work", out.file_name().unwrap().to_str().unwrap()));
/// assert!(work.join("integrand.json").exists());
/// # std::fs::remove_dir_all(&work).ok();
/// # Ok::<(), flowinfer::Error>(())
/// ```
pub fn integrand_for_run(cfg: &IntegrateConfig, out: &Path) -> Result<Box<dyn Integrand>> {
    match &cfg.executor {
        None => cfg.build_integrand(),
        Some(_) => Ok(Box::new(ClusterIntegrand::for_run(cfg, out)?)),
    }
}

impl ClusterIntegrand {
    /// The [`ClusterIntegrand`] of a run writing to `out` whose spec has an
    /// `[executor]` (an error when it has none): work directory the executor's
    /// `work_dir`, default `<out>.work`.
    pub fn for_run(cfg: &IntegrateConfig, out: &Path) -> Result<Self> {
        let exec = cfg
            .executor
            .as_ref()
            .ok_or_else(|| Error::config("the integration spec has no [executor] section"))?;
        let work_dir = exec.work_dir.clone().unwrap_or_else(|| {
            let mut name = out.file_name().unwrap_or_default().to_os_string();
            name.push(".work");
            out.with_file_name(name)
        });
        Self::new(cfg.integrand.clone(), exec.clone(), work_dir)
    }
}
