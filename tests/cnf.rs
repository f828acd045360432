//! Continuous normalizing flows: exact and Hutchinson divergences, RK4 and Dopri5 solves
//! in both time directions, the Transform property checks, density normalisation,
//! tolerance sensitivity, RK4 gradients, flow matching, OT pairing, bad input, save/load.

use candle_core::{DType, Device, Tensor};
use flowinfer::cnf::flow_matching::{hungarian, ot_pair};
use flowinfer::cnf::*;
use flowinfer::distributions::BaseSpec;
use flowinfer::flow::{Flow, FlowSpec};
use flowinfer::params::Params;
use flowinfer::testing::{check_transform, perturb_params};
use flowinfer::transforms::{Transform, TransformSpec};
use rand::SeedableRng;

/// The test device (`FLOWINFER_TEST_DEVICE`, default CPU).
fn dev() -> Device {
    flowinfer::testing::test_device()
}

const F64: DType = DType::F64;

fn spec(dim: usize, act: SmoothActivation, solver: SolverSpec) -> CnfSpec {
    CnfSpec {
        dim,
        hidden: 16,
        layers: 2,
        activation: act,
        time_freqs: 1,
        solver,
        divergence: DivergenceSpec::Exact,
    }
}

fn tight() -> SolverSpec {
    SolverSpec::Dopri5 {
        rtol: 1e-9,
        atol: 1e-9,
        max_steps: 20_000,
    }
}

fn randn(rows: usize, cols: usize, seed: u64) -> Tensor {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    flowinfer::random::randn(rows, cols, F64, &dev(), &mut rng).unwrap()
}

/// A CNF layer with perturbed (non-zero) weights.
fn layer(dim: usize, ctx: usize, act: SmoothActivation, solver: SolverSpec) -> (Params, Cnf) {
    let p = Params::new(F64, &dev(), 3);
    let c = Cnf::new(&p, &spec(dim, act, solver), ctx).unwrap();
    perturb_params(&p, 0.4, 7).unwrap();
    (p, c)
}

fn rows(t: &Tensor) -> Vec<Vec<f64>> {
    t.to_dtype(F64).unwrap().to_vec2::<f64>().unwrap()
}

fn max_abs_diff(a: &Tensor, b: &Tensor) -> f64 {
    (a - b)
        .unwrap()
        .abs()
        .unwrap()
        .flatten_all()
        .unwrap()
        .max(0)
        .unwrap()
        .to_scalar::<f64>()
        .unwrap()
}

#[test]
fn exact_divergence_is_the_trace_of_a_finite_difference_jacobian() {
    for act in [
        SmoothActivation::Tanh,
        SmoothActivation::Silu,
        SmoothActivation::Softplus,
    ] {
        for ctx_dim in [0, 2] {
            let (_, c) = layer(3, ctx_dim, act, tight());
            let f = c.field();
            let z = randn(5, 3, 1);
            let ctx = (ctx_dim > 0).then(|| randn(5, ctx_dim, 2));
            let t = Tensor::full(0.3f64, (5, 1), &dev()).unwrap();
            let p = Probes::exact(3, F64, &dev()).unwrap();
            let (_, div) = velocity_and_divergence(f, &z, &t, ctx.as_ref(), &p).unwrap();
            let div = div.to_vec1::<f64>().unwrap();
            let jac = f.jacobian(&z, &t, ctx.as_ref()).unwrap();
            let jac = jac.to_vec3::<f64>().unwrap();
            let h = 1e-6;
            for j in 0..3 {
                let mut e = vec![0.0; 3];
                e[j] = h;
                let e = Tensor::from_vec(e, (1, 3), &dev()).unwrap();
                let vp = rows(
                    &f.forward(&z.broadcast_add(&e).unwrap(), &t, ctx.as_ref())
                        .unwrap(),
                );
                let vm = rows(
                    &f.forward(&z.broadcast_sub(&e).unwrap(), &t, ctx.as_ref())
                        .unwrap(),
                );
                for r in 0..5 {
                    for i in 0..3 {
                        let fd = (vp[r][i] - vm[r][i]) / (2.0 * h);
                        assert!((fd - jac[r][i][j]).abs() < 1e-6, "{act:?} J[{r},{i},{j}]");
                    }
                }
            }
            for r in 0..5 {
                let tr: f64 = (0..3).map(|i| jac[r][i][i]).sum();
                assert!(
                    (tr - div[r]).abs() < 1e-6,
                    "{act:?}: trace {tr} vs {}",
                    div[r]
                );
                // And against the finite differences directly.
            }
        }
    }
}

