use super::*;
use flowinfer_simulators::TwoMoons;

fn tiny(rounds: usize) -> SbiConfig {
    let mut cfg = SbiConfig {
        rounds: Some(RoundsConfig {
            rounds,
            simulations: 200,
            threshold_draws: 500,
            ..RoundsConfig::default()
        }),
        ..SbiConfig::default()
    };
    (cfg.flow.blocks, cfg.flow.hidden, cfg.train.epochs) = (1, 8, 2);
    cfg
}

fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("flowinfer-rounds-{tag}-{}", std::process::id()));
    std::fs::remove_dir_all(&d).ok();
    d
}

#[test]
fn a_finished_state_resumes_to_the_same_posterior_and_another_spec_is_refused() {
    let dir = temp_dir("resume");
    let x_o = [0.1, -0.1];
    let first = train_tsnpe(&TwoMoons, &tiny(2), &x_o, Some(&dir), |_| {}, |_| {}).unwrap();
    assert_eq!(first.resumed_rounds, 0);
    assert_eq!(first.rounds.len(), 2);
    assert_eq!(first.rounds[0].accepted_fraction, 1.0);
    assert!(first.rounds[1].threshold.is_some());
    assert_eq!(first.rounds[1].total_pairs, 400);
    let again = train_tsnpe(&TwoMoons, &tiny(2), &x_o, Some(&dir), |_| {}, |_| {}).unwrap();
    assert_eq!(again.resumed_rounds, 2);
    assert_eq!(again.rounds, first.rounds);
    let theta = vec![vec![0.2, 0.3], vec![-0.4, 0.1]];
    assert_eq!(
        first.training.posterior.log_prob(&theta, &x_o).unwrap(),
        again.training.posterior.log_prob(&theta, &x_o).unwrap(),
        "the resumed run retrains the same estimate"
    );
    let mut other = tiny(2);
    other.rounds.as_mut().unwrap().hpd_level = 1e-3;
    let e = train_tsnpe(&TwoMoons, &other, &x_o, Some(&dir), |_| {}, |_| {})
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("different spec") && e.contains("state.json"),
        "{e}"
    );
    let e = train_tsnpe(&TwoMoons, &tiny(2), &[0.5, 0.5], Some(&dir), |_| {}, |_| {})
        .unwrap_err()
        .to_string();
    assert!(e.contains("another observation"), "{e}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn an_empty_truncated_prior_names_the_round() {
    let t = train_tsnpe(&TwoMoons, &tiny(1), &[0.0, 0.0], None, |_| {}, |_| {}).unwrap();
    let e = sample_truncated_prior(
        &TwoMoons,
        &t.training.posterior,
        &[0.0, 0.0],
        f64::INFINITY,
        10,
        1000,
        3,
        0,
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("round 3: none of 1000 prior draws") && e.contains("round 2's posterior"),
        "{e}"
    );
}

#[test]
fn an_interrupted_run_resumes_after_its_last_completed_round() {
    let dir = temp_dir("interrupted");
    let x_o = [0.1, -0.1];
    let full = train_tsnpe(&TwoMoons, &tiny(2), &x_o, Some(&dir), |_| {}, |_| {}).unwrap();
    // Cut the state back to round 1, as if the run had stopped during round 2.
    let path = dir.join("state.json");
    let mut state: RoundsState =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    state.rounds.truncate(1);
    std::fs::write(&path, serde_json::to_string(&state).unwrap()).unwrap();
    std::fs::remove_file(dir.join("round_2.json")).unwrap();
    let mut seen = Vec::new();
    let resumed = train_tsnpe(
        &TwoMoons,
        &tiny(2),
        &x_o,
        Some(&dir),
        |_| {},
        |r| seen.push(r.round),
    )
    .unwrap();
    assert_eq!((resumed.resumed_rounds, seen), (1, vec![2]));
    let strip = |r: &RoundReport| {
        (
            r.round,
            r.accepted_fraction,
            r.threshold,
            r.total_pairs,
            r.best_val_loss,
        )
    };
    assert_eq!(strip(&resumed.rounds[1]), strip(&full.rounds[1]));
    std::fs::remove_dir_all(&dir).ok();
}
