//! Variational dequantization (a generative surjection from integers to the reals,
//! Ho et al. 2019): `z = x + u` with `u ~ q(u | x)` on `(0, 1)^D` given by a small
//! conditional flow, `u = sigmoid(μ(x) + σ(x)·ε)`, `ε ~ N(0, I)` (a conditional affine
//! map of a Gaussian, then a sigmoid; `μ, log σ` from a ReLU MLP of `x` and the
//! flow's context). For any such `q`,
//! `log P(x) = log ∫ p(x + u) du ≥ E_q[log p(x + u) − log q(u | x)]`, so the
//! contribution `−log q(u | x)` gives a stochastic lower bound; it is tight when
//! `q(u | x) ∝ p(x + u)`, which uniform dequantization (`q = 1`) cannot follow.

use crate::error::{Error, Result};
use crate::nn::{Activation, Conditioner, Dims, Mlp, NetShape};
use crate::params::Params;
use crate::surjective::abs::softplus;
use crate::surjective::dequantize::expect_integers;
use crate::surjective::expect_width;
use crate::surjective::noise::Noise;
use crate::transforms::{Contribution, Transform, TransformSpec};
use candle_core::{DType, Tensor};

/// Bound of the soft-clamped log standard deviation (`b·tanh(raw/b)`).
const LOG_STD_BOUND: f64 = 5.0;

/// `forward`: integer `x ↦ x + u`, `u ~ q(u | x)`, contribution `−log q(u | x)` (a
/// bound); non-integer input is an [`Error::InvalidInput`] naming the row and column.
/// `inverse`: `z ↦ ⌊z⌋`, returning `+log q(z − ⌊z⌋ | ⌊z⌋)`. The MLP (`net.*`, `depth`
/// hidden layers of width `hidden`) has a zero-initialised output layer, so `q` starts
/// as `sigmoid(N(0, 1))`. `u` is kept inside `[δ, 1 − δ]` (`δ` = 1e-12 in f64, 1e-6
/// in f32) so that `⌊x + u⌋ = x`.
///
/// ```
/// use flowinfer::surjective::VariationalDequantize;
/// use flowinfer::transforms::{Contribution, Transform};
/// use flowinfer::params::Params;
/// use candle_core::{DType, Device, Tensor};
/// let p = Params::new(DType::F64, &Device::Cpu, 0);
/// let d = VariationalDequantize::new(&p, 2, 8, 1, 3, 0)?;
/// let x = Tensor::new(&[[3.0f64, 0.0]], &Device::Cpu)?;
/// let (z, lq) = d.forward(&x, None)?;
/// let (back, lq_back) = d.inverse(&z, None)?;
/// assert_eq!(back.to_vec2::<f64>()?, x.to_vec2::<f64>()?);
/// assert!((lq.to_vec1::<f64>()?[0] + lq_back.to_vec1::<f64>()?[0]).abs() < 1e-9);
/// assert_eq!(d.likelihood(), Contribution::Bound);
/// assert!(d.forward(&Tensor::new(&[[0.5f64, 1.0]], &Device::Cpu)?, None).is_err());
/// # Ok::<(), flowinfer::Error>(())
/// ```
#[derive(Debug)]
pub struct VariationalDequantize {
    dim: usize,
    hidden: usize,
    depth: usize,
    net: Mlp,
    context_dim: usize,
    noise: Noise,
}

impl VariationalDequantize {
    /// `dim` integer features; the MLP has `depth` hidden layers of width `hidden` and
    /// takes a context of width `context_dim` (0 = none); `seed` drives the draws.
    pub fn new(
        params: &Params,
        dim: usize,
        hidden: usize,
        depth: usize,
        seed: u64,
        context_dim: usize,
    ) -> Result<Self> {
        if dim == 0 || hidden == 0 {
            return Err(Error::config(format!(
                "variational dequantization layer: needs dim ≥ 1 and hidden ≥ 1 (got dim \
                 {dim}, hidden {hidden})"
            )));
        }
        let net = Mlp::new(
            &params.pp("net"),
            Dims {
                in_dim: dim,
                context_dim,
                out_dim: 2 * dim,
            },
            &NetShape {
                hidden,
                depth,
                activation: Activation::Relu,
                zero_init_output: true,
            },
        )?;
        Ok(Self {
            dim,
            hidden,
            depth,
            net,
            context_dim,
            noise: Noise::new(seed),
        })
    }

