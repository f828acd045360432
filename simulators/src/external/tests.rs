//! Tests of the external simulator against small `sh`/`awk` scripts.

use super::test_util::{ScriptDir, DOUBLE_AND_SUM};
use super::{ExternalSimulator, ExternalSimulatorConfig, PriorSpec};
use crate::simulator::prior_draws;
use crate::{
    simulate_batch, simulate_dataset, simulate_dataset_lenient, SimulationError, Simulator,
};
use std::time::Instant;

/// A config with `p` parameters `a0, a1, ...` uniform on `[0, 1]`.
fn config(command: Vec<String>, p: usize, obs_dim: usize) -> ExternalSimulatorConfig {
    ExternalSimulatorConfig::new(
        command,
        (0..p).map(|i| format!("a{i}")).collect(),
        vec![
            PriorSpec::Uniform {
                low: 0.0,
                high: 1.0
            };
            p
        ],
        obs_dim,
    )
}

/// `config` with the given batch size and parallelism, built.
fn sim(mut c: ExternalSimulatorConfig, batch_size: usize, parallel: usize) -> ExternalSimulator {
    c.batch_size = batch_size;
    c.parallel = parallel;
    ExternalSimulator::new(c).unwrap()
}

fn expected_double_and_sum(theta: &[f64]) -> Vec<f64> {
    let mut x: Vec<f64> = theta.iter().map(|t| 2.0 * t).collect();
    x.push(theta.iter().fold(0.0, |s, t| s + t));
    x
}

#[test]
fn working_program_reproduces_expected_values() {
    let dir = ScriptDir::new("working");
    let s = sim(
        config(dir.script("sim.sh", DOUBLE_AND_SUM, &[]), 2, 3),
        4,
        2,
    );
    let data = simulate_dataset_lenient(&s, 10, 11).unwrap();
    assert!(data.failures.is_empty(), "{:?}", data.failures);
    assert_eq!(data.thetas, prior_draws(&s, 10, 11));
    for (theta, x) in data.thetas.iter().zip(&data.xs) {
        assert_eq!(x, &expected_double_and_sum(theta));
    }
    // The strict driver (one program per row) agrees.
    assert_eq!(
        simulate_dataset(&s, 10, 11).unwrap(),
        (data.thetas, data.xs)
    );
}

#[test]
fn program_gets_batch_index_and_seed() {
    let dir = ScriptDir::new("env");
    let body = r#"awk -F, -v b="$FLOWINFER_BATCH" -v s="$FLOWINFER_SEED" '{ printf "%.17g,%s,%s\n", 2 * $1, b, s }'"#;
    let s = sim(config(dir.script("env.sh", body, &[]), 1, 3), 4, 3);
    let thetas: Vec<Vec<f64>> = (0..10).map(|i| vec![i as f64 / 10.0]).collect();
    let rows = s.simulate_rows(&thetas, 99).unwrap();
    for (i, row) in rows.into_iter().enumerate() {
        let x = row.unwrap();
        let batch = i / 4;
        assert_eq!(x[0], 2.0 * thetas[i][0]);
        assert_eq!(x[1], batch as f64, "row {i}");
        assert_eq!(
            x[2],
            ExternalSimulator::batch_seed(99, batch) as f64,
            "row {i}"
        );
        assert!(x[2] < 2f64.powi(31));
    }
    assert_ne!(
        ExternalSimulator::batch_seed(99, 0),
        ExternalSimulator::batch_seed(99, 1)
    );
}

