//! `Flow`: a base distribution, a stack of transforms and an optional context
//! embedding, with density evaluation, sampling, and save/load.

mod bound;
pub mod builder;
pub mod config;
pub mod io;
pub mod placed;
pub mod row_chunks;
pub mod spec;

pub use builder::{FlowBuilder, FlowKind, Mixing};
pub use config::FlowConfig;
pub use placed::{Place, PlacedLayer};
pub use spec::{EmbeddingSpec, FlowSpec};

use crate::checks::{expect_context, expect_finite, expect_matrix};
use crate::distributions::BaseDistribution;
use crate::error::{Error, Result};
use crate::nn::Embedding;
use crate::params::Params;
use crate::transforms::Transform;
use candle_core::{DType, Device, Tensor};
use rand::RngCore;

/// A normalizing flow `x = T⁻¹(z)`, `z ~ base`, optionally conditioned on a context.
#[derive(Debug)]
pub struct Flow {
    spec: FlowSpec,
    params: Params,
    base: Box<dyn BaseDistribution>,
    transforms: Vec<Box<dyn Transform>>,
    embedding: Option<Box<dyn Embedding>>,
}

impl Flow {
    /// Build a flow with fresh parameters drawn from `seed`.
    pub fn new(spec: FlowSpec, dtype: DType, device: &Device, seed: u64) -> Result<Self> {
        Self::with_params(spec, Params::new(dtype, device, seed))
    }

    /// Build a flow on an existing parameter store (shared or pre-filled weights).
    pub fn with_params(spec: FlowSpec, params: Params) -> Result<Self> {
        spec.validate()?;
        let ctx = spec.embedded_context_dim();
        let embedding = match (&spec.embedding, spec.context_dim) {
            (Some(e), c) if c > 0 => Some(e.net.build(&params.pp("embedding"), c, e.out_dim)?),
            _ => None,
        };
        let transforms = spec
            .transforms
            .iter()
            .enumerate()
            .map(|(i, t)| t.build(&params.pp(format!("t{i}")), ctx))
            .collect::<Result<Vec<_>>>()?;
        let base = spec.base.build(&params.pp("base"))?;
        Ok(Self {
            spec,
            params,
            base,
            transforms,
            embedding,
        })
    }

    /// The description this flow was built from (with current layer states).
    pub fn spec(&self) -> FlowSpec {
        let mut s = self.spec.clone();
        s.transforms = self.transforms.iter().map(|t| t.spec()).collect();
        s
    }

    /// Data dimension.
    pub fn dim(&self) -> usize {
        self.spec.dim
    }

    /// Raw context width (0 = unconditional).
    pub fn context_dim(&self) -> usize {
        self.spec.context_dim
    }

    /// The parameter store (all trainable variables).
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// Model dtype.
    pub fn dtype(&self) -> DType {
        self.params.dtype()
    }

    /// Device of the parameters.
    pub fn device(&self) -> &Device {
        self.params.device()
    }

    /// The transforms, data → latent order.
    pub fn transforms(&self) -> &[Box<dyn Transform>] {
        &self.transforms
    }

    /// The base distribution.
    pub fn base(&self) -> &dyn BaseDistribution {
        self.base.as_ref()
    }

    /// Validate a data batch and context; returns the batch size.
    pub fn check_inputs(&self, x: &Tensor, ctx: Option<&Tensor>) -> Result<usize> {
        let b = expect_matrix(x, self.dim(), "flow input")?;
        if x.dtype() != self.dtype() {
            return Err(Error::config(format!(
                "flow input has dtype {:?}, the model is {:?}",
                x.dtype(),
                self.dtype()
            )));
        }
        expect_finite(x, "flow input")?;
        self.check_context(ctx, b)?;
        Ok(b)
    }

    fn check_context(&self, ctx: Option<&Tensor>, batch: usize) -> Result<()> {
        expect_context(ctx, self.context_dim(), batch, "flow")?;
        if let Some(c) = ctx {
            expect_finite(c, "flow context")?;
        }
        Ok(())
    }

    /// The context as the transforms see it (after the embedding network).
    pub fn embed(&self, ctx: Option<&Tensor>) -> Result<Option<Tensor>> {
        Ok(match (ctx, &self.embedding) {
            (Some(c), Some(e)) => Some(e.forward(c)?),
            (Some(c), None) => Some(c.clone()),
            (None, _) => None,
        })
    }

