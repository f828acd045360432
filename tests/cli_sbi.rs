//! The SBI verbs end to end: `sbi` → `posterior` → `diagnose` on a tiny budget, an
//! external simulator (a shell script) with failing rows dropped and counted, and bad
//! input (wrong observation width, non-finite values, a failing program): one clear
//! error, non-zero exit, nothing written. A failing simulator program is a simulation
//! error naming the program and quoting its stderr, from the library and the CLI.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn flowinfer() -> Command {
    Command::new(env!("CARGO_BIN_EXE_flowinfer"))
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("flowinfer-sbi-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into(),
        String::from_utf8_lossy(&o.stderr).into(),
    )
}

fn run(args: &[&str]) -> Output {
    flowinfer().args(args).output().unwrap()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// An external simulator: x = (2·a, a + b) per row; `mode` injects failures.
fn external_spec(dir: &Path, awk_body: &str) -> PathBuf {
    let script = dir.join("sim.sh");
    std::fs::write(&script, format!("#!/bin/sh\nawk -F, '{awk_body}'\n")).unwrap();
    let spec = dir.join("spec.toml");
    std::fs::write(
        &spec,
        format!(
            "[simulator]\nname = \"external\"\n[simulator.external]\ncommand = [\"sh\", \"{}\"]\nparam_names = [\"a\", \"b\"]\nprior = [{{ type = \"uniform\", low = 0.0, high = 1.0 }}, {{ type = \"normal\", mean = 0.0, std = 1.0 }}]\nobs_dim = 2\nbatch_size = 100\n[npe]\nsimulations = 400\n[flow]\nblocks = 2\nhidden = 16\n[train]\nepochs = 3\nbatch_size = 64\n",
            script.display()
        ),
    )
    .unwrap();
    spec
}

#[test]
fn sbi_then_posterior_then_diagnose() {
    let dir = tmp("e2e");
    let out = dir.join("run");
    let o = run(&[
        "sbi",
        "--task",
        "two_moons",
        "--simulations",
        "600",
        "--epochs",
        "3",
        "--out",
        s(&out),
        "--quiet",
    ]);
    let (so, se) = text(&o);
    assert!(o.status.success(), "{so}\n{se}");
    assert!(so.contains("600 used of 600"), "{so}");
    for f in [
        "sbi.json",
        "model/flow.json",
        "history.csv",
        "plots/loss.png",
    ] {
        assert!(out.join(f).exists(), "missing {f}");
    }

    let obs = dir.join("obs.csv");
    std::fs::write(&obs, "data_1,data_2\n0.1,-0.2\n-0.6,0.16\n").unwrap();
    let samples = dir.join("post.csv");
    let o = run(&[
        "posterior",
        "--run",
        s(&out),
        "--observation",
        s(&obs),
        "-n",
        "50",
        "--out",
        s(&samples),
    ]);
    assert!(o.status.success(), "{:?}", text(&o));
    let csv = std::fs::read_to_string(&samples).unwrap();
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("observation,parameter_1,parameter_2"));
    let rows: Vec<Vec<f64>> = lines
        .map(|l| l.split(',').map(|v| v.parse().unwrap()).collect())
        .collect();
    assert_eq!(rows.len(), 100);
    // two_moons has a uniform prior on [-1, 1]²: every draw lies inside.
    assert!(rows.iter().all(|r| r[1].abs() <= 1.0 && r[2].abs() <= 1.0));
    assert_eq!(rows.iter().filter(|r| r[0] == 2.0).count(), 50);

    let o = run(&[
        "diagnose",
        "--run",
        s(&out),
        "--sbc-runs",
        "30",
        "--sbc-samples",
        "40",
        "--predictive-draws",
        "20",
    ]);
    let (so, se) = text(&o);
    assert!(o.status.success(), "{so}\n{se}");
    assert!(so.contains("p = ") && so.contains("90 % band"), "{so}");
    for f in [
        "report.json",
        "sbc_ranks.png",
        "coverage.png",
        "predictive.png",
        "posterior.png",
    ] {
        assert!(out.join("diagnostics").join(f).exists(), "missing {f}");
    }
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("diagnostics/report.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(report["sbc"]["runs"], 30);
    assert_eq!(report["sbc"]["ranks"][0].as_array().unwrap().len(), 30);
}

/// Run `posterior` expecting failure; returns its stderr.
fn posterior_fails(run_dir: &Path, obs: &Path, samples: &Path) -> String {
    let o = run(&[
        "posterior",
        "--run",
        s(run_dir),
        "--observation",
        s(obs),
        "--out",
        s(samples),
    ]);
    assert!(!o.status.success());
    text(&o).1
}

#[test]
fn bad_observations_are_clear_errors_and_write_nothing() {
    let dir = tmp("badobs");
    let out = dir.join("run");
    let o = run(&[
        "sbi",
        "--task",
        "two_moons",
        "--simulations",
        "200",
        "--epochs",
        "1",
        "--out",
        s(&out),
        "--quiet",
    ]);
    assert!(o.status.success(), "{:?}", text(&o));
    let samples = dir.join("post.csv");
    let obs = dir.join("wide.csv");
    std::fs::write(&obs, "a,b,c\n1,2,3\n").unwrap();
    let se = posterior_fails(&out, &obs, &samples);
    assert!(
        se.contains("3 columns") && se.contains("produces 2"),
        "{se}"
    );
    assert!(!samples.exists());

    let obs = dir.join("nan.csv");
    std::fs::write(&obs, "a,b\n1,2\n0.5,nan\n").unwrap();
    let se = posterior_fails(&out, &obs, &samples);
    assert!(se.contains("nan.csv") && se.contains("row"), "{se}");
    assert!(!samples.exists());

    let o = run(&[
        "posterior",
        "--run",
        s(&dir),
        "--observation",
        s(&obs),
        "--out",
        s(&samples),
    ]);
    let (_, se) = text(&o);
    assert!(!o.status.success());
    assert!(se.contains("sbi.json"), "{se}");
}

#[test]
fn external_simulator_failures_are_dropped_and_counted() {
    let dir = tmp("ext-partial");
    // Rows with a > 0.9 produce NaN; rows with 0.8 < a ≤ 0.9 have a missing column.
    let spec = external_spec(
        &dir,
        "{ if ($1 > 0.9) print \"nan,1\"; else if ($1 > 0.8) print 2*$1; else print 2*$1 \",\" $1+$2 }",
    );
    let out = dir.join("run");
    let o = run(&["sbi", "--spec", s(&spec), "--out", s(&out), "--quiet"]);
    let (so, se) = text(&o);
    assert!(o.status.success(), "{so}\n{se}");
    assert!(se.contains("simulations failed and were dropped"), "{se}");
    let info: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("sbi.json")).unwrap()).unwrap();
    let failed = info["simulations_failed"].as_u64().unwrap();
    let used = info["simulations_used"].as_u64().unwrap();
    // About 20 % of U(0, 1) draws fail; all of them are accounted for.
    assert!((40..=130).contains(&failed), "failed {failed}");
    assert_eq!(used + failed, 400);
    let reasons = info["failures"].to_string();
    assert!(
        reasons.contains("non-finite") || reasons.contains("column"),
        "{reasons}"
    );
}

