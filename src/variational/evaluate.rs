//! The final figures on fresh draws of the evaluation proposal `q_α` — the trained
//! flow `q`, mixed with a broad Gaussian fraction `α` ([`super::defensive`]; `α = 0`:
//! `q` itself) — in f64 on the host:
//!
//! * the ELBO `mean(log p̃ − log q)` over the flow's own draws, with its standard error
//!   `sd/√N`;
//! * the importance-sampling estimate `Ẑ = mean(w)`, `w = p̃/q_α`, reported as
//!   `log Ẑ` with the delta-method standard error `se(Ẑ)/Ẑ` of the log of the mean
//!   weight (the weights are formed as `exp(log w − max log w)`, so nothing overflows);
//! * the ESS fraction `(Σw)²/(N Σw²)` and the Pareto `k̂` of the weights (PSIS), from
//!   [`WeightStats`] shared with the integrator; `k̂` above `min(1 − 1/log₁₀ N, 0.7)` or
//!   fewer than 100 effective draws make the estimates untrusted;
//! * moments (plain `q` draws and self-normalised importance-weighted) and marginal
//!   quantiles, for comparison with the truth.
//!
//! NaN and `+inf` log densities are dropped and counted; `−inf` (zero density) enters
//! `Ẑ` as a zero weight and is left out of the ELBO mean (which is then an upper
//! bound of the true ELBO, `−∞`; the report warns).

use super::defensive::{mix_log_density, BroadGaussian};
use super::target::{host_rows, LogDensity};
use super::values::{check_values, InvalidCounts};
use crate::error::{Error, Result};
use crate::flow::Flow;
use crate::integrate::WeightStats;
use candle_core::{DType, Tensor};
use rand::seq::SliceRandom;
use rand::RngCore;
use rand_distr::{Binomial, Distribution};
use serde::Serialize;

/// Fresh draws of the evaluation proposal with their log weights.
#[derive(Debug, Clone)]
pub struct Draws {
    /// Points (flow coordinates), `n × d` row-major, in draw order (NaN/+inf rows
    /// dropped).
    pub points: Vec<f64>,
    /// `log p̃ − log q_α` per point (`−inf` for zero density); `q_α = q` without a
    /// broad component.
    pub log_w: Vec<f64>,
    /// The flow's `log q` per point.
    pub log_q: Vec<f64>,
    /// `log p̃` per point.
    pub log_p_tilde: Vec<f64>,
    /// Whether each point was drawn from the flow (`false`: from the broad component).
    pub from_flow: Vec<bool>,
    /// Non-finite log densities met.
    pub invalid: InvalidCounts,
}

impl Draws {
    /// `log p̃ − log q` of the flow's own draws with a finite target density: the
    /// terms of the ELBO.
    pub fn elbo_terms(&self) -> Vec<f64> {
        (0..self.log_w.len())
            .filter(|&i| self.from_flow[i])
            .map(|i| self.log_p_tilde[i] - self.log_q[i])
            .filter(|v| v.is_finite())
            .collect()
    }

    /// The flow's own draws (`n × d` row-major).
    pub fn flow_points(&self, d: usize) -> Vec<f64> {
        self.points
            .chunks_exact(d)
            .zip(&self.from_flow)
            .filter(|(_, f)| **f)
            .flat_map(|(r, _)| r.iter().copied())
            .collect()
    }
}

/// The evaluation proposal: the flow, with an optional broad Gaussian fraction `α`
/// ([`super::defensive`]).
#[derive(Debug, Clone, Copy)]
pub struct Proposal<'a> {
    /// The trained flow `q`.
    pub flow: &'a Flow,
    /// `(g, α)`: the broad component and its fraction (`None` or `α = 0`: `q` alone).
    pub broad: Option<(&'a BroadGaussian, f64)>,
}

/// One batch of the proposal on the host.
struct Batch {
    /// Points, `m × d` row-major.
    points: Vec<f64>,
    /// The flow's `log q`.
    log_q: Vec<f64>,
    /// `log q_α`.
    log_proposal: Vec<f64>,
    /// Which came from the flow.
    from_flow: Vec<bool>,
}

