//! The Slurm executor against a real single-node cluster (`scripts/slurm-local.sh
//! start`); every test is skipped with a message when `sbatch`/`sinfo` are missing or
//! the cluster is not up.

use super::common::*;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// Whether a Slurm cluster answers `sinfo` within 5 s with an idle or busy node
/// (asked once per test binary).
fn slurm_up() -> bool {
    static UP: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let up = *UP.get_or_init(|| {
        let Ok(mut child) = Command::new("sinfo")
            .args(["-h", "-o", "%t"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
        else {
            return false;
        };
        let start = Instant::now();
        loop {
            match child.try_wait() {
                Ok(Some(status)) if status.success() => break,
                Ok(None) if start.elapsed() < Duration::from_secs(5) => {
                    std::thread::sleep(Duration::from_millis(50))
                }
                _ => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return false;
                }
            }
        }
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut text);
        text.lines()
            .any(|s| s.starts_with("idle") || s.starts_with("mix") || s.starts_with("alloc"))
    });
    if !up {
        eprintln!(
            "skipped: no Slurm cluster answers (install slurm-wlm and munge, then run \
             scripts/slurm-local.sh start)"
        );
    }
    up && have_python()
}

const SLURM: &str = "kind = \"slurm\"\npoll_s = 0.2\npartition = \"debug\"";

/// The reference: the same spec run by the local executor, its results files.
fn local_reference(dir: &Path, sleep_s: f64) -> Vec<(usize, String)> {
    let spec = write_spec(dir, sleep_s, None, "kind = \"local\"");
    ok(sbi(&spec, &dir.join("local"), &[]));
    results(&dir.join("local.work"))
}

/// Lines of `submissions.log`: `<job id> <array spec>`.
fn submissions(work: &Path) -> Vec<(String, String)> {
    std::fs::read_to_string(work.join("submissions.log"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let (id, spec) = l.split_once(' ')?;
            Some((id.to_string(), spec.to_string()))
        })
        .collect()
}

