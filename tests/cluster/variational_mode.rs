//! `flowinfer variational` with an external target in one-shot, persistent,
//! persistent-f64 and persistent-shm mode (`--command-mode`, `[target] command_mode`): the same result
//! bit for bit, with the persistent workers started once rather than per batch.

use super::common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Writes `<dir>/target.sh`: logs each start to `<dir>/starts.log`, then runs
/// examples/workers/normal_logpdf.py.
fn counting_target(dir: &Path) -> PathBuf {
    let worker =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/workers/normal_logpdf.py");
    let path = dir.join("target.sh");
    std::fs::write(
        &path,
        format!(
            "echo start >> {}\nexec python3 {}\n",
            dir.join("starts.log").display(),
            worker.display()
        ),
    )
    .unwrap();
    path
}

/// `elbo` and `log_z` of a run, as bits.
fn figures(out: &Path) -> (u64, u64) {
    let text = std::fs::read_to_string(out.join("result.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let bits = |k: &str| v[k].as_f64().unwrap().to_bits();
    (bits("elbo"), bits("log_z"))
}

#[test]
fn variational_targets_give_the_same_result_in_every_command_mode() {
    if !have_python() {
        return;
    }
    let t = TempDir::new("variational-modes");
    let target = counting_target(&t.0);
    let mut results = Vec::new();
    let mut starts = Vec::new();
    for (mode, via_spec) in [
        ("oneshot", false),
        ("persistent", false),
        ("persistent-f64", true),
        ("persistent-shm", false),
    ] {
        let _ = std::fs::remove_file(t.0.join("starts.log"));
        let out = t.0.join(mode);
        let mut c = Command::new(env!("CARGO_BIN_EXE_flowinfer"));
        c.args(["variational", "--target-command"])
            .arg(format!("sh {}", target.display()))
            .args(["--dim", "2", "--steps", "4", "--samples", "64"])
            .args(["--eval-samples", "400", "--draws", "50", "--no-plots"])
            .args(["--blocks", "1", "--hidden", "8", "--seed", "1", "--out"])
            .arg(&out);
        if via_spec {
            let spec = t.0.join("spec.toml");
            std::fs::write(&spec, format!("[target]\ncommand_mode = \"{mode}\"\n")).unwrap();
            c.arg("--spec").arg(spec);
        } else {
            c.args(["--command-mode", mode]);
        }
        ok(c);
        results.push(figures(&out));
        starts.push(
            std::fs::read_to_string(t.0.join("starts.log"))
                .unwrap()
                .lines()
                .count(),
        );
    }
    assert_eq!(results[0], results[1]);
    assert_eq!(results[0], results[2]);
    assert_eq!(results[0], results[3]);
    // One-shot starts a program per batch (at least one per step); the workers
    // started once each are far fewer.
    assert!(starts[0] >= 4, "{starts:?}");
    assert!(starts[1..].iter().all(|&n| n < starts[0]), "{starts:?}");
}
