//! Sampling: shapes, per-row context sampling, agreement of `sample_and_log_prob`
//! with `log_prob`, and seeding.

use crate::common::{device, gaussian, max_abs_diff};
use candle_core::DType;
use flowinfer::flow::{EmbeddingSpec, Flow, FlowBuilder};
use flowinfer::testing::perturb_params;
use rand::SeedableRng;

#[test]
fn sample_and_log_prob_agrees_with_log_prob() {
    for b in [
        FlowBuilder::realnvp(3).blocks(3).hidden(16),
        FlowBuilder::nsf(3).blocks(2).hidden(16),
        FlowBuilder::maf(3).blocks(2).hidden(16),
    ] {
        let flow = Flow::new(b.build_spec().unwrap(), DType::F64, &device(), 1).unwrap();
        perturb_params(flow.params(), 0.1, 2).unwrap();
        let mut rng = rand::rngs::StdRng::seed_from_u64(0);
        let (x, lp) = flow.sample_and_log_prob(500, None, &mut rng).unwrap();
        assert_eq!(x.dims(), &[500, 3]);
        assert_eq!(lp.dims(), &[500]);
        let lp2 = flow.log_prob(&x, None).unwrap();
        assert!(max_abs_diff(&lp, &lp2) < 1e-9, "{:?}", b.flow.kind);
    }
}

#[test]
fn conditional_flow_samples_per_context_row() {
    let b = FlowBuilder::nsf(2).blocks(2).hidden(16).context(3);
    let mut b = b;
    b.embedding = Some(EmbeddingSpec::mlp(16, 1, 4));
    let flow = Flow::new(b.build_spec().unwrap(), DType::F64, &device(), 1).unwrap();
    perturb_params(flow.params(), 0.2, 2).unwrap();
    let ctx = gaussian(4, 3, 1.0, 5);
    let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    let (x, lp) = flow.sample_and_log_prob(50, Some(&ctx), &mut rng).unwrap();
    assert_eq!(x.dims(), &[200, 2]);
    // Row r of the result belongs to context row r / 50.
    let idx: Vec<u32> = (0..200u32).map(|r| r / 50).collect();
    let rep = ctx
        .index_select(
            &candle_core::Tensor::new(idx.as_slice(), ctx.device()).unwrap(),
            0,
        )
        .unwrap();
    let lp2 = flow.log_prob(&x, Some(&rep)).unwrap();
    assert!(max_abs_diff(&lp, &lp2) < 1e-9);
    // The context matters: the same points under a shuffled context have other densities.
    let other = flow.log_prob(&x, Some(&rep.neg().unwrap())).unwrap();
    assert!(max_abs_diff(&lp, &other) > 1e-3);
}

#[test]
fn same_seed_same_samples() {
    let spec = FlowBuilder::realnvp(2)
        .blocks(2)
        .hidden(8)
        .build_spec()
        .unwrap();
    let f1 = Flow::new(spec.clone(), DType::F32, &device(), 5).unwrap();
    let f2 = Flow::new(spec, DType::F32, &device(), 5).unwrap();
    let s1 = f1
        .sample(100, None, &mut rand::rngs::StdRng::seed_from_u64(9))
        .unwrap();
    let s2 = f2
        .sample(100, None, &mut rand::rngs::StdRng::seed_from_u64(9))
        .unwrap();
    assert_eq!(max_abs_diff(&s1, &s2), 0.0);
    let s3 = f2
        .sample(100, None, &mut rand::rngs::StdRng::seed_from_u64(10))
        .unwrap();
    assert!(max_abs_diff(&s1, &s3) > 0.0);
}
