//! Histogram bands: for each column (and each pair of columns) the histogram of the
//! events of every weight draw, and per bin the mean and standard deviation over draws
//! of the probability mass. Pulls of a reference histogram against the band, and their
//! coverage.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// Equal-width bins over `[lo, hi]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bins {
    /// Lower edge.
    pub lo: f64,
    /// Upper edge.
    pub hi: f64,
    /// Number of bins.
    pub n: usize,
}

impl Bins {
    /// Bins over the central `1 − 2·tail` quantile range of `values` (padded by 1 %).
    pub fn from_values(values: &[f64], n: usize, tail: f64) -> Result<Self> {
        if n == 0 {
            return Err(Error::config("histograms need at least one bin"));
        }
        let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
        if v.is_empty() {
            return Err(Error::config("no finite values to choose bins from"));
        }
        v.sort_by(|a, b| a.total_cmp(b));
        let q = |p: f64| v[((v.len() - 1) as f64 * p).round() as usize];
        let (mut lo, mut hi) = (q(tail), q(1.0 - tail));
        if hi <= lo {
            lo -= 0.5;
            hi += 0.5;
        }
        let pad = 0.01 * (hi - lo);
        Ok(Self {
            lo: lo - pad,
            hi: hi + pad,
            n,
        })
    }

    /// Bin index of `x` (`None` outside).
    pub fn index(&self, x: f64) -> Option<usize> {
        if !(x >= self.lo && x < self.hi) {
            return None;
        }
        Some((((x - self.lo) / (self.hi - self.lo) * self.n as f64) as usize).min(self.n - 1))
    }

    /// Bin edges (`n + 1` values).
    pub fn edges(&self) -> Vec<f64> {
        (0..=self.n)
            .map(|i| self.lo + (self.hi - self.lo) * i as f64 / self.n as f64)
            .collect()
    }

    /// Width of a bin.
    pub fn width(&self) -> f64 {
        (self.hi - self.lo) / self.n as f64
    }
}

/// Probability mass per bin of column `c` of `rows` (fractions of all rows).
pub fn mass_1d(rows: &[Vec<f64>], c: usize, bins: &Bins) -> Vec<f64> {
    let mut h = vec![0.0; bins.n];
    for r in rows {
        if let Some(i) = bins.index(r[c]) {
            h[i] += 1.0;
        }
    }
    let n = rows.len().max(1) as f64;
    h.iter().map(|v| v / n).collect()
}

/// Probability mass per cell of the pair `(a, b)`, row-major over `a`'s bins.
pub fn mass_2d(rows: &[Vec<f64>], a: usize, b: usize, ba: &Bins, bb: &Bins) -> Vec<f64> {
    let mut h = vec![0.0; ba.n * bb.n];
    for r in rows {
        if let (Some(i), Some(j)) = (ba.index(r[a]), bb.index(r[b])) {
            h[i * bb.n + j] += 1.0;
        }
    }
    let n = rows.len().max(1) as f64;
    h.iter().map(|v| v / n).collect()
}

/// Mean and standard deviation (over draws) of per-draw histograms.
fn moments(per_draw: &[Vec<f64>]) -> (Vec<f64>, Vec<f64>) {
    let m = per_draw.len();
    let k = per_draw.first().map_or(0, |v| v.len());
    let mut mean = vec![0.0; k];
    let mut std = vec![0.0; k];
    for h in per_draw {
        for (a, v) in mean.iter_mut().zip(h) {
            *a += v / m as f64;
        }
    }
    if m > 1 {
        for h in per_draw {
            for ((s, v), mu) in std.iter_mut().zip(h).zip(&mean) {
                *s += (v - mu).powi(2) / (m - 1) as f64;
            }
        }
        std.iter_mut().for_each(|s| *s = s.sqrt());
    }
    (mean, std)
}

/// The band of one column: per-bin mean and standard deviation of the probability mass.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MarginalBand {
    /// Column name.
    pub column: String,
    /// Bins.
    pub bins: Bins,
    /// Mean mass per bin over draws.
    pub mean: Vec<f64>,
    /// Standard deviation of the mass over draws.
    pub std: Vec<f64>,
}

