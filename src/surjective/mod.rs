//! Surjective layers (SurVAE flows, Nielsen et al. 2020): layers that change the
//! dimension or forget information, used in a [`crate::flow::Flow`] beside the
//! bijections of [`crate::transforms`]. Each implements [`crate::transforms::Transform`]:
//! `forward` (data → latent) returns the layer's likelihood contribution in place of
//! the log-determinant, and [`Transform::likelihood`](crate::transforms::Transform::likelihood)
//! says whether it is exact or a stochastic bound.
//!
//! * Inference surjections (deterministic forward, exact contribution, `inverse`
//!   samples): [`Slice`], [`Abs`], [`Sort`], [`MaxPool2d`].
//! * Generative surjections (forward samples, contribution a bound): [`Augment`],
//!   [`UniformDequantize`].
//!
//! Randomness comes from each layer's seed mixed with a hash of the input batch
//! ([`noise`]): the same batch gives the same draws (reproducible densities, a
//! bit-identical reload), different batches (and the rows of one batch) different
//! ones. The math of every layer is in docs/SURJECTIVE.md.

pub mod abs;
pub mod augment;
pub mod dequantize;
pub mod gaussian;
pub mod max_pool;
pub mod noise;
pub mod property;
pub mod slice;
pub mod sort;

pub use abs::Abs;
pub use augment::Augment;
pub use dequantize::UniformDequantize;
pub use gaussian::{CondGaussian, GaussianSpec};
pub use max_pool::MaxPool2d;
pub use property::{check_surjection, SurjectionReport};
pub use slice::Slice;
pub use sort::Sort;

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
