//! The proposal density: a normalizing flow on the unit hypercube `[0,1]^d`.
//!
//! # Architecture
//!
//! Coupling layers whose element-wise map is a rational-quadratic spline on the unit
//! interval with free derivatives at every knot, the end knots included
//! ([`UnitIntervalSpline`], the i-flow spline), so every layer maps the cube onto
//! itself and the density may vanish or peak at the faces; the base is the uniform
//! distribution on `[0,1]^d` (`log q_base = 0`). Hence
//! `log q(x) = Σ_layers log|det ∂z/∂x|` exactly, and sampling is `x = T⁻¹(u)` with `u`
//! uniform.
//!
//! # Masks
//!
//! Coupling `2b` conditions on the features whose index has bit `b` set and transforms
//! the others; coupling `2b + 1` is its complement (i-flow, Gao et al. 2020). Any two
//! indices differ in some bit, so after `2⌈log₂ d⌉` couplings every feature has been
//! transformed conditionally on every other one. The list is cycled to reach
//! [`UnitFlowConfig::couplings`] layers (default `max(4, 2⌈log₂ d⌉)`).
//!
//! # Identity at initialisation
//!
//! The conditioners' output layers start with zero weights; their biases are zero for
//! the bin widths and heights (uniform bins, so knots `x_k = y_k`) and
//! `softplus⁻¹(1 − min_derivative)` for the knot derivatives, so every derivative is 1
//! and each spline is exactly the identity: at initialisation `q(x) = 1` and the
//! importance weights equal `f(x)`.
//!
//! The flow needs `d ≥ 2` (a coupling needs a feature to condition on); a
//! one-dimensional integrand is integrated over `[0,1]²` with a flat second coordinate
//! (see [`super::adapters::PaddedIntegrand`]).
//!
//! [`UnitIntervalSpline`]: crate::transforms::elementwise::UnitIntervalSpline

use crate::distributions::BaseSpec;
use crate::error::{Error, Result};
use crate::flow::{Flow, FlowSpec};
use crate::nn::{Activation, ConditionerSpec};
use crate::random::rand_uniform;
use crate::transforms::elementwise::UnitIntervalSpline;
use crate::transforms::{ElementwiseSpec, TransformSpec};
use candle_core::{DType, Device, Tensor};
use rand::RngCore;
use serde::{Deserialize, Serialize};

/// Architecture of the unit-hypercube flow (the `[flow]` section of an integration spec).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UnitFlowConfig {
    /// Spline bins per feature (2..=64; default 8).
    pub bins: usize,
    /// Hidden width of each conditioner MLP (default 64).
    pub hidden: usize,
    /// Hidden layers of each conditioner MLP (default 2).
    pub layers: usize,
    /// Number of coupling layers; `None` = `max(4, 2⌈log₂ d⌉)` (module docs).
    pub couplings: Option<usize>,
    /// Minimum spline bin width and height, as a fraction of the interval (default 1e-3).
    pub min_bin: f64,
    /// Minimum interior knot derivative (default 1e-3).
    pub min_derivative: f64,
    /// Flow dtype, `"f32"` (default) or `"f64"` (weights are always f64).
    pub dtype: String,
}

impl Default for UnitFlowConfig {
    fn default() -> Self {
        Self {
            bins: 8,
            hidden: 64,
            layers: 2,
            couplings: None,
            min_bin: 1e-3,
            min_derivative: 1e-3,
            dtype: "f32".into(),
        }
    }
}

impl UnitFlowConfig {
    /// The flow dtype (an error naming the key unless `f32` or `f64`).
    pub fn dtype(&self) -> Result<DType> {
        crate::flow::io::parse_dtype(&self.dtype).map_err(|e| Error::config(format!("[flow] {e}")))
    }
}

/// Number of bits needed to tell `dim` indices apart (`⌈log₂ dim⌉`, at least 1).
fn index_bits(dim: usize) -> usize {
    let mut bits = 1;
    while (1usize << bits) < dim {
        bits += 1;
    }
    bits
}

/// The conditioning (identity) feature sets of the binary-digit masks and their
/// complements for `dim ≥ 2` features, in layer order (module docs).
pub fn binary_masks(dim: usize) -> Vec<Vec<usize>> {
    let mut out = Vec::new();
    for b in 0..index_bits(dim) {
        let ones: Vec<usize> = (0..dim).filter(|i| (i >> b) & 1 == 1).collect();
        let zeros: Vec<usize> = (0..dim).filter(|i| (i >> b) & 1 == 0).collect();
        if ones.is_empty() || zeros.is_empty() {
            continue;
        }
        out.push(ones);
        out.push(zeros);
    }
    out
}

impl UnitFlowConfig {
    /// Check the settings for a flow over `dim` features.
    pub fn validate(&self, dim: usize) -> Result<()> {
        if dim < 2 {
            return Err(Error::config(format!(
                "the unit-hypercube flow needs dimension ≥ 2, got {dim} (pad a 1-D integrand with a flat coordinate)"
            )));
        }
        if !(2..=64).contains(&self.bins) {
            return Err(Error::config(format!(
                "flow spline bins must be 2..=64, got {}",
                self.bins
            )));
        }
        if self.hidden == 0 || self.layers == 0 {
            return Err(Error::config(format!(
                "flow conditioner needs hidden ≥ 1 and layers ≥ 1, got {} and {}",
                self.hidden, self.layers
            )));
        }
        if self.couplings == Some(0) {
            return Err(Error::config("flow needs at least 1 coupling layer"));
        }
        Ok(())
    }

