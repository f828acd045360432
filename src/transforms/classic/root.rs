//! Batched roots of increasing 1-D functions: the density direction of the planar and
//! Sylvester layers reduces to one scalar equation `g_e(a) = 0` per event `e` (and per
//! coordinate, for Sylvester), with `g_e` increasing and a bracket `[lo_e, hi_e]` known
//! in closed form (the layers' non-linearity is bounded, `|tanh| ≤ 1`).
//!
//! # Design
//!
//! * **No bracket search.** Every layer here gives its bracket analytically, so no
//!   expansion pass is needed; [`solve_increasing`] only widens each bracket by a few
//!   ulps against rounding and checks the signs (a NaN input or parameter fails there,
//!   naming the event).
//! * **One pass over all events, no solver object per event.** Each event runs a
//!   safeguarded Newton iteration (a Newton step that leaves the current bracket is
//!   replaced by bisection, and every evaluation shrinks the bracket by its sign). The
//!   events are split into chunks run on the rayon pool; the iteration works on two
//!   floats per event and allocates nothing, so it is as fast as a vectorised loop and
//!   converges quadratically where a lock-step vectorised bisection would need ~50
//!   passes.
//! * **Brent for the stragglers.** Events that have not converged after
//!   [`RootOptions::newton_iters`] steps (in practice none, but a tiny derivative near a
//!   degenerate layer can slow Newton down) are handed, with the bracket they reached,
//!   to argmin's [`BrentRoot`], one solver per straggler only.
//! * **No silent failure.** An event that Brent cannot finish either, or whose function
//!   value is not finite, is an [`Error::RootFinding`] naming the event, its residual and
//!   the iterations spent.
//!
//! ```
//! use flowinfer::transforms::classic::root::{solve_increasing, RootOptions};
//! // a + 0.5·tanh(a) = c for three right-hand sides c; |tanh| ≤ 1 brackets the root.
//! let c = [0.0, 1.0, -3.0];
//! let lo: Vec<f64> = c.iter().map(|c| c - 0.5).collect();
//! let hi: Vec<f64> = c.iter().map(|c| c + 0.5).collect();
//! let g = |e: usize, a: f64| (a + 0.5 * a.tanh() - c[e], 1.0 + 0.5 / a.cosh().powi(2));
//! let roots = solve_increasing("example", &lo, &hi, g, &RootOptions::default())?;
//! for (e, a) in roots.iter().enumerate() {
//!     assert!((a + 0.5 * a.tanh() - c[e]).abs() < 1e-12);
//! }
//! # Ok::<(), flowinfer::Error>(())
//! ```

use crate::error::{Error, Result};
use argmin::core::{CostFunction, Executor, State, TerminationReason};
use argmin::solver::brent::BrentRoot;
use rayon::prelude::*;

/// Events per rayon task.
const CHUNK: usize = 1024;

/// Iteration limits and tolerance of [`solve_increasing`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RootOptions {
    /// Safeguarded Newton steps per event before the event goes to Brent.
    pub newton_iters: usize,
    /// Brent iterations for an event Newton did not finish.
    pub brent_iters: u64,
    /// Relative step tolerance: converged when a step (or the bracket) is below
    /// `tol·(1 + |a|)`.
    pub tol: f64,
}

impl Default for RootOptions {
    /// 60 Newton steps, 200 Brent iterations, tolerance 4 ulps of f64.
    fn default() -> Self {
        Self {
            newton_iters: 60,
            brent_iters: 200,
            tol: 4.0 * f64::EPSILON,
        }
    }
}

/// How one event's Newton phase ended.
enum Outcome {
    Root(f64),
    /// Not converged; the bracket reached so far.
    Unfinished(f64, f64),
    /// A non-finite function value (residual) after `iterations` evaluations.
    Failed {
        residual: f64,
        iterations: u64,
        reason: &'static str,
    },
}

/// Roots of the increasing functions `g(e, ·)` for events `e = 0..lo.len()`, each
/// inside `[lo[e], hi[e]]`. `g(e, a)` returns `(g_e(a), g_e'(a))`. `what` names the
/// caller in errors. An event whose bracket does not change sign (e.g. a NaN input),
/// whose function is not finite, or that neither Newton nor Brent finishes within the
/// limits of `opts` gives [`Error::RootFinding`] naming the first such event.
pub fn solve_increasing<G>(
    what: &str,
    lo: &[f64],
    hi: &[f64],
    g: G,
    opts: &RootOptions,
) -> Result<Vec<f64>>
where
    G: Fn(usize, f64) -> (f64, f64) + Sync,
{
    if lo.len() != hi.len() {
        return Err(Error::config(format!(
            "{what}: {} lower and {} upper bracket ends",
            lo.len(),
            hi.len()
        )));
    }
    let mut roots = vec![0.0; lo.len()];
    // Newton on every event; collect the ones that need Brent (or failed).
    let leftovers: Vec<(usize, Outcome)> = roots
        .par_chunks_mut(CHUNK)
        .enumerate()
        .flat_map_iter(|(c, chunk)| {
            let mut left = Vec::new();
            for (k, r) in chunk.iter_mut().enumerate() {
                let e = c * CHUNK + k;
                match newton(|a| g(e, a), lo[e], hi[e], opts) {
                    Outcome::Root(a) => *r = a,
                    other => left.push((e, other)),
                }
            }
            left
        })
        .collect();
    for (e, outcome) in leftovers {
        roots[e] = match outcome {
            Outcome::Root(a) => a,
            Outcome::Unfinished(a, b) => brent(what, e, |x| g(e, x).0, a, b, opts)?,
            Outcome::Failed {
                residual,
                iterations,
                reason,
            } => {
                return Err(Error::RootFinding {
                    what: what.into(),
                    event: e,
                    residual,
                    iterations,
                    reason: reason.into(),
                })
            }
        };
    }
    Ok(roots)
}

