//! Density estimation: fit a flow to a table of events from a file, from memory or from
//! a built-in toy set ([`fit()`]), sample from a run, evaluate a run.

pub mod condition_bins;
pub mod conditional;
pub mod fit;

pub use crate::pipeline::{DataSource, Fitted, Output};
pub use conditional::{eval_conditional, fit_conditional, sample_run_conditional};
pub use fit::{eval_run, eval_run_k, fit, sample_run};
