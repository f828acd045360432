//! Neural-network building blocks: dense and masked layers, the conditioner networks
//! that produce the parameters of element-wise maps, and the context embedding
//! networks of conditional flows.
//!
//! The dense networks share one core ([`layer`]): a [`Layer`] trait implemented by
//! [`Linear`] and [`BayesLinear`], and [`LayerStack`], the MLP body (width chaining,
//! `l{i}` parameter names, the forward loop). The traits ([`Conditioner`],
//! [`Embedding`]) and the factories that build their implementations
//! ([`ConditionerSpec`], [`EmbeddingNetSpec`]) live in separate modules, so the
//! networks import the traits and the factories import the networks.

pub mod activation;
pub mod bayes_linear;
pub mod bayes_mlp;
pub mod conditioner;
pub mod conditioner_spec;
pub mod conv1d;
pub mod conv1d_kernels;
pub mod deep_set;
pub mod embedding;
pub mod embedding_spec;
pub mod fused_linear;
pub mod layer;
pub mod linear;
pub mod masked_mlp;
pub mod mlp;
pub mod residual_mlp;

pub use activation::Activation;
pub use bayes_linear::{BayesLinear, BayesLinearConfig, NoiseControl, WeightNoise};
pub use bayes_mlp::{BayesMaskedMlp, BayesMlp};
pub use conditioner::{Conditioner, Dims, NetShape};
pub use conditioner_spec::ConditionerSpec;
pub use conv1d::{Conv1dConfig, Conv1dEmbedding, Pooling};
pub use deep_set::DeepSet;
pub use embedding::Embedding;
pub use embedding_spec::{auto_downsample, EmbeddingNetSpec};
pub use layer::{Layer, LayerSpec, LayerStack, Nonlinearity, ResidualBlock};
pub use linear::Linear;
pub use masked_mlp::{Made, MaskedMlp};
pub use mlp::Mlp;
pub use residual_mlp::ResidualMlp;
