//! The flow integrator: the unit-hypercube flow (cube to cube, round trip, log-det,
//! identity at initialisation), the unit-interval spline's fused kernel against its
//! tensor-op reference, training on the camel, honest estimates (pulls), unweighting,
//! invalid values, and the `integrate` command end to end (external `sh`/`awk`
//! integrand, bad input).

use candle_core::{DType, Device, Tensor, Var};
use flowinfer::integrate::{
    estimate, integrate, train_flow, unweight, write_run, EvalOptions, IntegrateConfig,
    IntegrationRun, InvalidCounts, Loss, Proposal, TrainConfig, TrainMode, UnitFlow,
    UnitFlowConfig, UnweightConfig,
};
use flowinfer::testing::{check_extremes, check_transform, perturb_params, test_device};
use flowinfer::transforms::elementwise::{ElementwiseMap, UnitIntervalSpline};
use flowinfer::transforms::TransformSpec;
use flowinfer_simulators::{integrand_by_name, Integrand, IntegrandError, IntegrandOptions};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn small_flow() -> UnitFlowConfig {
    UnitFlowConfig {
        bins: 8,
        hidden: 16,
        layers: 2,
        ..UnitFlowConfig::default()
    }
}

fn builtin(name: &str, dim: usize, alpha: Option<f64>) -> Box<dyn Integrand> {
    let o = IntegrandOptions {
        alpha,
        ..IntegrandOptions::default()
    };
    integrand_by_name(name, dim, o).unwrap()
}

fn host(t: &Tensor) -> Vec<Vec<f64>> {
    t.to_dtype(DType::F64).unwrap().to_vec2::<f64>().unwrap()
}

#[test]
fn unit_flow_maps_cube_to_cube_with_exact_log_det() {
    let cfg = small_flow();
    for dim in [2, 3, 5] {
        let flow = UnitFlow::new(dim, &cfg, DType::F64, &test_device(), 3).unwrap();
        perturb_params(flow.flow().params(), 0.5, 11).unwrap();
        let mut rng = StdRng::seed_from_u64(1);
        let (x, log_q) = flow.sample(400, &mut rng).unwrap();
        assert!(host(&x).iter().flatten().all(|v| (0.0..=1.0).contains(v)));
        // The sampling density equals the density evaluated at the samples (round-off
        // of the inverse passes is amplified by steep perturbed splines: ~1e-7 in d = 5).
        let lp = flow.log_prob(&x).unwrap();
        let diff = (lp - &log_q).unwrap().abs().unwrap().max(0).unwrap();
        let diff = diff.to_scalar::<f64>().unwrap();
        assert!(diff < 1e-5, "dim {dim}: log q differs by {diff}");
        // The perturbed flow is far from uniform.
        let spread = log_q.to_vec1::<f64>().unwrap();
        assert!(
            spread.iter().any(|v| v.abs() > 0.1),
            "dim {dim}: flow stayed flat"
        );
        // Every layer: log-det against the numerical Jacobian, round trip.
        let inner: Vec<f64> = (0..40 * dim)
            .map(|_| 0.02 + 0.96 * rng.random::<f64>())
            .collect();
        let probe = Tensor::from_vec(inner, (40, dim), &test_device()).unwrap();
        for (i, t) in flow.flow().transforms().iter().enumerate() {
            let r = check_transform(t.as_ref(), &probe, None).unwrap();
            assert!(r.logdet_rel_err < 1e-5, "dim {dim} layer {i}: {r:?}");
            assert!(r.roundtrip_err < 1e-9, "dim {dim} layer {i}: {r:?}");
            assert!(r.inverse_logdet_err < 1e-9, "dim {dim} layer {i}: {r:?}");
            check_extremes(
                t.as_ref(),
                &[0.0, 1.0, 1e-12, 1.0 - 1e-12, -0.1, 1.1],
                0,
                flow.flow().params(),
            )
            .unwrap();
        }
    }
}

#[test]
fn every_feature_conditions_on_every_other() {
    for dim in 2..=17 {
        let cfg = UnitFlowConfig::default();
        let spec = cfg.flow_spec(dim).unwrap();
        let mut seen = vec![vec![false; dim]; dim];
        for t in &spec.transforms {
            let TransformSpec::Coupling { identity, .. } = t else {
                panic!("only couplings expected")
            };
            assert!(!identity.is_empty() && identity.len() < dim);
            for j in (0..dim).filter(|j| !identity.contains(j)) {
                for &i in identity {
                    seen[j][i] = true;
                }
            }
        }
        for (j, row) in seen.iter().enumerate() {
            for (i, s) in row.iter().enumerate() {
                assert!(
                    i == j || *s,
                    "dim {dim}: feature {j} never conditions on {i}"
                );
            }
        }
    }
    assert!(UnitFlowConfig::default().flow_spec(1).is_err());
}

#[test]
fn flow_starts_as_the_identity_so_weights_equal_f() {
    let f = builtin("camel", 4, None);
    let flow = UnitFlow::new(4, &small_flow(), DType::F64, &test_device(), 9).unwrap();
    let mut rng = StdRng::seed_from_u64(2);
    let b = flowinfer::integrate::batch::draw_weighted(
        &Proposal::flow_only(&flow),
        f.as_ref(),
        300,
        &mut rng,
        &EvalOptions::default(),
        &mut InvalidCounts::default(),
        "test",
    )
    .unwrap();
    for (k, (w, fv)) in b.w.iter().zip(&b.f).enumerate() {
        assert!(
            (w - fv).abs() <= 1e-12 * fv.abs().max(1e-300),
            "point {k}: w {w} f {fv}"
        );
        assert!(b.log_q[k].abs() < 1e-12);
    }
    // Forward is the identity too.
    let x = Tensor::from_vec(b.points.clone(), (300, 4), &test_device()).unwrap();
    let (z, ld) = flow.flow().to_latent(&x, None).unwrap();
    let dz = (z - &x)
        .unwrap()
        .abs()
        .unwrap()
        .flatten_all()
        .unwrap()
        .max(0)
        .unwrap();
    assert!(dz.to_scalar::<f64>().unwrap() < 1e-12);
    assert!(
        ld.abs()
            .unwrap()
            .max(0)
            .unwrap()
            .to_scalar::<f64>()
            .unwrap()
            < 1e-12
    );
}

