//! Context embedding networks: shapes, deep-set permutation invariance, the 1-D CNN's
//! sensitivity to the series, width checks, save/load and gradients through a flow,
//! and the JSON/TOML spec format (including flows saved before the variants existed).

use crate::common::{device, gaussian, max_abs_diff};
use crate::flow_io::roundtrip;
use candle_core::{DType, Tensor};
use flowinfer::flow::{EmbeddingSpec, Flow, FlowBuilder};
use flowinfer::nn::{Activation, EmbeddingNetSpec, Pooling};
use flowinfer::params::Params;
use flowinfer::testing::perturb_params;
use flowinfer::Error;

/// A small CNN over 2 series of 24 steps: 24 → 12 (downsample) → 6 → 3.
fn small_conv() -> EmbeddingNetSpec {
    EmbeddingNetSpec::Conv1d {
        channels: 2,
        length: 24,
        downsample: Some(2),
        filters: 4,
        kernel: 3,
        layers: 2,
        pool: 2,
        pooling: Pooling::Max,
        hidden: 8,
        activation: Activation::Relu,
    }
}

fn small_deep_set() -> EmbeddingNetSpec {
    EmbeddingNetSpec::DeepSet {
        trial_dim: 2,
        hidden: 8,
        layers: 1,
        pooled_dim: 6,
        activation: Activation::Tanh,
    }
}

/// Every variant with the raw context width it is built for.
fn variants() -> Vec<(EmbeddingNetSpec, usize)> {
    vec![
        (EmbeddingNetSpec::mlp(8, 2), 5),
        (
            EmbeddingNetSpec::ResidualMlp {
                hidden: 8,
                blocks: 1,
                activation: Activation::Silu,
                zero_init_output: false,
            },
            5,
        ),
        (small_deep_set(), 10),
        (small_conv(), 48),
    ]
}

fn build(spec: &EmbeddingNetSpec, width: usize, out: usize) -> Box<dyn flowinfer::nn::Embedding> {
    let params = Params::new(DType::F64, &device(), 3);
    let net = spec.build(&params, width, out).unwrap();
    perturb_params(&params, 0.1, 4).unwrap();
    net
}

#[test]
fn every_variant_maps_batch_by_width_to_batch_by_out_dim() {
    for (spec, width) in variants() {
        let net = build(&spec, width, 3);
        assert_eq!((net.in_dim(), net.out_dim()), (width, 3));
        let y = net.forward(&gaussian(7, width, 1.0, 1)).unwrap();
        assert_eq!(y.dims(), &[7, 3], "{}", spec.type_name());
    }
    // Other CNN shapes: one channel, even kernel, average pooling, no pooling, odd remainders.
    for (channels, length, downsample, kernel, pool, pooling) in [
        (1, 30, None, 4, 2, Pooling::Avg),
        (3, 17, Some(1), 2, 1, Pooling::Max),
        (2, 250, None, 5, 3, Pooling::Avg),
    ] {
        let spec = EmbeddingNetSpec::Conv1d {
            channels,
            length,
            downsample,
            filters: 3,
            kernel,
            layers: 2,
            pool,
            pooling,
            hidden: 5,
            activation: Activation::Gelu,
        };
        let net = build(&spec, channels * length, 2);
        let y = net
            .forward(&gaussian(3, channels * length, 1.0, 2))
            .unwrap();
        assert_eq!(y.dims(), &[3, 2], "{spec:?}");
    }
    // f32 builds and runs too.
    let net = small_conv()
        .build(&Params::new(DType::F32, &device(), 0), 48, 2)
        .unwrap();
    let x = gaussian(2, 48, 1.0, 3).to_dtype(DType::F32).unwrap();
    assert_eq!(net.forward(&x).unwrap().dims(), &[2, 2]);
}

/// Reorder the trials of every row: trial `perm[i]` goes to position `i`.
fn permute_trials(x: &Tensor, trial_dim: usize, perm: &[usize]) -> Tensor {
    let idx: Vec<u32> = perm
        .iter()
        .flat_map(|&t| (0..trial_dim).map(move |j| (t * trial_dim + j) as u32))
        .collect();
    x.index_select(&Tensor::new(idx.as_slice(), x.device()).unwrap(), 1)
        .unwrap()
}

