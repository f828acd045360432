//! `flowinfer integrate` through the local executor with VEGAS (`--compare-vegas`,
//! `--vegas-warm-start`) and with `[channels]`: the same figures, bit for bit, as the
//! in-memory run with the same seed; and the work directory's batch files removed
//! after a finished run unless `--keep-work-dir` (or `[executor] keep = true`).

use super::common::*;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

/// `flowinfer integrate` of the built-in 2-D camel with a tiny budget, `extra` args.
fn camel(out: &Path, extra: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_flowinfer"));
    c.args(["integrate", "--integrand", "camel", "--dim", "2"])
        .args(["--mode", "buffered", "--reuse", "2", "--steps", "4"])
        .args(["--batch", "256", "--eval-samples", "1000", "--bins", "4"])
        .args([
            "--hidden",
            "8",
            "--quiet",
            "--accept-untrusted",
            "--seed",
            "5",
        ])
        .arg("--out")
        .arg(out)
        .args(extra);
    c
}

/// `result.json` of a run, with the timings (which differ between runs) removed.
fn figures(out: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(out.join("result.json")).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    strip_seconds(&mut v);
    v
}

fn strip_seconds(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(map) => {
            map.retain(|k, _| !k.contains("seconds") && !k.contains("per_s"));
            map.values_mut().for_each(strip_seconds);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(strip_seconds),
        _ => {}
    }
}

/// Runs `extra` in memory and through the local executor (batches of 300 points),
/// checks the figures are equal and prints both wall times.
fn same_in_memory_and_local(t: &TempDir, tag: &str, extra: &[&str]) {
    let memory = t.0.join(format!("{tag}-memory"));
    let start = Instant::now();
    ok(camel(&memory, extra));
    let in_memory = start.elapsed().as_secs_f64();
    let local = t.0.join(format!("{tag}-local"));
    let exec = ["--executor", "local", "--sim-batch", "300"];
    let start = Instant::now();
    ok(camel(&local, &[extra, &exec].concat()));
    let through = start.elapsed().as_secs_f64();
    let (a, b) = (figures(&memory), figures(&local));
    assert_eq!(
        a, b,
        "{tag}: the executor run differs from the in-memory run"
    );
    eprintln!("{tag}: in memory {in_memory:.1} s, local executor {through:.1} s");
}

#[test]
fn vegas_through_the_executor_gives_the_in_memory_figures() {
    let t = TempDir::new("integrate-vegas");
    let extra = [
        "--compare-vegas",
        "--vegas-warm-start",
        "--warm-start-calls",
        "2000",
    ];
    same_in_memory_and_local(&t, "vegas", &extra);
    let v = figures(&t.0.join("vegas-local"));
    assert!(v["vegas"]["estimate"].as_f64().is_some(), "{v}");
    let calls = std::fs::read_dir(t.0.join("vegas-local.work/calls"))
        .unwrap()
        .count();
    assert!(
        calls > 5,
        "VEGAS's evaluate calls each had a directory: {calls}"
    );
}

#[test]
fn channels_through_the_executor_give_the_in_memory_figures() {
    let t = TempDir::new("integrate-channels");
    let spec = t.0.join("channels.toml");
    std::fs::write(
        &spec,
        "[channels]\npeaks = [[0.333, 0.333], [0.667, 0.667]]\nadapt_calls = 2000\n",
    )
    .unwrap();
    let extra = ["--spec", spec.to_str().unwrap()];
    same_in_memory_and_local(&t, "channels", &extra);
    let v = figures(&t.0.join("channels-local"));
    assert_eq!(v["channels"].as_array().map(Vec::len), Some(3), "{v}");
}

/// Calls of a work directory, and how many still have their batch files.
fn calls_with_batches(work: &Path) -> (usize, usize) {
    let calls: Vec<_> = std::fs::read_dir(work.join("calls"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    for c in &calls {
        assert!(c.join("manifest.json").exists() && c.join("plan.json").exists());
    }
    let with = calls.iter().filter(|c| c.join("batches").exists()).count();
    (calls.len(), with)
}

#[test]
fn batch_files_are_removed_after_a_finished_run_unless_kept() {
    let t = TempDir::new("integrate-clean");
    let exec = ["--executor", "local", "--sim-batch", "300"];
    let out = t.0.join("run");
    let o = ok(camel(&out, &exec));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("batch files of") && err.contains("--keep-work-dir"),
        "{err}"
    );
    let (calls, with) = calls_with_batches(&t.0.join("run.work"));
    assert!(
        calls >= 2 && with == 0,
        "{calls} calls, {with} with batch files"
    );
    // Resumed after the clean-up: evaluated again, the same figures.
    ok(camel(&out, &[&exec[..], &["--resume"]].concat()));
    let first = figures(&out);
    // Kept with --keep-work-dir, and with [executor] keep = true.
    let kept = t.0.join("kept");
    ok(camel(&kept, &[&exec[..], &["--keep-work-dir"]].concat()));
    let (calls, with) = calls_with_batches(&t.0.join("kept.work"));
    assert_eq!(with, calls);
    assert_eq!(figures(&kept), first);
    let spec = t.0.join("keep.toml");
    std::fs::write(&spec, "[executor]\nkeep = true\nbatch_size = 300\n").unwrap();
    let kept = t.0.join("kept-spec");
    ok(camel(&kept, &["--spec", spec.to_str().unwrap()]));
    let (calls, with) = calls_with_batches(&t.0.join("kept-spec.work"));
    assert_eq!(with, calls);
}
