//! The shared property checks every transform must pass (used by the test suite and
//! by anyone adding a transform): log-determinant against a central-difference
//! Jacobian, round trip, shapes, and finite values and gradients on extreme inputs.

use crate::error::{Error, Result};
use crate::params::Params;
use crate::transforms::Transform;
use candle_core::{DType, Device, Tensor, Var};
use nalgebra::DMatrix;
use rand::SeedableRng;
use rand_distr::{Distribution, Normal};

/// Measured errors of one property check.
#[derive(Debug, Clone, Copy)]
pub struct PropertyReport {
    /// max over rows of |ld − ld_numeric| / max(1, |ld_numeric|) (forward direction).
    pub logdet_rel_err: f64,
    /// max |inverse(forward(x)) − x|.
    pub roundtrip_err: f64,
    /// max |ld_forward(x) + ld_inverse(forward(x))| (the two log-dets must cancel).
    pub inverse_logdet_err: f64,
}

fn to_rows(t: &Tensor) -> Result<Vec<Vec<f64>>> {
    Ok(t.to_dtype(DType::F64)?.to_vec2::<f64>()?)
}

fn shape_err(what: &str, expected: String, got: &Tensor) -> Error {
    Error::Shape {
        what: what.into(),
        expected,
        got: got.dims().to_vec(),
    }
}

/// The device tests run on: `FLOWINFER_TEST_DEVICE` (`cpu`, `cuda`, `cuda:N`), else the
/// CPU. One place, so the same property checks and end-to-end tests run on a GPU with
/// `FLOWINFER_TEST_DEVICE=cuda cargo test --features cuda`. Panics with the reason when
/// the variable names a device that cannot be opened (a test setup error).
pub fn test_device() -> Device {
    match std::env::var("FLOWINFER_TEST_DEVICE") {
        Ok(name) => crate::device::parse_device(&name)
            .unwrap_or_else(|e| panic!("FLOWINFER_TEST_DEVICE={name:?}: {e}")),
        Err(_) => Device::Cpu,
    }
}

/// Run the checks on `t` at the rows of `x` (f64 recommended) with an optional
/// context. Errors on shape violations; returns the measured errors.
pub fn check_transform(
    t: &dyn Transform,
    x: &Tensor,
    ctx: Option<&Tensor>,
) -> Result<PropertyReport> {
    let (b, d) = x.dims2()?;
    let (z, ld) = t.forward(x, ctx)?;
    if z.dims() != [b, t.output_dim()] {
        return Err(shape_err(
            "forward output",
            format!("({b}, {})", t.output_dim()),
            &z,
        ));
    }
    if ld.dims() != [b] {
        return Err(shape_err("forward log-det", format!("({b},)"), &ld));
    }
    let (xr, ld_inv) = t.inverse(&z, ctx)?;
    if xr.dims() != [b, d] {
        return Err(shape_err("inverse output", format!("({b}, {d})"), &xr));
    }
    if ld_inv.dims() != [b] {
        return Err(shape_err("inverse log-det", format!("({b},)"), &ld_inv));
    }
    let roundtrip_err = (&xr - x)?
        .abs()?
        .flatten_all()?
        .max(0)?
        .to_dtype(DType::F64)?
        .to_scalar::<f64>()?;
    let inverse_logdet_err = (&ld + &ld_inv)?
        .abs()?
        .max(0)?
        .to_dtype(DType::F64)?
        .to_scalar::<f64>()?;

    // Central differences, one column of every row's Jacobian per pair of passes
    // (rows are independent, so perturbing a whole column at once is exact).
    let h = 1e-6;
    let mut jac = vec![DMatrix::<f64>::zeros(d, d); b];
    for j in 0..d {
        let mut e = vec![0f64; d];
        e[j] = h;
        let e = Tensor::from_vec(e, (1, d), x.device())?.to_dtype(x.dtype())?;
        let zp = to_rows(&t.forward(&x.broadcast_add(&e)?, ctx)?.0)?;
        let zm = to_rows(&t.forward(&x.broadcast_sub(&e)?, ctx)?.0)?;
        for r in 0..b {
            for i in 0..d {
                jac[r][(i, j)] = (zp[r][i] - zm[r][i]) / (2.0 * h);
            }
        }
    }
    let ld_v = ld.to_dtype(DType::F64)?.to_vec1::<f64>()?;
    let mut logdet_rel_err: f64 = 0.0;
    for (r, m) in jac.into_iter().enumerate() {
        let det = m.lu().determinant();
        let num = det.abs().ln();
        let err = (ld_v[r] - num).abs() / num.abs().max(1.0);
        logdet_rel_err = logdet_rel_err.max(if err.is_nan() { f64::INFINITY } else { err });
    }
    Ok(PropertyReport {
        logdet_rel_err,
        roundtrip_err,
        inverse_logdet_err,
    })
}

