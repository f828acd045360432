//! Guarding the training against collapse, and the pilot estimate.
//!
//! Training weights are self-normalised (the loss divides by the batch estimate, see
//! [`super::loss`]), so a batch that misses the integrand's mass still has a loss to
//! minimise: the flow can concentrate on a region of negligible volume and negligible
//! mass while the loss keeps falling. A narrow 8-d peak once drove the batch estimate
//! down by thirty orders of magnitude in three steps. Two figures of every fresh batch
//! show it:
//!
//! * the batch estimate `Î_t = mean(f/q)` — unbiased for every proposal, so a fall by
//!   orders of magnitude below an earlier *reliable* batch (one with at least
//!   [`RELIABLE_BATCH_ESS`] effective samples) means the proposal lost mass it had
//!   found;
//! * the proposal's entropy `H_t = −mean(ln q)` over its own draws (nats; `e^H` is its
//!   effective support volume), which falls with it.
//!
//! [`CollapseGuard`] keeps the parameters of the flow that drew the reliable batch with
//! the largest estimate. A batch whose estimate falls below [`COLLAPSE_FACTOR`] times
//! that reference is a *collapse*: the guard restores the reference parameters (the
//! trainer then restarts its optimizer at half the learning rate), at most
//! [`MAX_RESTORES`] times; every collapse is reported, and one that was not repaired
//! makes the run untrusted.
//!
//! The **pilot** is the first training batch: drawn before any update, from the
//! identity flow (uniform on the cube, or the VEGAS map after a warm start) with the
//! defensive mixture — a cheap, independent, unbiased estimate at the batch's budget.
//! A final estimate significantly *below* it ([`PILOT_SIGMAS`] combined standard
//! errors) has missed mass the pilot saw, and the run is untrusted. A final estimate
//! above the pilot is normal for a narrow integrand (the pilot missed the peak) and is
//! not a reason.

use super::estimate::WeightStats;
use crate::error::Result;
use crate::params::Params;
use candle_core::Tensor;
use serde::Serialize;

/// A training batch with at least this many effective samples is a reliable
/// reference for the collapse guard.
pub const RELIABLE_BATCH_ESS: f64 = 10.0;

/// A batch estimate below this fraction of the reference is a collapse.
pub const COLLAPSE_FACTOR: f64 = 1e-3;

/// Collapses repaired by restoring the reference parameters, at most.
pub const MAX_RESTORES: usize = 3;

/// A final estimate this many combined standard errors below the pilot is untrusted.
pub const PILOT_SIGMAS: f64 = 5.0;

/// The summary of one fresh training batch.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BatchEstimate {
    /// The step that drew it.
    pub step: usize,
    /// Points.
    pub n: usize,
    /// `mean(f/q)`.
    pub estimate: f64,
    /// Its standard error.
    pub std_error: f64,
    /// Effective sample size `(Σw)²/Σw²` (0 when every weight is zero).
    pub ess: f64,
    /// The proposal's entropy estimate `−mean(ln q)` over the batch (nats).
    pub entropy: f64,
}

impl BatchEstimate {
    /// Summarise weights `w` and the proposal's `ln q` at the same points.
    pub fn new(step: usize, w: &[f64], log_q: &[f64]) -> Self {
        let n = w.len();
        let nf = n as f64;
        let mean = w.iter().sum::<f64>() / nf;
        let var = if n > 1 {
            w.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (nf - 1.0)
        } else {
            0.0
        };
        let s2 = w.iter().map(|v| v * v).sum::<f64>();
        Self {
            step,
            n,
            estimate: mean,
            std_error: (var / nf).sqrt(),
            ess: if s2 > 0.0 {
                mean * mean * nf * nf / s2
            } else {
                0.0
            },
            entropy: -log_q.iter().sum::<f64>() / nf,
        }
    }

