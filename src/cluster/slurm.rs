//! [`SlurmExecutor`]: batches submitted as one Slurm job array (`sbatch --array`),
//! one array task per batch running `flowinfer batch-task`, watched with `squeue`;
//! batches whose results file did not appear are resubmitted up to `retries` times.

use super::executor::{BatchCounts, Executor};
use super::spec::ExecutorConfig;
use super::workdir::WorkDir;
use crate::error::{Error, Result};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// Most stderr lines of a failed task quoted in its failure.
const STDERR_LINES: usize = 5;

/// Runs batches as array tasks on a Slurm cluster.
pub struct SlurmExecutor {
    /// Partition, time, memory, array width, retries, poll interval, extra args.
    pub config: ExecutorConfig,
    /// The `flowinfer` binary the array tasks run (it must be reachable from the
    /// compute nodes, as must the work directory).
    pub program: PathBuf,
}

/// `'text'` for a POSIX shell.
fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// `0-9,12,15-16`: batch indices as a Slurm array spec.
pub fn array_spec(batches: &[usize]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < batches.len() {
        let mut j = i;
        while j + 1 < batches.len() && batches[j + 1] == batches[j] + 1 {
            j += 1;
        }
        parts.push(if j > i {
            format!("{}-{}", batches[i], batches[j])
        } else {
            batches[i].to_string()
        });
        i = j + 1;
    }
    parts.join(",")
}

