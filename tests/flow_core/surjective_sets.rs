//! The set and structure helpers of the SurVAE layers (issue 18): axis permutation,
//! reshape, point sorting, random point order and the point-wise set coupling, and the
//! permutation invariance of a trained set flow.

use crate::common::{device, gaussian};
use crate::surjective_layers::{
    assert_bijection, flow, log_phi, mean, point_sets, reverse_points, vec1, EXTREMES,
};
use candle_core::{DType, Tensor};
use flowinfer::params::Params;
use flowinfer::surjective::{
    check_surjection, PermuteAxes, Reshape, SetCoupling, SetPermute, SortPoints,
};
use flowinfer::testing::{check_extremes, check_transform, perturb_params};
use flowinfer::train::TrainerConfig;
use flowinfer::transforms::{Contribution, Transform, TransformSpec};
use rand::{Rng, SeedableRng};

#[test]
fn structure_helpers_are_exact_bijections_or_surjections() {
    let dev = device();
    let p = Params::new(DType::F64, &dev, 1);
    let x6 = gaussian(16, 6, 1.0, 1);
    // Axis permutation and reshape: permutations of the values, log-det 0.
    let pa = PermuteAxes::new(vec![3, 2], vec![1, 0]).unwrap();
    assert_bijection("permute axes 3×2", &pa, &p, &x6);
    let pa3 = PermuteAxes::new(vec![2, 3, 4], vec![2, 0, 1]).unwrap();
    assert_eq!(pa3.output_shape(), vec![4, 2, 3]);
    let x24 = gaussian(8, 24, 1.0, 2);
    assert_bijection("permute axes 2×3×4", &pa3, &p, &x24);
    // Output position (k, i, j) holds input (i, j, k).
    let z = pa3.forward(&x24, None).unwrap().0.to_vec2::<f64>().unwrap();
    let xr = x24.to_vec2::<f64>().unwrap();
    // (i, j, k) = (0, 2, 1): input index i·12 + j·4 + k = 9, output k·6 + i·3 + j = 8.
    assert_eq!(z[0][8], xr[0][9]);
    assert_bijection(
        "reshape",
        &Reshape::new(vec![3, 2], vec![2, 3]).unwrap(),
        &p,
        &x6,
    );
    // Point sorting: an exact inference surjection with contribution −log N!.
    let sp = SortPoints::new(3, 2, 1, 4).unwrap();
    let sorted_by_y = {
        let rows: Vec<f64> = gaussian(16, 6, 1.0, 3)
            .to_vec2::<f64>()
            .unwrap()
            .iter()
            .flat_map(|r| {
                let mut pts: Vec<&[f64]> = r.chunks(2).collect();
                pts.sort_by(|a, b| a[1].partial_cmp(&b[1]).unwrap());
                pts.concat()
            })
            .collect();
        Tensor::from_vec(rows, (16, 6), &dev).unwrap()
    };
    let r = check_surjection(&sp, &x6, &sorted_by_y, None).unwrap();
    assert!(
        r.roundtrip_err == 0.0 && r.contribution_err < 1e-12 && r.repeat_err == 0.0,
        "{r:?}"
    );
    check_extremes(&sp, &EXTREMES, 0, &p).unwrap();
    // It sorts whole points (pairs move together), not the scalars.
    let (z, _) = sp.forward(&x6, None).unwrap();
    assert_eq!(point_sets(&z, 2), point_sets(&x6, 2));
    let f = flow(6, 0, 6, vec![sp.spec()]);
    let lp = vec1(&f.log_prob(&x6, None).unwrap());
    for (r, row) in x6.to_vec2::<f64>().unwrap().iter().enumerate() {
        let exact = row.iter().map(|&v| log_phi(v)).sum::<f64>() - 6f64.ln();
        assert!((lp[r] - exact).abs() < 1e-12, "row {r}");
    }
    assert_eq!(
        lp,
        vec1(&f.log_prob(&reverse_points(&x6, 2), None).unwrap())
    );
}

#[test]
fn set_permutation_reorders_points_with_zero_contribution() {
    let dev = device();
    let p = Params::new(DType::F64, &dev, 1);
    let s = SetPermute::new(5, 2, 3).unwrap();
    assert_eq!(s.likelihood(), Contribution::Bound);
    assert!(s.stochastic_inverse());
    let x = gaussian(32, 10, 1.0, 1);
    for inverse in [false, true] {
        let (y, c) = if inverse {
            s.inverse(&x, None).unwrap()
        } else {
            s.forward(&x, None).unwrap()
        };
        assert_eq!(point_sets(&y, 2), point_sets(&x, 2), "inverse={inverse}");
        assert!(vec1(&c).iter().all(|&v| v == 0.0));
        // Same batch, same draws.
        let again = if inverse {
            s.inverse(&x, None).unwrap().0
        } else {
            s.forward(&x, None).unwrap().0
        };
        assert_eq!(y.to_vec2::<f64>().unwrap(), again.to_vec2::<f64>().unwrap());
    }
    // Identical rows get different orders; a different batch gets different draws.
    let same = Tensor::from_vec((0..10).map(|v| v as f64).collect(), (1, 10), &dev)
        .unwrap()
        .repeat((16, 1))
        .unwrap();
    let rows = s.forward(&same, None).unwrap().0.to_vec2::<f64>().unwrap();
    let distinct: std::collections::BTreeSet<Vec<u64>> = rows
        .iter()
        .map(|r| r.iter().map(|v| v.to_bits()).collect())
        .collect();
    assert!(
        distinct.len() > 8,
        "{} distinct orders of 16",
        distinct.len()
    );
    let moved = rows
        .iter()
        .filter(|r| r.as_slice() != (0..10).map(|v| v as f64).collect::<Vec<_>>())
        .count();
    assert!(moved > 8);
    check_extremes(&s, &EXTREMES, 0, &p).unwrap();
}

