//! Surjective layers (SurVAE flows, Nielsen et al. 2020): layers that change the
//! dimension or forget information, used in a [`crate::flow::Flow`] beside the
//! bijections of [`crate::transforms`]. Each implements [`crate::transforms::Transform`]:
//! `forward` (data → latent) returns the layer's likelihood contribution in place of
//! the log-determinant, and [`Transform::likelihood`](crate::transforms::Transform::likelihood)
//! says whether it is exact or a stochastic bound.
//!
//! * Inference surjections (deterministic forward, exact contribution, `inverse`
//!   samples): [`Slice`], [`Abs`], [`ConditionalAbs`], [`Sort`], [`Max`],
//!   [`MaxPool2d`].
//! * Generative surjections (forward samples, contribution a bound): [`Augment`],
//!   [`UniformDequantize`], [`VariationalDequantize`].
//! * Structure helpers for sets and structured rows: [`SetPermute`] (a random order
//!   of the points each call), [`SortPoints`] (sort the points by a key coordinate, an
//!   exact inference surjection), [`PermuteAxes`], [`Reshape`], and the point-wise
//!   coupling [`SetCoupling`] (permutation-equivariant).
//!
//! Randomness comes from each layer's seed mixed with a hash of the input batch
//! ([`noise`]): the same batch gives the same draws (reproducible densities, a
//! bit-identical reload), different batches (and the rows of one batch) different
//! ones. The math of every layer is in docs/SURJECTIVE.md.

pub mod abs;
pub mod abs_conditional;
pub mod augment;
pub mod dequantize;
pub mod gaussian;
pub mod max;
pub mod max_pool;
pub mod noise;
pub mod permute_axes;
pub mod property;
pub mod reshape;
pub mod set_coupling;
pub mod set_permute;
pub mod slice;
pub mod sort;
pub mod sort_points;
pub mod var_dequantize;

pub use abs::Abs;
pub use abs_conditional::ConditionalAbs;
pub use augment::Augment;
pub use dequantize::UniformDequantize;
pub use gaussian::{CondGaussian, GaussianSpec};
pub use max::Max;
pub use max_pool::MaxPool2d;
pub use permute_axes::PermuteAxes;
pub use property::{check_surjection, SurjectionReport};
pub use reshape::Reshape;
pub use set_coupling::SetCoupling;
pub use set_permute::SetPermute;
pub use slice::Slice;
pub use sort::Sort;
pub use sort_points::SortPoints;
pub use var_dequantize::VariationalDequantize;

use crate::error::{Error, Result};
use candle_core::Tensor;

/// Check that `t` is `(batch, width)`; returns the batch size.
pub(crate) fn expect_width(t: &Tensor, width: usize, what: &str) -> Result<usize> {
    match t.dims() {
        [b, w] if *w == width => Ok(*b),
        _ => Err(Error::Shape {
            what: what.into(),
            expected: format!("(batch, {width})"),
            got: t.dims().to_vec(),
        }),
    }
}