/// The band of a pair of columns (cells row-major over the first column's bins).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairBand {
    /// Column names.
    pub columns: [String; 2],
    /// Bins of each column.
    pub bins: [Bins; 2],
    /// Mean mass per cell.
    pub mean: Vec<f64>,
    /// Standard deviation of the mass per cell.
    pub std: Vec<f64>,
}

/// Every band of a set of draws.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bands {
    /// Weight draws.
    pub draws: usize,
    /// Events per draw.
    pub events_per_draw: usize,
    /// One per column.
    pub marginals: Vec<MarginalBand>,
    /// One per pair of columns (`pair_bins` per axis), empty when not asked for.
    pub pairs: Vec<PairBand>,
}

/// Bins per column chosen from `reference` rows (the data, or generated events).
pub fn bins_for(reference: &[Vec<f64>], cols: usize, n: usize) -> Result<Vec<Bins>> {
    (0..cols)
        .map(|c| {
            let v: Vec<f64> = reference.iter().map(|r| r[c]).collect();
            Bins::from_values(&v, n, 0.002)
        })
        .collect()
}

/// Bands of `events[draw][event][column]` over `bins` (one per column); pairs with
/// `pair_bins` bins per axis over the same ranges when `pair_bins > 0`.
pub fn compute_bands(
    columns: &[String],
    events: &[Vec<Vec<f64>>],
    bins: &[Bins],
    pair_bins: usize,
) -> Result<Bands> {
    let d = columns.len();
    if events.is_empty() || events[0].is_empty() {
        return Err(Error::config("bands need at least one draw with events"));
    }
    if bins.len() != d || events.iter().any(|e| e.iter().any(|r| r.len() != d)) {
        return Err(Error::config(format!(
            "bands: {d} columns, {} binnings, events of another width",
            bins.len()
        )));
    }
    let marginals = (0..d)
        .map(|c| {
            let per: Vec<Vec<f64>> = events.iter().map(|e| mass_1d(e, c, &bins[c])).collect();
            let (mean, std) = moments(&per);
            MarginalBand {
                column: columns[c].clone(),
                bins: bins[c].clone(),
                mean,
                std,
            }
        })
        .collect();
    let mut pairs = Vec::new();
    if pair_bins > 0 {
        for a in 0..d {
            for b in a + 1..d {
                let ba = Bins {
                    n: pair_bins,
                    ..bins[a].clone()
                };
                let bb = Bins {
                    n: pair_bins,
                    ..bins[b].clone()
                };
                let per: Vec<Vec<f64>> =
                    events.iter().map(|e| mass_2d(e, a, b, &ba, &bb)).collect();
                let (mean, std) = moments(&per);
                pairs.push(PairBand {
                    columns: [columns[a].clone(), columns[b].clone()],
                    bins: [ba, bb],
                    mean,
                    std,
                });
            }
        }
    }
    Ok(Bands {
        draws: events.len(),
        events_per_draw: events[0].len(),
        marginals,
        pairs,
    })
}

/// Pulls and their coverage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct PullSummary {
    /// Bins compared.
    pub bins: usize,
    /// Mean pull.
    pub mean: f64,
    /// Standard deviation of the pulls (ideal 1).
    pub std: f64,
    /// Fraction with |pull| ≤ 1 (ideal 0.683).
    pub within_1sigma: f64,
    /// Fraction with |pull| ≤ 2 (ideal 0.954).
    pub within_2sigma: f64,
}

impl PullSummary {
    /// Summarise a list of pulls.
    pub fn from_pulls(p: &[f64]) -> Self {
        let n = p.len();
        if n == 0 {
            return Self::default();
        }
        let mean = p.iter().sum::<f64>() / n as f64;
        let var = p.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n as f64;
        Self {
            bins: n,
            mean,
            std: var.sqrt(),
            within_1sigma: p.iter().filter(|v| v.abs() <= 1.0).count() as f64 / n as f64,
            within_2sigma: p.iter().filter(|v| v.abs() <= 2.0).count() as f64 / n as f64,
        }
    }
}

