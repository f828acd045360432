//! Simulation-based inference: neural posterior estimation (NPE) with conditional flows.
//!
//! [`train_npe`] simulates `(θ, x)` pairs from a [`Simulator`]'s prior, z-scores θ (as the
//! flow's first layer) and x (stored with the posterior), and fits a conditional flow
//! `q(θ | x)` with the project's [`Trainer`](crate::train::Trainer). The result,
//! [`NpePosterior`], is amortised: it serves any observation.
//!
//! [`Simulator`]: flowinfer_simulators::Simulator

pub mod diagnostics;
pub mod mcmc;
pub mod nle;
pub mod npe;
pub mod posterior;
pub mod rounds;
pub mod run;
pub mod run_draws;
pub mod spec;
pub mod summary;

pub use npe::{fit_npe, train_npe, NpeTraining};
pub use posterior::{NpePosterior, PosteriorSamples};
pub use run::{load_sbi_run, run_sbi, run_sbi_with_rounds, SbiRun, SbiRunInfo};
pub use run_draws::{ObservationDraws, LOW_ACCEPTANCE};
pub use spec::{DiagnoseConfig, NpeConfig, SbiConfig, SimulatorConfig, BUILTIN_SIMULATORS};
