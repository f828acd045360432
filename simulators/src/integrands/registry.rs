//! Look up a built-in integrand by name: [`integrand_by_name`].

use super::integrand::{invalid_setting, Integrand, IntegrandError};
use super::{Annulus, Camel, EeToQqg, EntangledCircles, Gaussian, Polynomial};

/// The names [`integrand_by_name`] accepts (`-` may be written for `_`).
pub const INTEGRAND_NAMES: [&str; 6] = [
    "gaussian",
    "camel",
    "annulus",
    "entangled_circles",
    "polynomial",
    "ee_qqg",
];

/// Optional settings of the built-in integrands. A setting given to an integrand that
/// does not use it is an error (so that a misspelt configuration is not silently ignored).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct IntegrandOptions {
    /// Peak width `α` of `gaussian` and `camel` (default 0.2 for both).
    pub alpha: Option<f64>,
    /// Cut `y` of `ee_qqg` (`s_ij > y·s`; default 0.01).
    pub y_cut: Option<f64>,
}

/// The built-in integrand `name` in `dim` dimensions.
///
/// `annulus` and `entangled_circles` require `dim = 2`, `ee_qqg` requires `dim = 5`;
/// `gaussian`, `camel` and `polynomial` take any `dim ≥ 1`. Errors name the known
/// integrands for an unknown name, and the required dimension for a wrong one.
pub fn integrand_by_name(
    name: &str,
    dim: usize,
    options: IntegrandOptions,
) -> Result<Box<dyn Integrand>, IntegrandError> {
    let key = name.trim().to_ascii_lowercase().replace('-', "_");
    let Some(&canonical) = INTEGRAND_NAMES.iter().find(|n| **n == key) else {
        return Err(invalid_setting(
            name,
            format!("unknown integrand; known: {}", INTEGRAND_NAMES.join(", ")),
        ));
    };
    let uses_alpha = matches!(canonical, "gaussian" | "camel");
    let uses_y_cut = canonical == "ee_qqg";
    if options.alpha.is_some() && !uses_alpha {
        return Err(invalid_setting(
            canonical,
            "takes no `alpha` (only gaussian and camel do)",
        ));
    }
    if options.y_cut.is_some() && !uses_y_cut {
        return Err(invalid_setting(
            canonical,
            "takes no `y_cut` (only ee_qqg does)",
        ));
    }
    let fixed_dim = match canonical {
        "annulus" | "entangled_circles" => Some(2),
        "ee_qqg" => Some(5),
        _ => None,
    };
    if let Some(required) = fixed_dim {
        if dim != required {
            return Err(invalid_setting(
                canonical,
                format!("is defined in dimension {required} only, got dimension {dim}"),
            ));
        }
    }
    Ok(match canonical {
        "gaussian" => Box::new(Gaussian::new(
            dim,
            options.alpha.unwrap_or(Gaussian::DEFAULT_ALPHA),
        )?),
        "camel" => Box::new(Camel::new(
            dim,
            options.alpha.unwrap_or(Camel::DEFAULT_ALPHA),
        )?),
        "annulus" => Box::new(Annulus),
        "entangled_circles" => Box::new(EntangledCircles),
        "polynomial" => Box::new(Polynomial::new(dim)?),
        _ => Box::new(EeToQqg::new(
            options.y_cut.unwrap_or(EeToQqg::DEFAULT_Y_CUT),
        )?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_builds_with_its_dimension() {
        for (name, dim) in [
            ("gaussian", 3),
            ("camel", 4),
            ("annulus", 2),
            ("entangled-circles", 2),
            ("polynomial", 7),
            ("ee_qqg", 5),
        ] {
            let f = integrand_by_name(name, dim, IntegrandOptions::default()).unwrap();
            assert_eq!(f.dim(), dim);
            assert_eq!(f.name(), name.replace('-', "_"));
            assert!(f.exact().unwrap() > 0.0);
        }
    }

    #[test]
    fn options_are_passed_on() {
        let opts = IntegrandOptions {
            alpha: Some(0.3),
            y_cut: None,
        };
        let g = integrand_by_name("gaussian", 1, opts).unwrap();
        assert!((g.exact().unwrap() - libm::erf(0.5 / 0.3)).abs() < 1e-15);
        let opts = IntegrandOptions {
            alpha: None,
            y_cut: Some(0.1),
        };
        let e = integrand_by_name("ee_qqg", 5, opts).unwrap();
        assert!((e.exact().unwrap() - 3.535).abs() < 0.01);
    }

    #[test]
    fn clear_errors() {
        let err = |name: &str, dim: usize, o: IntegrandOptions| {
            integrand_by_name(name, dim, o).err().unwrap().to_string()
        };
        let none = IntegrandOptions::default();
        let msg = err("rosenbrock", 2, none);
        assert!(
            msg.contains("unknown integrand") && msg.contains("entangled_circles"),
            "{msg}"
        );
        let msg = err("annulus", 3, none);
        assert!(msg.contains("dimension 2 only, got dimension 3"), "{msg}");
        let msg = err("ee_qqg", 4, none);
        assert!(msg.contains("dimension 5"), "{msg}");
        let msg = err("gaussian", 0, none);
        assert!(msg.contains("at least 1"), "{msg}");
        let alpha = IntegrandOptions {
            alpha: Some(0.1),
            y_cut: None,
        };
        assert!(err("polynomial", 2, alpha).contains("no `alpha`"));
        let bad_alpha = IntegrandOptions {
            alpha: Some(-1.0),
            y_cut: None,
        };
        assert!(err("camel", 2, bad_alpha).contains("alpha must be positive"));
        let ycut = IntegrandOptions {
            alpha: None,
            y_cut: Some(0.5),
        };
        assert!(err("ee_qqg", 5, ycut).contains("y_cut must lie"));
        assert!(err("gaussian", 2, ycut).contains("no `y_cut`"));
    }
}
