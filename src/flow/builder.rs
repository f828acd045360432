//! Builders for the common flow stacks (RealNVP, NSF, MAF, IAF, and the classic
//! planar / radial / Sylvester variational families) with the seed study's settings as
//! presets.

use crate::distributions::BaseSpec;
use crate::error::{Error, Result};
use crate::flow::{EmbeddingSpec, FlowConfig, FlowSpec};
use crate::nn::ConditionerSpec;
use crate::transforms::{ElementwiseSpec, Orthonormal, Permutation, TransformSpec};
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

/// The family of blocks a flow is built from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlowKind {
    /// Affine couplings (RealNVP).
    #[serde(rename = "realnvp")]
    RealNvp,
    /// Rational-quadratic spline couplings (neural spline flow).
    Nsf,
    /// Masked autoregressive, affine (MAF).
    Maf,
    /// Masked autoregressive, rational-quadratic spline.
    MafSpline,
    /// Planar layers (`transforms::classic::Planar`): explicit sampling, root-finding
    /// density; no mixing between blocks (each layer acts on every feature).
    Planar,
    /// Radial layers (`transforms::classic::Radial`); no mixing between blocks.
    Radial,
    /// Householder Sylvester layers with `dim` reflections each
    /// (`transforms::classic::Sylvester`); no mixing between blocks (`Q` mixes).
    Sylvester,
    /// Inverse autoregressive flow: affine MAF blocks wrapped in `Inverted`, so sampling
    /// (and the density of the flow's own samples) is one network pass per block and
    /// the density of other points is sequential — the natural variational family.
    Iaf,
}

impl FlowKind {
    /// Whether the blocks are planar, radial or Sylvester layers (no conditioner network).
    pub fn is_classic(self) -> bool {
        matches!(
            self,
            FlowKind::Planar | FlowKind::Radial | FlowKind::Sylvester
        )
    }
}

/// How features are mixed between blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mixing {
    /// Reverse the feature order (the seed study's choice).
    Reverse,
    /// A fixed random permutation per block.
    RandomPermutation,
    /// A fixed random orthonormal matrix per block.
    Orthonormal,
    /// A trainable LU-decomposed linear map per block.
    LuLinear,
}

/// Builder for standard flow stacks: a [`FlowConfig`] (the architecture, as in a
/// job's `[flow]` section) plus what the data decides (dimension, context width,
/// standardisation, embedding network).
#[derive(Debug, Clone)]
pub struct FlowBuilder {
    /// Data dimension.
    pub dim: usize,
    /// Raw context width (0 = unconditional).
    pub context_dim: usize,
    /// The architecture.
    pub flow: FlowConfig,
    /// Fixed standardisation `(mean, std)` as the first layer.
    pub standardize: Option<(Vec<f64>, Vec<f64>)>,
    /// Context embedding network (used when `context_dim > 0`).
    pub embedding: Option<EmbeddingSpec>,
    /// Trainable diagonal-Gaussian base instead of N(0, I).
    pub trainable_base: bool,
}

impl FlowBuilder {
    /// A builder for data of dimension `dim` with the architecture `flow`.
    pub fn new(dim: usize, flow: FlowConfig) -> Self {
        Self {
            dim,
            context_dim: 0,
            flow,
            standardize: None,
            embedding: None,
            trainable_base: false,
        }
    }

    /// [`FlowConfig::realnvp`] for data of dimension `dim`.
    pub fn realnvp(dim: usize) -> Self {
        Self::new(dim, FlowConfig::realnvp())
    }

    /// [`FlowConfig::nsf`] for data of dimension `dim`.
    pub fn nsf(dim: usize) -> Self {
        Self::new(dim, FlowConfig::nsf())
    }

    /// [`FlowConfig::maf`] for data of dimension `dim`.
    pub fn maf(dim: usize) -> Self {
        Self::new(dim, FlowConfig::maf())
    }

    /// Set the number of blocks.
    pub fn blocks(mut self, n: usize) -> Self {
        self.flow.blocks = n;
        self
    }
    /// Set the conditioner width.
    pub fn hidden(mut self, h: usize) -> Self {
        self.flow.hidden = h;
        self
    }
    /// Set the number of conditioner hidden layers.
    pub fn layers(mut self, l: usize) -> Self {
        self.flow.layers = l;
        self
    }
    /// Set the raw context width.
    pub fn context(mut self, c: usize) -> Self {
        self.context_dim = c;
        self
    }
    /// Set the mixing between blocks.
    pub fn mixing(mut self, m: Mixing) -> Self {
        self.flow.mixing = m;
        self
    }
    /// Set the spline bins and tail bound.
    pub fn spline(mut self, bins: usize, tail_bound: f64) -> Self {
        self.flow.bins = bins;
        self.flow.tail_bound = tail_bound;
        self
    }
    /// Set the architecture seed.
    pub fn seed(mut self, s: u64) -> Self {
        self.flow.seed = s;
        self
    }

    fn map(&self) -> ElementwiseSpec {
        match self.flow.kind {
            FlowKind::RealNvp
            | FlowKind::Maf
            | FlowKind::Iaf
            | FlowKind::Planar
            | FlowKind::Radial
            | FlowKind::Sylvester => ElementwiseSpec::Affine {
                scale_bound: self.flow.scale_bound,
            },
            FlowKind::Nsf | FlowKind::MafSpline => {
                ElementwiseSpec::spline(self.flow.bins, self.flow.tail_bound)
            }
        }
    }

    fn conditioner(&self) -> ConditionerSpec {
        if self.flow.residual {
            ConditionerSpec::ResidualMlp {
                hidden: self.flow.hidden,
                blocks: self.flow.layers,
                activation: self.flow.activation,
                zero_init_output: self.flow.zero_init,
            }
        } else {
            ConditionerSpec::Mlp {
                hidden: self.flow.hidden,
                layers: self.flow.layers,
                activation: self.flow.activation,
                zero_init_output: self.flow.zero_init,
            }
        }
    }

