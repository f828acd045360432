//! `FlowConfig`: the architecture settings of a standard flow stack — the `[flow]`
//! section of every job's TOML deserialises straight into it, and [`FlowBuilder`](crate::flow::FlowBuilder)
//! builds a [`FlowSpec`](crate::flow::FlowSpec) from it. Its [`Default`] is the one
//! default architecture of `fit`; the named presets reproduce the seed study's stacks
//! and give the variational families (IAF, planar, radial, Sylvester).
//!
//! ```
//! use flowinfer::flow::{FlowBuilder, FlowConfig, FlowKind};
//! let cfg = FlowConfig { kind: FlowKind::Maf, blocks: 3, hidden: 32, ..FlowConfig::default() };
//! let spec = FlowBuilder::new(4, cfg).build_spec()?;
//! assert_eq!(spec.dim, 4);
//! # Ok::<(), flowinfer::Error>(())
//! ```

use crate::error::{Error, Result};
use crate::flow::{FlowKind, Mixing};
use crate::nn::Activation;
use candle_core::DType;
use serde::{Deserialize, Serialize};

/// Architecture of a coupling or autoregressive flow stack (the `[flow]` section).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FlowConfig {
    /// Block family.
    pub kind: FlowKind,
    /// Number of coupling / autoregressive blocks.
    pub blocks: usize,
    /// Conditioner width.
    pub hidden: usize,
    /// Conditioner hidden layers.
    pub layers: usize,
    /// Conditioner non-linearity.
    pub activation: Activation,
    /// Residual conditioner blocks instead of a plain MLP.
    pub residual: bool,
    /// Spline bins (NSF, MAF spline).
    pub bins: usize,
    /// Spline tail bound `B` (the spline acts on `[-B, B]` of the standardised data).
    pub tail_bound: f64,
    /// Bound on |log scale| of affine maps.
    pub scale_bound: f64,
    /// Mixing between blocks.
    pub mixing: Mixing,
    /// ActNorm before each block.
    pub actnorm: bool,
    /// Model dtype: `"f32"` or `"f64"`.
    pub dtype: String,
    /// Seed of the architecture's random choices and of the initial weights.
    pub seed: u64,
    /// Zero-initialise the conditioners' output layers, so every block starts at the
    /// identity (helps conditional flows generalise).
    pub zero_init: bool,
    /// Surjective (or other) layers placed into the stack (`[[flow.surjective]]`;
    /// placement rule in [`crate::flow::placed`], docs/SURJECTIVE.md).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub surjective: Vec<crate::flow::PlacedLayer>,
}

impl Default for FlowConfig {
    /// The default of `flowinfer fit`: 6 spline-coupling blocks, width 128.
    fn default() -> Self {
        Self {
            kind: FlowKind::Nsf,
            blocks: 6,
            hidden: 128,
            layers: 2,
            activation: Activation::Relu,
            residual: false,
            bins: 8,
            tail_bound: 4.0,
            scale_bound: 1.0,
            mixing: Mixing::Reverse,
            actnorm: false,
            dtype: "f32".into(),
            seed: 0,
            zero_init: false,
            surjective: Vec::new(),
        }
    }
}

impl FlowConfig {
    /// Seed-study RealNVP: 8 affine couplings, hidden 256 (2 layers), ReLU, reversals.
    pub fn realnvp() -> Self {
        Self {
            kind: FlowKind::RealNvp,
            blocks: 8,
            hidden: 256,
            tail_bound: 3.0,
            ..Self::default()
        }
    }

    /// Neural spline flow preset: 8 spline couplings (K = 8, B = 3), hidden 128.
    pub fn nsf() -> Self {
        Self {
            kind: FlowKind::Nsf,
            hidden: 128,
            ..Self::realnvp()
        }
    }

    /// MAF preset: 5 affine autoregressive blocks, hidden 128.
    pub fn maf() -> Self {
        Self {
            kind: FlowKind::Maf,
            blocks: 5,
            hidden: 128,
            ..Self::realnvp()
        }
    }

    /// IAF preset: the MAF preset's blocks wrapped in `Inverted`, so sampling and the
    /// density of the flow's own samples take one pass per block.
    pub fn iaf() -> Self {
        Self {
            kind: FlowKind::Iaf,
            ..Self::maf()
        }
    }

    /// Planar preset: 16 planar layers (the conditioner settings are unused).
    ///
    /// ```
    /// use flowinfer::flow::{FlowBuilder, FlowConfig};
    /// let spec = FlowBuilder::new(2, FlowConfig::planar()).build_spec()?;
    /// assert_eq!(spec.transforms.len(), 16);
    /// # Ok::<(), flowinfer::Error>(())
    /// ```
    pub fn planar() -> Self {
        Self {
            kind: FlowKind::Planar,
            blocks: 16,
            ..Self::default()
        }
    }

    /// Radial preset: 16 radial layers.
    pub fn radial() -> Self {
        Self {
            kind: FlowKind::Radial,
            ..Self::planar()
        }
    }

    /// Sylvester preset: 8 Householder Sylvester layers (`dim` reflections each).
    pub fn sylvester() -> Self {
        Self {
            kind: FlowKind::Sylvester,
            blocks: 8,
            ..Self::planar()
        }
    }

    /// The model dtype (an error naming the key when it is not `f32`/`f64`).
    pub fn dtype(&self) -> Result<DType> {
        crate::flow::io::parse_dtype(&self.dtype).map_err(|e| Error::config(format!("[flow] {e}")))
    }

    /// Check values that serde cannot.
    pub fn validate(&self) -> Result<()> {
        self.dtype()?;
        if self.blocks == 0 || self.hidden == 0 {
            return Err(Error::config(format!(
                "[flow] blocks and hidden must be at least 1, got {} and {}",
                self.blocks, self.hidden
            )));
        }
        if let Some((i, l)) = self
            .surjective
            .iter()
            .enumerate()
            .find(|(_, l)| match l.at {
                crate::flow::Place::Block(k) => k > self.blocks,
                crate::flow::Place::Data => false,
            })
        {
            return Err(Error::config(format!(
                "[flow] surjective[{i}] (type = \"{}\"): {} is past the last block (blocks = {}; at = {} places it after the last block)",
                l.kind(),
                l.at,
                self.blocks,
                self.blocks
            )));
        }
        Ok(())
    }
}
