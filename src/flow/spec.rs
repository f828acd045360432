//! The serializable description of a whole flow.

use crate::distributions::BaseSpec;
use crate::error::{Error, Result};
use crate::nn::EmbeddingNetSpec;
use crate::transforms::TransformSpec;
use serde::{Deserialize, Serialize};

/// An embedding network applied to the raw context before it reaches the transforms
/// (trained jointly with the flow; parameters named `embedding.*`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmbeddingSpec {
    /// The network (MLP, residual MLP, deep set, 1-D CNN; see docs/SPECS.md).
    pub net: EmbeddingNetSpec,
    /// Width of the embedded context.
    pub out_dim: usize,
}

impl EmbeddingSpec {
    /// A ReLU MLP embedding with `layers` hidden layers of width `hidden`.
    pub fn mlp(hidden: usize, layers: usize, out_dim: usize) -> Self {
        Self {
            net: EmbeddingNetSpec::mlp(hidden, layers),
            out_dim,
        }
    }

    /// Check the network's sizes against a raw context of width `context_dim`.
    pub fn validate(&self, context_dim: usize) -> Result<()> {
        self.net.validate(context_dim, self.out_dim)
    }
}

/// Everything needed to rebuild a flow apart from its weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlowSpec {
    /// Data dimension.
    pub dim: usize,
    /// Width of the raw context (0 = unconditional).
    #[serde(default)]
    pub context_dim: usize,
    /// Optional embedding network for the context.
    #[serde(default)]
    pub embedding: Option<EmbeddingSpec>,
    /// The base distribution.
    pub base: BaseSpec,
    /// Transforms in the data → latent order.
    pub transforms: Vec<TransformSpec>,
}

impl FlowSpec {
    /// Width of the context as the transforms see it (after embedding).
    pub fn embedded_context_dim(&self) -> usize {
        match &self.embedding {
            Some(e) if self.context_dim > 0 => e.out_dim,
            _ => self.context_dim,
        }
    }

    /// Check that the dimensions chain: data → every transform → base.
    pub fn validate(&self) -> Result<()> {
        if self.dim == 0 {
            return Err(Error::config("flow dimension must be at least 1"));
        }
        if let Some(e) = &self.embedding {
            if self.context_dim == 0 {
                return Err(Error::config(
                    "an embedding network is configured but context_dim is 0",
                ));
            }
            e.validate(self.context_dim)?;
        }
        let mut d = self.dim;
        for (i, t) in self.transforms.iter().enumerate() {
            if t.dim() != d {
                return Err(Error::config(format!(
                    "transform {i} ({}) expects {} features but receives {d}",
                    kind_name(t),
                    t.dim()
                )));
            }
            d = t.output_dim();
        }
        if self.base.dim() != d {
            return Err(Error::config(format!(
                "base distribution has dimension {} but the transforms output {d}",
                self.base.dim()
            )));
        }
        Ok(())
    }
}

fn kind_name(t: &TransformSpec) -> String {
    serde_json::to_value(t)
        .ok()
        .and_then(|v| v.get("type").and_then(|s| s.as_str()).map(String::from))
        .unwrap_or_else(|| "transform".into())
}
