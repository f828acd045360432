//! One batch of weighted samples: draw from the flow on its device, copy the points
//! and `log q` to the host once, evaluate the integrand there and form the weights
//! `w = f/q` in f64. Non-finite and negative integrand values are counted
//! ([`InvalidCounts`]) and either set to zero or turned into an error.

use super::proposal::Proposal;
use crate::error::{Error, Result};
use candle_core::{DType, Tensor};
use flowinfer_simulators::Integrand;
use rand::RngCore;
use rayon::prelude::*;
use serde::Serialize;

/// Running count of invalid integrand values.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct InvalidCounts {
    /// Non-finite values (NaN, ±∞).
    pub non_finite: usize,
    /// Finite negative values.
    pub negative: usize,
    /// The first offending point and its value.
    #[serde(skip)]
    pub first: Option<(Vec<f64>, f64)>,
}

impl InvalidCounts {
    /// Total invalid values.
    pub fn total(&self) -> usize {
        self.non_finite + self.negative
    }

    /// Count the invalid entries of `f` (rows of `points`, `dim` wide) and set them to
    /// zero; with `allow = false` any invalid value is an error naming `stage`.
    pub fn screen(
        &mut self,
        integrand: &str,
        stage: &str,
        points: &[f64],
        dim: usize,
        f: &mut [f64],
        allow: bool,
    ) -> Result<()> {
        for (k, v) in f.iter_mut().enumerate() {
            if v.is_finite() && *v >= 0.0 {
                continue;
            }
            if v.is_finite() {
                self.negative += 1;
            } else {
                self.non_finite += 1;
            }
            if self.first.is_none() {
                self.first = Some((points[k * dim..(k + 1) * dim].to_vec(), *v));
            }
            *v = 0.0;
        }
        if !allow && self.total() > 0 {
            let (point, value) = self.first.clone().unwrap_or_default();
            return Err(Error::InvalidValues {
                integrand: integrand.to_string(),
                stage: stage.to_string(),
                non_finite: self.non_finite,
                negative: self.negative,
                point,
                value,
            });
        }
        Ok(())
    }
}

/// How the integrand is called on a batch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EvalOptions {
    /// Split a batch into chunks of this many points evaluated in parallel (rayon);
    /// `None` = one call per batch (for integrands that parallelise themselves, such
    /// as external programs).
    pub parallel_chunk: Option<usize>,
    /// Count invalid values as zero instead of failing.
    pub allow_invalid: bool,
}

impl Default for EvalOptions {
    fn default() -> Self {
        Self {
            parallel_chunk: Some(8192),
            allow_invalid: false,
        }
    }
}

/// Evaluate `f` at `points` (`n × dim`) with the chunking of `opts`.
pub fn evaluate(integrand: &dyn Integrand, points: &[f64], opts: &EvalOptions) -> Result<Vec<f64>> {
    let d = integrand.dim();
    let n = points.len() / d;
    let mut out = vec![0.0; n];
    match opts.parallel_chunk {
        Some(c) if n > c => {
            out.par_chunks_mut(c)
                .zip(points.par_chunks(c * d))
                .try_for_each(|(o, p)| integrand.evaluate(p, o))?;
        }
        _ => integrand.evaluate(points, &mut out)?,
    }
    Ok(out)
}

/// A batch of proposal samples with their weights.
#[derive(Debug)]
pub struct WeightedBatch {
    /// The points on the flow's device, `(n, d)`, detached.
    pub x: Tensor,
    /// The same points on the host, row-major f64.
    pub points: Vec<f64>,
    /// `log q(x)` of the proposal that drew them (the defensive mixture's density when
    /// it has a uniform fraction; f64, host).
    pub log_q: Vec<f64>,
    /// `f(x)` (invalid values set to zero).
    pub f: Vec<f64>,
    /// `w = f/q` (f64).
    pub w: Vec<f64>,
}

/// Draw `n` points from `proposal`, evaluate `integrand` and weight them; one host copy
/// of `(x, log q)` per batch. `stage` names the phase in error messages.
pub fn draw_weighted(
    proposal: &Proposal<'_>,
    integrand: &dyn Integrand,
    n: usize,
    rng: &mut dyn RngCore,
    opts: &EvalOptions,
    invalid: &mut InvalidCounts,
    stage: &str,
) -> Result<WeightedBatch> {
    let (x, log_q) = proposal.sample(n, rng)?;
    let (b, _) = weigh(x, &log_q, None, integrand, opts, invalid, stage)?;
    Ok(b)
}

/// As [`draw_weighted`] (the same draws), and also each point's own component's
/// `log q` ([`Proposal::sample_components`]), copied to the host with the batch.
pub fn draw_weighted_components(
    proposal: &Proposal<'_>,
    integrand: &dyn Integrand,
    n: usize,
    rng: &mut dyn RngCore,
    opts: &EvalOptions,
    invalid: &mut InvalidCounts,
    stage: &str,
) -> Result<(WeightedBatch, Vec<f64>)> {
    let (x, log_q, own) = proposal.sample_components(n, rng)?;
    weigh(x, &log_q, Some(&own), integrand, opts, invalid, stage)
}

/// Evaluate and weight the points `x` drawn with density `log_q`; `extra` (one value
/// per point) travels to the host in the same copy and comes back as the second value
/// (empty without it).
fn weigh(
    x: Tensor,
    log_q: &Tensor,
    extra: Option<&Tensor>,
    integrand: &dyn Integrand,
    opts: &EvalOptions,
    invalid: &mut InvalidCounts,
    stage: &str,
) -> Result<(WeightedBatch, Vec<f64>)> {
    let (n, d) = x.dims2()?;
    let mut cols = vec![x.clone(), log_q.unsqueeze(1)?];
    if let Some(e) = extra {
        cols.push(e.unsqueeze(1)?.to_dtype(x.dtype())?);
    }
    let width = d + cols.len() - 1;
    let joined = Tensor::cat(&cols, 1)?
        .to_dtype(DType::F64)?
        .flatten_all()?
        .to_vec1::<f64>()?;
    let mut points = Vec::with_capacity(n * d);
    let mut lq = Vec::with_capacity(n);
    let mut more = Vec::with_capacity(if extra.is_some() { n } else { 0 });
    for row in joined.chunks_exact(width) {
        points.extend_from_slice(&row[..d]);
        lq.push(row[d]);
        if extra.is_some() {
            more.push(row[d + 1]);
        }
    }
    let mut f = evaluate(integrand, &points, opts)?;
    invalid.screen(
        integrand.name(),
        stage,
        &points,
        d,
        &mut f,
        opts.allow_invalid,
    )?;
    let w = f
        .iter()
        .zip(&lq)
        .map(|(fv, l)| if *fv == 0.0 { 0.0 } else { fv * (-l).exp() })
        .collect();
    Ok((
        WeightedBatch {
            x,
            points,
            log_q: lq,
            f,
            w,
        },
        more,
    ))
}
