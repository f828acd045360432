//! Errors of the flow integrator.

use flowinfer_simulators::{IntegrandError, VegasError};
use thiserror::Error;

/// Why an integration failed.
#[derive(Debug, Error)]
pub enum IntegrateError {
    /// A setting was invalid (what was wrong and what was expected).
    #[error("integrate: {0}")]
    Setting(String),
    /// The integrand failed on a whole batch (external command failed, wrong shape).
    #[error(transparent)]
    Integrand(#[from] IntegrandError),
    /// The integrand returned non-finite or negative values and invalid values were
    /// not allowed.
    #[error(
        "integrand `{integrand}` returned {non_finite} non-finite and {negative} negative \
         values during {stage}; first: f({point:?}) = {value}; an integrand must be finite \
         and ≥ 0 (pass --allow-invalid to count such values as zero)"
    )]
    InvalidValues {
        /// Integrand name.
        integrand: String,
        /// Training, evaluation, unweighting or VEGAS.
        stage: String,
        /// Non-finite values seen so far.
        non_finite: usize,
        /// Negative values seen so far.
        negative: usize,
        /// The first offending point.
        point: Vec<f64>,
        /// Its value.
        value: f64,
    },
    /// The VEGAS baseline or warm start failed.
    #[error(transparent)]
    Vegas(#[from] VegasError),
    /// The flow (tensor backend, parameters) failed.
    #[error(transparent)]
    Flow(#[from] crate::Error),
    /// Writing an output file failed.
    #[error("{path}: {message}")]
    File {
        /// The file.
        path: std::path::PathBuf,
        /// What went wrong.
        message: String,
    },
}

impl From<candle_core::Error> for IntegrateError {
    fn from(e: candle_core::Error) -> Self {
        IntegrateError::Flow(e.into())
    }
}

/// Result alias of the integrator.
pub type Result<T> = std::result::Result<T, IntegrateError>;

/// An [`IntegrateError::Setting`].
pub(crate) fn setting(message: impl Into<String>) -> IntegrateError {
    IntegrateError::Setting(message.into())
}
