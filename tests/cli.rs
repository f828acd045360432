//! The command line: the main job runs end to end on a small budget, and bad
//! arguments give a one-line error and a non-zero exit without writing output.

use std::process::Command;

fn flowinfer() -> Command {
    Command::new(env!("CARGO_BIN_EXE_flowinfer"))
}

fn tmp(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("flowinfer-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

#[test]
fn fit_writes_model_and_samples_and_reports_nll() {
    let out = tmp("ok");
    let o = flowinfer()
        .args([
            "fit",
            "--n",
            "600",
            "--epochs",
            "3",
            "--blocks",
            "2",
            "--hidden",
            "16",
            "--samples",
            "50",
            "--quiet",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(stdout.contains("test NLL (flow)"), "{stdout}");
    let samples = std::fs::read_to_string(out.join("samples.csv")).unwrap();
    assert_eq!(samples.lines().count(), 51);
    assert!(out.join("model/flow.json").exists() && out.join("model/flow.safetensors").exists());
    std::fs::remove_dir_all(&out).ok();
}

#[test]
fn bad_arguments_fail_cleanly_and_write_nothing() {
    for (args, needle) in [
        (vec!["--dataset", "no-such-set"], "two-moons"),
        (vec!["--flow", "glow"], "realnvp, nsf or maf"),
        (vec!["--dtype", "f16"], "f32"),
        (vec!["--device", "cuda:0"], "cuda"),
        (vec!["--n", "5"], "at least 20"),
    ] {
        let out = tmp("bad");
        let o = flowinfer()
            .arg("fit")
            .args(&args)
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{args:?} should fail");
        assert!(
            err.contains("error:") && err.contains(needle),
            "{args:?}: {err}"
        );
        assert!(!out.exists(), "{args:?} left output behind");
    }
}
