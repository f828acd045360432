//! Evaluation metrics.

pub mod gaussian_baseline;

pub use gaussian_baseline::gaussian_baseline_nll;
