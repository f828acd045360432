//! Evaluation and records of a fit: generated events, sample-quality figures against
//! real events (NLL, KDE overlap, C2ST), the report and the per-epoch history.

use crate::atomic::write_atomic;
use crate::data::Table;
use crate::error::Result;
use crate::flow::Flow;
use crate::metrics::{c2st, kde_overlap, C2stConfig, C2stResult, KdeOverlap};
use crate::train::EpochRecord;
use candle_core::DType;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::path::Path;

/// Sample-quality figures against a set of real events.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Evaluation {
    /// Events in the real set.
    pub events: usize,
    /// Mean negative log-likelihood of the real events (nats per event).
    pub nll: f64,
    /// Per-marginal KDE overlap of generated (as many as real) vs real events.
    pub kde_overlap: KdeOverlap,
    /// Classifier two-sample test, generated vs real (when enabled).
    pub c2st: Option<C2stResult>,
    /// Whether `nll` is exact or minus a one-sample stochastic lower bound (a flow with
    /// augmentation or dequantization; docs/SURJECTIVE.md).
    #[serde(default = "crate::pipeline::iw::exact")]
    pub likelihood: crate::transforms::Contribution,
    /// For a bound: the NLL from the importance-weighted estimate with K samples.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nll_iw: Option<crate::pipeline::iw::IwNll>,
}

/// The report of a fit (`report.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FitReport {
    /// Rows read and dropped.
    pub rows_read: usize,
    /// Rows dropped as invalid.
    pub rows_dropped: usize,
    /// Train / validation / test sizes.
    pub split: [usize; 3],
    /// Trainable parameters.
    pub parameters: usize,
    /// Epochs run and the epoch kept.
    pub epochs: usize,
    /// Epoch whose weights were kept.
    pub best_epoch: usize,
    /// Whether early stopping ended training.
    pub stopped_early: bool,
    /// Epochs rolled back after a non-finite loss (each lowered the learning rate).
    pub rollbacks: usize,
    /// Wall time of training in seconds.
    pub train_seconds: f64,
    /// Test-split NLL of the best-fitting Gaussian (baseline); NaN (`null` in JSON) where
    /// no Gaussian fits (a constant column, e.g. an always-dark pixel of images that
    /// data-side layers dequantize).
    #[serde(deserialize_with = "crate::pipeline::iw::nan_if_null")]
    pub gaussian_test_nll: f64,
    /// Evaluation on the held-out test split.
    pub test: Evaluation,
    /// KDE overlap between a training subsample and the test split (same sizes): the
    /// ceiling a perfect generator would reach.
    pub kde_overlap_ceiling: KdeOverlap,
    /// Conditional fits: the marginals in bins of the first condition column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditional: Option<crate::density::condition_bins::ConditionBins>,
}

/// Events per sampling pass of [`generate`] (bounds the memory of large draws).
pub const GENERATE_CHUNK: usize = 100_000;

/// Generated samples as rows (f64), `n` of them, seeded; drawn in passes of
/// [`GENERATE_CHUNK`] events (the first pass is the whole draw when `n` is smaller).
pub fn generate(flow: &Flow, n: usize, seed: u64) -> Result<Vec<Vec<f64>>> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut rows = Vec::with_capacity(n);
    let mut left = n;
    loop {
        // n = 0 reaches `Flow::sample`, which says how many are needed.
        let k = left.min(GENERATE_CHUNK);
        rows.extend(
            flow.sample(k, None, &mut rng)?
                .to_dtype(DType::F64)?
                .to_vec2::<f64>()?,
        );
        left -= k;
        if left == 0 {
            return Ok(rows);
        }
    }
}

/// Figures of generated events `gen` against real ones, with the NLL computed by the
/// caller (a flow's, or a Bayesian predictive's).
pub fn evaluation_of(
    gen: &[Vec<f64>],
    real: &[Vec<f64>],
    nll: f64,
    with_c2st: bool,
    seed: u64,
) -> Result<Evaluation> {
    Ok(Evaluation {
        events: real.len(),
        nll,
        likelihood: crate::transforms::Contribution::Exact,
        nll_iw: None,
        kde_overlap: kde_overlap(gen, real)?,
        c2st: if with_c2st {
            Some(c2st(
                gen,
                real,
                &C2stConfig {
                    seed,
                    ..Default::default()
                },
            )?)
        } else {
            None
        },
    })
}

/// Evaluate `flow` against the real events `real` (a bound flow's importance-weighted
/// NLL with [`DEFAULT_IW_SAMPLES`](crate::pipeline::iw::DEFAULT_IW_SAMPLES) samples).
pub fn evaluate_against(
    flow: &Flow,
    real: &Table,
    with_c2st: bool,
    seed: u64,
) -> Result<Evaluation> {
    evaluate_against_k(
        flow,
        real,
        with_c2st,
        seed,
        crate::pipeline::iw::DEFAULT_IW_SAMPLES,
    )
}

/// [`evaluate_against`] with `k` importance samples for a bound flow's `nll_iw`.
pub fn evaluate_against_k(
    flow: &Flow,
    real: &Table,
    with_c2st: bool,
    seed: u64,
    k: usize,
) -> Result<Evaluation> {
    let x = real.to_tensor(flow.dtype(), flow.device())?;
    let nll = crate::train::mean_nll(flow, &x, None, 4096)?;
    let rows = real.to_rows();
    let gen = generate(flow, rows.len(), seed)?;
    let mut e = evaluation_of(&gen, &rows, nll, with_c2st, seed)?;
    e.likelihood = flow.likelihood();
    e.nll_iw = crate::pipeline::iw::iw_nll(flow, &x, None, k)?;
    Ok(e)
}

/// The KDE overlap between a training subsample (as many events as the test split,
/// drawn with `seed`) and the test split: what a perfect generator would reach.
pub fn kde_ceiling(train: &Table, test: &Table, seed: u64) -> Result<KdeOverlap> {
    let mut sub = train.to_rows();
    sub.shuffle(&mut rand::rngs::StdRng::seed_from_u64(seed ^ 0xc0ffee));
    sub.truncate(test.rows());
    kde_overlap(&sub, &test.to_rows())
}

/// Write the per-epoch history as CSV (`epoch,train_loss,val_loss,lr,seconds,rollbacks`).
pub fn write_history(path: &Path, history: &[EpochRecord]) -> Result<()> {
    let mut s = String::from("epoch,train_loss,val_loss,lr,seconds,rollbacks\n");
    for r in history {
        let v = r.val_loss.map(|v| v.to_string()).unwrap_or_default();
        let _ = writeln!(
            s,
            "{},{},{},{},{:.4},{}",
            r.epoch, r.train_loss, v, r.lr, r.seconds, r.rollbacks
        );
    }
    write_atomic(path, s.as_bytes())
}
