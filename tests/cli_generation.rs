//! Event generation on the command line (docs/GENERATION.md): column domains in the
//! spec (bad declarations and data outside them: one-line errors naming row and
//! column, non-zero exit, nothing written) and conditional generation end to end.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn flowinfer() -> Command {
    Command::new(env!("CARGO_BIN_EXE_flowinfer"))
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("flowinfer-gen-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into()
}

/// Events with an energy-like positive column `e`, an angle `phi` in [0, 360) and a
/// column `x` that depends on `e`.
fn write_events(path: &Path, n: usize) {
    let mut s = String::from("e,phi,x\n");
    for i in 0..n {
        let u = (i as f64 * 0.618_034).fract();
        let e = (3.0 * u - 1.0).exp();
        let phi = (i as f64 * 37.3) % 360.0;
        let x = e.ln() + 0.3 * (i as f64 * 0.91).sin();
        s.push_str(&format!("{e},{phi},{x}\n"));
    }
    std::fs::write(path, s).unwrap();
}

const FAST: &str = "[flow]\nkind = \"nsf\"\nblocks = 2\nhidden = 16\n[train]\nepochs = 3\nbatch_size = 64\nlr = 3e-3\n[eval]\nc2st = false\nplots = false\n";

fn spec(dir: &Path, data_section: &str) -> PathBuf {
    let p = dir.join("spec.toml");
    std::fs::write(&p, format!("[data]\n{data_section}\n{FAST}")).unwrap();
    p
}

fn fit(dir: &Path, spec: &Path, data: &Path, extra: &[&str]) -> Output {
    flowinfer()
        .args(["fit", "--quiet", "--spec"])
        .arg(spec)
        .arg("--data")
        .arg(data)
        .arg("--out")
        .arg(dir.join("run"))
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn data_outside_a_declared_domain_fails_naming_row_and_column_and_writes_nothing() {
    let d = tmp("bad-domains");
    let data = d.join("events.csv");
    write_events(&data, 200);
    let cases = [
        // e = exp(3u − 1) spans about (0.37, 7.4): an interval [0, 5] is violated.
        (
            "domains = { e = { interval = [0, 5] } }",
            vec!["row", "column \"e\"", "[0, 5]"],
        ),
        (
            "domains = { phi = { periodic = [0, 180] } }",
            vec!["row", "column \"phi\"", "[0, 180)"],
        ),
        (
            "domains = { e = \"positiv\" }",
            vec!["spec.toml", "positiv"],
        ),
        ("domains = { nope = \"positive\" }", vec!["nope", "columns"]),
        (
            "domains = { e = { interval = [3, 1] } }",
            vec!["e", "a < b"],
        ),
    ];
    for (decl, want) in cases {
        let o = fit(&d, &spec(&d, decl), &data, &[]);
        let err = stderr(&o);
        assert!(!o.status.success(), "{decl}: should fail");
        for w in want {
            assert!(err.contains(w), "{decl}: error {err:?} lacks {w:?}");
        }
        // (The spec loader adds the key's path on a second line.)
        assert!(
            err.starts_with("error: ") && err.trim().lines().count() <= 2,
            "{decl}: {err}"
        );
        assert!(!d.join("run").exists(), "{decl}: wrote a run directory");
    }
    // Row 1 is the first data row: make only row 7 negative.
    let text = std::fs::read_to_string(&data).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    lines[7] = format!("-1.0{}", &lines[7][lines[7].find(',').unwrap()..]);
    std::fs::write(&data, lines.join("\n")).unwrap();
    let o = fit(&d, &spec(&d, "domains = { e = \"positive\" }"), &data, &[]);
    let err = stderr(&o);
    assert!(err.contains("row 7") && err.contains("positive"), "{err}");
    assert!(!d.join("run").exists());
}

#[test]
fn conditional_fit_samples_at_given_conditions_with_the_condition_columns() {
    let d = tmp("conditional");
    let data = d.join("events.csv");
    write_events(&data, 400);
    let s = spec(
        &d,
        "domains = { e = \"positive\", phi = { periodic = [0, 360] } }",
    );
    let o = fit(&d, &s, &data, &["--condition", "e"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("conditional marginals in bins of e"), "{out}");
    let run = d.join("run");
    // VALUES: 30 events at e = 2, the condition column first.
    let csv = d.join("at2.csv");
    let o = flowinfer()
        .args(["sample", "-n", "30", "--condition", "e=2", "--run"])
        .arg(&run)
        .arg("--out")
        .arg(&csv)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(&csv).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("e,phi,x"));
    let rows: Vec<Vec<f64>> = lines
        .map(|l| l.split(',').map(|v| v.parse().unwrap()).collect())
        .collect();
    assert_eq!(rows.len(), 30);
    assert!(rows
        .iter()
        .all(|r| r[0] == 2.0 && (0.0..360.0).contains(&r[1])));
    // FILE: 2 events per row of a file holding (at least) the condition column.
    let o = flowinfer()
        .args(["sample", "-n", "2", "--condition"])
        .arg(&data)
        .arg("--run")
        .arg(&run)
        .arg("--out")
        .arg(d.join("file.csv"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let n = std::fs::read_to_string(d.join("file.csv"))
        .unwrap()
        .lines()
        .count();
    assert_eq!(n, 1 + 2 * 400);
    // Errors: an unknown condition column, a missing one, a value outside its domain,
    // a conditional run sampled without conditions; nothing written.
    for (cond, want) in [
        (Some("energy=2"), "energy"),
        (Some("e=-1"), "positive"),
        (None, "--condition"),
    ] {
        let bad = d.join("bad.csv");
        let mut c = flowinfer();
        c.args(["sample", "-n", "5", "--run"])
            .arg(&run)
            .arg("--out")
            .arg(&bad);
        if let Some(v) = cond {
            c.args(["--condition", v]);
        }
        let o = c.output().unwrap();
        assert!(
            !o.status.success() && stderr(&o).contains(want),
            "{cond:?}: {}",
            stderr(&o)
        );
        assert!(!bad.exists(), "{cond:?} wrote its output");
    }
    // eval: the conditional run against a data file with both kinds of columns.
    let o = flowinfer()
        .args(["eval", "--no-c2st", "--run"])
        .arg(&run)
        .arg("--data")
        .arg(&data)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("NLL"));
    let o = fit(&tmp("cond-missing"), &s, &data, &["--condition", "energy"]);
    assert!(
        !o.status.success() && stderr(&o).contains("\"energy\""),
        "{}",
        stderr(&o)
    );
}