#[test]
fn parallel_batches_equal_one_batch_and_respect_the_limit() {
    let dir = ScriptDir::new("parallel");
    let command = dir.script("sim.sh", DOUBLE_AND_SUM, &[]);
    let many = sim(config(command.clone(), 3, 4), 5, 4);
    let one = sim(config(command, 3, 4), 1000, 1);
    let a = simulate_dataset_lenient(&many, 37, 5).unwrap();
    let b = simulate_dataset_lenient(&one, 37, 5).unwrap();
    assert_eq!(a, b);
    assert_eq!(a.xs.len(), 37);

    // Each run records how many runs are active while it sleeps.
    let running = dir.path().join("running");
    std::fs::create_dir(&running).unwrap();
    let body = r#"touch "$1/run.$FLOWINFER_BATCH"; sleep 0.2
n=$(ls "$1" | grep -c '^run\.'); rm "$1/run.$FLOWINFER_BATCH"
awk -F, -v n="$n" '{ printf "%.17g,%s\n", $1, n }'
"#;
    let command = dir.script("count.sh", body, &[running.to_str().unwrap()]);
    let s = sim(config(command, 1, 2), 1, 2);
    let data = simulate_dataset_lenient(&s, 8, 1).unwrap();
    let max_running = data.xs.iter().map(|x| x[1] as usize).max().unwrap();
    assert_eq!(max_running, 2, "{:?}", data.xs);
}

#[test]
fn non_zero_exit_fails_the_batch_with_stderr() {
    let dir = ScriptDir::new("exit");
    let body = format!(
        "if [ \"$FLOWINFER_BATCH\" = 1 ]; then echo 'loading model' >&2; \
         echo 'model diverged in batch 1' >&2; exit 3; fi\n{DOUBLE_AND_SUM}"
    );
    let s = sim(config(dir.script("sim.sh", &body, &[]), 2, 3), 4, 2);
    let data = simulate_dataset_lenient(&s, 12, 2).unwrap();
    let failed: Vec<usize> = data.failures.iter().map(|f| f.row).collect();
    assert_eq!(failed, vec![4, 5, 6, 7]);
    for f in &data.failures {
        assert!(
            f.reason.contains("batch 1")
                && f.reason
                    .contains("sim.sh` failed: attempt 3 of 3: exit status 3")
                && f.reason
                    .contains("loading model | model diverged in batch 1"),
            "{f}"
        );
    }
    let all = prior_draws(&s, 12, 2);
    let kept: Vec<Vec<f64>> = all[..4].iter().chain(&all[8..]).cloned().collect();
    assert_eq!(data.thetas, kept);
    for (theta, x) in data.thetas.iter().zip(&data.xs) {
        assert_eq!(x, &expected_double_and_sum(theta));
    }
}

#[test]
fn a_program_failing_on_every_batch_fails_the_run_naming_it() {
    let dir = ScriptDir::new("all-fail");
    let s = sim(
        config(dir.script("boom.sh", "echo boom >&2; exit 3\n", &[]), 2, 2),
        4,
        2,
    );
    let err = simulate_dataset_lenient(&s, 12, 0).unwrap_err();
    assert!(
        matches!(err, SimulationError::TooManyFailures { .. }),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains("boom.sh` failed: attempt 3 of 3: exit status 3; stderr: boom"),
        "{msg}"
    );
}

#[test]
fn bad_lines_fail_only_their_row() {
    let dir = ScriptDir::new("columns");
    let body = r#"awk -F, '
NR == 2 { print "1,2"; next }
NR == 4 { print "1,abc,3"; next }
NR == 5 { print "1,2,nan"; next }
NR == 6 { print "inf,2,3"; next }
{ printf "%.17g,%.17g,%.17g\n", 2 * $1, 2 * $2, $1 + $2 }'
"#;
    let s = sim(config(dir.script("sim.sh", body, &[]), 2, 3), 100, 1);
    let data = simulate_dataset_lenient(&s, 8, 3).unwrap();
    let reasons: Vec<(usize, &str)> = data
        .failures
        .iter()
        .map(|f| (f.row, f.reason.as_str()))
        .collect();
    assert_eq!(reasons.len(), 4, "{reasons:?}");
    assert_eq!(reasons[0].0, 1);
    assert!(
        reasons[0].1.contains("2 columns, expected 3"),
        "{reasons:?}"
    );
    assert_eq!(reasons[1].0, 3);
    assert!(
        reasons[1].1.contains("column 2: cannot parse `abc`"),
        "{reasons:?}"
    );
    assert_eq!(reasons[2].0, 4);
    assert!(
        reasons[2].1.contains("column 3: non-finite value NaN"),
        "{reasons:?}"
    );
    assert_eq!(reasons[3].0, 5);
    assert!(
        reasons[3].1.contains("column 1: non-finite value inf"),
        "{reasons:?}"
    );
    assert_eq!(data.xs.len(), 4);
    let all = prior_draws(&s, 8, 3);
    let kept: Vec<Vec<f64>> = [0, 2, 6, 7].iter().map(|&i| all[i].clone()).collect();
    assert_eq!(data.thetas, kept);
}