    /// `(μ, log σ)` of the logit of `u` given the integers `x`, `(b, dim)` each.
    fn moments(&self, x: &Tensor, ctx: Option<&Tensor>) -> Result<(Tensor, Tensor)> {
        let out = self.net.forward(x, ctx)?;
        let mu = out.narrow(1, 0, self.dim)?;
        let raw = out.narrow(1, self.dim, self.dim)?;
        Ok((mu, ((raw / LOG_STD_BOUND)?.tanh()? * LOG_STD_BOUND)?))
    }

    /// `log q(u | x)` for `ε` and `y = μ + σε` (`u = sigmoid(y)`), summed, `(b,)`:
    /// `log N(ε) − log σ − log u − log(1 − u)`.
    fn log_q(&self, eps: &Tensor, y: &Tensor, log_std: &Tensor) -> Result<Tensor> {
        let c = 0.5 * (2.0 * std::f64::consts::PI).ln();
        // −log u − log(1 − u) = softplus(−y) + softplus(y)
        let jac = (softplus(&y.neg()?)? + softplus(y)?)?;
        let lq = ((((eps.sqr()? * -0.5)? - c)? - log_std)? + jac)?;
        Ok(lq.sum(1)?)
    }

    fn delta(x: &Tensor) -> f64 {
        if x.dtype() == DType::F64 {
            1e-12
        } else {
            1e-6
        }
    }

    fn check(&self, x: &Tensor, ctx: Option<&Tensor>, what: &str) -> Result<usize> {
        let b = expect_width(x, self.dim, what)?;
        crate::checks::expect_context(
            ctx,
            self.context_dim,
            b,
            "variational dequantization layer",
        )?;
        Ok(b)
    }
}

impl Transform for VariationalDequantize {
    fn dim(&self) -> usize {
        self.dim
    }
    fn context_dim(&self) -> usize {
        self.context_dim
    }
    fn likelihood(&self) -> Contribution {
        Contribution::Bound
    }
    fn forward(&self, x: &Tensor, ctx: Option<&Tensor>) -> Result<(Tensor, Tensor)> {
        self.check(x, ctx, "variational dequantization layer input")?;
        expect_integers(x)?;
        let eps = self.noise.normal(x, 0, self.dim)?;
        let (mu, ls) = self.moments(x, ctx)?;
        let y = ((&eps * ls.exp()?)? + mu)?;
        let d = Self::delta(x);
        let u = candle_nn::ops::sigmoid(&y)?.clamp(d, 1.0 - d)?;
        Ok(((x + u)?, self.log_q(&eps, &y, &ls)?.neg()?))
    }
    fn inverse(&self, z: &Tensor, ctx: Option<&Tensor>) -> Result<(Tensor, Tensor)> {
        self.check(z, ctx, "variational dequantization layer inverse input")?;
        let x = z.floor()?;
        let d = Self::delta(z);
        let u = (z - &x)?.clamp(d, 1.0 - d)?;
        let y = (u.log()? - (1.0 - &u)?.log()?)?;
        let (mu, ls) = self.moments(&x, ctx)?;
        let eps = ((y.clone() - mu)? * ls.neg()?.exp()?)?;
        Ok((x, self.log_q(&eps, &y, &ls)?))
    }
    fn spec(&self) -> TransformSpec {
        TransformSpec::VariationalDequantize {
            dim: self.dim,
            hidden: self.hidden,
            depth: self.depth,
            seed: self.noise.seed(),
        }
    }
}