#[test]
fn hutchinson_estimate_is_unbiased() {
    let (_, c) = layer(4, 0, SmoothActivation::Silu, tight());
    let f = c.field();
    let z = randn(3, 4, 5);
    let t = Tensor::full(0.7f64, (3, 1), &dev()).unwrap();
    let exact = velocity_and_divergence(f, &z, &t, None, &Probes::exact(4, F64, &dev()).unwrap())
        .unwrap()
        .1
        .to_vec1::<f64>()
        .unwrap();
    // 4000 single-probe estimates per row.
    let k = 4000;
    let probes = Probes::rademacher(k, 3, 4, 11, F64, &dev()).unwrap();
    let (_, jv) = f
        .forward_with_tangents(&z, &t, None, probes.tangents())
        .unwrap();
    let per = (jv * probes.tangents())
        .unwrap()
        .sum(2)
        .unwrap()
        .to_vec2::<f64>()
        .unwrap();
    for r in 0..3 {
        let xs: Vec<f64> = (0..k).map(|i| per[i][r]).collect();
        let mean = xs.iter().sum::<f64>() / k as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (k - 1) as f64;
        let se = (var / k as f64).sqrt();
        assert!(
            (mean - exact[r]).abs() < 3.0 * se + 1e-12,
            "row {r}: mean {mean} exact {} se {se}",
            exact[r]
        );
    }
    // The multi-probe trace is the mean of the single-probe estimates.
    let tr = probes
        .trace(
            &f.forward_with_tangents(&z, &t, None, probes.tangents())
                .unwrap()
                .1,
        )
        .unwrap();
    let tr = tr.to_vec1::<f64>().unwrap();
    let m0: f64 = (0..k).map(|i| per[i][0]).sum::<f64>() / k as f64;
    assert!((tr[0] - m0).abs() < 1e-9);
}

#[test]
fn cnf_passes_the_transform_property_checks() {
    for (solver, ld_tol, rt_tol) in [
        (tight(), 1e-5, 1e-6),
        (SolverSpec::Rk4 { steps: 40 }, 1e-5, 1e-5),
    ] {
        for ctx_dim in [0, 3] {
            let (_, c) = layer(2, ctx_dim, SmoothActivation::Tanh, solver);
            let x = randn(6, 2, 9);
            let ctx = (ctx_dim > 0).then(|| randn(6, ctx_dim, 4));
            let r = check_transform(&c, &x, ctx.as_ref()).unwrap();
            assert!(r.logdet_rel_err < ld_tol, "{solver:?} {r:?}");
            assert!(r.roundtrip_err < rt_tol, "{solver:?} {r:?}");
            assert!(r.inverse_logdet_err < rt_tol, "{solver:?} {r:?}");
        }
    }
}

#[test]
fn dopri5_runs_both_time_directions_and_agrees_with_rk4() {
    let (_, c) = layer(2, 0, SmoothActivation::Softplus, tight());
    let x = randn(8, 2, 3);
    let f = c.field();
    let s = Dopri5Settings {
        rtol: 1e-10,
        atol: 1e-10,
        max_steps: 50_000,
    };
    let p = Probes::exact(2, F64, &dev()).unwrap();
    for (t0, t1) in [(0.0, 1.0), (1.0, 0.0), (0.25, 0.8), (0.9, -0.2)] {
        let (z, l, st) = dopri5_solve(f, &x, None, t0, t1, &s, Some(&p)).unwrap();
        assert!(st.evaluations > 6 && st.accepted_steps > 0);
        let (zr, lr) = rk4_solve(f, &x, None, t0, t1, 400, &p).unwrap();
        assert!(max_abs_diff(&z, &zr) < 1e-8, "{t0}→{t1}");
        assert!(max_abs_diff(&l, &lr) < 1e-8, "{t0}→{t1}");
        // And back.
        let (xb, lb, _) = dopri5_solve(f, &z, None, t1, t0, &s, Some(&p)).unwrap();
        assert!(max_abs_diff(&xb, &x) < 1e-7);
        assert!(max_abs_diff(&(lb + l).unwrap(), &Tensor::zeros(8, F64, &dev()).unwrap()) < 1e-7);
    }
}

