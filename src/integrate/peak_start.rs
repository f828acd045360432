//! The peak start: when the untrained proposal is blind to the integrand, find its
//! peak by optimising `ln f`, then fit the flow to a Gaussian around the peak before
//! training.
//!
//! A narrow peak in many dimensions occupies a vanishing fraction of the cube: of 4096
//! uniform points about 2 give a 16-d needle's `f` a value that does not underflow, and
//! those lie hundreds of orders of magnitude below its peak. Annealing from such a
//! pilot has nothing to learn from, and at 6 of 20 seeds the flow never found the
//! needle (docs/HARD_INTEGRANDS.md). But `ln f` is defined and smooth wherever `f > 0`,
//! so the pilot's best point is a starting point for a local optimiser:
//!
//! 1. **Trigger** ([`is_blind`]): fewer than [`BLIND_FRACTION`] of the first batch with
//!    `f > 0` somewhere (drawn from the untrained, uniform proposal) have `f > 0`.
//!    Integrands whose mass the flow reaches by annealing (the camels, the 8-d
//!    needles: 18 % or more of uniform points have `f > 0`; the thin shell: 1.6 %) do
//!    not trigger it.
//! 2. **Optimise** `ln f` from the batch's best point with L-BFGS (argmin), in logit
//!    coordinates `x = 1/(1 + e^{−u})` so the cube's faces are out of reach; gradients
//!    by central differences, one integrand call of `2d` points each. A trial point
//!    where `f = 0` has cost `+∞` and the backtracking (Armijo) line search steps back.
//!    Near a face the logit coordinates flatten every step and a round can stall on a
//!    ridge far from the peak, so L-BFGS is restarted from its best point (fresh
//!    curvature memory) while a round still raises `ln f` by more than
//!    [`RESTART_GAIN`], at most 10 times. From a start within 10⁻³ of a corner even that
//!    does not reach the peak (the annealing then carries on from a fitted flow around
//!    the point reached).
//! 3. **Laplace width**: the Hessian of `ln f` at the peak by central differences (one
//!    call of `2d² + 1` points). Its negative's eigenvalues give the peak's widths,
//!    each widened by [`WIDEN`] and capped at [`MAX_WIDTH`] (a flat or non-concave
//!    direction gets the cap).
//! 4. **Fit**: the flow is fitted by maximum likelihood to draws of that Gaussian,
//!    folded into the cube, for [`FIT_STEPS`] steps (no integrand calls). Training
//!    then starts from this flow; the annealing start is chosen on its first batch.
//!
//! The widening makes the start broader than the peak (a proposal narrower than its
//! target misses mass no weight can show); the annealing and the defensive fraction
//! still run as usual, so a second peak far away is left to them, as before.

use super::batch::{evaluate, EvalOptions, InvalidCounts};
use super::flow_proposal::UnitFlow;
use crate::error::{Error, Result};
use crate::train::{Adam, AdamConfig, LrSchedule};
use argmin::core::{CostFunction, Executor, Gradient, State};
use argmin::solver::linesearch::condition::ArmijoCondition;
use argmin::solver::linesearch::BacktrackingLineSearch;
use argmin::solver::quasinewton::LBFGS;
use candle_core::Tensor;
use flowinfer_simulators::Integrand;
use nalgebra::{DMatrix, SymmetricEigen};
use rand::RngCore;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// The peak start runs when fewer than this fraction of the pilot's points have `f > 0`.
/// The 16-d needle has 0.06 % (586 of 10⁶ uniform points), the thin shell 1.6 % and the
/// 8-d needles 18 %; annealing from the uniform pilot finds the mass of the latter
/// (20 of 20 seeds each), so the threshold sits well between (the shell's pilot of
/// 4096 points, 64 with `f > 0` on average, never comes near 8).
pub const BLIND_FRACTION: f64 = 0.002;

