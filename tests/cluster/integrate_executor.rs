//! `flowinfer integrate` with an executor: the integrand's batches as files, the same
//! result bit for bit as in memory, `--resume` after killing flowinfer evaluating only
//! the missing batches, and a batch with a short output failing alone.

use super::common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Writes `<dir>/camel.sh`: counts its runs in `$COUNT_LOG`; on run `$KILL_AT` it
/// kills its parent (flowinfer) with SIGKILL; on run `$SHORT_AT` it drops its last
/// output line; otherwise it is examples/workers/camel.py.
pub fn write_counting_camel(dir: &Path) -> PathBuf {
    let camel = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/workers/camel.py");
    let script = format!(
        "echo x >> \"$COUNT_LOG\"\nn=$(wc -l < \"$COUNT_LOG\")\n\
         if [ \"$n\" = \"${{KILL_AT:-0}}\" ]; then kill -9 $PPID; exit 1; fi\n\
         if [ \"$n\" = \"${{SHORT_AT:-0}}\" ]; then python3 {c} | sed '$d'; exit; fi\n\
         exec python3 {c}\n",
        c = camel.display()
    );
    let path = dir.join("camel.sh");
    std::fs::write(&path, script).unwrap();
    path
}

/// `flowinfer integrate` of the counting camel in d = 2: buffered training, 2 fresh
/// batches of 200 points and 600 evaluation points (program runs of up to 500
/// points), logging its runs to `log`, with `extra` arguments.
fn integrate(script: &Path, out: &Path, log: &Path, extra: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_flowinfer"));
    c.env("COUNT_LOG", log)
        .env_remove("KILL_AT")
        .env_remove("SHORT_AT")
        .args(["integrate", "--integrand-command"])
        .arg(format!("sh {}", script.display()))
        .args(["--dim", "2", "--command-batch", "500", "--mode", "buffered"])
        .args(["--reuse", "2", "--steps", "4", "--batch", "200"])
        .args(["--eval-samples", "600", "--bins", "4", "--hidden", "8"])
        .args(["--quiet", "--seed", "3", "--out"])
        .arg(out)
        .args(extra);
    c
}

/// Program runs logged in `log`.
fn runs(log: &Path) -> usize {
    std::fs::read_to_string(log).map_or(0, |t| t.lines().count())
}

/// `estimate` and `std_error` of a run's result.json, as bits.
fn estimate(out: &Path) -> (u64, u64) {
    let text = std::fs::read_to_string(out.join("result.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let bits = |k: &str| v[k].as_f64().unwrap().to_bits();
    (bits("estimate"), bits("std_error"))
}

/// `integrand batches: N evaluated, M reused from …` in a run's stderr.
fn batch_counts(stderr: &[u8]) -> (usize, usize) {
    let text = String::from_utf8_lossy(stderr);
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("integrand batches: "))
        .unwrap_or_else(|| panic!("no batch count in {text}"));
    let words: Vec<&str> = line.split_whitespace().collect();
    (words[0].parse().unwrap(), words[2].parse().unwrap())
}

#[test]
fn integrate_through_the_local_executor_is_identical_and_resumes_only_missing_batches() {
    if !have_python() {
        return;
    }
    let t = TempDir::new("integrate-exec");
    let script = write_counting_camel(&t.0);
    let exec = ["--executor", "local", "--sim-batch", "100"];
    // In memory: one program run per call (training batches of 200, 600 evaluation points).
    ok(integrate(
        &script,
        &t.0.join("memory"),
        &t.0.join("memory.log"),
        &[],
    ));
    // Through the local executor: batches of 100 points, one program run each.
    let log = t.0.join("local.log");
    let o = ok(integrate(&script, &t.0.join("local"), &log, &exec));
    let total = runs(&log);
    assert_eq!(batch_counts(&o.stderr), (total, 0));
    assert_eq!(
        total,
        2 * 2 + 6,
        "2 training calls of 2 batches, 6 evaluation batches"
    );
    assert_eq!(estimate(&t.0.join("local")), estimate(&t.0.join("memory")));
    let calls = std::fs::read_dir(t.0.join("local.work/calls"))
        .unwrap()
        .count();
    assert_eq!(calls, 3, "one work directory per evaluate call");
    // Killed by its integrand at the 6th program run: 5 batches done, then resumed
    // (the killed run did not finish, so its batch files are there to resume from).
    let out = t.0.join("killed");
    let log = t.0.join("killed.log");
    let mut c = integrate(&script, &out, &log, &exec);
    c.env("KILL_AT", "6");
    let o = c.output().unwrap();
    assert!(!o.status.success() && !out.join("result.json").exists());
    assert_eq!(runs(&log), 6);
    let resume = [&exec[..], &["--resume", "--keep-work-dir"]].concat();
    let o = ok(integrate(&script, &out, &log, &resume));
    assert_eq!(batch_counts(&o.stderr), (total - 5, 5));
    assert_eq!(runs(&log), 6 + total - 5, "only the missing batches ran");
    assert_eq!(estimate(&out), estimate(&t.0.join("memory")));
    // Resuming a finished run whose batch files were kept evaluates nothing.
    let o = ok(integrate(&script, &out, &log, &resume));
    assert_eq!(batch_counts(&o.stderr), (0, total));
}

#[test]
fn a_short_integrand_batch_fails_alone_and_the_others_are_kept() {
    if !have_python() {
        return;
    }
    let t = TempDir::new("integrate-short");
    let script = write_counting_camel(&t.0);
    let spec = t.0.join("spec.toml");
    std::fs::write(&spec, "[executor]\nretries = 0\nbatch_size = 50\n").unwrap();
    let out = t.0.join("run");
    let mut c = integrate(&script, &out, &t.0.join("runs.log"), &[]);
    c.arg("--spec").arg(&spec).env("SHORT_AT", "2");
    let o = c.output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "{err}");
    assert!(
        err.contains("1 of 4 integrand batches failed") && err.contains("batch 1:"),
        "{err}"
    );
    assert!(err.contains("--resume"), "{err}");
    // The first call's work directory: batch 1 failed, 0, 2 and 3 kept.
    let call = std::fs::read_dir(out.with_file_name("run.work/calls"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(call.join("manifest.json")).unwrap())
            .unwrap();
    let keys =
        |k: &str| -> Vec<String> { manifest[k].as_object().unwrap().keys().cloned().collect() };
    assert_eq!(keys("failed"), ["1"]);
    assert_eq!(keys("done"), ["0", "2", "3"]);
    assert!(manifest["failed"]["1"]
        .as_str()
        .unwrap()
        .contains("after 1 attempts"));
}

#[test]
fn srun_outside_an_allocation_is_a_clear_error() {
    let t = TempDir::new("integrate-srun");
    let o = Command::new(env!("CARGO_BIN_EXE_flowinfer"))
        .env_remove("SLURM_JOB_ID")
        .args(["integrate", "--integrand", "camel", "--dim", "2"])
        .args(["--steps", "1", "--batch", "64", "--eval-samples", "100"])
        .args([
            "--quiet",
            "--executor",
            "slurm",
            "--launch",
            "srun",
            "--out",
        ])
        .arg(t.0.join("run"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(
        err.contains("SLURM_JOB_ID is not set") && err.contains("salloc"),
        "{err}"
    );
}
