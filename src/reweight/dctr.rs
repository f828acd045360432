//! DCTR (Andreassen & Nachman 2020): per-event weights `w(x) = D(x)/(1 − D(x))` for
//! generated events from a classifier `D` trained to tell reference events from
//! generated ones, so that the weighted generated sample follows the reference density.
//!
//! # Protocol
//!
//! 1. **Halves.** Generated and reference events are each split at random (seeded)
//!    into two halves, `A` and `B`.
//! 2. **Weights, cross-fitted.** A classifier ([`Classifier`]: class-balanced, unit
//!    weights, early stopping on a validation part) trained on half `A` gives the
//!    logits `s` of the generated events of half `B`, and one trained on `B` those of
//!    `A`: every weight is an out-of-sample prediction. `w = e^s` (the balanced
//!    classifier's `D/(1 − D)`), clipped at `clip` (counted), scaled to mean 1
//!    ([`weights_from_logits`]).
//! 3. **Check, without leakage.** Within each half, fresh classifiers are trained by
//!    `K`-fold cross-validation between the generated events and the reference events
//!    of that half — unweighted (**AUC before**) and with the generated events
//!    weighted by `w` (**AUC after**, weighted held-out AUC [`weighted_auc`]). The
//!    weights of a half come from the classifier of the other half, which has seen
//!    none of these events, so AUC after ≈ 0.5 means the weighted sample is
//!    indistinguishable from the reference, not that the weights memorised it. Both
//!    figures are means over the `2K` held-out folds.
//! 4. **Histograms.** Per-column χ²/ndf of the generated histograms (unit weights,
//!    then `w`) against all reference events ([`column_chi2`]).
//!
//! Classifiers run in parallel (rayon); everything is seeded by
//! [`ReweightConfig::seed`].

use crate::data::Table;
use crate::error::{Error, Result};
use crate::reweight::{
    column_chi2, mean_chi2_ndf, weighted_auc, weights_from_logits, Classifier, ClassifierConfig,
    ColumnChi2, Labelled, WeightSummary,
};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Settings of [`reweight`] (`report.json` → `config`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReweightConfig {
    /// The classifiers' network and training.
    pub classifier: ClassifierConfig,
    /// Cross-validation folds `K` of the check within each half (≥ 2; default 3).
    pub folds: usize,
    /// Largest raw weight kept; larger ones are set to it and counted (default 20;
    /// `None`: no clipping).
    pub clip: Option<f64>,
    /// Histogram bins per column for the χ²/ndf (default 30).
    pub bins: usize,
    /// Seed of the folds, the classifiers and their minibatches.
    pub seed: u64,
}

impl Default for ReweightConfig {
    fn default() -> Self {
        Self {
            classifier: ClassifierConfig::default(),
            folds: 3,
            clip: Some(20.0),
            bins: 30,
            seed: 0,
        }
    }
}

/// What [`reweight`] measured (`report.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReweightReport {
    /// Column names.
    pub columns: Vec<String>,
    /// Generated events weighted.
    pub generated_events: usize,
    /// Reference events.
    pub reference_events: usize,
    /// Held-out ROC AUC of cross-validated classifiers between generated and reference
    /// events, mean over the `2K` folds of both halves (0.5 = indistinguishable).
    pub auc_before: f64,
    /// Per-fold values of `auc_before`.
    pub auc_before_folds: Vec<f64>,
    /// Weighted held-out ROC AUC of fresh classifiers between the reweighted generated
    /// events and the reference, mean over the `2K` folds of both halves.
    pub auc_after: f64,
    /// Per-fold values of `auc_after`.
    pub auc_after_folds: Vec<f64>,
    /// The weights' distribution, clipping and effective sample size.
    pub weights: WeightSummary,
    /// Per-column χ²/ndf of the unweighted generated histograms.
    pub chi2_before: Vec<ColumnChi2>,
    /// Per-column χ²/ndf of the weighted generated histograms.
    pub chi2_after: Vec<ColumnChi2>,
    /// Mean over columns of `chi2_before`'s χ²/ndf.
    pub mean_chi2_ndf_before: f64,
    /// Mean over columns of `chi2_after`'s χ²/ndf.
    pub mean_chi2_ndf_after: f64,
    /// The settings used.
    pub config: ReweightConfig,
    /// Wall time in seconds.
    pub seconds: f64,
}

/// Weights for the generated events and the report.
#[derive(Debug, Clone)]
pub struct Reweighted {
    /// Final weights, one per generated event (clipped, mean 1).
    pub weights: Vec<f64>,
    /// Raw `D/(1 − D)` per generated event (from the other half's classifier, before
    /// clipping and scaling).
    pub raw: Vec<f64>,
    /// The figures.
    pub report: ReweightReport,
}

