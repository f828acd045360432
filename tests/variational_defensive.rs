//! The defensive evaluation proposal of the variational job, `(1 − α) q + α g`: its
//! exact density at its own draws, i.i.d. draws, unbiased `log Ẑ` where the flow is
//! too narrow, and the `[eval]` keys. Every case runs in well under a second.

use candle_core::{Device, Tensor};
use flowinfer::config::from_toml;
use flowinfer::variational::defensive::{mix_log_density, BroadGaussian};
use flowinfer::variational::evaluate::{draw_weighted, figures, Proposal};
use flowinfer::variational::{
    build_family, FnLogDensity, LogDensity, ResultJson, VariationalConfig,
};
use rand::rngs::StdRng;
use rand::SeedableRng;

/// `N(0, I)` in 2-D: the mean-field family at its initialisation (identity ActNorm).
fn standard_normal_q() -> flowinfer::flow::Flow {
    let cfg = VariationalConfig {
        mean_field: true,
        ..VariationalConfig::default()
    };
    build_family(&cfg, 2, 0, &Device::Cpu).unwrap()
}

/// `p̃(x) = exp(−‖x‖²/(2·9))` on R²: `Z = 2π·9`, three times wider than `N(0, I)`.
fn wide() -> impl LogDensity {
    FnLogDensity::new("wide", 2, |x: &Tensor| x.sqr()?.sum(1)? * (-0.5 / 9.0))
        .with_log_z((2.0 * std::f64::consts::PI * 9.0).ln())
}

#[test]
fn the_mixture_density_is_exact_at_its_draws_and_the_draws_are_iid() {
    let flow = standard_normal_q();
    let g = BroadGaussian::new(&[0.5, -0.5], &[4.0, 1.0, 1.0, 2.0]).unwrap();
    // log p̃ = 0 everywhere: log w = −log q_α.
    let flat = FnLogDensity::new("flat", 2, |x: &Tensor| x.sum(1)?.zeros_like());
    let alpha = 0.25;
    let proposal = Proposal {
        flow: &flow,
        broad: Some((&g, alpha)),
    };
    let mut rng = StdRng::seed_from_u64(5);
    let n = 4000;
    let ev = draw_weighted(proposal, &flat, n, 1000, 0.1, &mut rng).unwrap();
    assert_eq!(ev.log_w.len(), n);
    // Recompute both component densities independently at every draw.
    let x = Tensor::from_vec(ev.points.clone(), (n, 2), &Device::Cpu).unwrap();
    let lq = flow
        .log_prob(&x.to_dtype(flow.dtype()).unwrap(), None)
        .unwrap()
        .to_dtype(candle_core::DType::F64)
        .unwrap()
        .to_vec1::<f64>()
        .unwrap();
    let lg = g.log_density(&ev.points);
    for i in 0..n {
        let want = ((1.0 - alpha) * lq[i].exp() + alpha * lg[i].exp()).ln();
        assert!(
            (-ev.log_w[i] - want).abs() < 1e-5,
            "draw {i}: log q_α {} against {want}",
            -ev.log_w[i]
        );
        assert!((mix_log_density(lq[i], lg[i], alpha) - want).abs() < 1e-12);
    }
    // Binomial share of broad draws (±4 sd), spread through every batch.
    let broad = ev.from_flow.iter().filter(|f| !**f).count() as f64;
    let sd = (n as f64 * alpha * (1.0 - alpha)).sqrt();
    assert!((broad - alpha * n as f64).abs() < 4.0 * sd, "{broad} broad");
    for chunk in ev.from_flow.chunks(1000) {
        let first_half = chunk[..500].iter().filter(|f| !**f).count();
        assert!(
            (60..190).contains(&first_half),
            "not shuffled: {first_half}"
        );
    }
    // The ELBO terms are log p̃ − log q of the flow's own draws only.
    assert_eq!(ev.elbo_terms().len(), n - broad as usize);
}

#[test]
fn without_a_broad_fraction_the_draws_are_the_flows_own_stream() {
    let flow = standard_normal_q();
    let target = wide();
    let ev = draw_weighted(
        Proposal {
            flow: &flow,
            broad: None,
        },
        &target,
        500,
        200,
        0.1,
        &mut StdRng::seed_from_u64(9),
    )
    .unwrap();
    let mut rng = StdRng::seed_from_u64(9);
    let mut direct = Vec::new();
    for m in [200, 200, 100] {
        let (x, _) = flow.sample_and_log_prob(m, None, &mut rng).unwrap();
        let x = x.to_dtype(candle_core::DType::F64).unwrap();
        direct.extend(x.flatten_all().unwrap().to_vec1::<f64>().unwrap());
    }
    assert_eq!(ev.points, direct);
    assert!(ev.from_flow.iter().all(|f| *f));
}

