//! [`EmbeddingNetSpec`], the serializable description of a context embedding network
//! (the `net` of a flow's `embedding`), and its factory: [`EmbeddingNetSpec::build`] makes
//! an [`Embedding`] whose parameters live in the given [`Params`] store, so they are
//! saved, loaded and checkpointed with the flow (names under `embedding.`).

use crate::checks::expect_matrix;
use crate::error::{Error, Result};
use crate::nn::conditioner::Conditioner;
use crate::nn::conditioner_spec::ConditionerSpec;
use crate::nn::conv1d::{Conv1dConfig, Conv1dEmbedding, Pooling};
use crate::nn::deep_set::DeepSet;
use crate::nn::embedding::Embedding;
use crate::nn::Activation;
use crate::params::Params;
use candle_core::Tensor;
use serde::{Deserialize, Serialize};

/// Serializable description of an embedding network (`embedding.net` in a flow spec).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum EmbeddingNetSpec {
    /// Plain MLP on the whole context: `layers` hidden layers of width `hidden`.
    Mlp {
        /// Hidden width.
        hidden: usize,
        /// Number of hidden layers (≥ 1).
        layers: usize,
        /// Non-linearity between layers.
        #[serde(default)]
        activation: Activation,
        /// Initialise the output layer to zero (kept so that flows saved before the
        /// embedding variants existed load unchanged; rarely useful for an embedding).
        #[serde(default)]
        zero_init_output: bool,
    },
    /// Residual MLP on the whole context: `blocks` residual blocks of width `hidden`.
    ResidualMlp {
        /// Hidden width.
        hidden: usize,
        /// Number of residual blocks (≥ 1).
        blocks: usize,
        /// Non-linearity.
        #[serde(default)]
        activation: Activation,
        /// Initialise the output layer to zero (see `Mlp`).
        #[serde(default)]
        zero_init_output: bool,
    },
    /// Permutation-invariant network over iid trials (a deep set): the context holds
    /// `n_trials · trial_dim` values, trial 0's first; φ maps each trial to
    /// `pooled_dim` features, they are averaged over trials, and ρ maps the mean to
    /// the embedding.
    DeepSet {
        /// Values per trial; the context width must be a multiple of it.
        trial_dim: usize,
        /// Hidden width of φ and ρ.
        #[serde(default = "default_hidden")]
        hidden: usize,
        /// Hidden layers of φ and of ρ (≥ 1 each).
        #[serde(default = "default_layers")]
        layers: usize,
        /// Width of the per-trial features that are averaged.
        #[serde(default = "default_pooled_dim")]
        pooled_dim: usize,
        /// Non-linearity (also applied to φ's output before the mean).
        #[serde(default)]
        activation: Activation,
    },
    /// 1-D convolutional network for time series: the context holds `channels ×
    /// length` values, channel-major (channel 0's whole series first).
    Conv1d {
        /// Number of series.
        channels: usize,
        /// Length of each series.
        length: usize,
        /// Fixed average pooling by this factor before the first convolution (1 = none;
        /// a trailing remainder of fewer than `downsample` steps is dropped). Absent:
        /// `max(1, length / 100)` ([`auto_downsample`]), which leaves 100–199 steps of a
        /// long series.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        downsample: Option<usize>,
        /// Output channels of every convolution.
        #[serde(default = "default_filters")]
        filters: usize,
        /// Kernel width (zero padding `kernel / 2` on both sides).
        #[serde(default = "default_kernel")]
        kernel: usize,
        /// Number of convolution blocks (conv → activation → pool), ≥ 1.
        #[serde(default = "default_conv_layers")]
        layers: usize,
        /// Pooling window and stride after each convolution (1 = none).
        #[serde(default = "default_pool")]
        pool: usize,
        /// Max or average pooling.
        #[serde(default)]
        pooling: Pooling,
        /// Width of the dense layer after flattening.
        #[serde(default = "default_hidden")]
        hidden: usize,
        /// Non-linearity.
        #[serde(default)]
        activation: Activation,
    },
}

