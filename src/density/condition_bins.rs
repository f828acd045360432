//! The conditional-generation report: the test split cut into bins of the first
//! condition column (equal-count bins), and in each bin the per-column KDE overlap of
//! events generated at that bin's conditions against the real events of the bin, with
//! the real-vs-real ceiling of the bin (a training subsample of the same bin and size).

use crate::data::Table;
use crate::error::Result;
use crate::flow::Flow;
use crate::metrics::kde_overlap;
use crate::pipeline::condition::ContextMap;
use crate::pipeline::evaluate::GENERATE_CHUNK;
use candle_core::{DType, Tensor};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Events generated per real event of a bin (more draws, smoother generated marginals).
pub const DRAWS_PER_EVENT: usize = 20;

/// One bin of the condition column.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConditionBin {
    /// `[low, high]` of the condition column in this bin (test-split values).
    pub range: [f64; 2],
    /// Real test events in the bin.
    pub events: usize,
    /// Per modelled column: KDE overlap of generated vs real events of the bin.
    pub overlap: Vec<f64>,
    /// Per modelled column: overlap of training vs test events of the bin (same sizes).
    pub ceiling: Vec<f64>,
}

/// The report of a conditional fit, in bins of the first condition column.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConditionBins {
    /// The binned condition column.
    pub column: String,
    /// The modelled columns (order of `overlap` and `ceiling`).
    pub columns: Vec<String>,
    /// The bins, in increasing order of the condition.
    pub bins: Vec<ConditionBin>,
}

/// Indices `i` whose value `key[i]` lies in `[lo, hi)` (`[lo, hi]` for the last bin).
fn in_bin(key: &[f64], lo: f64, hi: f64, last: bool) -> Vec<usize> {
    (0..key.len())
        .filter(|&i| key[i] >= lo && (key[i] < hi || (last && key[i] <= hi)))
        .collect()
}

/// Generated rows (f64) at the conditions `cond` (original units), `per_row` each, the
/// `per_row` events of condition 0 first; drawn in passes of at most
/// [`GENERATE_CHUNK`] events (whole conditions per pass, or parts of one condition's
/// events when `per_row` alone exceeds it).
pub fn generate_at(
    flow: &Flow,
    map: &ContextMap,
    cond: &Table,
    per_row: usize,
    seed: u64,
) -> Result<Vec<Vec<f64>>> {
    let ctx = map.context(cond, "conditions", flow.dtype(), flow.device())?;
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut draw = |n: usize, c: &Tensor| -> Result<Vec<Vec<f64>>> {
        Ok(flow
            .sample(n, Some(c), &mut rng)?
            .to_dtype(DType::F64)?
            .to_vec2::<f64>()?)
    };
    let m = cond.rows();
    if per_row == 0 || m == 0 || per_row * m <= GENERATE_CHUNK {
        return draw(per_row, &ctx);
    }
    let mut rows = Vec::with_capacity(per_row * m);
    let group = (GENERATE_CHUNK / per_row).max(1);
    for start in (0..m).step_by(group) {
        let c = ctx.narrow(0, start, group.min(m - start))?;
        if per_row <= GENERATE_CHUNK {
            rows.extend(draw(per_row, &c)?);
        } else {
            let mut left = per_row;
            while left > 0 {
                let k = left.min(GENERATE_CHUNK);
                rows.extend(draw(k, &c)?);
                left -= k;
            }
        }
    }
    Ok(rows)
}

/// The report in `nbins` equal-count bins of the first condition column of the test
/// split; with `plots`, one histogram page per bin (`condition_bin{k}.png`).
#[allow(clippy::too_many_arguments)]
pub fn condition_bins(
    flow: &Flow,
    map: &ContextMap,
    (train_x, train_c): (&Table, &Table),
    (test_x, test_c): (&Table, &Table),
    nbins: usize,
    seed: u64,
    plots: Option<&Path>,
) -> Result<ConditionBins> {
    let key_test = test_c.column(0);
    let key_train = train_c.column(0);
    let mut sorted = key_test.clone();
    sorted.sort_by(f64::total_cmp);
    let edges: Vec<f64> = (0..=nbins)
        .map(|k| sorted[((k * (sorted.len() - 1)) as f64 / nbins as f64).round() as usize])
        .collect();
    let (real_all, train_all) = (test_x.to_rows(), train_x.to_rows());
    let mut bins = Vec::new();
    for k in 0..nbins {
        let (lo, hi, last) = (edges[k], edges[k + 1], k + 1 == nbins);
        let idx = in_bin(&key_test, lo, hi, last);
        if idx.len() < 2 {
            continue;
        }
        let real: Vec<Vec<f64>> = idx.iter().map(|&i| real_all[i].clone()).collect();
        let gen = generate_at(
            flow,
            map,
            &test_c.select(&idx),
            DRAWS_PER_EVENT,
            seed + k as u64,
        )?;
        let mut tr: Vec<Vec<f64>> = in_bin(&key_train, lo, hi, last)
            .into_iter()
            .map(|i| train_all[i].clone())
            .collect();
        tr.shuffle(&mut rand::rngs::StdRng::seed_from_u64(seed ^ 0xb1a5));
        tr.truncate(real.len());
        let ceiling = if tr.len() >= 2 {
            kde_overlap(&tr, &real)?.per_column
        } else {
            vec![f64::NAN; test_x.cols()]
        };
        if let Some(dir) = plots {
            crate::plot::histograms(
                dir.join(format!("condition_bin{}.png", k + 1)),
                test_x.columns(),
                &real,
                &gen,
                25,
            )?;
        }
        bins.push(ConditionBin {
            range: [lo, hi],
            events: real.len(),
            overlap: kde_overlap(&gen, &real)?.per_column,
            ceiling,
        });
    }
    Ok(ConditionBins {
        column: map.columns[0].clone(),
        columns: test_x.columns().to_vec(),
        bins,
    })
}