/// Waits (at most 60 s) until `ready()`.
fn wait_for(what: &str, ready: impl Fn() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// States of the array tasks of `job` by task id.
fn tasks(job: &str) -> Vec<(String, String)> {
    let o = Command::new("squeue")
        .args(["-h", "-r", "-j", job, "-o", "%K %T"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter_map(|l| {
            l.split_once(' ')
                .map(|(a, b)| (a.to_string(), b.to_string()))
        })
        .collect()
}

#[test]
fn ten_array_tasks_give_the_local_training_data() {
    if !slurm_up() {
        return;
    }
    let t = TempDir::new("slurm-same");
    let reference = local_reference(&t.0, 0.0);
    let spec = write_spec(&t.0, 0.0, None, SLURM);
    ok(sbi(&spec, &t.0.join("run"), &[]));
    let work = t.0.join("run.work");
    assert_eq!(results(&work), reference);
    assert_eq!(submissions(&work).len(), 1);
    assert_eq!(submissions(&work)[0].1, "0-9");
    assert_eq!(best_loss(&t.0.join("run")), best_loss(&t.0.join("local")));
}

#[test]
fn a_cancelled_task_is_resubmitted_and_the_data_are_the_same() {
    if !slurm_up() {
        return;
    }
    let t = TempDir::new("slurm-cancel");
    let reference = local_reference(&t.0, 0.0);
    let spec = write_spec(&t.0, 1.0, None, SLURM);
    let work = t.0.join("run.work");
    let mut child = sbi(&spec, &t.0.join("run"), &[]).spawn().unwrap();
    wait_for("the job array", || !submissions(&work).is_empty());
    let job = submissions(&work)[0].0.clone();
    wait_for("task 1 to run", || {
        tasks(&job).iter().any(|(k, s)| k == "1" && s == "RUNNING")
    });
    let status = Command::new("scancel")
        .arg(format!("{job}_1"))
        .status()
        .unwrap();
    assert!(status.success());
    assert!(child.wait().unwrap().success());
    let subs = submissions(&work);
    assert_eq!(subs.len(), 2, "{subs:?}");
    assert_eq!(subs[1].1, "1");
    assert_eq!(results(&work), reference);
}

#[test]
fn resume_after_killing_flowinfer_submits_only_the_missing_batches() {
    if !slurm_up() {
        return;
    }
    let t = TempDir::new("slurm-resume");
    let reference = local_reference(&t.0, 0.0);
    let spec = write_spec(&t.0, 0.5, None, SLURM);
    let work = t.0.join("run.work");
    let mut child = sbi(&spec, &t.0.join("run"), &[]).spawn().unwrap();
    wait_for("3 finished batches", || results(&work).len() >= 3);
    child.kill().unwrap();
    child.wait().unwrap();
    let job = submissions(&work)[0].0.clone();
    Command::new("scancel").arg(&job).status().unwrap();
    wait_for("the job to leave the queue", || tasks(&job).is_empty());
    let done: Vec<usize> = results(&work).iter().map(|(k, _)| *k).collect();
    assert!(done.len() < 10, "all batches finished before the kill");
    ok(sbi(&spec, &t.0.join("run"), &["--resume"]));
    let missing: Vec<usize> = (0..10).filter(|k| !done.contains(k)).collect();
    let subs = submissions(&work);
    assert_eq!(subs.len(), 2, "{subs:?}");
    assert_eq!(subs[1].1, flowinfer::cluster::array_spec(&missing));
    assert_eq!(results(&work), reference);
}

#[test]
fn a_bad_partition_names_sbatch_and_its_message() {
    if !slurm_up() {
        return;
    }
    let t = TempDir::new("slurm-partition");
    let spec = write_spec(&t.0, 0.0, None, SLURM);
    let o = sbi(
        &spec,
        &t.0.join("run"),
        &["--partition", "no-such-partition"],
    )
    .output()
    .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(
        err.contains("`sbatch") && err.to_lowercase().contains("invalid partition"),
        "{err}"
    );
}

/// `estimate` of an integrate run's result.json, as bits.
fn estimate_bits(out: &Path) -> u64 {
    let text = std::fs::read_to_string(out.join("result.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["estimate"].as_f64().unwrap().to_bits()
}

#[test]
fn integrand_batches_on_slurm_give_the_in_memory_estimate() {
    if !slurm_up() {
        return;
    }
    let t = TempDir::new("slurm-integrate");
    let spec = t.0.join("spec.toml");
    std::fs::write(
        &spec,
        format!("[executor]\n{SLURM}\nbatch_size = 200\narray_width = 2\n"),
    )
    .unwrap();
    let run = |out: &str, extra: &[&str]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_flowinfer"));
        c.args(["integrate", "--integrand", "camel", "--dim", "2"])
            .args(["--mode", "buffered", "--reuse", "2", "--steps", "4"])
            .args(["--batch", "400", "--eval-samples", "800"])
            .args(["--bins", "4", "--hidden", "8", "--quiet", "--seed", "5"])
            .arg("--out")
            .arg(t.0.join(out))
            .args(extra);
        ok(c)
    };
    run("memory", &[]);
    let spec_arg = spec.display().to_string();
    let o = run("slurm", &["--spec", &spec_arg]);
    assert_eq!(
        estimate_bits(&t.0.join("slurm")),
        estimate_bits(&t.0.join("memory"))
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("integrand batches: 8 evaluated, 0 reused"),
        "{err}"
    );
    // Three calls (two training batches, the evaluation), each one job array.
    let calls: Vec<_> = std::fs::read_dir(t.0.join("slurm.work/calls"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(calls.len(), 3);
    for call in calls {
        assert_eq!(submissions(&call).len(), 1, "{}", call.display());
    }
}

/// Runs `flowinfer sbi` on `spec` inside an allocation of 2 CPUs (`sbatch --wait`);
/// returns whether the job succeeded and the driver's stderr.
fn sbi_in_allocation(dir: &Path, spec: &Path) -> (bool, String) {
    let driver = dir.join("driver.sh");
    std::fs::write(
        &driver,
        format!(
            "#!/bin/sh\nexec {} sbi --quiet --spec {} --out {}\n",
            env!("CARGO_BIN_EXE_flowinfer"),
            spec.display(),
            dir.join("run").display()
        ),
    )
    .unwrap();
    let o = Command::new("sbatch")
        .args(["--wait", "--parsable", "-n", "2", "--partition=debug"])
        .arg(format!("--output={}", dir.join("driver.out").display()))
        .arg(format!("--error={}", dir.join("driver.err").display()))
        .arg(&driver)
        .output()
        .unwrap();
    let log = std::fs::read_to_string(dir.join("driver.err")).unwrap_or_default();
    (
        o.status.success(),
        format!(
            "{} | driver stderr: {log}",
            String::from_utf8_lossy(&o.stderr)
        ),
    )
}

#[test]
fn a_failing_srun_step_is_retried_then_reported_and_the_others_are_kept() {
    if !slurm_up() {
        return;
    }
    let t = TempDir::new("slurm-srun-fail");
    let spec = write_spec(
        &t.0,
        0.0,
        Some(3),
        "kind = \"slurm\"\nlaunch = \"srun\"\narray_width = 2\nretries = 1",
    );
    let (ok, log) = sbi_in_allocation(&t.0, &spec);
    assert!(!ok, "{log}");
    assert!(
        log.contains("1 of 10 simulation batches failed")
            && log.contains("srun step for batch 3")
            && log.contains("(after 2 attempts)"),
        "{log}"
    );
    let done: Vec<usize> = results(&t.0.join("run.work"))
        .iter()
        .map(|(k, _)| *k)
        .collect();
    assert_eq!(done, [0, 1, 2, 4, 5, 6, 7, 8, 9]);
    assert_eq!(logged_batches(&t.0).iter().filter(|&&k| k == 3).count(), 2);
}

#[test]
fn srun_steps_inside_an_allocation_give_the_local_training_data() {
    if !slurm_up() {
        return;
    }
    let t = TempDir::new("slurm-srun");
    let reference = local_reference(&t.0, 0.0);
    let spec = write_spec(
        &t.0,
        0.0,
        None,
        "kind = \"slurm\"\nlaunch = \"srun\"\narray_width = 2",
    );
    let (ok, log) = sbi_in_allocation(&t.0, &spec);
    assert!(ok, "{log}");
    let work = t.0.join("run.work");
    assert_eq!(results(&work), reference);
    assert_eq!(best_loss(&t.0.join("run")), best_loss(&t.0.join("local")));
    let subs = std::fs::read_to_string(work.join("submissions.log")).unwrap();
    assert_eq!(subs.trim(), "srun 0-9 width 2");
}

#[test]
fn tsnpe_rounds_on_slurm_give_the_local_rounds() {
    if !slurm_up() {
        return;
    }
    let t = TempDir::new("slurm-rounds");
    ok(sbi(
        &rounds_spec(&t.0, 0.0, "kind = \"local\""),
        &t.0.join("local"),
        &[],
    ));
    ok(sbi(&rounds_spec(&t.0, 0.0, SLURM), &t.0.join("run"), &[]));
    for round in ["round-1", "round-2"] {
        let files = results(&t.0.join("run.work").join(round));
        assert_eq!(files.len(), 5, "{round}");
        assert_eq!(
            files,
            results(&t.0.join("local.work").join(round)),
            "{round}"
        );
        assert_eq!(submissions(&t.0.join("run.work").join(round)).len(), 1);
    }
    assert_eq!(
        round_losses(&t.0.join("run")),
        round_losses(&t.0.join("local"))
    );
}