/// Factor by which every Laplace width is widened for the fit.
pub const WIDEN: f64 = 2.0;

/// Largest width (standard deviation) of the fitted Gaussian along any direction.
pub const MAX_WIDTH: f64 = 0.5;

/// Maximum-likelihood steps of the fit.
pub const FIT_STEPS: usize = 200;

/// Most L-BFGS iterations of the optimisation.
const MAX_ITERS: u64 = 200;

/// Most L-BFGS restarts.
const MAX_RESTARTS: usize = 10;

/// A restart's result is taken when it raises `ln f` by more than this.
pub const RESTART_GAIN: f64 = 1e-3;

/// Central-difference step of the gradient (logit coordinates).
const GRAD_STEP: f64 = 1e-4;

/// Central-difference step of the Hessian (cube coordinates).
const HESS_STEP: f64 = 1e-3;

/// What the peak start found and did (reported in `result.json` under
/// `training.peak_start`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PeakStart {
    /// Points of the pilot batch with `f > 0`, and its size.
    pub pilot_nonzero: usize,
    /// Size of the pilot batch.
    pub pilot_points: usize,
    /// `ln f` at the optimiser's starting point (the pilot's best).
    pub start_log_f: f64,
    /// The peak found.
    pub peak: Vec<f64>,
    /// `ln f` there.
    pub peak_log_f: f64,
    /// L-BFGS iterations, over all rounds.
    pub iterations: u64,
    /// L-BFGS rounds (restarts from the best point while `ln f` still rose by more
    /// than [`RESTART_GAIN`]; the last round is the one that did not).
    pub rounds: usize,
    /// Integrand calls of the optimisation and the Hessian.
    pub calls: usize,
    /// Widths (standard deviations) of the fitted Gaussian, smallest first.
    pub widths: Vec<f64>,
    /// Whether the Hessian was usable (finite, some direction concave); otherwise every
    /// width is [`MAX_WIDTH`].
    pub hessian_used: bool,
    /// Maximum-likelihood steps of the fit.
    pub fit_steps: usize,
    /// Mean log density of the flow on the Gaussian's draws after the fit.
    pub fit_log_q: f64,
    /// Why the optimiser stopped early, when it failed (the best point so far is used).
    pub optimiser_note: Option<String>,
    /// Wall-clock seconds of the whole peak start (optimisation, Hessian and fit).
    pub seconds: f64,
}

/// The warning every run with a peak start carries: the blind pilot cannot vouch for
/// the rest of the cube, so a second peak that neither it nor the flow fitted around
/// the first one samples does not show in the weights. Measured: two needles in 16
/// dimensions (weights 0.7 and 0.3) came out trusted at 0.300 and 0.700 at two seeds
/// (docs/INTEGRATION.md, "The peak start").
pub fn one_peak_warning(p: &PeakStart) -> String {
    format!(
        "the uniform pilot was blind (f > 0 at {} of {} points), so the flow was fitted around the \
         one peak found by optimising ln f (ln f = {:.2}); mass at another peak that neither the pilot \
         nor the flow samples cannot show in these weights — if the integrand may have several peaks, \
         give each as a channel (--peak) and compare",
        p.pilot_nonzero, p.pilot_points, p.peak_log_f
    )
}

/// Whether the pilot `f` (drawn from the uniform proposal) is blind: fewer than
/// [`BLIND_FRACTION`] of its points have `f > 0`.
pub fn is_blind(f: &[f64]) -> bool {
    let nonzero = f.iter().filter(|v| **v > 0.0).count();
    (nonzero as f64) < BLIND_FRACTION * f.len() as f64
}

/// `−ln f` in logit coordinates, counting integrand calls.
struct NegLogF<'a> {
    integrand: &'a dyn Integrand,
    opts: &'a EvalOptions,
    calls: &'a AtomicUsize,
    /// The first error of the integrand (returned after the optimiser stops).
    error: &'a Mutex<Option<Error>>,
    /// Invalid values met (an error unless the options allow them, as in training).
    invalid: &'a Mutex<InvalidCounts>,
}

