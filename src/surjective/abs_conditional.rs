//! Absolute value with sign probabilities conditioned on the flow's context (an
//! inference surjection): `π_j(+ | c) = sigmoid(g_j(c))` with `g` a ReLU MLP of the
//! (embedded) context. As for [`crate::surjective::Abs`], the forward is deterministic
//! and `x ↦ (|x|, sign x)` a bijection off 0, so `p(x | c) = p(|x| | c) · Π_j π_j(sign
//! x_j | c)` and the contribution is exact.

use crate::error::{Error, Result};
use crate::nn::{Activation, Conditioner, Dims, Mlp, NetShape};
use crate::params::Params;
use crate::surjective::abs::softplus;
use crate::surjective::expect_width;
use crate::surjective::noise::Noise;
use crate::transforms::{Transform, TransformSpec};
use candle_core::Tensor;

/// `forward`: `x ↦ |x|`, contribution `Σ_j log π_j(sign x_j | c)` (0 counts as
/// positive). `inverse`: `s_j ~ π_j(· | c)`, `x = s·|z|`, returning minus that. The MLP
/// (`net.*`, one hidden layer of width `hidden`, output zero-initialised: `π = ½` at the
/// start) needs a context: a flow without one is a configuration error.
///
/// ```
/// use flowinfer::surjective::ConditionalAbs;
/// use flowinfer::transforms::Transform;
/// use flowinfer::params::Params;
/// use candle_core::{DType, Device, Tensor};
/// let p = Params::new(DType::F64, &Device::Cpu, 0);
/// let a = ConditionalAbs::new(&p, 2, 8, 3, 1)?;
/// let x = Tensor::new(&[[-1.5f64, 2.0]], &Device::Cpu)?;
/// let c = Tensor::new(&[[1.0f64]], &Device::Cpu)?;
/// let (z, lp) = a.forward(&x, Some(&c))?;
/// assert_eq!(z.to_vec2::<f64>()?, vec![vec![1.5, 2.0]]);
/// assert!((lp.to_vec1::<f64>()?[0] - 2.0 * 0.5f64.ln()).abs() < 1e-12); // π = ½ at init
/// assert!(ConditionalAbs::new(&p, 2, 8, 3, 0).is_err()); // no context
/// # Ok::<(), flowinfer::Error>(())
/// ```
#[derive(Debug)]
pub struct ConditionalAbs {
    dim: usize,
    hidden: usize,
    net: Mlp,
    context_dim: usize,
    noise: Noise,
}

impl ConditionalAbs {
    /// `dim` features, an MLP of width `hidden` on a context of width `context_dim`
    /// (≥ 1); `seed` drives the sign draws of `inverse`.
    pub fn new(
        params: &Params,
        dim: usize,
        hidden: usize,
        seed: u64,
        context_dim: usize,
    ) -> Result<Self> {
        if dim == 0 || hidden == 0 || context_dim == 0 {
            return Err(Error::config(format!(
                "conditioned absolute-value layer: needs dim ≥ 1, hidden ≥ 1 and a flow \
                 context (got dim {dim}, hidden {hidden}, context width {context_dim})"
            )));
        }
        let net = Mlp::new(
            &params.pp("net"),
            Dims {
                in_dim: context_dim,
                context_dim: 0,
                out_dim: dim,
            },
            &NetShape {
                hidden,
                depth: 1,
                activation: Activation::Relu,
                zero_init_output: true,
            },
        )?;
        Ok(Self {
            dim,
            hidden,
            net,
            context_dim,
            noise: Noise::new(seed),
        })
    }

    /// `π_j(+ | c)` for every context row, `(batch, dim)`.
    pub fn positive_probability(&self, ctx: &Tensor) -> Result<Tensor> {
        Ok(candle_nn::ops::sigmoid(&self.net.forward(ctx, None)?)?)
    }

    /// `Σ_j log π_j(s_j | c)` for `pos` (1 where positive, 0 where negative), `(batch,)`.
    fn log_sign_prob(&self, pos: &Tensor, ctx: &Tensor) -> Result<Tensor> {
        let l = self.net.forward(ctx, None)?;
        let lp = softplus(&l.neg()?)?.neg()?;
        let ln = softplus(&l)?.neg()?;
        Ok(((pos * lp)? + ((1.0 - pos)? * ln)?)?.sum(1)?)
    }

    fn context<'a>(&self, ctx: Option<&'a Tensor>, b: usize) -> Result<&'a Tensor> {
        crate::checks::expect_context(
            ctx,
            self.context_dim,
            b,
            "conditioned absolute-value layer",
        )?;
        ctx.ok_or_else(|| Error::config("conditioned absolute-value layer: no context"))
    }
}

impl Transform for ConditionalAbs {
    fn dim(&self) -> usize {
        self.dim
    }
    fn context_dim(&self) -> usize {
        self.context_dim
    }
    fn stochastic_inverse(&self) -> bool {
        true
    }
    fn forward(&self, x: &Tensor, ctx: Option<&Tensor>) -> Result<(Tensor, Tensor)> {
        let b = expect_width(x, self.dim, "conditioned absolute-value layer input")?;
        let c = self.context(ctx, b)?;
        let pos = x.ge(0.0)?.to_dtype(x.dtype())?;
        Ok((x.abs()?, self.log_sign_prob(&pos, c)?))
    }
    fn inverse(&self, z: &Tensor, ctx: Option<&Tensor>) -> Result<(Tensor, Tensor)> {
        let b = expect_width(
            z,
            self.dim,
            "conditioned absolute-value layer inverse input",
        )?;
        let c = self.context(ctx, b)?;
        let u = self.noise.uniform(z, 0, self.dim)?;
        let pos = u.lt(&self.positive_probability(c)?)?.to_dtype(z.dtype())?;
        let sign = ((&pos * 2.0)? - 1.0)?;
        let x = (z.abs()? * sign)?;
        Ok((x, self.log_sign_prob(&pos, c)?.neg()?))
    }
    fn spec(&self) -> TransformSpec {
        TransformSpec::ConditionalAbs {
            dim: self.dim,
            hidden: self.hidden,
            seed: self.noise.seed(),
        }
    }
}
