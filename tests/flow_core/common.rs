//! Helpers shared by the flow-core tests.

use candle_core::{DType, Device, Tensor};
use flowinfer::params::Params;
use flowinfer::testing::{check_extremes, check_transform, perturb_params};
use flowinfer::transforms::{Transform, TransformSpec};
use rand::SeedableRng;
use rand_distr::{Distribution, Normal};

/// The device every test runs on (one place, so the same tests can run on CUDA).
pub fn device() -> Device {
    flowinfer::testing::test_device()
}

/// `(n, d)` Gaussian matrix with standard deviation `sd`, f64.
pub fn gaussian(n: usize, d: usize, sd: f64, seed: u64) -> Tensor {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let nd = Normal::new(0.0, sd).unwrap();
    let v: Vec<f64> = (0..n * d).map(|_| nd.sample(&mut rng)).collect();
    Tensor::from_vec(v, (n, d), &device()).unwrap()
}

/// `(n, d)` uniform matrix on `(lo, hi)`, f64.
pub fn uniform(n: usize, d: usize, lo: f64, hi: f64, seed: u64) -> Tensor {
    use rand::Rng;
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let v: Vec<f64> = (0..n * d).map(|_| rng.random_range(lo..hi)).collect();
    Tensor::from_vec(v, (n, d), &device()).unwrap()
}

/// Build `spec` in f64 with context width `ctx`, perturb its parameters, and run the
/// shared property checks at `x` (and `extremes`). Panics with a message on failure.
pub fn assert_properties(
    name: &str,
    spec: &TransformSpec,
    ctx: usize,
    x: &Tensor,
    extremes: &[f64],
) {
    let params = Params::new(DType::F64, &device(), 7);
    let t: Box<dyn Transform> = spec.build(&params, ctx).expect("build");
    let c = if ctx > 0 {
        Some(gaussian(x.dim(0).unwrap(), ctx, 1.0, 99))
    } else {
        None
    };
    t.initialize_from_data(x, c.as_ref()).unwrap();
    perturb_params(&params, 0.1, 3).unwrap();
    let r = check_transform(t.as_ref(), x, c.as_ref())
        .unwrap_or_else(|e| panic!("{name} (ctx {ctx}): property check failed: {e}"));
    assert!(
        r.logdet_rel_err <= 1e-6,
        "{name} (ctx {ctx}): log-det vs numerical Jacobian: {r:?}"
    );
    assert!(
        r.roundtrip_err <= 1e-6,
        "{name} (ctx {ctx}): round trip: {r:?}"
    );
    assert!(
        r.inverse_logdet_err <= 1e-6,
        "{name} (ctx {ctx}): inverse log-det: {r:?}"
    );
    check_extremes(t.as_ref(), extremes, ctx, &params)
        .unwrap_or_else(|e| panic!("{name} (ctx {ctx}): extreme inputs: {e}"));
    // Also in f32: the same spec builds and round-trips at a looser tolerance.
    let p32 = Params::new(DType::F32, &device(), 7);
    let t32 = spec.build(&p32, ctx).unwrap();
    let x32 = x.to_dtype(DType::F32).unwrap();
    let c32 = c.map(|c| c.to_dtype(DType::F32).unwrap());
    t32.initialize_from_data(&x32, c32.as_ref()).unwrap();
    let (z, _) = t32.forward(&x32, c32.as_ref()).unwrap();
    let (xr, _) = t32.inverse(&z, c32.as_ref()).unwrap();
    let err = max_abs_diff(&xr, &x32);
    assert!(err < 1e-3, "{name} (ctx {ctx}): f32 round trip error {err}");
}

/// max |a − b| over all entries, as f64.
pub fn max_abs_diff(a: &Tensor, b: &Tensor) -> f64 {
    (a - b)
        .and_then(|d| {
            d.abs()?
                .flatten_all()?
                .max(0)?
                .to_dtype(DType::F64)?
                .to_scalar::<f64>()
        })
        .unwrap()
}
