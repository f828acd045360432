//! # flowinfer
//!
//! Normalizing flows on candle for scientific inference: density estimation,
//! simulation-based inference, Bayesian flows and importance-sampled integration.
//!
//! Conventions (see `docs/ARCHITECTURE.md`): `forward` maps data → latent, `inverse`
//! maps latent → data, both return `(output, log|det J|)` with the log-determinant of
//! shape `(batch,)`; data is `(batch, dim)`, context `(batch, context_dim)`.

#![deny(missing_docs)]

pub mod atomic;
pub mod bayes;
pub mod checks;
pub mod cnf;
pub mod config;
pub mod data;
pub mod density;
pub mod device;
pub mod distributions;
pub mod error;
pub mod flow;
pub mod integrate;
pub mod metrics;
pub mod nn;
pub mod params;
pub mod plot;
pub mod random;
pub mod sbi;
pub mod testing;
pub mod train;
pub mod transforms;

pub use error::{Error, Result};
pub use flow::{Flow, FlowBuilder, FlowKind, FlowSpec, Mixing};
pub use transforms::Transform;

/// Re-export of the tensor crate so users need not depend on it directly.
pub use candle_core;

/// The commonly used items.
pub mod prelude {
    pub use crate::distributions::{BaseDistribution, BaseSpec};
    pub use crate::error::{Error, Result};
    pub use crate::flow::{Flow, FlowBuilder, FlowKind, FlowSpec, Mixing};
    pub use crate::nn::ConditionerSpec;
    pub use crate::transforms::{ElementwiseSpec, Transform, TransformSpec};
    pub use candle_core::{DType, Device, Tensor};
}