/// DCTR weights for the rows of `generated` against `reference` (same columns, same
/// order); see the module docs for the protocol.
///
/// ```
/// use flowinfer::data::Table;
/// use flowinfer::reweight::{reweight, ReweightConfig};
/// // Generated events on a uniform grid, reference events skewed to the right.
/// let g: Vec<f64> = (0..400).map(|i| (i as f64 + 0.5) / 400.0).collect();
/// let r: Vec<f64> = (0..400).map(|i| ((i as f64 + 0.5) / 400.0).sqrt()).collect();
/// let gen = Table::new(vec!["x".into()], g)?;
/// let reference = Table::new(vec!["x".into()], r)?;
/// let mut cfg = ReweightConfig::default();
/// (cfg.classifier.hidden, cfg.classifier.epochs, cfg.folds) = (16, 10, 2);
/// let out = reweight(&gen, &reference, &cfg)?;
/// assert_eq!(out.weights.len(), 400);
/// assert!(out.weights[399] > out.weights[0]); // more weight where the reference lies
/// # Ok::<(), flowinfer::Error>(())
/// ```
///
/// Errors ([`Error::Config`]) when the columns differ, a set has fewer events than
/// folds, or for invalid settings.
pub fn reweight(generated: &Table, reference: &Table, cfg: &ReweightConfig) -> Result<Reweighted> {
    let start = std::time::Instant::now();
    if generated.columns() != reference.columns() {
        return Err(Error::config(format!(
            "reweight: generated columns {:?} differ from the reference columns {:?}",
            generated.columns(),
            reference.columns()
        )));
    }
    cfg.classifier.validate()?;
    if cfg.folds < 2 || cfg.bins == 0 {
        return Err(Error::config(format!(
            "reweight: expected folds ≥ 2 and bins ≥ 1, got {} and {}",
            cfg.folds, cfg.bins
        )));
    }
    let (ng, nr) = (generated.rows(), reference.rows());
    if ng.min(nr) < 4 * cfg.folds {
        return Err(Error::config(format!(
            "reweight: {ng} generated and {nr} reference events; need at least {} of each for two halves of {} folds",
            4 * cfg.folds,
            cfg.folds
        )));
    }
    let d = generated.cols();
    let (gen, reference_rows) = (generated.values(), reference.values());
    let mut rng = rand::rngs::StdRng::seed_from_u64(cfg.seed);
    let half_g = halves(ng, &mut rng);
    let half_r = halves(nr, &mut rng);
    let part = |h: bool| Sets {
        gen: pick(gen, d, &half_g, h),
        reference: pick(reference_rows, d, &half_r, h),
        gen_index: (0..ng).filter(|&i| half_g[i] == h).collect(),
        d,
    };
    let parts = [part(false), part(true)];

    // 2. Each half's classifier weights the generated events of the other half.
    let mut logits = vec![0.0; ng];
    let scored: Vec<(usize, Vec<f64>)> = (0..2usize)
        .into_par_iter()
        .map(|h| {
            let unit = vec![1.0; parts[h].gen_rows()];
            let train = parts[h].labelled_all(&unit);
            let c = Classifier::train(
                train.labelled(),
                d,
                &cfg.classifier,
                cfg.seed.wrapping_add(0x77 + h as u64),
            )?;
            Ok((1 - h, c.logits(&parts[1 - h].gen)?))
        })
        .collect::<Result<_>>()?;
    for (h, s) in scored {
        for (i, v) in parts[h].gen_index.iter().zip(s) {
            logits[*i] = v;
        }
    }
    let (weights, summary) = weights_from_logits(&logits, cfg.clip)?;
    let raw: Vec<f64> = logits.iter().map(|s| s.min(700.0).exp()).collect();

    // 3. Fresh cross-validated classifiers within each half, before and after.
    let mut before = Vec::new();
    let mut after = Vec::new();
    for (h, p) in parts.iter().enumerate() {
        let unit = vec![1.0; p.gen_rows()];
        let w: Vec<f64> = p.gen_index.iter().map(|&i| weights[i]).collect();
        let seed = cfg.seed.wrapping_add(0x0a17e5 * (h as u64 + 1));
        before.extend(p.cross_validate(&unit, cfg, seed)?);
        after.extend(p.cross_validate(&w, cfg, seed)?);
    }
    // 4. Histograms.
    let cols = generated.columns();
    let chi2_before = column_chi2(cols, gen, reference_rows, None, cfg.bins)?;
    let chi2_after = column_chi2(cols, gen, reference_rows, Some(&weights), cfg.bins)?;

    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let report = ReweightReport {
        columns: cols.to_vec(),
        generated_events: ng,
        reference_events: nr,
        auc_before: mean(&before),
        auc_before_folds: before,
        auc_after: mean(&after),
        auc_after_folds: after,
        weights: summary,
        mean_chi2_ndf_before: mean_chi2_ndf(&chi2_before),
        mean_chi2_ndf_after: mean_chi2_ndf(&chi2_after),
        chi2_before,
        chi2_after,
        config: cfg.clone(),
        seconds: start.elapsed().as_secs_f64(),
    };
    Ok(Reweighted {
        weights,
        raw,
        report,
    })
}