    /// Relative standard deviation per event (NaN when the estimate is zero).
    pub fn rel_std(&self) -> f64 {
        if self.estimate > 0.0 {
            self.std_error * (self.n as f64).sqrt() / self.estimate
        } else {
            f64::NAN
        }
    }
}

/// A collapse the guard saw (module docs).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Collapse {
    /// The collapsed batch.
    pub batch: BatchEstimate,
    /// The reference batch it fell from.
    pub reference: BatchEstimate,
    /// Whether the reference parameters were restored.
    pub restored: bool,
}

impl Collapse {
    /// The collapse in plain words.
    pub fn message(&self) -> String {
        let (b, r) = (&self.batch, &self.reference);
        let fall = if b.estimate > 0.0 {
            format!(
                "{:.1} orders of magnitude",
                (r.estimate / b.estimate).log10()
            )
        } else {
            "to zero".to_string()
        };
        let what = if self.restored {
            format!("restored the flow of step {} and restarted the optimizer at half the learning rate", r.step)
        } else {
            format!("not repaired (already restored {MAX_RESTORES} times)")
        };
        format!(
            "training collapsed at step {}: the batch estimate fell {fall}, from {:.4e} (step {}) to {:.4e}, \
             while the proposal's entropy went from {:.2} to {:.2} nats (its support volume × {:.1e}); {what}",
            b.step,
            r.estimate,
            r.step,
            b.estimate,
            r.entropy,
            b.entropy,
            (b.entropy - r.entropy).exp(),
        )
    }
}

/// Watches fresh training batches for collapse (module docs).
#[derive(Debug, Default)]
pub struct CollapseGuard {
    reference: Option<(BatchEstimate, Vec<(String, Tensor)>)>,
    restores: usize,
    /// Every collapse seen, in order.
    pub collapses: Vec<Collapse>,
}

impl CollapseGuard {
    /// Look at a fresh batch drawn by the flow whose parameters are `params` (before
    /// this step's update). Returns the collapse when there is one; the parameters have
    /// then been restored if [`Collapse::restored`].
    pub fn observe(&mut self, batch: &BatchEstimate, params: &Params) -> Result<Option<Collapse>> {
        if let Some((reference, snapshot)) = &self.reference {
            if batch.estimate < COLLAPSE_FACTOR * reference.estimate {
                let restored = self.restores < MAX_RESTORES;
                if restored {
                    params.restore(snapshot)?;
                    self.restores += 1;
                }
                let c = Collapse {
                    batch: batch.clone(),
                    reference: reference.clone(),
                    restored,
                };
                self.collapses.push(c.clone());
                return Ok(Some(c));
            }
        }
        let better = self
            .reference
            .as_ref()
            .is_none_or(|(r, _)| batch.estimate > r.estimate);
        if batch.ess >= RELIABLE_BATCH_ESS && better {
            self.reference = Some((batch.clone(), params.snapshot()?));
        }
        Ok(None)
    }

    /// The current reference batch.
    pub fn reference(&self) -> Option<&BatchEstimate> {
        self.reference.as_ref().map(|(r, _)| r)
    }
}

