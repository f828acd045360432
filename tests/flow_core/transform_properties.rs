//! Every transform passes the shared property checks, with and without context.

use crate::common::{assert_properties, gaussian, uniform};
use flowinfer::nn::{Activation, ConditionerSpec};
use flowinfer::transforms::{ElementwiseSpec, Orthonormal, Permutation, TransformSpec};

const EXTREMES: [f64; 5] = [-1e4, 1e4, -3.0, 3.0, 0.0];

fn mlp() -> ConditionerSpec {
    ConditionerSpec::Mlp {
        hidden: 16,
        layers: 2,
        activation: Activation::Tanh,
        zero_init_output: false,
    }
}

fn residual() -> ConditionerSpec {
    ConditionerSpec::ResidualMlp {
        hidden: 16,
        blocks: 2,
        activation: Activation::Relu,
        zero_init_output: true,
    }
}

fn coupling(
    dim: usize,
    identity: Vec<usize>,
    map: ElementwiseSpec,
    c: ConditionerSpec,
) -> TransformSpec {
    TransformSpec::Coupling {
        dim,
        identity,
        map,
        conditioner: c,
    }
}

fn maf(dim: usize, order: Vec<usize>, map: ElementwiseSpec, c: ConditionerSpec) -> TransformSpec {
    TransformSpec::MaskedAutoregressive {
        dim,
        order,
        map,
        conditioner: c,
    }
}

/// Conditioned layers, each checked without context and with a 3-wide context.
#[test]
fn conditioned_transforms_pass_property_checks() {
    let x = gaussian(24, 5, 1.5, 1);
    let spline = ElementwiseSpec::spline(6, 3.0);
    let cases = [
        (
            "affine coupling (prefix split)",
            coupling(5, vec![0, 1], ElementwiseSpec::affine(), mlp()),
        ),
        (
            "affine coupling (suffix split)",
            coupling(
                5,
                vec![3, 4],
                ElementwiseSpec::Affine { scale_bound: 2.5 },
                mlp(),
            ),
        ),
        (
            "spline coupling (gather split)",
            coupling(5, vec![0, 2, 4], spline.clone(), mlp()),
        ),
        (
            "spline coupling (residual net)",
            coupling(5, vec![0, 1], spline.clone(), residual()),
        ),
        (
            "MAF affine",
            maf(5, vec![0, 1, 2, 3, 4], ElementwiseSpec::affine(), mlp()),
        ),
        (
            "MAF spline (shuffled order)",
            maf(5, vec![3, 0, 4, 1, 2], spline.clone(), mlp()),
        ),
        (
            "MAF affine (residual MADE)",
            maf(
                5,
                vec![4, 3, 2, 1, 0],
                ElementwiseSpec::affine(),
                residual(),
            ),
        ),
        (
            "inverted MAF (IAF)",
            TransformSpec::Inverted {
                inner: Box::new(maf(5, vec![0, 1, 2, 3, 4], spline, mlp())),
            },
        ),
    ];
    for (name, spec) in &cases {
        for ctx in [0, 3] {
            assert_properties(name, spec, ctx, &x, &EXTREMES);
        }
    }
}

/// Layers without a conditioner.
#[test]
fn fixed_and_linear_transforms_pass_property_checks() {
    let x = gaussian(20, 4, 2.0, 2);
    let cases = [
        (
            "reverse permutation",
            TransformSpec::Permutation {
                perm: Permutation::reverse_order(4),
            },
        ),
        (
            "random permutation",
            TransformSpec::Permutation {
                perm: Permutation::random_order(4, 5),
            },
        ),
        (
            "orthonormal",
            TransformSpec::Orthonormal {
                dim: 4,
                matrix: Orthonormal::random_matrix(4, 5),
            },
        ),
        ("LU linear", TransformSpec::LuLinear { dim: 4 }),
        (
            "ActNorm",
            TransformSpec::ActNorm {
                dim: 4,
                initialized: false,
            },
        ),
        (
            "standardize",
            TransformSpec::Standardize {
                mean: vec![1.0, -2.0, 0.5, 0.0],
                std: vec![0.5, 2.0, 1.0, 3.0],
            },
        ),
        ("sigmoid", TransformSpec::Sigmoid { dim: 4 }),
    ];
    for (name, spec) in &cases {
        assert_properties(name, spec, 0, &x, &EXTREMES);
    }
}

#[test]
fn logit_passes_property_checks_inside_its_box() {
    let low = vec![-1.0, 0.0, 2.0];
    let high = vec![1.0, 5.0, 2.5];
    let u = uniform(20, 3, 0.02, 0.98, 3);
    let lo = candle_core::Tensor::new(low.as_slice(), u.device()).unwrap();
    let w = candle_core::Tensor::new(&[2.0f64, 5.0, 0.5], u.device()).unwrap();
    let x = u.broadcast_mul(&w).unwrap().broadcast_add(&lo).unwrap();
    let spec = TransformSpec::Logit { low, high };
    assert_properties("logit", &spec, 0, &x, &[-1e4, 1e4, -1.0, 0.0, 2.5]);
}