#[test]
fn unit_spline_kernel_matches_tensor_reference_with_gradients() {
    let (n, d, k) = (64, 3, 6);
    let mut rng = StdRng::seed_from_u64(5);
    let dev = Device::Cpu;
    let xs: Vec<f64> = (0..n * d).map(|_| rng.random::<f64>()).collect();
    let ps: Vec<f64> = (0..n * d * (3 * k + 1))
        .map(|_| 2.0 * rng.random::<f64>() - 1.0)
        .collect();
    let x = Var::from_tensor(&Tensor::from_vec(xs, (n, d), &dev).unwrap()).unwrap();
    let p = Var::from_tensor(&Tensor::from_vec(ps, (n, d, 3 * k + 1), &dev).unwrap()).unwrap();
    let fused = UnitIntervalSpline::new(k, 1e-3, 1e-3, 1e-3).unwrap();
    let reference = fused.clone().with_fused(false);
    let run = |m: &UnitIntervalSpline, inverse: bool| {
        let (y, ld) = if inverse {
            m.inverse(x.as_tensor(), p.as_tensor()).unwrap()
        } else {
            m.forward(x.as_tensor(), p.as_tensor()).unwrap()
        };
        let loss = ((y.sqr().unwrap().sum_all().unwrap() * 0.7).unwrap()
            + (ld.sum_all().unwrap() * 1.3).unwrap())
        .unwrap();
        let g = loss.backward().unwrap();
        let flat = |t: &Tensor| t.flatten_all().unwrap().to_vec1::<f64>().unwrap();
        (
            flat(&y),
            flat(&ld),
            flat(g.get(x.as_tensor()).unwrap()),
            flat(g.get(p.as_tensor()).unwrap()),
        )
    };
    for inverse in [false, true] {
        let a = run(&fused, inverse);
        let b = run(&reference, inverse);
        for (what, u, v) in [
            ("output", &a.0, &b.0),
            ("log-det", &a.1, &b.1),
            ("input gradient", &a.2, &b.2),
            ("parameter gradient", &a.3, &b.3),
        ] {
            let err = u
                .iter()
                .zip(v)
                .map(|(p, q)| (p - q).abs() / q.abs().max(1.0))
                .fold(0.0, f64::max);
            assert!(err < 1e-9, "inverse={inverse} {what}: {err}");
        }
    }
    // Outputs stay in the unit interval; the identity parameters give the identity.
    let y = fused.forward(x.as_tensor(), p.as_tensor()).unwrap().0;
    assert!(host(&y).iter().flatten().all(|v| (0.0..=1.0).contains(v)));
    let mut id = vec![0.0; n * d * (3 * k + 1)];
    for row in id.chunks_mut(3 * k + 1) {
        row[2 * k..]
            .iter_mut()
            .for_each(|v| *v = UnitIntervalSpline::identity_derivative_param(1e-3));
    }
    let pid = Tensor::from_vec(id, (n, d, 3 * k + 1), &dev).unwrap();
    for m in [&fused, &reference] {
        let (y, ld) = m.forward(x.as_tensor(), &pid).unwrap();
        let e = (y - x.as_tensor())
            .unwrap()
            .abs()
            .unwrap()
            .flatten_all()
            .unwrap();
        assert!(e.max(0).unwrap().to_scalar::<f64>().unwrap() < 1e-12);
        assert!(
            ld.abs()
                .unwrap()
                .max(0)
                .unwrap()
                .to_scalar::<f64>()
                .unwrap()
                < 1e-12
        );
    }
    assert!(UnitIntervalSpline::new(1, 1e-3, 1e-3, 1e-3).is_err());
    assert!(UnitIntervalSpline::new(8, 0.2, 1e-3, 1e-3).is_err());
}

#[test]
fn short_training_on_camel_2d_beats_the_uniform_proposal() {
    let f = builtin("camel", 2, None);
    let flow = UnitFlow::new(2, &small_flow(), DType::F32, &test_device(), 1).unwrap();
    let opts = EvalOptions::default();
    let mut invalid = InvalidCounts::default();
    let mut rng = StdRng::seed_from_u64(3);
    let (before, _) = estimate(
        &Proposal::flow_only(&flow),
        f.as_ref(),
        20_000,
        4096,
        &mut rng,
        &opts,
        &mut invalid,
    )
    .unwrap();
    let cfg = TrainConfig {
        steps: 80,
        batch: 1024,
        lr: 1e-2,
        min_lr: 1e-3,
        ..TrainConfig::default()
    };
    let mut steps = 0;
    let hist = train_flow(
        &flow,
        f.as_ref(),
        &cfg,
        &mut rng,
        &opts,
        &mut invalid,
        &mut |_, _| steps += 1,
        &mut |_| {},
    )
    .unwrap();
    assert_eq!((steps, hist.calls, hist.skipped_steps), (80, 80 * 1024, 0));
    let (after, _) = estimate(
        &Proposal::flow_only(&flow),
        f.as_ref(),
        20_000,
        4096,
        &mut rng,
        &opts,
        &mut invalid,
    )
    .unwrap();
    assert!(
        after.rel_std < 0.5 * before.rel_std,
        "rel. std {} → {}",
        before.rel_std,
        after.rel_std
    );
    let exact = f.exact().unwrap();
    assert!(after.pull(exact).unwrap().abs() < 4.0, "{after:?}");
    assert!(after.unweighting_efficiency > before.unweighting_efficiency);
}

