//! [`LogDensity`]: the target of variational inference, an unnormalised log density
//! `log p̃(x | c)` on `R^d`, evaluated on a batch of points as a tensor; what is known
//! about it exactly ([`Truth`]); closures as targets ([`FnLogDensity`] on tensors,
//! [`RowsLogDensity`] on `f64` rows) and external programs ([`ExternalTarget`]).
//!
//! **Why tensors.** The reparameterisation gradient of the ELBO needs `∂ log p̃/∂x` at
//! the flow's samples. A target written with tensor operations gets it from candle's
//! autograd, with no hand-written gradient, and stays on the flow's device in one
//! batched call. A target that is only a function of `f64` rows (an external program,
//! a plain closure) is evaluated on the host — one device → host copy of the points
//! per batch — and is marked not [`differentiable`](LogDensity::differentiable): the
//! trainer then uses the score-function gradient (see [`super::train`]), which needs
//! values only.
//!
//! **Non-finite values.** A target may return NaN or `±inf` for some points (`-inf`:
//! outside its support). The job counts them by kind and drops those samples; a batch
//! where more than the allowed fraction is non-finite is an error
//! ([`super::check_values`]).

use crate::error::{Error, Result};
use candle_core::{DType, Device, Tensor};
use flowinfer_simulators::external::ExternalLogDensity;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// What is known exactly about a target (any part may be missing).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Truth {
    /// `log Z = log ∫ p̃(x) dx`.
    pub log_z: Option<f64>,
    /// How `log_z` was obtained (`closed form`, `quadrature …`).
    pub log_z_source: Option<String>,
    /// The mean of `p = p̃/Z`.
    pub mean: Option<Vec<f64>>,
    /// Its covariance, `d × d` row-major.
    pub cov: Option<Vec<f64>>,
}

impl Truth {
    /// A truth with a closed-form `log Z` only.
    pub fn log_z(log_z: f64) -> Self {
        Self {
            log_z: Some(log_z),
            log_z_source: Some("closed form".into()),
            ..Self::default()
        }
    }

    /// Add the exact mean and covariance (`d × d` row-major).
    pub fn with_moments(mut self, mean: Vec<f64>, cov: Vec<f64>) -> Self {
        self.mean = Some(mean);
        self.cov = Some(cov);
        self
    }
}

/// An unnormalised log density on `R^d` (module docs).
pub trait LogDensity: Send + Sync {
    /// Short, stable identifier (e.g. `"banana"`).
    fn name(&self) -> &str;

    /// Dimension `d` of the points.
    fn dim(&self) -> usize;

    /// Width of the context `c` (0 = none; amortised inference over contexts when > 0).
    fn context_dim(&self) -> usize {
        0
    }

    /// `log p̃(x | c)` for the rows of `x` (`(n, d)`, with a context `(n, c)` when
    /// [`Self::context_dim`] > 0): a tensor `(n,)` of the dtype and device of `x`.
    /// Non-finite values are allowed (module docs).
    fn log_density(&self, x: &Tensor, ctx: Option<&Tensor>) -> Result<Tensor>;

    /// Whether [`Self::log_density`] is differentiable in `x` through candle's autograd.
    fn differentiable(&self) -> bool {
        true
    }

    /// What is known exactly (may be costly, e.g. a quadrature: call once).
    fn truth(&self) -> Result<Truth> {
        Ok(Truth::default())
    }

    /// Column names of the user's coordinates (default `x1..xd`).
    fn columns(&self) -> Vec<String> {
        (1..=self.dim()).map(|i| format!("x{i}")).collect()
    }

    /// Map points from the coordinates the flow works in to the user's (identity unless
    /// the target lives on a box or half-line and is given on `R^d` through a bijection).
    fn to_user(&self, x: &Tensor) -> Result<Tensor> {
        Ok(x.clone())
    }

    /// The box `[x_lo, x_hi, y_lo, y_hi]` (flow coordinates) where a 2-D target's
    /// density is drawn; `None` lets the plot choose from the samples.
    fn plot_box(&self) -> Option<[f64; 4]> {
        None
    }

    /// Target-specific figures of posterior draws (flow coordinates, `n × d` row-major),
    /// e.g. held-out log likelihood; empty by default.
    fn draw_metrics(&self, _draws: &[f64]) -> Result<Vec<(String, f64)>> {
        Ok(Vec::new())
    }
}

/// The rows of `x` as one row-major `f64` vector.
pub fn host_rows(x: &Tensor) -> Result<Vec<f64>> {
    Ok(x.to_dtype(DType::F64)?.flatten_all()?.to_vec1::<f64>()?)
}

/// `n` host values as a tensor of `dtype` on `device`.
pub fn to_tensor(values: Vec<f64>, dtype: DType, device: &Device) -> Result<Tensor> {
    let n = values.len();
    Ok(Tensor::from_vec(values, n, device)?.to_dtype(dtype)?)
}

/// Check that `x` is `(n, dim)` for a target and return `n`.
pub fn check_points(target: &dyn LogDensity, x: &Tensor) -> Result<usize> {
    crate::checks::expect_matrix(
        x,
        target.dim(),
        &format!("points of target `{}`", target.name()),
    )
}

/// A differentiable target from a closure on tensors: `f(x)` maps `(n, d)` to `(n,)`.
///
/// ```
/// use flowinfer::variational::{FnLogDensity, LogDensity};
/// use candle_core::{Device, Tensor};
/// // A standard normal, unnormalised: log Z = log 2π.
/// let t = FnLogDensity::new("normal", 2, |x: &Tensor| (x.sqr()?.sum(1)? * -0.5))
///     .with_log_z((2.0 * std::f64::consts::PI).ln());
/// let x = Tensor::new(&[[0.0f64, 0.0], [1.0, 1.0]], &Device::Cpu)?;
/// assert_eq!(t.log_density(&x, None)?.to_vec1::<f64>()?, vec![0.0, -1.0]);
/// # Ok::<(), flowinfer::Error>(())
/// ```
pub struct FnLogDensity<F> {
    name: String,
    dim: usize,
    f: F,
    truth: Truth,
}

