//! Input validation shared by the public entry points: shapes, finiteness, contexts.

use crate::error::{Error, Result};
use candle_core::{DType, Tensor};

/// Check that `t` has shape `(batch, dim)`; returns the batch size.
pub fn expect_matrix(t: &Tensor, dim: usize, what: &str) -> Result<usize> {
    match t.dims() {
        [b, d] if *d == dim => Ok(*b),
        got => Err(Error::Shape {
            what: what.to_string(),
            expected: format!("(batch, {dim})"),
            got: got.to_vec(),
        }),
    }
}

/// Check that every value of `t` is finite. Costs one reduction and one scalar copy;
/// only when a non-finite value exists is the tensor copied to find its position.
pub fn expect_finite(t: &Tensor, what: &str) -> Result<()> {
    // x - x is 0 for every finite x and NaN for NaN or ±Inf, so the sum is NaN iff
    // some entry is non-finite.
    let probe = t
        .sub(t)?
        .sum_all()?
        .to_dtype(DType::F64)?
        .to_scalar::<f64>()?;
    if probe.is_finite() {
        return Ok(());
    }
    let cols = if t.rank() >= 2 {
        t.dim(t.rank() - 1)?
    } else {
        1
    };
    let flat = t.flatten_all()?.to_dtype(DType::F64)?.to_vec1::<f64>()?;
    let idx = flat.iter().position(|v| !v.is_finite()).unwrap_or(0);
    Err(Error::NonFinite {
        what: what.to_string(),
        row: idx / cols.max(1),
        column: idx % cols.max(1),
    })
}

/// Check a context argument against what a component expects: `expected == 0` means
/// "takes no context". Returns an error naming `what` on any mismatch.
pub fn expect_context(
    ctx: Option<&Tensor>,
    expected: usize,
    batch: usize,
    what: &str,
) -> Result<()> {
    match (ctx, expected) {
        (None, 0) => Ok(()),
        (Some(c), 0) => Err(Error::Context {
            what: what.to_string(),
            message: format!(
                "it takes no context, but one of shape {:?} was given",
                c.dims()
            ),
        }),
        (None, e) => Err(Error::Context {
            what: what.to_string(),
            message: format!("a context of shape (batch, {e}) is required, none was given"),
        }),
        (Some(c), e) => match c.dims() {
            [b, d] if *d == e && *b == batch => Ok(()),
            got => Err(Error::Context {
                what: what.to_string(),
                message: format!("expected shape ({batch}, {e}), got {got:?}"),
            }),
        },
    }
}
