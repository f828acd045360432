//! The SurVAE layers of the second round (issue 18): max, variational dequantization,
//! context-conditioned sign probabilities (property checks, exactness, bounds, training
//! behaviour), and the reload and bad-input checks of every new layer (the set and
//! structure helpers are tested in `surjective_sets`).

use crate::common::{device, gaussian, uniform};
use candle_core::{DType, Tensor};
use flowinfer::distributions::BaseSpec;
use flowinfer::flow::{Flow, FlowSpec};
use flowinfer::params::Params;
use flowinfer::surjective::{
    check_surjection, ConditionalAbs, Max, PermuteAxes, Reshape, SetCoupling, SetPermute,
    SortPoints, VariationalDequantize,
};
use flowinfer::testing::{check_extremes, check_transform, perturb_params};
use flowinfer::train::{Batches, Trainer, TrainerConfig};
use flowinfer::transforms::{Contribution, Transform, TransformSpec};
use rand::{Rng, SeedableRng};
use statrs::distribution::{ContinuousCDF, Normal};

pub(crate) const EXTREMES: [f64; 5] = [-1e6, -30.0, 0.0, 30.0, 1e6];

pub(crate) fn flow(dim: usize, ctx: usize, base: usize, transforms: Vec<TransformSpec>) -> Flow {
    let spec = FlowSpec {
        dim,
        context_dim: ctx,
        embedding: None,
        base: BaseSpec::StandardNormal { dim: base },
        transforms,
    };
    Flow::new(spec, DType::F64, &device(), 3).unwrap()
}

pub(crate) fn vec1(t: &Tensor) -> Vec<f64> {
    t.to_dtype(DType::F64).unwrap().to_vec1::<f64>().unwrap()
}

pub(crate) fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

pub(crate) fn log_phi(x: f64) -> f64 {
    -0.5 * x * x - 0.5 * (2.0 * std::f64::consts::PI).ln()
}

/// The points of each row (`coords` values each), sorted, for multiset comparisons.
pub(crate) fn point_sets(t: &Tensor, coords: usize) -> Vec<Vec<Vec<f64>>> {
    t.to_vec2::<f64>()
        .unwrap()
        .iter()
        .map(|r| {
            let mut p: Vec<Vec<f64>> = r.chunks(coords).map(|c| c.to_vec()).collect();
            p.sort_by(|a, b| a.partial_cmp(b).unwrap());
            p
        })
        .collect()
}

/// Rows with the points of every row reversed.
pub(crate) fn reverse_points(t: &Tensor, coords: usize) -> Tensor {
    let rows: Vec<f64> = t
        .to_vec2::<f64>()
        .unwrap()
        .iter()
        .flat_map(|r| {
            r.chunks(coords)
                .rev()
                .flatten()
                .copied()
                .collect::<Vec<_>>()
        })
        .collect();
    Tensor::from_vec(rows, t.dims2().unwrap(), &device()).unwrap()
}

/// A bijection: log-det against the numerical Jacobian, round trip, cancelling
/// log-dets, and finite values/gradients at extreme inputs.
pub(crate) fn assert_bijection(name: &str, t: &dyn Transform, params: &Params, x: &Tensor) {
    let r = check_transform(t, x, None).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert!(r.logdet_rel_err < 1e-6, "{name}: {r:?}");
    assert!(r.roundtrip_err < 1e-10, "{name}: {r:?}");
    assert!(r.inverse_logdet_err < 1e-10, "{name}: {r:?}");
    check_extremes(t, &EXTREMES, 0, params).unwrap_or_else(|e| panic!("{name}: {e}"));
}