impl<F> FnLogDensity<F>
where
    F: Fn(&Tensor) -> candle_core::Result<Tensor> + Send + Sync,
{
    /// A target named `name` on `R^dim`.
    pub fn new(name: impl Into<String>, dim: usize, f: F) -> Self {
        Self {
            name: name.into(),
            dim,
            f,
            truth: Truth::default(),
        }
    }

    /// Declare the exact `log Z`.
    pub fn with_log_z(mut self, log_z: f64) -> Self {
        self.truth.log_z = Some(log_z);
        self.truth.log_z_source = Some("given".into());
        self
    }

    /// Declare the exact truth.
    pub fn with_truth(mut self, truth: Truth) -> Self {
        self.truth = truth;
        self
    }
}

impl<F> LogDensity for FnLogDensity<F>
where
    F: Fn(&Tensor) -> candle_core::Result<Tensor> + Send + Sync,
{
    fn name(&self) -> &str {
        &self.name
    }
    fn dim(&self) -> usize {
        self.dim
    }
    fn log_density(&self, x: &Tensor, _ctx: Option<&Tensor>) -> Result<Tensor> {
        let n = check_points(self, x)?;
        let v = (self.f)(x)?;
        if v.dims() != [n] {
            return Err(Error::Shape {
                what: format!("log density of target `{}`", self.name),
                expected: format!("({n},)"),
                got: v.dims().to_vec(),
            });
        }
        Ok(v)
    }
    fn truth(&self) -> Result<Truth> {
        Ok(self.truth.clone())
    }
}

/// A target from a closure on one `f64` row, evaluated on the host in parallel (rayon);
/// not differentiable, so training uses the score-function gradient.
///
/// ```
/// use flowinfer::variational::{LogDensity, RowsLogDensity};
/// use candle_core::{Device, Tensor};
/// let t = RowsLogDensity::new("normal", 2, |x: &[f64]| -0.5 * (x[0] * x[0] + x[1] * x[1]));
/// let x = Tensor::new(&[[0.0f32, 0.0], [1.0, 1.0]], &Device::Cpu)?;
/// assert_eq!(t.log_density(&x, None)?.to_vec1::<f32>()?, vec![0.0, -1.0]);
/// assert!(!t.differentiable());
/// # Ok::<(), flowinfer::Error>(())
/// ```
pub struct RowsLogDensity<F> {
    name: String,
    dim: usize,
    f: F,
    truth: Truth,
}

impl<F> RowsLogDensity<F>
where
    F: Fn(&[f64]) -> f64 + Send + Sync,
{
    /// A target named `name` on `R^dim`.
    pub fn new(name: impl Into<String>, dim: usize, f: F) -> Self {
        Self {
            name: name.into(),
            dim,
            f,
            truth: Truth::default(),
        }
    }

    /// Declare the exact `log Z`.
    pub fn with_log_z(mut self, log_z: f64) -> Self {
        self.truth.log_z = Some(log_z);
        self.truth.log_z_source = Some("given".into());
        self
    }
}

impl<F> LogDensity for RowsLogDensity<F>
where
    F: Fn(&[f64]) -> f64 + Send + Sync,
{
    fn name(&self) -> &str {
        &self.name
    }
    fn dim(&self) -> usize {
        self.dim
    }
    fn differentiable(&self) -> bool {
        false
    }
    fn log_density(&self, x: &Tensor, _ctx: Option<&Tensor>) -> Result<Tensor> {
        check_points(self, x)?;
        let rows = host_rows(x)?;
        let out: Vec<f64> = rows.par_chunks(self.dim).map(|r| (self.f)(r)).collect();
        to_tensor(out, x.dtype(), x.device())
    }
    fn truth(&self) -> Result<Truth> {
        Ok(self.truth.clone())
    }
}

/// An external program as a target ([`ExternalLogDensity`]: points as CSV on stdin,
/// one log density per line on stdout); not differentiable.
pub struct ExternalTarget {
    program: ExternalLogDensity,
    columns: Option<Vec<String>>,
}

impl ExternalTarget {
    /// The target computed by `program`; `columns` names the coordinates (default
    /// `x1..xd`).
    pub fn new(program: ExternalLogDensity, columns: Option<Vec<String>>) -> Result<Self> {
        program.validate()?;
        if let Some(c) = &columns {
            if c.len() != program.dim {
                return Err(Error::config(format!(
                    "[target] names has {} entries for dimension {}",
                    c.len(),
                    program.dim
                )));
            }
        }
        Ok(Self { program, columns })
    }
}

impl LogDensity for ExternalTarget {
    fn name(&self) -> &str {
        self.program.name()
    }
    fn dim(&self) -> usize {
        self.program.dim
    }
    fn differentiable(&self) -> bool {
        false
    }
    fn log_density(&self, x: &Tensor, _ctx: Option<&Tensor>) -> Result<Tensor> {
        let n = check_points(self, x)?;
        let rows = host_rows(x)?;
        let mut out = vec![0.0; n];
        self.program.evaluate(&rows, &mut out)?;
        to_tensor(out, x.dtype(), x.device())
    }
    fn columns(&self) -> Vec<String> {
        self.columns
            .clone()
            .unwrap_or_else(|| (1..=self.dim()).map(|i| format!("x{i}")).collect())
    }
}