/// The untrusted reason when the final estimate lies [`PILOT_SIGMAS`] combined standard
/// errors or more below the pilot (module docs).
pub fn pilot_reason(result: &WeightStats, pilot: &BatchEstimate) -> Option<String> {
    let sigma = (result.std_error.powi(2) + pilot.std_error.powi(2)).sqrt();
    let z = (pilot.estimate - result.estimate) / sigma;
    (sigma > 0.0 && z >= PILOT_SIGMAS).then(|| {
        format!(
            "the estimate {:.4e} ± {:.2e} is {z:.1} combined standard errors below the pilot estimate \
             {:.4e} ± {:.2e} of the untrained proposal ({} points): the trained flow misses mass the pilot found",
            result.estimate, result.std_error, pilot.estimate, pilot.std_error, pilot.n
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{DType, Device};

    fn batch(step: usize, scale: f64, ess_points: usize) -> BatchEstimate {
        // `ess_points` equal weights and the rest zero: ESS = ess_points.
        let mut w = vec![0.0; 100];
        for v in w.iter_mut().take(ess_points) {
            *v = scale;
        }
        BatchEstimate::new(step, &w, &vec![0.0; 100])
    }

    #[test]
    fn batch_summary_matches_definitions() {
        let b = BatchEstimate::new(3, &[1.0, 3.0], &[-1.0, -3.0]);
        assert_eq!((b.step, b.n, b.estimate, b.entropy), (3, 2, 2.0, 2.0));
        assert!((b.std_error - 1.0).abs() < 1e-12);
        assert!((b.ess - 1.6).abs() < 1e-12);
        assert_eq!(BatchEstimate::new(0, &[0.0, 0.0], &[0.0, 0.0]).ess, 0.0);
    }

    #[test]
    fn only_a_final_estimate_well_below_the_pilot_is_a_reason() {
        // Pilot: 1.0 ± 0.01 (weights 0.9 and 1.1, 400 points).
        let pw: Vec<f64> = (0..400)
            .map(|i| if i % 2 == 0 { 0.9 } else { 1.1 })
            .collect();
        let pilot = BatchEstimate::new(0, &pw, &vec![0.0; 400]);
        let stats = |mean: f64| {
            let w: Vec<f64> = (0..1000)
                .map(|i| mean * if i % 2 == 0 { 0.99 } else { 1.01 })
                .collect();
            WeightStats::from_weights(&w).unwrap()
        };
        // Compatible, and above the pilot (it missed a peak): no reason.
        assert!(pilot_reason(&stats(0.99), &pilot).is_none());
        assert!(pilot_reason(&stats(3.0), &pilot).is_none());
        // Far below: the flow lost mass the pilot saw.
        let r = pilot_reason(&stats(0.5), &pilot).expect("a reason");
        assert!(r.contains("below the pilot estimate"), "{r}");
        // An all-zero pilot is no evidence of anything.
        let zero = BatchEstimate::new(0, &[0.0; 10], &[0.0; 10]);
        assert!(pilot_reason(&stats(1e-9), &zero).is_none());
    }

    #[test]
    fn guard_restores_the_reference_after_a_collapse() {
        let params = Params::new(DType::F64, &Device::Cpu, 0);
        let v = params.get("w", 2, crate::params::Init::Const(1.0)).unwrap();
        let mut g = CollapseGuard::default();
        // An unreliable lucky batch (ESS 1) is no reference.
        assert!(g.observe(&batch(0, 1e9, 1), &params).unwrap().is_none());
        assert!(g.reference().is_none());
        assert!(g.observe(&batch(1, 1.0, 50), &params).unwrap().is_none());
        assert_eq!(g.reference().unwrap().step, 1);
        // The parameters move on; a small fall is no collapse.
        params.set("w", &(v.clone() * 5.0).unwrap()).unwrap();
        assert!(g.observe(&batch(2, 0.01, 50), &params).unwrap().is_none());
        // A fall by more than 1e3 is, and the step-1 parameters come back.
        let c = g.observe(&batch(3, 1e-6, 50), &params).unwrap().unwrap();
        assert!(c.restored && c.reference.step == 1);
        let now = params.snapshot().unwrap()[0].1.to_vec1::<f64>().unwrap();
        assert_eq!(now, vec![1.0, 1.0]);
        assert!(
            c.message().contains("collapsed at step 3"),
            "{}",
            c.message()
        );
        for s in 4..4 + MAX_RESTORES {
            let c = g.observe(&batch(s, 0.0, 0), &params).unwrap().unwrap();
            assert_eq!(c.restored, s < 3 + MAX_RESTORES, "step {s}");
        }
        assert_eq!(g.collapses.len(), 1 + MAX_RESTORES);
    }
}
