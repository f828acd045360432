//! Reshape (a structure helper): declares that rows of shape `from` are read as rows of
//! shape `to` (both row-major, same number of values). Flows pass rows flattened, so the
//! values do not move: an exact bijection (the identity on the flattened row) with
//! contribution 0. Its use is the check: a row of the wrong width, or a `to` shape
//! that does not hold the same number of values, is refused with both sizes named,
//! before a structured layer (axis permutation, max pooling, set layers) reads it
//! with the wrong shape.

use crate::error::{Error, Result};
use crate::surjective::expect_width;
use crate::transforms::{zero_logdet, Transform, TransformSpec};
use candle_core::Tensor;

/// Rows of shape `from` read as shape `to`.
///
/// ```
/// use flowinfer::surjective::Reshape;
/// use flowinfer::transforms::Transform;
/// use candle_core::{Device, Tensor};
/// let r = Reshape::new(vec![2, 3], vec![3, 2])?;
/// let x = Tensor::new(&[[1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0]], &Device::Cpu)?;
/// assert_eq!(r.forward(&x, None)?.0.to_vec2::<f64>()?, x.to_vec2::<f64>()?);
/// let e = Reshape::new(vec![2, 3], vec![4, 2]).unwrap_err().to_string();
/// assert!(e.contains("6 values") && e.contains("8 values"));
/// # Ok::<(), flowinfer::Error>(())
/// ```
#[derive(Debug)]
pub struct Reshape {
    from: Vec<usize>,
    to: Vec<usize>,
}

impl Reshape {
    /// `from` and `to` must be non-empty, have no zero size, and hold the same number
    /// of values; a configuration error naming both sizes otherwise.
    pub fn new(from: Vec<usize>, to: Vec<usize>) -> Result<Self> {
        for (name, s) in [("input", &from), ("output", &to)] {
            if s.is_empty() || s.contains(&0) {
                return Err(Error::config(format!(
                    "reshape layer: the {name} shape {s:?} needs at least one axis and no \
                     empty axis"
                )));
            }
        }
        let (a, b) = (from.iter().product::<usize>(), to.iter().product::<usize>());
        if a != b {
            return Err(Error::config(format!(
                "reshape layer: shape {from:?} ({a} values) cannot be read as shape {to:?} \
                 ({b} values)"
            )));
        }
        Ok(Self { from, to })
    }

    /// The input row shape.
    pub fn from_shape(&self) -> &[usize] {
        &self.from
    }

    /// The output row shape.
    pub fn to_shape(&self) -> &[usize] {
        &self.to
    }
}

impl Transform for Reshape {
    fn dim(&self) -> usize {
        self.from.iter().product()
    }
    fn forward(&self, x: &Tensor, ctx: Option<&Tensor>) -> Result<(Tensor, Tensor)> {
        let what = format!("reshape layer input (rows of shape {:?})", self.from);
        let b = expect_width(x, self.dim(), &what)?;
        crate::checks::expect_context(ctx, 0, b, "reshape layer")?;
        Ok((x.clone(), zero_logdet(x)?))
    }
    fn inverse(&self, z: &Tensor, ctx: Option<&Tensor>) -> Result<(Tensor, Tensor)> {
        let what = format!("reshape layer inverse input (rows of shape {:?})", self.to);
        let b = expect_width(z, self.dim(), &what)?;
        crate::checks::expect_context(ctx, 0, b, "reshape layer")?;
        Ok((z.clone(), zero_logdet(z)?))
    }
    fn spec(&self) -> TransformSpec {
        TransformSpec::Reshape {
            from: self.from.clone(),
            to: self.to.clone(),
        }
    }
}
