//! Tests of persistent workers: the framed protocol, worker reuse, crash and hang
//! recovery, and bit-identical results between one-shot and persistent mode.

use super::test_util::ScriptDir;
use super::{
    ExternalIntegrand, ExternalSimulator, ExternalSimulatorConfig, PriorSpec, ProgramMode,
};
use crate::integrands::{Camel, Integrand, IntegrandError};
use crate::{simulate_dataset_lenient, Simulator};
use std::path::PathBuf;
use std::process::Command;

/// `examples/workers/<name>` of the repository.
pub(super) fn worker_file(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/workers")
        .join(name)
}

/// Whether `python3` runs here (tests that need it are skipped with a message).
pub(super) fn have_python() -> bool {
    let ok = Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("skipped: python3 is not installed");
    }
    ok
}

/// A persistent awk worker answering `x1 + x2` per row. `on_batch` is awk code run
/// on each header line (after `n` = rows, `b` = batch index are set). `-W
/// interactive` stops mawk from waiting for a full input block (gawk ignores it).
pub(super) fn sum_worker(dir: &ScriptDir, name: &str, on_batch: &str) -> Vec<String> {
    let body = format!(
        r#"echo started >> "{log}"
exec awk -W interactive -v dir="{dir}" '
/^BATCH/ {{ split($0, h, " "); n = h[2]; b = h[5]; k = 0; {on_batch}
  printf "OK %d 1\n", n; if (n == 0) fflush(); next }}
{{ split($0, v, ","); printf "%.17g\n", v[1] + v[2]; k++; if (k == n) fflush() }}'
"#,
        log = dir.path().join("starts.log").display(),
        dir = dir.path().display(),
    );
    dir.script(name, &body, &[])
}

pub(super) fn integrand(command: Vec<String>, mode: ProgramMode) -> ExternalIntegrand {
    let mut f = ExternalIntegrand::new(command, 2);
    (f.batch_size, f.parallel, f.mode) = (7, 2, mode);
    f
}

pub(super) fn points(n: usize) -> Vec<f64> {
    (0..n)
        .flat_map(|i| [(i as f64 * 0.37) % 1.0, (i as f64 * 0.61) % 1.0])
        .collect()
}

pub(super) fn starts(dir: &ScriptDir) -> usize {
    std::fs::read_to_string(dir.path().join("starts.log")).map_or(0, |s| s.lines().count())
}

pub(super) fn external_error(r: Result<(), IntegrandError>) -> String {
    match r {
        Err(e @ IntegrandError::External { .. }) => e.to_string(),
        other => panic!("expected an External error, got {other:?}"),
    }
}

#[test]
fn workers_are_reused_across_chunks_and_calls() {
    let dir = ScriptDir::new("persist-reuse");
    let f = integrand(sum_worker(&dir, "sum.sh", ""), ProgramMode::Persistent);
    let x = points(50);
    let mut out = vec![0.0; 50];
    for _ in 0..3 {
        f.evaluate(&x, &mut out).unwrap();
        for (i, v) in out.iter().enumerate() {
            assert_eq!(*v, x[2 * i] + x[2 * i + 1], "point {i}");
        }
    }
    // 3 calls × 8 chunks, answered by at most `parallel` = 2 processes.
    let n = starts(&dir);
    assert!((1..=2).contains(&n), "{n} workers started");
    assert!(f.clone().pool.idle() >= 1);
}

#[test]
fn a_crashed_worker_is_restarted_and_its_batch_retried() {
    let dir = ScriptDir::new("persist-crash");
    // Dies (status 3) the first time it sees chunk 1; the marker file remembers.
    let crash = r#"if (b == 1 && (getline seen < (dir "/marker")) <= 0) {
      print "x" > (dir "/marker"); close(dir "/marker"); print "segfault-ish" > "/dev/stderr"; exit 3 }"#;
    let command = sum_worker(&dir, "crash.sh", crash);
    let x = points(30);
    let mut out = vec![0.0; 30];
    integrand(command.clone(), ProgramMode::Persistent)
        .evaluate(&x, &mut out)
        .unwrap();
    assert_eq!(out[9], x[18] + x[19]);
    // Without retries the crash is reported with the exit status and stderr.
    std::fs::remove_file(dir.path().join("marker")).unwrap();
    let mut f = integrand(command, ProgramMode::Persistent);
    f.retries = 0;
    let msg = external_error(f.evaluate(&x, &mut out));
    assert!(
        msg.contains("points 7..14")
            && msg.contains("attempt 1 of 1")
            && msg.contains("exited with status 3")
            && msg.contains("segfault-ish"),
        "{msg}"
    );
}

#[test]
fn a_hung_worker_is_killed_retried_then_reported() {
    let dir = ScriptDir::new("persist-hang");
    let hang = r#"if (b == 2) { print "stuck in a loop" > "/dev/stderr"; fflush("/dev/stderr"); system("exec sleep 5") }"#;
    let mut f = integrand(sum_worker(&dir, "hang.sh", hang), ProgramMode::Persistent);
    f.timeout_s = Some(0.3);
    f.retries = 1;
    let x = points(30);
    let mut out = vec![0.0; 30];
    let start = std::time::Instant::now();
    let msg = external_error(f.evaluate(&x, &mut out));
    assert!(start.elapsed().as_secs_f64() < 4.0, "{:?}", start.elapsed());
    assert!(
        msg.contains("points 14..21")
            && msg.contains("attempt 2 of 2")
            && msg.contains("no answer within 0.3 s")
            && msg.contains("stuck in a loop"),
        "{msg}"
    );
}

