//! Coupling layer, generic over the element-wise map (affine → RealNVP, rational-
//! quadratic spline → NSF) and over the conditioner network.

use crate::checks::expect_context;
use crate::error::{Error, Result};
use crate::nn::{Conditioner, ConditionerSpec};
use crate::params::Params;
use crate::transforms::{ElementwiseMap, ElementwiseSpec, Transform, TransformSpec};
use candle_core::Tensor;

/// How the features split into the conditioning ("identity") part and the transformed part.
#[derive(Debug, Clone)]
enum Split {
    /// Identity features are the first `n`.
    Prefix(usize),
    /// Identity features are the last `n`.
    Suffix(usize),
    /// Arbitrary: gather by index, and the permutation that restores the order.
    Gather {
        identity: Tensor,
        transformed: Tensor,
        restore: Tensor,
    },
}

/// `y_A = x_A`, `y_B = τ(x_B; c(x_A, ctx))` for a fixed split of the features into A
/// (identity) and B (transformed).
#[derive(Debug)]
pub struct Coupling {
    dim: usize,
    identity: Vec<usize>,
    split: Split,
    map: Box<dyn ElementwiseMap>,
    map_spec: ElementwiseSpec,
    conditioner: Box<dyn Conditioner>,
    conditioner_spec: ConditionerSpec,
    context_dim: usize,
}

impl Coupling {
    /// Build a coupling over `dim` features in which the features listed in `identity`
    /// condition the others.
    pub fn new(
        params: &Params,
        dim: usize,
        identity: &[usize],
        map: &ElementwiseSpec,
        conditioner: &ConditionerSpec,
        context_dim: usize,
    ) -> Result<Self> {
        let mut is_id = vec![false; dim];
        for &i in identity {
            if i >= dim || is_id[i] {
                return Err(Error::config(format!(
                    "coupling identity features {identity:?} must be distinct indices below {dim}"
                )));
            }
            is_id[i] = true;
        }
        let n_id = identity.len();
        if n_id == 0 || n_id == dim {
            return Err(Error::config(format!(
                "coupling over {dim} features needs 1..{dim} identity features, got {n_id}"
            )));
        }
        let transformed: Vec<usize> = (0..dim).filter(|i| !is_id[*i]).collect();
        let dev = params.device();
        let split = if identity.iter().enumerate().all(|(k, &i)| k == i) {
            Split::Prefix(n_id)
        } else if identity
            .iter()
            .enumerate()
            .all(|(k, &i)| i == dim - n_id + k)
        {
            Split::Suffix(n_id)
        } else {
            let order: Vec<usize> = identity.iter().chain(&transformed).copied().collect();
            let mut restore = vec![0u32; dim];
            for (pos, &i) in order.iter().enumerate() {
                restore[i] = pos as u32;
            }
            let to_t = |v: &[usize]| -> Result<Tensor> {
                let u: Vec<u32> = v.iter().map(|&i| i as u32).collect();
                Ok(Tensor::new(u.as_slice(), dev)?)
            };
            Split::Gather {
                identity: to_t(identity)?,
                transformed: to_t(&transformed)?,
                restore: Tensor::new(restore.as_slice(), dev)?,
            }
        };
        let m = map.build()?;
        let net = conditioner.build(
            &params.pp("net"),
            n_id,
            context_dim,
            transformed.len() * m.params_per_dim(),
        )?;
        Ok(Self {
            dim,
            identity: identity.to_vec(),
            split,
            map: m,
            map_spec: map.clone(),
            conditioner: net,
            conditioner_spec: conditioner.clone(),
            context_dim,
        })
    }

    fn parts(&self, x: &Tensor) -> Result<(Tensor, Tensor)> {
        let n_t = self.dim - self.identity.len();
        Ok(match &self.split {
            Split::Prefix(n) => (x.narrow(1, 0, *n)?, x.narrow(1, *n, n_t)?),
            Split::Suffix(n) => (x.narrow(1, n_t, *n)?, x.narrow(1, 0, n_t)?),
            Split::Gather {
                identity,
                transformed,
                ..
            } => (
                x.index_select(identity, 1)?,
                x.index_select(transformed, 1)?,
            ),
        })
    }

    fn join(&self, a: &Tensor, b: &Tensor) -> Result<Tensor> {
        Ok(match &self.split {
            Split::Prefix(_) => Tensor::cat(&[a, b], 1)?,
            Split::Suffix(_) => Tensor::cat(&[b, a], 1)?,
            Split::Gather { restore, .. } => Tensor::cat(&[a, b], 1)?.index_select(restore, 1)?,
        })
    }

    fn params_for(&self, a: &Tensor, ctx: Option<&Tensor>) -> Result<Tensor> {
        expect_context(ctx, self.context_dim, a.dim(0)?, "coupling layer")?;
        let p = self.conditioner.forward(a, ctx)?;
        let n_t = self.dim - self.identity.len();
        Ok(p.reshape((a.dim(0)?, n_t, self.map.params_per_dim()))?)
    }
}

impl Transform for Coupling {
    fn dim(&self) -> usize {
        self.dim
    }
    fn context_dim(&self) -> usize {
        self.context_dim
    }
    fn forward(&self, x: &Tensor, ctx: Option<&Tensor>) -> Result<(Tensor, Tensor)> {
        let (a, b) = self.parts(x)?;
        let p = self.params_for(&a, ctx)?;
        let (yb, ld) = self.map.forward(&b.contiguous()?, &p)?;
        Ok((self.join(&a, &yb)?, ld))
    }
    fn inverse(&self, z: &Tensor, ctx: Option<&Tensor>) -> Result<(Tensor, Tensor)> {
        let (a, b) = self.parts(z)?;
        let p = self.params_for(&a, ctx)?;
        let (xb, ld) = self.map.inverse(&b.contiguous()?, &p)?;
        Ok((self.join(&a, &xb)?, ld))
    }
    fn spec(&self) -> TransformSpec {
        TransformSpec::Coupling {
            dim: self.dim,
            identity: self.identity.clone(),
            map: self.map_spec.clone(),
            conditioner: self.conditioner_spec.clone(),
        }
    }
}
