//! The command line end to end: the toy job, the data-file job with sample and eval,
//! resume, and bad input (one-line error, non-zero exit, nothing written).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn flowinfer() -> Command {
    Command::new(env!("CARGO_BIN_EXE_flowinfer"))
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("flowinfer-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into(),
        String::from_utf8_lossy(&o.stderr).into(),
    )
}

/// A small CSV of correlated 3-D events.
fn write_events(path: &Path, n: usize) {
    let mut s = String::from("a,b,c\n");
    for i in 0..n {
        let t = (i as f64 * 0.37).sin() * 2.0;
        let u = (i as f64 * 0.91).cos();
        s.push_str(&format!(
            "{},{},{}\n",
            t,
            t * 0.5 + u * 0.3,
            u + 0.1 * t * t
        ));
    }
    std::fs::write(path, s).unwrap();
}

const FAST_SPEC: &str = "[flow]\nkind = \"nsf\"\nblocks = 2\nhidden = 16\n[train]\nepochs = 4\nbatch_size = 64\nlr = 3e-3\n[eval]\nc2st = false\nplots = true\n";

#[test]
fn toy_fit_writes_model_and_samples_and_reports_nll() {
    let out = tmp("toy");
    let o = flowinfer()
        .args([
            "fit",
            "--toy",
            "two-moons",
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
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("test NLL (flow)"), "{stdout}");
    assert_eq!(
        std::fs::read_to_string(out.join("samples.csv"))
            .unwrap()
            .lines()
            .count(),
        51
    );
    assert!(out.join("model/flow.json").exists() && out.join("model/flow.safetensors").exists());
    std::fs::remove_dir_all(&out).ok();
}

#[test]
fn data_fit_then_sample_then_eval_round_trips() {
    let dir = tmp("data");
    std::fs::create_dir_all(&dir).unwrap();
    let data = dir.join("events.csv");
    write_events(&data, 400);
    let spec = dir.join("spec.toml");
    std::fs::write(&spec, FAST_SPEC).unwrap();
    let out = dir.join("run");
    let o = flowinfer()
        .arg("fit")
        .arg("--data")
        .arg(&data)
        .arg("--spec")
        .arg(&spec)
        .arg("--out")
        .arg(&out)
        .arg("--quiet")
        .output()
        .unwrap();
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("KDE overlap"), "{stdout}");
    for f in [
        "model/flow.json",
        "run.json",
        "report.json",
        "history.csv",
        "plots/loss.png",
        "plots/histograms.png",
        "plots/corner.png",
        "plots/latent.png",
    ] {
        assert!(out.join(f).exists(), "missing {f}");
    }
    assert_eq!(
        std::fs::read_to_string(out.join("history.csv"))
            .unwrap()
            .lines()
            .count(),
        5
    );
    // sample → CSV with the original header → eval reads it back.
    let samples = dir.join("samples.csv");
    let o = flowinfer()
        .arg("sample")
        .arg("--run")
        .arg(&out)
        .args(["-n", "300", "--out"])
        .arg(&samples)
        .output()
        .unwrap();
    assert!(o.status.success(), "{:?}", text(&o));
    let csv = std::fs::read_to_string(&samples).unwrap();
    assert_eq!(csv.lines().next().unwrap(), "a,b,c");
    assert_eq!(csv.lines().count(), 301);
    let o = flowinfer()
        .arg("eval")
        .arg("--run")
        .arg(&out)
        .arg("--data")
        .arg(&samples)
        .arg("--no-c2st")
        .output()
        .unwrap();
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stdout}\n{stderr}");
    // The model's own samples overlap themselves almost perfectly.
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("eval.json")).unwrap()).unwrap();
    assert!(
        report["kde_overlap"]["mean"].as_f64().unwrap() > 0.85,
        "{report}"
    );
    // --resume on a finished run continues from its checkpoint: nothing left to do, same result.
    let before = std::fs::read_to_string(out.join("history.csv")).unwrap();
    let o = flowinfer()
        .arg("fit")
        .arg("--data")
        .arg(&data)
        .arg("--spec")
        .arg(&spec)
        .arg("--out")
        .arg(&out)
        .arg("--quiet")
        .arg("--resume")
        .output()
        .unwrap();
    assert!(o.status.success(), "{:?}", text(&o));
    let after = std::fs::read_to_string(out.join("history.csv")).unwrap();
    let strip = |s: &str| {
        s.lines()
            .map(|l| l.rsplitn(3, ',').nth(2).unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(strip(&before), strip(&after));
    // --resume with other data is refused and leaves the run as it was.
    let other = dir.join("other.csv");
    write_events(&other, 300);
    let o = flowinfer()
        .arg("fit")
        .arg("--data")
        .arg(&other)
        .arg("--spec")
        .arg(&spec)
        .arg("--out")
        .arg(&out)
        .arg("--quiet")
        .arg("--resume")
        .output()
        .unwrap();
    let (_, stderr) = text(&o);
    assert!(
        !o.status.success() && stderr.contains("cannot resume"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(out.join("history.csv")).unwrap(),
        after
    );
    // -n 0 is an error, not a crash.
    let o = flowinfer()
        .arg("sample")
        .arg("--run")
        .arg(&out)
        .args(["-n", "0", "--out"])
        .arg(dir.join("none.csv"))
        .output()
        .unwrap();
    let (_, stderr) = text(&o);
    assert!(
        !o.status.success() && stderr.contains("at least 1"),
        "{stderr}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn malformed_data_fails_naming_file_row_and_column_and_writes_nothing() {
    let dir = tmp("bad");
    std::fs::create_dir_all(&dir).unwrap();
    let spec = dir.join("spec.toml");
    std::fs::write(&spec, FAST_SPEC).unwrap();
    let cases = [
        (
            "nan.csv",
            "a,b\n1,2\n3,NaN\n4,5\n",
            vec!["nan.csv", "row 2", "\"b\""],
        ),
        (
            "inf.csv",
            "a,b\n1,2\n3,4\ninf,5\n",
            vec!["inf.csv", "row 3", "\"a\""],
        ),
        (
            "missing.csv",
            "a,b\n1,2\n3,\n",
            vec!["missing.csv", "row 2", "\"b\""],
        ),
        ("text.csv", "a,b\n1,x\n", vec!["text.csv", "row 1", "\"b\""]),
        ("ragged.csv", "a,b\n1,2\n3\n", vec!["ragged.csv", "row 2"]),
    ];
    for (name, content, needles) in cases {
        let data = dir.join(name);
        std::fs::write(&data, content).unwrap();
        let out = dir.join(format!("out-{name}"));
        let o = flowinfer()
            .arg("fit")
            .arg("--data")
            .arg(&data)
            .arg("--spec")
            .arg(&spec)
            .arg("--out")
            .arg(&out)
            .arg("--quiet")
            .output()
            .unwrap();
        let (_, stderr) = text(&o);
        assert!(!o.status.success(), "{name} should fail");
        assert_eq!(
            stderr.trim().lines().count(),
            1,
            "{name}: one-line error expected: {stderr}"
        );
        for n in needles {
            assert!(stderr.contains(n), "{name}: {n:?} missing in {stderr}");
        }
        assert!(!out.exists(), "{name}: output written despite the error");
    }
    // Malformed spec: unknown key, named with the file.
    let bad_spec = dir.join("bad.toml");
    std::fs::write(&bad_spec, "[train]\nepoch = 3\n").unwrap();
    let data = dir.join("ok.csv");
    write_events(&data, 50);
    let o = flowinfer()
        .arg("fit")
        .arg("--data")
        .arg(&data)
        .arg("--spec")
        .arg(&bad_spec)
        .arg("--out")
        .arg(dir.join("o"))
        .output()
        .unwrap();
    let (_, stderr) = text(&o);
    assert!(
        !o.status.success() && stderr.contains("bad.toml") && stderr.contains("epoch"),
        "{stderr}"
    );
    // --drop-invalid drops and reports instead.
    let data = dir.join("dropme.csv");
    let mut s = std::fs::read_to_string(dir.join("ok.csv")).unwrap();
    s.push_str("1,nan,2\n");
    std::fs::write(&data, s).unwrap();
    let out = dir.join("dropped");
    let o = flowinfer()
        .arg("fit")
        .arg("--data")
        .arg(&data)
        .arg("--spec")
        .arg(&spec)
        .arg("--out")
        .arg(&out)
        .arg("--quiet")
        .arg("--drop-invalid")
        .output()
        .unwrap();
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stdout}\n{stderr}");
    assert!(stderr.contains("dropped 1 invalid rows of 51"), "{stderr}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn bad_arguments_fail_cleanly_and_write_nothing() {
    for (args, needle) in [
        (vec!["--toy", "no-such-set"], "two-moons"),
        (
            vec!["--toy", "two-moons", "--flow", "glow"],
            "realnvp, nsf, maf",
        ),
        (vec!["--toy", "two-moons", "--dtype", "f16"], "f32"),
        (vec!["--device", "cuda:0"], "cuda"),
        (vec!["--toy", "two-moons", "--n", "5"], "at least 20"),
        (vec![], "no data"),
        (vec!["--data", "/nonexistent/file.csv"], "file.csv"),
    ] {
        let out = tmp("badargs");
        let o = flowinfer()
            .arg("fit")
            .args(&args)
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap();
        let (_, err) = text(&o);
        assert!(!o.status.success(), "{args:?} should fail");
        assert!(
            err.contains("error:") && err.contains(needle),
            "{args:?}: {err}"
        );
        assert!(!out.exists(), "{args:?} left output behind");
    }
}
