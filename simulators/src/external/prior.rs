//! [`PriorSpec`]: the independent one-dimensional priors an
//! [`ExternalSimulator`](super::ExternalSimulator) is configured with.

use rand::RngCore;
use rand_distr::{Distribution, LogNormal, Normal, Uniform};
use serde::{Deserialize, Serialize};

/// Prior of one parameter. In a TOML spec:
/// `{ type = "uniform", low = 0.0, high = 1.0 }`,
/// `{ type = "normal", mean = 0.0, std = 1.0 }` or
/// `{ type = "log_normal", mean = -1.0, std = 0.5 }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum PriorSpec {
    /// Uniform on the closed interval `[low, high]`.
    Uniform {
        /// Lower bound.
        low: f64,
        /// Upper bound (greater than `low`).
        high: f64,
    },
    /// Normal with the given mean and standard deviation.
    Normal {
        /// Mean.
        mean: f64,
        /// Standard deviation (positive).
        std: f64,
    },
    /// Log-normal: `ln θ ~ Normal(mean, std)`; support `θ > 0`.
    LogNormal {
        /// Mean of `ln θ`.
        mean: f64,
        /// Standard deviation of `ln θ` (positive).
        std: f64,
    },
}

/// `ln √(2π)`.
const LN_SQRT_2PI: f64 = 0.918_938_533_204_672_8;

impl PriorSpec {
    /// Checks the parameters: finite, `low < high`, `std > 0`. The error says
    /// what was wrong.
    pub fn validate(&self) -> Result<(), String> {
        match *self {
            PriorSpec::Uniform { low, high } => {
                if !(low.is_finite() && high.is_finite() && low < high) {
                    return Err(format!(
                        "uniform prior needs finite low < high, got low = {low}, high = {high}"
                    ));
                }
            }
            PriorSpec::Normal { mean, std } | PriorSpec::LogNormal { mean, std } => {
                if !(mean.is_finite() && std.is_finite() && std > 0.0) {
                    return Err(format!(
                        "{} prior needs a finite mean and a finite std > 0, got mean = {mean}, \
                         std = {std}",
                        self.kind()
                    ));
                }
            }
        }
        Ok(())
    }

    /// The serde tag of the variant (`uniform`, `normal`, `log_normal`).
    pub fn kind(&self) -> &'static str {
        match self {
            PriorSpec::Uniform { .. } => "uniform",
            PriorSpec::Normal { .. } => "normal",
            PriorSpec::LogNormal { .. } => "log_normal",
        }
    }

    /// Whether `x` lies in the support (closed interval for uniform, finite
    /// for normal, finite and positive for log-normal).
    pub fn contains(&self, x: f64) -> bool {
        match *self {
            PriorSpec::Uniform { low, high } => low <= x && x <= high,
            PriorSpec::Normal { .. } => x.is_finite(),
            PriorSpec::LogNormal { .. } => x.is_finite() && x > 0.0,
        }
    }

    /// Normalised log density at `x`; `-inf` outside the support.
    pub fn log_density(&self, x: f64) -> f64 {
        if !self.contains(x) {
            return f64::NEG_INFINITY;
        }
        match *self {
            PriorSpec::Uniform { low, high } => -(high - low).ln(),
            PriorSpec::Normal { mean, std } => {
                let z = (x - mean) / std;
                -0.5 * z * z - std.ln() - LN_SQRT_2PI
            }
            PriorSpec::LogNormal { mean, std } => {
                let z = (x.ln() - mean) / std;
                -0.5 * z * z - std.ln() - LN_SQRT_2PI - x.ln()
            }
        }
    }

    /// A sampler for this prior, or the [`validate`](Self::validate) error.
    pub(crate) fn sampler(&self) -> Result<Sampler, String> {
        self.validate()?;
        let bad = |e: &dyn std::fmt::Display| format!("{} prior: {e}", self.kind());
        Ok(match *self {
            PriorSpec::Uniform { low, high } => {
                Sampler::Uniform(Uniform::new_inclusive(low, high).map_err(|e| bad(&e))?)
            }
            PriorSpec::Normal { mean, std } => {
                Sampler::Normal(Normal::new(mean, std).map_err(|e| bad(&e))?)
            }
            PriorSpec::LogNormal { mean, std } => {
                Sampler::LogNormal(LogNormal::new(mean, std).map_err(|e| bad(&e))?)
            }
        })
    }
}

