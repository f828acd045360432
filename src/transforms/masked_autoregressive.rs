//! Masked autoregressive transform (MAF, Papamakarios et al. 2017), generic over the
//! element-wise map. Density (forward) is one network pass; sampling (inverse) takes
//! `dim` sequential passes. Wrap it in [`Inverted`](crate::transforms::Inverted) for
//! the opposite trade-off (IAF).

use crate::checks::expect_context;
use crate::error::Result;
use crate::nn::{Conditioner, ConditionerSpec};
use crate::params::Params;
use crate::transforms::{ElementwiseMap, ElementwiseSpec, Transform, TransformSpec};
use candle_core::Tensor;

/// `z_i = τ(x_i; c(x_{<i}, ctx))` in the feature order `order`.
#[derive(Debug)]
pub struct MaskedAutoregressive {
    dim: usize,
    order: Vec<usize>,
    map: Box<dyn ElementwiseMap>,
    map_spec: ElementwiseSpec,
    made: Box<dyn Conditioner>,
    conditioner_spec: ConditionerSpec,
    context_dim: usize,
}

impl MaskedAutoregressive {
    /// Build a MAF layer over `dim` features visited in `order`.
    pub fn new(
        params: &Params,
        dim: usize,
        order: &[usize],
        map: &ElementwiseSpec,
        conditioner: &ConditionerSpec,
        context_dim: usize,
    ) -> Result<Self> {
        let m = map.build()?;
        let made = conditioner.build_autoregressive(
            &params.pp("made"),
            dim,
            context_dim,
            m.params_per_dim(),
            order,
        )?;
        Ok(Self {
            dim,
            order: order.to_vec(),
            map: m,
            map_spec: map.clone(),
            made,
            conditioner_spec: conditioner.clone(),
            context_dim,
        })
    }

    fn params_for(&self, x: &Tensor, ctx: Option<&Tensor>) -> Result<Tensor> {
        let p = self.made.forward(x, ctx)?;
        Ok(p.reshape((x.dim(0)?, self.dim, self.map.params_per_dim()))?)
    }
}

impl Transform for MaskedAutoregressive {
    fn dim(&self) -> usize {
        self.dim
    }
    fn context_dim(&self) -> usize {
        self.context_dim
    }
    fn forward(&self, x: &Tensor, ctx: Option<&Tensor>) -> Result<(Tensor, Tensor)> {
        expect_context(
            ctx,
            self.context_dim,
            x.dim(0)?,
            "masked autoregressive layer",
        )?;
        let p = self.params_for(x, ctx)?;
        self.map.forward(x, &p)
    }
    fn inverse(&self, z: &Tensor, ctx: Option<&Tensor>) -> Result<(Tensor, Tensor)> {
        expect_context(
            ctx,
            self.context_dim,
            z.dim(0)?,
            "masked autoregressive layer",
        )?;
        // After pass k the first k features in `order` are exact; the parameters of
        // feature i depend only on earlier features, so the last pass is exact everywhere
        // and its log-determinant is the right one.
        let mut x = z.zeros_like()?;
        let mut ld = zero_like_batch(z)?;
        for _ in 0..self.dim {
            let p = self.params_for(&x, ctx)?;
            let (nx, nld) = self.map.inverse(z, &p)?;
            x = nx;
            ld = nld;
        }
        Ok((x, ld))
    }
    fn spec(&self) -> TransformSpec {
        TransformSpec::MaskedAutoregressive {
            dim: self.dim,
            order: self.order.clone(),
            map: self.map_spec.clone(),
            conditioner: self.conditioner_spec.clone(),
        }
    }
}

fn zero_like_batch(z: &Tensor) -> Result<Tensor> {
    crate::transforms::zero_logdet(z)
}