#[test]
fn max_is_an_exact_normalised_density() {
    let dev = device();
    let p = Params::new(DType::F64, &dev, 7);
    let m = Max::new(&p, 3, 2).unwrap();
    perturb_params(&p, 0.4, 3).unwrap();
    assert_eq!(m.output_dim(), 1);
    let r = check_surjection(&m, &gaussian(32, 3, 1.0, 1), &gaussian(32, 1, 1.0, 2), None).unwrap();
    assert!(
        r.roundtrip_err < 1e-12 && r.contribution_err < 1e-9 && r.repeat_err == 0.0,
        "{r:?}"
    );
    check_extremes(&m, &EXTREMES, 0, &p).unwrap();

    // 2-D: exp(log p) integrates to 1 (midpoint rule on [−10, 10]²), with the index
    // logits and gap scales moved away from their initial values. The density jumps
    // across the diagonal x₁ = x₂; the x₂ nodes are offset by h/2 so that no node lies
    // on it and the cells it cuts cancel to first order.
    let f = flow(2, 0, 1, vec![TransformSpec::Max { dim: 2, seed: 4 }]);
    f.params()
        .set(
            "t0.index_logit",
            &Tensor::new(&[[0.9f64, -0.6]], &dev).unwrap(),
        )
        .unwrap();
    f.params()
        .set(
            "t0.log_scale",
            &Tensor::new(&[[0.4f64, -0.3]], &dev).unwrap(),
        )
        .unwrap();
    assert_eq!(f.likelihood(), Contribution::Exact);
    let (n, h) = (1000usize, 20.0 / 1000.0);
    let pts: Vec<f64> = (0..n * n)
        .flat_map(|k| {
            let (i, j) = (k / n, k % n);
            [-10.0 + (i as f64 + 0.5) * h, -10.0 + j as f64 * h]
        })
        .collect();
    let grid = Tensor::from_vec(pts, (n * n, 2), &dev).unwrap();
    let lp = vec1(&f.log_prob(&grid, None).unwrap());
    let mass: f64 = lp.iter().map(|l| l.exp()).sum::<f64>() * h * h;
    assert!(
        (mass - 1.0).abs() < 2e-3,
        "max density integrates to {mass}"
    );
    // Closed form: log φ(m) + log π_k + log HalfNormal(m − x_other; σ_other).
    let pi0 = 1.0 / (1.0 + (-1.5f64).exp());
    let x = gaussian(16, 2, 1.0, 5);
    let lp = vec1(&f.log_prob(&x, None).unwrap());
    for (r, row) in x.to_vec2::<f64>().unwrap().iter().enumerate() {
        let (k, o) = if row[0] >= row[1] { (0, 1) } else { (1, 0) };
        let sigma = [0.4f64.exp(), (-0.3f64).exp()][o];
        let pi = if k == 0 { pi0 } else { 1.0 - pi0 };
        let d = (row[k] - row[o]) / sigma;
        let exact = log_phi(row[k]) + pi.ln() + 2f64.ln() + log_phi(d) - sigma.ln();
        assert!(
            (lp[r] - exact).abs() < 1e-12,
            "row {r}: {} vs {exact}",
            lp[r]
        );
    }
    // Samples carry their exact log p; the index frequencies follow π.
    let mut rng = rand::rngs::StdRng::seed_from_u64(5);
    let (s, ls) = f.sample_and_log_prob(4000, None, &mut rng).unwrap();
    let back = vec1(&f.log_prob(&s, None).unwrap());
    for (a, b) in vec1(&ls).iter().zip(back) {
        assert!((a - b).abs() < 1e-9, "sample log p {a} vs log_prob {b}");
    }
    let rows = s.to_vec2::<f64>().unwrap();
    let first = rows.iter().filter(|r| r[0] > r[1]).count() as f64 / 4000.0;
    assert!(
        (first - pi0).abs() < 0.03,
        "argmax frequency {first} vs π₀ {pi0}"
    );
}

