//! SurVAE layers (flowinfer::surjective): property checks, exactness of the inference
//! surjections against closed-form densities, bounds and their importance-weighted
//! tightening, save/reload, bad input.

use crate::common::{device, gaussian, uniform};
use crate::surjective_layers::{flow, mean_gaps, vec1, EXTREMES};
use candle_core::{DType, Tensor};
use flowinfer::distributions::BaseSpec;
use flowinfer::flow::{Flow, FlowBuilder, FlowSpec};
use flowinfer::params::Params;
use flowinfer::surjective::{
    check_surjection, Abs, Augment, GaussianSpec, MaxPool2d, Slice, Sort, UniformDequantize,
};
use flowinfer::testing::{check_extremes, perturb_params};
use flowinfer::transforms::domain::DomainMap;
use flowinfer::transforms::{Contribution, Transform, TransformSpec};
use rand::SeedableRng;
use statrs::distribution::{ContinuousCDF, Normal};

const COND: GaussianSpec = GaussianSpec::Conditional {
    hidden: 8,
    depth: 1,
};
/// Shapes, the round trip in the deterministic direction, cancelling contributions,
/// reproducible draws, finite values and gradients at extreme inputs.
fn assert_surjection(name: &str, t: &dyn Transform, params: &Params, x: &Tensor, z: &Tensor) {
    let r = check_surjection(t, x, z, None).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert!(r.roundtrip_err < 1e-12, "{name}: round trip {r:?}");
    assert!(r.contribution_err < 1e-9, "{name}: contributions {r:?}");
    assert_eq!(r.repeat_err, 0.0, "{name}: draws not reproducible {r:?}");
    check_extremes(t, &EXTREMES, 0, params).unwrap_or_else(|e| panic!("{name}: {e}"));
}

#[test]
fn surjective_layers_pass_the_property_checks() {
    let dev = device();
    let x3 = gaussian(32, 3, 1.5, 1);
    for (i, model) in [GaussianSpec::StandardNormal, COND].into_iter().enumerate() {
        let p = Params::new(DType::F64, &dev, 7);
        let s = Slice::new(&p, 3, 2, model, 4, 0).unwrap();
        perturb_params(&p, 0.3, 9).unwrap();
        assert_surjection(&format!("slice {i}"), &s, &p, &x3, &gaussian(32, 2, 1.0, 2));
        let p = Params::new(DType::F64, &dev, 7);
        let a = Augment::new(&p, 3, 2, model, 4, 0).unwrap();
        perturb_params(&p, 0.3, 9).unwrap();
        assert_eq!(a.likelihood(), Contribution::Bound);
        assert_surjection(
            &format!("augment {i}"),
            &a,
            &p,
            &x3,
            &gaussian(32, 5, 1.0, 2),
        );
    }
    for learned in [false, true] {
        let p = Params::new(DType::F64, &dev, 7);
        let a = Abs::new(&p, 3, learned, 4).unwrap();
        perturb_params(&p, 0.5, 9).unwrap();
        let z = gaussian(32, 3, 1.0, 2).abs().unwrap(); // the image of |·|
        assert_surjection(&format!("abs learned={learned}"), &a, &p, &x3, &z);
    }
    let p = Params::new(DType::F64, &dev, 7);
    let mut rows = gaussian(32, 4, 1.0, 2).to_vec2::<f64>().unwrap();
    rows.iter_mut()
        .for_each(|r| r.sort_by(|a, b| a.partial_cmp(b).unwrap()));
    let sorted = Tensor::from_vec(rows.concat(), (32, 4), &dev).unwrap();
    let x4 = gaussian(32, 4, 1.0, 5);
    assert_surjection("sort", &Sort::new(4, 4).unwrap(), &p, &x4, &sorted);
    let ints = uniform(32, 2, -5.0, 5.0, 3).floor().unwrap();
    let d = UniformDequantize::new(2, 4).unwrap();
    assert_surjection("dequantize", &d, &p, &ints, &gaussian(32, 2, 3.0, 2));
}

/// `log N(x; mean, sd)`.
fn log_normal_pdf(x: f64, mean: f64, sd: f64) -> f64 {
    let e = (x - mean) / sd;
    -0.5 * e * e - sd.ln() - 0.5 * (2.0 * std::f64::consts::PI).ln()
}