#[test]
fn buffered_kl_training_also_learns() {
    let f = builtin("gaussian", 2, Some(0.3));
    let flow = UnitFlow::new(2, &small_flow(), DType::F32, &test_device(), 4).unwrap();
    let opts = EvalOptions::default();
    let mut invalid = InvalidCounts::default();
    let mut rng = StdRng::seed_from_u64(8);
    let cfg = TrainConfig {
        loss: Loss::Kl,
        mode: TrainMode::Buffered,
        reuse: 4,
        steps: 60,
        batch: 1024,
        lr: 1e-2,
        min_lr: 1e-3,
        ..TrainConfig::default()
    };
    let hist = train_flow(
        &flow,
        f.as_ref(),
        &cfg,
        &mut rng,
        &opts,
        &mut invalid,
        &mut |_, _| {},
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(hist.calls, 15 * 1024, "a fresh batch every 4 steps");
    let fresh: Vec<f64> = hist.records.iter().filter_map(|r| r.rel_std).collect();
    assert_eq!(fresh.len(), 15);
    assert!(fresh[14] < 0.6 * fresh[0], "{fresh:?}");
}

#[test]
fn estimates_are_honest_pulls_over_seeds() {
    // The identity flow is the uniform proposal; polynomial and gaussian have exact values.
    let flow = UnitFlow::new(2, &small_flow(), DType::F64, &test_device(), 0).unwrap();
    let opts = EvalOptions::default();
    for (f, n) in [
        (builtin("polynomial", 2, None), 100_000),
        (builtin("gaussian", 2, Some(0.4)), 100_000),
    ] {
        let mut rng = StdRng::seed_from_u64(17);
        let mut inv = InvalidCounts::default();
        let (s, w) = estimate(
            &Proposal::flow_only(&flow),
            f.as_ref(),
            n,
            8192,
            &mut rng,
            &opts,
            &mut inv,
        )
        .unwrap();
        assert_eq!(w.len(), n);
        let pull = s.pull(f.exact().unwrap()).unwrap();
        assert!(pull.abs() < 4.0, "{}: pull {pull}", f.name());
        assert!(s.ess > 0.0 && s.ess <= n as f64 && s.unweighting_efficiency <= 1.0);
        assert!(s.unweighting_efficiency <= s.unweighting_efficiency_bootstrap);
    }
    // 20 seeded repetitions: pulls have mean ≈ 0 and standard deviation ≈ 1.
    let f = builtin("gaussian", 2, Some(0.3));
    let exact = f.exact().unwrap();
    let pulls: Vec<f64> = (0..20)
        .map(|seed| {
            let mut rng = StdRng::seed_from_u64(100 + seed);
            let mut inv = InvalidCounts::default();
            let (s, _) = estimate(
                &Proposal::flow_only(&flow),
                f.as_ref(),
                4000,
                4000,
                &mut rng,
                &opts,
                &mut inv,
            )
            .unwrap();
            s.pull(exact).unwrap()
        })
        .collect();
    let mean = pulls.iter().sum::<f64>() / 20.0;
    let sd = (pulls.iter().map(|p| (p - mean).powi(2)).sum::<f64>() / 19.0).sqrt();
    assert!(mean.abs() < 0.8, "pull mean {mean} ({pulls:?})");
    assert!((0.5..1.6).contains(&sd), "pull sd {sd} ({pulls:?})");
}

/// Probability of `[a, b]` under the density `∝ exp(−(x − ½)²/α²)` on `[0, 1]`.
fn gaussian_bin_probability(a: f64, b: f64, alpha: f64) -> f64 {
    let g = |x: f64| (-(x - 0.5f64).powi(2) / (alpha * alpha)).exp();
    let simpson = |lo: f64, hi: f64| {
        let m = 200;
        let h = (hi - lo) / m as f64;
        (0..=m)
            .map(|i| {
                let c = if i == 0 || i == m {
                    1.0
                } else if i % 2 == 1 {
                    4.0
                } else {
                    2.0
                };
                c * g(lo + i as f64 * h)
            })
            .sum::<f64>()
            * h
            / 3.0
    };
    simpson(a, b) / simpson(0.0, 1.0)
}

#[test]
fn unweighted_events_follow_the_integrand() {
    let alpha = 0.3;
    let f = builtin("gaussian", 2, Some(alpha));
    let flow = UnitFlow::new(2, &small_flow(), DType::F64, &test_device(), 0).unwrap();
    let opts = EvalOptions::default();
    let mut inv = InvalidCounts::default();
    let mut rng = StdRng::seed_from_u64(21);
    // The largest weight of the uniform proposal is f at the centre.
    let peak = 1.0 / (alpha * alpha * std::f64::consts::PI);
    let cfg = UnweightConfig {
        events: 4000,
        batch: 4096,
        max_weight: peak,
        max_trials: 1_000_000,
        seed: 1,
    };
    let u = unweight(
        &Proposal::flow_only(&flow),
        f.as_ref(),
        &cfg,
        &mut rng,
        &opts,
        &mut inv,
    )
    .unwrap();
    assert_eq!(
        (u.events, u.points.len(), u.over_weight_events),
        (4000, 8000, 0)
    );
    assert!(u.weights.iter().all(|w| *w == 1.0));
    // Acceptance = I / w_max.
    let expected = f.exact().unwrap() / peak;
    assert!((u.acceptance - expected).abs() < 0.05 * expected, "{u:?}");
    // χ² of the x1 histogram against the exact marginal (10 bins, 9 dof).
    let mut counts = [0.0f64; 10];
    for row in u.points.chunks(2) {
        counts[((row[0] * 10.0) as usize).min(9)] += 1.0;
    }
    let chi2: f64 = counts
        .iter()
        .enumerate()
        .map(|(b, c)| {
            let e =
                4000.0 * gaussian_bin_probability(b as f64 / 10.0, (b + 1) as f64 / 10.0, alpha);
            (c - e).powi(2) / e
        })
        .sum();
    assert!(chi2 < 30.0, "χ² = {chi2}, counts {counts:?}");
    // Against a too-small maximum, over-weight events are kept with weight w/w_max.
    let low = UnweightConfig {
        max_weight: 0.5 * peak,
        events: 2000,
        ..cfg
    };
    let u = unweight(
        &Proposal::flow_only(&flow),
        f.as_ref(),
        &low,
        &mut rng,
        &opts,
        &mut inv,
    )
    .unwrap();
    let heavy = u.weights.iter().filter(|w| **w > 1.0).count();
    assert!(heavy > 0 && heavy == u.over_weight_events, "{u:?}");
    assert!((u.over_weight_fraction - heavy as f64 / 2000.0).abs() < 1e-12);
    assert!(u.excess_weight_fraction > 0.0 && u.max_weight_seen > low.max_weight);
}

/// NaN in the left half, −1 in a corner, x₁ elsewhere.
struct Broken;

impl Integrand for Broken {
    fn name(&self) -> &str {
        "broken"
    }
    fn dim(&self) -> usize {
        2
    }
    fn evaluate(&self, points: &[f64], out: &mut [f64]) -> Result<(), IntegrandError> {
        for (r, o) in points.chunks(2).zip(out.iter_mut()) {
            *o = if r[0] < 0.1 {
                f64::NAN
            } else if r[1] > 0.95 {
                -1.0
            } else {
                r[0]
            };
        }
        Ok(())
    }
}

fn tiny_config() -> IntegrateConfig {
    IntegrateConfig {
        flow: small_flow(),
        train: TrainConfig {
            steps: 3,
            batch: 256,
            ..TrainConfig::default()
        },
        eval: flowinfer::integrate::EvalConfig {
            samples: 2000,
            batch: 1000,
            ..Default::default()
        },
        ..IntegrateConfig::default()
    }
}

#[test]
fn invalid_values_are_counted_and_an_error_unless_allowed() {
    let cfg = tiny_config();
    let err = integrate(&Broken, &cfg, &test_device(), &mut |_| {}).unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(err, flowinfer::Error::InvalidValues { .. }),
        "{msg}"
    );
    assert!(
        msg.contains("broken") && msg.contains("non-finite") && msg.contains("--allow-invalid"),
        "{msg}"
    );
    let mut allowed = cfg.clone();
    allowed.eval.allow_invalid = true;
    allowed.eval.vegas = true;
    let out = integrate(&Broken, &allowed, &test_device(), &mut |_| {}).unwrap();
    let inv = &out.report.invalid;
    assert!(inv.non_finite > 0 && inv.negative > 0, "{inv:?}");
    assert!(out.weights.iter().all(|w| w.is_finite() && *w >= 0.0));
    assert!(out.report.vegas.is_some());
}