#[test]
fn conditioned_sign_probabilities_follow_the_context() {
    // Property checks with a context and perturbed weights.
    let dev = device();
    let p = Params::new(DType::F64, &dev, 3);
    let a = ConditionalAbs::new(&p, 3, 8, 2, 2).unwrap();
    perturb_params(&p, 0.5, 4).unwrap();
    let ctx = gaussian(32, 2, 1.0, 7);
    let z = gaussian(32, 3, 1.0, 2).abs().unwrap(); // the image of |·|
    let r = check_surjection(&a, &gaussian(32, 3, 1.5, 1), &z, Some(&ctx)).unwrap();
    assert!(
        r.roundtrip_err < 1e-12 && r.contribution_err < 1e-9 && r.repeat_err == 0.0,
        "{r:?}"
    );
    check_extremes(&a, &EXTREMES, 2, &p).unwrap();
    assert!(a.forward(&z, None).is_err(), "a missing context is refused");

    // Label 0: P(+) = (0.85, 0.3); label 1: P(+) = (0.2, 0.6).
    let probs = [[0.85, 0.3], [0.2, 0.6]];
    let n = 2000;
    let mut rng = rand::rngs::StdRng::seed_from_u64(4);
    let mags = gaussian(n, 2, 1.0, 3)
        .abs()
        .unwrap()
        .to_vec2::<f64>()
        .unwrap();
    let mut counts = [[0.0f64; 2]; 2];
    let mut per_label = [0.0f64; 2];
    let (mut rows, mut labels) = (Vec::new(), Vec::new());
    for (i, m) in mags.iter().enumerate() {
        let l = i % 2;
        per_label[l] += 1.0;
        labels.push(l as f64);
        for j in 0..2 {
            let pos = rng.random::<f64>() < probs[l][j];
            counts[l][j] += pos as u8 as f64;
            rows.push(if pos { m[j] } else { -m[j] });
        }
    }
    let x = Tensor::from_vec(rows, (n, 2), &dev).unwrap();
    let c = Tensor::from_vec(labels, (n, 1), &dev).unwrap();
    let f = flow(
        2,
        1,
        2,
        vec![TransformSpec::ConditionalAbs {
            dim: 2,
            hidden: 16,
            seed: 1,
        }],
    );
    assert_eq!(f.likelihood(), Contribution::Exact);
    let cfg = TrainerConfig {
        epochs: 40,
        batch_size: 200,
        lr: 0.02,
        patience: None,
        seed: 1,
        ..Default::default()
    };
    Trainer::new(cfg)
        .unwrap()
        .fit(
            f.params(),
            Batches {
                x: &x,
                ctx: Some(&c),
            },
            None,
            |xb, cb| Ok(f.log_prob_unchecked(xb, cb)?.mean_all()?.neg()?),
            |_| {},
        )
        .unwrap();
    // Rebuild the layer on the trained parameters to read π(+ | label).
    let a = ConditionalAbs::new(&f.params().pp("t0"), 2, 16, 1, 1).unwrap();
    let pi = a
        .positive_probability(&Tensor::new(&[[0.0f64], [1.0]], &dev).unwrap())
        .unwrap()
        .to_vec2::<f64>()
        .unwrap();
    for l in 0..2 {
        for j in 0..2 {
            let frac = counts[l][j] / per_label[l];
            assert!(
                (pi[l][j] - frac).abs() < 0.05,
                "label {l} column {j}: learned {} vs data {frac}",
                pi[l][j]
            );
        }
    }
    // Conditional samples follow the learned fractions per label.
    let mut rng = rand::rngs::StdRng::seed_from_u64(6);
    let s = f
        .sample(
            2000,
            Some(&Tensor::new(&[[0.0f64], [1.0]], &dev).unwrap()),
            &mut rng,
        )
        .unwrap()
        .to_vec2::<f64>()
        .unwrap();
    for l in 0..2 {
        let pos0 = s[l * 2000..(l + 1) * 2000]
            .iter()
            .filter(|r| r[0] >= 0.0)
            .count() as f64
            / 2000.0;
        assert!(
            (pos0 - pi[l][0]).abs() < 0.04,
            "label {l}: {pos0} vs {}",
            pi[l][0]
        );
    }
}

/// Mean over rows of (exact − `log_prob_iw` with K draws) for each K.
pub(crate) fn mean_gaps(f: &Flow, x: &Tensor, exact: &[f64], ks: &[usize]) -> Vec<f64> {
    ks.iter()
        .map(|&k| {
            let lp = vec1(&f.log_prob_iw(x, None, k).unwrap());
            mean(&exact.iter().zip(lp).map(|(e, l)| e - l).collect::<Vec<_>>())
        })
        .collect()
}