#[test]
fn absolute_value_gives_the_exact_symmetric_density() {
    // |x| then log: p(x) = π(sign x) · φ(ln|x|) / |x|, a normalised density on ℝ \ {0}.
    let spec = |learned| {
        vec![
            TransformSpec::Abs {
                dim: 2,
                learned,
                seed: 1,
            },
            TransformSpec::Domain {
                maps: vec![DomainMap::Log, DomainMap::Log],
                seed: 0,
            },
        ]
    };
    let x = gaussian(64, 2, 2.0, 4);
    let rows = x.to_vec2::<f64>().unwrap();
    for learned in [false, true] {
        let f = flow(2, 0, 2, spec(learned));
        assert_eq!(f.likelihood(), Contribution::Exact);
        let logit = [1.3f64, -0.4];
        if learned {
            let l = Tensor::from_vec(logit.to_vec(), (1, 2), &device()).unwrap();
            f.params().set("t0.sign_logit", &l).unwrap();
        }
        let lp = vec1(&f.log_prob(&x, None).unwrap());
        for (r, row) in rows.iter().enumerate() {
            let exact: f64 = row
                .iter()
                .zip(logit)
                .map(|(&v, l)| {
                    let p_pos = if learned {
                        1.0 / (1.0 + (-l).exp())
                    } else {
                        0.5
                    };
                    let pi = if v >= 0.0 { p_pos } else { 1.0 - p_pos };
                    pi.ln() + log_normal_pdf(v.abs().ln(), 0.0, 1.0) - v.abs().ln()
                })
                .sum();
            assert!(
                (lp[r] - exact).abs() < 1e-10,
                "learned={learned} row {r}: {} vs exact {exact}",
                lp[r]
            );
        }
        // Samples carry their exact density: sample_and_log_prob agrees with log_prob.
        let mut rng = rand::rngs::StdRng::seed_from_u64(5);
        let (s, ls) = f.sample_and_log_prob(256, None, &mut rng).unwrap();
        let back = vec1(&f.log_prob(&s, None).unwrap());
        for (a, b) in vec1(&ls).iter().zip(back) {
            assert!((a - b).abs() < 1e-9, "sample log p {a} vs log_prob {b}");
        }
    }
}

#[test]
fn slice_with_a_conditional_gaussian_is_a_normalised_density() {
    // Exactness: exp(log p) of a 2 → 1 slice (MLP conditional, perturbed) integrates to 1.
    let f = flow(
        2,
        0,
        1,
        vec![TransformSpec::Slice {
            dim: 2,
            keep: 1,
            model: COND,
            seed: 2,
        }],
    );
    perturb_params(f.params(), 0.4, 3).unwrap();
    assert_eq!(f.likelihood(), Contribution::Exact);
    // Midpoint rule: x₁ on [−8, 8] (the kept, N(0, 1)), x₂ on [−40, 40] (the dropped).
    let (n1, n2, h1, h2) = (200usize, 2000usize, 16.0 / 200.0, 80.0 / 2000.0);
    let pts: Vec<f64> = (0..n1 * n2)
        .flat_map(|k| {
            let (i, j) = (k / n2, k % n2);
            [-8.0 + (i as f64 + 0.5) * h1, -40.0 + (j as f64 + 0.5) * h2]
        })
        .collect();
    let grid = Tensor::from_vec(pts, (n1 * n2, 2), &device()).unwrap();
    let lp = vec1(&f.log_prob(&grid, None).unwrap());
    let mass: f64 = lp.iter().map(|l| l.exp()).sum::<f64>() * h1 * h2;
    assert!(
        (mass - 1.0).abs() < 1e-3,
        "slice density integrates to {mass}"
    );
    let mut rng = rand::rngs::StdRng::seed_from_u64(5);
    let (s, ls) = f.sample_and_log_prob(128, None, &mut rng).unwrap();
    assert_eq!(s.dims(), &[128, 2]);
    let back = vec1(&f.log_prob(&s, None).unwrap());
    for (a, b) in vec1(&ls).iter().zip(back) {
        assert!((a - b).abs() < 1e-9, "sample log p {a} vs log_prob {b}");
    }
}

#[test]
fn sort_divides_by_the_number_of_orderings() {
    let f = flow(3, 0, 3, vec![TransformSpec::Sort { dim: 3, seed: 1 }]);
    let x = gaussian(16, 3, 1.0, 6);
    let lp = vec1(&f.log_prob(&x, None).unwrap());
    for (r, row) in x.to_vec2::<f64>().unwrap().iter().enumerate() {
        let exact: f64 = row
            .iter()
            .map(|&v| log_normal_pdf(v, 0.0, 1.0))
            .sum::<f64>()
            - 6f64.ln();
        assert!((lp[r] - exact).abs() < 1e-12, "row {r}");
    }
    // Permuting a row's values leaves its density unchanged.
    let perm = Tensor::new(&[2u32, 0, 1], &device()).unwrap();
    let xp = x.index_select(&perm, 1).unwrap();
    assert_eq!(lp, vec1(&f.log_prob(&xp, None).unwrap()));
}

