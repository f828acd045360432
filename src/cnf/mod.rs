//! Continuous normalizing flows: `dz/dt = v(z, t, c)` with an MLP velocity field, data at
//! `t = 1` and the latent at `t = 0`. The CNF is a [`Transform`](crate::transforms::Transform)
//! (`TransformSpec::Cnf`), so a `Flow` with a CNF layer samples, evaluates densities,
//! saves and loads like any other. Densities use the instantaneous change of variables
//! with the exact divergence (input tangents propagated through the network) or
//! Hutchinson's estimator. Training: maximum likelihood through a fixed-step RK4 solve
//! written in tensor operations, or flow matching (no solve). See docs/CNF.md.

pub mod builder;
pub mod divergence;
pub mod fast_tanh;
pub mod flow_matching;
pub mod rk4;
pub mod solve;
pub mod spec;
pub mod transform;
pub mod velocity;

pub use builder::{
    cnf_layer, cnf_layer_index, cnf_loss, with_solver, CnfConfig, CnfDivergenceKind, CnfSolverKind,
    CnfTraining, LossFn,
};
pub use divergence::{velocity_and_divergence, Probes};
pub use flow_matching::{flow_matching_loss, FlowMatchingConfig};
pub use rk4::rk4_solve;
pub use solve::{dopri5_solve, Dopri5Settings, SolveStats};
pub use spec::{CnfSpec, DivergenceSpec, SmoothActivation, SolverSpec};
pub use transform::Cnf;
pub use velocity::VelocityField;