#[test]
fn a_written_run_loads_back_with_the_same_flow() {
    let spec: IntegrateConfig = toml::from_str(
        "seed = 4\n[integrand]\nname = \"camel\"\ndim = 3\n\
         [flow]\nbins = 4\nhidden = 8\n[train]\nsteps = 5\nbatch = 256\n\
         [eval]\nsamples = 2000\nvegas_warm_start = true\nwarm_start_calls = 2000\n",
    )
    .unwrap();
    let user = spec.build_integrand().unwrap();
    let out = integrate(user.as_ref(), &spec, &test_device(), &mut |_| {}).unwrap();
    let dir = tmp("written-run");
    write_run(&out, &spec, &dir, None).unwrap();
    let run = IntegrationRun::load(&dir, &test_device()).unwrap();
    assert_eq!(run.spec, spec);
    assert_eq!(run.result.flow.estimate, out.report.stats.estimate);
    assert_eq!(run.grid, out.grid);
    let (x, lq) = out.flow.sample(500, &mut StdRng::seed_from_u64(1)).unwrap();
    let lq2 = run.flow.log_prob(&x).unwrap();
    let diff = (lq - lq2).unwrap().abs().unwrap().max(0).unwrap();
    assert!(diff.to_scalar::<f32>().unwrap() < 1e-5);
    // A different architecture in spec.toml is refused, naming the model file.
    let mut other = spec.clone();
    other.flow.bins = 5;
    std::fs::write(dir.join("spec.toml"), toml::to_string(&other).unwrap()).unwrap();
    let e = IntegrationRun::load(&dir, &test_device())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("model/flow.json") && e.contains("not the unit-hypercube flow"),
        "{e}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn one_dimensional_integrands_are_padded() {
    let f = builtin("polynomial", 1, None);
    let mut cfg = tiny_config();
    cfg.eval.unweighted = Some(50);
    let out = integrate(f.as_ref(), &cfg, &test_device(), &mut |_| {}).unwrap();
    assert_eq!((out.report.dim, out.report.flow.dim), (1, 2));
    assert!(out.report.pull.unwrap().abs() < 4.0);
    let ev = out.events.unwrap();
    assert_eq!((ev.columns.len(), ev.points.len()), (1, 50));
}

// ----- the command line -----

fn flowinfer() -> Command {
    Command::new(env!("CARGO_BIN_EXE_flowinfer"))
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("flowinfer-int-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into(),
        String::from_utf8_lossy(&o.stderr).into(),
    )
}

const FAST: [&str; 12] = [
    "--steps",
    "4",
    "--batch",
    "256",
    "--eval-samples",
    "3000",
    "--bins",
    "4",
    "--hidden",
    "8",
    "--quiet",
    "--seed",
];

#[test]
fn cli_external_integrand_end_to_end() {
    let dir = tmp("external");
    std::fs::create_dir_all(&dir).unwrap();
    let script = dir.join("f.sh");
    std::fs::write(
        &script,
        "awk -F, '{ printf \"%.17g\\n\", 3 * $1 * $1 + $2 }'\n",
    )
    .unwrap();
    let out = dir.join("run");
    let events = dir.join("events.csv");
    let o = flowinfer()
        .args(["integrate", "--integrand-command"])
        .arg(format!("sh {}", script.display()))
        .args(["--dim", "2", "--unweighted", "100", "--vegas"])
        .arg("--events-out")
        .arg(&events)
        .args(FAST)
        .arg("7")
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("estimate:") && stdout.contains("VEGAS"),
        "{stdout}"
    );
    let read_json = |name: &str| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(out.join(name)).unwrap()).unwrap()
    };
    let report = read_json("report.json");
    let result = read_json("result.json");
    for key in [
        "estimate",
        "std_error",
        "rel_std",
        "ess",
        "unweighting_efficiency",
        "unweighting_efficiency_bootstrap",
        "calls",
        "seconds",
    ] {
        assert!(report.get(key).is_some(), "report lacks {key}");
        assert!(
            report["vegas"].get(key).is_some(),
            "report.vegas lacks {key}"
        );
        assert!(result[key].as_f64().is_some(), "result lacks {key}");
        assert!(
            result["vegas"][key].as_f64().is_some(),
            "result.vegas lacks {key}"
        );
    }
    assert_eq!(result["estimate"], report["estimate"]);
    // VEGAS runs at the flow's number of integrand calls (training + evaluation).
    assert_eq!(result["calls"], result["vegas"]["calls"]);
    // ∫∫ 3x² + y = 1.5.
    let est = result["estimate"].as_f64().unwrap();
    let se = result["std_error"].as_f64().unwrap();
    assert!((est - 1.5).abs() < 5.0 * se, "{est} ± {se}");
    assert_eq!(report["integrand"], "sh");
    let csv = std::fs::read_to_string(&events).unwrap();
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("x1,x2,weight"));
    assert_eq!(lines.count(), 100);
    for f in [
        "history.csv",
        "weights.png",
        "training.png",
        "marginals.png",
        "spec.toml",
        "model/flow.json",
        "model/flow.safetensors",
    ] {
        assert!(out.join(f).exists(), "{f} missing");
    }
    std::fs::remove_dir_all(&dir).ok();
}