#[test]
fn augment_bound_tightens_with_importance_samples() {
    // (x, a) ~ N((0.3, 1), diag(1.5², 0.5²)) through standardisation; q(a | x) = N(0, 1).
    // Exact marginal: log N(x; 0.3, 1.5); the K = 1 gap is KL(q ‖ p(a)) = 2.807 nats.
    let f = flow(
        1,
        0,
        2,
        vec![
            TransformSpec::Augment {
                dim: 1,
                extra: 1,
                model: GaussianSpec::StandardNormal,
                seed: 3,
            },
            TransformSpec::Standardize {
                mean: vec![0.3, 1.0],
                std: vec![1.5, 0.5],
            },
        ],
    );
    assert_eq!(f.likelihood(), Contribution::Bound);
    let x = gaussian(2000, 1, 1.5, 7);
    let exact: Vec<f64> = x
        .flatten_all()
        .unwrap()
        .to_vec1::<f64>()
        .unwrap()
        .iter()
        .map(|&v| log_normal_pdf(v, 0.3, 1.5))
        .collect();
    let kl = (0.5f64).ln() + (1.0 + 1.0) / (2.0 * 0.25) - 0.5;
    let g = mean_gaps(&f, &x, &exact, &[1, 4, 32, 256]);
    assert!((g[0] - kl).abs() < 0.3, "K=1 gap {} vs KL {kl}", g[0]);
    assert!(
        g.windows(2).all(|w| w[1] < w[0]),
        "gaps must shrink with K: {g:?}"
    );
    assert!(g[3] > -0.02 && g[3] < 0.25, "K=256 gap {g:?}");
}

#[test]
fn dequantization_bounds_the_discrete_probability() {
    // Base N(0, 1) on x + u: P(k) = Φ(k + 1) − Φ(k) exactly.
    let f = flow(
        1,
        0,
        1,
        vec![TransformSpec::UniformDequantize { dim: 1, seed: 5 }],
    );
    assert_eq!(f.likelihood(), Contribution::Bound);
    let ks: Vec<f64> = (0..1000).map(|i| (i % 5) as f64 - 2.0).collect();
    let n = Normal::new(0.0, 1.0).unwrap();
    let exact: Vec<f64> = ks
        .iter()
        .map(|&k| (n.cdf(k + 1.0) - n.cdf(k)).ln())
        .collect();
    let x = Tensor::from_vec(ks, (1000, 1), &device()).unwrap();
    let g = mean_gaps(&f, &x, &exact, &[1, 8, 64]);
    assert!(g[0] > 0.01, "K=1 must be a strict bound here: {g:?}");
    assert!(
        g.windows(2).all(|w| w[1] < w[0]),
        "gaps must shrink with K: {g:?}"
    );
    assert!(g[2].abs() < 0.01, "K=64 gap {g:?}");
}

#[test]
fn flows_with_surjections_reload_bit_identically() {
    let mut transforms = vec![TransformSpec::Augment {
        dim: 2,
        extra: 1,
        model: COND,
        seed: 11,
    }];
    transforms.extend(
        FlowBuilder::realnvp(3)
            .blocks(2)
            .hidden(8)
            .build_spec()
            .unwrap()
            .transforms,
    );
    transforms.push(TransformSpec::Slice {
        dim: 3,
        keep: 2,
        model: COND,
        seed: 12,
    });
    transforms.push(TransformSpec::Abs {
        dim: 2,
        learned: true,
        seed: 13,
    });
    let f = flow(2, 0, 2, transforms);
    perturb_params(f.params(), 0.2, 1).unwrap();
    let dir = std::env::temp_dir().join(format!("flowinfer-surjective-{}", std::process::id()));
    f.save(&dir).unwrap();
    let g = Flow::load(&dir, &device()).unwrap();
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(f.spec(), g.spec());
    let x = gaussian(64, 2, 1.0, 2);
    let bits = |t: Tensor| vec1(&t).iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    assert_eq!(
        bits(f.log_prob(&x, None).unwrap()),
        bits(g.log_prob(&x, None).unwrap())
    );
    assert_eq!(
        bits(f.log_prob_iw(&x, None, 4).unwrap()),
        bits(g.log_prob_iw(&x, None, 4).unwrap())
    );
    let mut r1 = rand::rngs::StdRng::seed_from_u64(3);
    let mut r2 = rand::rngs::StdRng::seed_from_u64(3);
    let s1 = f.sample(32, None, &mut r1).unwrap().flatten_all().unwrap();
    let s2 = g.sample(32, None, &mut r2).unwrap().flatten_all().unwrap();
    assert_eq!(bits(s1), bits(s2));
}

