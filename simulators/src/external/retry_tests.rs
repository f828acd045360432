//! Tests of one-shot retries: a program run that crashes or times out is run again,
//! at most `retries` times, and the results are those of a run that never failed.

use super::test_util::{ScriptDir, DOUBLE_AND_SUM};
use super::{ExternalIntegrand, ExternalSimulator, ExternalSimulatorConfig, PriorSpec};
use crate::integrands::Integrand;
use crate::simulate_dataset_lenient;

/// A one-shot script that logs each run to `runs.log` and, while the marker file
/// `<name>.marker` does not exist, creates it and runs `fail` instead of answering
/// (so the first run of the whole test fails, every later one works).
fn flaky(dir: &ScriptDir, name: &str, fail: &str, answer: &str) -> Vec<String> {
    let d = dir.path().display();
    let body = format!(
        "echo run >> '{d}/runs.log'\n\
         if [ ! -e '{d}/{name}.marker' ]; then touch '{d}/{name}.marker'; {fail}; fi\n\
         {answer}"
    );
    dir.script(name, &body, &[])
}

fn runs(dir: &ScriptDir) -> usize {
    std::fs::read_to_string(dir.path().join("runs.log")).map_or(0, |s| s.lines().count())
}

fn simulator(command: Vec<String>, retries: usize) -> ExternalSimulator {
    let mut c = ExternalSimulatorConfig::new(
        command,
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
    (c.batch_size, c.parallel, c.retries) = (4, 1, retries);
    ExternalSimulator::new(c).unwrap()
}

#[test]
fn a_crashed_oneshot_run_is_retried_and_gives_the_same_data() {
    let dir = ScriptDir::new("oneshot-flaky");
    let good = simulate_dataset_lenient(
        &simulator(dir.script("good.sh", DOUBLE_AND_SUM, &[]), 2),
        12,
        4,
    )
    .unwrap();
    let crash = "echo 'out of memory' >&2; exit 137";
    let s = simulator(flaky(&dir, "crash.sh", crash, DOUBLE_AND_SUM), 2);
    let data = simulate_dataset_lenient(&s, 12, 4).unwrap();
    assert!(data.failures.is_empty(), "{:?}", data.failures);
    assert_eq!(data, good);
    assert_eq!(runs(&dir), 4, "3 batches, the first run twice");
    // Without retries the crash fails its batch, quoting the status and stderr.
    let s = simulator(flaky(&dir, "crash0.sh", crash, DOUBLE_AND_SUM), 0);
    let data = simulate_dataset_lenient(&s, 12, 4).unwrap();
    let failed: Vec<usize> = data.failures.iter().map(|f| f.row).collect();
    assert_eq!(failed, [0, 1, 2, 3]);
    let reason = &data.failures[0].reason;
    assert!(
        reason.contains("failed: exit status 137; stderr: out of memory")
            && !reason.contains("attempt"),
        "{reason}"
    );
}

#[test]
fn a_timed_out_oneshot_run_is_killed_and_retried() {
    let dir = ScriptDir::new("oneshot-slow");
    let answer = r#"awk -F, '{ printf "%.17g\n", $1 + $2 }'"#;
    let mut f = ExternalIntegrand::new(flaky(&dir, "slow.sh", "exec sleep 5", answer), 2);
    (f.batch_size, f.parallel, f.timeout_s) = (8, 1, Some(0.5));
    let x: Vec<f64> = (0..20).map(|i| i as f64 / 20.0).collect();
    let mut out = vec![0.0; 10];
    let start = std::time::Instant::now();
    f.evaluate(&x, &mut out).unwrap();
    assert!(start.elapsed().as_secs_f64() < 4.0, "{:?}", start.elapsed());
    let sums: Vec<f64> = x.chunks(2).map(|p| p[0] + p[1]).collect();
    assert_eq!(out, sums);
    assert_eq!(runs(&dir), 3, "2 chunks, the first run twice");
}