fn unweight_cmd(run: &Path, n: &str, out: &Path) -> Output {
    flowinfer()
        .args(["unweight", "--run"])
        .arg(run)
        .args(["-n", n, "--out"])
        .arg(out)
        .output()
        .unwrap()
}

#[test]
fn cli_unweight_from_a_saved_run_with_a_warm_start_grid() {
    let dir = tmp("unweight");
    std::fs::create_dir_all(&dir).unwrap();
    let run = dir.join("run");
    let o = flowinfer()
        .args(["integrate", "--integrand", "gaussian", "--dim", "2"])
        .args(["--vegas-warm-start", "--warm-start-calls", "2000"])
        .args(FAST)
        .arg("3")
        .arg("--out")
        .arg(&run)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stdout}\n{stderr}");
    assert!(run.join("vegas_grid.json").exists());
    let spec = std::fs::read_to_string(run.join("spec.toml")).unwrap();
    assert!(
        spec.contains("gaussian") && spec.contains("vegas_warm_start = true"),
        "{spec}"
    );
    // Events from the saved run follow the integrand (through the saved grid): a 2-D
    // Gaussian of width 0.2 centred at ½ have mean ≈ ½ and sd ≈ 0.2/√2 per column.
    let events = dir.join("events.csv");
    let o = unweight_cmd(&run, "4000", &events);
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("over-weight events"), "{stdout}");
    let csv = std::fs::read_to_string(&events).unwrap();
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("x1,x2,weight"));
    let rows: Vec<Vec<f64>> = lines
        .map(|l| l.split(',').map(|v| v.parse().unwrap()).collect())
        .collect();
    assert_eq!(rows.len(), 4000);
    for c in 0..2 {
        let m = rows.iter().map(|r| r[c]).sum::<f64>() / 4000.0;
        let sd = (rows.iter().map(|r| (r[c] - m).powi(2)).sum::<f64>() / 3999.0).sqrt();
        assert!((m - 0.5).abs() < 0.01, "column {c}: mean {m}");
        assert!((sd - 0.2 / 2f64.sqrt()).abs() < 0.01, "column {c}: sd {sd}");
    }
    // Bad input: no run, zero events, output into a missing directory; nothing written.
    let missing = dir.join("missing.csv");
    let fails = |run: &Path, n: &str, out: &Path, expected: &str| {
        let o = unweight_cmd(run, n, out);
        let (_, e) = text(&o);
        assert!(!o.status.success() && e.contains(expected), "{e}");
        assert!(!out.exists(), "{expected}: output written");
    };
    fails(&dir.join("nope"), "10", &missing, "no such run directory");
    fails(&run, "0", &missing, "at least 1");
    fails(&run, "10", &dir.join("no/such/dir.csv"), "does not exist");
    std::fs::remove_dir_all(run.join("model")).unwrap();
    fails(&run, "10", &missing, "flow.json");
    std::fs::remove_dir_all(&dir).ok();
}

fn run_fails(args: &[&str], out: &PathBuf) -> String {
    let o = flowinfer()
        .arg("integrate")
        .args(args)
        .args(FAST)
        .arg("1")
        .arg("--out")
        .arg(out)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&o);
    assert!(!o.status.success(), "should fail: {args:?}\n{stdout}");
    assert!(!out.exists(), "{args:?} left output behind");
    stderr
}

#[test]
fn cli_bad_input_is_a_clear_error_and_writes_nothing() {
    let dir = tmp("bad");
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("run");
    let e = run_fails(&["--integrand", "rosenbrock", "--dim", "2"], &out);
    assert!(
        e.contains("unknown integrand") && e.contains("camel"),
        "{e}"
    );
    let e = run_fails(&["--integrand", "annulus", "--dim", "3"], &out);
    assert!(e.contains("dimension 2 only"), "{e}");
    let e = run_fails(&["--integrand", "camel", "--dim", "0"], &out);
    assert!(e.contains("at least 1"), "{e}");
    let e = run_fails(&["--integrand", "camel"], &out);
    assert!(e.contains("needs a dimension"), "{e}");
    let e = run_fails(
        &["--integrand", "camel", "--dim", "2", "--loss", "hinge"],
        &out,
    );
    assert!(e.contains("kl, variance"), "{e}");
    let fail = dir.join("fail.sh");
    std::fs::write(&fail, "echo 'no licence' >&2; exit 3\n").unwrap();
    let cmd = format!("sh {}", fail.display());
    let e = run_fails(&["--integrand-command", &cmd, "--dim", "2"], &out);
    assert!(
        e.contains("exit status 3") && e.contains("no licence"),
        "{e}"
    );
    let nan = dir.join("nan.sh");
    std::fs::write(&nan, "awk -F, '{ print ($1 < 0.5 ? \"nan\" : $2) }'\n").unwrap();
    let cmd = format!("sh {}", nan.display());
    let e = run_fails(&["--integrand-command", &cmd, "--dim", "2"], &out);
    assert!(
        e.contains("non-finite") && e.contains("--allow-invalid"),
        "{e}"
    );
    let spec = dir.join("bad.toml");
    std::fs::write(&spec, "[integrand]\nname = \"camel\"\ndim = 2\nwidht = 3\n").unwrap();
    let e = run_fails(&["--spec", spec.to_str().unwrap()], &out);
    assert!(e.contains("unknown field") && e.contains("widht"), "{e}");
    // A known key for an integrand that does not take it names the ones that do.
    let e = run_fails(
        &["--integrand", "camel", "--dim", "2", "--width", "0.1"],
        &out,
    );
    assert!(
        e.contains("takes no `width`") && e.contains("needle"),
        "{e}"
    );
    // The NaN integrand runs with --allow-invalid and reports the count.
    let o = flowinfer()
        .args([
            "integrate",
            "--integrand-command",
            &cmd,
            "--dim",
            "2",
            "--allow-invalid",
        ])
        .args(FAST)
        .arg("1")
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("invalid values:"), "{stdout}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn the_repository_specs_load() {
    let models = Path::new(env!("CARGO_MANIFEST_DIR")).join("models");
    for (file, name, dim) in [
        ("camel-4d.toml", "camel", 4),
        ("camel-8d.toml", "camel", 8),
        ("camel-16d.toml", "camel", 16),
        ("annulus.toml", "annulus", 2),
        ("eeqqg.toml", "ee_qqg", 5),
        ("eeqqg-rambo.toml", "ee_qqg", 5),
        ("needle-4d.toml", "needle", 4),
        ("needle-8d.toml", "needle", 8),
        ("needle-16d.toml", "needle", 16),
        ("shell.toml", "shell", 8),
        ("breit-wigner.toml", "breit_wigner", 4),
        ("two-needles.toml", "two_needles", 8),
    ] {
        let cfg = IntegrateConfig::load(&models.join(file)).unwrap();
        let f = cfg.build_integrand().unwrap();
        assert_eq!((f.name(), f.dim()), (name, dim), "{file}");
        assert!(
            f.exact().is_some(),
            "{file}: the shipped integrands have exact values"
        );
        assert!(cfg.eval.vegas && cfg.validate_for(dim).is_ok(), "{file}");
        assert!(
            cfg.train.anneal > 0.0,
            "{file}: annealing is the safe default"
        );
    }
}

