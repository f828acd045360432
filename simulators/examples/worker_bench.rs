//! Calls per second of the 8-D camel integrand (α = 0.2) evaluated in batches of
//! 4096 points: built in (Rust), and as an external program — Python
//! (`examples/workers/camel.py`, stdlib only) and C (`examples/workers/camel.c`,
//! compiled here with `cc -O2`) — in one-shot mode (a program run per batch),
//! persistent mode (one long-lived worker, CSV text), persistent-f64 mode (rows
//! as raw little-endian doubles on the pipe) and persistent-shm mode (rows and
//! answers in a shared mapped file, only headers on the pipe). One `evaluate` call of 4096 points at a time, one
//! worker, so every row uses one stream of work. Prints the table of
//! docs/CLUSTER.md.
//!
//! The rows are measured in [`ROUNDS`] interleaved rounds (each row gets
//! `SECONDS_PER_ROW / ROUNDS` per round), so a change in the load of a shared host
//! hits every row alike; "vs built-in" is the median over the rounds of the
//! built-in's rate in that round over the row's rate in that round. "Fastest
//! tenth" compares the 10th percentile of the single calls' times (row over
//! built-in): on a loaded host it estimates what an idle one would give, as the
//! fastest calls are those that found their cores free. The last two lines quote
//! both ratios for the compiled program in persistent-f64 mode and in
//! persistent-shm mode (the goal line of issue 20).
//!
//! ```text
//! cargo run --release -p flowinfer-simulators --example worker_bench [SECONDS_PER_ROW] [ONLY]
//! ```
//!
//! With `ONLY`, just the rows whose name contains it are measured beside the
//! built-in (e.g. `"C, persistent-f64"`, for `perf stat` of one mode).

use flowinfer_simulators::external::{ExternalIntegrand, ProgramMode};
use flowinfer_simulators::integrands::{Camel, Integrand};
use rand::{Rng, SeedableRng};
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

const DIM: usize = 8;
const BATCH: usize = 4096;

/// Interleaved rounds of measurement.
const ROUNDS: usize = 5;
// Odd, so that the middle ratio of the rounds is their median.
const _: () = assert!(ROUNDS % 2 == 1);

/// The seconds of each call of `f` on [`BATCH`] points, calls made for about
/// `budget` (at least one).
fn measure(f: &dyn Integrand, points: &[f64], budget: Duration) -> Vec<f64> {
    let mut out = vec![0.0; BATCH];
    let start = Instant::now();
    let mut calls = Vec::new();
    while start.elapsed() < budget || calls.is_empty() {
        let call = Instant::now();
        f.evaluate(points, &mut out).expect("batch");
        calls.push(call.elapsed().as_secs_f64());
    }
    calls
}

/// The `q` quantile (0 ≤ q ≤ 1, nearest rank) of `v` (not empty).
fn quantile(mut v: Vec<f64>, q: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * q).round() as usize]
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
    let only = std::env::args().nth(2);
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
        ProgramMode::PersistentShm,
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
    if let Some(only) = &only {
        let builtin = rows.remove(0);
        rows.retain(|(name, _)| name.contains(only.as_str()));
        rows.insert(0, builtin);
    }
    let mut out = vec![0.0; BATCH];
    for (_, f) in &rows {
        f.evaluate(&points, &mut out).expect("warm-up batch"); // starts persistent workers
    }
    // per row, per round: the seconds of each call
    let mut runs: Vec<Vec<Vec<f64>>> = vec![Vec::new(); rows.len()];
    for _ in 0..ROUNDS {
        for ((_, f), run) in rows.iter().zip(&mut runs) {
            run.push(measure(f.as_ref(), &points, budget / ROUNDS as u32));
        }
    }
    let rate = |calls: &Vec<f64>| (calls.len() * BATCH) as f64 / calls.iter().sum::<f64>();
    let fastest = |run: &Vec<Vec<f64>>| quantile(run.concat(), 0.1);
    println!("8-D camel, batches of {BATCH} points, ~{seconds} s per row in {ROUNDS} rounds\n");
    println!(
        "| integrand | calls/s | batches | vs built-in (median of rounds) | \
         vs built-in (fastest tenth of calls) |"
    );
    println!("|---|---:|---:|---:|---:|");
    let mut ratio_lines = Vec::new();
    for ((name, _), run) in rows.iter().zip(&runs) {
        let batches: usize = run.iter().map(Vec::len).sum();
        let seconds: f64 = run.iter().flatten().sum();
        let ratios: Vec<f64> = runs[0]
            .iter()
            .zip(run)
            .map(|(base, r)| rate(base) / rate(r))
            .collect();
        let (lo, hi) = ratios.iter().fold((f64::INFINITY, 0.0f64), |(lo, hi), &r| {
            (lo.min(r), hi.max(r))
        });
        let ratio = quantile(ratios, 0.5); // ROUNDS is odd: the median
        let best = fastest(run) / fastest(&runs[0]);
        let calls = (batches * BATCH) as f64 / seconds;
        println!("| {name} | {calls:.0} | {batches} | {ratio:.2}× slower | {best:.2}× slower |");
        if let Some(mode) = name
            .strip_prefix("C, ")
            .filter(|m| m.starts_with("persistent-"))
        {
            let verdict = |r: f64| if r <= 2.0 { "met" } else { "not met" };
            ratio_lines.push(format!(
                "C {mode} vs built-in at batch {BATCH}: {ratio:.2}× slower \
                 (median of {ROUNDS} rounds, range {lo:.2}–{hi:.2}×; goal ≤ 2×: {}); \
                 fastest tenth of calls: {best:.2}× slower (goal: {})",
                verdict(ratio),
                verdict(best)
            ));
        }
    }
    if !ratio_lines.is_empty() {
        println!("\n{}", ratio_lines.join("\n"));
    }
    let _ = std::fs::remove_dir_all(&dir);
}
