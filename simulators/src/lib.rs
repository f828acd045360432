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

pub mod toy;

pub use toy::{ParseToyDatasetError, ToyDataset};
