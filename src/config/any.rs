//! [`AnyConfig`]: a spec file of any job, told apart by its sections.

use crate::config::{load, FitConfig};
use crate::error::{Error, Result};
use crate::integrate::IntegrateConfig;
use crate::sbi::SbiConfig;
use crate::variational::VariationalConfig;
use std::path::Path;

/// A spec of any job: `[simulator]` makes it an `sbi` spec, `[integrand]` an
/// `integrate` spec, `[target]` a `variational` spec, anything else a `fit` spec.
#[derive(Debug, Clone, PartialEq)]
pub enum AnyConfig {
    /// A `flowinfer fit` spec.
    Fit(Box<FitConfig>),
    /// A `flowinfer sbi` spec.
    Sbi(Box<SbiConfig>),
    /// A `flowinfer integrate` spec.
    Integrate(Box<IntegrateConfig>),
    /// A `flowinfer variational` spec.
    Variational(Box<VariationalConfig>),
}

impl AnyConfig {
    /// Read a spec file, decide its job from its sections, parse and validate it.
    ///
    /// ```
    /// use flowinfer::config::AnyConfig;
    /// let spec = AnyConfig::load(concat!(env!("CARGO_MANIFEST_DIR"), "/models/camel-4d.toml"))?;
    /// assert_eq!(spec.job(), "integrate");
    /// # Ok::<(), flowinfer::Error>(())
    /// ```
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::file(path, format!("cannot read spec: {e}")))?;
        let table: toml::Table =
            toml::from_str(&text).map_err(|e| Error::file(path, format!("invalid spec: {e}")))?;
        Ok(if table.contains_key("simulator") {
            AnyConfig::Sbi(Box::new(load(path)?))
        } else if table.contains_key("integrand") {
            AnyConfig::Integrate(Box::new(load(path)?))
        } else if table.contains_key("target") {
            AnyConfig::Variational(Box::new(load(path)?))
        } else {
            AnyConfig::Fit(Box::new(load(path)?))
        })
    }

    /// The verb that runs it: `fit`, `sbi`, `integrate` or `variational`.
    pub fn job(&self) -> &'static str {
        match self {
            AnyConfig::Fit(_) => "fit",
            AnyConfig::Sbi(_) => "sbi",
            AnyConfig::Integrate(_) => "integrate",
            AnyConfig::Variational(_) => "variational",
        }
    }
}