impl Proposal<'_> {
    /// `m` i.i.d. draws of `q_α` on the host. Without a broad fraction this is exactly
    /// the flow's random stream.
    fn sample(&self, m: usize, rng: &mut dyn RngCore) -> Result<Batch> {
        let flow = self.flow;
        let Some((g, alpha)) = self.broad.filter(|(_, a)| *a > 0.0) else {
            let (x, lq) = flow.sample_and_log_prob(m, None, rng)?;
            let pts = host_rows(&x.detach().to_dtype(DType::F64)?)?;
            let lq = lq.detach().to_dtype(DType::F64)?.to_vec1::<f64>()?;
            return Ok(Batch {
                points: pts,
                log_q: lq.clone(),
                log_proposal: lq,
                from_flow: vec![true; m],
            });
        };
        let d = g.dim();
        let n_broad = Binomial::new(m as u64, alpha)
            .map_err(|e| Error::config(format!("[eval] defensive: {e}")))?
            .sample(rng) as usize;
        let n_flow = m - n_broad;
        let (mut pts, mut lq) = (Vec::with_capacity(m * d), Vec::with_capacity(m));
        if n_flow > 0 {
            let (x, l) = flow.sample_and_log_prob(n_flow, None, rng)?;
            pts.extend(host_rows(&x.detach().to_dtype(DType::F64)?)?);
            lq.extend(l.detach().to_dtype(DType::F64)?.to_vec1::<f64>()?);
        }
        if n_broad > 0 {
            let xg = g.sample(n_broad, rng);
            let t = Tensor::from_vec(xg.clone(), (n_broad, d), flow.device())?
                .to_dtype(flow.dtype())?;
            let l = flow.log_prob(&t, None)?.detach().to_dtype(DType::F64)?;
            let l = l.to_vec1::<f64>()?;
            if let Some(i) = l.iter().position(|v| v.is_nan() || *v == f64::INFINITY) {
                return Err(Error::config(format!(
                    "the flow's log density is {} at a draw of the broad evaluation component ({:?}); set [eval] defensive = 0 to evaluate with the flow alone",
                    l[i],
                    &xg[i * d..(i + 1) * d]
                )));
            }
            pts.extend(xg);
            lq.extend(l);
        }
        let mut from_flow: Vec<bool> = (0..m).map(|i| i < n_flow).collect();
        let mut order: Vec<usize> = (0..m).collect();
        order.shuffle(rng);
        let pts: Vec<f64> = order
            .iter()
            .flat_map(|&i| pts[i * d..(i + 1) * d].iter().copied())
            .collect();
        let lq: Vec<f64> = order.iter().map(|&i| lq[i]).collect();
        from_flow = order.iter().map(|&i| from_flow[i]).collect();
        let lg = g.log_density(&pts);
        let mix = lq
            .iter()
            .zip(&lg)
            .map(|(a, b)| mix_log_density(*a, *b, alpha))
            .collect();
        Ok(Batch {
            points: pts,
            log_q: lq,
            log_proposal: mix,
            from_flow,
        })
    }
}

