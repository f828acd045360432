//! Surjective layers from the command line (issue 18): a `[flow] surjective` spec
//! through `fit`, `sample` and `eval` (exact vs bound, the importance-weighted NLL),
//! and bad input (a structured layer of the wrong width, a pooling block that does not
//! divide the image, non-integer data to dequantization): one clear error, non-zero
//! exit, nothing written.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn flowinfer() -> Command {
    Command::new(env!("CARGO_BIN_EXE_flowinfer"))
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("flowinfer-survae-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn text(o: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

const TRAIN: &str = "[train]\nepochs = 2\nbatch_size = 64\nlr = 3e-3\n[eval]\nc2st = false\nplots = false\niw_samples = 4\n";

fn fit(dir: &Path, spec: &str, toy: &str, n: &str) -> (Output, PathBuf) {
    let path = dir.join("spec.toml");
    std::fs::write(&path, spec).unwrap();
    let out = dir.join("run");
    let o = flowinfer()
        .args(["fit", "--toy", toy, "--n", n, "--quiet", "--spec"])
        .arg(&path)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    (o, out)
}

#[test]
fn surjective_spec_fits_samples_and_evaluates_with_the_iw_bound() {
    let dir = tmp("fit");
    let spec = format!(
        "[flow]\nkind = \"realnvp\"\nblocks = 2\nhidden = 16\n\
         [[flow.surjective]]\ntype = \"abs\"\nlearned = true\n\
         [[flow.surjective]]\ntype = \"augment\"\nextra = 2\nmodel = {{ kind = \"conditional\", hidden = 8, depth = 1 }}\nat = 0\n{TRAIN}"
    );
    let (o, run) = fit(&dir, &spec, "n-gon", "400");
    assert!(o.status.success(), "{}", text(&o));
    let flow: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("model/flow.json")).unwrap())
            .unwrap();
    let kinds: Vec<&str> = flow["spec"]["transforms"]
        .as_array()
        .or_else(|| flow["transforms"].as_array())
        .unwrap()
        .iter()
        .map(|t| t["type"].as_str().unwrap())
        .collect();
    assert_eq!(&kinds[..3], ["abs", "standardize", "augment"], "{kinds:?}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["test"]["likelihood"], "bound");
    assert_eq!(report["test"]["nll_iw"]["k"], 4);

    let samples = dir.join("s.csv");
    let o = flowinfer()
        .args(["sample", "--n", "30", "--run"])
        .arg(&run)
        .arg("--out")
        .arg(&samples)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        std::fs::read_to_string(&samples).unwrap().lines().count(),
        31
    );

    let o = flowinfer()
        .args([
            "eval",
            "--toy",
            "n-gon",
            "--n",
            "200",
            "--no-c2st",
            "--iw-samples",
            "16",
            "--run",
        ])
        .arg(&run)
        .output()
        .unwrap();
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    assert!(
        t.contains("NLL (bound, 1 sample)") && t.contains("K = 16"),
        "{t}"
    );
    let e: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("eval.json")).unwrap()).unwrap();
    assert_eq!(e["likelihood"], "bound");
    let (nll, iw) = (
        e["nll"].as_f64().unwrap(),
        e["nll_iw"]["nll"].as_f64().unwrap(),
    );
    assert!(nll.is_finite() && iw.is_finite(), "{e}");
    std::fs::remove_dir_all(&dir).ok();
}

/// Runs `fit` with `spec` on `toy` and checks it fails with every one of `words` in
/// its message, writing nothing.
fn refused(name: &str, spec: &str, toy: &str, n: &str, words: &[&str]) {
    let dir = tmp(name);
    let (o, run) = fit(&dir, spec, toy, n);
    let t = text(&o);
    assert!(!o.status.success(), "{name}: accepted\n{t}");
    for w in words {
        assert!(t.contains(w), "{name}: no {w:?} in\n{t}");
    }
    assert!(!t.contains("panicked"), "{t}");
    assert!(!run.exists(), "{name}: wrote {}", run.display());
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn bad_surjective_input_is_refused_before_anything_is_written() {
    let pool = |block: usize| {
        format!(
            "[flow]\nkind = \"realnvp\"\nblocks = 1\nhidden = 8\n\
             [[flow.surjective]]\ntype = \"max_pool2d\"\nheight = 8\nwidth = 8\nblock = {block}\n{TRAIN}"
        )
    };
    // an 8×8 pooling layer given 2-D points
    refused(
        "shape",
        &pool(2),
        "two-moons",
        "200",
        &["surjective[0]", "max_pool2d", "64", "2"],
    );
    // non-integer events to dequantization
    let deq = format!(
        "[flow]\nkind = \"realnvp\"\nblocks = 1\nhidden = 8\n\
         [[flow.surjective]]\ntype = \"uniform_dequantize\"\n{TRAIN}"
    );
    refused(
        "dequantize",
        &deq,
        "two-moons",
        "200",
        &["integer", "row", "column"],
    );
    // a layer placed past the last block, and a misspelt key
    let late = format!(
        "[flow]\nblocks = 1\nhidden = 8\n[[flow.surjective]]\ntype = \"abs\"\nat = 3\n{TRAIN}"
    );
    refused(
        "late",
        &late,
        "two-moons",
        "200",
        &["surjective[0]", "past the last block"],
    );
    let typo = format!(
        "[flow]\nblocks = 1\nhidden = 8\n[[flow.surjective]]\ntype = \"abs\"\nlerned = true\n{TRAIN}"
    );
    refused(
        "typo",
        &typo,
        "two-moons",
        "200",
        &["surjective[0]", "lerned"],
    );
    if flowinfer::pipeline::builtin::digits_path().exists() {
        // a 3×3 block does not divide the 8×8 digit images
        refused("block", &pool(3), "digits", "100", &["3", "8"]);
    }
}
