//! Run directories written by the previous format (before the one spec dialect: a
//! `run.json` whose `data` is a plain path, an `sbi.json` whose spec has `device = "cpu"`
//! and a required simulator) still load, and give the same draws as the binary that
//! wrote them (`tests/fixtures/v0-*`, written by flowinfer at commit 986bf75).

use std::path::{Path, PathBuf};
use std::process::Command;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("flowinfer-compat-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn run(args: &[&str]) {
    let o = Command::new(env!("CARGO_BIN_EXE_flowinfer"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn a_v0_fit_run_loads_and_samples_as_before() {
    let run_dir = fixture("v0-fit-run");
    let (info, flow) = flowinfer::pipeline::load_run(&run_dir).unwrap();
    assert_eq!(info.columns, ["a", "b"]);
    assert_eq!(
        info.data,
        flowinfer::pipeline::DataOrigin::File("tiny.csv".into())
    );
    assert_eq!(info.spec.flow.blocks, 2);
    assert_eq!(flow.dim(), 2);
    let dir = tmp("fit");
    let out = dir.join("samples.csv");
    run(&[
        "sample",
        "--run",
        run_dir.to_str().unwrap(),
        "-n",
        "5",
        "--seed",
        "3",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        std::fs::read_to_string(run_dir.join("expected-samples-n5-seed3.csv")).unwrap()
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_v0_sbi_run_loads_and_draws_as_before() {
    let run_dir = fixture("v0-sbi-run");
    let run = flowinfer::sbi::load_sbi_run(&run_dir, &candle_core::Device::Cpu).unwrap();
    assert_eq!(run.info.spec.simulator().unwrap().name, "two_moons");
    assert_eq!(run.info.spec.device.as_deref(), Some("cpu"));
    let dir = tmp("sbi");
    let out = dir.join("posterior.csv");
    run_cli_posterior(&run_dir, &out);
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        std::fs::read_to_string(run_dir.join("expected-posterior-n4-seed2.csv")).unwrap()
    );
    std::fs::remove_dir_all(&dir).ok();
}

fn run_cli_posterior(run_dir: &Path, out: &Path) {
    run(&[
        "posterior",
        "--run",
        run_dir.to_str().unwrap(),
        "--observation",
        run_dir.join("observation.csv").to_str().unwrap(),
        "-n",
        "4",
        "--seed",
        "2",
        "--out",
        out.to_str().unwrap(),
    ]);
}