#[test]
fn deep_set_is_invariant_to_the_order_of_trials_only() {
    let net = build(&small_deep_set(), 10, 4);
    let x = gaussian(6, 10, 1.0, 5);
    let y = net.forward(&x).unwrap();
    for perm in [[4, 3, 2, 1, 0], [1, 0, 2, 3, 4], [2, 4, 1, 0, 3]] {
        let yp = net.forward(&permute_trials(&x, 2, &perm)).unwrap();
        assert!(max_abs_diff(&y, &yp) < 1e-6, "{perm:?}");
    }
    // Changing one value of one trial changes the embedding.
    let mut v = x.to_vec2::<f64>().unwrap();
    v[0][7] += 0.5;
    let x2 = Tensor::new(v, x.device()).unwrap();
    let y2 = net.forward(&x2).unwrap();
    let row0 = |t: &Tensor| t.narrow(0, 0, 1).unwrap();
    assert!(max_abs_diff(&row0(&y), &row0(&y2)) > 1e-6);
    // Swapping values *within* a trial is not a trial permutation: it changes the output.
    let swapped = permute_trials(&x.reshape((30, 2)).unwrap(), 1, &[1, 0])
        .reshape((6, 10))
        .unwrap();
    assert!(max_abs_diff(&y, &net.forward(&swapped).unwrap()) > 1e-6);
}

#[test]
fn conv1d_output_depends_on_the_series() {
    let net = build(&small_conv(), 48, 4);
    let x = gaussian(5, 48, 1.0, 6);
    let y = net.forward(&x).unwrap();
    // Different rows give different embeddings.
    let rows: Vec<Vec<f64>> = y.to_vec2().unwrap();
    for r in 1..rows.len() {
        let d: f64 = rows[0]
            .iter()
            .zip(&rows[r])
            .map(|(a, b)| (a - b).abs())
            .sum();
        assert!(d > 1e-6, "rows 0 and {r} embed identically");
    }
    // Perturbing late steps of the second channel alone changes the embedding.
    let mut v = x.to_vec2::<f64>().unwrap();
    v[0][40..48].iter_mut().for_each(|e| *e += 1.0);
    let y2 = net.forward(&Tensor::new(v, x.device()).unwrap()).unwrap();
    assert!(max_abs_diff(&y.narrow(0, 0, 1).unwrap(), &y2.narrow(0, 0, 1).unwrap()) > 1e-6);
}

#[test]
fn wrong_widths_are_rejected() {
    let params = Params::new(DType::F64, &device(), 0);
    let err = small_deep_set().build(&params, 25, 4).unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err}");
    assert!(
        err.to_string()
            .contains("deep_set embedding: context width 25 is not a multiple of trial_dim 2"),
        "{err}"
    );
    let err = small_conv().build(&params, 50, 4).unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err}");
    assert!(err.to_string().contains("context width 50"), "{err}");
    // A series too short for the pooling stages.
    let mut short = small_conv();
    if let EmbeddingNetSpec::Conv1d { layers, .. } = &mut short {
        *layers = 5;
    }
    let err = short.build(&params, 48, 4).unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err}");
    assert!(err.to_string().contains("no step left"), "{err}");
    // Zero sizes.
    for bad in [
        EmbeddingNetSpec::mlp(0, 1),
        EmbeddingNetSpec::deep_set(0),
        EmbeddingNetSpec::conv1d(2, 0),
    ] {
        assert!(
            matches!(bad.build(&params, 4, 2), Err(Error::Config(_))),
            "{bad:?}"
        );
    }
    // Forward with the wrong width or rank: a shape error, for every variant.
    for (spec, width) in variants() {
        let net = build(&spec, width, 3);
        for bad in [
            gaussian(2, width + 2, 1.0, 0),
            gaussian(2, width, 1.0, 0).reshape(2 * width).unwrap(),
        ] {
            let err = net.forward(&bad).unwrap_err();
            assert!(
                matches!(err, Error::Shape { .. }),
                "{}: {err}",
                spec.type_name()
            );
        }
    }
    // And through the flow spec: the builder reports the same error.
    let mut b = FlowBuilder::nsf(2).blocks(1).hidden(8).context(25);
    b.embedding = Some(EmbeddingSpec {
        net: small_deep_set(),
        out_dim: 4,
    });
    let err = b.build_spec().unwrap_err();
    assert!(
        err.to_string().contains("not a multiple of trial_dim 2"),
        "{err}"
    );
}

fn conditional(width: usize, net: EmbeddingNetSpec) -> FlowBuilder {
    let mut b = FlowBuilder::nsf(2).blocks(2).hidden(8).context(width);
    b.embedding = Some(EmbeddingSpec { net, out_dim: 4 });
    b
}

#[test]
fn conditional_flows_with_each_embedding_reload_bit_identically() {
    for (net, width) in variants() {
        roundtrip(
            conditional(width, net),
            DType::F32,
            Some(gaussian(64, width, 1.0, 8)),
        );
    }
}

