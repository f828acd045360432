//! Context embedding networks: the network a conditional flow applies once to the raw
//! context before its transforms see it (neural posterior estimation embeds the
//! observation `x` and trains the embedding jointly with the flow).
//!
//! This module holds the [`Embedding`] trait; the networks are described and built by
//! [`EmbeddingNetSpec`](crate::nn::EmbeddingNetSpec) (`nn::embedding_spec`).

use crate::error::Result;
use candle_core::Tensor;

/// A network mapping a raw context `(batch, in_dim)` to an embedding `(batch, out_dim)`.
pub trait Embedding: Send + Sync + std::fmt::Debug {
    /// Embed `ctx` of shape `(batch, in_dim)`; `Error::Shape` for any other shape.
    fn forward(&self, ctx: &Tensor) -> Result<Tensor>;
    /// Width of the raw context.
    fn in_dim(&self) -> usize;
    /// Width of the embedding.
    fn out_dim(&self) -> usize;
}
