//! Save and load: a loaded flow gives bit-identical log densities.

use crate::common::{device, gaussian};
use candle_core::DType;
use flowinfer::flow::{EmbeddingSpec, Flow, FlowBuilder, Mixing};
use flowinfer::testing::perturb_params;

/// Save, reload and compare spec and log densities bit for bit (also used by `embeddings`).
pub(crate) fn roundtrip(b: FlowBuilder, dtype: DType, ctx: Option<candle_core::Tensor>) {
    let flow = Flow::new(b.build_spec().unwrap(), dtype, &device(), 4).unwrap();
    let x = gaussian(64, b.dim, 1.0, 3).to_dtype(dtype).unwrap();
    let ctx = ctx.map(|c| c.to_dtype(dtype).unwrap());
    flow.initialize_from_data(&x, ctx.as_ref()).unwrap();
    perturb_params(flow.params(), 0.05, 1).unwrap();
    let dir = tempdir();
    flow.save(&dir).unwrap();
    let loaded = Flow::load(&dir, &device()).unwrap();
    assert_eq!(loaded.spec(), flow.spec());
    let a = flow
        .log_prob(&x, ctx.as_ref())
        .unwrap()
        .to_dtype(DType::F64)
        .unwrap()
        .to_vec1::<f64>()
        .unwrap();
    let b2 = loaded
        .log_prob(&x, ctx.as_ref())
        .unwrap()
        .to_dtype(DType::F64)
        .unwrap()
        .to_vec1::<f64>()
        .unwrap();
    for (u, v) in a.iter().zip(&b2) {
        assert_eq!(
            u.to_bits(),
            v.to_bits(),
            "log_prob differs after load: {u} vs {v}"
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}

fn tempdir() -> std::path::PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let d = std::env::temp_dir().join(format!(
        "flowinfer-io-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn saved_flows_reload_bit_identically() {
    let mut with_everything = FlowBuilder::realnvp(3)
        .blocks(3)
        .hidden(16)
        .mixing(Mixing::LuLinear);
    with_everything.flow.actnorm = true;
    with_everything.standardize = Some((vec![1.0, 2.0, 3.0], vec![0.5, 1.5, 2.0]));
    with_everything.trainable_base = true;
    roundtrip(with_everything, DType::F32, None);
    roundtrip(
        FlowBuilder::nsf(4)
            .blocks(2)
            .hidden(16)
            .mixing(Mixing::Orthonormal),
        DType::F32,
        None,
    );
    roundtrip(
        FlowBuilder::maf(3)
            .blocks(2)
            .hidden(16)
            .mixing(Mixing::RandomPermutation),
        DType::F64,
        None,
    );
    let mut cond = FlowBuilder::nsf(2).blocks(2).hidden(16).context(3);
    cond.embedding = Some(EmbeddingSpec::mlp(8, 1, 4));
    roundtrip(cond, DType::F32, Some(gaussian(64, 3, 1.0, 8)));
}

#[test]
fn loading_a_broken_model_fails_with_the_file_name() {
    let dir = tempdir();
    std::fs::write(dir.join("flow.json"), "{ not json").unwrap();
    let err = Flow::load(&dir, &device()).unwrap_err().to_string();
    assert!(err.contains("flow.json"), "{err}");
    let flow = Flow::new(
        FlowBuilder::realnvp(2)
            .blocks(1)
            .hidden(4)
            .build_spec()
            .unwrap(),
        DType::F32,
        &device(),
        0,
    )
    .unwrap();
    flow.save(&dir).unwrap();
    std::fs::write(dir.join("flow.safetensors"), b"garbage").unwrap();
    let err = Flow::load(&dir, &device()).unwrap_err().to_string();
    assert!(err.contains("flow.safetensors"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}
