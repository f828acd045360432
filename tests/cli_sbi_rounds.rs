//! TSNPE rounds and the misspecification check through the command line: a `[rounds]`
//! spec writes its per-round report, a rerun with another spec in the same directory is
//! refused, and `posterior` warns (with the percentile) for an observation the
//! simulator cannot produce.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("flowinfer-rounds-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_flowinfer"))
        .args(args)
        .output()
        .unwrap()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn spec(dir: &Path, hpd_level: f64) -> PathBuf {
    let obs = dir.join("obs.csv");
    std::fs::write(&obs, "x1,x2\n0.1,-0.1\n").unwrap();
    let spec = dir.join(format!("spec-{hpd_level}.toml"));
    std::fs::write(
        &spec,
        format!(
            "[simulator]\nname = \"two_moons\"\n[rounds]\nrounds = 2\nsimulations = 300\nhpd_level = {hpd_level}\nthreshold_draws = 500\nobservation = \"{}\"\n[flow]\nblocks = 1\nhidden = 8\n[train]\nepochs = 3\n[misspecification]\nlevel = 0.1\nblocks = 1\nhidden = 8\nepochs = 3\n",
            obs.display()
        ),
    )
    .unwrap();
    spec
}

#[test]
fn rounds_report_refused_resume_and_misspecification_warning() {
    let dir = tmp("cli");
    let out = dir.join("run");
    let o = run(&[
        "sbi",
        "--spec",
        s(&spec(&dir, 1e-4)),
        "--out",
        s(&out),
        "--quiet",
    ]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(stdout.contains("accepted fraction"), "{stdout}");
    let rounds: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("rounds.json")).unwrap()).unwrap();
    assert_eq!(rounds.as_array().unwrap().len(), 2);
    assert!(out.join("rounds/state.json").exists() && out.join("misspecification").is_dir());

    // Another spec in the same run directory: refused, the finished run kept.
    let o = run(&[
        "sbi",
        "--spec",
        s(&spec(&dir, 1e-3)),
        "--out",
        s(&out),
        "--quiet",
    ]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && stderr.contains("different spec"),
        "{stderr}"
    );
    assert!(out.join("sbi.json").exists());

    // An observation far outside anything two_moons produces is flagged.
    let far = dir.join("far.csv");
    std::fs::write(&far, "x1,x2\n40.0,-40.0\n").unwrap();
    let o = run(&[
        "posterior",
        "--run",
        s(&out),
        "--observation",
        s(&far),
        "-n",
        "10",
        "--out",
        s(&dir.join("post.csv")),
    ]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("warning: observation 1")
            && stderr.contains("atypical")
            && stderr.contains("percentile"),
        "{stderr}"
    );
    std::fs::remove_dir_all(&dir).ok();
}