/// `n` flags, half of them (rounded down) `true`, in a seeded random order.
fn halves(n: usize, rng: &mut rand::rngs::StdRng) -> Vec<bool> {
    let mut idx: Vec<usize> = (0..n).collect();
    idx.shuffle(rng);
    let mut flag = vec![false; n];
    for &i in &idx[..n / 2] {
        flag[i] = true;
    }
    flag
}

/// The rows of `x` (`d` values each) whose flag equals `h`.
fn pick(x: &[f64], d: usize, flag: &[bool], h: bool) -> Vec<f64> {
    x.chunks(d)
        .zip(flag)
        .filter(|(_, f)| **f == h)
        .flat_map(|(r, _)| r.iter().copied())
        .collect()
}

/// One half: its generated and reference events (row-major) and the generated
/// events' indices in the full set.
struct Sets {
    gen: Vec<f64>,
    reference: Vec<f64>,
    gen_index: Vec<usize>,
    d: usize,
}

impl Sets {
    fn gen_rows(&self) -> usize {
        self.gen.len() / self.d
    }

    /// Every row, generated ones weighted by `w_gen`.
    fn labelled_all(&self, w_gen: &[f64]) -> Gathered {
        let all_g = vec![0usize; self.gen_rows()];
        let all_r = vec![0usize; self.reference.len() / self.d];
        self.gather(&all_g, &all_r, w_gen, |_| true)
    }

    /// Held-out (weighted) AUCs of `K` classifiers, each trained on all folds but one
    /// with the generated events weighted by `w_gen`, scoring the fold left out.
    fn cross_validate(&self, w_gen: &[f64], cfg: &ReweightConfig, seed: u64) -> Result<Vec<f64>> {
        let d = self.d;
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let deal = |n: usize, rng: &mut rand::rngs::StdRng| {
            let mut idx: Vec<usize> = (0..n).collect();
            idx.shuffle(rng);
            let mut fold = vec![0usize; n];
            for (p, &i) in idx.iter().enumerate() {
                fold[i] = p % cfg.folds;
            }
            fold
        };
        let fold_gen = deal(self.gen_rows(), &mut rng);
        let fold_ref = deal(self.reference.len() / d, &mut rng);
        (0..cfg.folds)
            .into_par_iter()
            .map(|k| {
                let train = self.gather(&fold_gen, &fold_ref, w_gen, |f| f != k);
                let test = self.gather(&fold_gen, &fold_ref, w_gen, |f| f == k);
                let fold_seed = seed.wrapping_add((k as u64 + 1).wrapping_mul(0x9E37_79B9));
                let c = Classifier::train(train.labelled(), d, &cfg.classifier, fold_seed)?;
                weighted_auc(&c.logits(&test.x)?, &test.label, &test.weight)
            })
            .collect()
    }

    /// The rows whose fold passes `keep`: generated first (with their weights), then
    /// reference.
    fn gather(
        &self,
        fold_gen: &[usize],
        fold_ref: &[usize],
        w_gen: &[f64],
        keep: impl Fn(usize) -> bool,
    ) -> Gathered {
        let d = self.d;
        let mut g = Gathered::default();
        for (i, row) in self.gen.chunks(d).enumerate() {
            if keep(fold_gen[i]) {
                g.x.extend_from_slice(row);
                g.label.push(false);
                g.weight.push(w_gen[i]);
            }
        }
        for (i, row) in self.reference.chunks(d).enumerate() {
            if keep(fold_ref[i]) {
                g.x.extend_from_slice(row);
                g.label.push(true);
                g.weight.push(1.0);
            }
        }
        g
    }
}

#[derive(Default)]
struct Gathered {
    x: Vec<f64>,
    label: Vec<bool>,
    weight: Vec<f64>,
}

impl Gathered {
    fn labelled(&self) -> Labelled<'_> {
        Labelled {
            x: &self.x,
            label: &self.label,
            weight: &self.weight,
        }
    }
}
