//! Look up a simulator by name: [`simulator_by_name`], the counterpart of
//! [`integrand_by_name`](crate::integrand_by_name).
//!
//! ```
//! use flowinfer_simulators::{simulator_by_name, SimulatorOptions};
//!
//! let sim = simulator_by_name("two_moons", SimulatorOptions::default()).unwrap();
//! assert_eq!(sim.param_dim(), 2);
//! let noisy = SimulatorOptions { noise: Some(0.01), ..SimulatorOptions::default() };
//! assert!(simulator_by_name("sir_seed", noisy.clone()).is_ok());
//! assert!(simulator_by_name("two_moons", noisy).is_err());
//! ```

use crate::external::{ExternalSimulator, ExternalSimulatorConfig};
use crate::{
    DegenerateSir, GaussianLinear, LotkaVolterra, SbibmSir, SimulationError, Simulator, Sir, Slcp,
    TwoMoons,
};

/// The built-in simulators [`simulator_by_name`] knows; it also accepts `"external"`
/// (with [`SimulatorOptions::external`]).
pub const SIMULATOR_NAMES: [&str; 8] = [
    "two_moons",
    "gaussian_linear",
    "slcp",
    "sir",
    "lotka_volterra",
    "sir_seed",
    "sir_degenerate",
    "sir_boarding_school",
];

/// Optional settings of [`simulator_by_name`]. A setting given to a simulator that does
/// not use it is an error (so that a misspelt configuration is not silently ignored).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SimulatorOptions {
    /// Observation noise standard deviation of `sir_seed` and `sir_degenerate`
    /// (`N(0, noise²)` on every entry; their default when `None`).
    pub noise: Option<f64>,
    /// The program and its parameters, for `"external"` (required there).
    pub external: Option<ExternalSimulatorConfig>,
}

/// Checks that `options` fit the simulator `name` without building it: `Err` says what
/// is wrong (an unknown name, listing the known ones; `noise` for a simulator without
/// it; an `external` configuration missing or given to a built-in simulator).
pub fn check_simulator_options(name: &str, options: &SimulatorOptions) -> Result<(), String> {
    if name != "external" && !SIMULATOR_NAMES.contains(&name) {
        return Err(format!(
            "unknown name {name:?}; expected one of {} or external",
            SIMULATOR_NAMES.join(", ")
        ));
    }
    if options.noise.is_some() && !matches!(name, "sir_seed" | "sir_degenerate") {
        return Err(format!(
            "noise applies to sir_seed and sir_degenerate only, not {name:?}"
        ));
    }
    match (name, &options.external) {
        ("external", None) => Err(
            "name = \"external\" needs an `external` table (command, param_names, prior, obs_dim)"
                .into(),
        ),
        (n, Some(_)) if n != "external" => {
            Err("an `external` table needs name = \"external\"".into())
        }
        _ => Ok(()),
    }
}

/// The simulator `name` (one of [`SIMULATOR_NAMES`] or `"external"`) with `options`.
///
/// Errors are [`SimulationError::InvalidSetting`]: the messages of
/// [`check_simulator_options`], and invalid settings of the simulator itself (a
/// negative noise, an invalid external configuration).
pub fn simulator_by_name(
    name: &str,
    options: SimulatorOptions,
) -> Result<Box<dyn Simulator>, SimulationError> {
    check_simulator_options(name, &options).map_err(|message| SimulationError::InvalidSetting {
        simulator: name.to_string(),
        message,
    })?;
    Ok(match name {
        "two_moons" => Box::new(TwoMoons),
        "gaussian_linear" => Box::new(GaussianLinear),
        "slcp" => Box::new(Slcp),
        "sir" => Box::new(SbibmSir),
        "lotka_volterra" => Box::new(LotkaVolterra),
        "sir_boarding_school" => Box::new(crate::BoardingSchool),
        "sir_seed" => match options.noise {
            Some(s) => Box::new(Sir::with_noise(s)?),
            None => Box::new(Sir::new()),
        },
        "sir_degenerate" => match options.noise {
            Some(s) => Box::new(DegenerateSir::with_noise(s)?),
            None => Box::new(DegenerateSir::new()),
        },
        _ => {
            // `check_simulator_options` let only "external" with its configuration through.
            let config = options
                .external
                .ok_or_else(|| SimulationError::InvalidSetting {
                    simulator: name.to_string(),
                    message: "missing `external` configuration".into(),
                })?;
            Box::new(ExternalSimulator::new(config)?)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_builds_and_reports_its_name() {
        for name in SIMULATOR_NAMES {
            let sim = simulator_by_name(name, SimulatorOptions::default()).unwrap();
            assert!(sim.param_dim() > 0 && sim.obs_dim() > 0, "{name}");
        }
    }

    #[test]
    fn bad_names_and_options_are_invalid_settings() {
        let msg = |name: &str, options: SimulatorOptions| match simulator_by_name(name, options) {
            Err(SimulationError::InvalidSetting { message, .. }) => message,
            Err(e) => panic!("{name}: unexpected error {e}"),
            Ok(_) => panic!("{name}: built"),
        };
        let m = msg("two_moon", SimulatorOptions::default());
        assert!(
            m.contains("two_moons, gaussian_linear") && m.contains("or external"),
            "{m}"
        );
        let noisy = SimulatorOptions {
            noise: Some(0.1),
            ..SimulatorOptions::default()
        };
        assert!(msg("slcp", noisy).contains("noise applies to"));
        assert!(msg("external", SimulatorOptions::default()).contains("needs an `external`"));
        let negative = SimulatorOptions {
            noise: Some(-1.0),
            ..SimulatorOptions::default()
        };
        assert!(simulator_by_name("sir_seed", negative).is_err());
    }
}
