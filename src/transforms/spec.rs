//! Serializable descriptions of transforms: a flow is saved as a list of these (JSON)
//! plus its weights (safetensors), and rebuilt from them.

use crate::error::Result;
use crate::nn::ConditionerSpec;
use crate::params::Params;
use crate::transforms::*;
use serde::{Deserialize, Serialize};

/// Everything needed to rebuild a transform apart from its trained weights. Random
/// choices (permutations, orthonormal matrices) are resolved when the spec is made, so
/// rebuilding is deterministic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TransformSpec {
    /// A coupling layer; `identity` lists the conditioning features.
    Coupling {
        /// Number of features.
        dim: usize,
        /// Features passed through unchanged (and fed to the conditioner).
        identity: Vec<usize>,
        /// The element-wise map applied to the other features.
        map: ElementwiseSpec,
        /// The conditioner network.
        conditioner: ConditionerSpec,
    },
    /// A masked autoregressive layer.
    MaskedAutoregressive {
        /// Number of features.
        dim: usize,
        /// Autoregressive order: `order[k]` is the k-th feature visited.
        order: Vec<usize>,
        /// Element-wise map.
        map: ElementwiseSpec,
        /// The (masked) conditioner network.
        conditioner: ConditionerSpec,
    },
    /// Fixed permutation `z[:, j] = x[:, perm[j]]`.
    Permutation {
        /// The order.
        perm: Vec<usize>,
    },
    /// Fixed orthonormal matrix (row-major).
    Orthonormal {
        /// Number of features.
        dim: usize,
        /// `dim × dim` entries, row-major.
        matrix: Vec<f64>,
    },
    /// Trainable LU-decomposed linear map.
    LuLinear {
        /// Number of features.
        dim: usize,
    },
    /// ActNorm with data-dependent initialisation.
    ActNorm {
        /// Number of features.
        dim: usize,
        /// Whether its parameters were already initialised from data.
        #[serde(default)]
        initialized: bool,
    },
    /// Fixed z-score.
    Standardize {
        /// Per-feature means.
        mean: Vec<f64>,
        /// Per-feature standard deviations.
        std: Vec<f64>,
    },
    /// Element-wise sigmoid ℝ → (0, 1).
    Sigmoid {
        /// Number of features.
        dim: usize,
    },
    /// Element-wise logit from a box to ℝ.
    Logit {
        /// Lower bounds.
        low: Vec<f64>,
        /// Upper bounds.
        high: Vec<f64>,
    },
    /// Per-column maps from physical domains to ℝ (`domain::Domain`).
    Domain {
        /// One map per column.
        maps: Vec<crate::transforms::domain::DomainMap>,
        /// Seed of the dequantisation offsets of integer columns.
        seed: u64,
    },
    /// Another transform with its directions swapped.
    Inverted {
        /// The wrapped transform.
        inner: Box<TransformSpec>,
    },
    /// A continuous normalizing flow layer (`crate::cnf`).
    Cnf(crate::cnf::CnfSpec),
    /// Planar layer (`classic::Planar`), explicit in the sampling direction.
    Planar {
        /// Number of features.
        dim: usize,
    },
    /// Radial layer (`classic::Radial`), explicit in the sampling direction.
    Radial {
        /// Number of features.
        dim: usize,
    },
    /// Householder Sylvester layer (`classic::Sylvester`), explicit in the sampling
    /// direction.
    Sylvester {
        /// Number of features.
        dim: usize,
        /// Householder reflections in its orthogonal matrix.
        reflections: usize,
    },
    /// Slice (`surjective::Slice`): keep the first `keep` of `dim` features; the
    /// dropped ones are modelled by `model` given the kept ones.
    Slice {
        /// Number of input features.
        dim: usize,
        /// Features kept (the output width).
        keep: usize,
        /// The Gaussian of the dropped features.
        model: crate::surjective::GaussianSpec,
        /// Seed of the sampling direction.
        seed: u64,
    },
    /// Augment (`surjective::Augment`): add `extra` features drawn from `model`.
    Augment {
        /// Number of input features.
        dim: usize,
        /// Added features.
        extra: usize,
        /// The Gaussian of the added features given the input.
        model: crate::surjective::GaussianSpec,
        /// Seed of the draws.
        seed: u64,
    },
    /// Absolute value (`surjective::Abs`) with fixed (½) or learned sign probabilities.
    Abs {
        /// Number of features.
        dim: usize,
        /// Whether the sign probabilities are trainable.
        learned: bool,
        /// Seed of the sign draws.
        seed: u64,
    },
    /// Sort each row (`surjective::Sort`); the inverse draws a random permutation.
    Sort {
        /// Number of values per row.
        dim: usize,
        /// Seed of the permutations.
        seed: u64,
    },
    /// Max pooling over `block × block` blocks of `height × width` images
    /// (`surjective::MaxPool2d`).
    MaxPool2d {
        /// Image height.
        height: usize,
        /// Image width.
        width: usize,
        /// Block side (divides both).
        block: usize,
        /// Seed of the sampling direction.
        seed: u64,
    },
    /// Uniform dequantization of integer features (`surjective::UniformDequantize`).
    UniformDequantize {
        /// Number of features.
        dim: usize,
        /// Seed of the offsets.
        seed: u64,
    },
    /// A random order of the points of each row each call (`surjective::SetPermute`).
    SetPermute {
        /// Points per row.
        points: usize,
        /// Coordinates per point.
        coords: usize,
        /// Seed of the permutations.
        seed: u64,
    },
    /// Sort the points of each row by a key coordinate (`surjective::SortPoints`).
    SortPoints {
        /// Points per row.
        points: usize,
        /// Coordinates per point.
        coords: usize,
        /// The coordinate sorted by.
        key: usize,
        /// Seed of the permutations of the inverse.
        seed: u64,
    },
    /// Transpose structured rows (`surjective::PermuteAxes`).
    PermuteAxes {
        /// Row shape (row-major).
        shape: Vec<usize>,
        /// Output axis `k` is input axis `axes[k]`.
        axes: Vec<usize>,
    },
    /// Read rows of shape `from` as shape `to` (`surjective::Reshape`).
    Reshape {
        /// Input row shape.
        from: Vec<usize>,
        /// Output row shape (same number of values).
        to: Vec<usize>,
    },
    /// Point-wise affine coupling over sets (`surjective::SetCoupling`).
    SetCoupling {
        /// Points per row.
        points: usize,
        /// Coordinates per point.
        coords: usize,
        /// Coordinates mapped (the others condition).
        transformed: Vec<usize>,
        /// Hidden width of the networks.
        hidden: usize,
        /// Hidden layers of the shift/scale network.
        depth: usize,
    },
    /// The maximum of a row (`surjective::Max`), learned index and gap scales.
    Max {
        /// Number of input values (the output is 1 value).
        dim: usize,
        /// Seed of the sampling direction.
        seed: u64,
    },
    /// Absolute value with sign probabilities from an MLP of the flow's context
    /// (`surjective::ConditionalAbs`).
    ConditionalAbs {
        /// Number of features.
        dim: usize,
        /// Hidden width of the MLP.
        hidden: usize,
        /// Seed of the sign draws.
        seed: u64,
    },
    /// Variational dequantization of integer features
    /// (`surjective::VariationalDequantize`).
    VariationalDequantize {
        /// Number of features.
        dim: usize,
        /// Hidden width of the MLP of `q(u | x)`.
        hidden: usize,
        /// Hidden layers of the MLP.
        depth: usize,
        /// Seed of the draws.
        seed: u64,
    },
}

