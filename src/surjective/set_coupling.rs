//! A point-wise affine coupling for sets (permutation-equivariant): rows hold
//! `points × coords` values (point-major). The coordinates in `transformed` of every
//! point get an affine map whose shift and log-scale come from a network of that
//! point's other (identity) coordinates and a permutation-invariant summary of the
//! whole set, the mean over points of an MLP of their identity coordinates (a deep
//! set, Zaheer et al. 2017). Permuting the points permutes the output the same way and
//! leaves the log-determinant unchanged, so a stack of these over an i.i.d. base gives a
//! density invariant to the order of the points.

use crate::error::{Error, Result};
use crate::nn::{Activation, Conditioner, Dims, Mlp, NetShape};
use crate::params::Params;
use crate::surjective::expect_width;
use crate::surjective::set_permute::check_set_shape;
use crate::transforms::{Transform, TransformSpec};
use candle_core::{Tensor, D};

/// Bound of the soft-clamped log-scale (`b·tanh(raw/b)`).
const LOG_SCALE_BOUND: f64 = 3.0;

/// `z_{i,t} = x_{i,t}·exp(s_{i,t}) + m_{i,t}` for the transformed coordinates `t` of
/// every point `i`, `(m_i, s_i) = g([x_{i,id}, mean_j φ(x_{j,id}), context])`;
/// log-determinant `Σ_{i,t} s_{i,t}`. φ is a one-hidden-layer ReLU MLP
/// (`phi.*`, output width `hidden`), g a ReLU MLP with `depth` hidden layers (`net.*`,
/// output layer zero-initialised: the identity at the start).
///
/// ```
/// use flowinfer::surjective::SetCoupling;
/// use flowinfer::transforms::Transform;
/// use flowinfer::params::Params;
/// use flowinfer::testing::perturb_params;
/// use candle_core::{DType, Device, Tensor};
/// let p = Params::new(DType::F64, &Device::Cpu, 0);
/// let c = SetCoupling::new(&p, 3, 2, vec![1], 8, 1, 0)?;
/// perturb_params(&p, 0.3, 1)?;
/// let x = Tensor::new(&[[0.0f64, 1.0, 2.0, 3.0, 4.0, 5.0]], &Device::Cpu)?;
/// let (z, ld) = c.forward(&x, None)?;
/// // Swapping points 0 and 2 swaps them in the output; the log-det is unchanged.
/// let xs = Tensor::new(&[[4.0f64, 5.0, 2.0, 3.0, 0.0, 1.0]], &Device::Cpu)?;
/// let (zs, lds) = c.forward(&xs, None)?;
/// let (z, zs) = (z.to_vec2::<f64>()?[0].clone(), zs.to_vec2::<f64>()?[0].clone());
/// assert!((z[1] - zs[5]).abs() < 1e-12 && (z[5] - zs[1]).abs() < 1e-12);
/// assert!((ld.to_vec1::<f64>()?[0] - lds.to_vec1::<f64>()?[0]).abs() < 1e-12);
/// # Ok::<(), flowinfer::Error>(())
/// ```
#[derive(Debug)]
pub struct SetCoupling {
    points: usize,
    coords: usize,
    transformed: Vec<usize>,
    identity: Vec<usize>,
    hidden: usize,
    depth: usize,
    phi: Mlp,
    net: Mlp,
    context_dim: usize,
}

impl SetCoupling {
    /// Sets of `points` points with `coords` coordinates; `transformed` lists the
    /// coordinates mapped (at least one, and at least one left as identity); `hidden`
    /// and `depth` size the networks; `context_dim` is the flow's (embedded) context
    /// width (0 = none).
    pub fn new(
        params: &Params,
        points: usize,
        coords: usize,
        transformed: Vec<usize>,
        hidden: usize,
        depth: usize,
        context_dim: usize,
    ) -> Result<Self> {
        check_set_shape(points, coords, "set coupling layer")?;
        let mut is_t = vec![false; coords];
        for &t in &transformed {
            if t >= coords || is_t[t] {
                return Err(Error::config(format!(
                    "set coupling layer: transformed coordinates {transformed:?} must be \
                     distinct coordinates in 0..{coords}"
                )));
            }
            is_t[t] = true;
        }
        let identity: Vec<usize> = (0..coords).filter(|&c| !is_t[c]).collect();
        if transformed.is_empty() || identity.is_empty() || hidden == 0 {
            return Err(Error::config(format!(
                "set coupling layer: needs at least one transformed and one identity \
                 coordinate and hidden ≥ 1 (got transformed {transformed:?} of {coords}, \
                 hidden {hidden})"
            )));
        }
        let relu = |depth, zero| NetShape {
            hidden,
            depth,
            activation: Activation::Relu,
            zero_init_output: zero,
        };
        let phi = Mlp::new(
            &params.pp("phi"),
            Dims {
                in_dim: identity.len(),
                context_dim: 0,
                out_dim: hidden,
            },
            &relu(1, false),
        )?;
        let net = Mlp::new(
            &params.pp("net"),
            Dims {
                in_dim: identity.len(),
                context_dim: hidden + context_dim,
                out_dim: 2 * transformed.len(),
            },
            &relu(depth, true),
        )?;
        Ok(Self {
            points,
            coords,
            transformed,
            identity,
            hidden,
            depth,
            phi,
            net,
            context_dim,
        })
    }