fn cnf_flow(solver: SolverSpec, ctx: usize) -> Flow {
    let spec = FlowSpec {
        dim: 2,
        context_dim: ctx,
        embedding: None,
        base: BaseSpec::StandardNormal { dim: 2 },
        transforms: vec![TransformSpec::Cnf(spec(2, SmoothActivation::Tanh, solver))],
    };
    let flow = Flow::new(spec, F64, &dev(), 5).unwrap();
    perturb_params(flow.params(), 0.5, 8).unwrap();
    flow
}

#[test]
fn sample_then_log_prob_recovers_the_latent_and_the_density() {
    let flow = cnf_flow(tight(), 0);
    let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    let z = flow.base().sample(64, &mut rng).unwrap();
    let (x, ld_inv) = flow.to_data(&z, None).unwrap();
    let (zr, ld_fwd) = flow.to_latent(&x, None).unwrap();
    assert!(
        max_abs_diff(&z, &zr) < 1e-4,
        "latent error {}",
        max_abs_diff(&z, &zr)
    );
    assert!(
        max_abs_diff(
            &(ld_inv + ld_fwd).unwrap(),
            &Tensor::zeros(64, F64, &dev()).unwrap()
        ) < 1e-6
    );
    let mut rng = rand::rngs::StdRng::seed_from_u64(2);
    let (x, lp) = flow.sample_and_log_prob(32, None, &mut rng).unwrap();
    let lp2 = flow.log_prob(&x, None).unwrap();
    assert!(max_abs_diff(&lp, &lp2) < 1e-6);
}

#[test]
fn two_d_density_integrates_to_one() {
    let flow = cnf_flow(
        SolverSpec::Dopri5 {
            rtol: 1e-7,
            atol: 1e-7,
            max_steps: 10_000,
        },
        0,
    );
    // Midpoint rule on [-7, 7]² with 140 × 140 cells: one batched solve.
    let (n, lo, hi) = (140usize, -7.0f64, 7.0f64);
    let h = (hi - lo) / n as f64;
    let mut pts = Vec::with_capacity(2 * n * n);
    for i in 0..n {
        for j in 0..n {
            pts.push(lo + (i as f64 + 0.5) * h);
            pts.push(lo + (j as f64 + 0.5) * h);
        }
    }
    let x = Tensor::from_vec(pts, (n * n, 2), &dev()).unwrap();
    let lp = flow.log_prob(&x, None).unwrap().to_vec1::<f64>().unwrap();
    let mass: f64 = lp.iter().map(|l| l.exp()).sum::<f64>() * h * h;
    assert!((mass - 1.0).abs() < 0.01, "mass {mass}");
}

#[test]
fn log_prob_is_stable_under_tighter_tolerances() {
    let mk = |tol: f64| {
        cnf_flow(
            SolverSpec::Dopri5 {
                rtol: tol,
                atol: tol,
                max_steps: 20_000,
            },
            2,
        )
    };
    let (a, b) = (mk(1e-5), mk(1e-7));
    let x = randn(200, 2, 12);
    let c = randn(200, 2, 13);
    let d = max_abs_diff(
        &a.log_prob(&x, Some(&c)).unwrap(),
        &b.log_prob(&x, Some(&c)).unwrap(),
    );
    assert!(d < 1e-3, "log_prob changed by {d}");
}

