//! Look up a built-in integrand by name: [`integrand_by_name`].

use super::integrand::{invalid_setting, Integrand, IntegrandError};
use super::{
    Annulus, BreitWigner, Camel, EeToQqg, EntangledCircles, Gaussian, Needle, Polynomial, QqgMap,
    Shell, TwoNeedles,
};

/// The names [`integrand_by_name`] accepts (`-` may be written for `_`).
pub const INTEGRAND_NAMES: [&str; 10] = [
    "gaussian",
    "camel",
    "annulus",
    "entangled_circles",
    "polynomial",
    "ee_qqg",
    "needle",
    "shell",
    "breit_wigner",
    "two_needles",
];

/// Optional settings of the built-in integrands. A setting given to an integrand that
/// does not use it is an error (so that a misspelt configuration is not silently ignored).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct IntegrandOptions {
    /// Peak width `α` of `gaussian` and `camel` (default 0.2 for both).
    pub alpha: Option<f64>,
    /// Cut `y` of `ee_qqg` (`s_ij > y·s`; default 0.01).
    pub y_cut: Option<f64>,
    /// The narrow scale of the hard integrands: per-coordinate standard deviation `σ`
    /// of `needle` and `two_needles` (default 0.05), radial width `w` of `shell`
    /// (default 0.01), full width `Γ` of `breit_wigner` (default 0.001).
    pub width: Option<f64>,
    /// Correlation `ρ` between coordinates of `needle` and `two_needles` (default 0.9).
    pub correlation: Option<f64>,
    /// Centre coordinate `c` of `needle`, at `(c, …, c)` (default 0.5).
    pub centre: Option<f64>,
    /// Radius `r` of `shell` (default 0.35).
    pub radius: Option<f64>,
    /// Pole position `m₀` of `breit_wigner` (default 0.35).
    pub mass: Option<f64>,
    /// Weight `a` of the first needle of `two_needles` (default 0.7).
    pub weight: Option<f64>,
    /// Phase-space map of `ee_qqg` (default [`QqgMap::Rambo`]).
    pub map: Option<QqgMap>,
}

