//! [`WorkDir`]: a run's batches (simulations, or integrand evaluations) as files on
//! a (shared) directory.
//!
//! ```text
//! <work_dir>/plan.json               function, rows, seed, batch size (the run's identity)
//! <work_dir>/manifest.json           batches done (row and failed-row counts) and failed
//! <work_dir>/batches/<k>.params.csv  input rows of batch k (CSV, no header)
//! <work_dir>/batches/<k>.results.csv one line per row: the output, or `!<reason>`
//! <work_dir>/logs/batch-<k>.{out,err} stdout/stderr of a Slurm array task
//! ```
//!
//! Every file is written atomically ([`crate::atomic`]); the manifest is rewritten
//! after each finished batch, so a crash loses at most the batches still running.
//! Numbers are written with Rust's `{}` (shortest round-trip), so results read back
//! bit for bit.

use super::function::BatchFunction;
use crate::atomic::write_atomic;
use crate::error::{Error, Result};
use flowinfer_simulators::RowFailure;

/// One simulated row: the observation, or why it failed.
pub type SimRow = std::result::Result<Vec<f64>, RowFailure>;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// What a work directory computes: its identity, checked by `--resume`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// The simulator or integrand (rebuilt by each batch task); `"simulator": {…}`
    /// or `"integrand": {…}` in `plan.json`.
    #[serde(flatten)]
    pub function: BatchFunction,
    /// Parameter rows in the run.
    pub rows: usize,
    /// Simulation seed.
    pub seed: u64,
    /// Rows per batch (the last batch may be shorter).
    pub batch_size: usize,
}

impl Plan {
    /// Number of batches.
    pub fn batches(&self) -> usize {
        self.rows.div_ceil(self.batch_size)
    }

    /// Row indices of batch `k` in the run.
    pub fn range(&self, k: usize) -> Range<usize> {
        let start = k * self.batch_size;
        start..(start + self.batch_size).min(self.rows)
    }
}

/// One finished batch in the manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct DoneRecord {
    rows: usize,
    failed_rows: usize,
}

/// `manifest.json`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Manifest {
    done: BTreeMap<usize, DoneRecord>,
    failed: BTreeMap<usize, String>,
}

/// An open work directory (module docs).
#[derive(Debug)]
pub struct WorkDir {
    root: PathBuf,
    plan: Plan,
    manifest: Mutex<Manifest>,
}

fn io_error(path: &Path, what: &str, e: std::io::Error) -> Error {
    Error::file(path, format!("cannot {what}: {e}"))
}

impl WorkDir {
    /// Opens `root` for `plan`. With `resume`, an existing directory must have been
    /// made for the same plan and its finished batches are kept; without, a previous
    /// work directory there is emptied (a non-empty directory that is not one is an
    /// error, never deleted).
    pub fn prepare(root: &Path, plan: Plan, resume: bool) -> Result<WorkDir> {
        let plan_path = root.join("plan.json");
        let mut manifest = Manifest::default();
        if plan_path.exists() && resume {
            let old = Self::open(root)?;
            if old.plan != plan {
                return Err(Error::file(
                    &plan_path,
                    "the work directory was made for a different run (simulator or integrand, \
                     rows, seed or batch size differ); run without --resume to start again, or \
                     give another work directory",
                ));
            }
            manifest = old.manifest.into_inner().unwrap_or_else(|p| p.into_inner());
            manifest.failed.clear();
        } else if root.exists() {
            let empty = std::fs::read_dir(root)
                .map_err(|e| io_error(root, "read the work directory", e))?
                .next()
                .is_none();
            if plan_path.exists() {
                std::fs::remove_dir_all(root)
                    .map_err(|e| io_error(root, "empty the old work directory", e))?;
            } else if !empty {
                return Err(Error::file(
                    root,
                    "exists, is not empty and has no plan.json: not a flowinfer work directory \
                     (choose another --work-dir)",
                ));
            }
        }
        for sub in ["batches", "logs"] {
            let dir = root.join(sub);
            std::fs::create_dir_all(&dir).map_err(|e| io_error(&dir, "create", e))?;
        }
        write_atomic(&plan_path, serde_json::to_string_pretty(&plan)?.as_bytes())?;
        let work = WorkDir {
            root: root.to_path_buf(),
            plan,
            manifest: Mutex::new(manifest),
        };
        work.save_manifest()?;
        Ok(work)
    }

    /// Opens an existing work directory (what a Slurm array task does).
    pub fn open(root: &Path) -> Result<WorkDir> {
        let read = |name: &str| {
            let path = root.join(name);
            std::fs::read_to_string(&path)
                .map_err(|e| io_error(&path, "read (is this a flowinfer work directory?)", e))
                .map(|text| (path, text))
        };
        let (path, text) = read("plan.json")?;
        let plan: Plan = serde_json::from_str(&text)
            .map_err(|e| Error::file(&path, format!("malformed plan: {e}")))?;
        let manifest = match read("manifest.json") {
            Ok((path, text)) => serde_json::from_str(&text)
                .map_err(|e| Error::file(&path, format!("malformed manifest: {e}")))?,
            Err(_) => Manifest::default(),
        };
        Ok(WorkDir {
            root: root.to_path_buf(),
            plan,
            manifest: Mutex::new(manifest),
        })
    }

