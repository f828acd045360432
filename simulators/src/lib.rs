//! Simulators, toy data sets and integrands for `flowinfer`.
//!
//! This crate deliberately has no machine-learning dependencies: everything
//! here produces plain `f64` data from a seeded random number generator, so
//! it can be used (and tested) independently of any tensor backend.
//!
//! # Toy data sets
//!
//! [`toy`] holds the built-in two-dimensional density-estimation benchmarks
//! (two moons, circles, a ring of Gaussians, the FFJORD checkerboard and
//! spirals, ...). Pick one with [`ToyDataset`], either directly or by parsing
//! its kebab-case name, and draw a reproducible sample with
//! [`ToyDataset::generate`]:
//!
//! ```
//! use flowinfer_simulators::ToyDataset;
//!
//! let data: ToyDataset = "two-moons".parse().unwrap();
//! let points = data.generate(1000, 42);
//! assert_eq!(points.len(), 1000);
//! assert_eq!(points, data.generate(1000, 42));
//! ```
//!
//! # Simulation-based inference
//!
//! [`Simulator`] couples a prior (sampling, log density, support) with a
//! stochastic forward model. [`simulate_batch`] runs a batch of parameter rows
//! in parallel (rayon), each row with its own generator derived from
//! `(seed, row index)`, so results do not depend on the thread count;
//! non-finite outputs are reported as [`SimulationError::NonFinite`].
//! [`simulate_dataset`] draws from the prior and simulates in one go.
//!
//! Models: the seed SIR epidemic [`Sir`], its non-identifiable variant
//! [`DegenerateSir`], and the `sbibm` benchmarks in [`benchmarks`]
//! ([`TwoMoons`], [`GaussianLinear`], [`Slcp`], [`SbibmSir`],
//! [`LotkaVolterra`]), and programs in any language ([`ExternalSimulator`]); built by
//! name with [`simulator_by_name`].
//!
//! ```
//! use flowinfer_simulators::{simulate_dataset, Simulator, TwoMoons};
//!
//! let (thetas, xs) = simulate_dataset(&TwoMoons, 100, 7).unwrap();
//! assert_eq!(thetas.len(), 100);
//! assert_eq!(xs[0].len(), TwoMoons.obs_dim());
//! ```
//!
//! # Integration
//!
//! [`integrands`] holds the [`Integrand`] trait and built-in integrands on `[0,1]^d`
//! with known integrals (Gaussian, camel, annulus, entangled circles, polynomial and
//! `e⁺e⁻ → q q̄ g`), built by name with [`integrand_by_name`]. [`vegas()`] integrates
//! them with VEGAS; its adapted [`VegasGrid`] is an invertible map that can warm-start
//! a flow.
//!
//! ```
//! use flowinfer_simulators::{integrand_by_name, vegas, IntegrandOptions, VegasConfig};
//!
//! let f = integrand_by_name("camel", 2, IntegrandOptions::default()).unwrap();
//! let r = vegas(f.as_ref(), &VegasConfig { iterations: 5, ..VegasConfig::default() }).unwrap();
//! assert!((r.integral - f.exact().unwrap()).abs() < 5.0 * r.std_error);
//! ```

pub mod benchmarks;
pub mod external;
pub mod integrands;
pub mod lenient;
pub mod registry;
pub mod simulator;
pub mod sir;
pub mod sir_boarding_school;
pub mod sir_degenerate;
pub mod toy;
pub mod vegas;

pub use benchmarks::{GaussianLinear, LotkaVolterra, SbibmSir, Slcp, TwoMoons};
pub use external::{ExternalIntegrand, ExternalSimulator, ExternalSimulatorConfig, PriorSpec};
pub use integrands::{integrand_by_name, IntegrandOptions};
pub use integrands::{FnIntegrand, Integrand, IntegrandError};
pub use lenient::{simulate_dataset_lenient, LenientDataset, RowFailure};
pub use registry::{check_simulator_options, simulator_by_name, SimulatorOptions, SIMULATOR_NAMES};
pub use simulator::{
    row_seed, simulate_batch, simulate_dataset, Dataset, SimulationError, Simulator,
};
pub use sir::{integrate_sir, Sir, SirTrajectory};
pub use sir_boarding_school::{BoardingSchool, BOARDING_SCHOOL_COUNTS};
pub use sir_degenerate::DegenerateSir;

pub use toy::{ParseToyDatasetError, ToyDataset};
pub use vegas::{
    vegas, vegas_with_grid, VegasConfig, VegasError, VegasGrid, VegasIteration, VegasResult,
};