#[test]
fn set_coupling_is_a_permutation_equivariant_bijection() {
    let dev = device();
    for (ctx, transformed) in [(0usize, vec![1usize]), (2, vec![0, 2])] {
        let p = Params::new(DType::F64, &dev, 2);
        let c = SetCoupling::new(&p, 4, 3, transformed.clone(), 8, 2, ctx).unwrap();
        perturb_params(&p, 0.4, 5).unwrap();
        let x = gaussian(16, 12, 1.0, 3);
        let ctxt = (ctx > 0).then(|| gaussian(16, ctx, 1.0, 4));
        let r = check_transform(&c, &x, ctxt.as_ref()).unwrap();
        assert!(r.logdet_rel_err < 1e-6, "{transformed:?}: {r:?}");
        assert!(
            r.roundtrip_err < 1e-10 && r.inverse_logdet_err < 1e-10,
            "{r:?}"
        );
        check_extremes(&c, &EXTREMES, ctx, &p).unwrap();
        // Equivariance: reversing the points reverses the output, same log-det.
        let (z, ld) = c.forward(&x, ctxt.as_ref()).unwrap();
        let (zr, ldr) = c.forward(&reverse_points(&x, 3), ctxt.as_ref()).unwrap();
        let d = (reverse_points(&z, 3) - zr)
            .unwrap()
            .abs()
            .unwrap()
            .max_all()
            .unwrap()
            .to_scalar::<f64>()
            .unwrap();
        assert!(d < 1e-12, "equivariance error {d}");
        for (a, b) in vec1(&ld).iter().zip(vec1(&ldr)) {
            assert!((a - b).abs() < 1e-12);
        }
        // The summary couples the points: changing one point moves another's output.
        let mut rows = x.to_vec2::<f64>().unwrap();
        let ident = (0..3).find(|k| !transformed.contains(k)).unwrap();
        rows[0][ident] += 1.0; // point 0's identity coordinate
        let x2 = Tensor::from_vec(rows.concat(), (16, 12), &dev).unwrap();
        let z2 = c
            .forward(&x2, ctxt.as_ref())
            .unwrap()
            .0
            .to_vec2::<f64>()
            .unwrap();
        let t = transformed[0];
        assert_ne!(z2[0][3 + t], z.to_vec2::<f64>().unwrap()[0][3 + t]);
    }
}

#[test]
fn trained_set_flow_is_invariant_to_the_order_of_the_points() {
    // The spatial-digits architecture at a small size: a random point order, then
    // point-wise couplings over an i.i.d. base; trained briefly on clouds of 10 points.
    let (n, points) = (256, 10);
    let mut rng = rand::rngs::StdRng::seed_from_u64(9);
    let rows: Vec<f64> = (0..n * points)
        .flat_map(|_| {
            let t: f64 = rng.random::<f64>() * std::f64::consts::TAU;
            let r = 2.0 + 0.2 * rng.random::<f64>();
            [r * t.cos(), r * t.sin()]
        })
        .collect();
    let x = Tensor::from_vec(rows, (n, 2 * points), &device()).unwrap();
    let mut transforms = vec![TransformSpec::SetPermute {
        points,
        coords: 2,
        seed: 1,
    }];
    transforms.extend((0..4).map(|k| TransformSpec::SetCoupling {
        points,
        coords: 2,
        transformed: vec![1 - k % 2],
        hidden: 16,
        depth: 1,
    }));
    let f = flow(2 * points, 0, 2 * points, transforms);
    let before = mean(&vec1(&f.log_prob(&x, None).unwrap()));
    let cfg = TrainerConfig {
        epochs: 5,
        batch_size: 64,
        lr: 0.01,
        patience: None,
        seed: 1,
        ..Default::default()
    };
    flowinfer::train::fit_nll(&f, &x, None, &cfg).unwrap();
    let after = mean(&vec1(&f.log_prob(&x, None).unwrap()));
    assert!(
        after > before + 1.0,
        "training must move the model: {before} → {after}"
    );
    let lp = vec1(&f.log_prob(&x, None).unwrap());
    let lr = vec1(&f.log_prob(&reverse_points(&x, 2), None).unwrap());
    let worst = lp
        .iter()
        .zip(&lr)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    assert!(
        worst < 1e-5,
        "log p changes by {worst} when the points are reversed"
    );
    // Exchangeable after the random order: every permutation draw gives the same value,
    // so the importance-weighted estimate equals log_prob.
    let iw = vec1(&f.log_prob_iw(&x, None, 4).unwrap());
    let d = lp
        .iter()
        .zip(&iw)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    assert!(d < 1e-9, "log_prob_iw differs from log_prob by {d}");
}
