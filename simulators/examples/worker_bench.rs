//! Calls per second of the 8-D camel integrand (α = 0.2) evaluated in batches of
//! 4096 points: built in (Rust), and as an external program — Python
//! (`examples/workers/camel.py`, stdlib only) and C (`examples/workers/camel.c`,
//! compiled here with `cc -O2`) — in one-shot mode (a program run per batch),
//! persistent mode (one long-lived worker, CSV text) and persistent-f64 mode (rows
//! as raw little-endian doubles). One batch at a time, one worker, so
//! every row uses one stream of work. Prints the table of docs/CLUSTER.md.
//!
//! ```text
//! cargo run --release -p flowinfer-simulators --example worker_bench [SECONDS_PER_ROW]
//! ```

use flowinfer_simulators::external::{ExternalIntegrand, ProgramMode};
use flowinfer_simulators::integrands::{Camel, Integrand};
use rand::{Rng, SeedableRng};
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

const DIM: usize = 8;
const BATCH: usize = 4096;

/// Points per second of `f` on batches of [`BATCH`] points, over about `budget`.
fn rate(f: &dyn Integrand, points: &[f64], budget: Duration) -> (f64, usize) {
    let mut out = vec![0.0; BATCH];
    f.evaluate(points, &mut out).expect("warm-up batch"); // starts a persistent worker
    let start = Instant::now();
    let mut batches = 0;
    while start.elapsed() < budget || batches < 2 {
        f.evaluate(points, &mut out).expect("batch");
        batches += 1;
    }
    (
        (batches * BATCH) as f64 / start.elapsed().as_secs_f64(),
        batches,
    )
}

fn external(command: Vec<String>, mode: ProgramMode) -> ExternalIntegrand {
    let mut f = ExternalIntegrand::new(command, DIM);
    (f.batch_size, f.parallel, f.mode) = (BATCH, 1, mode);
    f
}

fn main() {
    let seconds: f64 = std::env::args().nth(1).map_or(3.0, |s| {
        s.parse().expect("SECONDS_PER_ROW must be a number")
    });
    let budget = Duration::from_secs_f64(seconds);
    let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    let points: Vec<f64> = (0..BATCH * DIM).map(|_| rng.random::<f64>()).collect();
    let workers = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/workers");
    let dir = std::env::temp_dir().join(format!("flowinfer-worker-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let exe = dir.join("camel");
    let compiled = Command::new("cc")
        .args(["-O2", "-o"])
        .arg(&exe)
        .arg(workers.join("camel.c"))
        .arg("-lm")
        .status()
        .is_ok_and(|s| s.success());

    let builtin = Camel::new(DIM, 0.2).expect("camel");
    let mut rows: Vec<(String, Box<dyn Integrand>)> =
        vec![("built-in (Rust)".into(), Box::new(builtin))];
    let py = vec![
        "python3".to_string(),
        workers.join("camel.py").display().to_string(),
    ];
    for mode in [
        ProgramMode::Oneshot,
        ProgramMode::Persistent,
        ProgramMode::PersistentF64,
    ] {
        rows.push((
            format!("Python, {mode}"),
            Box::new(external(py.clone(), mode)),
        ));
        if compiled {
            let c = vec![exe.display().to_string()];
            rows.push((format!("C, {mode}"), Box::new(external(c, mode))));
        }
    }
    if !compiled {
        eprintln!("note: `cc` is missing or failed; the C rows are left out");
    }
    println!("8-D camel, batches of {BATCH} points, ~{seconds} s per row\n");
    println!("| integrand | calls/s | batches | vs built-in |");
    println!("|---|---:|---:|---:|");
    let mut base = None;
    for (name, f) in &rows {
        let (r, batches) = rate(f.as_ref(), &points, budget);
        let base = *base.get_or_insert(r);
        println!("| {name} | {r:.0} | {batches} | {:.2}× slower |", base / r);
    }
    let _ = std::fs::remove_dir_all(&dir);
}