fn sigmoid(u: f64) -> f64 {
    1.0 / (1.0 + (-u).exp())
}

impl NegLogF<'_> {
    /// `−ln f` at the cube points `x` (rows), `+∞` where `f = 0` or invalid.
    fn at(&self, x: &[f64]) -> std::result::Result<Vec<f64>, argmin::core::Error> {
        self.calls
            .fetch_add(x.len() / self.integrand.dim(), Ordering::Relaxed);
        let screened = evaluate(self.integrand, x, self.opts).and_then(|mut f| {
            self.invalid.lock().unwrap().screen(
                self.integrand.name(),
                "peak start",
                x,
                self.integrand.dim(),
                &mut f,
                self.opts.allow_invalid,
            )?;
            Ok(f)
        });
        match screened {
            Ok(f) => Ok(f
                .iter()
                .map(|v| {
                    if v.is_finite() && *v > 0.0 {
                        -v.ln()
                    } else {
                        f64::INFINITY
                    }
                })
                .collect()),
            Err(e) => {
                let msg = e.to_string();
                self.error.lock().unwrap().get_or_insert(e);
                Err(argmin::core::Error::msg(msg))
            }
        }
    }
}

impl CostFunction for NegLogF<'_> {
    type Param = Vec<f64>;
    type Output = f64;

    fn cost(&self, u: &Vec<f64>) -> std::result::Result<f64, argmin::core::Error> {
        let x: Vec<f64> = u.iter().map(|v| sigmoid(*v)).collect();
        Ok(self.at(&x)?[0])
    }
}

impl Gradient for NegLogF<'_> {
    type Param = Vec<f64>;
    type Gradient = Vec<f64>;

    fn gradient(&self, u: &Vec<f64>) -> std::result::Result<Vec<f64>, argmin::core::Error> {
        let d = u.len();
        let mut x = Vec::with_capacity(2 * d * d);
        for i in 0..d {
            for s in [GRAD_STEP, -GRAD_STEP] {
                x.extend(
                    u.iter()
                        .enumerate()
                        .map(|(j, v)| sigmoid(if i == j { v + s } else { *v })),
                );
            }
        }
        let c = self.at(&x)?;
        let g: Vec<f64> = (0..d)
            .map(|i| (c[2 * i] - c[2 * i + 1]) / (2.0 * GRAD_STEP))
            .collect();
        if g.iter().all(|v| v.is_finite()) {
            Ok(g)
        } else {
            Err(argmin::core::Error::msg(
                "the gradient of ln f is not finite (f underflows next to the current point)",
            ))
        }
    }
}