#[test]
fn variational_dequantization_beats_uniform_and_tightens_with_k() {
    // Integers k = ⌊y⌋, y ~ N(0, 0.7²); the continuous model is fixed at N(0, 0.7²), so
    // P(k) = Φ((k + 1)/0.7) − Φ(k/0.7) exactly and only q(u | x) is trained.
    let sd = 0.7;
    let dev = device();
    let ys = gaussian(1500, 1, sd, 8).to_vec2::<f64>().unwrap();
    let ks: Vec<f64> = ys.iter().map(|r| r[0].floor()).collect();
    let n = Normal::new(0.0, sd).unwrap();
    let exact: Vec<f64> = ks
        .iter()
        .map(|&k| (n.cdf(k + 1.0) - n.cdf(k)).ln())
        .collect();
    let x = Tensor::from_vec(ks, (1500, 1), &dev).unwrap();
    let model = |deq| {
        flow(
            1,
            0,
            1,
            vec![
                deq,
                TransformSpec::Standardize {
                    mean: vec![0.0],
                    std: vec![sd],
                },
            ],
        )
    };
    let uniform_flow = model(TransformSpec::UniformDequantize { dim: 1, seed: 2 });
    let var_flow = model(TransformSpec::VariationalDequantize {
        dim: 1,
        hidden: 16,
        depth: 1,
        seed: 2,
    });
    assert_eq!(var_flow.likelihood(), Contribution::Bound);
    let cfg = TrainerConfig {
        epochs: 40,
        batch_size: 150,
        lr: 0.02,
        patience: None,
        seed: 1,
        ..Default::default()
    };
    flowinfer::train::fit_nll(&var_flow, &x, None, &cfg).unwrap();
    let gu = mean_gaps(&uniform_flow, &x, &exact, &[1]);
    let gv = mean_gaps(&var_flow, &x, &exact, &[1, 8, 64]);
    assert!(gv[2] > -0.005, "the estimate stays below log P: {gv:?}");
    assert!(
        gv[0] < 0.5 * gu[0],
        "variational gap {} must beat uniform {}",
        gv[0],
        gu[0]
    );
    assert!(
        gv.windows(2).all(|w| w[1] < w[0]),
        "gaps must shrink with K: {gv:?}"
    );
    // Property checks of the layer with a context and perturbed weights.
    let p = Params::new(DType::F64, &dev, 7);
    let d = VariationalDequantize::new(&p, 2, 8, 1, 4, 2).unwrap();
    perturb_params(&p, 0.3, 2).unwrap();
    let ints = uniform(32, 2, -5.0, 5.0, 3).floor().unwrap();
    let ctx = gaussian(32, 2, 1.0, 9);
    let r = check_surjection(&d, &ints, &gaussian(32, 2, 3.0, 2), Some(&ctx)).unwrap();
    // The inverse recovers u as z − ⌊z⌋: near u = 1 (large logits under the perturbed
    // weights) 1 − u keeps few significant bits, hence the looser contribution check.
    assert!(
        r.roundtrip_err == 0.0 && r.contribution_err < 1e-5 && r.repeat_err == 0.0,
        "{r:?}"
    );
    check_extremes(&d, &EXTREMES, 2, &p).unwrap();
}

#[test]
fn new_layers_reload_bit_identically() {
    let dev = device();
    let bits = |t: Tensor| vec1(&t).iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    let roundtrip = |f: &Flow, x: &Tensor, ctx: Option<&Tensor>, name: &str| {
        let dir = std::env::temp_dir().join(format!("flowinfer-{name}-{}", std::process::id()));
        f.save(&dir).unwrap();
        let g = Flow::load(&dir, &dev).unwrap();
        std::fs::remove_dir_all(&dir).ok();
        assert_eq!(f.spec(), g.spec(), "{name}");
        assert_eq!(
            bits(f.log_prob_iw(x, ctx, 3).unwrap()),
            bits(g.log_prob_iw(x, ctx, 3).unwrap()),
            "{name}"
        );
        let (mut r1, mut r2) = (
            rand::rngs::StdRng::seed_from_u64(3),
            rand::rngs::StdRng::seed_from_u64(3),
        );
        let c = ctx.map(|c| c.narrow(0, 0, 2).unwrap());
        let s1 = f.sample(8, c.as_ref(), &mut r1).unwrap();
        let s2 = g.sample(8, c.as_ref(), &mut r2).unwrap();
        assert_eq!(
            bits(s1.flatten_all().unwrap()),
            bits(s2.flatten_all().unwrap())
        );
    };
    // Integers → variational dequantization → set layers → axis permutation → max.
    let a = flow(
        6,
        0,
        1,
        vec![
            TransformSpec::VariationalDequantize {
                dim: 6,
                hidden: 8,
                depth: 1,
                seed: 1,
            },
            TransformSpec::Reshape {
                from: vec![6],
                to: vec![3, 2],
            },
            TransformSpec::SetPermute {
                points: 3,
                coords: 2,
                seed: 2,
            },
            TransformSpec::SortPoints {
                points: 3,
                coords: 2,
                key: 0,
                seed: 3,
            },
            TransformSpec::SetCoupling {
                points: 3,
                coords: 2,
                transformed: vec![1],
                hidden: 8,
                depth: 1,
            },
            TransformSpec::PermuteAxes {
                shape: vec![3, 2],
                axes: vec![1, 0],
            },
            TransformSpec::Max { dim: 6, seed: 4 },
        ],
    );
    perturb_params(a.params(), 0.3, 1).unwrap();
    let ints = uniform(16, 6, -4.0, 4.0, 2).floor().unwrap();
    roundtrip(&a, &ints, None, "surj-set");
    // A conditional flow: context-conditioned signs and a set coupling with context.
    let b = flow(
        4,
        2,
        4,
        vec![
            TransformSpec::SetCoupling {
                points: 2,
                coords: 2,
                transformed: vec![0],
                hidden: 8,
                depth: 1,
            },
            TransformSpec::ConditionalAbs {
                dim: 4,
                hidden: 8,
                seed: 5,
            },
        ],
    );
    perturb_params(b.params(), 0.3, 2).unwrap();
    roundtrip(
        &b,
        &gaussian(16, 4, 1.0, 3),
        Some(&gaussian(16, 2, 1.0, 4)),
        "surj-ctx",
    );
}

