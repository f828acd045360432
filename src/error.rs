//! The library error type: every failure a user can cause comes back as an [`Error`]
//! with a message that says what was wrong and what was expected.

use std::path::PathBuf;

/// Errors returned by flowinfer.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A tensor had the wrong shape (e.g. a data batch with the wrong number of columns).
    #[error("{what}: expected shape {expected}, got {got:?}")]
    Shape {
        /// What was being checked ("input to Flow::log_prob", ...).
        what: String,
        /// The expected shape, in words (e.g. "(batch, 2)").
        expected: String,
        /// The shape that was found.
        got: Vec<usize>,
    },
    /// Non-finite values (NaN or ±Inf) where finite ones were required.
    #[error("{what}: non-finite value (NaN or Inf) in row {row}, column {column}")]
    NonFinite {
        /// What was being checked.
        what: String,
        /// First offending row (0-based).
        row: usize,
        /// First offending column (0-based).
        column: usize,
    },
    /// A context was passed where none is expected, none where one is, or of the wrong width.
    #[error("context mismatch in {what}: {message}")]
    Context {
        /// The component that rejected the context.
        what: String,
        /// What was expected and what came.
        message: String,
    },
    /// An invalid configuration value: a spec entry or an argument.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// A simulator failed: an invalid simulator setting, a non-finite or malformed
    /// output, an external program that could not be started or exited with an
    /// error (the message names the program and quotes its stderr), too many failed
    /// rows.
    #[error("simulation failed: {0}")]
    Simulation(#[from] flowinfer_simulators::SimulationError),
    /// An integrand failed on a whole batch (an external command failed, wrong
    /// shape) or was set up wrongly.
    #[error(transparent)]
    Integrand(#[from] flowinfer_simulators::IntegrandError),
    /// A variational target failed: an external log-density program failed (the message
    /// names the program and quotes its stderr), or too many points gave a non-finite
    /// log density.
    #[error(transparent)]
    LogDensity(#[from] flowinfer_simulators::external::LogDensityError),
    /// The VEGAS baseline or warm start failed.
    #[error(transparent)]
    Vegas(#[from] flowinfer_simulators::VegasError),
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
    /// A root finding (the density direction of a planar or Sylvester layer) did not
    /// converge for one event of a batch.
    #[error(
        "{what}: root finding failed for event {event} after {iterations} iterations \
         (residual {residual:e}): {reason}"
    )]
    RootFinding {
        /// The layer (and coordinate) being inverted.
        what: String,
        /// The event (row of the batch).
        event: usize,
        /// The equation's value at the last point.
        residual: f64,
        /// Iterations spent (Newton and Brent together).
        iterations: u64,
        /// Why it stopped.
        reason: String,
    },
    /// A value a layer does not accept (e.g. non-integer data given to dequantization).
    #[error("{what}: row {row}, column {column} is {value}; expected {expected}")]
    InvalidInput {
        /// What was being checked.
        what: String,
        /// The first offending row (0-based).
        row: usize,
        /// Its column (0-based).
        column: usize,
        /// The value found.
        value: f64,
        /// What was expected, in words.
        expected: String,
    },
    /// A file could not be read or written.
    #[error("{path}: {message}")]
    File {
        /// The file concerned.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// An error from the tensor backend.
    #[error("tensor backend: {0}")]
    Candle(#[from] candle_core::Error),
    /// An I/O error without a more specific context.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    /// JSON (de)serialization failed.
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
}

/// Result alias used throughout the crate.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// Build a [`Error::Config`] from anything printable.
    pub fn config(msg: impl Into<String>) -> Self {
        Error::Config(msg.into())
    }

    /// Build a [`Error::File`] for `path`.
    pub fn file(path: impl Into<PathBuf>, msg: impl Into<String>) -> Self {
        Error::File {
            path: path.into(),
            message: msg.into(),
        }
    }
}

/// One line for an error and its [`source`](std::error::Error::source) chain, the
/// messages joined by `": "` (as `anyhow`'s `{:#}`), except that a source whose
/// message the text so far already ends with is not repeated: [`Error::Simulation`]
/// shows its [`SimulationError`](flowinfer_simulators::SimulationError) once.
///
/// ```
/// use flowinfer::error::{chain_message, Error};
/// use flowinfer_simulators::SimulationError;
///
/// let e = Error::from(SimulationError::External {
///     simulator: "sim".into(),
///     message: "cannot start `./sim`".into(),
/// });
/// let chain = std::iter::successors(Some(&e as &dyn std::error::Error), |e| e.source());
/// assert_eq!(
///     chain_message(chain),
///     "simulation failed: simulator `sim`: cannot start `./sim`"
/// );
/// ```
pub fn chain_message<'a>(
    chain: impl IntoIterator<Item = &'a (dyn std::error::Error + 'static)>,
) -> String {
    let mut message = String::new();
    for e in chain {
        let text = e.to_string();
        if message.is_empty() {
            message = text;
        } else if !message.ends_with(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
    }
    message
}