/// Pulls `(N·mean − c) / √((N·std)² + max(c, N·mean))` of the counts `c` of `n_data`
/// reference events against a band: the reference sample's Poisson variance added in
/// quadrature, taken as the larger of the observed and the expected count (so an empty
/// bin where the band expects events, or an occupied one where it expects none, is not
/// given a zero Poisson error); bins with fewer than 0.5 expected and no observed events
/// are skipped.
pub fn count_pulls(mean: &[f64], std: &[f64], mass_data: &[f64], n_data: usize) -> Vec<f64> {
    let n = n_data as f64;
    mean.iter()
        .zip(std)
        .zip(mass_data)
        .filter_map(|((m, s), md)| {
            let c = md * n;
            let var = (n * s).powi(2) + c.max(n * m);
            (var > 0.0 && (c > 0.0 || n * m >= 0.5)).then(|| (n * m - c) / var.sqrt())
        })
        .collect()
}

/// Pulls `(mean − truth) / std` of exact per-bin masses against a band (bins with no
/// spread skipped).
pub fn truth_pulls(mean: &[f64], std: &[f64], truth: &[f64]) -> Vec<f64> {
    mean.iter()
        .zip(std)
        .zip(truth)
        .filter(|((_, s), _)| **s > 0.0)
        .map(|((m, s), t)| (m - t) / s)
        .collect()
}

/// Pull summaries of reference rows against every marginal and pair band.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataPulls {
    /// Reference events.
    pub events: usize,
    /// Over the bins of every marginal.
    pub marginals: PullSummary,
    /// Per column.
    pub per_column: Vec<(String, PullSummary)>,
    /// Over the cells of every pair (when pair bands were computed).
    pub pairs: Option<PullSummary>,
}

/// Compare `rows` (the reference events) with `bands`.
pub fn data_pulls(bands: &Bands, rows: &[Vec<f64>]) -> DataPulls {
    let n = rows.len();
    let mut all = Vec::new();
    let mut per_column = Vec::new();
    for (c, b) in bands.marginals.iter().enumerate() {
        let p = count_pulls(&b.mean, &b.std, &mass_1d(rows, c, &b.bins), n);
        per_column.push((b.column.clone(), PullSummary::from_pulls(&p)));
        all.extend(p);
    }
    let pairs = (!bands.pairs.is_empty()).then(|| {
        let mut pp = Vec::new();
        let cols: Vec<&String> = bands.marginals.iter().map(|m| &m.column).collect();
        for pb in &bands.pairs {
            let a = cols.iter().position(|c| **c == pb.columns[0]).unwrap_or(0);
            let b = cols.iter().position(|c| **c == pb.columns[1]).unwrap_or(0);
            let md = mass_2d(rows, a, b, &pb.bins[0], &pb.bins[1]);
            pp.extend(count_pulls(&pb.mean, &pb.std, &md, n));
        }
        PullSummary::from_pulls(&pp)
    });
    DataPulls {
        events: n,
        marginals: PullSummary::from_pulls(&all),
        per_column,
        pairs,
    }
}

/// The marginal bands as CSV: `column,bin,lo,hi,mean_mass,std_mass,density,density_std,rel_std`.
pub fn bands_csv(bands: &Bands) -> String {
    let mut s = String::from("column,bin,lo,hi,mean_mass,std_mass,density,density_std,rel_std\n");
    for m in &bands.marginals {
        let e = m.bins.edges();
        let w = m.bins.width();
        for i in 0..m.bins.n {
            let rel = if m.mean[i] > 0.0 {
                m.std[i] / m.mean[i]
            } else {
                0.0
            };
            s.push_str(&format!(
                "{},{},{},{},{},{},{},{},{}\n",
                m.column,
                i,
                e[i],
                e[i + 1],
                m.mean[i],
                m.std[i],
                m.mean[i] / w,
                m.std[i] / w,
                rel
            ));
        }
    }
    s
}
