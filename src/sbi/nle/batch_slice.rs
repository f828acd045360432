//! Slice sampling of many chains in lockstep, with one call of a *batched* log density
//! per step: the same kernel as [`SliceChain`](crate::sbi::mcmc::SliceChain) (Neal
//! 2003: stepping out, then shrinkage, one coordinate after another; widths adapted to
//! twice the mean absolute move during warm-up, then frozen), but every chain updates
//! coordinate `j` at the same time, so the points all chains need at one stage of the
//! update (the left ends, the right ends, the proposals) go to the log density together.
//! A neural likelihood evaluates 100 points in about the time of one, so this is what
//! makes MCMC on a flow cheap. Each chain keeps its own random stream (`seed + k`), so
//! a chain's draws do not depend on how many other chains run. With
//! [`McmcConfig::rotate`] the second half of warm-up and the draws slice along the
//! whitened principal axes of the first half's states ([`super::frame`]).

use super::frame::Frame;
use crate::error::{Error, Result};
use crate::sbi::mcmc::slice::MAX_STEPS;
use crate::sbi::mcmc::{effective_sample_size, split_rhat, McmcConfig, McmcResult};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Exp1};

/// Most shrinkage rounds per coordinate update before the sampler reports a problem.
const MAX_SHRINKS: usize = 200;

/// A log density over a batch of points: `points[i]` ↦ `log p(points[i])`
/// (`-∞` outside the support).
pub type BatchLogDensity<'a> = dyn Fn(&[Vec<f64>]) -> Result<Vec<f64>> + 'a;

/// A log density that may differ between chains: `(chains[i], points[i])` ↦ the log
/// density of chain `chains[i]`'s target at `points[i]` (many posteriors, e.g. one per
/// simulated data set, sampled in one lockstep run).
pub type ChainLogDensity<'a> = dyn Fn(&[usize], &[Vec<f64>]) -> Result<Vec<f64>> + 'a;

/// All chains' states.
struct Chains {
    x: Vec<Vec<f64>>,
    lp: Vec<f64>,
    widths: Vec<Vec<f64>>,
    moves: Vec<Vec<f64>>,
    updates: usize,
    rngs: Vec<StdRng>,
    evaluations: usize,
}

impl Chains {
    /// `log p` at `x` of chain `c` with coordinate `j` set to `v`, for each `(c, v)`.
    fn eval(
        &mut self,
        log_density: &ChainLogDensity<'_>,
        j: usize,
        at: &[(usize, f64)],
    ) -> Result<Vec<f64>> {
        let chains: Vec<usize> = at.iter().map(|&(c, _)| c).collect();
        let points: Vec<Vec<f64>> = at
            .iter()
            .map(|&(c, v)| {
                let mut p = self.x[c].clone();
                p[j] = v;
                p
            })
            .collect();
        self.evaluations += points.len();
        let lp = log_density(&chains, &points)?;
        if lp.len() != points.len() {
            return Err(Error::config(format!(
                "batched log density returned {} values for {} points",
                lp.len(),
                points.len()
            )));
        }
        Ok(lp)
    }

    /// Step the ends of chain `c`'s interval outwards while above its level (batched).
    fn step_out(
        &mut self,
        log_density: &ChainLogDensity<'_>,
        j: usize,
        ends: &mut [f64],
        budget: &mut [usize],
        levels: &[f64],
        sign: f64,
    ) -> Result<()> {
        let mut active: Vec<usize> = (0..ends.len()).filter(|&c| budget[c] > 0).collect();
        while !active.is_empty() {
            let at: Vec<(usize, f64)> = active.iter().map(|&c| (c, ends[c])).collect();
            let lp = self.eval(log_density, j, &at)?;
            let mut next = Vec::with_capacity(active.len());
            for (&c, v) in active.iter().zip(lp) {
                if v > levels[c] {
                    ends[c] += sign * self.widths[c][j];
                    budget[c] -= 1;
                    if budget[c] > 0 {
                        next.push(c);
                    }
                }
            }
            active = next;
        }
        Ok(())
    }