    /// `x` `(b, points·coords)` → the columns `cols` of every point, `(b·points, |cols|)`.
    fn columns(&self, x: &Tensor, cols: &[usize]) -> Result<Tensor> {
        let b = x.dim(0)?;
        let idx: Vec<u32> = cols.iter().map(|&c| c as u32).collect();
        let idx = Tensor::from_vec(idx, cols.len(), x.device())?;
        Ok(x.reshape((b * self.points, self.coords))?
            .index_select(&idx, 1)?)
    }

    /// `(shift, log-scale)`, each `(b·points, |transformed|)`, from the identity
    /// coordinates `xi` `(b·points, |identity|)`.
    fn params_of(&self, xi: &Tensor, b: usize, ctx: Option<&Tensor>) -> Result<(Tensor, Tensor)> {
        let n = self.points;
        let phi = self.phi.forward(xi, None)?.relu()?;
        let summary = phi.reshape((b, n, self.hidden))?.mean_keepdim(1)?;
        let summary = summary.broadcast_as((b, n, self.hidden))?;
        let cond = match ctx {
            Some(c) => {
                let c = c
                    .unsqueeze(1)?
                    .broadcast_as((b, n, c.dim(1)?))?
                    .contiguous()?;
                Tensor::cat(&[&summary.contiguous()?, &c], D::Minus1)?
            }
            None => summary.contiguous()?,
        };
        let cond = cond.reshape((b * n, ()))?;
        let out = self.net.forward(xi, Some(&cond))?;
        let k = self.transformed.len();
        let shift = out.narrow(1, 0, k)?;
        let raw = out.narrow(1, k, k)?;
        let s = ((raw / LOG_SCALE_BOUND)?.tanh()? * LOG_SCALE_BOUND)?;
        Ok((shift, s))
    }

    /// Put the identity columns `xi` and the mapped columns `yt` back in point order,
    /// `(b, points·coords)`.
    fn assemble(&self, xi: &Tensor, yt: &Tensor, b: usize) -> Result<Tensor> {
        let mut cols: Vec<Option<Tensor>> = vec![None; self.coords];
        for (j, &c) in self.identity.iter().enumerate() {
            cols[c] = Some(xi.narrow(1, j, 1)?);
        }
        for (j, &c) in self.transformed.iter().enumerate() {
            cols[c] = Some(yt.narrow(1, j, 1)?);
        }
        let cols: Vec<Tensor> = cols.into_iter().flatten().collect();
        Ok(Tensor::cat(&cols, 1)?.reshape((b, self.points * self.coords))?)
    }

    fn check(&self, x: &Tensor, ctx: Option<&Tensor>, what: &str) -> Result<usize> {
        let b = expect_width(x, self.dim(), what)?;
        crate::checks::expect_context(ctx, self.context_dim, b, "set coupling layer")?;
        Ok(b)
    }
}

impl Transform for SetCoupling {
    fn dim(&self) -> usize {
        self.points * self.coords
    }
    fn context_dim(&self) -> usize {
        self.context_dim
    }
    fn forward(&self, x: &Tensor, ctx: Option<&Tensor>) -> Result<(Tensor, Tensor)> {
        let b = self.check(x, ctx, "set coupling layer input")?;
        let xi = self.columns(x, &self.identity)?;
        let xt = self.columns(x, &self.transformed)?;
        let (m, s) = self.params_of(&xi, b, ctx)?;
        let zt = ((xt * s.exp()?)? + m)?;
        let ld = s.reshape((b, ()))?.sum(1)?;
        Ok((self.assemble(&xi, &zt, b)?, ld))
    }
    fn inverse(&self, z: &Tensor, ctx: Option<&Tensor>) -> Result<(Tensor, Tensor)> {
        let b = self.check(z, ctx, "set coupling layer inverse input")?;
        let zi = self.columns(z, &self.identity)?;
        let zt = self.columns(z, &self.transformed)?;
        let (m, s) = self.params_of(&zi, b, ctx)?;
        let xt = ((zt - m)? * s.neg()?.exp()?)?;
        let ld = s.reshape((b, ()))?.sum(1)?.neg()?;
        Ok((self.assemble(&zi, &xt, b)?, ld))
    }
    fn spec(&self) -> TransformSpec {
        TransformSpec::SetCoupling {
            points: self.points,
            coords: self.coords,
            transformed: self.transformed.clone(),
            hidden: self.hidden,
            depth: self.depth,
        }
    }
}