/// Runs a Slurm command, returning its stdout; the error names the command and
/// quotes its message.
pub(super) fn slurm(program: &str, args: &[String]) -> Result<String> {
    let out = Command::new(program).args(args).output().map_err(|e| {
        Error::config(format!(
            "cannot run `{program}`: {e} (is Slurm installed and on PATH? see docs/CLUSTER.md)"
        ))
    })?;
    if !out.status.success() {
        let message = String::from_utf8_lossy(&out.stderr)
            .trim()
            .replace('\n', " | ");
        return Err(Error::config(format!(
            "`{program} {}` failed ({}): {message}",
            args.join(" "),
            out.status
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The last lines of `path` (a task's stderr), or why there are none.
pub(super) fn stderr_tail(path: &Path) -> String {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
            if lines.is_empty() {
                "stderr: (empty)".into()
            } else {
                let start = lines.len().saturating_sub(STDERR_LINES);
                format!("stderr: {}", lines[start..].join(" | "))
            }
        }
        Err(_) => format!("no stderr file {}", path.display()),
    }
}

impl SlurmExecutor {
    /// Writes the array task script and submits `batches`; returns the job id.
    fn submit(&self, work: &WorkDir, batches: &[usize]) -> Result<String> {
        let root = work.root();
        let script = root.join("slurm-job.sh");
        let body = format!(
            "#!/bin/sh\n# Written by flowinfer: one array task per simulation batch.\nexec {} batch-task --work-dir {} --batch \"$SLURM_ARRAY_TASK_ID\"\n",
            shell_quote(&self.program.display().to_string()),
            shell_quote(&root.display().to_string()),
        );
        crate::atomic::write_atomic(&script, body.as_bytes())?;
        let c = &self.config;
        let mut array = array_spec(batches);
        if let Some(w) = c.array_width {
            array = format!("{array}%{w}");
        }
        let logs = root.join("logs");
        let mut args = vec![
            "--parsable".to_string(),
            "--job-name=flowinfer-sim".to_string(),
            format!("--array={array}"),
            format!("--output={}", logs.join("batch-%a.out").display()),
            format!("--error={}", logs.join("batch-%a.err").display()),
        ];
        for (flag, value) in [
            ("partition", &c.partition),
            ("time", &c.time),
            ("mem", &c.mem),
        ] {
            if let Some(v) = value {
                args.push(format!("--{flag}={v}"));
            }
        }
        args.extend(c.sbatch_args.iter().cloned());
        args.push(script.display().to_string());
        let out = slurm("sbatch", &args)?;
        let id = out.trim().split(';').next().unwrap_or("").to_string();
        if id.is_empty() || !id.chars().all(|ch| ch.is_ascii_digit()) {
            return Err(Error::config(format!(
                "`sbatch` answered `{}`, expected a job id",
                out.trim()
            )));
        }
        let mut log = std::fs::read_to_string(root.join("submissions.log")).unwrap_or_default();
        log.push_str(&format!("{id} {}\n", array_spec(batches)));
        crate::atomic::write_atomic(&root.join("submissions.log"), log.as_bytes())?;
        crate::atomic::write_atomic(&root.join("slurm-job"), id.as_bytes())?;
        Ok(id)
    }

    /// Array task states of `job` (`RUNNING`, `PENDING`, …) by task id; empty when
    /// the job has left the queue.
    fn queue(&self, job: &str) -> Result<BTreeMap<usize, String>> {
        let args: Vec<String> = ["-h", "-r", "-j", job, "-o", "%K %T"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        match slurm("squeue", &args) {
            Ok(text) => Ok(text
                .lines()
                .filter_map(|l| {
                    let mut w = l.split_whitespace();
                    let task = w.next()?.parse().ok()?;
                    Some((task, w.next().unwrap_or("").to_string()))
                })
                .collect()),
            // A job that finished long ago is unknown to squeue.
            Err(e) if e.to_string().contains("Invalid job id") => Ok(BTreeMap::new()),
            Err(e) => Err(e),
        }
    }

    /// Cancels a job left by an earlier (killed) run of this work directory.
    fn cancel_previous(&self, work: &WorkDir) {
        if let Ok(id) = std::fs::read_to_string(work.root().join("slurm-job")) {
            let _ = slurm("scancel", &[id.trim().to_string()]);
        }
    }
}

impl Executor for SlurmExecutor {
    fn name(&self) -> &'static str {
        "slurm"
    }

    fn run(
        &self,
        work: &WorkDir,
        batches: &[usize],
        already_done: usize,
        progress: &(dyn Fn(BatchCounts) + Sync),
    ) -> Result<BTreeMap<usize, String>> {
        self.cancel_previous(work);
        let total = already_done + batches.len();
        let mut done = already_done;
        let mut remaining: Vec<usize> = batches.to_vec();
        let mut reasons: BTreeMap<usize, String> = BTreeMap::new();
        let poll = Duration::from_secs_f64(self.config.poll_s);
        for _ in 0..=self.config.retries {
            if remaining.is_empty() {
                break;
            }
            let job = self.submit(work, &remaining)?;
            let mut open: BTreeSet<usize> = remaining.iter().copied().collect();
            loop {
                let queue = self.queue(&job)?;
                // Collect finished batches (results written atomically by the task).
                let finished: Vec<usize> = open
                    .iter()
                    .copied()
                    .filter(|&k| !queue.contains_key(&k))
                    .filter_map(|k| {
                        let rows = work.read_results(k).ok()?;
                        let bad = rows.iter().filter(|r| r.is_err()).count();
                        Some((k, rows.len(), bad))
                    })
                    .map(|(k, rows, bad)| work.mark_done(k, rows, bad).map(|()| k))
                    .collect::<Result<_>>()?;
                for k in finished {
                    open.remove(&k);
                    done += 1;
                }
                let running = queue.values().filter(|s| s.as_str() == "RUNNING").count();
                progress(BatchCounts {
                    total,
                    pending: total - done - running.min(open.len()),
                    running: running.min(open.len()),
                    done,
                    failed: 0,
                });
                if queue.is_empty() {
                    break;
                }
                std::thread::sleep(poll);
            }
            for &k in &open {
                reasons.insert(
                    k,
                    format!(
                        "Slurm job {job} task {k} left no results ({})",
                        stderr_tail(&work.stderr_path(k))
                    ),
                );
            }
            remaining = open.into_iter().collect();
        }
        let mut failed = BTreeMap::new();
        for k in remaining {
            let reason = format!(
                "{} (after {} attempts)",
                reasons.remove(&k).unwrap_or_default(),
                self.config.retries + 1
            );
            work.mark_failed(k, &reason)?;
            failed.insert(k, reason);
        }
        progress(BatchCounts {
            total,
            pending: 0,
            running: 0,
            done,
            failed: failed.len(),
        });
        Ok(failed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn array_specs_compress_runs() {
        assert_eq!(array_spec(&[0, 1, 2, 3, 7, 9, 10]), "0-3,7,9-10");
        assert_eq!(array_spec(&[5]), "5");
        assert_eq!(array_spec(&[]), "");
        assert_eq!(shell_quote("a b'c"), r"'a b'\''c'");
    }
}