#[test]
fn refusals_wrong_shapes_and_stray_stdout_fail_the_batch() {
    let dir = ScriptDir::new("persist-refuse");
    let x = points(30);
    let mut out = vec![0.0; 30];
    let err = r#"if (b == 3) { for (i = 0; i < n; i++) getline; print "ERR theta out of range"; fflush(); next }"#;
    let msg = external_error(
        integrand(sum_worker(&dir, "err.sh", err), ProgramMode::Persistent).evaluate(&x, &mut out),
    );
    assert!(
        msg.contains("points 21..28") && msg.contains("answered ERR theta out of range"),
        "{msg}"
    );
    let short = r#"if (b == 0) { n = n - 1; getline }"#;
    let msg = external_error(
        integrand(sum_worker(&dir, "short.sh", short), ProgramMode::Persistent)
            .evaluate(&x, &mut out),
    );
    assert!(
        msg.contains("points 0..7") && msg.contains("answered 6 rows × 1 columns for 7 rows"),
        "{msg}"
    );
    let chatty = r#"print "loading model..."; fflush()"#;
    let mut f = integrand(
        sum_worker(&dir, "chatty.sh", chatty),
        ProgramMode::Persistent,
    );
    f.retries = 1;
    let msg = external_error(f.evaluate(&x, &mut out));
    assert!(
        msg.contains("`loading model...`") && msg.contains("attempt 2 of 2"),
        "{msg}"
    );
    let missing = integrand(vec!["/nonexistent/worker".into()], ProgramMode::Persistent);
    let msg = external_error(missing.evaluate(&x, &mut out));
    assert!(msg.contains("cannot start `/nonexistent/worker`"), "{msg}");
}

#[test]
fn python_and_c_camel_workers_agree_in_every_mode() {
    if !have_python() {
        return;
    }
    let x = points(200);
    let mut builtin = vec![0.0; 200];
    Camel::new(2, 0.2)
        .unwrap()
        .evaluate(&x, &mut builtin)
        .unwrap();
    let py = vec![
        "python3".to_string(),
        worker_file("camel.py").display().to_string(),
    ];
    let mut commands = vec![py];
    let dir = ScriptDir::new("persist-c");
    let exe = dir.path().join("camel");
    let compiled = Command::new("cc")
        .args(["-O2", "-o"])
        .arg(&exe)
        .arg(worker_file("camel.c"))
        .arg("-lm")
        .status();
    match compiled {
        Ok(s) if s.success() => commands.push(vec![exe.display().to_string()]),
        _ => eprintln!("skipped the C worker: `cc` is missing or failed"),
    }
    for command in commands {
        let mut results = Vec::new();
        for mode in [
            ProgramMode::Oneshot,
            ProgramMode::Persistent,
            ProgramMode::PersistentF64,
            ProgramMode::PersistentShm,
        ] {
            let mut f = integrand(command.clone(), mode);
            f.batch_size = 64;
            let mut out = vec![0.0; 200];
            f.evaluate(&x, &mut out).unwrap();
            for (a, b) in out.iter().zip(&builtin) {
                assert!((a - b).abs() <= 1e-12 * b.abs(), "{command:?}: {a} vs {b}");
            }
            results.push(out);
        }
        assert_eq!(results[0], results[1], "{command:?}: modes differ");
        assert_eq!(results[0], results[2], "{command:?}: f64 mode differs");
        assert_eq!(results[0], results[3], "{command:?}: shm mode differs");
    }
}

#[test]
fn simulator_results_are_bit_identical_between_modes() {
    if !have_python() {
        return;
    }
    let command = vec![
        "python3".to_string(),
        worker_file("noisy_sim.py").display().to_string(),
    ];
    let run = |mode: ProgramMode| {
        let mut c = ExternalSimulatorConfig::new(
            command.clone(),
            vec!["a".into(), "b".into()],
            vec![
                PriorSpec::Uniform {
                    low: 0.0,
                    high: 1.0
                };
                2
            ],
            3,
        );
        (c.batch_size, c.parallel, c.mode) = (16, 2, mode);
        simulate_dataset_lenient(&ExternalSimulator::new(c).unwrap(), 100, 5).unwrap()
    };
    let oneshot = run(ProgramMode::Oneshot);
    let persistent = run(ProgramMode::Persistent);
    assert!(oneshot.failures.is_empty(), "{:?}", oneshot.failures);
    assert_eq!(oneshot, persistent);
    // The noise is seeded per batch: it is there, and rows differ from θ.
    assert_ne!(oneshot.xs[0][0], oneshot.thetas[0][0]);
}

#[test]
fn slices_of_a_run_reproduce_the_whole_run() {
    let dir = ScriptDir::new("slices");
    let body = r#"awk -F, -v b="$FLOWINFER_BATCH" -v s="$FLOWINFER_SEED" '{ printf "%.17g,%s,%s\n", 2 * $1, b, s }'"#;
    let mut c = ExternalSimulatorConfig::new(
        dir.script("env.sh", body, &[]),
        vec!["a".into()],
        vec![PriorSpec::Uniform {
            low: 0.0,
            high: 1.0,
        }],
        3,
    );
    c.batch_size = 4;
    let s = ExternalSimulator::new(c).unwrap();
    let thetas: Vec<Vec<f64>> = (0..10).map(|i| vec![i as f64 / 10.0]).collect();
    let whole = s.simulate_rows(&thetas, 3).unwrap();
    let mut parts = s.simulate_rows_at(&thetas[..8], 3, 0).unwrap();
    parts.extend(s.simulate_rows_at(&thetas[8..], 3, 8).unwrap());
    assert_eq!(whole, parts);
    let e = s
        .simulate_rows_at(&thetas[5..], 3, 5)
        .unwrap_err()
        .to_string();
    assert!(e.contains("multiple of batch_size = 4"), "{e}");
}