/// Safeguarded Newton on one event.
fn newton(g: impl Fn(f64) -> (f64, f64), lo: f64, hi: f64, opts: &RootOptions) -> Outcome {
    let widen = 8.0 * f64::EPSILON * (1.0 + lo.abs().max(hi.abs()));
    let (mut a, mut b) = (lo - widen, hi + widen);
    let (ga, gb) = (g(a).0, g(b).0);
    if !(ga <= 0.0 && gb >= 0.0) {
        return Outcome::Failed {
            residual: if ga.is_nan() || ga > 0.0 { ga } else { gb },
            iterations: 0,
            reason: "the bracket does not contain a sign change (non-finite input or parameter?)",
        };
    }
    if ga == 0.0 {
        return Outcome::Root(a);
    }
    if gb == 0.0 {
        return Outcome::Root(b);
    }
    let mut x = 0.5 * (a + b);
    for it in 0..opts.newton_iters {
        let (gx, dg) = g(x);
        if !gx.is_finite() {
            return Outcome::Failed {
                residual: gx,
                iterations: it as u64 + 1,
                reason: "non-finite function value",
            };
        }
        if gx == 0.0 {
            return Outcome::Root(x);
        }
        if gx < 0.0 {
            a = x;
        } else {
            b = x;
        }
        let mut next = x - gx / dg;
        if !(next > a && next < b) {
            next = 0.5 * (a + b);
        }
        let tol = opts.tol * (1.0 + next.abs());
        if (next - x).abs() <= tol || b - a <= tol {
            return Outcome::Root(next);
        }
        x = next;
    }
    Outcome::Unfinished(a, b)
}

/// argmin's cost-function view of one event's equation.
struct Equation<F: Fn(f64) -> f64>(F);

impl<F: Fn(f64) -> f64> CostFunction for Equation<F> {
    type Param = f64;
    type Output = f64;
    fn cost(&self, a: &f64) -> std::result::Result<f64, argmin::core::Error> {
        Ok((self.0)(*a))
    }
}

/// Brent's method (argmin) on the bracket Newton left for event `e`.
fn brent(
    what: &str,
    e: usize,
    g: impl Fn(f64) -> f64,
    a: f64,
    b: f64,
    opts: &RootOptions,
) -> Result<f64> {
    let tol = opts.tol * (1.0 + a.abs().max(b.abs()));
    let fail = |residual: f64, iterations: u64, reason: String| Error::RootFinding {
        what: what.into(),
        event: e,
        residual,
        iterations,
        reason,
    };
    let res = Executor::new(Equation(&g), BrentRoot::new(a, b, tol))
        .configure(|s| s.max_iters(opts.brent_iters))
        .run()
        .map_err(|err| fail(g(b), opts.newton_iters as u64, format!("Brent: {err}")))?;
    let state = res.state();
    let iterations = opts.newton_iters as u64 + state.get_iter();
    let root = state.get_best_param().copied().unwrap_or(f64::NAN);
    let residual = g(root);
    match state.get_termination_reason() {
        Some(TerminationReason::SolverConverged) if residual.is_finite() => Ok(root),
        reason => Err(fail(
            residual,
            iterations,
            format!(
                "Brent stopped: {}",
                reason.map_or("not terminated", |r| r.text())
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn planar_like(c: &[f64], s: f64) -> (Vec<f64>, Vec<f64>) {
        (
            c.iter().map(|c| c - s.abs()).collect(),
            c.iter().map(|c| c + s.abs()).collect(),
        )
    }

    #[test]
    fn newton_and_brent_paths_find_the_same_roots() {
        let c: Vec<f64> = (0..3000).map(|i| (i as f64 - 1500.0) * 0.01).collect();
        let s = -0.999;
        let (lo, hi) = planar_like(&c, s);
        let g = |e: usize, a: f64| {
            let t = a.tanh();
            (a + s * t - c[e], 1.0 + s * (1.0 - t * t))
        };
        let newton = solve_increasing("t", &lo, &hi, g, &RootOptions::default()).unwrap();
        let only_brent = RootOptions {
            newton_iters: 0,
            ..RootOptions::default()
        };
        let brent = solve_increasing("t", &lo, &hi, g, &only_brent).unwrap();
        for e in 0..c.len() {
            assert!(g(e, newton[e]).0.abs() < 1e-13, "newton event {e}");
            assert!(g(e, brent[e]).0.abs() < 1e-12, "brent event {e}");
            assert!((newton[e] - brent[e]).abs() < 1e-12, "event {e}");
        }
    }

    #[test]
    fn failures_name_the_event() {
        let c = [0.0, 1.0, f64::NAN, 2.0];
        let (lo, hi) = planar_like(&c, 0.5);
        let g = |e: usize, a: f64| (a + 0.5 * a.tanh() - c[e], 1.0);
        let err = solve_increasing("layer 3", &lo, &hi, g, &RootOptions::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("layer 3") && err.contains("event 2"), "{err}");
        let capped = RootOptions {
            newton_iters: 1,
            brent_iters: 1,
            tol: 1e-15,
        };
        let c2 = [0.0, 0.3];
        let (lo, hi) = planar_like(&c2, 0.5);
        let g2 = |e: usize, a: f64| (a + 0.5 * a.tanh() - c2[e], 1.0 + 0.5 / a.cosh().powi(2));
        let err = solve_increasing("capped", &lo, &hi, g2, &capped)
            .unwrap_err()
            .to_string();
        assert!(err.contains("event 1") && err.contains("residual"), "{err}");
    }
}
