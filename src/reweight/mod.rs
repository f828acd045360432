//! Classifier reweighting (DCTR) of generated events: a classifier trained between a
//! flow's events and reference events gives each generated event the weight
//! `w = D/(1 − D)`, so that the weighted sample follows the reference; the report
//! measures what the flow got wrong and how much the weights repair (held-out AUC
//! before and after, per-column χ²/ndf, weight distribution, clipping, Kish ESS).
//!
//! * [`classifier`] — the classifier (MLP, the project's `Trainer`, class-balanced
//!   weighted cross-entropy, standardised inputs, early stopping);
//! * [`weights`] — weights from logits, clipping, summary, Kish ESS, weighted AUC;
//! * [`chi2`] — per-column χ²/ndf of weighted histograms;
//! * [`dctr`] — the protocol ([`reweight`]: cross-fitted weights, fresh classifiers
//!   on the weighted sample);
//! * [`run`] — the job on a run directory ([`reweight_run`], `flowinfer reweight`).
//!
//! Figures and commands: docs/GENERATION.md.

pub mod chi2;
pub mod classifier;
pub mod dctr;
pub mod run;
pub mod weights;

pub use chi2::{column_chi2, mean_chi2_ndf, ColumnChi2};
pub use classifier::{Classifier, ClassifierConfig, Labelled};
pub use dctr::{reweight, ReweightConfig, ReweightReport, Reweighted};
pub use run::{read_exact_columns, reweight_run, ReweightRun};
pub use weights::{kish_ess, weighted_auc, weights_from_logits, WeightSummary, QUANTILE_LEVELS};
