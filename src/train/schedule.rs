//! Learning-rate schedules, evaluated per epoch.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::cmp::Ordering::{Greater, Less};

/// How the learning rate changes over epochs (epoch 0 uses the base rate, except
/// during a cosine warm-up).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum LrSchedule {
    /// The base rate throughout.
    #[default]
    Constant,
    /// Multiply by `gamma` every `every` epochs (the seed study: ×0.1 every 10).
    Step {
        /// Epochs between decays.
        every: usize,
        /// Factor per decay.
        gamma: f64,
    },
    /// Multiply by `gamma` every epoch.
    Exponential {
        /// Factor per epoch.
        gamma: f64,
    },
    /// Linear warm-up over `warmup` epochs, then cosine decay to `min_lr` at the last epoch.
    Cosine {
        /// Warm-up epochs.
        #[serde(default)]
        warmup: usize,
        /// Final learning rate.
        #[serde(default)]
        min_lr: f64,
    },
}

impl LrSchedule {
    /// Check the settings.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: &str| Err(Error::config(format!("learning-rate schedule: {m}")));
        match self {
            LrSchedule::Step { every, gamma }
                if *every == 0 || gamma.partial_cmp(&0.0) != Some(Greater) =>
            {
                bad("step needs every ≥ 1 and gamma > 0")
            }
            LrSchedule::Exponential { gamma } if gamma.partial_cmp(&0.0) != Some(Greater) => {
                bad("exponential needs gamma > 0")
            }
            LrSchedule::Cosine { min_lr, .. }
                if min_lr.partial_cmp(&0.0).is_none_or(|o| o == Less) =>
            {
                bad("cosine needs min_lr ≥ 0")
            }
            _ => Ok(()),
        }
    }

    /// Learning rate for `epoch` (0-based) of `epochs`, from base rate `base`.
    pub fn rate(&self, base: f64, epoch: usize, epochs: usize) -> f64 {
        match self {
            LrSchedule::Constant => base,
            LrSchedule::Step { every, gamma } => base * gamma.powi((epoch / every.max(&1)) as i32),
            LrSchedule::Exponential { gamma } => base * gamma.powi(epoch as i32),
            LrSchedule::Cosine { warmup, min_lr } => {
                if epoch < *warmup {
                    return base * (epoch + 1) as f64 / (*warmup + 1) as f64;
                }
                let span = epochs.saturating_sub(*warmup).max(2) - 1;
                let t = (epoch - warmup) as f64 / span as f64;
                min_lr + 0.5 * (base - min_lr) * (1.0 + (std::f64::consts::PI * t.min(1.0)).cos())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_give_the_documented_rates() {
        let s = LrSchedule::Step {
            every: 10,
            gamma: 0.1,
        };
        assert_eq!(s.rate(1e-4, 9, 100), 1e-4);
        assert!((s.rate(1e-4, 10, 100) - 1e-5).abs() < 1e-18);
        let c = LrSchedule::Cosine {
            warmup: 2,
            min_lr: 0.0,
        };
        assert!((c.rate(1.0, 0, 12) - 1.0 / 3.0).abs() < 1e-12);
        assert!((c.rate(1.0, 2, 12) - 1.0).abs() < 1e-12);
        assert!(c.rate(1.0, 11, 12).abs() < 1e-12);
        assert!(LrSchedule::Step {
            every: 0,
            gamma: 0.1
        }
        .validate()
        .is_err());
    }
}
