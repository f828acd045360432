//! Random permutation of set elements (a structure helper for point clouds): each call
//! reorders the points of every row (rows of `points × coords` values, point-major)
//! by a fresh uniformly random permutation. The map is a permutation of coordinates,
//! so the contribution is 0; draws follow the noise convention of
//! [`crate::surjective::noise`] (seeded by the layer's seed and the batch).

use crate::error::{Error, Result};
use crate::surjective::expect_width;
use crate::surjective::noise::Noise;
use crate::transforms::{zero_logdet, Contribution, Transform, TransformSpec};
use candle_core::{Tensor, D};

/// Checks `points ≥ 1` and `coords ≥ 1` for the set layers; `what` names the layer.
pub(crate) fn check_set_shape(points: usize, coords: usize, what: &str) -> Result<()> {
    if points == 0 || coords == 0 {
        return Err(Error::config(format!(
            "{what}: needs at least one point and one coordinate (got {points} points × \
             {coords} coordinates)"
        )));
    }
    Ok(())
}

/// Reorder the points of every row of `x` `(b, points·coords)` by `order` `(b, points)`
/// (u32 indices): `out[r, i, :] = x[r, order[r, i], :]`.
pub(crate) fn gather_points(x: &Tensor, order: &Tensor, coords: usize) -> Result<Tensor> {
    let (b, w) = x.dims2()?;
    let points = w / coords;
    let x3 = x.reshape((b, points, coords))?;
    let idx = order
        .unsqueeze(D::Minus1)?
        .broadcast_as((b, points, coords))?
        .contiguous()?;
    Ok(x3.gather(&idx, 1)?.reshape((b, w))?)
}

/// A uniformly random permutation of the points of each row: the ranks of i.i.d.
/// uniforms drawn from `noise` for `input` with `salt`, `(b, points)` u32.
pub(crate) fn random_order(
    noise: &Noise,
    input: &Tensor,
    salt: u64,
    points: usize,
) -> Result<Tensor> {
    Ok(noise
        .uniform(input, salt, points)?
        .contiguous()?
        .arg_sort_last_dim(true)?)
}

/// `forward` and `inverse` both reorder the `points` points (of `coords` values each)
/// of every row by a random permutation, contribution 0.
///
/// Likelihood: for one fixed draw π the map is a permutation with `|det| = 1`, so
/// `log p(x) = log p_Z(πx)`. The model this defines is the symmetrised
/// `p(x) = (1/N!) Σ_π p_Z(πx)`, and a single draw is by Jensen a lower bound in
/// expectation, so the layer reports [`Contribution::Bound`] (and `log_prob_iw`
/// averages over K permutations). When every layer after it and the base are
/// exchangeable over the points (point-wise couplings of
/// [`crate::surjective::SetCoupling`] and an i.i.d. base), all the terms are equal and the
/// value is exact for every draw.
///
/// ```
/// use flowinfer::surjective::SetPermute;
/// use flowinfer::transforms::Transform;
/// use candle_core::{Device, Tensor};
/// let s = SetPermute::new(3, 2, 1)?;
/// let x = Tensor::new(&[[0.0f64, 1.0, 10.0, 11.0, 20.0, 21.0]], &Device::Cpu)?;
/// let (z, lp) = s.forward(&x, None)?;
/// let mut pts: Vec<Vec<f64>> = z.to_vec2::<f64>()?[0].chunks(2).map(|c| c.to_vec()).collect();
/// pts.sort_by(|a, b| a[0].partial_cmp(&b[0]).unwrap());
/// assert_eq!(pts, vec![vec![0.0, 1.0], vec![10.0, 11.0], vec![20.0, 21.0]]); // same points
/// assert_eq!(lp.to_vec1::<f64>()?, vec![0.0]);
/// # Ok::<(), flowinfer::Error>(())
/// ```
#[derive(Debug)]
pub struct SetPermute {
    points: usize,
    coords: usize,
    noise: Noise,
}

impl SetPermute {
    /// Sets of `points` points with `coords` coordinates each; `seed` drives the draws.
    pub fn new(points: usize, coords: usize, seed: u64) -> Result<Self> {
        check_set_shape(points, coords, "set-permutation layer")?;
        Ok(Self {
            points,
            coords,
            noise: Noise::new(seed),
        })
    }

    fn permute(&self, x: &Tensor, salt: u64, what: &str) -> Result<(Tensor, Tensor)> {
        expect_width(x, self.points * self.coords, what)?;
        let order = random_order(&self.noise, x, salt, self.points)?;
        Ok((gather_points(x, &order, self.coords)?, zero_logdet(x)?))
    }
}

impl Transform for SetPermute {
    fn dim(&self) -> usize {
        self.points * self.coords
    }
    fn likelihood(&self) -> Contribution {
        Contribution::Bound
    }
    fn stochastic_inverse(&self) -> bool {
        true
    }
    fn forward(&self, x: &Tensor, ctx: Option<&Tensor>) -> Result<(Tensor, Tensor)> {
        crate::checks::expect_context(ctx, 0, x.dim(0)?, "set-permutation layer")?;
        self.permute(x, 0, "set-permutation layer input")
    }
    fn inverse(&self, z: &Tensor, ctx: Option<&Tensor>) -> Result<(Tensor, Tensor)> {
        crate::checks::expect_context(ctx, 0, z.dim(0)?, "set-permutation layer")?;
        self.permute(z, 1, "set-permutation layer inverse input")
    }
    fn spec(&self) -> TransformSpec {
        TransformSpec::SetPermute {
            points: self.points,
            coords: self.coords,
            seed: self.noise.seed(),
        }
    }
}
