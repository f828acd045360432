//! The [`Integrand`] trait, its batch error and the shared helpers of the built-ins
//! (kept apart from the module that declares and builds them, so the imports point one
//! way: built-ins and the registry use this file, never the reverse).

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
    if d == 0 || !points.len().is_multiple_of(d) || points.len() / d != out.len() {
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

/// The value of a built-in integrand at a point that is not strictly usable: `NaN` when a
/// coordinate is NaN (so that the integrator counts it), `0` when the point lies outside
/// `[0,1]^d` (the built-ins are zero outside the unit cube), `None` otherwise.
pub(crate) fn outside_value(row: &[f64]) -> Option<f64> {
    if row.iter().any(|v| v.is_nan()) {
        Some(f64::NAN)
    } else if row.iter().any(|v| !(0.0..=1.0).contains(v)) {
        Some(0.0)
    } else {
        None
    }
}

/// An [`IntegrandError::InvalidSetting`] for `integrand`.
pub(crate) fn invalid_setting(integrand: &str, message: impl Into<String>) -> IntegrandError {
    IntegrandError::InvalidSetting {
        integrand: integrand.to_string(),
        message: message.into(),
    }
}

/// Evaluate `f` row by row over a checked batch (`points` is `n × dim`), writing the
/// built-ins' out-of-domain convention ([`outside_value`]) where it applies.
pub(crate) fn evaluate_rows(
    integrand: &dyn Integrand,
    points: &[f64],
    out: &mut [f64],
    f: impl Fn(&[f64]) -> f64,
) -> Result<(), IntegrandError> {
    check_batch(integrand, points, out)?;
    let d = integrand.dim();
    for (row, o) in points.chunks_exact(d).zip(out.iter_mut()) {
        *o = outside_value(row).unwrap_or_else(|| f(row));
    }
    Ok(())
}