#[test]
fn new_layers_refuse_bad_input_clearly() {
    let dev = device();
    let p = Params::new(DType::F64, &dev, 0);
    let e = Reshape::new(vec![2, 3], vec![4, 2])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("[2, 3] (6 values)") && e.contains("[4, 2] (8 values)"),
        "{e}"
    );
    let r = Reshape::new(vec![3, 2], vec![6]).unwrap();
    let e = r
        .forward(&gaussian(2, 5, 1.0, 1), None)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("[3, 2]") && e.contains("(batch, 6)") && e.contains("[2, 5]"),
        "{e}"
    );
    let e = PermuteAxes::new(vec![3, 2], vec![0, 0])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("not a permutation") && e.contains("[3, 2]"),
        "{e}"
    );
    let e = PermuteAxes::new(vec![3, 2], vec![0])
        .unwrap_err()
        .to_string();
    assert!(e.contains("1 axes given for the 2 axes"), "{e}");
    let pa = PermuteAxes::new(vec![3, 2], vec![1, 0]).unwrap();
    let e = pa
        .inverse(&gaussian(2, 7, 1.0, 1), None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("(batch, 6)") && e.contains("[2, 7]"), "{e}");
    let e = SortPoints::new(3, 2, 2, 0).unwrap_err().to_string();
    assert!(e.contains("key coordinate 2") && e.contains("0..2"), "{e}");
    let e = SetPermute::new(0, 2, 0).unwrap_err().to_string();
    assert!(e.contains("0 points"), "{e}");
    let e = SetCoupling::new(&p, 3, 2, vec![0, 1], 8, 1, 0)
        .unwrap_err()
        .to_string();
    assert!(e.contains("one identity"), "{e}");
    let e = Max::new(&p, 1, 0).unwrap_err().to_string();
    assert!(e.contains("at least 2 values"), "{e}");
    let d = VariationalDequantize::new(&p, 2, 8, 1, 0, 0).unwrap();
    let x = Tensor::new(&[[1.0f64, 2.0], [3.0, 2.5]], &dev).unwrap();
    let e = d.forward(&x, None).unwrap_err().to_string();
    assert!(
        e.contains("row 1, column 1") && e.contains("integer"),
        "{e}"
    );
    // Conditioned signs in a flow without a context: refused when the flow is built.
    let spec = FlowSpec {
        dim: 2,
        context_dim: 0,
        embedding: None,
        base: BaseSpec::StandardNormal { dim: 2 },
        transforms: vec![TransformSpec::ConditionalAbs {
            dim: 2,
            hidden: 8,
            seed: 0,
        }],
    };
    let e = Flow::new(spec, DType::F64, &dev, 0)
        .unwrap_err()
        .to_string();
    assert!(e.contains("needs") && e.contains("context width 0"), "{e}");
    // A set layer whose width does not match the data names both.
    let f = flow(
        6,
        0,
        6,
        vec![TransformSpec::SetPermute {
            points: 3,
            coords: 2,
            seed: 0,
        }],
    );
    let e = f
        .log_prob(&gaussian(2, 4, 1.0, 1), None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("6") && e.contains("[2, 4]"), "{e}");
}
