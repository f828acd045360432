//! Densities of 2-D flows integrate to one (grid quadrature over a box).

use crate::common::device;
use candle_core::{DType, Tensor};
use flowinfer::flow::{Flow, FlowBuilder, Mixing};
use flowinfer::testing::perturb_params;

/// Midpoint rule on [-l, l]² with `n`² cells.
fn grid_integral(flow: &Flow, l: f64, n: usize) -> f64 {
    let h = 2.0 * l / n as f64;
    let mut pts = Vec::with_capacity(n * n * 2);
    for i in 0..n {
        for j in 0..n {
            pts.push(-l + (i as f64 + 0.5) * h);
            pts.push(-l + (j as f64 + 0.5) * h);
        }
    }
    let x = Tensor::from_vec(pts, (n * n, 2), &device()).unwrap();
    let lp = flow.log_prob(&x, None).unwrap();
    lp.exp()
        .unwrap()
        .sum_all()
        .unwrap()
        .to_scalar::<f64>()
        .unwrap()
        * h
        * h
}

#[test]
fn random_2d_flows_integrate_to_one() {
    let builders = [
        ("RealNVP", FlowBuilder::realnvp(2).blocks(4).hidden(16)),
        (
            "NSF",
            FlowBuilder::nsf(2).blocks(3).hidden(16).spline(6, 4.0),
        ),
        ("MAF", FlowBuilder::maf(2).blocks(3).hidden(16)),
        (
            "RealNVP+LU",
            FlowBuilder::realnvp(2)
                .blocks(3)
                .hidden(16)
                .mixing(Mixing::LuLinear),
        ),
    ];
    for (name, b) in builders {
        let flow = Flow::new(b.seed(3).build_spec().unwrap(), DType::F64, &device(), 11).unwrap();
        perturb_params(flow.params(), 0.1, 5).unwrap();
        let total = grid_integral(&flow, 12.0, 600);
        assert!(
            (total - 1.0).abs() < 0.01,
            "{name}: density integrates to {total}"
        );
    }
}

#[test]
fn uniform_base_spline_flow_integrates_to_one_on_its_box() {
    use flowinfer::distributions::BaseSpec;
    use flowinfer::flow::FlowSpec;
    use flowinfer::nn::ConditionerSpec;
    use flowinfer::transforms::{ElementwiseSpec, TransformSpec};
    // Data in (-1, 1)²: logit to ℝ², a spline coupling, sigmoid back to (0, 1)², uniform base.
    let spec = FlowSpec {
        dim: 2,
        context_dim: 0,
        embedding: None,
        base: BaseSpec::UniformBox {
            low: vec![0.0, 0.0],
            high: vec![1.0, 1.0],
        },
        transforms: vec![
            TransformSpec::Logit {
                low: vec![-1.0, -1.0],
                high: vec![1.0, 1.0],
            },
            TransformSpec::Coupling {
                dim: 2,
                identity: vec![1],
                map: ElementwiseSpec::spline(5, 4.0),
                conditioner: ConditionerSpec::mlp(8, 1),
            },
            TransformSpec::Sigmoid { dim: 2 },
        ],
    };
    let flow = Flow::new(spec, DType::F64, &device(), 2).unwrap();
    perturb_params(flow.params(), 0.3, 1).unwrap();
    let total = grid_integral(&flow, 1.0, 500);
    assert!((total - 1.0).abs() < 0.01, "integrates to {total}");
}