    /// The number of coupling layers for `dim` features.
    pub fn coupling_count(&self, dim: usize) -> usize {
        self.couplings
            .unwrap_or_else(|| (2 * index_bits(dim)).max(4))
    }

    /// The flow description for `dim` features (validated).
    pub fn flow_spec(&self, dim: usize) -> Result<FlowSpec> {
        self.validate(dim)?;
        let masks = binary_masks(dim);
        let map = ElementwiseSpec::UnitRationalQuadratic {
            bins: self.bins,
            min_bin_width: self.min_bin,
            min_bin_height: self.min_bin,
            min_derivative: self.min_derivative,
        };
        let conditioner = ConditionerSpec::Mlp {
            hidden: self.hidden,
            layers: self.layers,
            activation: Activation::Relu,
            zero_init_output: true,
        };
        let mut transforms = Vec::new();
        for k in 0..self.coupling_count(dim) {
            transforms.push(TransformSpec::Coupling {
                dim,
                identity: masks[k % masks.len()].clone(),
                map: map.clone(),
                conditioner: conditioner.clone(),
            });
        }
        Ok(FlowSpec {
            dim,
            context_dim: 0,
            embedding: None,
            base: BaseSpec::UniformBox {
                low: vec![0.0; dim],
                high: vec![1.0; dim],
            },
            transforms,
        })
    }
}

/// A flow proposal on `[0,1]^d` (module docs). All tensors stay on the flow's device.
#[derive(Debug)]
pub struct UnitFlow {
    flow: Flow,
    config: UnitFlowConfig,
}

impl UnitFlow {
    /// A new flow over `dim ≥ 2` features, initialised to the identity map; the MLP
    /// hidden layers are drawn from `seed`.
    pub fn new(
        dim: usize,
        config: &UnitFlowConfig,
        dtype: DType,
        device: &Device,
        seed: u64,
    ) -> Result<Self> {
        let spec = config.flow_spec(dim)?;
        let flow = Flow::new(spec, dtype, device, seed)?;
        let this = Self {
            flow,
            config: config.clone(),
        };
        this.set_identity_biases()?;
        Ok(this)
    }

    /// Wrap a loaded flow (e.g. [`Flow::load`] of a run's `model/`); it must be the flow
    /// `config` describes for its dimension.
    pub fn from_flow(flow: Flow, config: UnitFlowConfig) -> Result<Self> {
        let expected = config.flow_spec(flow.dim())?;
        if flow.spec() != expected {
            return Err(Error::config(
                "the saved flow is not the unit-hypercube flow its spec describes (different layers, bins or widths)",
            ));
        }
        Ok(Self { flow, config })
    }

    /// Set the derivative entries of every coupling's output bias so that each spline
    /// starts as the identity (module docs).
    fn set_identity_biases(&self) -> Result<()> {
        let dim = self.dim();
        let k = self.config.bins;
        let per = 3 * k + 1;
        let value = UnitIntervalSpline::identity_derivative_param(self.config.min_derivative);
        for (i, t) in self.flow.spec().transforms.iter().enumerate() {
            let TransformSpec::Coupling { identity, .. } = t else {
                continue;
            };
            let n_t = dim - identity.len();
            let mut bias = vec![0.0f64; n_t * per];
            for j in 0..n_t {
                for b in &mut bias[j * per + 2 * k..(j + 1) * per] {
                    *b = value;
                }
            }
            let name = format!("t{i}.net.l{}.bias", self.config.layers);
            let t = Tensor::from_vec(bias, n_t * per, self.device())?;
            self.flow.params().set(&name, &t)?;
        }
        Ok(())
    }

    /// Dimension `d`.
    pub fn dim(&self) -> usize {
        self.flow.dim()
    }

    /// The architecture settings.
    pub fn config(&self) -> &UnitFlowConfig {
        &self.config
    }

    /// The underlying flow (its transforms, parameters, spec).
    pub fn flow(&self) -> &Flow {
        &self.flow
    }

    /// Model dtype.
    pub fn dtype(&self) -> DType {
        self.flow.dtype()
    }

    /// Device of the parameters (every tensor this type returns lives there).
    pub fn device(&self) -> &Device {
        self.flow.device()
    }

    /// `n` draws: `(x (n, d) in [0,1]^d, log q(x) (n,))`, both detached from the
    /// parameters. The uniform noise comes from `rng` (drawn on the host, moved to the
    /// device once); `x` is clamped into `[0,1]` against rounding.
    pub fn sample(&self, n: usize, rng: &mut dyn RngCore) -> Result<(Tensor, Tensor)> {
        if n == 0 {
            return Err(Error::config("the number of samples must be at least 1"));
        }
        let u = rand_uniform(n, self.dim(), self.dtype(), self.device(), rng)?;
        let (x, ld) = self.flow.to_data(&u, None)?;
        Ok((x.clamp(0.0, 1.0)?.detach(), ld.neg()?.detach()))
    }

    /// `log q(x)` for `x (n, d)` in `[0,1]^d` (on the flow's device), differentiable in
    /// the parameters. No validation (callers pass the flow's own samples).
    pub fn log_prob(&self, x: &Tensor) -> Result<Tensor> {
        Ok(self.flow.to_latent(x, None)?.1)
    }
}
