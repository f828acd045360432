//! The serializable description of a whole flow.

use crate::distributions::BaseSpec;
use crate::error::{Error, Result};
use crate::nn::ConditionerSpec;
use crate::transforms::TransformSpec;
use serde::{Deserialize, Serialize};

/// An embedding network applied to the raw context before it reaches the transforms.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmbeddingSpec {
    /// The network (an MLP or residual MLP).
    pub net: ConditionerSpec,
    /// Width of the embedded context.
    pub out_dim: usize,
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
        if self.embedding.is_some() && self.context_dim == 0 {
            return Err(Error::config(
                "an embedding network is configured but context_dim is 0",
            ));
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
            d = t.dim();
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