    /// The directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// What it simulates.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// `batches/<k>.params.csv`.
    pub fn params_path(&self, k: usize) -> PathBuf {
        self.root.join("batches").join(format!("{k}.params.csv"))
    }

    /// `batches/<k>.results.csv`.
    pub fn results_path(&self, k: usize) -> PathBuf {
        self.root.join("batches").join(format!("{k}.results.csv"))
    }

    /// `logs/batch-<k>.err` (stderr of a Slurm array task).
    pub fn stderr_path(&self, k: usize) -> PathBuf {
        self.root.join("logs").join(format!("batch-{k}.err"))
    }

    /// Writes batch `k`'s parameter rows.
    pub fn write_params(&self, k: usize, thetas: &[Vec<f64>]) -> Result<()> {
        write_atomic(&self.params_path(k), format_rows(thetas).as_bytes())
    }

    /// Whether batch `k`'s parameter file holds exactly `thetas`.
    pub fn params_match(&self, k: usize, thetas: &[Vec<f64>]) -> bool {
        std::fs::read_to_string(self.params_path(k)).is_ok_and(|t| t == format_rows(thetas))
    }

    /// Reads batch `k`'s parameter rows (errors name the file, line and column).
    pub fn read_params(&self, k: usize) -> Result<Vec<Vec<f64>>> {
        let path = self.params_path(k);
        let text = std::fs::read_to_string(&path).map_err(|e| io_error(&path, "read", e))?;
        let rows: Vec<Vec<f64>> = text
            .lines()
            .enumerate()
            .map(|(i, line)| parse_row(&path, i + 1, line))
            .collect::<Result<_>>()?;
        let expected = self.plan.range(k).len();
        if rows.len() != expected {
            return Err(Error::file(
                &path,
                format!("has {} rows, expected {expected}", rows.len()),
            ));
        }
        Ok(rows)
    }

    /// Writes batch `k`'s results, one line per row (`!<reason>` for a failed row).
    pub fn write_results(&self, k: usize, rows: &[SimRow]) -> Result<()> {
        let mut text = String::new();
        for row in rows {
            match row {
                Ok(x) => text.push_str(&format_rows(std::slice::from_ref(x))),
                Err(f) => {
                    let _ = writeln!(text, "!{}", f.reason.replace(['\n', '\r'], " "));
                }
            }
        }
        write_atomic(&self.results_path(k), text.as_bytes())
    }

    /// Reads batch `k`'s results, with the row indices of the whole run. A file with
    /// the wrong number of rows or an unreadable value is an error naming it.
    pub fn read_results(&self, k: usize) -> Result<Vec<SimRow>> {
        let path = self.results_path(k);
        let text = std::fs::read_to_string(&path).map_err(|e| io_error(&path, "read", e))?;
        let range = self.plan.range(k);
        let lines: Vec<&str> = text.lines().collect();
        if lines.len() != range.len() {
            return Err(Error::file(
                &path,
                format!("has {} rows, expected {}", lines.len(), range.len()),
            ));
        }
        lines
            .iter()
            .zip(range)
            .enumerate()
            .map(|(i, (line, row))| match line.strip_prefix('!') {
                Some(reason) => Ok(Err(RowFailure {
                    row,
                    reason: reason.to_string(),
                })),
                None => parse_row(&path, i + 1, line).map(Ok),
            })
            .collect()
    }

    /// Batches whose results file reads back (the row count of the plan, every value
    /// readable). The files are the truth: a Slurm task that finished after
    /// `flowinfer` was killed counts as done though the manifest missed it.
    pub fn done(&self) -> BTreeSet<usize> {
        (0..self.plan.batches())
            .filter(|&k| self.read_results(k).is_ok())
            .collect()
    }

    /// Records batch `k` as done (its results are on disk).
    pub fn mark_done(&self, k: usize, rows: usize, failed_rows: usize) -> Result<()> {
        {
            let mut m = self.lock();
            m.failed.remove(&k);
            m.done.insert(k, DoneRecord { rows, failed_rows });
        }
        self.save_manifest()
    }

    /// Records batch `k` as failed for good, with the reason.
    pub fn mark_failed(&self, k: usize, reason: &str) -> Result<()> {
        self.lock().failed.insert(k, reason.to_string());
        self.save_manifest()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Manifest> {
        self.manifest.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn save_manifest(&self) -> Result<()> {
        let text = serde_json::to_string_pretty(&*self.lock())?;
        write_atomic(&self.root.join("manifest.json"), text.as_bytes())
    }
}

/// Rows as CSV lines (values with `{}`, no header).
fn format_rows(rows: &[Vec<f64>]) -> String {
    let mut text = String::new();
    for row in rows {
        for (j, v) in row.iter().enumerate() {
            if j > 0 {
                text.push(',');
            }
            let _ = write!(text, "{v}");
        }
        text.push('\n');
    }
    text
}

/// Parses one CSV line of a batch file; the error names the file, line and column.
fn parse_row(path: &Path, line_no: usize, line: &str) -> Result<Vec<f64>> {
    line.split(',')
        .enumerate()
        .map(|(j, field)| {
            field.trim().parse::<f64>().map_err(|_| {
                Error::file(
                    path,
                    format!(
                        "line {line_no}, column {}: cannot parse `{field}` as a number",
                        j + 1
                    ),
                )
            })
        })
        .collect()
}
