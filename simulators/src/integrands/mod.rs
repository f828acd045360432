//! Integrands on the unit hypercube `[0,1]^d` for importance-sampled Monte Carlo
//! integration: the [`Integrand`] trait and the built-in test functions with known
//! integrals.
//!
//! Points are passed as one flat row-major slice (`n × dim` values) so that a whole
//! batch is evaluated in one call without per-point allocations.

use thiserror::Error;

/// Why evaluating a batch of points failed as a whole (a single bad value is not an
/// error here: it is returned as NaN / negative and counted by the integrator).
#[derive(Debug, Clone, PartialEq, Error)]
pub enum IntegrandError {
    /// The point slice does not hold a whole number of `dim`-wide rows, or the
    /// output slice has the wrong length.
    #[error("integrand `{integrand}`: {message}")]
    Shape {
        /// Integrand name.
        integrand: String,
        /// What was wrong and what was expected.
        message: String,
    },
    /// An external integrand program failed (could not start, non-zero exit,
    /// malformed output).
    #[error("integrand `{integrand}`: {message}")]
    External {
        /// Integrand name (the command).
        integrand: String,
        /// What went wrong, with the program's stderr where available.
        message: String,
    },
    /// A setting was invalid (e.g. a dimension the integrand does not support).
    #[error("integrand `{integrand}`: {message}")]
    InvalidSetting {
        /// Integrand name.
        integrand: String,
        /// What was wrong and what was expected.
        message: String,
    },
}

/// A non-negative function on `[0,1]^dim`.
pub trait Integrand: Send + Sync {
    /// Short, stable identifier (e.g. `"camel"`).
    fn name(&self) -> &str;

    /// Dimension `d` of the domain `[0,1]^d`.
    fn dim(&self) -> usize;

    /// Evaluate `f` at `points` (`n × dim`, row-major) into `out` (`n` values).
    ///
    /// Values are written as computed: a NaN, infinite or negative value is not an
    /// error here (the integrator counts and reports them).
    fn evaluate(&self, points: &[f64], out: &mut [f64]) -> Result<(), IntegrandError>;

    /// The exact integral over `[0,1]^dim`, when known.
    fn exact(&self) -> Option<f64> {
        None
    }
}

/// Check that `points` holds whole `dim`-wide rows and `out` one value per row.
pub fn check_batch(
    integrand: &dyn Integrand,
    points: &[f64],
    out: &[f64],
) -> Result<usize, IntegrandError> {
    let d = integrand.dim();
    if d == 0 || points.len() % d != 0 || points.len() / d != out.len() {
        return Err(IntegrandError::Shape {
            integrand: integrand.name().to_string(),
            message: format!(
                "expected n × {d} point values and n outputs, got {} values and {} outputs",
                points.len(),
                out.len()
            ),
        });
    }
    Ok(out.len())
}
