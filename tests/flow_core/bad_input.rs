//! Bad input gives an error value with a message, never a panic.

use crate::common::{device, gaussian};
use candle_core::{DType, Tensor};
use flowinfer::flow::{Flow, FlowBuilder};
use rand::SeedableRng;

fn flow(ctx: usize) -> Flow {
    let b = FlowBuilder::realnvp(2).blocks(2).hidden(8).context(ctx);
    Flow::new(b.build_spec().unwrap(), DType::F64, &device(), 0).unwrap()
}

#[test]
fn wrong_dimension_is_an_error() {
    let err = flow(0)
        .log_prob(&gaussian(5, 3, 1.0, 0), None)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("(batch, 2)") && err.contains("[5, 3]"),
        "{err}"
    );
    let err = flow(0)
        .log_prob(&Tensor::zeros(4, DType::F64, &device()).unwrap(), None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("expected shape"), "{err}");
}

#[test]
fn nan_and_inf_are_reported_with_their_position() {
    let x = Tensor::new(&[[0.0f64, 1.0], [2.0, f64::NAN], [0.0, 0.0]], &device()).unwrap();
    let err = flow(0).log_prob(&x, None).unwrap_err().to_string();
    assert!(err.contains("row 1, column 1"), "{err}");
    let x = Tensor::new(&[[f64::INFINITY, 1.0]], &device()).unwrap();
    let err = flow(0).log_prob(&x, None).unwrap_err().to_string();
    assert!(err.contains("row 0, column 0"), "{err}");
}

#[test]
fn context_mismatches_are_errors() {
    let x = gaussian(5, 2, 1.0, 0);
    // A context given to an unconditional flow.
    assert!(flow(0).log_prob(&x, Some(&gaussian(5, 3, 1.0, 1))).is_err());
    // Missing, wrong width, wrong batch.
    let f = flow(3);
    let e = f.log_prob(&x, None).unwrap_err().to_string();
    assert!(e.contains("required"), "{e}");
    let e = f
        .log_prob(&x, Some(&gaussian(5, 2, 1.0, 1)))
        .unwrap_err()
        .to_string();
    assert!(e.contains("(5, 3)"), "{e}");
    assert!(f.log_prob(&x, Some(&gaussian(4, 3, 1.0, 1))).is_err());
    let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    assert!(f.sample(3, None, &mut rng).is_err());
    // A transform that takes no context rejects one.
    let p = flowinfer::params::Params::new(DType::F64, &device(), 0);
    let t = flowinfer::transforms::TransformSpec::Permutation { perm: vec![1, 0] }
        .build(&p, 0)
        .unwrap();
    assert!(t.forward(&x, Some(&gaussian(5, 1, 1.0, 2))).is_err());
}

#[test]
fn wrong_dtype_and_bad_specs_are_errors() {
    let x = gaussian(5, 2, 1.0, 0).to_dtype(DType::F32).unwrap();
    assert!(flow(0)
        .log_prob(&x, None)
        .unwrap_err()
        .to_string()
        .contains("dtype"));
    assert!(FlowBuilder::realnvp(1).build_spec().is_err());
    assert!(FlowBuilder::realnvp(2).blocks(0).build_spec().is_err());
    let e = flowinfer::transforms::TransformSpec::Permutation { perm: vec![0, 0] }
        .build(&flowinfer::params::Params::new(DType::F32, &device(), 0), 0)
        .unwrap_err()
        .to_string();
    assert!(e.contains("not a permutation"), "{e}");
}

#[test]
fn zero_samples_and_too_many_bins_are_errors() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    assert!(flow(0)
        .sample(0, None, &mut rng)
        .unwrap_err()
        .to_string()
        .contains("at least 1"));
    let spec = FlowBuilder::nsf(2).spline(65, 3.0).build_spec().unwrap();
    let err = Flow::new(spec, DType::F32, &device(), 0)
        .unwrap_err()
        .to_string();
    assert!(err.contains("64 bins"), "{err}");
}
