//! [`FnIntegrand`]: a closure `f(x) -> f64` on `[0,1]^d` as an [`Integrand`], so a user
//! can integrate a function written inline without implementing the trait.

use super::integrand::{check_batch, Integrand, IntegrandError};

/// A closure evaluated point by point (rows of the batch), with an optional exact value.
///
/// ```
/// use flowinfer_simulators::{FnIntegrand, Integrand};
/// let f = FnIntegrand::new("xy", 2, |x: &[f64]| 4.0 * x[0] * x[1]).with_exact(1.0);
/// let mut out = [0.0; 2];
/// f.evaluate(&[0.5, 0.5, 1.0, 0.25], &mut out)?;
/// assert_eq!(out, [1.0, 1.0]);
/// # Ok::<(), flowinfer_simulators::IntegrandError>(())
/// ```
pub struct FnIntegrand<F> {
    name: String,
    dim: usize,
    f: F,
    exact: Option<f64>,
}

impl<F: Fn(&[f64]) -> f64 + Send + Sync> FnIntegrand<F> {
    /// `f` on `[0,1]^dim`, called `name` in reports.
    pub fn new(name: impl Into<String>, dim: usize, f: F) -> Self {
        Self {
            name: name.into(),
            dim,
            f,
            exact: None,
        }
    }

    /// Declare the exact integral (reports then give the pull).
    pub fn with_exact(mut self, value: f64) -> Self {
        self.exact = Some(value);
        self
    }
}

impl<F: Fn(&[f64]) -> f64 + Send + Sync> Integrand for FnIntegrand<F> {
    fn name(&self) -> &str {
        &self.name
    }

    fn dim(&self) -> usize {
        self.dim
    }

    fn evaluate(&self, points: &[f64], out: &mut [f64]) -> Result<(), IntegrandError> {
        check_batch(self, points, out)?;
        for (x, o) in points.chunks_exact(self.dim).zip(out.iter_mut()) {
            *o = (self.f)(x);
        }
        Ok(())
    }

    fn exact(&self) -> Option<f64> {
        self.exact
    }
}