#[test]
fn failing_external_simulators_are_errors_and_write_nothing() {
    for (name, body, expect) in [
        ("exit", "{ exit 3 }", "exit status 3"),
        ("columns", "{ print 1 }", "column"),
        ("nan", "{ print \"nan,nan\" }", "non-finite"),
    ] {
        let dir = tmp(&format!("ext-{name}"));
        let spec = external_spec(&dir, body);
        let out = dir.join("run");
        let o = run(&["sbi", "--spec", s(&spec), "--out", s(&out), "--quiet"]);
        let (_, se) = text(&o);
        assert!(!o.status.success(), "{name}: should fail");
        assert!(se.contains(expect), "{name}: {se}");
        assert!(
            se.lines().filter(|l| l.starts_with("error")).count() == 1,
            "{se}"
        );
        assert!(!out.exists(), "{name}: output written");
    }
}

/// A spec whose external simulator is `sh <dir>/boom.sh`, which writes `boom` to
/// stderr and exits with status 3 on every batch.
fn crashing_spec(dir: &Path) -> (PathBuf, PathBuf) {
    let script = dir.join("boom.sh");
    std::fs::write(&script, "echo boom >&2; exit 3\n").unwrap();
    let spec = external_spec(dir, "{ print }");
    let text = std::fs::read_to_string(&spec).unwrap();
    let text = text.replace(s(&dir.join("sim.sh")), s(&script));
    std::fs::write(&spec, text).unwrap();
    (spec, script)
}

#[test]
fn a_crashing_simulator_is_a_simulation_error_from_the_library() {
    use flowinfer::sbi::{train_npe, SbiConfig};
    use flowinfer_simulators::{ExternalSimulator, ExternalSimulatorConfig, PriorSpec};
    let dir = tmp("lib-crash");
    let script = dir.join("boom.sh");
    std::fs::write(&script, "echo boom >&2; exit 3\n").unwrap();
    let mut config = ExternalSimulatorConfig::new(
        vec!["sh".into(), s(&script).into()],
        vec!["a".into()],
        vec![PriorSpec::Uniform {
            low: 0.0,
            high: 1.0,
        }],
        1,
    );
    config.batch_size = 10;
    let sim = ExternalSimulator::new(config).unwrap();
    let mut cfg = SbiConfig::default();
    cfg.npe.simulations = 40;
    let err = match train_npe(&sim, &cfg, |_| {}) {
        Ok(_) => panic!("a crashing simulator trained"),
        Err(e) => e,
    };
    let msg = err.to_string();
    assert!(matches!(err, flowinfer::Error::Simulation(_)), "{err:?}");
    assert!(msg.starts_with("simulation failed: "), "{msg}");
    assert!(
        msg.contains(s(&script)) && msg.contains("stderr: boom"),
        "{msg}"
    );
    assert!(msg.contains("exit status 3"), "{msg}");
}

#[test]
fn a_crashing_simulator_names_the_program_in_the_cli_error() {
    let dir = tmp("cli-crash");
    let (spec, script) = crashing_spec(&dir);
    let out = dir.join("run");
    let o = run(&["sbi", "--spec", s(&spec), "--out", s(&out), "--quiet"]);
    let (_, se) = text(&o);
    assert!(!o.status.success(), "{se}");
    assert!(se.contains(s(&script)), "{se}");
    assert!(se.contains("stderr: boom"), "{se}");
    assert!(se.contains("simulation failed"), "{se}");
    assert!(!se.contains("invalid configuration"), "{se}");
    // The simulator's message is shown once, not repeated by the error chain.
    assert_eq!(se.matches("stderr: boom").count(), 1, "{se}");
    assert!(!out.exists(), "output written");
}

#[test]
fn cuda_without_the_feature_is_a_clear_error() {
    if cfg!(feature = "cuda") {
        return;
    }
    let dir = tmp("cuda");
    let out = dir.join("run");
    let o = run(&[
        "sbi",
        "--task",
        "two_moons",
        "--simulations",
        "100",
        "--out",
        s(&out),
        "--device",
        "cuda",
    ]);
    let (_, se) = text(&o);
    assert!(!o.status.success());
    assert!(se.contains("without the `cuda` feature"), "{se}");
    assert!(!out.exists());
}
