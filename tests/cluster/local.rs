//! The local executor through `flowinfer sbi`: batch files identical to an in-memory
//! run, resume after a kill, a failing batch failing alone, sbatch missing.

use super::common::*;
use std::time::{Duration, Instant};

#[test]
fn local_executor_matches_the_in_memory_run() {
    if !have_python() {
        return;
    }
    let t = TempDir::new("local-same");
    let spec = write_spec(&t.0, 0.0, None, "kind = \"local\"");
    ok(sbi(&spec, &t.0.join("run"), &[]));
    let work = t.0.join("run.work");
    let files = results(&work);
    assert_eq!(files.len(), 10, "{files:?}");
    assert_eq!(logged_batches(&t.0), (0..10).collect::<Vec<_>>());
    // The same spec without an executor trains on the same data: the same loss.
    let plain = std::fs::read_to_string(&spec)
        .unwrap()
        .replace("[executor]\nkind = \"local\"\n", "");
    std::fs::write(t.0.join("plain.toml"), plain).unwrap();
    ok(sbi(&t.0.join("plain.toml"), &t.0.join("plain"), &[]));
    assert_eq!(best_loss(&t.0.join("run")), best_loss(&t.0.join("plain")));
    let manifest = std::fs::read_to_string(work.join("manifest.json")).unwrap();
    assert!(manifest.contains("\"9\""), "{manifest}");
}

#[test]
fn resume_after_a_kill_simulates_only_the_missing_batches() {
    if !have_python() {
        return;
    }
    let t = TempDir::new("local-resume");
    let spec = write_spec(&t.0, 0.15, None, "kind = \"local\"\nparallel = 1");
    let out = t.0.join("run");
    let work = t.0.join("run.work");
    let mut child = sbi(&spec, &out, &[]).spawn().unwrap();
    let start = Instant::now();
    while results(&work).len() < 3 && start.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let kept = results(&work);
    assert!((3..10).contains(&kept.len()), "{} batches done", kept.len());
    std::fs::remove_file(t.0.join("batches.log")).unwrap();
    ok(sbi(&spec, &out, &["--resume"]));
    let done: Vec<usize> = kept.iter().map(|(k, _)| *k).collect();
    let missing: Vec<usize> = (0..10).filter(|k| !done.contains(k)).collect();
    assert_eq!(logged_batches(&t.0), missing);
    // Kept batches untouched, and everything equal to an uninterrupted run.
    let after = results(&work);
    for (k, text) in &kept {
        assert_eq!(&after[*k].1, text, "batch {k}");
    }
    let fresh = t.0.join("fresh");
    ok(sbi(
        &spec,
        &fresh,
        &["--work-dir", t.0.join("fresh.work").to_str().unwrap()],
    ));
    assert_eq!(after, results(&t.0.join("fresh.work")));
    assert_eq!(best_loss(&out), best_loss(&fresh));
}

#[test]
fn a_batch_with_a_wrong_row_count_fails_alone_and_resume_retries_it() {
    if !have_python() {
        return;
    }
    let t = TempDir::new("local-short");
    let spec = write_spec(&t.0, 0.0, Some(4), "kind = \"local\"\nretries = 1");
    let out = t.0.join("run");
    let o = sbi(&spec, &out, &[]).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(
        err.contains("1 of 10 simulation batches failed")
            && err.contains("batch 4")
            && err.contains("wrote 19 lines for 20 parameter rows")
            && err.contains("after 2 attempts"),
        "{err}"
    );
    assert!(!out.exists(), "no half-written run");
    let kept: Vec<usize> = results(&t.0.join("run.work"))
        .iter()
        .map(|(k, _)| *k)
        .collect();
    assert_eq!(kept, vec![0, 1, 2, 3, 5, 6, 7, 8, 9]);
    // Batch 4 ran twice (one retry); fixed, a resume runs only it.
    assert_eq!(logged_batches(&t.0).iter().filter(|&&k| k == 4).count(), 2);
    write_spec(&t.0, 0.0, None, "kind = \"local\"");
    std::fs::remove_file(t.0.join("batches.log")).unwrap();
    ok(sbi(&spec, &out, &["--resume"]));
    assert_eq!(logged_batches(&t.0), vec![4]);
}

#[test]
fn missing_sbatch_is_a_clear_error() {
    let t = TempDir::new("no-sbatch");
    let spec = write_spec(&t.0, 0.0, None, "kind = \"slurm\"");
    let mut c = sbi(&spec, &t.0.join("run"), &[]);
    c.env("PATH", t.0.join("empty-path"));
    let o = c.output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(
        err.contains("cannot run `sbatch`") && err.contains("Slurm"),
        "{err}"
    );
}

#[test]
fn batch_sizes_must_keep_the_simulators_seeds() {
    let t = TempDir::new("bad-batch");
    let spec = write_spec(&t.0, 0.0, None, "kind = \"local\"");
    let o = sbi(&spec, &t.0.join("run"), &["--sim-batch", "30"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(
        err.contains("[executor] batch_size (30) must be a multiple") && err.contains("(20)"),
        "{err}"
    );
    assert!(!t.0.join("run").exists() && !t.0.join("run.work").exists());
}

/// The local executor, one batch at a time.
const LOCAL_1: &str = "kind = \"local\"\nparallel = 1";

#[test]
fn tsnpe_rounds_through_the_executor_resume_after_a_kill_in_round_two() {
    if !have_python() {
        return;
    }
    let t = TempDir::new("local-rounds");
    let reference = t.0.join("reference");
    ok(sbi(&rounds_spec(&t.0, 0.0, LOCAL_1), &reference, &[]));
    let spec = rounds_spec(&t.0, 0.2, LOCAL_1);
    let out = t.0.join("run");
    let work = t.0.join("run.work");
    let mut child = sbi(&spec, &out, &[]).spawn().unwrap();
    let start = Instant::now();
    while results(&work.join("round-2")).is_empty() && start.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let round1 = results(&work.join("round-1"));
    let kept = results(&work.join("round-2"));
    assert_eq!(round1.len(), 5);
    assert!(
        (1..5).contains(&kept.len()),
        "{} batches of round 2 done",
        kept.len()
    );
    // A simulator program forked just before the kill still logs its batch.
    std::thread::sleep(Duration::from_secs(1));
    std::fs::remove_file(t.0.join("batches.log")).unwrap();
    ok(sbi(&spec, &out, &["--resume"]));
    // Round 1 came from the run's saved state; round 2 ran only its missing batches.
    let done: Vec<usize> = kept.iter().map(|(k, _)| *k).collect();
    let missing: Vec<usize> = (0..5).filter(|k| !done.contains(k)).collect();
    assert_eq!(logged_batches(&t.0), missing);
    assert_eq!(results(&work.join("round-1")), round1);
    assert_eq!(round_losses(&out), round_losses(&reference));
    assert_eq!(best_loss(&out), best_loss(&reference));
}