impl TransformSpec {
    /// Number of input features of the described transform.
    pub fn dim(&self) -> usize {
        match self {
            TransformSpec::Coupling { dim, .. }
            | TransformSpec::MaskedAutoregressive { dim, .. }
            | TransformSpec::Orthonormal { dim, .. }
            | TransformSpec::LuLinear { dim }
            | TransformSpec::ActNorm { dim, .. }
            | TransformSpec::Sigmoid { dim }
            | TransformSpec::Planar { dim }
            | TransformSpec::Radial { dim }
            | TransformSpec::Sylvester { dim, .. }
            | TransformSpec::Slice { dim, .. }
            | TransformSpec::Augment { dim, .. }
            | TransformSpec::Abs { dim, .. }
            | TransformSpec::Sort { dim, .. }
            | TransformSpec::UniformDequantize { dim, .. }
            | TransformSpec::Max { dim, .. }
            | TransformSpec::ConditionalAbs { dim, .. }
            | TransformSpec::VariationalDequantize { dim, .. } => *dim,
            TransformSpec::Permutation { perm } => perm.len(),
            TransformSpec::Standardize { mean, .. } => mean.len(),
            TransformSpec::Logit { low, .. } => low.len(),
            TransformSpec::Domain { maps, .. } => maps.len(),
            TransformSpec::Inverted { inner } => inner.output_dim(),
            TransformSpec::MaxPool2d { height, width, .. } => height * width,
            TransformSpec::Cnf(c) => c.dim,
            TransformSpec::SetPermute { points, coords, .. }
            | TransformSpec::SortPoints { points, coords, .. }
            | TransformSpec::SetCoupling { points, coords, .. } => points * coords,
            TransformSpec::PermuteAxes { shape, .. } => shape.iter().product(),
            TransformSpec::Reshape { from, .. } => from.iter().product(),
        }
    }

    /// Number of output features (differs from [`dim`](Self::dim) for slice and
    /// augment layers).
    pub fn output_dim(&self) -> usize {
        match self {
            TransformSpec::Slice { keep, .. } => *keep,
            TransformSpec::Augment { dim, extra, .. } => dim + extra,
            TransformSpec::Inverted { inner } => inner.dim(),
            TransformSpec::MaxPool2d {
                height,
                width,
                block,
                ..
            } => (height / block) * (width / block),
            TransformSpec::Max { .. } => 1,
            other => other.dim(),
        }
    }

