//! Neural-network building blocks: dense and masked layers, and the conditioner
//! networks that produce the parameters of element-wise maps.

pub mod activation;
pub mod conditioner;
pub mod fused_linear;
pub mod linear;
pub mod masked_mlp;
pub mod mlp;
pub mod residual_mlp;

pub use activation::Activation;
pub use conditioner::{Conditioner, ConditionerSpec};
pub use linear::Linear;
pub use masked_mlp::MaskedMlp;
pub use mlp::Mlp;
pub use residual_mlp::ResidualMlp;
