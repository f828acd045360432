//! The classic variational flow layers (docs/CLASSIC_FLOWS.md): planar and radial
//! (Rezende & Mohamed 2015) and Householder Sylvester (van den Berg et al. 2018).
//!
//! Their explicit map `x = z + …` with a closed-form log-determinant is the cheap
//! direction, so in flowinfer's convention it is the **sampling** direction
//! ([`Transform::inverse`](crate::transforms::Transform::inverse), latent → data):
//! drawing from a flow of these layers and scoring the draws is all tensor ops, which is
//! what variational inference needs. The **density** direction
//! ([`Transform::forward`](crate::transforms::Transform::forward), data → latent) is:
//!
//! * planar: one increasing scalar equation per event along `w` ([`root`]);
//! * radial: a quadratic in the radius, solved in closed form;
//! * Sylvester: a triangular system of increasing scalar equations, one coordinate at a
//!   time ([`root`]).
//!
//! Gradients of the density direction: the roots are found on the host in f64 without
//! gradient; the layer then takes one Newton step *as a tensor expression* of the
//! (detached) root, the input and the parameters, `a = a₀ − G(a₀; x, θ)/G'(a₀)`. At the
//! root the value is unchanged (`G ≈ 0`) and the gradient is exactly the
//! implicit-function gradient `−(∂G/∂θ)/G'`, so `log_prob` is differentiable in the
//! input and in every parameter. (Second derivatives through the root are not exact.)
//!
//! Invertibility is built into the parameterisation, so no parameter value, however
//! adversarial, makes a layer singular; each layer's docs state its constraint.
//! These layers take no context.

pub mod planar;
pub mod radial;
pub mod root;
pub mod sylvester;

pub use planar::Planar;
pub use radial::Radial;
pub use sylvester::Sylvester;

use crate::error::Result;
use candle_core::{DType, Tensor};

/// Margin ε that keeps each constraint strict: `wᵀû ≥ −1 + ε` (planar),
/// `β ≥ −α + ε` and `α ≥ ε` (radial), `|r_ii|, |r̃_ii| ≤ 1 − ε` (Sylvester), so
/// log-determinants stay finite even where a softplus underflows or a tanh rounds to ±1.
pub const CONSTRAINT_MARGIN: f64 = 1e-6;

/// The values of a tensor as f64 on the host, flattened.
pub(crate) fn host(t: &Tensor) -> Result<Vec<f64>> {
    Ok(t.flatten_all()?.to_dtype(DType::F64)?.to_vec1::<f64>()?)
}

/// `softplus(t) + CONSTRAINT_MARGIN`.
pub(crate) fn positive(t: &Tensor) -> Result<Tensor> {
    Ok((crate::transforms::elementwise::spline::softplus(t)? + CONSTRAINT_MARGIN)?)
}

/// A `(rows, cols)` tensor from host values, in `like`'s dtype and on its device.
pub(crate) fn from_host(v: Vec<f64>, rows: usize, cols: usize, like: &Tensor) -> Result<Tensor> {
    Ok(Tensor::from_vec(v, (rows, cols), like.device())?.to_dtype(like.dtype())?)
}