#[test]
fn nan_rows_are_dropped_and_counted() {
    let dir = ScriptDir::new("nan");
    let body = r#"awk -F, '{ if ($1 > 0.5) print "nan,0"; else printf "%.17g,0\n", 2 * $1 }'"#;
    let mut c = config(dir.script("sim.sh", body, &[]), 1, 2);
    c.max_failure_fraction = 1.0;
    let s = sim(c, 7, 3);
    let data = simulate_dataset_lenient(&s, 40, 4).unwrap();
    let all = prior_draws(&s, 40, 4);
    let bad: Vec<usize> = (0..40).filter(|&i| all[i][0] > 0.5).collect();
    assert!(!bad.is_empty() && bad.len() < 40);
    assert_eq!(data.failures.iter().map(|f| f.row).collect::<Vec<_>>(), bad);
    assert_eq!(data.xs.len() + bad.len(), 40);
    assert!(data.thetas.iter().all(|t| t[0] <= 0.5));
    assert!(data.xs.iter().all(|x| x.iter().all(|v| v.is_finite())));
}

#[test]
fn missing_program_is_a_clear_error() {
    let command = vec![
        "/nonexistent/flowinfer-no-such-sim".to_string(),
        "--fast".into(),
    ];
    let s = sim(config(command, 2, 3), 10, 2);
    let err = simulate_dataset_lenient(&s, 5, 0).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, SimulationError::External { .. }), "{err:?}");
    assert!(
        msg.contains("cannot start `/nonexistent/flowinfer-no-such-sim --fast`")
            && msg.contains("os error"),
        "{msg}"
    );
    // The single-row path returns NaN, which the strict driver reports.
    let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(1);
    let x = s.simulate_one(&[0.1, 0.2], &mut rng);
    assert!(x.len() == 3 && x.iter().all(|v| v.is_nan()));
    assert!(s.simulate_one(&[0.1], &mut rng).iter().all(|v| v.is_nan()));
    let err = simulate_batch(&s, &[vec![0.1, 0.2]], 0).unwrap_err();
    assert!(
        matches!(err, SimulationError::NonFinite { row: 0, .. }),
        "{err:?}"
    );
}

