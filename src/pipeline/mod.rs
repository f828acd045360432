//! The fit pipeline shared by every job that fits a flow to a table of events
//! (maximum likelihood, CNF, Bayesian): data source → read → split → scale → flow
//! spec, then (in the job) train, and here again: evaluate, record the run.
//!
//! `density::fit` and `bayes::fit` both build on this module; neither calls the other.

pub mod builtin;
pub mod condition;
pub mod domains;
pub mod evaluate;
pub mod iw;
pub mod output;
pub mod prepare;
pub mod run_info;
pub mod source;

pub use evaluate::{
    evaluate_against, evaluate_against_k, evaluation_of, generate, kde_ceiling, write_history,
    Evaluation, FitReport,
};
pub use output::{Fitted, Output};
pub use prepare::{prepare, Prepared};
pub use run_info::{load_run, load_run_on, RunInfo};
pub use source::{DataOrigin, DataSource};