#[test]
fn a_too_narrow_flow_is_biased_alone_and_unbiased_with_the_broad_component() {
    // q = N(0, I) against a target of sd 3: the weights p̃/q have infinite variance,
    // so q alone underestimates log Z with a falsely small error. g = N(0, 9 I)
    // (q's covariance × 9) dominates the target: finite-variance weights.
    let flow = standard_normal_q();
    let target = wide();
    let z = target.truth().unwrap().log_z.unwrap();
    let mut pilot = StdRng::seed_from_u64(1);
    let (x, _) = flow.sample_and_log_prob(4096, None, &mut pilot).unwrap();
    let pts = x
        .to_dtype(candle_core::DType::F64)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1::<f64>()
        .unwrap();
    let g = BroadGaussian::fit(&pts, 2, 9.0).unwrap();
    let n = 20_000;
    let mut alone = Vec::new();
    let mut mixed = Vec::new();
    for seed in 0..5u64 {
        let run = |broad| {
            let ev = draw_weighted(
                Proposal { flow: &flow, broad },
                &target,
                n,
                n,
                0.1,
                &mut StdRng::seed_from_u64(100 + seed),
            )
            .unwrap();
            figures(&ev.log_w, &ev.elbo_terms()).unwrap()
        };
        alone.push(run(None));
        mixed.push(run(Some((&g, 0.3))));
    }
    for f in &mixed {
        let pull = (f.log_z - z) / f.log_z_std_error;
        assert!(
            pull.abs() < 3.5,
            "mixture: log Ẑ {} ± {} against {z}",
            f.log_z,
            f.log_z_std_error
        );
    }
    let mean_mixed = mixed.iter().map(|f| f.log_z).sum::<f64>() / 5.0;
    let mean_alone = alone.iter().map(|f| f.log_z).sum::<f64>() / 5.0;
    assert!(
        (mean_mixed - z).abs() < 0.05,
        "mixture mean {mean_mixed} against {z}"
    );
    assert!(
        mean_alone < z - 0.1,
        "the flow alone should be biased low here: {mean_alone} against {z}"
    );
    // The ELBO is q's own: the same with or without the broad draws (to its error).
    let (a, m) = (&alone[0], &mixed[0]);
    assert!((a.elbo - m.elbo).abs() < 4.0 * (a.elbo_std_error + m.elbo_std_error));
}

#[test]
fn the_eval_keys_are_read_checked_and_reported() {
    let cfg: VariationalConfig = from_toml(
        "[target]\nname = \"banana\"\n[eval]\ndefensive = 0.2\ndefensive_inflation = 9\n",
        "d.toml",
    )
    .unwrap();
    assert_eq!(
        (cfg.eval.defensive, cfg.eval.defensive_inflation),
        (0.2, 9.0)
    );
    let default = VariationalConfig::default();
    assert!(default.eval.defensive > 0.0 && default.eval.defensive_inflation >= 1.0);
    for (text, key) in [
        ("[eval]\ndefensive = 1.0\n", "defensive"),
        ("[eval]\ndefensive = -0.1\n", "defensive"),
        ("[eval]\ndefensive_inflation = 0.5\n", "defensive_inflation"),
    ] {
        let e = from_toml::<VariationalConfig>(text, "bad.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains(key), "{text}: {e}");
    }
    // A small run reports them in result.json.
    let mut cfg = VariationalConfig {
        mean_field: true,
        ..VariationalConfig::default()
    };
    (cfg.train.steps, cfg.train.samples) = (30, 64);
    (cfg.eval.samples, cfg.eval.draws, cfg.eval.plots) = (2000, 1900, false);
    (cfg.eval.defensive, cfg.eval.defensive_inflation) = (0.3, 6.0);
    let target = wide();
    let out =
        flowinfer::variational::variational(&target, &cfg, &Device::Cpu, &mut |_| {}).unwrap();
    let r = ResultJson::from_report(&out.report, out.draws.len() / 2);
    assert_eq!((r.defensive, r.defensive_inflation), (0.3, 6.0));
    assert!(out.report.broad_draws > 400 && out.report.broad_draws < 800);
    // samples.csv holds the flow's own draws: 1900 of them although only ~1400 of the
    // 2000 evaluation draws came from the flow (topped up).
    assert_eq!(out.draws.len(), 1900 * 2);
    let json = serde_json::to_value(&r).unwrap();
    assert!(json.get("defensive").is_some() && json.get("defensive_inflation").is_some());
}
