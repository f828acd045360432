//! NLE/SNLE through the command line: a spec with `[nle]` (SNLE, 2 rounds) writes its
//! run with the MCMC mixing report; `posterior` on the run draws by MCMC and reports
//! R-hat/ESS; chains that cannot move (a tiny slice width, no warm-up) are reported as
//! not mixed, in plain words; a bad `[nle]` setting is refused by name.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("flowinfer-nle-{}-{name}", std::process::id()));
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

fn spec(dir: &Path, name: &str, mcmc: &str) -> PathBuf {
    let obs = dir.join("obs.csv");
    std::fs::write(&obs, "x1,x2\n0.1,-0.1\n").unwrap();
    let spec = dir.join(name);
    std::fs::write(
        &spec,
        format!(
            "[simulator]\nname = \"two_moons\"\n[npe]\nsimulations = 600\n[nle]\nrounds = 2\ncandidates = 500\nobservation = \"{}\"\n[nle.mcmc]\n{mcmc}\n[flow]\nblocks = 1\nhidden = 8\n[train]\nepochs = 3\n",
            obs.display()
        ),
    )
    .unwrap();
    spec
}

#[test]
fn snle_run_posterior_and_a_chain_that_does_not_mix() {
    let dir = tmp("cli");
    let out = dir.join("run");
    let good = spec(&dir, "good.toml", "chains = 8\nwarmup = 30\ndraws = 40");
    let o = run(&["sbi", "--spec", s(&good), "--out", s(&out), "--quiet"]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    assert!(
        stderr.contains("round 2") || stderr.contains("R-hat"),
        "{stderr}"
    );
    let info: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("nle.json")).unwrap()).unwrap();
    assert_eq!(info["rounds"].as_array().unwrap().len(), 2);
    assert_eq!(info["simulations_used"], 600);
    assert_eq!(info["mixing"]["rhat"].as_array().unwrap().len(), 2);
    assert!(out.join("draws.csv").exists() && out.join("model").is_dir());

    let draws = dir.join("draws.csv");
    let o = run(&[
        "posterior",
        "--run",
        s(&out),
        "--observation",
        s(&dir.join("obs.csv")),
        "-n",
        "100",
        "--out",
        s(&draws),
    ]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    assert!(
        stderr.contains("R-hat") && stderr.contains("ESS"),
        "{stderr}"
    );
    let text = std::fs::read_to_string(&draws).unwrap();
    assert_eq!(text.lines().count(), 101, "header + 100 draws");

    // Chains that cannot move: the warning names R-hat, and the run still completes.
    let bad = spec(
        &dir,
        "bad.toml",
        "chains = 4\nwarmup = 0\ndraws = 40\nthin = 1\ninitial_width = 1e-7",
    );
    let o = run(&[
        "sbi",
        "--spec",
        s(&bad),
        "--out",
        s(&dir.join("bad")),
        "--quiet",
    ]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    assert!(
        stderr.contains("warning") && stderr.contains("did not mix") && stderr.contains("R-hat"),
        "{stderr}"
    );
    // ... and the run's report records the R-hat values and the warning.
    let info: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("bad/nle.json")).unwrap()).unwrap();
    let w = info["mixing"]["warning"]
        .as_str()
        .expect("warning in nle.json");
    assert!(w.contains("did not mix"), "{w}");
    assert!(info["mixing"]["rhat"]
        .as_array()
        .unwrap()
        .iter()
        .any(|v| v.as_f64().is_none_or(|r| r > 1.01)));
}

#[test]
fn bad_nle_settings_are_refused_by_name() {
    let dir = tmp("bad");
    let bad = spec(&dir, "zero.toml", "chains = 0");
    let o = run(&["sbi", "--spec", s(&bad), "--out", s(&dir.join("run"))]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(
        stderr.contains("[nle.mcmc]") && stderr.contains("chains"),
        "{stderr}"
    );
    assert!(!dir.join("run").exists(), "nothing half-written");
}

#[test]
fn snle_resumes_refuses_another_spec_and_diagnose_runs_sbc_by_mcmc() {
    let dir = tmp("resume");
    let out = dir.join("run");
    let good = spec(&dir, "good.toml", "chains = 4\nwarmup = 10\ndraws = 20");
    let o = run(&["sbi", "--spec", s(&good), "--out", s(&out), "--quiet"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(out.join("rounds/state.json").is_file());
    let info = |p: &Path| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(p.join("nle.json")).unwrap()).unwrap()
    };
    assert_eq!(info(&out)["resumed_rounds"], 0);

    // The same spec again: both rounds come from the state.
    let o = run(&["sbi", "--spec", s(&good), "--out", s(&out), "--quiet"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(info(&out)["resumed_rounds"], 2);

    // Another spec on the same directory: refused, naming the state file; run intact.
    let other = spec(&dir, "other.toml", "chains = 4\nwarmup = 11\ndraws = 20");
    let o = run(&["sbi", "--spec", s(&other), "--out", s(&out), "--quiet"]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(
        stderr.contains("state.json") && stderr.contains("different spec"),
        "{stderr}"
    );
    assert_eq!(info(&out)["resumed_rounds"], 2);

    // SBC, coverage and TARP by MCMC on the NLE run.
    let o = run(&[
        "diagnose",
        "--run",
        s(&out),
        "--sbc-runs",
        "20",
        "--sbc-samples",
        "40",
        "--sbc-warmup",
        "10",
    ]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        stdout.contains("SBC") && stdout.contains("R-hat"),
        "{stdout}"
    );
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("diagnostics/report.json")).unwrap(),
    )
    .unwrap();
    let ranks = report["sbc"]["ranks"].as_array().unwrap();
    assert_eq!(ranks.len(), 2);
    assert_eq!(ranks[0].as_array().unwrap().len(), 20);
    assert!(ranks[0]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r.as_u64().unwrap() <= 40));
    assert_eq!(
        report["sbc_mixing"]["median_rhat"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert!(out.join("diagnostics/sbc_ranks.png").is_file());
}