/// A ready-to-use distribution for one [`PriorSpec`].
#[derive(Debug, Clone)]
pub(crate) enum Sampler {
    /// Uniform on `[low, high]`.
    Uniform(Uniform<f64>),
    /// Normal.
    Normal(Normal<f64>),
    /// Log-normal.
    LogNormal(LogNormal<f64>),
}

impl Sampler {
    /// One draw.
    pub fn sample(&self, rng: &mut dyn RngCore) -> f64 {
        match self {
            Sampler::Uniform(d) => d.sample(rng),
            Sampler::Normal(d) => d.sample(rng),
            Sampler::LogNormal(d) => d.sample(rng),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    /// Trapezoid integral of `exp(log_density)` over `[a, b]`.
    fn integral(p: &PriorSpec, a: f64, b: f64) -> f64 {
        let n = 200_000;
        let h = (b - a) / n as f64;
        (0..=n)
            .map(|i| {
                let w = if i == 0 || i == n { 0.5 } else { 1.0 };
                w * p.log_density(a + h * i as f64).exp()
            })
            .sum::<f64>()
            * h
    }

    #[test]
    fn densities_are_normalised_and_match_samples() {
        let priors = [
            (
                PriorSpec::Uniform {
                    low: -1.0,
                    high: 3.0,
                },
                -2.0,
                4.0,
                1.0,
            ),
            (
                PriorSpec::Normal {
                    mean: 1.0,
                    std: 0.5,
                },
                -4.0,
                6.0,
                1.0,
            ),
            (
                PriorSpec::LogNormal {
                    mean: 0.0,
                    std: 0.5,
                },
                1e-9,
                30.0,
                0.125f64.exp(),
            ),
        ];
        let mut rng = StdRng::seed_from_u64(5);
        for (p, a, b, mean) in priors {
            assert!((integral(&p, a, b) - 1.0).abs() < 2e-3, "{p:?}");
            let s = p.sampler().unwrap();
            let draws: Vec<f64> = (0..20_000).map(|_| s.sample(&mut rng)).collect();
            assert!(draws.iter().all(|&x| p.contains(x)), "{p:?}");
            let m = draws.iter().sum::<f64>() / draws.len() as f64;
            assert!(
                (m - mean).abs() < 0.03,
                "{p:?}: sample mean {m}, expected {mean}"
            );
        }
        let ln = PriorSpec::LogNormal {
            mean: 0.0,
            std: 1.0,
        };
        assert_eq!(ln.log_density(0.0), f64::NEG_INFINITY);
        assert_eq!(ln.log_density(-1.0), f64::NEG_INFINITY);
        let u = PriorSpec::Uniform {
            low: 0.0,
            high: 2.0,
        };
        assert_eq!(u.log_density(2.5), f64::NEG_INFINITY);
        assert!((u.log_density(2.0) + 2f64.ln()).abs() < 1e-15);
    }

    #[test]
    fn invalid_parameters_are_rejected() {
        let e = PriorSpec::Uniform {
            low: 1.0,
            high: 1.0,
        }
        .validate()
        .unwrap_err();
        assert!(e.contains("low < high"), "{e}");
        let e = PriorSpec::LogNormal {
            mean: 0.0,
            std: 0.0,
        }
        .sampler()
        .unwrap_err();
        assert!(e.contains("log_normal") && e.contains("std > 0"), "{e}");
        assert!(PriorSpec::Normal {
            mean: f64::NAN,
            std: 1.0
        }
        .validate()
        .is_err());
    }
}