    /// The `[flow] surjective` layers placed `at = "data"`, resolved in order from the
    /// data width, and the width they output (the standardisation's width).
    ///
    /// ```
    /// use flowinfer::flow::{FlowBuilder, FlowConfig, Place, PlacedLayer};
    /// let mut cfg = FlowConfig::default();
    /// cfg.surjective.push(PlacedLayer::new(Place::Data, serde_json::json!({"type": "max_pool2d",
    ///     "height": 4, "width": 4, "block": 2}))?);
    /// let (layers, width) = FlowBuilder::new(16, cfg).data_layers()?;
    /// assert_eq!((layers.len(), width), (1, 4));
    /// # Ok::<(), flowinfer::Error>(())
    /// ```
    pub fn data_layers(&self) -> Result<(Vec<TransformSpec>, usize)> {
        self.placed(crate::flow::Place::Data, self.dim)
    }

    /// The placed layers at `at`, resolved in order starting from `width`.
    fn placed(&self, at: crate::flow::Place, width: usize) -> Result<(Vec<TransformSpec>, usize)> {
        let mut w = width;
        let mut out = Vec::new();
        for (i, l) in self.flow.surjective.iter().enumerate() {
            if l.at == at {
                let t = l.resolve(w, i, self.flow.seed)?;
                w = t.output_dim();
                out.push(t);
            }
        }
        Ok((out, w))
    }

    /// The flow description: the `at = "data"` layers, the standardisation, then the
    /// blocks with the layers placed before each (and after the last) — see
    /// [`crate::flow::placed`].
    pub fn build_spec(&self) -> Result<FlowSpec> {
        if self.flow.blocks == 0 {
            return Err(Error::config("a flow needs at least one block"));
        }
        if let Some((i, l)) = self
            .flow
            .surjective
            .iter()
            .enumerate()
            .find(|(_, l)| matches!(l.at, crate::flow::Place::Block(k) if k > self.flow.blocks))
        {
            return Err(Error::config(format!(
                "[flow] surjective[{i}] (type = \"{}\"): {} is past the last block (blocks = {})",
                l.kind(),
                l.at,
                self.flow.blocks
            )));
        }
        let coupling = matches!(self.flow.kind, FlowKind::RealNvp | FlowKind::Nsf);
        let mut rng = rand::rngs::StdRng::seed_from_u64(self.flow.seed);
        let (mut ts, mut d) = self.data_layers()?;
        if let Some((mean, std)) = &self.standardize {
            if mean.len() != d {
                return Err(Error::config(format!(
                    "the standardisation has {} features but the data-side layers (at = \"data\") output {d}; fit it on their output",
                    mean.len()
                )));
            }
            ts.push(TransformSpec::Standardize {
                mean: mean.clone(),
                std: std.clone(),
            });
        }
        let map = self.map();
        let cond = self.conditioner();
        for i in 0..self.flow.blocks {
            let (placed, w) = self.placed(crate::flow::Place::Block(i), d)?;
            ts.extend(placed);
            d = w;
            if coupling && d < 2 {
                return Err(Error::config(format!(
                    "coupling flows need at least 2 dimensions (got {d} at block {i}); use a MAF for 1-D data"
                )));
            }
            let natural: Vec<usize> = (0..d).collect();
            if i > 0 && !self.flow.kind.is_classic() {
                ts.push(match self.flow.mixing {
                    Mixing::Reverse => TransformSpec::Permutation {
                        perm: Permutation::reverse_order(d),
                    },
                    Mixing::RandomPermutation => TransformSpec::Permutation {
                        perm: Permutation::random_order(d, rng.random()),
                    },
                    Mixing::Orthonormal => TransformSpec::Orthonormal {
                        dim: d,
                        matrix: Orthonormal::random_matrix(d, rng.random()),
                    },
                    Mixing::LuLinear => TransformSpec::LuLinear { dim: d },
                });
            }
            if self.flow.actnorm {
                ts.push(TransformSpec::ActNorm {
                    dim: d,
                    initialized: false,
                });
            }
            let made = || TransformSpec::MaskedAutoregressive {
                dim: d,
                order: natural.clone(),
                map: map.clone(),
                conditioner: cond.clone(),
            };
            ts.push(match self.flow.kind {
                FlowKind::RealNvp | FlowKind::Nsf => TransformSpec::Coupling {
                    dim: d,
                    identity: (0..d / 2).collect(),
                    map: map.clone(),
                    conditioner: cond.clone(),
                },
                FlowKind::Maf | FlowKind::MafSpline => made(),
                FlowKind::Iaf => TransformSpec::Inverted {
                    inner: Box::new(made()),
                },
                FlowKind::Planar => TransformSpec::Planar { dim: d },
                FlowKind::Radial => TransformSpec::Radial { dim: d },
                FlowKind::Sylvester => TransformSpec::Sylvester {
                    dim: d,
                    reflections: d,
                },
            });
        }
        let (placed, w) = self.placed(crate::flow::Place::Block(self.flow.blocks), d)?;
        ts.extend(placed);
        d = w;
        let base = if self.trainable_base {
            BaseSpec::DiagGaussian { dim: d }
        } else {
            BaseSpec::StandardNormal { dim: d }
        };
        let embedding = match (&self.embedding, self.context_dim) {
            (Some(e), c) if c > 0 => Some(e.clone()),
            _ => None,
        };
        let spec = FlowSpec {
            dim: self.dim,
            context_dim: self.context_dim,
            embedding,
            base,
            transforms: ts,
        };
        spec.validate()?;
        Ok(spec)
    }
}