    fn ctx_for<'a>(t: &dyn Transform, ctx: Option<&'a Tensor>) -> Option<&'a Tensor> {
        if t.context_dim() > 0 {
            ctx
        } else {
            None
        }
    }

    /// Data → latent through every transform with an already embedded context:
    /// `(z, Σ log|det ∂z/∂x|)`. No input validation.
    /// Large batches run in row chunks on all cores ([`row_chunks`]).
    pub fn to_latent(&self, x: &Tensor, ectx: Option<&Tensor>) -> Result<(Tensor, Tensor)> {
        row_chunks::map_rows(x, ectx, |x, e| {
            chain(x, e, self.transforms.iter(), |t, h, c| t.forward(h, c))
        })
    }

    /// Latent → data with an already embedded context: `(x, Σ log|det ∂x/∂z|)`.
    /// Large batches run in row chunks on all cores ([`row_chunks`]).
    pub fn to_data(&self, z: &Tensor, ectx: Option<&Tensor>) -> Result<(Tensor, Tensor)> {
        row_chunks::map_rows(z, ectx, |z, e| {
            chain(z, e, self.transforms.iter().rev(), |t, h, c| {
                t.inverse(h, c)
            })
        })
    }

    /// `log p(x | ctx)`, shape `(batch,)`. Validates shapes, dtype and finiteness.
    pub fn log_prob(&self, x: &Tensor, ctx: Option<&Tensor>) -> Result<Tensor> {
        self.check_inputs(x, ctx)?;
        self.log_prob_unchecked(x, ctx)
    }

    /// `log p(x | ctx)` without validation (for training loops over validated data).
    pub fn log_prob_unchecked(&self, x: &Tensor, ctx: Option<&Tensor>) -> Result<Tensor> {
        let e = self.embed(ctx)?;
        let (z, ld) = self.to_latent(x, e.as_ref())?;
        Ok((self.base.log_prob(&z)? + ld)?)
    }

    /// Repeat each embedded context row `n` times: `(m, e)` → `(m·n, e)`.
    fn repeat_context(&self, ctx: Option<&Tensor>, n: usize) -> Result<(usize, Option<Tensor>)> {
        let Some(c) = ctx else { return Ok((n, None)) };
        let m = c.dim(0)?;
        self.check_context(Some(c), m)?;
        let e = self.embed(Some(c))?.expect("context present");
        let idx: Vec<u32> = (0..m as u32)
            .flat_map(|i| std::iter::repeat_n(i, n))
            .collect();
        let idx = Tensor::from_vec(idx, m * n, c.device())?;
        Ok((m * n, Some(e.index_select(&idx, 0)?)))
    }

    /// `n` samples (per context row when a context `(m, c)` is given: `(m·n, dim)`,
    /// the `n` samples of row 0 first).
    pub fn sample(&self, n: usize, ctx: Option<&Tensor>, rng: &mut dyn RngCore) -> Result<Tensor> {
        Ok(self.sample_and_log_prob(n, ctx, rng)?.0)
    }

    /// Samples and their log density in one pass (what importance sampling needs).
    pub fn sample_and_log_prob(
        &self,
        n: usize,
        ctx: Option<&Tensor>,
        rng: &mut dyn RngCore,
    ) -> Result<(Tensor, Tensor)> {
        if n == 0 {
            return Err(Error::config("the number of samples must be at least 1"));
        }
        if ctx.is_none() && self.context_dim() > 0 {
            return Err(Error::Context {
                what: "flow".into(),
                message: format!(
                    "sampling needs a context of shape (m, {}); none was given",
                    self.context_dim()
                ),
            });
        }
        let (total, e) = self.repeat_context(ctx, n)?;
        let z = self.base.sample(total, rng)?;
        let lq = self.base.log_prob(&z)?;
        let (x, ld) = self.to_data(&z, e.as_ref())?;
        Ok((x, (lq - ld)?))
    }

    /// Data-dependent initialisation (ActNorm): pass `x` through the stack, letting
    /// each layer initialise itself from its own input.
    pub fn initialize_from_data(&self, x: &Tensor, ctx: Option<&Tensor>) -> Result<()> {
        self.check_inputs(x, ctx)?;
        let e = self.embed(ctx)?;
        let mut h = x.detach();
        for t in &self.transforms {
            let c = Self::ctx_for(t.as_ref(), e.as_ref());
            t.initialize_from_data(&h, c)?;
            h = t.forward(&h, c)?.0.detach();
        }
        Ok(())
    }
}

/// Apply `step` of each transform in turn, summing the log-determinants; the context
/// goes only to layers that take one.
fn chain<'a>(
    input: &Tensor,
    ectx: Option<&Tensor>,
    layers: impl Iterator<Item = &'a Box<dyn Transform>>,
    step: impl Fn(&dyn Transform, &Tensor, Option<&Tensor>) -> Result<(Tensor, Tensor)>,
) -> Result<(Tensor, Tensor)> {
    let mut h = input.clone();
    let mut total: Option<Tensor> = None;
    for t in layers {
        let (nh, ld) = step(t.as_ref(), &h, Flow::ctx_for(t.as_ref(), ectx))?;
        h = nh;
        total = Some(match total {
            None => ld,
            Some(s) => (s + ld)?,
        });
    }
    let total = match total {
        Some(t) => t,
        None => crate::transforms::zero_logdet(input)?,
    };
    Ok((h, total))
}
