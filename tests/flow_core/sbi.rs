//! Neural posterior estimation recovers an analytic posterior, and posterior sampling
//! respects the prior support.

use flowinfer::flow::{FlowConfig, FlowKind};
use flowinfer::sbi::{train_npe, NpeConfig, SbiConfig};
use flowinfer::train::TrainerConfig;
use flowinfer_simulators::{GaussianLinear, Simulator, TwoMoons};

/// gaussian_linear: θ ~ N(0, 0.1 I), x | θ ~ N(θ, 0.1 I) in 10-D, so the posterior is
/// N(x/2, 0.05 I). An affine MAF represents it exactly; NPE must find it.
#[test]
fn npe_recovers_the_gaussian_linear_posterior() {
    let sim = GaussianLinear;
    let cfg = SbiConfig {
        npe: NpeConfig {
            simulations: 10_000,
            ..Default::default()
        },
        flow: FlowConfig {
            kind: FlowKind::Maf,
            blocks: 2,
            hidden: 64,
            ..Default::default()
        },
        train: TrainerConfig {
            epochs: 60,
            batch_size: 256,
            lr: 2e-3,
            patience: Some(10),
            ..Default::default()
        },
        ..Default::default()
    };
    let t = train_npe(&sim, &cfg, |_| {}).unwrap();
    let (post, rep) = (t.posterior, t.report);
    assert!(rep.history.len() >= 5);
    let x_obs: Vec<f64> = (0..10).map(|i| 0.3 * ((i as f64) * 0.7).sin()).collect();
    let s = post.sample(&sim, &x_obs, 3000, 1, 10).unwrap();
    assert_eq!(s.acceptance, 1.0); // unbounded prior support
    for j in 0..10 {
        let col: Vec<f64> = s.samples.iter().map(|r| r[j]).collect();
        let mean = col.iter().sum::<f64>() / col.len() as f64;
        let sd = (col.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / col.len() as f64).sqrt();
        assert!(
            (mean - x_obs[j] / 2.0).abs() < 0.07,
            "dim {j}: mean {mean:.3} vs {:.3}",
            x_obs[j] / 2.0
        );
        assert!(
            (sd - 0.05f64.sqrt()).abs() < 0.05,
            "dim {j}: sd {sd:.3} vs 0.224"
        );
    }
    // Densities agree with sampling: log q at the posterior mean beats a point 3 sd away.
    let centre: Vec<f64> = x_obs.iter().map(|v| v / 2.0).collect();
    let far: Vec<f64> = centre.iter().map(|v| v + 0.67).collect();
    let lp = post.log_prob(&[centre, far], &x_obs).unwrap();
    assert!(lp[0] > lp[1] + 10.0, "{lp:?}");
}

#[test]
fn posterior_draws_stay_in_the_prior_support_and_bad_observations_are_errors() {
    let sim = TwoMoons;
    let cfg = SbiConfig {
        npe: NpeConfig {
            simulations: 500,
            ..Default::default()
        },
        flow: FlowConfig {
            kind: FlowKind::Nsf,
            blocks: 2,
            hidden: 16,
            ..Default::default()
        },
        train: TrainerConfig {
            epochs: 3,
            batch_size: 128,
            patience: None,
            ..Default::default()
        },
        ..Default::default()
    };
    let post = train_npe(&sim, &cfg, |_| {}).unwrap().posterior;
    let s = post.sample(&sim, &[0.0, 0.0], 500, 2, 50).unwrap();
    assert_eq!(s.samples.len(), 500);
    assert!(s.samples.iter().all(|t| sim.in_support(t)));
    assert!(s.acceptance > 0.0 && s.acceptance <= 1.0);
    assert!(post
        .sample(&sim, &[0.0], 10, 2, 5)
        .unwrap_err()
        .to_string()
        .contains("observation"));
    assert!(post.sample(&sim, &[0.0, f64::NAN], 10, 2, 5).is_err());
}