#[test]
fn the_qqg_phase_space_map_is_a_setting_and_a_bad_one_is_an_error_naming_the_key() {
    let p = Path::new("x.toml");
    let spec = |map: &str| {
        flowinfer::config::from_toml::<IntegrateConfig>(
            &format!("[integrand]\nname = \"ee_qqg\"\nmap = \"{map}\"\n"),
            p,
        )
        .unwrap()
    };
    let exact = spec("rambo").build_integrand().unwrap().exact();
    let mapped = spec("log_dalitz").build_integrand().unwrap();
    assert_eq!(
        mapped.exact(),
        exact,
        "the map does not change the integral"
    );
    let msg = spec("vegas").build_integrand().err().unwrap().to_string();
    assert!(
        msg.contains("[integrand]") && msg.contains("`map`") && msg.contains("log_dalitz"),
        "{msg}"
    );
    let other = flowinfer::config::from_toml::<IntegrateConfig>(
        "[integrand]\nname = \"camel\"\ndim = 2\nmap = \"log_dalitz\"\n",
        p,
    )
    .unwrap();
    let msg = other.build_integrand().err().unwrap().to_string();
    assert!(msg.contains("no `map`"), "{msg}");
}

#[test]
fn annealing_schedule_rises_to_one() {
    let cfg = TrainConfig {
        steps: 100,
        anneal: 0.5,
        beta_start: 0.2,
        anneal_ess: 0.0,
        // Keep the decay this test checks (the pilot gate, on by default, would
        // stop the fraction after the pilot on this camel).
        defensive_gate: false,
        ..TrainConfig::default()
    };
    assert_eq!(cfg.beta(0), 0.2);
    assert!((cfg.beta(25) - 0.6).abs() < 1e-12);
    assert_eq!((cfg.beta(50), cfg.beta(99)), (1.0, 1.0));
    assert_eq!(TrainConfig::default().beta(0), 0.2);
    let off = TrainConfig {
        anneal: 0.0,
        ..TrainConfig::default()
    };
    assert_eq!(off.beta(0), 1.0);
    let bad = TrainConfig {
        beta_start: 0.0,
        ..cfg.clone()
    };
    assert!(bad.validate().is_err());
    // Annealed training on the camel runs and records β.
    let f = builtin("camel", 2, None);
    let flow = UnitFlow::new(2, &small_flow(), DType::F32, &test_device(), 2).unwrap();
    let mut rng = StdRng::seed_from_u64(4);
    let short = TrainConfig {
        steps: 10,
        batch: 256,
        ..cfg
    };
    let h = train_flow(
        &flow,
        f.as_ref(),
        &short,
        &mut rng,
        &EvalOptions::default(),
        &mut InvalidCounts::default(),
        &mut |_, _| {},
        &mut |_| {},
    )
    .unwrap();
    let betas: Vec<f64> = h.records.iter().map(|r| r.beta).collect();
    assert_eq!(betas[0], 0.2);
    assert_eq!(betas[9], 1.0);
    assert_eq!(h.skipped_steps, 0);
    // The defensive fraction stays at its value while annealing, then decays to 0
    // over half of the steps left after β first reached 1.
    let full = betas.iter().position(|b| *b >= 1.0).unwrap();
    let alphas: Vec<f64> = h.records.iter().map(|r| r.defensive).collect();
    assert!(
        alphas[..=full].iter().all(|a| *a == short.defensive),
        "{alphas:?}"
    );
    assert!(alphas.windows(2).all(|w| w[1] <= w[0]), "{alphas:?}");
    assert_eq!(alphas[9], 0.0, "{alphas:?}");
    for (s, a) in alphas.iter().enumerate() {
        assert_eq!(*a, short.defensive_at(s, (s > full).then_some(full)));
    }
    let bad = TrainConfig {
        defensive_decay: 1.5,
        ..short.clone()
    };
    assert!(bad
        .validate()
        .unwrap_err()
        .to_string()
        .contains("defensive_decay"));
    // defensive_decay = 0 keeps the fraction constant.
    let kept = TrainConfig {
        defensive_decay: 0.0,
        ..short
    };
    assert_eq!(kept.defensive_at(9, Some(2)), kept.defensive);
}

fn train_betas(name: &str, cfg: &TrainConfig) -> Vec<f64> {
    let f = builtin(name, 2, None);
    let flow = UnitFlow::new(2, &small_flow(), DType::F32, &test_device(), 2).unwrap();
    let h = train_flow(
        &flow,
        f.as_ref(),
        cfg,
        &mut StdRng::seed_from_u64(5),
        &EvalOptions::default(),
        &mut InvalidCounts::default(),
        &mut |_, _| {},
        &mut |_| {},
    )
    .unwrap();
    h.records.iter().map(|r| r.beta).collect()
}