/// The `downsample` of a `conv1d` embedding that leaves it out: `max(1, length / 100)`.
/// Part of the saved-model format (a flow saved without `downsample` is rebuilt with
/// this factor), so it must not change.
pub fn auto_downsample(length: usize) -> usize {
    (length / 100).max(1)
}

fn default_hidden() -> usize {
    64
}
fn default_layers() -> usize {
    2
}
fn default_pooled_dim() -> usize {
    32
}
fn default_filters() -> usize {
    16
}
fn default_kernel() -> usize {
    5
}
fn default_conv_layers() -> usize {
    2
}
fn default_pool() -> usize {
    2
}

impl EmbeddingNetSpec {
    /// A plain ReLU MLP with `layers` hidden layers of width `hidden`.
    pub fn mlp(hidden: usize, layers: usize) -> Self {
        EmbeddingNetSpec::Mlp {
            hidden,
            layers,
            activation: Activation::Relu,
            zero_init_output: false,
        }
    }

    /// A deep set over trials of `trial_dim` values with the default sizes
    /// (hidden 64, 2 layers, pooled width 32, ReLU).
    pub fn deep_set(trial_dim: usize) -> Self {
        EmbeddingNetSpec::DeepSet {
            trial_dim,
            hidden: default_hidden(),
            layers: default_layers(),
            pooled_dim: default_pooled_dim(),
            activation: Activation::Relu,
        }
    }

    /// A 1-D CNN over `channels` series of `length` steps with the default sizes
    /// (automatic downsampling, 2 blocks of 16 filters of width 5, max-pool 2, hidden 64,
    /// ReLU).
    pub fn conv1d(channels: usize, length: usize) -> Self {
        EmbeddingNetSpec::Conv1d {
            channels,
            length,
            downsample: None,
            filters: default_filters(),
            kernel: default_kernel(),
            layers: default_conv_layers(),
            pool: default_pool(),
            pooling: Pooling::Max,
            hidden: default_hidden(),
            activation: Activation::Relu,
        }
    }

