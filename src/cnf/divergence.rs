//! Divergence `tr ∂v/∂z` of the velocity field: exact (the `dim` unit tangents pushed
//! through the network) or Hutchinson's estimator `εᵀ (∂v/∂z) ε` with Rademacher probes
//! that stay fixed for a whole solve (so the integrand is a smooth function of time).

use crate::cnf::spec::DivergenceSpec;
use crate::cnf::velocity::{sum_tangent_axes, VelocityField};
use crate::error::Result;
use candle_core::{DType, Device, Tensor};
use rand::{Rng, SeedableRng};

/// The tangents of one solve.
#[derive(Debug, Clone)]
pub enum Probes {
    /// The unit vectors `e_1 … e_d`, shape `(d, 1, d)`: the exact trace.
    Exact(Tensor),
    /// Rademacher probes `(K, batch, d)`: Hutchinson's estimate, averaged over `K`.
    Rademacher(Tensor),
}

impl Probes {
    /// The unit tangents for an exact trace in dimension `dim`.
    pub fn exact(dim: usize, dtype: DType, dev: &Device) -> Result<Self> {
        Ok(Probes::Exact(Tensor::eye(dim, dtype, dev)?.unsqueeze(1)?))
    }

    /// `k` Rademacher probes per row for a batch of `batch` rows, drawn from `seed`.
    pub fn rademacher(
        k: usize,
        batch: usize,
        dim: usize,
        seed: u64,
        dtype: DType,
        dev: &Device,
    ) -> Result<Self> {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let v: Vec<f32> = (0..k * batch * dim)
            .map(|_| if rng.random::<bool>() { 1.0 } else { -1.0 })
            .collect();
        Ok(Probes::Rademacher(
            Tensor::from_vec(v, (k, batch, dim), dev)?.to_dtype(dtype)?,
        ))
    }

    /// The probes a [`DivergenceSpec`] asks for (`seed` varies per solve).
    pub fn for_spec(
        spec: &DivergenceSpec,
        batch: usize,
        dim: usize,
        seed: u64,
        dtype: DType,
        dev: &Device,
    ) -> Result<Self> {
        match *spec {
            DivergenceSpec::Exact => Self::exact(dim, dtype, dev),
            DivergenceSpec::Hutchinson { probes, seed: s } => {
                Self::rademacher(probes, batch, dim, s ^ seed, dtype, dev)
            }
        }
    }

    /// The tangent tensor.
    pub fn tangents(&self) -> &Tensor {
        match self {
            Probes::Exact(t) | Probes::Rademacher(t) => t,
        }
    }

    /// The (estimated) trace from the products `jv = J·tangent`, `(K, batch, d)` → `(batch,)`.
    pub fn trace(&self, jv: &Tensor) -> Result<Tensor> {
        match self {
            Probes::Exact(e) => sum_tangent_axes(&jv.broadcast_mul(e)?),
            Probes::Rademacher(eps) => {
                let k = eps.dim(0)? as f64;
                Ok((sum_tangent_axes(&(jv * eps)?)? / k)?)
            }
        }
    }
}

/// `(v, div v)` at `(z, t)`: velocity `(batch, d)` and divergence `(batch,)`.
pub fn velocity_and_divergence(
    field: &VelocityField,
    z: &Tensor,
    t: &Tensor,
    ctx: Option<&Tensor>,
    probes: &Probes,
) -> Result<(Tensor, Tensor)> {
    let (v, jv) = field.forward_with_tangents(z, t, ctx, probes.tangents())?;
    Ok((v, probes.trace(&jv)?))
}
