//! The `[cnf]` section of `fit` and `sbi` specs, the flow it builds (optional fixed
//! standardisation, then one CNF layer, standard normal base), and the training loss it
//! selects: maximum likelihood through a fixed-step RK4 solve, or flow matching.

use crate::cnf::flow_matching::{flow_matching_loss, FlowMatchingConfig};
use crate::cnf::spec::{CnfSpec, DivergenceSpec, SmoothActivation, SolverSpec};
use crate::cnf::transform::Cnf;
use crate::distributions::BaseSpec;
use crate::error::{Error, Result};
use crate::flow::{EmbeddingSpec, Flow, FlowSpec};
use crate::transforms::{Transform, TransformSpec};
use candle_core::Tensor;
use serde::{Deserialize, Serialize};

/// How a CNF is trained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum CnfTraining {
    /// Flow matching (simulation-free regression of the velocity).
    #[default]
    FlowMatching,
    /// Maximum likelihood through a fixed-step RK4 solve with the exact (or
    /// Hutchinson) divergence.
    Likelihood,
}

/// The solver used for evaluation and sampling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum CnfSolverKind {
    /// Adaptive Dormand–Prince 5(4).
    #[default]
    Dopri5,
    /// Fixed-step RK4 with `steps` steps.
    Rk4,
}

/// The divergence estimator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum CnfDivergenceKind {
    /// Exact trace.
    #[default]
    Exact,
    /// Hutchinson with `probes` Rademacher probes.
    Hutchinson,
}

/// The `[cnf]` section: when present, the flow is a continuous normalizing flow and the
/// `[flow]` section contributes only `dtype` and `seed`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CnfConfig {
    /// Training objective.
    pub training: CnfTraining,
    /// Velocity MLP width.
    pub hidden: usize,
    /// Velocity MLP hidden layers.
    pub layers: usize,
    /// Smooth activation (tanh | silu | softplus).
    pub activation: SmoothActivation,
    /// Fourier time features.
    pub time_freqs: usize,
    /// RK4 steps of the likelihood-training solve.
    pub train_steps: usize,
    /// Evaluation / sampling solver.
    pub solver: CnfSolverKind,
    /// Dopri5 relative tolerance.
    pub rtol: f64,
    /// Dopri5 absolute tolerance.
    pub atol: f64,
    /// Dopri5 step limit.
    pub max_steps: u32,
    /// RK4 steps when `solver = "rk4"`.
    pub steps: usize,
    /// Divergence estimator.
    pub divergence: CnfDivergenceKind,
    /// Hutchinson probes per row.
    pub probes: usize,
    /// Flow matching: σ_min of the OT path.
    pub sigma_min: f64,
    /// Flow matching: minibatch OT pairing (unconditional flows only).
    pub ot_pairing: bool,
    /// Flow matching: time sampling exponent α (`t = u^{1/(1+α)}`).
    pub time_power: f64,
}

impl Default for CnfConfig {
    fn default() -> Self {
        Self {
            training: CnfTraining::FlowMatching,
            hidden: 64,
            layers: 3,
            activation: SmoothActivation::Tanh,
            time_freqs: 0,
            train_steps: 8,
            solver: CnfSolverKind::Dopri5,
            rtol: 1e-5,
            atol: 1e-5,
            max_steps: 10_000,
            steps: 50,
            divergence: CnfDivergenceKind::Exact,
            probes: 1,
            sigma_min: 1e-4,
            ot_pairing: false,
            time_power: 0.0,
        }
    }
}

impl CnfConfig {
    /// The layer description for data of dimension `dim`.
    pub fn layer_spec(&self, dim: usize, seed: u64) -> CnfSpec {
        CnfSpec {
            dim,
            hidden: self.hidden,
            layers: self.layers,
            activation: self.activation,
            time_freqs: self.time_freqs,
            solver: match self.solver {
                CnfSolverKind::Dopri5 => SolverSpec::Dopri5 {
                    rtol: self.rtol,
                    atol: self.atol,
                    max_steps: self.max_steps,
                },
                CnfSolverKind::Rk4 => SolverSpec::Rk4 { steps: self.steps },
            },
            divergence: match self.divergence {
                CnfDivergenceKind::Exact => DivergenceSpec::Exact,
                CnfDivergenceKind::Hutchinson => DivergenceSpec::Hutchinson {
                    probes: self.probes,
                    seed,
                },
            },
        }
    }

    /// The flow-matching settings (`seed` varies the noise).
    pub fn flow_matching(&self, seed: u64) -> FlowMatchingConfig {
        FlowMatchingConfig {
            sigma_min: self.sigma_min,
            ot_pairing: self.ot_pairing,
            time_power: self.time_power,
            seed,
        }
    }