#[test]
fn log_prob_gradients_reach_every_embedding_weight() {
    for (net, width) in variants() {
        let name = net.type_name();
        let flow = Flow::new(
            conditional(width, net).build_spec().unwrap(),
            DType::F64,
            &device(),
            2,
        )
        .unwrap();
        perturb_params(flow.params(), 0.1, 3).unwrap();
        let x = gaussian(32, 2, 1.0, 4);
        let ctx = gaussian(32, width, 1.0, 5);
        let loss = flow
            .log_prob(&x, Some(&ctx))
            .unwrap()
            .mean_all()
            .unwrap()
            .neg()
            .unwrap();
        let grads = loss.backward().unwrap();
        let vars = flow.params().varmap().data().lock().unwrap();
        let emb: Vec<_> = vars
            .iter()
            .filter(|(k, _)| k.starts_with("embedding."))
            .collect();
        assert!(
            emb.len() >= 4,
            "{name}: {:?}",
            vars.keys().collect::<Vec<_>>()
        );
        for (k, v) in emb {
            let g = grads
                .get(v.as_tensor())
                .unwrap_or_else(|| panic!("{name}: no gradient for {k}"));
            let norm = g
                .abs()
                .unwrap()
                .sum_all()
                .unwrap()
                .to_scalar::<f64>()
                .unwrap();
            assert!(
                norm > 0.0 && norm.is_finite(),
                "{name}: gradient of {k} is {norm}"
            );
        }
    }
}

#[test]
fn spec_format_old_mlp_json_new_variants_and_unknown_keys() {
    // The embedding of a flow saved before the embedding variants existed.
    let old = r#"{"net":{"type":"mlp","hidden":64,"layers":2,"activation":"relu","zero_init_output":false},"out_dim":8}"#;
    let e: EmbeddingSpec = serde_json::from_str(old).unwrap();
    assert_eq!(e, EmbeddingSpec::mlp(64, 2, 8));
    assert_eq!(serde_json::to_string(&e).unwrap(), old);
    // A residual MLP without the optional keys.
    let r: EmbeddingNetSpec =
        serde_json::from_str(r#"{"type":"residual_mlp","hidden":16,"blocks":2}"#).unwrap();
    assert!(matches!(
        r,
        EmbeddingNetSpec::ResidualMlp {
            hidden: 16,
            blocks: 2,
            ..
        }
    ));
    // Defaults of the new variants.
    let d: EmbeddingNetSpec = serde_json::from_str(r#"{"type":"deep_set","trial_dim":2}"#).unwrap();
    assert_eq!(d, EmbeddingNetSpec::deep_set(2));
    let c: EmbeddingNetSpec =
        serde_json::from_str(r#"{"type":"conv1d","channels":2,"length":1000}"#).unwrap();
    assert_eq!(c, EmbeddingNetSpec::conv1d(2, 1000));
    // Every variant round-trips through JSON and TOML.
    for (net, _) in variants() {
        let e = EmbeddingSpec { net, out_dim: 3 };
        let json = serde_json::to_string(&e).unwrap();
        assert_eq!(
            serde_json::from_str::<EmbeddingSpec>(&json).unwrap(),
            e,
            "{json}"
        );
        let toml_text = toml::to_string(&e).unwrap();
        assert_eq!(
            toml::from_str::<EmbeddingSpec>(&toml_text).unwrap(),
            e,
            "{toml_text}"
        );
    }
    let t: EmbeddingSpec = toml::from_str(
        "out_dim = 16\n[net]\ntype = \"conv1d\"\nchannels = 2\nlength = 1000\npooling = \"avg\"\n",
    )
    .unwrap();
    assert!(matches!(
        t.net,
        EmbeddingNetSpec::Conv1d {
            pooling: Pooling::Avg,
            downsample: None,
            ..
        }
    ));
    // As an NPE configuration's `[embedding]` table (docs/SPECS.md).
    let npe: flowinfer::sbi::SbiConfig = toml::from_str(
        "[embedding]\nout_dim = 8\n[embedding.net]\ntype = \"mlp\"\nhidden = 64\nlayers = 2\n",
    )
    .unwrap();
    assert_eq!(npe.embedding, Some(EmbeddingSpec::mlp(64, 2, 8)));
    let npe: flowinfer::sbi::SbiConfig =
        toml::from_str("embedding = { out_dim = 4, net = { type = \"deep_set\", trial_dim = 3 } }")
            .unwrap();
    assert_eq!(
        npe.embedding,
        Some(EmbeddingSpec {
            net: EmbeddingNetSpec::deep_set(3),
            out_dim: 4
        })
    );
    // Unknown keys are errors (misspelt settings must not be ignored).
    for bad in [
        r#"{"net":{"type":"deep_set","trial_dim":2,"pooled":4},"out_dim":3}"#,
        r#"{"net":{"type":"conv1d","channels":2,"length":10,"filter":4},"out_dim":3}"#,
        r#"{"net":{"type":"mlp","hidden":4,"layers":1},"out_dim":3,"extra":1}"#,
        r#"{"net":{"type":"transformer"},"out_dim":3}"#,
    ] {
        assert!(serde_json::from_str::<EmbeddingSpec>(bad).is_err(), "{bad}");
    }
}
