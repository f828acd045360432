//! Built-in targets with known answers, and the registry by name
//! ([`target_by_name`]):
//!
//! | name | d | target | known |
//! |---|---|---|---|
//! | `u1`…`u4` | 2 | Rezende & Mohamed's energy functions ([`Energy`]) | `log Z` by quadrature |
//! | `banana` | 2 | [`Banana`] | `log Z`, mean, covariance |
//! | `funnel` | 10 (`dim`) | Neal's funnel ([`Funnel`]) | `log Z`, the log-scale marginal `N(0, 3²)` |
//! | `gaussian` | 10 (`dim`) | correlated Gaussian ([`Gaussian::correlated`]) | `log Z`, mean, covariance |
//! | `mixture` | 2 | two separated modes ([`Mixture`]) | `log Z`, mean, covariance |
//! | `sine` | 2 | the planar-flow tutorial's sine density ([`Sine`]) | `log Z = 0` |
//! | `logistic_iris` | 5 | Bayesian logistic regression on iris ([`LogisticRegression`]) | held-out figures |
//! | `gaussian_linear` | 10 | the sbibm posterior ([`GaussianLinearPosterior`]) | `log Z`, mean, covariance |

pub mod banana;
pub mod energy;
pub mod funnel;
pub mod gaussian;
pub mod gaussian_linear;
pub mod logistic;
pub mod mixture;
pub(crate) mod ops;
pub mod sine;

pub use banana::Banana;
pub use energy::Energy;
pub use funnel::Funnel;
pub use gaussian::Gaussian;
pub use gaussian_linear::GaussianLinearPosterior;
pub use logistic::LogisticRegression;
pub use mixture::Mixture;
pub use sine::Sine;

use super::target::LogDensity;
use crate::error::{Error, Result};
use std::path::PathBuf;

/// Every built-in name.
pub const TARGET_NAMES: [&str; 11] = [
    "u1",
    "u2",
    "u3",
    "u4",
    "banana",
    "funnel",
    "gaussian",
    "mixture",
    "sine",
    "logistic_iris",
    "gaussian_linear",
];

/// Settings of the built-ins that have any.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TargetOptions {
    /// Dimension of `funnel` and `gaussian` (default 10); others reject a different one.
    pub dim: Option<usize>,
    /// `logistic_iris`: the iris CSV; `gaussian_linear`: the task folder.
    pub data: Option<PathBuf>,
    /// `gaussian_linear`: the reference observation number (default 1).
    pub observation: Option<usize>,
    /// `logistic_iris`: the prior standard deviation (default 1).
    pub prior_scale: Option<f64>,
}

/// The built-in target `name` (case-insensitive, `-` for `_`; module docs). Errors name
/// the unknown target and list the known ones, or the option that does not apply.
///
/// ```
/// use flowinfer::variational::{target_by_name, TargetOptions};
/// let t = target_by_name("banana", &TargetOptions::default())?;
/// assert_eq!((t.name(), t.dim()), ("banana", 2));
/// assert!(target_by_name("bananas", &TargetOptions::default()).is_err());
/// # Ok::<(), flowinfer::Error>(())
/// ```
pub fn target_by_name(name: &str, opts: &TargetOptions) -> Result<Box<dyn LogDensity>> {
    let key = name.trim().to_ascii_lowercase().replace('-', "_");
    let fixed = |d: usize| -> Result<()> {
        match opts.dim {
            Some(g) if g != d => Err(Error::config(format!(
                "target `{key}` has dimension {d}, not {g}"
            ))),
            _ => Ok(()),
        }
    };
    let uses = |what: &str, given: bool, allowed: &[&str]| -> Result<()> {
        if given && !allowed.contains(&key.as_str()) {
            return Err(Error::config(format!(
                "[target] {what} does not apply to `{key}` (only to {})",
                allowed.join(", ")
            )));
        }
        Ok(())
    };
    uses(
        "data",
        opts.data.is_some(),
        &["logistic_iris", "gaussian_linear"],
    )?;
    uses(
        "observation",
        opts.observation.is_some(),
        &["gaussian_linear"],
    )?;
    uses(
        "prior_scale",
        opts.prior_scale.is_some(),
        &["logistic_iris"],
    )?;
    Ok(match key.as_str() {
        "u1" | "u2" | "u3" | "u4" => {
            fixed(2)?;
            Box::new(Energy::new(key.as_bytes()[1] - b'0')?)
        }
        "banana" => {
            fixed(2)?;
            Box::new(Banana)
        }
        "funnel" => Box::new(Funnel::new(opts.dim.unwrap_or(10))?),
        "gaussian" => Box::new(Gaussian::correlated(opts.dim.unwrap_or(10))?),
        "mixture" => {
            fixed(2)?;
            Box::new(Mixture)
        }
        "sine" => {
            fixed(2)?;
            Box::new(Sine)
        }
        "logistic_iris" => {
            fixed(5)?;
            let path = opts
                .data
                .clone()
                .unwrap_or_else(|| logistic::IRIS_PATH.into());
            Box::new(LogisticRegression::iris(
                &path,
                opts.prior_scale.unwrap_or(1.0),
            )?)
        }
        "gaussian_linear" => {
            fixed(10)?;
            let dir = opts
                .data
                .clone()
                .unwrap_or_else(|| gaussian_linear::GAUSSIAN_LINEAR_DIR.into());
            Box::new(GaussianLinearPosterior::reference(
                &dir,
                opts.observation.unwrap_or(1),
            )?)
        }
        _ => {
            return Err(Error::config(format!(
                "unknown target `{name}`; built-ins: {}",
                TARGET_NAMES.join(", ")
            )))
        }
    })
}