    /// Check the settings.
    pub fn validate(&self) -> Result<()> {
        self.layer_spec(1, 0)
            .validate()
            .map_err(|e| Error::config(format!("[cnf] {e}")))?;
        SolverSpec::Rk4 {
            steps: self.train_steps,
        }
        .validate()
        .map_err(|e| Error::config(format!("[cnf] train_steps: {e}")))?;
        self.flow_matching(0)
            .validate()
            .map_err(|e| Error::config(format!("[cnf] {e}")))
    }

    /// A flow: `Standardize` (when given), one CNF layer, standard normal base, with an
    /// optional context embedding.
    pub fn flow_spec(
        &self,
        dim: usize,
        context_dim: usize,
        standardize: Option<(Vec<f64>, Vec<f64>)>,
        embedding: Option<EmbeddingSpec>,
        seed: u64,
    ) -> Result<FlowSpec> {
        self.validate()?;
        let mut transforms = Vec::new();
        if let Some((mean, std)) = standardize {
            transforms.push(TransformSpec::Standardize { mean, std });
        }
        transforms.push(TransformSpec::Cnf(self.layer_spec(dim, seed)));
        let spec = FlowSpec {
            dim,
            context_dim,
            embedding: if context_dim > 0 { embedding } else { None },
            base: BaseSpec::StandardNormal { dim },
            transforms,
        };
        spec.validate()?;
        Ok(spec)
    }
}

/// Index of the CNF layer of a flow: it must be the last transform.
pub fn cnf_layer_index(spec: &FlowSpec) -> Result<usize> {
    match spec.transforms.last() {
        Some(TransformSpec::Cnf(_)) => Ok(spec.transforms.len() - 1),
        _ => Err(Error::config(
            "not a CNF flow: the last transform must be a cnf layer",
        )),
    }
}

/// A standalone handle on a flow's CNF layer (sharing its weights), e.g. to read solve
/// statistics or to integrate with other settings.
pub fn cnf_layer(flow: &Flow, solver: Option<SolverSpec>) -> Result<Cnf> {
    let spec = flow.spec();
    let i = cnf_layer_index(&spec)?;
    let TransformSpec::Cnf(c) = &spec.transforms[i] else {
        unreachable!("checked by cnf_layer_index")
    };
    let c = match solver {
        Some(s) => c.with_solver(s),
        None => c.clone(),
    };
    Cnf::new(
        &flow.params().pp(format!("t{i}")),
        &c,
        spec.embedded_context_dim(),
    )
}

/// The same flow (shared weights) with its CNF layer integrated by `solver`.
pub fn with_solver(flow: &Flow, solver: SolverSpec) -> Result<Flow> {
    let mut spec = flow.spec();
    let i = cnf_layer_index(&spec)?;
    if let TransformSpec::Cnf(c) = &spec.transforms[i] {
        spec.transforms[i] = TransformSpec::Cnf(c.with_solver(solver));
    }
    Flow::with_params(spec, flow.params().clone())
}

/// A training loss closure `(x, ctx) → scalar`.
pub type LossFn<'a> = Box<dyn Fn(&Tensor, Option<&Tensor>) -> Result<Tensor> + 'a>;

/// The loss `section.training` selects for `flow` (a flow built by
/// [`CnfConfig::flow_spec`]): the mean NLL through an RK4 solve of `train_steps` steps,
/// or the flow-matching loss in the CNF's coordinates (after the fixed layers before it;
/// those receive no gradient). `seed` varies the flow-matching noise.
pub fn cnf_loss<'a>(flow: &'a Flow, section: &CnfConfig, seed: u64) -> Result<LossFn<'a>> {
    section.validate()?;
    match section.training {
        CnfTraining::Likelihood => {
            let train = with_solver(
                flow,
                SolverSpec::Rk4 {
                    steps: section.train_steps,
                },
            )?;
            Ok(Box::new(move |x, c| {
                Ok(train.log_prob_unchecked(x, c)?.mean_all()?.neg()?)
            }))
        }
        CnfTraining::FlowMatching => {
            let layer = cnf_layer(flow, None)?;
            let i = cnf_layer_index(&flow.spec())?;
            let fm = section.flow_matching(seed);
            Ok(Box::new(move |x, c| {
                let e = flow.embed(c)?;
                let mut h = x.clone();
                for t in &flow.transforms()[..i] {
                    let tc = if t.context_dim() > 0 {
                        e.as_ref()
                    } else {
                        None
                    };
                    h = t.forward(&h, tc)?.0;
                }
                let ec = if layer.context_dim() > 0 {
                    e.as_ref()
                } else {
                    None
                };
                flow_matching_loss(layer.field(), &h, ec, &fm)
            }))
        }
    }
}
