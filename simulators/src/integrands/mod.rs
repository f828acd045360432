//! Integrands on the unit hypercube `[0,1]^d` for importance-sampled Monte Carlo
//! integration: the [`Integrand`] trait and the built-in test functions with known
//! integrals.
//!
//! Points are passed as one flat row-major slice (`n × dim` values) so that a whole
//! batch is evaluated in one call without per-point allocations.
//!
//! Built-ins (each module documents its definition and exact integral): [`Gaussian`],
//! [`Camel`], [`Annulus`], [`EntangledCircles`], [`Polynomial`] and the physics example
//! [`EeToQqg`] (`e⁺e⁻ → q q̄ g` on the invertible massless phase-space map
//! [`ThreeBodyPhaseSpace`], or the cut-aware [`LogDalitzMap`], chosen by [`QqgMap`]),
//! and the hard family (docs/HARD_INTEGRANDS.md): [`Needle`],
//! [`Shell`], [`BreitWigner`] and [`TwoNeedles`]. [`integrand_by_name`] builds one from
//! its name. The built-ins are zero outside `[0,1]^d` and return NaN for a point with a
//! NaN coordinate.

pub mod annulus;
mod box_probability;
pub mod breit_wigner;
pub mod camel;
pub mod closure;
pub mod ee_qqg;
pub mod entangled_circles;
pub mod gaussian;
mod integrand;
pub mod log_dalitz;
pub mod needle;
pub mod phase_space;
pub mod polynomial;
pub mod qqg_map;
mod quadrature;
#[cfg(test)]
mod reference;
pub mod registry;
pub mod shell;
pub mod two_needles;

pub use annulus::Annulus;
pub use breit_wigner::BreitWigner;
pub use camel::Camel;
pub use closure::FnIntegrand;
pub use ee_qqg::EeToQqg;
pub use entangled_circles::EntangledCircles;
pub use gaussian::Gaussian;
pub use integrand::{check_batch, Integrand, IntegrandError};
pub use log_dalitz::{DalitzPoint, LogDalitzMap};
pub use needle::Needle;
pub use phase_space::{FourMomentum, ThreeBodyPhaseSpace};
pub use polynomial::Polynomial;
pub use qqg_map::QqgMap;
pub use registry::{integrand_by_name, IntegrandOptions, INTEGRAND_NAMES};
pub use shell::Shell;
pub use two_needles::TwoNeedles;