#[test]
fn spline_is_exact_at_its_bounds_and_identity_outside() {
    use candle_core::{DType, Tensor};
    use flowinfer::params::Params;
    let params = Params::new(DType::F64, &crate::common::device(), 1);
    flowinfer::testing::perturb_params(&params, 0.5, 1).unwrap();
    let spec = coupling(2, vec![0], ElementwiseSpec::spline(8, 3.0), mlp());
    let t = spec.build(&params, 0).unwrap();
    flowinfer::testing::perturb_params(&params, 0.5, 2).unwrap();
    let x = Tensor::new(
        &[[0.3f64, -3.0], [0.3, 3.0], [0.1, 7.5], [-0.2, -1e4]],
        &crate::common::device(),
    )
    .unwrap();
    let (z, ld) = t.forward(&x, None).unwrap();
    let z = z.to_vec2::<f64>().unwrap();
    let ld = ld.to_vec1::<f64>().unwrap();
    for (r, want) in [(0, -3.0), (1, 3.0), (2, 7.5), (3, -1e4)] {
        assert!(
            (z[r][1] - want).abs() < 1e-12,
            "row {r}: {} vs {want}",
            z[r][1]
        );
    }
    assert_eq!(ld[2], 0.0);
    assert_eq!(ld[3], 0.0);
}

#[test]
fn made_masks_are_autoregressive() {
    // Perturbing feature order[k] must leave the outputs for order[0..=k] unchanged.
    use candle_core::DType;
    use flowinfer::params::Params;
    let order = vec![2, 0, 3, 1];
    let params = Params::new(DType::F64, &crate::common::device(), 4);
    let t = maf(4, order.clone(), ElementwiseSpec::affine(), mlp())
        .build(&params, 0)
        .unwrap();
    flowinfer::testing::perturb_params(&params, 0.3, 4).unwrap();
    let x = gaussian(3, 4, 1.0, 9);
    let z0 = t.forward(&x, None).unwrap().0.to_vec2::<f64>().unwrap();
    for (k, &feat) in order.iter().enumerate() {
        let mut e = vec![0f64; 4];
        e[feat] = 0.5;
        let e = candle_core::Tensor::from_vec(e, (1, 4), x.device()).unwrap();
        let z1 = t
            .forward(&x.broadcast_add(&e).unwrap(), None)
            .unwrap()
            .0
            .to_vec2::<f64>()
            .unwrap();
        for r in 0..3 {
            for &earlier in &order[..k] {
                assert_eq!(
                    z0[r][earlier], z1[r][earlier],
                    "feature {earlier} depends on later feature {feat}"
                );
            }
            assert_ne!(
                z0[r][feat], z1[r][feat],
                "feature {feat} must change with itself"
            );
        }
    }
}

/// The fused CPU spline kernel and the composite tensor-op spline (the path used on
/// other devices) agree in values, log-dets and gradients, in both directions.
#[test]
fn fused_spline_kernel_matches_composite_implementation() {
    use candle_core::{DType, Tensor, Var};
    use flowinfer::transforms::{ElementwiseMap, RationalQuadraticSpline};
    let k = 7;
    let fused = RationalQuadraticSpline::new(k, 2.5, 1e-3, 1e-3, 1e-3).unwrap();
    let composite = fused.clone().with_fused(false);
    let (n, d) = (40, 3);
    let x = Var::from_tensor(&gaussian(n, d, 1.6, 5)).unwrap();
    let p = Var::from_tensor(
        &gaussian(n * d, 3 * k - 1, 1.2, 6)
            .reshape((n, d, 3 * k - 1))
            .unwrap(),
    )
    .unwrap();
    let w = gaussian(n, d, 1.0, 7);
    let wl = gaussian(n, 1, 1.0, 8).squeeze(1).unwrap();
    for inverse in [false, true] {
        let run = |m: &RationalQuadraticSpline| -> (Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>) {
            let (y, ld) = if inverse {
                m.inverse(x.as_tensor(), p.as_tensor())
            } else {
                m.forward(x.as_tensor(), p.as_tensor())
            }
            .unwrap();
            let loss = ((y.clone() * &w).unwrap().sum_all().unwrap()
                + (ld.clone() * &wl).unwrap().sum_all().unwrap())
            .unwrap();
            let g = loss.backward().unwrap();
            let flat = |t: &Tensor| {
                t.flatten_all()
                    .unwrap()
                    .to_dtype(DType::F64)
                    .unwrap()
                    .to_vec1::<f64>()
                    .unwrap()
            };
            (
                flat(&y),
                flat(&ld),
                flat(g.get(x.as_tensor()).unwrap()),
                flat(g.get(p.as_tensor()).unwrap()),
            )
        };
        let a = run(&fused);
        let b = run(&composite);
        for (what, u, v) in [
            ("output", &a.0, &b.0),
            ("log-det", &a.1, &b.1),
            ("input grad", &a.2, &b.2),
            ("param grad", &a.3, &b.3),
        ] {
            let err = u
                .iter()
                .zip(v)
                .map(|(s, t)| (s - t).abs() / t.abs().max(1.0))
                .fold(0.0, f64::max);
            assert!(err < 1e-9, "inverse={inverse}: {what} differs by {err}");
        }
    }
}