    /// Build the transform; `params` is the layer's own parameter scope and
    /// `context_dim` the (embedded) context width (used by conditioned layers only).
    pub fn build(&self, params: &Params, context_dim: usize) -> Result<Box<dyn Transform>> {
        let dev = params.device();
        let dt = params.dtype();
        Ok(match self {
            TransformSpec::Coupling {
                dim,
                identity,
                map,
                conditioner,
            } => Box::new(Coupling::new(
                params,
                *dim,
                identity,
                map,
                conditioner,
                context_dim,
            )?),
            TransformSpec::MaskedAutoregressive {
                dim,
                order,
                map,
                conditioner,
            } => Box::new(MaskedAutoregressive::new(
                params,
                *dim,
                order,
                map,
                conditioner,
                context_dim,
            )?),
            TransformSpec::Permutation { perm } => Box::new(Permutation::new(perm, dev)?),
            TransformSpec::Orthonormal { dim, matrix } => {
                Box::new(Orthonormal::new(*dim, matrix, dt, dev)?)
            }
            TransformSpec::LuLinear { dim } => Box::new(LuLinear::new(params, *dim)?),
            TransformSpec::ActNorm { dim, initialized } => {
                Box::new(ActNorm::new(params, *dim, *initialized)?)
            }
            TransformSpec::Standardize { mean, std } => {
                Box::new(Standardize::new(mean, std, dt, dev)?)
            }
            TransformSpec::Sigmoid { dim } => Box::new(Sigmoid::new(*dim)),
            TransformSpec::Logit { low, high } => Box::new(Logit::new(low, high, dt, dev)?),
            TransformSpec::Domain { maps, seed } => {
                Box::new(crate::transforms::domain::Domain::new(maps.clone(), *seed)?)
            }
            TransformSpec::Inverted { inner } => {
                Box::new(Inverted::new(inner.build(params, context_dim)?))
            }
            TransformSpec::Cnf(c) => Box::new(crate::cnf::Cnf::new(params, c, context_dim)?),
            TransformSpec::Planar { dim } => Box::new(Planar::new(params, *dim)?),
            TransformSpec::Radial { dim } => Box::new(Radial::new(params, *dim)?),
            TransformSpec::Sylvester { dim, reflections } => {
                Box::new(Sylvester::new(params, *dim, *reflections)?)
            }
            TransformSpec::Slice {
                dim,
                keep,
                model,
                seed,
            } => Box::new(crate::surjective::Slice::new(
                params,
                *dim,
                *keep,
                *model,
                *seed,
                context_dim,
            )?),
            TransformSpec::Augment {
                dim,
                extra,
                model,
                seed,
            } => Box::new(crate::surjective::Augment::new(
                params,
                *dim,
                *extra,
                *model,
                *seed,
                context_dim,
            )?),
            TransformSpec::Abs { dim, learned, seed } => {
                Box::new(crate::surjective::Abs::new(params, *dim, *learned, *seed)?)
            }
            TransformSpec::Sort { dim, seed } => {
                Box::new(crate::surjective::Sort::new(*dim, *seed)?)
            }
            TransformSpec::MaxPool2d {
                height,
                width,
                block,
                seed,
            } => Box::new(crate::surjective::MaxPool2d::new(
                params, *height, *width, *block, *seed,
            )?),
            TransformSpec::UniformDequantize { dim, seed } => {
                Box::new(crate::surjective::UniformDequantize::new(*dim, *seed)?)
            }
            TransformSpec::SetPermute {
                points,
                coords,
                seed,
            } => Box::new(crate::surjective::SetPermute::new(*points, *coords, *seed)?),
            TransformSpec::SortPoints {
                points,
                coords,
                key,
                seed,
            } => Box::new(crate::surjective::SortPoints::new(
                *points, *coords, *key, *seed,
            )?),
            TransformSpec::PermuteAxes { shape, axes } => Box::new(
                crate::surjective::PermuteAxes::new(shape.clone(), axes.clone())?,
            ),
            TransformSpec::Reshape { from, to } => {
                Box::new(crate::surjective::Reshape::new(from.clone(), to.clone())?)
            }
            TransformSpec::SetCoupling {
                points,
                coords,
                transformed,
                hidden,
                depth,
            } => Box::new(crate::surjective::SetCoupling::new(
                params,
                *points,
                *coords,
                transformed.clone(),
                *hidden,
                *depth,
                context_dim,
            )?),
            TransformSpec::Max { dim, seed } => {
                Box::new(crate::surjective::Max::new(params, *dim, *seed)?)
            }
            TransformSpec::ConditionalAbs { dim, hidden, seed } => Box::new(
                crate::surjective::ConditionalAbs::new(params, *dim, *hidden, *seed, context_dim)?,
            ),
            TransformSpec::VariationalDequantize {
                dim,
                hidden,
                depth,
                seed,
            } => Box::new(crate::surjective::VariationalDequantize::new(
                params,
                *dim,
                *hidden,
                *depth,
                *seed,
                context_dim,
            )?),
        })
    }
}
