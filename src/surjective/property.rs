//! The property checks of a surjective layer (the counterpart of
//! [`crate::testing::check_transform`], whose Jacobian check does not apply to layers
//! that change dimension or forget information): shapes in both directions, the round
//! trip in the deterministic direction, contributions that cancel along it, and
//! reproducible draws.

use crate::error::{Error, Result};
use crate::transforms::{Contribution, Transform};
use candle_core::{DType, Tensor};

/// Measured errors of [`check_surjection`].
#[derive(Debug, Clone, Copy)]
pub struct SurjectionReport {
    /// max |round trip − start| in the deterministic direction: `inverse(forward(x))`
    /// for bound layers (forward draws), `forward(inverse(z))` for exact ones.
    pub roundtrip_err: f64,
    /// max |contribution there + contribution back| (they must cancel).
    pub contribution_err: f64,
    /// max |difference| between two calls on the same batch (must be 0: draws are
    /// seeded by the batch).
    pub repeat_err: f64,
}

fn max_abs(t: &Tensor) -> Result<f64> {
    Ok(t.abs()?
        .flatten_all()?
        .max(0)?
        .to_dtype(DType::F64)?
        .to_scalar::<f64>()?)
}

fn expect_dims(t: &Tensor, dims: &[usize], what: &str) -> Result<()> {
    if t.dims() != dims {
        return Err(Error::Shape {
            what: what.into(),
            expected: format!("{dims:?}"),
            got: t.dims().to_vec(),
        });
    }
    Ok(())
}

/// Check `t` on data rows `x` `(b, dim)` and latent rows `z` `(b, output_dim)` (for
/// an exact layer `z` must lie in the image of `forward`, e.g. non-negative for
/// [`crate::surjective::Abs`]). Errors on shape violations; returns the errors.
///
/// ```
/// use flowinfer::surjective::{check_surjection, Sort};
/// use candle_core::{Device, Tensor};
/// let s = Sort::new(3, 0)?;
/// let x = Tensor::new(&[[0.3f64, -1.0, 2.0]], &Device::Cpu)?;
/// let z = Tensor::new(&[[-1.0f64, 0.5, 4.0]], &Device::Cpu)?;
/// let r = check_surjection(&s, &x, &z, None)?;
/// assert_eq!(r.roundtrip_err, 0.0);
/// assert!(r.contribution_err < 1e-12);
/// # Ok::<(), flowinfer::Error>(())
/// ```
pub fn check_surjection(
    t: &dyn Transform,
    x: &Tensor,
    z: &Tensor,
    ctx: Option<&Tensor>,
) -> Result<SurjectionReport> {
    let b = x.dim(0)?;
    let (fz, fl) = t.forward(x, ctx)?;
    expect_dims(&fz, &[b, t.output_dim()], "forward output")?;
    expect_dims(&fl, &[b], "forward contribution")?;
    let bz = z.dim(0)?;
    let (ix, il) = t.inverse(z, ctx)?;
    expect_dims(&ix, &[bz, t.dim()], "inverse output")?;
    expect_dims(&il, &[bz], "inverse contribution")?;
    let (roundtrip_err, contribution_err) = if t.likelihood() == Contribution::Bound {
        let (back, bl) = t.inverse(&fz, ctx)?;
        (max_abs(&(back - x)?)?, max_abs(&(&fl + bl)?)?)
    } else {
        let (again, al) = t.forward(&ix, ctx)?;
        (max_abs(&(again - z)?)?, max_abs(&(&il + al)?)?)
    };
    let (fz2, fl2) = t.forward(x, ctx)?;
    let (ix2, il2) = t.inverse(z, ctx)?;
    let repeat_err = max_abs(&(fz2 - &fz)?)?
        .max(max_abs(&(fl2 - &fl)?)?)
        .max(max_abs(&(ix2 - &ix)?)?)
        .max(max_abs(&(il2 - &il)?)?);
    Ok(SurjectionReport {
        roundtrip_err,
        contribution_err,
        repeat_err,
    })
}