#[test]
fn adaptive_annealing_moves_ahead_only_as_far_as_the_flow_follows() {
    let cfg = TrainConfig {
        steps: 40,
        batch: 1024,
        lr: 1e-2,
        anneal: 1.0,
        anneal_ess: 0.5,
        ..TrainConfig::default()
    };
    // The uniform start already samples the polynomial well (ESS fraction ≈ 0.9):
    // β = 1 from the first batch.
    let poly = train_betas("polynomial", &cfg);
    assert_eq!(poly[0], 1.0, "{poly:?}");
    // The camel's peaks are not sampled well by the uniform start: β starts above the
    // schedule's 0.2 but below 1, never decreases, and reaches 1 before the linear
    // schedule would (step 40) as the flow learns.
    let camel = train_betas("camel", &cfg);
    assert!(camel[0] > 0.2 && camel[0] < 1.0, "{camel:?}");
    assert!(camel.windows(2).all(|w| w[1] >= w[0]), "{camel:?}");
    let full = camel.iter().position(|b| *b == 1.0);
    assert!(full.is_some_and(|s| s < 30), "{camel:?}");
    // With anneal = 0 there is no annealing, whatever anneal_ess says.
    let off = TrainConfig { anneal: 0.0, ..cfg };
    assert!(train_betas("camel", &off).iter().all(|b| *b == 1.0));
}

/// The diagnostics decide whether an estimate can be trusted: every weight zero,
/// a Pareto k̂ above its threshold, or fewer than 100 effective samples.
#[test]
fn untrusted_weights_are_named_in_plain_words() {
    use flowinfer::integrate::WeightStats;
    let zero = WeightStats::from_weights(&[0.0; 1000]).unwrap();
    let r = zero.untrusted_reasons();
    assert!(
        r.len() == 1 && r[0].contains("every one of the 1000 weights is zero"),
        "{r:?}"
    );
    // Weights with a Pareto tail of shape 0.9 (infinite variance): k̂ flags them.
    let heavy: Vec<f64> = (1..=20_000)
        .map(|i| (i as f64 / 20_001.0).powf(-0.9))
        .collect();
    let s = WeightStats::from_weights(&heavy).unwrap();
    assert!(s.pareto_k > 0.7, "k̂ {}", s.pareto_k);
    let r = s.untrusted_reasons();
    assert!(r.iter().any(|m| m.contains("Pareto k̂")), "{r:?}");
    // One weight carries everything: ESS ≈ 1.
    let mut one = vec![1e-12; 5000];
    one[17] = 1.0;
    let r = WeightStats::from_weights(&one).unwrap().untrusted_reasons();
    assert!(r.iter().any(|m| m.contains("effective samples")), "{r:?}");
    // Bounded weights: trusted.
    let fine: Vec<f64> = (0..5000).map(|i| 0.5 + (i as f64 * 0.618) % 1.0).collect();
    assert!(WeightStats::from_weights(&fine)
        .unwrap()
        .untrusted_reasons()
        .is_empty());
}

/// A narrow 8-D peak that a short run misses: the run is written with
/// `"trusted": false` and the reasons, and the exit status is non-zero unless
/// `--accept-untrusted` is given.
#[test]
fn a_missed_peak_is_untrusted_and_exits_non_zero() {
    let dir = tmp("untrusted");
    std::fs::create_dir_all(&dir).unwrap();
    let args = [
        "integrate",
        "--integrand",
        "gaussian",
        "--dim",
        "8",
        "--alpha",
        "0.03",
        "--steps",
        "4",
        "--batch",
        "256",
        "--eval-samples",
        "3000",
        "--seed",
        "1",
        "--quiet",
    ];
    let out = dir.join("run");
    let o = flowinfer()
        .args(args)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&o);
    assert!(!o.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("NOT TRUSTED"), "{stdout}");
    assert!(
        stderr.contains("cannot be trusted") && stderr.contains("--accept-untrusted"),
        "{stderr}"
    );
    let result: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("result.json")).unwrap()).unwrap();
    assert_eq!(result["trusted"], false, "{result}");
    assert!(
        !result["reasons"].as_array().unwrap().is_empty(),
        "{result}"
    );
    let out2 = dir.join("run2");
    let o = flowinfer()
        .args(args)
        .arg("--accept-untrusted")
        .arg("--out")
        .arg(&out2)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o).1);
    std::fs::remove_dir_all(&dir).ok();
}

/// A training whose batch estimate collapses is caught: the flow of the last reliable
/// batch is restored (a warning), at most `MAX_RESTORES` times; a collapse that is not
/// repaired makes the run untrusted, and every collapse reaches the progress callback.
#[test]
fn a_collapsing_training_is_restored_and_an_unrepaired_collapse_is_untrusted() {
    use flowinfer::integrate::guard::MAX_RESTORES;
    use flowinfer::integrate::{EvalConfig, Stage};
    use flowinfer_simulators::FnIntegrand;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let calls = AtomicUsize::new(0);
    // Mass for the first two training batches (2 × 256 calls), none afterwards.
    let f = FnIntegrand::new("vanishing", 2, |_x: &[f64]| {
        if calls.fetch_add(1, Ordering::Relaxed) < 512 {
            1.0
        } else {
            0.0
        }
    });
    let cfg = IntegrateConfig {
        flow: small_flow(),
        train: TrainConfig {
            steps: 10,
            batch: 256,
            ..TrainConfig::default()
        },
        eval: EvalConfig {
            samples: 1000,
            ..EvalConfig::default()
        },
        ..IntegrateConfig::default()
    };
    let mut seen = 0;
    let out = integrate(&f, &cfg, &test_device(), &mut |s| {
        if let Stage::Collapse { .. } = s {
            seen += 1
        }
    })
    .unwrap();
    let c = &out.report.training.collapses;
    assert_eq!((c.len(), seen), (8, 8), "steps 2..9 collapse");
    assert!(c
        .iter()
        .all(|c| c.reference.step <= 1 && c.batch.estimate == 0.0));
    assert!(c[..MAX_RESTORES].iter().all(|c| c.restored));
    assert!(c[MAX_RESTORES..].iter().all(|c| !c.restored));
    let r = &out.report;
    assert!(!r.trusted);
    assert!(
        r.reasons
            .iter()
            .any(|m| m.contains("training collapsed at step") && m.contains("not repaired")),
        "{:?}",
        r.reasons
    );
    assert!(
        r.warnings
            .iter()
            .any(|m| m.contains("restored the flow of step")),
        "{:?}",
        r.warnings
    );
    let p = r.training.pilot.as_ref().unwrap();
    assert_eq!((p.step, p.n), (0, 256));
    assert!((p.estimate - 1.0).abs() < 1e-5, "{p:?}");
}