#[test]
fn surjective_bad_input_gives_clear_errors() {
    let d = UniformDequantize::new(2, 0).unwrap();
    let x = Tensor::new(&[[1.0f64, 2.0], [3.0, 2.5]], &device()).unwrap();
    let e = d.forward(&x, None).unwrap_err().to_string();
    assert!(
        e.contains("row 1, column 1") && e.contains("2.5") && e.contains("integer"),
        "{e}"
    );
    let p = Params::new(DType::F64, &device(), 0);
    let s = Slice::new(&p, 3, 1, GaussianSpec::StandardNormal, 0, 0).unwrap();
    let e = s.forward(&x, None).unwrap_err().to_string();
    assert!(
        e.contains("slice layer input") && e.contains("(batch, 3)"),
        "{e}"
    );
    let e = Slice::new(&p, 3, 3, GaussianSpec::StandardNormal, 0, 0)
        .unwrap_err()
        .to_string();
    assert!(e.contains("keep must be in 1..3"), "{e}");
    // A stack whose widths do not chain names the transform.
    let spec = FlowSpec {
        dim: 3,
        context_dim: 0,
        embedding: None,
        base: BaseSpec::StandardNormal { dim: 3 },
        transforms: vec![TransformSpec::Slice {
            dim: 3,
            keep: 2,
            model: GaussianSpec::StandardNormal,
            seed: 0,
        }],
    };
    let e = Flow::new(spec, DType::F64, &device(), 0)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("base distribution has dimension 3") && e.contains("output 2"),
        "{e}"
    );
    let f = flow(
        1,
        0,
        2,
        vec![TransformSpec::Augment {
            dim: 1,
            extra: 1,
            model: GaussianSpec::StandardNormal,
            seed: 0,
        }],
    );
    let e = f
        .log_prob_iw(&Tensor::new(&[[0.0f64]], &device()).unwrap(), None, 0)
        .unwrap_err()
        .to_string();
    assert!(e.contains("at least 1"), "{e}");
}