    /// The variant's name as written in the spec (`"mlp"`, `"deep_set"`, ...).
    pub fn type_name(&self) -> &'static str {
        match self {
            EmbeddingNetSpec::Mlp { .. } => "mlp",
            EmbeddingNetSpec::ResidualMlp { .. } => "residual_mlp",
            EmbeddingNetSpec::DeepSet { .. } => "deep_set",
            EmbeddingNetSpec::Conv1d { .. } => "conv1d",
        }
    }

    /// Check the sizes against a raw context of width `in_dim` and an embedding of
    /// width `out_dim`, without building anything (`Error::Config` saying what is wrong).
    pub fn validate(&self, in_dim: usize, out_dim: usize) -> Result<()> {
        let name = self.type_name();
        if in_dim == 0 || out_dim == 0 {
            return Err(Error::config(format!(
                "{name} embedding: context width and out_dim must be at least 1, got {in_dim} and {out_dim}"
            )));
        }
        let positive = |what: &str, v: usize| {
            if v == 0 {
                Err(Error::config(format!(
                    "{name} embedding: {what} must be at least 1"
                )))
            } else {
                Ok(())
            }
        };
        match *self {
            EmbeddingNetSpec::Mlp { hidden, layers, .. } => {
                positive("hidden", hidden)?;
                positive("layers", layers)
            }
            EmbeddingNetSpec::ResidualMlp { hidden, blocks, .. } => {
                positive("hidden", hidden)?;
                positive("blocks", blocks)
            }
            EmbeddingNetSpec::DeepSet {
                trial_dim,
                hidden,
                layers,
                pooled_dim,
                ..
            } => {
                positive("trial_dim", trial_dim)?;
                positive("hidden", hidden)?;
                positive("layers", layers)?;
                positive("pooled_dim", pooled_dim)?;
                DeepSet::trials(in_dim, trial_dim).map(|_| ())
            }
            EmbeddingNetSpec::Conv1d {
                channels,
                length,
                downsample,
                filters,
                kernel,
                layers,
                pool,
                hidden,
                ..
            } => {
                let downsample = downsample.unwrap_or_else(|| auto_downsample(length));
                for (what, v) in [
                    ("channels", channels),
                    ("length", length),
                    ("downsample", downsample),
                    ("filters", filters),
                    ("kernel", kernel),
                    ("layers", layers),
                    ("pool", pool),
                    ("hidden", hidden),
                ] {
                    positive(what, v)?;
                }
                if channels.checked_mul(length) != Some(in_dim) {
                    return Err(Error::config(format!(
                        "conv1d embedding: context width {in_dim} is not channels {channels} × length {length} = {}",
                        channels as u128 * length as u128
                    )));
                }
                Conv1dEmbedding::lengths(length, downsample, kernel, layers, pool).map(|_| ())
            }
        }
    }

    /// Build the network for a raw context of width `in_dim` and an embedding of width
    /// `out_dim`, its parameters created in (or taken from) `params`.
    pub fn build(
        &self,
        params: &Params,
        in_dim: usize,
        out_dim: usize,
    ) -> Result<Box<dyn Embedding>> {
        self.validate(in_dim, out_dim)?;
        Ok(match *self {
            EmbeddingNetSpec::Mlp {
                hidden,
                layers,
                activation,
                zero_init_output,
            } => DenseEmbedding::build(
                ConditionerSpec::Mlp {
                    hidden,
                    layers,
                    activation,
                    zero_init_output,
                },
                params,
                in_dim,
                out_dim,
            )?,
            EmbeddingNetSpec::ResidualMlp {
                hidden,
                blocks,
                activation,
                zero_init_output,
            } => DenseEmbedding::build(
                ConditionerSpec::ResidualMlp {
                    hidden,
                    blocks,
                    activation,
                    zero_init_output,
                },
                params,
                in_dim,
                out_dim,
            )?,
            EmbeddingNetSpec::DeepSet {
                trial_dim,
                hidden,
                layers,
                pooled_dim,
                activation,
            } => Box::new(DeepSet::new(
                params, in_dim, out_dim, trial_dim, hidden, layers, pooled_dim, activation,
            )?),
            EmbeddingNetSpec::Conv1d {
                channels,
                length,
                downsample,
                filters,
                kernel,
                layers,
                pool,
                pooling,
                hidden,
                activation,
            } => Box::new(Conv1dEmbedding::new(
                params,
                Conv1dConfig {
                    channels,
                    length,
                    downsample: downsample.unwrap_or_else(|| auto_downsample(length)),
                    filters,
                    kernel,
                    layers,
                    pool,
                    pooling,
                    hidden,
                    activation,
                },
                out_dim,
            )?),
        })
    }
}

/// An MLP or residual MLP applied to the whole context (a [`Conditioner`] with no
/// conditioning input and the raw context as its context, as flows saved before the
/// other embeddings existed were built; the parameter names are unchanged).
#[derive(Debug)]
struct DenseEmbedding {
    net: Box<dyn Conditioner>,
    in_dim: usize,
}

impl DenseEmbedding {
    fn build(
        spec: ConditionerSpec,
        params: &Params,
        in_dim: usize,
        out_dim: usize,
    ) -> Result<Box<dyn Embedding>> {
        let net = spec.build(params, 0, in_dim, out_dim)?;
        Ok(Box::new(DenseEmbedding { net, in_dim }))
    }
}

impl Embedding for DenseEmbedding {
    fn forward(&self, ctx: &Tensor) -> Result<Tensor> {
        expect_matrix(ctx, self.in_dim, "embedding input")?;
        self.net.forward(&ctx.narrow(1, 0, 0)?, Some(ctx))
    }
    fn in_dim(&self) -> usize {
        self.in_dim
    }
    fn out_dim(&self) -> usize {
        self.net.out_dim()
    }
}