/// The defensive mixture `(1 − α) q + α`: its density at its own draws is the mixture's,
/// every weight is bounded by `f/α`, about a fraction `α` of the draws is uniform, and
/// the estimate stays unbiased with a badly placed flow.
#[test]
fn the_defensive_mixture_bounds_weights_and_stays_unbiased() {
    let flow = UnitFlow::new(3, &small_flow(), DType::F64, &test_device(), 4).unwrap();
    perturb_params(flow.flow().params(), 0.8, 5).unwrap();
    let alpha = 0.2;
    let mix = Proposal::new(&flow, alpha).unwrap();
    let mut rng = StdRng::seed_from_u64(6);
    let (x, log_mix) = mix.sample(4000, &mut rng).unwrap();
    let log_q = flow.log_prob(&x).unwrap();
    let expect = host(&log_q.unsqueeze(1).unwrap());
    let got = host(&log_mix.unsqueeze(1).unwrap());
    for (e, g) in expect.iter().zip(&got) {
        let m = ((1.0 - alpha) * e[0].exp() + alpha).ln();
        assert!((m - g[0]).abs() < 1e-9, "{m} vs {}", g[0]);
    }
    assert!(got.iter().all(|g| g[0] >= alpha.ln() - 1e-12));
    // A narrow Gaussian the perturbed flow does not follow: unbiased, bounded weights.
    let f = builtin("gaussian", 3, Some(0.1));
    let exact = f.exact().unwrap();
    let opts = EvalOptions::default();
    let pulls: Vec<f64> = (0..10)
        .map(|seed| {
            let mut rng = StdRng::seed_from_u64(40 + seed);
            let mut inv = InvalidCounts::default();
            let (s, w) =
                estimate(&mix, f.as_ref(), 20_000, 8192, &mut rng, &opts, &mut inv).unwrap();
            let peak = 1.0 / (0.1f64 * 0.1 * std::f64::consts::PI).powf(1.5);
            assert!(w.iter().all(|v| *v <= peak / alpha * (1.0 + 1e-9)));
            s.pull(exact).unwrap()
        })
        .collect();
    assert!(pulls.iter().all(|p| p.abs() < 4.0), "{pulls:?}");
    assert!(Proposal::new(&flow, 1.0).is_err() && Proposal::new(&flow, -0.1).is_err());
}

/// `sample_components` draws what `sample` draws (same stream) and labels each point
/// with its own component's log density: the flow's `log q` for a flow point, 0 for a
/// uniform one; about a fraction `α` are uniform, and the one-sample weights
/// `f/q_component` estimate the integral without bias.
#[test]
fn the_mixture_labels_each_draw_with_its_own_component() {
    let flow = UnitFlow::new(3, &small_flow(), DType::F64, &test_device(), 4).unwrap();
    perturb_params(flow.flow().params(), 0.8, 5).unwrap();
    let alpha = 0.3;
    let mix = Proposal::new(&flow, alpha).unwrap();
    let (x0, lq0) = mix.sample(4000, &mut StdRng::seed_from_u64(6)).unwrap();
    let (x, lq, own) = mix
        .sample_components(4000, &mut StdRng::seed_from_u64(6))
        .unwrap();
    assert_eq!(host(&x0), host(&x));
    assert_eq!(
        host(&lq0.unsqueeze(1).unwrap()),
        host(&lq.unsqueeze(1).unwrap())
    );
    let flow_lq = host(&flow.log_prob(&x).unwrap().unsqueeze(1).unwrap());
    let own = host(&own.unsqueeze(1).unwrap());
    let mut uniform = 0;
    for (o, q) in own.iter().zip(&flow_lq) {
        if o[0] == 0.0 {
            uniform += 1;
        } else {
            assert!((o[0] - q[0]).abs() < 1e-9, "{} vs {}", o[0], q[0]);
        }
    }
    // Binomial(4000, 0.3): mean 1200, sd 29.
    assert!((uniform as f64 - 1200.0).abs() < 5.0 * 29.0, "{uniform}");
    // Unbiased where the flow covers the integrand: the mean of f/q_component over
    // draws of a broad Gaussian from a mildly perturbed flow, 10 seeds. (Not with the
    // strongly perturbed flow above: f/q of a flow point is unbounded, and where that
    // flow is thin the uniform points carry f, not the mixture's f/q_α ≈ f/α — the
    // missed mass hides in a tail 20 000 draws do not reach.)
    let flow = UnitFlow::new(3, &small_flow(), DType::F64, &test_device(), 4).unwrap();
    perturb_params(flow.flow().params(), 0.1, 5).unwrap();
    let mix = Proposal::new(&flow, alpha).unwrap();
    let f = builtin("gaussian", 3, Some(0.4));
    let exact = f.exact().unwrap();
    let opts = EvalOptions::default();
    let pulls: Vec<f64> = (0..10)
        .map(|seed| {
            let mut rng = StdRng::seed_from_u64(70 + seed);
            let mut inv = InvalidCounts::default();
            let (b, own) = flowinfer::integrate::batch::draw_weighted_components(
                &mix,
                f.as_ref(),
                20_000,
                &mut rng,
                &opts,
                &mut inv,
                "test",
            )
            .unwrap();
            let w: Vec<f64> = b.f.iter().zip(&own).map(|(f, l)| f * (-l).exp()).collect();
            let n = w.len() as f64;
            let m = w.iter().sum::<f64>() / n;
            let sd = (w.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
            (m - exact) / (sd / n.sqrt())
        })
        .collect();
    assert!(pulls.iter().all(|p| p.abs() < 4.0), "{pulls:?}");
}