/// Evaluate both directions at every value in `values` (each broadcast to a full batch
/// row) and check that outputs, log-dets and the gradients of their sum with respect to
/// the inputs and to every parameter in `params` are finite.
pub fn check_extremes(
    t: &dyn Transform,
    values: &[f64],
    ctx_dim: usize,
    params: &Params,
) -> Result<()> {
    let d = t.dim();
    let dev = params.device();
    let dt = params.dtype();
    let n = values.len();
    let rows: Vec<f64> = values
        .iter()
        .flat_map(|v| std::iter::repeat_n(*v, d))
        .collect();
    let x = Var::from_tensor(&Tensor::from_vec(rows, (n, d), dev)?.to_dtype(dt)?)?;
    // The inverse takes latent rows (`output_dim` wide: surjective layers differ).
    let dz = t.output_dim();
    let zrows: Vec<f64> = values
        .iter()
        .flat_map(|v| std::iter::repeat_n(*v, dz))
        .collect();
    let z = Var::from_tensor(&Tensor::from_vec(zrows, (n, dz), dev)?.to_dtype(dt)?)?;
    let ctx = if ctx_dim > 0 {
        Some(Tensor::ones((n, ctx_dim), dt, dev)?)
    } else {
        None
    };
    for (dir, inverse) in [("forward", false), ("inverse", true)] {
        let input = if inverse { &z } else { &x };
        let (y, ld) = if inverse {
            t.inverse(input.as_tensor(), ctx.as_ref())?
        } else {
            t.forward(input.as_tensor(), ctx.as_ref())?
        };
        let what = format!("{dir} at extreme inputs {values:?}");
        crate::checks::expect_finite(&y, &format!("{what}: output"))?;
        crate::checks::expect_finite(&ld.unsqueeze(1)?, &format!("{what}: log-det"))?;
        let loss = (y.sum_all()? + ld.sum_all()?)?;
        let grads = loss.backward()?;
        if let Some(g) = grads.get(input.as_tensor()) {
            crate::checks::expect_finite(g, &format!("{what}: input gradient"))?;
        }
        for v in params.all_vars() {
            if let Some(g) = grads.get(v.as_tensor()) {
                crate::checks::expect_finite(
                    &g.flatten_all()?.unsqueeze(0)?,
                    &format!("{what}: parameter gradient"),
                )?;
            }
        }
    }
    Ok(())
}

/// Add N(0, scale²) noise to every parameter, so that zero- or identity-initialised
/// layers are exercised away from their starting point.
pub fn perturb_params(params: &Params, scale: f64, seed: u64) -> Result<()> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let normal = Normal::new(0.0, scale).map_err(|e| Error::config(e.to_string()))?;
    for v in params.all_vars() {
        let n = v.elem_count();
        let noise: Vec<f64> = (0..n).map(|_| normal.sample(&mut rng)).collect();
        let noise = Tensor::from_vec(noise, v.shape(), v.device())?.to_dtype(v.dtype())?;
        v.set(&(v.as_tensor() + noise)?)?;
    }
    Ok(())
}