/// Run the peak start (module docs) on `pilot` (the points, row-major, and `f` of the
/// first batch with `f > 0` somewhere): optimise, take the Laplace widths and fit
/// `flow` to the widened Gaussian with `batch` draws a step at learning rate `lr`.
#[allow(clippy::too_many_arguments)]
pub fn peak_start(
    flow: &UnitFlow,
    integrand: &dyn Integrand,
    opts: &EvalOptions,
    pilot_points: &[f64],
    pilot_f: &[f64],
    batch: usize,
    lr: f64,
    rng: &mut dyn RngCore,
    invalid: &mut InvalidCounts,
) -> Result<PeakStart> {
    let started = std::time::Instant::now();
    let d = integrand.dim();
    let (best, best_f) = pilot_f
        .iter()
        .enumerate()
        .filter(|(_, v)| v.is_finite() && **v > 0.0)
        .max_by(|a, b| a.1.total_cmp(b.1))
        .ok_or_else(|| Error::config("the peak start needs a pilot point with f > 0"))?;
    let x0 = &pilot_points[best * d..(best + 1) * d];
    let u0: Vec<f64> = x0
        .iter()
        .map(|x| {
            let x = x.clamp(1e-9, 1.0 - 1e-9);
            (x / (1.0 - x)).ln()
        })
        .collect();
    let (calls, error) = (AtomicUsize::new(0), Mutex::new(None));
    let met = Mutex::new(InvalidCounts::default());
    let problem = NegLogF {
        integrand,
        opts,
        calls: &calls,
        error: &error,
        invalid: &met,
    };
    // L-BFGS, restarted from its best point (fresh curvature memory) while a round
    // still raises ln f by more than RESTART_GAIN: in logit coordinates a long ridge
    // towards a face can stall a round far from the peak (2 of 20 16-d needle seeds).
    let (mut u, mut best, mut iterations, mut rounds, mut note) =
        (u0, f64::INFINITY, 0u64, 0usize, None);
    for _ in 0..=MAX_RESTARTS {
        let armijo = ArmijoCondition::new(1e-4).map_err(|e| Error::config(e.to_string()))?;
        let solver = LBFGS::new(BacktrackingLineSearch::new(armijo), 7);
        let res = Executor::new(
            NegLogF {
                integrand,
                opts,
                calls: &calls,
                error: &error,
                invalid: &met,
            },
            solver,
        )
        .configure(|s| s.param(u.clone()).max_iters(MAX_ITERS))
        .run();
        if let Some(e) = error.lock().unwrap().take() {
            return Err(e);
        }
        rounds += 1;
        match res {
            Ok(r) => {
                let s = r.state();
                iterations += s.get_iter();
                let cost = s.get_best_cost();
                let gain = best - cost;
                if gain.is_nan() || gain <= RESTART_GAIN {
                    break;
                }
                if let Some(p) = s.get_best_param() {
                    u = p.clone();
                }
                best = cost;
            }
            Err(e) => {
                note = Some(e.to_string());
                break;
            }
        }
    }
    let peak: Vec<f64> = u.iter().map(|v| sigmoid(*v)).collect();
    let hessian = neg_log_f_hessian(&problem, &peak);
    let met = met.into_inner().unwrap();
    invalid.non_finite += met.non_finite;
    invalid.negative += met.negative;
    if invalid.first.is_none() {
        invalid.first = met.first;
    }
    let (hessian, peak_log_f) = hessian?;
    let calls = calls.load(Ordering::Relaxed);
    let (chol, widths, hessian_used) = gaussian_factor(hessian, d);
    let (fit_steps, fit_log_q) = fit_flow(flow, &peak, &chol, batch, lr, rng)?;
    Ok(PeakStart {
        pilot_nonzero: pilot_f.iter().filter(|v| **v > 0.0).count(),
        pilot_points: pilot_f.len(),
        start_log_f: best_f.ln(),
        peak,
        peak_log_f,
        iterations,
        rounds,
        calls,
        widths,
        hessian_used,
        fit_steps,
        fit_log_q,
        optimiser_note: note,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// The Hessian of `−ln f` at `x` (central differences in the cube, `x` moved inside by
/// the step) and `ln f(x)`; `None` when a stencil value is not finite.
fn neg_log_f_hessian(problem: &NegLogF, x: &[f64]) -> Result<(Option<DMatrix<f64>>, f64)> {
    let d = x.len();
    let h = HESS_STEP;
    let c: Vec<f64> = x.iter().map(|v| v.clamp(h, 1.0 - h)).collect();
    let shifted = |moves: &[(usize, f64)]| {
        let mut p = c.clone();
        for (i, s) in moves {
            p[*i] += s;
        }
        p
    };
    let mut pts = shifted(&[]);
    for i in 0..d {
        pts.extend(shifted(&[(i, h)]));
        pts.extend(shifted(&[(i, -h)]));
        for j in i + 1..d {
            for (si, sj) in [(h, h), (h, -h), (-h, h), (-h, -h)] {
                pts.extend(shifted(&[(i, si), (j, sj)]));
            }
        }
    }
    let v = problem.at(&pts).map_err(|_| {
        problem
            .error
            .lock()
            .unwrap()
            .take()
            .unwrap_or_else(|| Error::config("the integrand failed at the peak"))
    })?;
    let log_f = -v[0];
    if v.iter().any(|c| !c.is_finite()) {
        return Ok((None, log_f));
    }
    let mut hm = DMatrix::zeros(d, d);
    let mut k = 1;
    for i in 0..d {
        hm[(i, i)] = (v[k] - 2.0 * v[0] + v[k + 1]) / (h * h);
        k += 2;
        for j in i + 1..d {
            let e = (v[k] - v[k + 1] - v[k + 2] + v[k + 3]) / (4.0 * h * h);
            hm[(i, j)] = e;
            hm[(j, i)] = e;
            k += 4;
        }
    }
    Ok((Some(hm), log_f))
}

/// A factor `L` of the fitted Gaussian's covariance (`Σ = L Lᵀ`) from the Hessian of
/// `−ln f` (module docs), its widths (smallest first) and whether the Hessian was used.
fn gaussian_factor(hessian: Option<DMatrix<f64>>, d: usize) -> (DMatrix<f64>, Vec<f64>, bool) {
    let width = |lambda: f64| {
        if lambda > 0.0 {
            (WIDEN / lambda.sqrt()).min(MAX_WIDTH)
        } else {
            MAX_WIDTH
        }
    };
    match hessian {
        Some(hm) if hm.iter().all(|v| v.is_finite()) => {
            let eig = SymmetricEigen::new(hm);
            let w: Vec<f64> = eig.eigenvalues.iter().map(|l| width(*l)).collect();
            let used = eig.eigenvalues.iter().any(|l| *l > 0.0);
            let l =
                &eig.eigenvectors * DMatrix::from_diagonal(&nalgebra::DVector::from_vec(w.clone()));
            let mut sorted = w;
            sorted.sort_by(f64::total_cmp);
            (l, sorted, used)
        }
        _ => (
            DMatrix::identity(d, d) * MAX_WIDTH,
            vec![MAX_WIDTH; d],
            false,
        ),
    }
}

/// Fold `v` into `[0, 1]` by reflection at the faces (a density on the cube, no atoms).
fn fold(v: f64) -> f64 {
    let r = v.rem_euclid(2.0);
    let r = if r > 1.0 { 2.0 - r } else { r };
    r.clamp(1e-6, 1.0 - 1e-6)
}

/// Fit `flow` by maximum likelihood to draws `fold(peak + L z)`; returns the steps and
/// the mean log density on the last batch.
fn fit_flow(
    flow: &UnitFlow,
    peak: &[f64],
    chol: &DMatrix<f64>,
    batch: usize,
    lr: f64,
    rng: &mut dyn RngCore,
) -> Result<(usize, f64)> {
    let d = peak.len();
    let mut adam = Adam::new(
        flow.flow().params().all_vars(),
        AdamConfig {
            lr,
            ..AdamConfig::default()
        },
    )?;
    let schedule = LrSchedule::Cosine {
        warmup: 0,
        min_lr: 0.1 * lr,
    };
    let mut last = f64::NAN;
    for step in 0..FIT_STEPS {
        adam.set_learning_rate(schedule.rate(lr, step, FIT_STEPS));
        let mut x = Vec::with_capacity(batch * d);
        let mut z = vec![0.0; d];
        for _ in 0..batch {
            for v in z.iter_mut() {
                *v = StandardNormal.sample(rng);
            }
            for i in 0..d {
                let s: f64 = (0..d).map(|j| chol[(i, j)] * z[j]).sum();
                x.push(fold(peak[i] + s));
            }
        }
        let x = Tensor::from_vec(x, (batch, d), flow.device())?.to_dtype(flow.dtype())?;
        let mean_log_q = flow.log_prob(&x)?.mean_all()?;
        last = mean_log_q
            .to_dtype(candle_core::DType::F64)?
            .to_scalar::<f64>()?;
        if !last.is_finite() {
            return Err(Error::config(
                "the peak start's fit diverged (non-finite log density)",
            ));
        }
        adam.backward_step(&mean_log_q.neg()?, Some(10.0))?;
    }
    Ok((FIT_STEPS, last))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::integrate::flow_proposal::UnitFlowConfig;
    use candle_core::Device;
    use flowinfer_simulators::FnIntegrand;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    /// The default unit flow in `d` dimensions (f32, CPU, seed 1).
    fn flow(d: usize) -> UnitFlow {
        UnitFlow::new(
            d,
            &UnitFlowConfig::default(),
            candle_core::DType::F32,
            &Device::Cpu,
            1,
        )
        .unwrap()
    }

    /// [`peak_start`] from the one pilot point `pts` with the default options, `batch`
    /// draws a fit step and rng seed 1.
    fn start_from(f: &dyn Integrand, flow: &UnitFlow, pts: &[f64], batch: usize) -> PeakStart {
        let mut val = vec![0.0];
        f.evaluate(pts, &mut val).unwrap();
        assert!(val[0] > 0.0, "{}", val[0]);
        let mut rng = StdRng::seed_from_u64(1);
        let opts = EvalOptions::default();
        let mut invalid = InvalidCounts::default();
        peak_start(
            flow,
            f,
            &opts,
            pts,
            &val,
            batch,
            2e-2,
            &mut rng,
            &mut invalid,
        )
        .unwrap()
    }

    /// A correlated Gaussian bump in 6-d centred at 0.6, thin (σ 0.02) off a diagonal.
    fn bump() -> FnIntegrand<impl Fn(&[f64]) -> f64 + Send + Sync> {
        FnIntegrand::new("bump", 6, |x: &[f64]| {
            let m: f64 = x.iter().map(|v| v - 0.6).sum::<f64>() / 6.0;
            let along = 6.0 * m * m / (2.0 * 0.1f64.powi(2));
            let off: f64 =
                x.iter().map(|v| (v - 0.6 - m).powi(2)).sum::<f64>() / (2.0 * 0.02f64.powi(2));
            (-(along + off)).exp()
        })
    }

    #[test]
    fn a_start_on_the_ridge_near_a_corner_still_reaches_the_peak() {
        // The 16-d needle's seeds 17 and 20 stalled on the ridge near a corner, where
        // the logit coordinates flatten every step. From this start one L-BFGS round
        // stops at ln f ≈ −33 (checked with MAX_RESTARTS = 0); the restarts reach 0.
        let f = bump();
        let flow = flow(6);
        let ps = start_from(&f, &flow, &[0.97, 0.975, 0.97, 0.965, 0.98, 0.97], 64);
        assert!(ps.peak_log_f > -1e-3, "{ps:?}");
        assert!(ps.rounds > 2, "{ps:?}");
    }

    #[test]
    fn invalid_values_met_by_the_optimiser_are_an_error_unless_allowed() {
        // f is NaN within 0.05 of the peak: the optimiser walks into it.
        let f = FnIntegrand::new("nan near the peak", 2, |x: &[f64]| {
            let r2 = (x[0] - 0.5).powi(2) + (x[1] - 0.5).powi(2);
            if r2 < 0.0025 {
                f64::NAN
            } else {
                (-r2 / 0.02).exp()
            }
        });
        let flow = flow(2);
        let (pts, val) = (vec![0.9, 0.1], vec![(-0.32f64 / 0.02).exp()]);
        let run = |allow: bool, invalid: &mut InvalidCounts| {
            let opts = EvalOptions {
                allow_invalid: allow,
                ..EvalOptions::default()
            };
            let mut rng = StdRng::seed_from_u64(1);
            peak_start(&flow, &f, &opts, &pts, &val, 64, 2e-2, &mut rng, invalid)
        };
        let mut invalid = InvalidCounts::default();
        let err = run(false, &mut invalid).unwrap_err().to_string();
        assert!(
            err.contains("peak start") && err.contains("nan near the peak"),
            "{err}"
        );
        let mut invalid = InvalidCounts::default();
        run(true, &mut invalid).unwrap();
        assert!(invalid.non_finite > 0, "{invalid:?}");
    }

    #[test]
    fn a_run_with_a_peak_start_warns_that_it_serves_one_peak() {
        use crate::integrate::{integrate, IntegrateConfig, TrainConfig};
        // Two cut bumps far apart (σ 0.003, cut at 0.01): a blind pilot of 2048 points.
        let f = FnIntegrand::new("two cut bumps", 2, |x: &[f64]| {
            [[0.3, 0.3], [0.7, 0.7]]
                .iter()
                .map(|c| {
                    let r2 = (x[0] - c[0]).powi(2) + (x[1] - c[1]).powi(2);
                    if r2 < 0.01f64.powi(2) {
                        (-r2 / (2.0 * 0.003f64.powi(2))).exp()
                    } else {
                        0.0
                    }
                })
                .sum()
        });
        let mut cfg = IntegrateConfig {
            train: TrainConfig {
                steps: 10,
                batch: 2048,
                ..TrainConfig::default()
            },
            ..IntegrateConfig::default()
        };
        cfg.eval.samples = 2000;
        let out = integrate(&f, &cfg, &Device::Cpu, &mut |_| {}).unwrap();
        assert!(out.report.training.peak_start.is_some());
        assert!(
            out.report
                .warnings
                .iter()
                .any(|w| w.contains("the uniform pilot was blind") && w.contains("--peak")),
            "{:?}",
            out.report.warnings
        );
        // Without a peak start, no such warning.
        cfg.train.peak_start = false;
        let out = integrate(&f, &cfg, &Device::Cpu, &mut |_| {}).unwrap();
        assert!(!out
            .report
            .warnings
            .iter()
            .any(|w| w.contains("pilot was blind")));
    }

    #[test]
    fn blindness_counts_points_with_mass() {
        let mut f = vec![0.0; 1000];
        f[3] = 1e-300;
        assert!(is_blind(&f));
        for v in f.iter_mut().take(2) {
            *v = 1.0;
        }
        assert!(!is_blind(&f), "2 of 1000 is the threshold");
    }

    #[test]
    fn the_peak_and_its_widths_are_found_from_a_far_pilot_point() {
        let f = bump();
        let flow = flow(6);
        // A pilot point far off the peak, where f is ~e^-400 of its maximum.
        let pts = [0.2, 0.9, 0.7, 0.4, 0.8, 0.5];
        let ps = start_from(&f, &flow, &pts, 256);
        assert!(ps.start_log_f < -230.0, "{}", ps.start_log_f);
        for p in &ps.peak {
            assert!((p - 0.6).abs() < 1e-3, "{:?}", ps);
        }
        assert!(ps.peak_log_f > -1e-4, "{}", ps.peak_log_f);
        assert!(ps.hessian_used);
        // Five thin directions (σ 0.02) and one along the diagonal (σ 0.1), widened ×2.
        for w in &ps.widths[..5] {
            assert!((w - 0.04).abs() < 0.002, "{:?}", ps.widths);
        }
        assert!((ps.widths[5] - 0.2).abs() < 0.01, "{:?}", ps.widths);
        // The fitted flow puts its mass on the peak: its density there is high.
        let x = Tensor::from_vec(vec![0.6f32; 6], (1, 6), &Device::Cpu).unwrap();
        let lq = flow.log_prob(&x).unwrap().to_vec1::<f32>().unwrap()[0];
        assert!(lq > 5.0, "log q at the peak {lq}");
    }
}
