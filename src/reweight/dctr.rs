//! DCTR (Andreassen & Nachman 2020): per-event weights `w(x) = D(x)/(1 − D(x))` for
//! generated events from a classifier `D` trained to tell reference events from
//! generated ones, so that the weighted generated sample follows the reference density.
//!
//! # Protocol
//!
//! 1. **Cross-fitting.** Generated and reference events are each shuffled (seeded) and
//!    dealt round-robin into `K` folds. For each fold `k` a classifier
//!    ([`Classifier`], class-balanced, unit weights) is trained on the other folds; it
//!    scores fold `k`: the held-out ROC AUC of fold `k` is the **AUC before**, and the
//!    generated events of fold `k` get their logit `s` from it. Every weight is thus an
//!    out-of-sample prediction.
//! 2. **Weights.** `w = e^s` (the balanced classifier's `D/(1 − D)`), clipped at
//!    `clip` (counted), scaled to mean 1 ([`weights_from_logits`]).
//! 3. **Check.** A fresh `K`-fold round with a new shuffle: each classifier is trained
//!    on the other folds with the generated events weighted by `w`, and its weighted
//!    held-out AUC is the **AUC after** (0.5 = the weighted sample is
//!    indistinguishable from the reference to this classifier).
//! 4. **Histograms.** Per-column χ²/ndf of the generated histograms (unit weights,
//!    then `w`) against the reference ([`column_chi2`]).
//!
//! Folds run in parallel (rayon); everything is seeded by [`ReweightConfig::seed`].

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
    /// Cross-fitting folds `K` (≥ 2; default 3).
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
    /// Held-out ROC AUC of the classifiers between generated and reference events,
    /// mean over the folds (0.5 = indistinguishable).
    pub auc_before: f64,
    /// Per-fold values of `auc_before`.
    pub auc_before_folds: Vec<f64>,
    /// Weighted held-out ROC AUC of fresh classifiers between the reweighted generated
    /// events and the reference, mean over the folds.
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
    /// Raw `D/(1 − D)` per generated event (out-of-fold, before clipping and scaling).
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
    if ng.min(nr) < 2 * cfg.folds {
        return Err(Error::config(format!(
            "reweight: {ng} generated and {nr} reference events; need at least {} of each for {} folds",
            2 * cfg.folds,
            cfg.folds
        )));
    }
    let d = generated.cols();
    let sets = Sets {
        gen: generated.values(),
        reference: reference.values(),
        d,
    };

    // 1. Cross-fitted logits and the AUC before.
    let unit = vec![1.0; ng];
    let before = sets.cross_fit(&unit, cfg, cfg.seed)?;
    let mut logits = vec![0.0; ng];
    for f in &before {
        for (i, s) in &f.gen_logits {
            logits[*i] = *s;
        }
    }
    // 2. Weights.
    let (weights, summary) = weights_from_logits(&logits, cfg.clip)?;
    let raw: Vec<f64> = logits.iter().map(|s| s.min(700.0).exp()).collect();
    // 3. Fresh classifiers on the weighted sample.
    let after = sets.cross_fit(&weights, cfg, cfg.seed.wrapping_add(0x0a17e5))?;
    // 4. Histograms.
    let cols = generated.columns();
    let chi2_before = column_chi2(cols, sets.gen, sets.reference, None, cfg.bins)?;
    let chi2_after = column_chi2(cols, sets.gen, sets.reference, Some(&weights), cfg.bins)?;

    let mean = |v: &[FoldResult]| v.iter().map(|f| f.auc).sum::<f64>() / v.len() as f64;
    let report = ReweightReport {
        columns: cols.to_vec(),
        generated_events: ng,
        reference_events: nr,
        auc_before: mean(&before),
        auc_before_folds: before.iter().map(|f| f.auc).collect(),
        auc_after: mean(&after),
        auc_after_folds: after.iter().map(|f| f.auc).collect(),
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

/// The two event sets, row-major.
struct Sets<'a> {
    gen: &'a [f64],
    reference: &'a [f64],
    d: usize,
}

/// One fold's held-out (weighted) AUC and the logits of its generated events.
struct FoldResult {
    auc: f64,
    gen_logits: Vec<(usize, f64)>,
}

impl Sets<'_> {
    /// `K` classifiers, each trained on all folds but one with the generated events
    /// weighted by `w_gen`, scoring the fold left out.
    fn cross_fit(&self, w_gen: &[f64], cfg: &ReweightConfig, seed: u64) -> Result<Vec<FoldResult>> {
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
        let fold_gen = deal(self.gen.len() / d, &mut rng);
        let fold_ref = deal(self.reference.len() / d, &mut rng);
        (0..cfg.folds)
            .into_par_iter()
            .map(|k| {
                let train = self.gather(&fold_gen, &fold_ref, w_gen, |f| f != k);
                let test = self.gather(&fold_gen, &fold_ref, w_gen, |f| f == k);
                let fold_seed = seed.wrapping_add((k as u64 + 1).wrapping_mul(0x9E37_79B9));
                let c = Classifier::train(train.labelled(), d, &cfg.classifier, fold_seed)?;
                let s = c.logits(&test.x)?;
                let auc = weighted_auc(&s, &test.label, &test.weight)?;
                let gen_logits = test
                    .gen_index
                    .iter()
                    .zip(&s)
                    .map(|(i, s)| (*i, *s))
                    .collect();
                Ok(FoldResult { auc, gen_logits })
            })
            .collect()
    }

    /// The rows whose fold passes `keep`: generated first (with their weights and
    /// original indices), then reference.
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
                g.gen_index.push(i);
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
    gen_index: Vec<usize>,
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