#[test]
fn max_pooling_is_exact_and_checked() {
    let dev = device();
    let p = Params::new(DType::F64, &dev, 7);
    let m = MaxPool2d::new(&p, 4, 6, 2, 3).unwrap();
    perturb_params(&p, 0.3, 2).unwrap();
    assert_eq!(m.output_dim(), 6);
    assert_surjection(
        "max pool",
        &m,
        &p,
        &gaussian(16, 24, 1.0, 1),
        &gaussian(16, 6, 1.0, 2),
    );
    // Closed form on a 2×2 image, one block, σ = 1: log φ(max) − log 4 + Σ_{others}
    // log HalfNormal(max − x_i).
    let f = flow(
        4,
        0,
        1,
        vec![TransformSpec::MaxPool2d {
            height: 2,
            width: 2,
            block: 2,
            seed: 0,
        }],
    );
    let x = gaussian(32, 4, 1.0, 3);
    let lp = vec1(&f.log_prob(&x, None).unwrap());
    for (r, row) in x.to_vec2::<f64>().unwrap().iter().enumerate() {
        let max = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let others: f64 = row
            .iter()
            .filter(|&&v| v != max)
            .map(|&v| 2f64.ln() + log_normal_pdf(max - v, 0.0, 1.0))
            .sum();
        let exact = log_normal_pdf(max, 0.0, 1.0) - 4f64.ln() + others;
        assert!(
            (lp[r] - exact).abs() < 1e-12,
            "row {r}: {} vs {exact}",
            lp[r]
        );
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(5);
    let (s, ls) = f.sample_and_log_prob(64, None, &mut rng).unwrap();
    let back = vec1(&f.log_prob(&s, None).unwrap());
    for (a, b) in vec1(&ls).iter().zip(back) {
        assert!((a - b).abs() < 1e-9, "sample log p {a} vs log_prob {b}");
    }
    let e = MaxPool2d::new(&p, 5, 4, 2, 0).unwrap_err().to_string();
    assert!(e.contains("divide the 5×4 image"), "{e}");
}

#[test]
fn conditional_flows_with_surjections_take_the_context() {
    let dev = device();
    let ctx = gaussian(32, 2, 1.0, 4);
    let p = Params::new(DType::F64, &dev, 7);
    let s = Slice::new(&p, 3, 2, COND, 4, 2).unwrap();
    perturb_params(&p, 0.3, 9).unwrap();
    assert_eq!(s.context_dim(), 2);
    let (x, z) = (gaussian(32, 3, 1.0, 1), gaussian(32, 2, 1.0, 2));
    let r = check_surjection(&s, &x, &z, Some(&ctx)).unwrap();
    assert!(
        r.roundtrip_err < 1e-12 && r.contribution_err < 1e-9,
        "{r:?}"
    );
    // The context changes the contribution; a missing one is refused.
    let other = (&ctx + 1.0).unwrap();
    assert_ne!(
        vec1(&s.forward(&x, Some(&ctx)).unwrap().1),
        vec1(&s.forward(&x, Some(&other)).unwrap().1)
    );
    assert!(s.forward(&x, None).is_err());
    // A fixed Gaussian takes no context.
    let fixed = Augment::new(&p, 3, 1, GaussianSpec::StandardNormal, 4, 2).unwrap();
    assert_eq!(fixed.context_dim(), 0);

    // A conditional flow: augment → couplings → slice, saved and reloaded.
    let mut transforms = vec![TransformSpec::Augment {
        dim: 2,
        extra: 1,
        model: COND,
        seed: 1,
    }];
    transforms.extend(
        FlowBuilder::realnvp(3)
            .blocks(1)
            .hidden(8)
            .context(2)
            .build_spec()
            .unwrap()
            .transforms,
    );
    transforms.push(TransformSpec::Slice {
        dim: 3,
        keep: 2,
        model: COND,
        seed: 2,
    });
    let spec = FlowSpec {
        dim: 2,
        context_dim: 2,
        embedding: None,
        base: BaseSpec::StandardNormal { dim: 2 },
        transforms,
    };
    let f = Flow::new(spec, DType::F64, &dev, 3).unwrap();
    perturb_params(f.params(), 0.2, 1).unwrap();
    let x = gaussian(32, 2, 1.0, 5);
    let dir = std::env::temp_dir().join(format!("flowinfer-surj-ctx-{}", std::process::id()));
    f.save(&dir).unwrap();
    let g = Flow::load(&dir, &dev).unwrap();
    std::fs::remove_dir_all(&dir).ok();
    let bits = |t: Tensor| vec1(&t).iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    assert_eq!(
        bits(f.log_prob_iw(&x, Some(&ctx), 3).unwrap()),
        bits(g.log_prob_iw(&x, Some(&ctx), 3).unwrap())
    );
    let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    let s = f
        .sample(5, Some(&ctx.narrow(0, 0, 2).unwrap()), &mut rng)
        .unwrap();
    assert_eq!(s.dims(), &[10, 2]);
}

#[test]
fn learned_sign_probabilities_train_to_the_data_fraction() {
    use rand::Rng;
    // Signs positive with probability 0.8 (column 0) and 0.3 (column 1).
    let mut rng = rand::rngs::StdRng::seed_from_u64(2);
    let n = 2000;
    let mags = gaussian(n, 2, 1.0, 3)
        .abs()
        .unwrap()
        .to_vec2::<f64>()
        .unwrap();
    let mut frac = [0.0f64; 2];
    let rows: Vec<f64> = mags
        .iter()
        .flat_map(|m| {
            let p = [0.8, 0.3];
            (0..2)
                .map(|j| {
                    let pos = rng.random::<f64>() < p[j];
                    frac[j] += pos as u8 as f64 / n as f64;
                    if pos {
                        m[j]
                    } else {
                        -m[j]
                    }
                })
                .collect::<Vec<_>>()
        })
        .collect();
    let x = Tensor::from_vec(rows, (n, 2), &device()).unwrap();
    let f = flow(
        2,
        0,
        2,
        vec![TransformSpec::Abs {
            dim: 2,
            learned: true,
            seed: 0,
        }],
    );
    let cfg = flowinfer::train::TrainerConfig {
        epochs: 30,
        batch_size: 250,
        lr: 0.05,
        patience: None,
        seed: 1,
        ..Default::default()
    };
    flowinfer::train::fit_nll(&f, &x, None, &cfg).unwrap();
    let (_, logit) = f
        .params()
        .named_vars()
        .into_iter()
        .find(|(name, _)| name == "t0.sign_logit")
        .unwrap();
    let logit = logit
        .as_tensor()
        .flatten_all()
        .unwrap()
        .to_vec1::<f64>()
        .unwrap();
    for j in 0..2 {
        let p = 1.0 / (1.0 + (-logit[j]).exp());
        assert!(
            (p - frac[j]).abs() < 0.02,
            "column {j}: learned {p}, data {}",
            frac[j]
        );
    }
}
