//! Tests of pipelined persistent workers: a batch large enough is sent as two
//! requests, both in flight on one worker, and a crash or hang with both in flight
//! sends both again to a fresh worker.

use super::persistent_tests::{external_error, integrand, points, starts, sum_worker};
use super::test_util::ScriptDir;
use super::ProgramMode;
use crate::integrands::Integrand;

/// Rows of one call: one chunk, split into two parts of 1024 rows.
const ROWS: usize = 2048;

/// awk code for a worker's first request: read its rows, then the next header
/// (it only arrives when the second part is already in flight: without pipelining
/// this would wait for ever), log both headers, then run `then`.
fn hold_two(then: &str) -> String {
    format!(
        r#"nh++; if (nh == 1 {{extra}}) {{ first = $0; for (i = 0; i < n; i++) getline;
  getline; print "holding " first " and " $0 > "/dev/stderr"; fflush("/dev/stderr");
  print first >> (dir "/held.log"); print $0 >> (dir "/held.log"); close(dir "/held.log");
  {then} }}"#
    )
}

/// The sums the awk worker answers, computed here.
fn sums(x: &[f64]) -> Vec<f64> {
    x.chunks(2).map(|p| p[0] + p[1]).collect()
}

fn held(dir: &ScriptDir) -> Vec<String> {
    std::fs::read_to_string(dir.path().join("held.log"))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn a_crash_with_two_parts_in_flight_retries_both() {
    let dir = ScriptDir::new("pipe-crash");
    let first_time = r#"&& (getline seen < (dir "/marker")) <= 0"#;
    let crash = hold_two(r#"print "x" > (dir "/marker"); close(dir "/marker"); exit 3"#)
        .replace("{extra}", first_time);
    let mut f = integrand(
        sum_worker(&dir, "crash.sh", &crash),
        ProgramMode::Persistent,
    );
    (f.batch_size, f.parallel, f.timeout_s) = (ROWS, 1, Some(20.0));
    let x = points(ROWS);
    let mut out = vec![0.0; ROWS];
    let start = std::time::Instant::now();
    f.evaluate(&x, &mut out).unwrap();
    assert!(
        start.elapsed().as_secs_f64() < 10.0,
        "{:?}",
        start.elapsed()
    );
    assert_eq!(out, sums(&x), "values differ from the sums");
    // The first worker held both parts when it died; a second one answered both.
    assert_eq!(held(&dir), ["BATCH 1024 2 0 0", "BATCH 1024 2 0 0"]);
    assert_eq!(starts(&dir), 2);
    // The same values from a worker that never crashes.
    let mut g = integrand(sum_worker(&dir, "sum.sh", ""), ProgramMode::Persistent);
    (g.batch_size, g.parallel) = (ROWS, 1);
    let mut again = vec![0.0; ROWS];
    g.evaluate(&x, &mut again).unwrap();
    assert_eq!(again, out);
}

#[test]
fn a_hang_with_two_parts_in_flight_is_killed_and_both_retried_then_reported() {
    let dir = ScriptDir::new("pipe-hang");
    let hang = hold_two(r#"system("exec sleep 5")"#);
    // Hangs the first time only: the retry on a fresh worker answers both parts.
    let once = hang.replace("{extra}", r#"&& (getline seen < (dir "/marker")) <= 0"#);
    let once = once.replace(
        "system(",
        r#"print "x" > (dir "/marker"); close(dir "/marker"); system("#,
    );
    let mut f = integrand(sum_worker(&dir, "once.sh", &once), ProgramMode::Persistent);
    (f.batch_size, f.parallel, f.timeout_s, f.retries) = (ROWS, 1, Some(0.5), 1);
    let x = points(ROWS);
    let mut out = vec![0.0; ROWS];
    f.evaluate(&x, &mut out).unwrap();
    assert_eq!(out, sums(&x));
    assert_eq!(held(&dir).len(), 2);
    assert_eq!(starts(&dir), 2);
    drop(f);
    // Hangs every time: killed after its timeout on both attempts, then reported.
    std::fs::remove_file(dir.path().join("held.log")).unwrap();
    let always = hang.replace("{extra}", "");
    let mut f = integrand(
        sum_worker(&dir, "always.sh", &always),
        ProgramMode::Persistent,
    );
    (f.batch_size, f.parallel, f.timeout_s, f.retries) = (ROWS, 1, Some(0.5), 1);
    let start = std::time::Instant::now();
    let msg = external_error(f.evaluate(&x, &mut out));
    assert!(start.elapsed().as_secs_f64() < 4.5, "{:?}", start.elapsed());
    assert!(
        msg.contains("points 0..2048")
            && msg.contains("attempt 2 of 2")
            && msg.contains("no answer within 0.5 s")
            && msg.contains("holding BATCH 1024 2 0 0 and BATCH 1024 2 0 0"),
        "{msg}"
    );
    // Both workers held both parts: each part was sent twice.
    assert_eq!(held(&dir).len(), 4);
}
