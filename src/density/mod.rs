//! Density estimation jobs: fit a flow to a table of events (`fit_table`) or to a
//! built-in 2-D toy set (`toy_fit`), sample from a run, evaluate a run.

pub mod fit_table;
pub mod toy_fit;

pub use fit_table::{eval_run, fit_table, sample_run, Evaluation, FitReport, RunInfo};
pub use toy_fit::{fit_toy, ToyFitConfig, ToyFitReport};
