//! Bijective transforms. Convention (see docs/ARCHITECTURE.md): `forward` maps data →
//! latent (density evaluation), `inverse` maps latent → data (sampling); both return
//! `(output, logabsdet)` with `logabsdet = log|det ∂output/∂input|` of shape `(batch,)`.
//! The classic variational layers (planar, radial, Sylvester) are in [`classic`].

pub mod actnorm;
pub mod classic;
pub mod contribution;
pub mod coupling;
pub mod domain;
pub mod elementwise;
pub mod inverted;
pub mod lu_linear;
pub mod masked_autoregressive;
pub mod orthonormal;
pub mod permutation;
pub mod sigmoid;
pub mod spec;
pub mod standardize;

pub use actnorm::ActNorm;
pub use classic::{Planar, Radial, Sylvester};
pub use contribution::Contribution;
pub use coupling::Coupling;
pub use elementwise::{Affine, ElementwiseMap, ElementwiseSpec, RationalQuadraticSpline};
pub use inverted::Inverted;
pub use lu_linear::LuLinear;
pub use masked_autoregressive::MaskedAutoregressive;
pub use orthonormal::Orthonormal;
pub use permutation::Permutation;
pub use sigmoid::{Logit, Sigmoid};
pub use spec::TransformSpec;
pub use standardize::Standardize;

use crate::error::Result;
use candle_core::Tensor;

/// A layer of a flow. Bijections implement it exactly; surjective layers (SurVAE) will
/// implement the same trait with `output_dim() != dim()` and a likelihood contribution
/// in place of the log-determinant.
pub trait Transform: Send + Sync + std::fmt::Debug {
    /// Number of input (data-side) features.
    fn dim(&self) -> usize;
    /// Number of output (latent-side) features; equal to `dim()` for bijections.
    fn output_dim(&self) -> usize {
        self.dim()
    }
    /// Width of the context this layer takes (0 = it takes none and rejects one).
    fn context_dim(&self) -> usize {
        0
    }
    /// Data → latent: `(z, log|det ∂z/∂x|)`.
    fn forward(&self, x: &Tensor, ctx: Option<&Tensor>) -> Result<(Tensor, Tensor)>;
    /// Latent → data: `(x, log|det ∂x/∂z|)`.
    fn inverse(&self, z: &Tensor, ctx: Option<&Tensor>) -> Result<(Tensor, Tensor)>;
    /// The serializable description that rebuilds this layer (weights excluded).
    fn spec(&self) -> TransformSpec;
    /// Whether `forward`'s second output is an exact log-likelihood contribution or a
    /// stochastic bound (SurVAE layers whose forward draws randomness). Default: exact.
    fn likelihood(&self) -> Contribution {
        Contribution::Exact
    }
    /// Whether `inverse` draws randomness (inference surjections: slice, absolute
    /// value, sort). `inverse` then returns minus the forward contribution at the
    /// point it produced, so `log q(z) − inverse contribution` is that point's value
    /// of `log p`. Default: false.
    fn stochastic_inverse(&self) -> bool {
        false
    }
    /// Data-dependent initialisation (ActNorm); `x` is this layer's input. Default: nothing.
    fn initialize_from_data(&self, _x: &Tensor, _ctx: Option<&Tensor>) -> Result<()> {
        Ok(())
    }
}

/// Zeros of shape `(batch,)` in the dtype and on the device of `like`.
pub(crate) fn zero_logdet(like: &Tensor) -> Result<Tensor> {
    Ok(Tensor::zeros(like.dim(0)?, like.dtype(), like.device())?)
}
