//! `flowinfer reweight` and `flowinfer distill` on the command line: a run end to end,
//! and bad input (one-line error naming the problem, non-zero exit, nothing written).

use flowinfer::config::FitConfig;
use flowinfer::density::{fit, DataSource, Output};
use std::path::{Path, PathBuf};
use std::process::Command;

fn flowinfer() -> Command {
    Command::new(env!("CARGO_BIN_EXE_flowinfer"))
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("flowinfer-cli-rw-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A 2-D events file with columns `header` (an extra constant column when `extra`).
fn write_events(path: &Path, header: &str, n: usize, extra: bool) {
    let mut s = format!("{header}\n");
    for i in 0..n {
        let t = (i as f64 * 0.37).sin() * 2.0;
        let u = (i as f64 * 0.91).cos();
        s.push_str(&format!("{},{}", t, 0.5 * t + 0.3 * u));
        if extra {
            s.push_str(",1");
        }
        s.push('\n');
    }
    std::fs::write(path, s).unwrap();
}

/// A small NSF run (not a MAF) on `data`.
fn small_run(dir: &Path, data: &Path) {
    let mut cfg = FitConfig::default();
    (cfg.flow.blocks, cfg.flow.hidden, cfg.train.epochs) = (2, 8, 2);
    cfg.eval.c2st = false;
    cfg.eval.plots = false;
    fit(
        &DataSource::File(data.into()),
        &cfg,
        Output::to(dir),
        |_| {},
    )
    .unwrap();
}

#[test]
fn reweight_runs_and_rejects_a_data_file_with_other_columns() {
    let dir = tmp("rw");
    let data = dir.join("events.csv");
    write_events(&data, "a,b", 400, false);
    let run = dir.join("run");
    small_run(&run, &data);

    let out = dir.join("rw");
    let o = flowinfer()
        .args(["reweight", "--run"])
        .arg(&run)
        .arg("--data")
        .arg(&data)
        .args(["--samples", "800", "--epochs", "5", "--folds", "2", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        stdout.contains("classifier AUC") && stdout.contains("Kish ESS"),
        "{stdout}"
    );
    assert!(out.join("weights.csv").is_file());

    let bad = dir.join("other.csv");
    write_events(&bad, "a,b,detector", 100, true);
    let out_bad = dir.join("rw-bad");
    let o = flowinfer()
        .args(["reweight", "--run"])
        .arg(&run)
        .arg("--data")
        .arg(&bad)
        .arg("--out")
        .arg(&out_bad)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(
        err.starts_with("error:") && err.contains("other.csv") && err.contains("\"detector\""),
        "{err}"
    );
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(!out_bad.exists());

    // distill refuses a teacher that is not a MAF.
    let out_student = dir.join("student");
    let o = flowinfer()
        .args(["distill", "--run"])
        .arg(&run)
        .arg("--out")
        .arg(&out_student)
        .arg("--quiet")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(err.contains("must be a MAF run"), "{err}");
    assert!(!out_student.exists());
    let _ = std::fs::remove_dir_all(&dir);
}
