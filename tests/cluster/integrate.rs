//! `flowinfer integrate --command-mode`: an external integrand gives the same
//! estimate, bit for bit, in one-shot, persistent, persistent-f64 and persistent-shm
//! mode.

use super::common::*;
use std::path::PathBuf;
use std::process::Command;

#[test]
fn integrate_estimates_are_identical_in_every_command_mode() {
    if !have_python() {
        return;
    }
    let t = TempDir::new("integrate-modes");
    let worker = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/workers/camel.py");
    let mut estimates = Vec::new();
    for mode in ["oneshot", "persistent", "persistent-f64", "persistent-shm"] {
        let out = t.0.join(mode);
        let mut c = Command::new(env!("CARGO_BIN_EXE_flowinfer"));
        c.args(["integrate", "--integrand-command"])
            .arg(format!("python3 {}", worker.display()))
            .args([
                "--dim",
                "2",
                "--command-batch",
                "500",
                "--command-mode",
                mode,
            ])
            .args(["--steps", "3", "--batch", "256", "--eval-samples", "2000"])
            .args([
                "--bins", "4", "--hidden", "8", "--quiet", "--seed", "3", "--out",
            ])
            .arg(&out);
        ok(c);
        let result: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("result.json")).unwrap())
                .unwrap();
        estimates.push(result["estimate"].as_f64().unwrap());
    }
    assert!(estimates[0] > 0.5 && estimates[0] < 1.5, "{estimates:?}");
    assert_eq!(estimates[0], estimates[1]);
    assert_eq!(estimates[0], estimates[2]);
    assert_eq!(estimates[0], estimates[3]);
    // A mode that does not exist is refused by the command line.
    let o = Command::new(env!("CARGO_BIN_EXE_flowinfer"))
        .args(["integrate", "--integrand-command", "true", "--dim", "2"])
        .args(["--command-mode", "forever"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("oneshot"), "{err}");
}
