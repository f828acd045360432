use super::*;
use flowinfer_simulators::TwoMoons;

fn tiny() -> (SbiConfig, NleConfig) {
    let mut cfg = SbiConfig::default();
    (cfg.flow.blocks, cfg.flow.hidden, cfg.train.epochs) = (1, 8, 2);
    let nle = NleConfig {
        rounds: 2,
        simulations: Some(100),
        candidates: 200,
        mcmc: McmcConfig {
            chains: 4,
            warmup: 5,
            draws: 10,
            ..McmcConfig::default()
        },
        ..NleConfig::default()
    };
    (cfg, nle)
}

fn temp_dir(tag: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("flowinfer-snle-{tag}-{}", std::process::id()));
    std::fs::remove_dir_all(&d).ok();
    d
}

#[test]
fn an_interrupted_snle_run_resumes_and_another_spec_is_refused() {
    let dir = temp_dir("resume");
    let (cfg, nle) = tiny();
    let x_o = [0.1, -0.2];
    let full =
        train_snle_resumable(&TwoMoons, &cfg, &nle, &x_o, Some(&dir), |_| {}, |_| {}).unwrap();
    assert_eq!((full.resumed_rounds, full.rounds.len()), (0, 2));
    assert!(dir.join("round_1.json").is_file() && dir.join("round_2.json").is_file());

    // Cut the state back to round 1, as if the run had stopped during round 2.
    let path = dir.join("state.json");
    let mut state: RoundsState<SnleRound> =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    state.rounds.truncate(1);
    std::fs::write(&path, serde_json::to_string(&state).unwrap()).unwrap();
    std::fs::remove_file(dir.join("round_2.json")).unwrap();
    let mut seen = Vec::new();
    let resumed = train_snle_resumable(
        &TwoMoons,
        &cfg,
        &nle,
        &x_o,
        Some(&dir),
        |_| {},
        |r| seen.push(r.round),
    )
    .unwrap();
    assert_eq!((resumed.resumed_rounds, seen), (1, vec![2]));
    // Round 2 ran again from round 1's refitted likelihood: the same proposals and fit.
    let key = |r: &SnleRound| (r.round, r.total_pairs, r.best_val_loss, r.proposal_max_rhat);
    assert_eq!(key(&resumed.rounds[1]), key(&full.rounds[1]));
    assert_eq!(resumed.posterior.pooled(), full.posterior.pooled());

    let mut other = nle.clone();
    other.mcmc.warmup = 6;
    let e = train_snle_resumable(&TwoMoons, &cfg, &other, &x_o, Some(&dir), |_| {}, |_| {})
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("different spec") && e.contains("state.json"),
        "{e}"
    );
    let e = train_snle_resumable(
        &TwoMoons,
        &cfg,
        &nle,
        &[0.5, 0.5],
        Some(&dir),
        |_| {},
        |_| {},
    )
    .err()
    .unwrap()
    .to_string();
    assert!(e.contains("another observation"), "{e}");
    std::fs::remove_dir_all(&dir).ok();
}
