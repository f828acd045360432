//! [`QqgMap`]: which phase-space map turns the five random numbers of
//! [`EeToQqg`](super::EeToQqg) into momenta (the `[integrand] map` setting).
//!
//! Both maps give the same integral (the cross-section, `EeToQqg::exact`); they differ in
//! how flat the integrand is on `[0,1]^5`, which is what an importance sampler sees.

use super::integrand::{invalid_setting, IntegrandError};

/// The phase-space map of `ee_qqg`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum QqgMap {
    /// RAMBO on diet ([`ThreeBodyPhaseSpace`](super::ThreeBodyPhaseSpace)): flat in the
    /// Dalitz variables over the whole triangle, constant weight. The cuts are applied as
    /// `f = 0` outside them and the collinear peaks `1/((1 − x₁)(1 − x₂))` stay in `f`.
    /// The default (the benchmark of docs/INTEGRATION.md).
    #[default]
    Rambo,
    /// [`LogDalitzMap`](super::LogDalitzMap): logarithmic in `1 − x₁` and `1 − x₂` over
    /// the Dalitz region allowed by the cuts, so that every point passes them and the
    /// Jacobian cancels the collinear peaks; the orientation is flat.
    LogDalitz,
}

impl QqgMap {
    /// The names [`from_name`](Self::from_name) accepts (`-` may be written for `_`).
    pub const NAMES: [&'static str; 2] = ["rambo", "log_dalitz"];

    /// The setting's name of this map.
    pub fn name(self) -> &'static str {
        match self {
            QqgMap::Rambo => "rambo",
            QqgMap::LogDalitz => "log_dalitz",
        }
    }

    /// The map called `name`; an unknown name is an error naming the `map` key and the
    /// known maps.
    ///
    /// ```
    /// use flowinfer_simulators::integrands::QqgMap;
    /// assert_eq!(QqgMap::from_name("log-dalitz").unwrap(), QqgMap::LogDalitz);
    /// let err = QqgMap::from_name("vegas").unwrap_err().to_string();
    /// assert!(err.contains("`map`") && err.contains("log_dalitz"), "{err}");
    /// ```
    pub fn from_name(name: &str) -> Result<Self, IntegrandError> {
        let key = name.trim().to_ascii_lowercase().replace('-', "_");
        match key.as_str() {
            "rambo" => Ok(QqgMap::Rambo),
            "log_dalitz" => Ok(QqgMap::LogDalitz),
            _ => Err(invalid_setting(
                "ee_qqg",
                format!(
                    "`map` must be one of {}, got `{name}`",
                    Self::NAMES.join(", ")
                ),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_bad_names_are_errors() {
        for name in QqgMap::NAMES {
            assert_eq!(QqgMap::from_name(name).unwrap().name(), name);
        }
        assert_eq!(QqgMap::default(), QqgMap::Rambo);
        let msg = QqgMap::from_name("").unwrap_err().to_string();
        assert!(msg.contains("ee_qqg") && msg.contains("rambo"), "{msg}");
    }
}