    /// Update coordinate `j` of every chain.
    fn update(&mut self, log_density: &ChainLogDensity<'_>, j: usize) -> Result<()> {
        let m = self.x.len();
        let mut levels = vec![0.0; m];
        let (mut lo, mut hi) = (vec![0.0; m], vec![0.0; m]);
        let (mut left, mut right) = (vec![0usize; m], vec![0usize; m]);
        for c in 0..m {
            let rng = &mut self.rngs[c];
            let e: f64 = Exp1.sample(rng);
            levels[c] = self.lp[c] - e;
            let w = self.widths[c][j];
            lo[c] = self.x[c][j] - w * rng.random::<f64>();
            hi[c] = lo[c] + w;
            left[c] = rng.random_range(0..MAX_STEPS);
            right[c] = MAX_STEPS - 1 - left[c];
        }
        self.step_out(log_density, j, &mut lo, &mut left, &levels, -1.0)?;
        self.step_out(log_density, j, &mut hi, &mut right, &levels, 1.0)?;
        let mut active: Vec<usize> = (0..m).collect();
        for _ in 0..MAX_SHRINKS {
            let at: Vec<(usize, f64)> = active
                .iter()
                .map(|&c| (c, self.rngs[c].random_range(lo[c]..hi[c])))
                .collect();
            let lp = self.eval(log_density, j, &at)?;
            let mut next = Vec::with_capacity(active.len());
            for (&(c, v), p) in at.iter().zip(lp) {
                if p > levels[c] {
                    self.x[c][j] = v;
                    self.lp[c] = p;
                } else {
                    if v < self.x[c][j] {
                        lo[c] = v;
                    } else {
                        hi[c] = v;
                    }
                    next.push(c);
                }
            }
            active = next;
            if active.is_empty() {
                return Ok(());
            }
        }
        let c = active[0];
        Err(Error::config(format!(
            "MCMC chain {c}, coordinate {j}: no point on the slice after {MAX_SHRINKS} shrinkage steps around {} (log density {} there)",
            self.x[c][j], self.lp[c]
        )))
    }

    /// One sweep over all coordinates; with `adapt`, widths follow twice the mean move.
    fn sweep(&mut self, log_density: &ChainLogDensity<'_>, adapt: bool) -> Result<()> {
        for j in 0..self.x[0].len() {
            let old: Vec<f64> = self.x.iter().map(|x| x[j]).collect();
            self.update(log_density, j)?;
            if adapt {
                for (c, o) in old.iter().enumerate() {
                    self.moves[c][j] += (self.x[c][j] - o).abs();
                }
            }
        }
        if adapt {
            self.updates += 1;
            for (w, mv) in self.widths.iter_mut().zip(&self.moves) {
                for (wj, mj) in w.iter_mut().zip(mv) {
                    let mean = mj / self.updates as f64;
                    if mean > 0.0 {
                        *wj = 2.0 * mean;
                    }
                }
            }
        }
        Ok(())
    }
}

/// Run `cfg.chains` slice-sampling chains in lockstep on a batched `log_density`
/// (one call per stage of a coordinate update, all chains' points together), chain `k`
/// from `inits[k % inits.len()]`; report split R-hat and ESS per parameter like
/// [`sample_mcmc`](crate::sbi::mcmc::sample_mcmc). An initial point with a non-finite
/// log density is an error naming the chain.
///
/// ```
/// use flowinfer::sbi::mcmc::McmcConfig;
/// use flowinfer::sbi::nle::sample_mcmc_batched;
///
/// // A batched N((0, 1), diag(1, 4)) log density.
/// let log_p = |pts: &[Vec<f64>]| -> flowinfer::Result<Vec<f64>> {
///     Ok(pts.iter().map(|x| -0.5 * (x[0] * x[0] + (x[1] - 1.0).powi(2) / 4.0)).collect())
/// };
/// let cfg = McmcConfig { chains: 8, warmup: 200, draws: 500, ..McmcConfig::default() };
/// let r = sample_mcmc_batched(&log_p, &[vec![0.0, 0.0], vec![1.0, 2.0]], &cfg)?;
/// assert_eq!(r.pooled().len(), 8 * 500);
/// assert!(r.rhat.iter().all(|&v| v < 1.01), "{:?}", r.rhat);
/// # Ok::<(), flowinfer::Error>(())
/// ```
pub fn sample_mcmc_batched(
    log_density: &BatchLogDensity<'_>,
    inits: &[Vec<f64>],
    cfg: &McmcConfig,
) -> Result<McmcResult> {
    sample_mcmc_per_chain(&|_: &[usize], p: &[Vec<f64>]| log_density(p), inits, cfg)
}