/// Draw `n` fresh points of the evaluation `proposal` (an unconditional flow, with an
/// optional broad fraction) in batches of `batch` and weigh them by `target`
/// (evaluated in f64).
pub fn draw_weighted(
    proposal: Proposal<'_>,
    target: &dyn LogDensity,
    n: usize,
    batch: usize,
    max_invalid_fraction: f64,
    rng: &mut dyn RngCore,
) -> Result<Draws> {
    if batch == 0 || n == 0 {
        return Err(Error::config(
            "evaluation needs at least one draw and a batch ≥ 1",
        ));
    }
    let d = target.dim();
    let mut out = Draws {
        points: Vec::with_capacity(n * d),
        log_w: Vec::with_capacity(n),
        log_q: Vec::with_capacity(n),
        log_p_tilde: Vec::with_capacity(n),
        from_flow: Vec::with_capacity(n),
        invalid: InvalidCounts::default(),
    };
    let device = proposal.flow.device();
    let mut done = 0;
    while done < n {
        let m = batch.min(n - done);
        let Batch {
            points: pts,
            log_q: lq,
            log_proposal: log_prop,
            from_flow,
        } = proposal.sample(m, rng)?;
        let x = Tensor::from_vec(pts.clone(), (m, d), device)?;
        let lp = target.log_density(&x, None)?.to_vec1::<f64>()?;
        // −inf is a legitimate zero weight here: only NaN/+inf are dropped.
        let finite_or_zero: Vec<f64> = lp
            .iter()
            .map(|v| {
                if *v == f64::NEG_INFINITY {
                    f64::MIN
                } else {
                    *v
                }
            })
            .collect();
        let mut counts = InvalidCounts::default();
        check_values(
            target.name(),
            &finite_or_zero,
            &pts,
            d,
            max_invalid_fraction,
            "evaluation",
            &mut counts,
        )?;
        for i in 0..m {
            if lp[i].is_nan() || lp[i] == f64::INFINITY {
                continue;
            }
            out.points.extend_from_slice(&pts[i * d..(i + 1) * d]);
            out.log_w.push(lp[i] - log_prop[i]);
            out.log_q.push(lq[i]);
            out.log_p_tilde.push(lp[i]);
            out.from_flow.push(from_flow[i]);
        }
        counts.neg_inf = lp.iter().filter(|v| **v == f64::NEG_INFINITY).count();
        out.invalid.add(&counts);
        done += m;
    }
    Ok(out)
}

/// The figures of a set of log weights (module docs).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Figures {
    /// `mean(log p̃ − log q)` over the draws with a finite log density.
    pub elbo: f64,
    /// Its standard error.
    pub elbo_std_error: f64,
    /// `log mean(w)`.
    pub log_z: f64,
    /// Delta-method standard error `se(mean w)/mean w`.
    pub log_z_std_error: f64,
    /// Weight statistics (of `w / max w`): ESS, ESS fraction, Pareto k̂, ….
    pub weights: WeightStats,
}

/// The figures of the log weights `log_w = log p̃ − log q_α` of the proposal's draws
/// and the ELBO terms `log p̃ − log q` of the flow's own draws (at least 2 finite
/// values each; `q_α = q` without a broad component, and then both are the same).
pub fn figures(log_w: &[f64], elbo_terms: &[f64]) -> Result<Figures> {
    let finite: Vec<f64> = log_w.iter().copied().filter(|v| v.is_finite()).collect();
    let terms: Vec<f64> = elbo_terms
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .collect();
    if finite.len() < 2 || terms.len() < 2 {
        return Err(Error::config(format!(
            "the figures need at least 2 draws with a finite weight and 2 of the flow's draws with a finite log density, got {} and {}",
            finite.len(),
            terms.len()
        )));
    }
    let n = terms.len() as f64;
    let elbo = terms.iter().sum::<f64>() / n;
    let var = terms.iter().map(|v| (v - elbo).powi(2)).sum::<f64>() / (n - 1.0);
    let max = finite.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let w: Vec<f64> = log_w.iter().map(|v| (v - max).exp()).collect();
    let stats = WeightStats::from_weights(&w)?;
    Ok(Figures {
        elbo,
        elbo_std_error: (var / n).sqrt(),
        log_z: max + stats.estimate.ln(),
        log_z_std_error: stats.std_error / stats.estimate,
        weights: stats,
    })
}

