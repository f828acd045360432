//! Permuting the axes of structured rows (a structure helper): each row holds an array
//! of shape `shape` (row-major); `forward` transposes it by `axes` (output axis `k` is
//! input axis `axes[k]`) and flattens it again. A permutation of the values: an exact
//! bijection with contribution 0. For point clouds `points × coords`, `axes = [1, 0]`
//! gives coordinate-major rows (all x, then all y).

use crate::error::{Error, Result};
use crate::surjective::expect_width;
use crate::transforms::{zero_logdet, Transform, TransformSpec};
use candle_core::Tensor;

/// Transpose rows of shape `shape` by `axes`; `inverse` applies the inverse order.
///
/// ```
/// use flowinfer::surjective::PermuteAxes;
/// use flowinfer::transforms::Transform;
/// use candle_core::{Device, Tensor};
/// let p = PermuteAxes::new(vec![3, 2], vec![1, 0])?;
/// let x = Tensor::new(&[[0.0f64, 1.0, 10.0, 11.0, 20.0, 21.0]], &Device::Cpu)?;
/// let (z, ld) = p.forward(&x, None)?;
/// assert_eq!(z.to_vec2::<f64>()?, vec![vec![0.0, 10.0, 20.0, 1.0, 11.0, 21.0]]);
/// assert_eq!(p.inverse(&z, None)?.0.to_vec2::<f64>()?, x.to_vec2::<f64>()?);
/// assert_eq!(ld.to_vec1::<f64>()?, vec![0.0]);
/// assert!(PermuteAxes::new(vec![3, 2], vec![0, 0]).is_err());
/// # Ok::<(), flowinfer::Error>(())
/// ```
#[derive(Debug)]
pub struct PermuteAxes {
    shape: Vec<usize>,
    axes: Vec<usize>,
    inverse_axes: Vec<usize>,
}

impl PermuteAxes {
    /// Rows of shape `shape` (every size ≥ 1), transposed by `axes` (a permutation of
    /// `0..shape.len()`); a configuration error naming the sizes otherwise.
    pub fn new(shape: Vec<usize>, axes: Vec<usize>) -> Result<Self> {
        let n = shape.len();
        if n == 0 || shape.contains(&0) {
            return Err(Error::config(format!(
                "axis-permutation layer: the row shape {shape:?} needs at least one axis and \
                 no empty axis"
            )));
        }
        let mut seen = vec![false; n];
        for &a in &axes {
            if a >= n || seen[a] {
                return Err(Error::config(format!(
                    "axis-permutation layer: axes {axes:?} are not a permutation of the {n} \
                     axes of shape {shape:?}"
                )));
            }
            seen[a] = true;
        }
        if axes.len() != n {
            return Err(Error::config(format!(
                "axis-permutation layer: {} axes given for the {n} axes of shape {shape:?}",
                axes.len()
            )));
        }
        let mut inverse_axes = vec![0; n];
        for (k, &a) in axes.iter().enumerate() {
            inverse_axes[a] = k;
        }
        Ok(Self {
            shape,
            axes,
            inverse_axes,
        })
    }

    /// The output row shape (`shape` permuted by `axes`).
    pub fn output_shape(&self) -> Vec<usize> {
        self.axes.iter().map(|&a| self.shape[a]).collect()
    }

    fn apply(&self, x: &Tensor, shape: &[usize], axes: &[usize], what: &str) -> Result<Tensor> {
        let b = expect_width(x, self.dim(), what)?;
        let mut full = vec![b];
        full.extend_from_slice(shape);
        let mut order = vec![0];
        order.extend(axes.iter().map(|a| a + 1));
        Ok(x.reshape(full)?
            .permute(order)?
            .contiguous()?
            .reshape((b, self.dim()))?)
    }
}

impl Transform for PermuteAxes {
    fn dim(&self) -> usize {
        self.shape.iter().product()
    }
    fn forward(&self, x: &Tensor, ctx: Option<&Tensor>) -> Result<(Tensor, Tensor)> {
        crate::checks::expect_context(ctx, 0, x.dim(0)?, "axis-permutation layer")?;
        let z = self.apply(x, &self.shape, &self.axes, "axis-permutation layer input")?;
        Ok((z, zero_logdet(x)?))
    }
    fn inverse(&self, z: &Tensor, ctx: Option<&Tensor>) -> Result<(Tensor, Tensor)> {
        crate::checks::expect_context(ctx, 0, z.dim(0)?, "axis-permutation layer")?;
        let out = self.output_shape();
        let x = self.apply(
            z,
            &out,
            &self.inverse_axes,
            "axis-permutation layer inverse input",
        )?;
        Ok((x, zero_logdet(z)?))
    }
    fn spec(&self) -> TransformSpec {
        TransformSpec::PermuteAxes {
            shape: self.shape.clone(),
            axes: self.axes.clone(),
        }
    }
}
