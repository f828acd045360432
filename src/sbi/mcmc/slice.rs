//! Univariate slice sampling with stepping out and shrinkage (Neal 2003, "Slice
//! sampling", Ann. Statist. 31(3), figures 3 and 5), applied to one coordinate after
//! another.
//!
//! Why a slice sampler written here: the likelihoods it serves (an ODE solved by an
//! adaptive solver, a flow's log density) come without gradients, which rules out the
//! Rust NUTS/HMC crates (`nuts-rs` needs `∇ log p`); slice sampling needs only `log p`,
//! has no step size to tune (a wrong width costs evaluations, not correctness), and is
//! what `sbi` uses for SNLE. We found no maintained Rust crate for it.
//!
//! One update of coordinate `j` at `x`: draw the level `y = log p(x) − Exp(1)`, place an
//! interval of width `w_j` at random around `x_j`, step it out by `w_j` while its ends
//! are above the level (at most `max_steps` steps in all), then draw uniformly from the
//! interval, shrinking it towards `x_j` on every rejection. The widths adapt during
//! warm-up only (to twice the mean absolute move, as PyMC does) and are then frozen, so
//! the kept draws come from a fixed, reversible kernel.

use rand::Rng;
use rand_distr::{Distribution, Exp1};

/// Most stepping-out steps per coordinate update.
pub const MAX_STEPS: usize = 50;
/// Most shrinkage draws per coordinate update before the chain reports a problem.
const MAX_SHRINKS: usize = 200;

/// The state of one chain: position, its log density, the widths, evaluations used.
#[derive(Debug, Clone)]
pub struct SliceChain {
    /// Current position.
    pub x: Vec<f64>,
    /// `log p(x)`.
    pub log_p: f64,
    /// Slice width per coordinate.
    pub widths: Vec<f64>,
    /// Calls of the log density so far.
    pub evaluations: usize,
    /// Sum of absolute moves per coordinate since the last width update (warm-up).
    moves: Vec<f64>,
    /// Updates counted in `moves`.
    updates: usize,
}

impl SliceChain {
    /// A chain at `x` (its log density `log_p` must be finite) with initial `widths`.
    pub fn new(x: Vec<f64>, log_p: f64, widths: Vec<f64>) -> Self {
        let d = x.len();
        Self {
            x,
            log_p,
            widths,
            evaluations: 0,
            moves: vec![0.0; d],
            updates: 0,
        }
    }

    /// One sweep over all coordinates; with `adapt`, the widths follow twice the mean
    /// absolute move. `Err` names the coordinate when the shrinkage does not find a
    /// point on the slice (a log density that is not finite at the current point, or
    /// one that changes between calls).
    pub fn sweep(
        &mut self,
        log_density: &dyn Fn(&[f64]) -> f64,
        adapt: bool,
        rng: &mut impl Rng,
    ) -> std::result::Result<(), String> {
        for j in 0..self.x.len() {
            let old = self.x[j];
            self.update(j, log_density, rng)?;
            if adapt {
                self.moves[j] += (self.x[j] - old).abs();
            }
        }
        if adapt {
            self.updates += 1;
            for (w, m) in self.widths.iter_mut().zip(&self.moves) {
                let mean = m / self.updates as f64;
                if mean > 0.0 {
                    *w = 2.0 * mean;
                }
            }
        }
        Ok(())
    }

    fn update(
        &mut self,
        j: usize,
        log_density: &dyn Fn(&[f64]) -> f64,
        rng: &mut impl Rng,
    ) -> std::result::Result<(), String> {
        let e: f64 = Exp1.sample(rng);
        let level = self.log_p - e;
        let w = self.widths[j];
        let x0 = self.x[j];
        let mut point = self.x.clone();
        let mut eval = |v: f64, evals: &mut usize| {
            point[j] = v;
            *evals += 1;
            log_density(&point)
        };
        let mut lo = x0 - w * rng.random::<f64>();
        let mut hi = lo + w;
        // Stepping out, the step budget split at random between the two ends.
        let mut left = rng.random_range(0..MAX_STEPS);
        let mut right = MAX_STEPS - 1 - left;
        while left > 0 && eval(lo, &mut self.evaluations) > level {
            lo -= w;
            left -= 1;
        }
        while right > 0 && eval(hi, &mut self.evaluations) > level {
            hi += w;
            right -= 1;
        }
        for _ in 0..MAX_SHRINKS {
            let v = rng.random_range(lo..hi);
            let lp = eval(v, &mut self.evaluations);
            if lp > level {
                self.x[j] = v;
                self.log_p = lp;
                return Ok(());
            }
            if v < x0 {
                lo = v;
            } else {
                hi = v;
            }
        }
        Err(format!(
            "coordinate {j}: no point on the slice after {MAX_SHRINKS} shrinkage steps around {x0} (log density {} there)",
            self.log_p
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn samples_a_correlated_gaussian() {
        // N(0, Σ) with unit variances and correlation 0.8.
        let rho: f64 = 0.8;
        let lp = |x: &[f64]| -> f64 {
            -(x[0] * x[0] - 2.0 * rho * x[0] * x[1] + x[1] * x[1]) / (2.0 * (1.0 - rho * rho))
        };
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let mut c = SliceChain::new(vec![3.0, -3.0], lp(&[3.0, -3.0]), vec![1.0, 1.0]);
        for _ in 0..500 {
            c.sweep(&lp, true, &mut rng).unwrap();
        }
        let n = 20_000;
        let (mut s0, mut s00, mut s01) = (0.0, 0.0, 0.0);
        for _ in 0..n {
            c.sweep(&lp, false, &mut rng).unwrap();
            s0 += c.x[0];
            s00 += c.x[0] * c.x[0];
            s01 += c.x[0] * c.x[1];
        }
        let n = n as f64;
        assert!((s0 / n).abs() < 0.1, "mean {}", s0 / n);
        assert!((s00 / n - 1.0).abs() < 0.1, "var {}", s00 / n);
        assert!((s01 / n - rho).abs() < 0.1, "cov {}", s01 / n);
    }

    #[test]
    fn respects_a_bounded_support() {
        // Exponential(1) on x > 0: −∞ outside; mean 1.
        let lp = |x: &[f64]| if x[0] > 0.0 { -x[0] } else { f64::NEG_INFINITY };
        let mut rng = rand::rngs::StdRng::seed_from_u64(2);
        let mut c = SliceChain::new(vec![1.0], -1.0, vec![0.5]);
        let mut sum = 0.0;
        for i in 0..20_000 {
            c.sweep(&lp, i < 200, &mut rng).unwrap();
            assert!(c.x[0] > 0.0);
            sum += c.x[0];
        }
        assert!((sum / 20_000.0 - 1.0).abs() < 0.06, "{}", sum / 20_000.0);
    }
}
