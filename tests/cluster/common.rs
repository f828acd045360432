//! Shared helpers of the executor tests: a temporary directory, an SBI spec around
//! `examples/workers/noisy_sim.py` (wrapped to log and slow down its batches), and
//! running the `flowinfer` binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A fresh directory under the system temp dir, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("flowinfer-cluster-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Whether `python3` runs (the tests that need it are skipped with a message).
pub fn have_python() -> bool {
    let ok = Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("skipped: python3 is not installed");
    }
    ok
}

/// Writes `<dir>/sim.sh` — logs `$FLOWINFER_BATCH` to `<dir>/batches.log`, sleeps
/// `sleep_s`, runs noisy_sim.py; with `short_batch`, that batch drops its last
/// output line — and `<dir>/spec.toml`: 200 simulations in batches of 20 (10 batches),
/// a tiny flow trained for 2 epochs, and `executor` as the `[executor]` section body.
pub fn write_spec(dir: &Path, sleep_s: f64, short_batch: Option<usize>, executor: &str) -> PathBuf {
    let worker = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/workers/noisy_sim.py");
    let filter = match short_batch {
        Some(b) => format!(
            "if [ \"$FLOWINFER_BATCH\" = {b} ]; then python3 {w} | sed '$d'; exit; fi\n",
            w = worker.display()
        ),
        None => String::new(),
    };
    let script = format!(
        "echo \"$FLOWINFER_BATCH\" >> {log}\nsleep {sleep_s}\n{filter}exec python3 {w}\n",
        log = dir.join("batches.log").display(),
        w = worker.display()
    );
    std::fs::write(dir.join("sim.sh"), script).unwrap();
    let spec = format!(
        r#"[simulator]
name = "external"
[simulator.external]
command = ["sh", "{sim}"]
param_names = ["a", "b"]
prior = [{{ type = "uniform", low = 0.0, high = 1.0 }}, {{ type = "uniform", low = 0.0, high = 1.0 }}]
obs_dim = 3
batch_size = 20
parallel = 2
[npe]
simulations = 200
[flow]
blocks = 1
hidden = 8
[train]
epochs = 2
[executor]
{executor}
"#,
        sim = dir.join("sim.sh").display()
    );
    let path = dir.join("spec.toml");
    std::fs::write(&path, spec).unwrap();
    path
}

/// `flowinfer sbi --spec SPEC --out OUT --quiet EXTRA...`.
pub fn sbi(spec: &Path, out: &Path, extra: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_flowinfer"));
    c.args(["sbi", "--quiet", "--spec"])
        .arg(spec)
        .arg("--out")
        .arg(out)
        .args(extra);
    c
}

/// Runs `c`, asserting success, and returns its output.
pub fn ok(mut c: Command) -> Output {
    let o = c.output().unwrap();
    assert!(
        o.status.success(),
        "{c:?} failed: {}\n{}",
        String::from_utf8_lossy(&o.stderr),
        String::from_utf8_lossy(&o.stdout)
    );
    o
}

/// The results files of a work directory, by batch index.
pub fn results(work: &Path) -> Vec<(usize, String)> {
    let Ok(entries) = std::fs::read_dir(work.join("batches")) else {
        return Vec::new();
    };
    let mut out: Vec<(usize, String)> = entries
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            let k = name.strip_suffix(".results.csv")?.parse().ok()?;
            Some((
                k,
                std::fs::read_to_string(work.join("batches").join(&name)).ok()?,
            ))
        })
        .collect();
    out.sort();
    out
}

/// `best_val_loss` of a finished run.
pub fn best_loss(out: &Path) -> f64 {
    let text = std::fs::read_to_string(out.join("sbi.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["best_val_loss"].as_f64().unwrap()
}

/// Batch indices logged by sim.sh, sorted.
pub fn logged_batches(dir: &Path) -> Vec<usize> {
    let mut v: Vec<usize> = std::fs::read_to_string(dir.join("batches.log"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect();
    v.sort();
    v
}

/// The spec of `write_spec` with `[rounds]` (2 rounds of 100 simulations, 5 batches
/// each) around the observation (0.5, 0.5, 1.0), `executor` as the `[executor]` body.
pub fn rounds_spec(dir: &Path, sleep_s: f64, executor: &str) -> PathBuf {
    let spec = write_spec(dir, sleep_s, None, executor);
    let obs = dir.join("obs.csv");
    std::fs::write(&obs, "x1,x2,x3\n0.5,0.5,1.0\n").unwrap();
    let text = std::fs::read_to_string(&spec).unwrap().replace(
        "[executor]",
        &format!(
            "[rounds]\nrounds = 2\nsimulations = 100\nthreshold_draws = 200\nobservation = \"{}\"\n[executor]",
            obs.display()
        ),
    );
    std::fs::write(&spec, text).unwrap();
    spec
}

/// `best_val_loss` of each round in a run's rounds.json.
pub fn round_losses(out: &Path) -> Vec<f64> {
    let text = std::fs::read_to_string(out.join("rounds.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .map(|r| r["best_val_loss"].as_f64().unwrap())
        .collect()
}