impl IntegrandOptions {
    /// Each setting's key, whether it is given, and the integrands that use it.
    fn usage(&self) -> [(&'static str, bool, &'static [&'static str]); 9] {
        [
            ("alpha", self.alpha.is_some(), &["gaussian", "camel"]),
            ("y_cut", self.y_cut.is_some(), &["ee_qqg"]),
            (
                "width",
                self.width.is_some(),
                &["needle", "shell", "breit_wigner", "two_needles"],
            ),
            (
                "correlation",
                self.correlation.is_some(),
                &["needle", "two_needles"],
            ),
            ("centre", self.centre.is_some(), &["needle"]),
            ("radius", self.radius.is_some(), &["shell"]),
            ("mass", self.mass.is_some(), &["breit_wigner"]),
            ("weight", self.weight.is_some(), &["two_needles"]),
            ("map", self.map.is_some(), &["ee_qqg"]),
        ]
    }
}

/// The built-in integrand `name` in `dim` dimensions.
///
/// `annulus` and `entangled_circles` require `dim = 2`, `ee_qqg` requires `dim = 5`;
/// the others take any `dim ≥ 1`. Errors name the known
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
    for (key, given, users) in options.usage() {
        if given && !users.contains(&canonical) {
            let verb = if users.len() == 1 { "does" } else { "do" };
            return Err(invalid_setting(
                canonical,
                format!("takes no `{key}` (only {} {verb})", users.join(" and ")),
            ));
        }
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
        "needle" => Box::new(Needle::new(
            dim,
            options.width.unwrap_or(Needle::DEFAULT_WIDTH),
            options.correlation.unwrap_or(Needle::DEFAULT_CORRELATION),
            options.centre.unwrap_or(Needle::DEFAULT_CENTRE),
        )?),
        "shell" => Box::new(Shell::new(
            dim,
            options.radius.unwrap_or(Shell::DEFAULT_RADIUS),
            options.width.unwrap_or(Shell::DEFAULT_WIDTH),
        )?),
        "breit_wigner" => Box::new(BreitWigner::new(
            dim,
            options.mass.unwrap_or(BreitWigner::DEFAULT_MASS),
            options.width.unwrap_or(BreitWigner::DEFAULT_WIDTH),
        )?),
        "two_needles" => Box::new(TwoNeedles::new(
            dim,
            options.width.unwrap_or(TwoNeedles::DEFAULT_WIDTH),
            options
                .correlation
                .unwrap_or(TwoNeedles::DEFAULT_CORRELATION),
            options.weight.unwrap_or(TwoNeedles::DEFAULT_WEIGHT),
        )?),
        _ => Box::new(
            EeToQqg::new(options.y_cut.unwrap_or(EeToQqg::DEFAULT_Y_CUT))?
                .with_map(options.map.unwrap_or_default()),
        ),
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
            ("needle", 8),
            ("shell", 8),
            ("breit-wigner", 4),
            ("two_needles", 8),
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
            ..IntegrandOptions::default()
        };
        let g = integrand_by_name("gaussian", 1, opts).unwrap();
        assert!((g.exact().unwrap() - libm::erf(0.5 / 0.3)).abs() < 1e-15);
        let opts = IntegrandOptions {
            y_cut: Some(0.1),
            ..IntegrandOptions::default()
        };
        let e = integrand_by_name("ee_qqg", 5, opts).unwrap();
        assert!((e.exact().unwrap() - 3.535).abs() < 0.01);
        // the log-Dalitz map is passed on: at r = 0.5 the default map's point fails no
        // cut either, but the two maps give different values there
        let mapped = IntegrandOptions {
            map: Some(QqgMap::LogDalitz),
            ..IntegrandOptions::default()
        };
        let (mut a, mut b) = ([0.0], [0.0]);
        integrand_by_name("ee_qqg", 5, mapped)
            .unwrap()
            .evaluate(&[0.5; 5], &mut a)
            .unwrap();
        let direct = EeToQqg::new(0.01).unwrap().with_map(QqgMap::LogDalitz);
        direct.evaluate(&[0.5; 5], &mut b).unwrap();
        assert_eq!(a, b);
        let msg = integrand_by_name("camel", 2, mapped)
            .err()
            .unwrap()
            .to_string();
        assert!(msg.contains("takes no `map` (only ee_qqg does)"), "{msg}");
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
            ..IntegrandOptions::default()
        };
        assert!(err("polynomial", 2, alpha).contains("no `alpha`"));
        let bad_alpha = IntegrandOptions {
            alpha: Some(-1.0),
            ..IntegrandOptions::default()
        };
        assert!(err("camel", 2, bad_alpha).contains("alpha must be positive"));
        let ycut = IntegrandOptions {
            y_cut: Some(0.5),
            ..IntegrandOptions::default()
        };
        assert!(err("ee_qqg", 5, ycut).contains("y_cut must lie"));
        assert!(err("gaussian", 2, ycut).contains("no `y_cut`"));
    }

    #[test]
    fn hard_integrand_options_are_passed_on_and_checked() {
        let o = IntegrandOptions {
            width: Some(0.2),
            correlation: Some(0.3),
            centre: Some(0.4),
            ..IntegrandOptions::default()
        };
        let f = integrand_by_name("needle", 3, o).unwrap();
        let direct = Needle::new(3, 0.2, 0.3, 0.4).unwrap();
        assert_eq!(f.exact(), direct.exact());
        assert!(
            f.exact().unwrap() < 0.99,
            "the wide needle reaches the faces"
        );
        let o = IntegrandOptions {
            width: Some(0.1),
            radius: Some(0.45),
            ..IntegrandOptions::default()
        };
        let f = integrand_by_name("shell", 2, o).unwrap();
        assert_eq!(f.exact(), Shell::new(2, 0.45, 0.1).unwrap().exact());
        let o = IntegrandOptions {
            width: Some(0.4),
            mass: Some(0.9),
            ..IntegrandOptions::default()
        };
        let f = integrand_by_name("breit_wigner", 2, o).unwrap();
        assert_eq!(f.exact(), BreitWigner::new(2, 0.9, 0.4).unwrap().exact());
        let o = IntegrandOptions {
            width: Some(0.1),
            weight: Some(0.2),
            ..IntegrandOptions::default()
        };
        let f = integrand_by_name("two-needles", 2, o).unwrap();
        let direct = TwoNeedles::new(2, 0.1, TwoNeedles::DEFAULT_CORRELATION, 0.2).unwrap();
        assert_eq!(f.exact(), direct.exact());

        let err = |name: &str, o: IntegrandOptions| {
            integrand_by_name(name, 4, o).err().unwrap().to_string()
        };
        let radius = IntegrandOptions {
            radius: Some(0.3),
            ..IntegrandOptions::default()
        };
        assert!(err("needle", radius).contains("takes no `radius` (only shell does)"));
        let width = IntegrandOptions {
            width: Some(0.3),
            ..IntegrandOptions::default()
        };
        let msg = err("camel", width);
        assert!(
            msg.contains("no `width`") && msg.contains("breit_wigner"),
            "{msg}"
        );
        let centre = IntegrandOptions {
            centre: Some(0.3),
            ..IntegrandOptions::default()
        };
        assert!(err("two_needles", centre).contains("no `centre`"));
        let big = IntegrandOptions {
            radius: Some(0.6),
            ..IntegrandOptions::default()
        };
        assert!(err("shell", big).contains("fits inside the unit cube"));
    }
}