/// [`sample_mcmc_batched`] where each chain may have its own target: the log density
/// is told which chain every point belongs to. Many posteriors (say one per simulated
/// data set, several chains each) then run in one lockstep pass with one call per stage.
/// The returned R-hat and ESS pool all chains; compute them per group of chains that
/// share a target ([`split_rhat`] on the group's columns).
///
/// ```
/// use flowinfer::sbi::mcmc::McmcConfig;
/// use flowinfer::sbi::nle::batch_slice::sample_mcmc_per_chain;
///
/// // Chains 0–3 sample N(−5, 1), chains 4–7 sample N(+5, 1).
/// let log_p = |chains: &[usize], pts: &[Vec<f64>]| -> flowinfer::Result<Vec<f64>> {
///     Ok(chains.iter().zip(pts).map(|(&c, x)| {
///         let m = if c < 4 { -5.0 } else { 5.0 };
///         -0.5 * (x[0] - m).powi(2)
///     }).collect())
/// };
/// let inits: Vec<Vec<f64>> = (0..8).map(|c| vec![if c < 4 { -5.0 } else { 5.0 }]).collect();
/// let cfg = McmcConfig { chains: 8, warmup: 50, draws: 200, ..McmcConfig::default() };
/// let r = sample_mcmc_per_chain(&log_p, &inits, &cfg)?;
/// let mean = |c: &Vec<Vec<f64>>| c.iter().map(|x| x[0]).sum::<f64>() / c.len() as f64;
/// assert!(mean(&r.chains[0]) < -4.0 && mean(&r.chains[7]) > 4.0);
/// # Ok::<(), flowinfer::Error>(())
/// ```
pub fn sample_mcmc_per_chain(
    log_density: &ChainLogDensity<'_>,
    inits: &[Vec<f64>],
    cfg: &McmcConfig,
) -> Result<McmcResult> {
    cfg.check(inits.len())?;
    let start = std::time::Instant::now();
    let d = inits[0].len();
    let x: Vec<Vec<f64>> = (0..cfg.chains)
        .map(|k| inits[k % inits.len()].clone())
        .collect();
    let all: Vec<usize> = (0..cfg.chains).collect();
    let lp = log_density(&all, &x)?;
    if let Some(k) = lp.iter().position(|v| !v.is_finite()) {
        return Err(Error::config(format!(
            "MCMC chain {k}: the log density at the initial point {:?} is {}; start inside the support",
            x[k], lp[k]
        )));
    }
    let mut chains = Chains {
        widths: vec![vec![cfg.initial_width; d]; cfg.chains],
        moves: vec![vec![0.0; d]; cfg.chains],
        updates: 0,
        rngs: (0..cfg.chains)
            .map(|k| StdRng::seed_from_u64(cfg.seed.wrapping_add(k as u64)))
            .collect(),
        evaluations: cfg.chains,
        x,
        lp,
    };
    // With `rotate`, the first half of warm-up fits the whitened frame (`frame`).
    let first = if cfg.rotate {
        cfg.warmup / 2
    } else {
        cfg.warmup
    };
    let mut history = Vec::new();
    for _ in 0..first {
        chains.sweep(log_density, true)?;
        if cfg.rotate {
            history.extend(chains.x.iter().cloned());
        }
    }
    let frame = if cfg.rotate {
        Frame::fit(&history)
    } else {
        None
    };
    drop(history);
    let draws = match &frame {
        None => draw(&mut chains, log_density, cfg.warmup - first, cfg)?,
        Some(f) => {
            let in_y = |c: &[usize], ys: &[Vec<f64>]| -> Result<Vec<f64>> {
                let xs: Vec<Vec<f64>> = ys.iter().map(|y| f.to_x(y)).collect();
                log_density(c, &xs)
            };
            chains.x = chains.x.iter().map(|x| f.to_y(x)).collect();
            // The round trip moves a point by rounding only; score it where it now is.
            chains.lp = in_y(&all, &chains.x)?;
            chains.evaluations += cfg.chains;
            // Whitened: the posterior's scale is about 1 along every axis.
            chains.widths = vec![vec![1.0; d]; cfg.chains];
            chains.moves = vec![vec![0.0; d]; cfg.chains];
            chains.updates = 0;
            let ys = draw(&mut chains, &in_y, cfg.warmup - first, cfg)?;
            ys.iter()
                .map(|c| c.iter().map(|y| f.to_x(y)).collect())
                .collect()
        }
    };
    let column = |p: usize| -> Vec<Vec<f64>> {
        draws
            .iter()
            .map(|c| c.iter().map(|x| x[p]).collect())
            .collect()
    };
    let rhat = (0..d).map(|p| split_rhat(&column(p))).collect();
    let ess = (0..d).map(|p| effective_sample_size(&column(p))).collect();
    Ok(McmcResult {
        chains: draws,
        rhat,
        ess,
        evaluations: chains.evaluations,
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// `warmup` more adapting sweeps, then `cfg.draws` kept states per chain, `cfg.thin`
/// sweeps apart.
fn draw(
    chains: &mut Chains,
    log_density: &ChainLogDensity<'_>,
    warmup: usize,
    cfg: &McmcConfig,
) -> Result<Vec<Vec<Vec<f64>>>> {
    for _ in 0..warmup {
        chains.sweep(log_density, true)?;
    }
    let mut draws = vec![Vec::with_capacity(cfg.draws); cfg.chains];
    for _ in 0..cfg.draws {
        for _ in 0..cfg.thin {
            chains.sweep(log_density, false)?;
        }
        for (d, x) in draws.iter_mut().zip(&chains.x) {
            d.push(x.clone());
        }
    }
    Ok(draws)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gauss(pts: &[Vec<f64>]) -> Result<Vec<f64>> {
        // N(0, Σ), unit variances, correlation 0.8.
        let r: f64 = 0.8;
        Ok(pts
            .iter()
            .map(|x| -(x[0] * x[0] - 2.0 * r * x[0] * x[1] + x[1] * x[1]) / (2.0 * (1.0 - r * r)))
            .collect())
    }

    #[test]
    fn samples_a_correlated_gaussian_and_batches_the_calls() {
        let calls = std::cell::Cell::new(0usize);
        let lp = |p: &[Vec<f64>]| {
            calls.set(calls.get() + 1);
            gauss(p)
        };
        let cfg = McmcConfig {
            chains: 20,
            warmup: 100,
            draws: 500,
            thin: 1,
            ..McmcConfig::default()
        };
        let r = sample_mcmc_batched(&lp, &[vec![3.0, -3.0]], &cfg).unwrap();
        let all = r.pooled();
        let n = all.len() as f64;
        let m0 = all.iter().map(|x| x[0]).sum::<f64>() / n;
        let v0 = all.iter().map(|x| x[0] * x[0]).sum::<f64>() / n;
        let c01 = all.iter().map(|x| x[0] * x[1]).sum::<f64>() / n;
        assert!(m0.abs() < 0.1 && (v0 - 1.0).abs() < 0.1 && (c01 - 0.8).abs() < 0.1);
        assert!(r.rhat.iter().all(|&v| v < 1.01), "{:?}", r.rhat);
        // Batched: far fewer calls than evaluations (20 chains per call at first).
        assert!(
            calls.get() * 5 < r.evaluations,
            "{} {}",
            calls.get(),
            r.evaluations
        );
    }

    #[test]
    fn rotation_mixes_a_narrow_ridge_that_the_axes_do_not() {
        // N(0, Σ) with unit variances and correlation 0.995: axis-aligned slices take
        // steps of about √(1 − r²) ≈ 0.1 along a ridge of length ~±3.
        let r: f64 = 0.995;
        let lp = |p: &[Vec<f64>]| -> Result<Vec<f64>> {
            Ok(p.iter()
                .map(|x| {
                    -(x[0] * x[0] - 2.0 * r * x[0] * x[1] + x[1] * x[1]) / (2.0 * (1.0 - r * r))
                })
                .collect())
        };
        let inits: Vec<Vec<f64>> = (0..10).map(|i| vec![i as f64 * 0.5 - 2.5; 2]).collect();
        let cfg = McmcConfig {
            chains: 10,
            warmup: 100,
            draws: 300,
            thin: 1,
            ..McmcConfig::default()
        };
        let axes = sample_mcmc_batched(&lp, &inits, &cfg).unwrap();
        let rotated = sample_mcmc_batched(
            &lp,
            &inits,
            &McmcConfig {
                rotate: true,
                ..cfg
            },
        )
        .unwrap();
        assert!(
            rotated.ess[0] > 5.0 * axes.ess[0] && rotated.rhat[0] < 1.01,
            "ESS {:?} vs {:?}, R-hat {:?} vs {:?}",
            rotated.ess,
            axes.ess,
            rotated.rhat,
            axes.rhat
        );
        // Same target: the rotated draws' variance and correlation.
        let all = rotated.pooled();
        let n = all.len() as f64;
        let v0 = all.iter().map(|x| x[0] * x[0]).sum::<f64>() / n;
        let c01 = all.iter().map(|x| x[0] * x[1]).sum::<f64>() / n;
        assert!(
            (v0 - 1.0).abs() < 0.1 && (c01 / v0 - r).abs() < 0.005,
            "{v0} {c01}"
        );
    }

    #[test]
    fn the_per_chain_sampler_refuses_nothing_but_sample_mcmc_refuses_rotate() {
        let cfg = McmcConfig {
            rotate: true,
            ..McmcConfig::default()
        };
        let e = crate::sbi::mcmc::sample_mcmc(&|x: &[f64]| -x[0] * x[0], &[vec![0.0]], &cfg)
            .unwrap_err()
            .to_string();
        assert!(e.contains("rotate"), "{e}");
        // One dimension: no frame to fit, the axis sampler runs on.
        let lp = |p: &[Vec<f64>]| -> Result<Vec<f64>> {
            Ok(p.iter().map(|x| -0.5 * x[0] * x[0]).collect())
        };
        let r = sample_mcmc_batched(
            &lp,
            &[vec![0.0]],
            &McmcConfig {
                chains: 4,
                warmup: 20,
                draws: 50,
                ..cfg
            },
        )
        .unwrap();
        assert_eq!(r.pooled().len(), 200);
    }

    #[test]
    fn a_bad_start_names_the_chain_and_a_bounded_support_is_respected() {
        let lp = |p: &[Vec<f64>]| -> Result<Vec<f64>> {
            Ok(p.iter()
                .map(|x| if x[0] > 0.0 { -x[0] } else { f64::NEG_INFINITY })
                .collect())
        };
        let cfg = McmcConfig {
            chains: 3,
            warmup: 50,
            draws: 200,
            ..McmcConfig::default()
        };
        let e = sample_mcmc_batched(&lp, &[vec![1.0], vec![-1.0]], &cfg)
            .unwrap_err()
            .to_string();
        assert!(e.contains("chain 1") && e.contains("initial point"), "{e}");
        let r = sample_mcmc_batched(&lp, &[vec![1.0]], &cfg).unwrap();
        assert!(r.pooled().iter().all(|x| x[0] > 0.0));
    }
}