/// Mean and covariance (`d × d` row-major) of `points` with optional weights.
pub fn moments(points: &[f64], d: usize, weights: Option<&[f64]>) -> (Vec<f64>, Vec<f64>) {
    let n = points.len() / d;
    let w = |i: usize| weights.map_or(1.0, |w| w[i]);
    let total: f64 = (0..n).map(w).sum();
    let mut mean = vec![0.0; d];
    for i in 0..n {
        for j in 0..d {
            mean[j] += w(i) * points[i * d + j] / total;
        }
    }
    let mut cov = vec![0.0; d * d];
    for i in 0..n {
        let r = &points[i * d..(i + 1) * d];
        for a in 0..d {
            for b in 0..d {
                cov[a * d + b] += w(i) * (r[a] - mean[a]) * (r[b] - mean[b]) / total;
            }
        }
    }
    (mean, cov)
}

/// How far estimated moments are from exact ones.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MomentErrors {
    /// `max_i |m_i − μ_i| / √Σ_ii` (in standard deviations).
    pub mean_error: f64,
    /// `‖C − Σ‖_F / ‖Σ‖_F`.
    pub cov_rel_error: f64,
    /// `max_i |C_ii/Σ_ii − 1|` (the variances).
    pub var_rel_error: f64,
}

impl MomentErrors {
    /// The errors of `(mean, cov)` against `(mu, sigma)`.
    pub fn new(mean: &[f64], cov: &[f64], mu: &[f64], sigma: &[f64]) -> Self {
        let d = mu.len();
        let mean_error = (0..d)
            .map(|i| (mean[i] - mu[i]).abs() / sigma[i * d + i].sqrt())
            .fold(0.0, f64::max);
        let num: f64 = cov.iter().zip(sigma).map(|(a, b)| (a - b).powi(2)).sum();
        let den: f64 = sigma.iter().map(|b| b * b).sum();
        let var_rel_error = (0..d)
            .map(|i| (cov[i * d + i] / sigma[i * d + i] - 1.0).abs())
            .fold(0.0, f64::max);
        Self {
            mean_error,
            cov_rel_error: (num / den).sqrt(),
            var_rel_error,
        }
    }
}

/// One coordinate's marginal of the `q` draws.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Marginal {
    /// Column name.
    pub column: String,
    /// Mean.
    pub mean: f64,
    /// Standard deviation.
    pub sd: f64,
    /// The 1, 5, 50, 95 and 99 % quantiles.
    pub quantiles: [f64; 5],
}

/// The marginals of `points` (`n × d`).
pub fn marginals(points: &[f64], columns: &[String]) -> Vec<Marginal> {
    let d = columns.len();
    let n = points.len() / d;
    (0..d)
        .map(|j| {
            let mut v: Vec<f64> = (0..n).map(|i| points[i * d + j]).collect();
            v.sort_by(f64::total_cmp);
            let mean = v.iter().sum::<f64>() / n as f64;
            let sd = (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>()
                / (n as f64 - 1.0).max(1.0))
            .sqrt();
            let q = |p: f64| v[((p * (n - 1) as f64).round() as usize).min(n - 1)];
            Marginal {
                column: columns[j].clone(),
                mean,
                sd,
                quantiles: [q(0.01), q(0.05), q(0.5), q(0.95), q(0.99)],
            }
        })
        .collect()
}

/// `k` indices drawn with replacement with probabilities proportional to `w`
/// (multinomial resampling).
pub fn resample(w: &[f64], k: usize, rng: &mut dyn RngCore) -> Result<Vec<usize>> {
    use rand::distr::{weighted::WeightedIndex, Distribution};
    let dist = WeightedIndex::new(w)
        .map_err(|e| Error::config(format!("cannot resample the draws: {e}")))?;
    Ok((0..k).map(|_| dist.sample(rng)).collect())
}

/// Points in the user's coordinates ([`LogDensity::to_user`]).
pub fn to_user(target: &dyn LogDensity, points: &[f64]) -> Result<Vec<f64>> {
    let d = target.dim();
    let n = points.len() / d;
    if n == 0 {
        return Ok(Vec::new());
    }
    let t = Tensor::from_vec(points.to_vec(), (n, d), &candle_core::Device::Cpu)?;
    host_rows(&target.to_user(&t)?)
}
