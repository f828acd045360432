//! Neural-network building blocks: dense and masked layers, the conditioner networks
//! that produce the parameters of element-wise maps, and the context embedding
//! networks of conditional flows.

pub mod activation;
pub mod bayes_linear;
pub mod bayes_mlp;
pub mod conditioner;
pub mod conv1d;
pub mod conv1d_kernels;
pub mod deep_set;
pub mod embedding;
pub mod fused_linear;
pub mod linear;
pub mod masked_mlp;
pub mod mlp;
pub mod residual_mlp;

pub use activation::Activation;
pub use bayes_linear::{BayesLinear, BayesLinearConfig, NoiseControl, WeightNoise};
pub use bayes_mlp::{BayesMaskedMlp, BayesMlp};
pub use conditioner::{Conditioner, ConditionerSpec};
pub use conv1d::{Conv1dConfig, Conv1dEmbedding};
pub use deep_set::DeepSet;
pub use embedding::{Embedding, EmbeddingNetSpec, Pooling};
pub use linear::Linear;
pub use masked_mlp::MaskedMlp;
pub use mlp::Mlp;
pub use residual_mlp::ResidualMlp;
