//! Sorting the points of a set by one key coordinate (an inference surjection for
//! point clouds): rows hold `points × coords` values (point-major); `forward` reorders
//! the points (whole points, not the scalars) by ascending key coordinate. The
//! generative direction applies a uniformly random permutation of the points, so for
//! distinct keys `p(x) = p(z) / N!` and the contribution `−log N!` is exact (given that
//! the layers after it put their mass on key-sorted sets).

use crate::error::{Error, Result};
use crate::surjective::expect_width;
use crate::surjective::noise::Noise;
use crate::surjective::set_permute::{check_set_shape, gather_points, random_order};
use crate::transforms::{Transform, TransformSpec};
use candle_core::{Tensor, D};

/// `forward`: sort the `points` points of each row by coordinate `key`, contribution
/// `−log points!`. `inverse`: a uniformly random order of the points, `+log points!`.
///
/// ```
/// use flowinfer::surjective::SortPoints;
/// use flowinfer::transforms::Transform;
/// use candle_core::{Device, Tensor};
/// let s = SortPoints::new(3, 2, 0, 0)?;
/// let x = Tensor::new(&[[5.0f64, 0.5, 1.0, 0.1, 3.0, 0.3]], &Device::Cpu)?;
/// let (z, lp) = s.forward(&x, None)?;
/// assert_eq!(z.to_vec2::<f64>()?, vec![vec![1.0, 0.1, 3.0, 0.3, 5.0, 0.5]]);
/// assert!((lp.to_vec1::<f64>()?[0] + 6f64.ln()).abs() < 1e-12);
/// assert!(SortPoints::new(3, 2, 2, 0).is_err()); // no coordinate 2
/// # Ok::<(), flowinfer::Error>(())
/// ```
#[derive(Debug)]
pub struct SortPoints {
    points: usize,
    coords: usize,
    key: usize,
    noise: Noise,
}

impl SortPoints {
    /// Sets of `points` points with `coords` coordinates, sorted by coordinate `key`;
    /// `seed` drives the permutations of `inverse`.
    pub fn new(points: usize, coords: usize, key: usize, seed: u64) -> Result<Self> {
        check_set_shape(points, coords, "point-sorting layer")?;
        if key >= coords {
            return Err(Error::config(format!(
                "point-sorting layer: key coordinate {key} is not one of the {coords} \
                 coordinates (0..{coords})"
            )));
        }
        Ok(Self {
            points,
            coords,
            key,
            noise: Noise::new(seed),
        })
    }

    /// `log N!`.
    fn log_factorial(&self) -> f64 {
        (2..=self.points).map(|k| (k as f64).ln()).sum()
    }
}

impl Transform for SortPoints {
    fn dim(&self) -> usize {
        self.points * self.coords
    }
    fn stochastic_inverse(&self) -> bool {
        true
    }
    fn forward(&self, x: &Tensor, ctx: Option<&Tensor>) -> Result<(Tensor, Tensor)> {
        let b = expect_width(x, self.dim(), "point-sorting layer input")?;
        crate::checks::expect_context(ctx, 0, b, "point-sorting layer")?;
        let keys = x
            .reshape((b, self.points, self.coords))?
            .narrow(D::Minus1, self.key, 1)?
            .squeeze(D::Minus1)?
            .contiguous()?;
        let order = keys.arg_sort_last_dim(true)?;
        let z = gather_points(x, &order, self.coords)?;
        let lp = (Tensor::zeros(b, x.dtype(), x.device())? - self.log_factorial())?;
        Ok((z, lp))
    }
    fn inverse(&self, z: &Tensor, ctx: Option<&Tensor>) -> Result<(Tensor, Tensor)> {
        let b = expect_width(z, self.dim(), "point-sorting layer inverse input")?;
        crate::checks::expect_context(ctx, 0, b, "point-sorting layer")?;
        let order = random_order(&self.noise, z, 0, self.points)?;
        let x = gather_points(z, &order, self.coords)?;
        let lp = (Tensor::zeros(b, z.dtype(), z.device())? + self.log_factorial())?;
        Ok((x, lp))
    }
    fn spec(&self) -> TransformSpec {
        TransformSpec::SortPoints {
            points: self.points,
            coords: self.coords,
            key: self.key,
            seed: self.noise.seed(),
        }
    }
}