#[test]
fn rk4_gradient_matches_a_finite_difference_of_the_loss() {
    let flow = cnf_flow(SolverSpec::Rk4 { steps: 6 }, 0);
    let x = randn(16, 2, 21);
    let loss = |f: &Flow| {
        f.log_prob_unchecked(&x, None)
            .unwrap()
            .mean_all()
            .unwrap()
            .neg()
            .unwrap()
    };
    let l = loss(&flow);
    let grads = l.backward().unwrap();
    let vars = flow.params().all_vars();
    let mut checked = 0;
    for v in vars.iter() {
        let g = grads
            .get(v.as_tensor())
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f64>()
            .unwrap();
        let n = v.elem_count();
        for idx in [0, n / 2, n - 1] {
            let orig = v
                .as_tensor()
                .flatten_all()
                .unwrap()
                .to_vec1::<f64>()
                .unwrap();
            let h = 1e-6;
            let set = |delta: f64| {
                let mut w = orig.clone();
                w[idx] += delta;
                v.set(&Tensor::from_vec(w, v.shape(), &dev()).unwrap())
                    .unwrap();
                loss(&flow).to_scalar::<f64>().unwrap()
            };
            let fd = (set(h) - set(-h)) / (2.0 * h);
            v.set(&Tensor::from_vec(orig, v.shape(), &dev()).unwrap())
                .unwrap();
            assert!(
                (fd - g[idx]).abs() < 1e-6 * fd.abs().max(1.0),
                "grad {} vs fd {fd}",
                g[idx]
            );
            checked += 1;
        }
    }
    assert!(checked >= 12);
}

#[test]
fn blow_ups_bounded_steps_and_non_finite_fields_are_clear_errors() {
    // Too few steps allowed.
    let (_, c) = layer(
        2,
        0,
        SmoothActivation::Tanh,
        SolverSpec::Dopri5 {
            rtol: 1e-12,
            atol: 1e-12,
            max_steps: 3,
        },
    );
    let x = randn(4, 2, 1);
    let e = c.forward(&x, None).unwrap_err().to_string();
    assert!(e.contains("steps"), "{e}");
    // A field with enormous weights: the solve ends with an error (or succeeds) within
    // its step limit, never hangs.
    let (p, c) = layer(
        2,
        0,
        SmoothActivation::Softplus,
        SolverSpec::Dopri5 {
            rtol: 1e-6,
            atol: 1e-6,
            max_steps: 500,
        },
    );
    perturb_params(&p, 1e3, 3).unwrap();
    let start = std::time::Instant::now();
    let r = c.forward(&x, None);
    assert!(start.elapsed().as_secs() < 20);
    if let Err(e) = r {
        let e = e.to_string();
        assert!(e.contains("cnf solve"), "{e}");
    }
    // NaN weights: non-finite velocity detected.
    let (p, c) = layer(2, 0, SmoothActivation::Tanh, tight());
    let v = p.all_vars().into_iter().next().unwrap();
    v.set(&(v.as_tensor() * f64::NAN).unwrap()).unwrap();
    let e = c.forward(&x, None).unwrap_err().to_string();
    assert!(e.contains("non-finite"), "{e}");
    // Non-finite input.
    let flow = cnf_flow(tight(), 0);
    let bad = Tensor::from_vec(vec![0.0, f64::NAN], (1, 2), &dev()).unwrap();
    assert!(flow.log_prob(&bad, None).is_err());
    // Bad settings.
    let mut s = spec(2, SmoothActivation::Tanh, SolverSpec::Rk4 { steps: 0 });
    assert!(s.validate().is_err());
    s.solver = SolverSpec::Dopri5 {
        rtol: -1.0,
        atol: 1e-5,
        max_steps: 10,
    };
    assert!(s.validate().is_err());
    // Wrong context.
    let (_, c) = layer(2, 2, SmoothActivation::Tanh, tight());
    assert!(c.forward(&x, None).is_err());
}