#[test]
fn too_many_failures_is_an_error() {
    let dir = ScriptDir::new("threshold");
    let body = format!(
        "if [ \"$FLOWINFER_BATCH\" -ge 1 ]; then echo \"bad batch $FLOWINFER_BATCH\" >&2; \
         exit 1; fi\n{DOUBLE_AND_SUM}"
    );
    let command = dir.script("sim.sh", &body, &[]);
    // 6 of 9 rows fail, more than half.
    let s = sim(config(command.clone(), 2, 3), 3, 1);
    let err = simulate_dataset_lenient(&s, 9, 0).unwrap_err();
    match &err {
        SimulationError::TooManyFailures {
            failed,
            total,
            first,
            ..
        } => {
            assert_eq!((*failed, *total, first.row), (6, 9, 3));
            assert!(first.reason.contains("bad batch 1"), "{first}");
        }
        other => panic!("unexpected {other:?}"),
    }
    let msg = err.to_string();
    assert!(
        msg.contains("6 of 9 rows failed") && msg.contains("row 3: batch 1"),
        "{msg}"
    );
    // 3 of 9 is within the limit.
    let ok = simulate_dataset_lenient(&sim(config(command.clone(), 2, 3), 3, 1), 6, 0).unwrap();
    assert_eq!(ok.failures.len(), 3);
    // No new batches once the limit is certainly exceeded: 2 of 10 batches run.
    let mut c = config(command.clone(), 2, 3);
    c.max_failure_fraction = 0.1;
    let err = simulate_dataset_lenient(&sim(c, 3, 1), 30, 0).unwrap_err();
    assert!(
        matches!(
            err,
            SimulationError::TooManyFailures {
                failed: 6,
                total: 30,
                ..
            }
        ),
        "{err:?}"
    );
    // A zero tolerance makes any failure an error.
    let mut c = config(command, 2, 3);
    c.max_failure_fraction = 0.0;
    let err = simulate_dataset_lenient(&sim(c, 3, 2), 4, 0).unwrap_err();
    assert!(
        matches!(
            err,
            SimulationError::TooManyFailures {
                failed: 1,
                total: 4,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn timeout_kills_the_program() {
    let dir = ScriptDir::new("timeout");
    let body = format!("echo 'starting' >&2; sleep 3\n{DOUBLE_AND_SUM}");
    let mut c = config(dir.script("slow.sh", &body, &[]), 1, 2);
    c.timeout_s = Some(0.3);
    let s = sim(c, 1, 2);
    let start = Instant::now();
    let rows = s.simulate_rows(&[vec![0.1], vec![0.2]], 0);
    let elapsed = start.elapsed().as_secs_f64();
    assert!(
        matches!(
            rows,
            Err(SimulationError::TooManyFailures { failed: 2, .. })
        ),
        "{rows:?}"
    );
    let Err(SimulationError::TooManyFailures { first, .. }) = rows else {
        unreachable!()
    };
    assert!(
        first.reason.contains("timed out after 0.3 s") && first.reason.contains("starting"),
        "{first}"
    );
    assert!(elapsed < 2.5, "took {elapsed} s");
}

#[test]
fn config_parses_from_toml_with_defaults() {
    let text = r#"
command = ["python3", "sim.py"]
param_names = ["beta", "gamma"]
prior = [
    { type = "log_normal", mean = -0.9, std = 0.5 },
    { type = "uniform", low = 0.0, high = 1.0 },
]
obs_dim = 10
timeout_s = 60.0
"#;
    let c: ExternalSimulatorConfig = toml::from_str(text).unwrap();
    assert_eq!(c.command, vec!["python3", "sim.py"]);
    assert_eq!(
        c.prior[0],
        PriorSpec::LogNormal {
            mean: -0.9,
            std: 0.5
        }
    );
    assert_eq!((c.batch_size, c.max_failure_fraction), (1000, 0.5));
    assert_eq!(c.parallel, rayon::current_num_threads());
    assert_eq!(c.timeout_s, Some(60.0));
    let back: ExternalSimulatorConfig = toml::from_str(&toml::to_string(&c).unwrap()).unwrap();
    assert_eq!(back, c);
    let s = ExternalSimulator::new(c.clone()).unwrap();
    assert_eq!((s.name(), s.param_dim(), s.obs_dim()), ("external", 2, 10));
    assert!(s.in_support(&[0.5, 0.5]) && !s.in_support(&[-0.5, 0.5]) && !s.in_support(&[0.5]));
    let lp = s.log_prior(&[0.5, 0.25]);
    let expected = PriorSpec::LogNormal {
        mean: -0.9,
        std: 0.5,
    }
    .log_density(0.5);
    assert!((lp - expected).abs() < 1e-12);

    let unknown = format!("{text}batchsize = 3\n");
    let e = toml::from_str::<ExternalSimulatorConfig>(&unknown).unwrap_err();
    assert!(e.to_string().contains("batchsize"), "{e}");
    let bad_prior = text.replace("\"uniform\"", "\"beta\"");
    assert!(toml::from_str::<ExternalSimulatorConfig>(&bad_prior).is_err());

    let mut wrong = c.clone();
    wrong.prior.pop();
    let e = ExternalSimulator::new(wrong).unwrap_err().to_string();
    assert!(e.contains("`prior` has 1 entries for 2 parameters"), "{e}");
    let mut wrong = c;
    wrong.max_failure_fraction = 1.5;
    let e = ExternalSimulator::new(wrong).unwrap_err().to_string();
    assert!(e.contains("max_failure_fraction"), "{e}");
}
