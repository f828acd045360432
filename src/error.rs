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
    /// An invalid configuration value.
    #[error("invalid configuration: {0}")]
    Config(String),
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