#[test]
fn save_and_load_keep_the_model() {
    let flow = cnf_flow(tight(), 2);
    let dir = std::env::temp_dir().join(format!("flowinfer-cnf-io-{}", std::process::id()));
    flow.save(&dir).unwrap();
    let back = Flow::load(&dir, &dev()).unwrap();
    let x = randn(10, 2, 30);
    let c = randn(10, 2, 31);
    let a = flow.log_prob(&x, Some(&c)).unwrap();
    let b = back.log_prob(&x, Some(&c)).unwrap();
    assert!(max_abs_diff(&a, &b) < 1e-12);
    assert_eq!(flow.spec(), back.spec());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn hungarian_finds_the_optimal_assignment() {
    use rand::Rng;
    let mut rng = rand::rngs::StdRng::seed_from_u64(4);
    for n in 1..=6 {
        let cost: Vec<f64> = (0..n * n).map(|_| rng.random::<f64>()).collect();
        let a = hungarian(&cost, n);
        let total = |p: &[usize]| (0..n).map(|i| cost[i * n + p[i]]).sum::<f64>();
        // Brute force over permutations.
        let mut best = f64::INFINITY;
        let mut perm: Vec<usize> = (0..n).collect();
        permute(&mut perm, 0, &mut |p| best = best.min(total(p)));
        assert!((total(&a) - best).abs() < 1e-12, "n={n}");
    }
    // Pairing reorders rows without changing the set.
    let noise: Vec<f64> = (0..40).map(|_| rng.random::<f64>()).collect();
    let data: Vec<f64> = (0..40).map(|_| rng.random::<f64>()).collect();
    let mut paired = ot_pair(&noise, &data, 2);
    let mut orig = noise.clone();
    paired.sort_by(|a, b| a.partial_cmp(b).unwrap());
    orig.sort_by(|a, b| a.partial_cmp(b).unwrap());
    assert_eq!(paired, orig);
}

fn permute(p: &mut Vec<usize>, k: usize, f: &mut dyn FnMut(&[usize])) {
    if k == p.len() {
        f(p);
        return;
    }
    for i in k..p.len() {
        p.swap(k, i);
        permute(p, k + 1, f);
        p.swap(k, i);
    }
}

#[test]
fn flow_matching_and_likelihood_training_fit_a_gaussian() {
    use flowinfer::train::{Batches, Trainer, TrainerConfig};
    // x ~ N((1, −1), diag(0.5², 2²)); the exact mean log density is known.
    let n = 2000;
    let z = randn(n, 2, 40);
    let scale = Tensor::from_vec(vec![0.5, 2.0], (1, 2), &dev()).unwrap();
    let shift = Tensor::from_vec(vec![1.0, -1.0], (1, 2), &dev()).unwrap();
    let x = z
        .broadcast_mul(&scale)
        .unwrap()
        .broadcast_add(&shift)
        .unwrap();
    let truth = -(2.0 * (2.0 * std::f64::consts::PI).ln() / 2.0 + (0.5f64).ln() + 2f64.ln() + 1.0);
    for training in [CnfTraining::FlowMatching, CnfTraining::Likelihood] {
        let section = CnfConfig {
            training,
            hidden: 32,
            layers: 2,
            train_steps: 4,
            rtol: 1e-6,
            atol: 1e-6,
            ..Default::default()
        };
        let spec = section.flow_spec(2, 0, None, None, 0).unwrap();
        let flow = Flow::new(spec, DType::F32, &dev(), 0).unwrap();
        let xf = x.to_dtype(DType::F32).unwrap();
        let loss = cnf_loss(&flow, &section, 0).unwrap();
        let epochs = if training == CnfTraining::FlowMatching {
            30
        } else {
            8
        };
        Trainer::new(TrainerConfig {
            epochs,
            batch_size: 200,
            lr: 1e-2,
            patience: None,
            ..Default::default()
        })
        .unwrap()
        .fit(
            flow.params(),
            Batches { x: &xf, ctx: None },
            None,
            loss,
            |_| {},
        )
        .unwrap();
        let nll = flowinfer::train::mean_nll(&flow, &xf, None, 4096).unwrap();
        assert!(
            (nll + truth).abs() < 0.08,
            "{training:?}: NLL {nll}, truth {}",
            -truth
        );
    }
}

#[test]
fn fmpe_trains_a_conditional_cnf_posterior() {
    use flowinfer::sbi::{train_npe, NpeConfig, SbiConfig};
    use flowinfer::train::TrainerConfig;
    use flowinfer_simulators::GaussianLinear;
    // gaussian_linear: posterior N(x/2, 0.05 I) in 10-D; a short FMPE run must put the
    // posterior mean near x/2 and assign higher density there than 3 sd away.
    let sim = GaussianLinear;
    let cfg = SbiConfig {
        npe: NpeConfig {
            simulations: 3000,
            ..Default::default()
        },
        train: TrainerConfig {
            epochs: 25,
            batch_size: 128,
            lr: 3e-3,
            patience: None,
            ..Default::default()
        },
        cnf: Some(CnfConfig {
            hidden: 64,
            layers: 2,
            activation: SmoothActivation::Silu,
            rtol: 1e-4,
            atol: 1e-4,
            ..Default::default()
        }),
        ..Default::default()
    };
    let post = train_npe(&sim, &cfg, |_| {}).unwrap().posterior;
    let x_obs = vec![0.4; 10];
    let s = post.sample(&sim, &x_obs, 400, 3, 20).unwrap();
    for j in 0..10 {
        let mean = s.samples.iter().map(|r| r[j]).sum::<f64>() / s.samples.len() as f64;
        assert!((mean - 0.2).abs() < 0.1, "dim {j}: mean {mean}");
    }
    let centre = vec![0.2; 10];
    let far: Vec<f64> = centre.iter().map(|v| v + 0.67).collect();
    let lp = post.log_prob(&[centre, far], &x_obs).unwrap();
    assert!(lp[0] > lp[1] + 10.0, "{lp:?}");
}

#[test]
fn fast_tanh_matches_the_library_tanh_and_its_gradient() {
    use candle_core::Var;
    let xs: Vec<f64> = (-4000..=4000)
        .map(|i| i as f64 * 0.01)
        .chain([1e-8, -3e-5, 50.0, -800.0])
        .collect();
    for dt in [DType::F64, DType::F32] {
        let x = Var::from_tensor(
            &Tensor::new(xs.as_slice(), &dev())
                .unwrap()
                .to_dtype(dt)
                .unwrap(),
        )
        .unwrap();
        let y = flowinfer::cnf::fast_tanh::tanh(x.as_tensor()).unwrap();
        let g = y.sum_all().unwrap().backward().unwrap();
        let gx = g
            .get(x.as_tensor())
            .unwrap()
            .to_dtype(F64)
            .unwrap()
            .to_vec1::<f64>()
            .unwrap();
        let yv = y.to_dtype(F64).unwrap().to_vec1::<f64>().unwrap();
        let tol = if dt == F64 { 1e-13 } else { 1e-6 };
        for (i, x) in xs.iter().enumerate() {
            assert!(
                (yv[i] - x.tanh()).abs() < tol,
                "{dt:?} tanh({x}) = {}",
                yv[i]
            );
            let d = 1.0 - x.tanh().powi(2);
            assert!(
                (gx[i] - d).abs() < 10.0 * tol,
                "{dt:?} tanh'({x}) = {}",
                gx[i]
            );
        }
    }
}

#[test]
fn hutchinson_log_density_approaches_the_exact_one() {
    let mk = |div: DivergenceSpec| {
        let mut s = spec(2, SmoothActivation::Tanh, SolverSpec::Rk4 { steps: 20 });
        s.divergence = div;
        let p = Params::new(F64, &dev(), 3);
        let c = Cnf::new(&p, &s, 0).unwrap();
        perturb_params(&p, 0.4, 7).unwrap();
        c
    };
    let x = randn(50, 2, 3);
    let (_, exact) = mk(DivergenceSpec::Exact).forward(&x, None).unwrap();
    let h = mk(DivergenceSpec::Hutchinson {
        probes: 256,
        seed: 1,
    });
    let (_, a) = h.forward(&x, None).unwrap();
    let (_, b) = h.forward(&x, None).unwrap();
    // Fresh probes per solve: two solves differ, both are close to the exact value.
    assert!(max_abs_diff(&a, &b) > 0.0);
    for est in [&a, &b] {
        let err = (est - &exact).unwrap().abs().unwrap().mean_all().unwrap();
        let err = err.to_scalar::<f64>().unwrap();
        assert!(err < 0.05, "mean |Hutchinson − exact| = {err}");
    }
}

#[test]
fn extreme_inputs_give_finite_outputs_and_gradients() {
    for act in [
        SmoothActivation::Tanh,
        SmoothActivation::Silu,
        SmoothActivation::Softplus,
    ] {
        for solver in [SolverSpec::Rk4 { steps: 4 }, tight()] {
            let (p, c) = layer(2, 1, act, solver);
            flowinfer::testing::check_extremes(&c, &[-1e4, -50.0, 0.0, 50.0, 1e4], 1, &p)
                .unwrap_or_else(|e| panic!("{act:?} {solver:?}: {e}"));
        }
    }
}
