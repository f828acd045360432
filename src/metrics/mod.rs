//! Evaluation metrics.

pub mod c2st;
pub mod gaussian_baseline;
pub mod kde_overlap;
pub mod psis;

pub use c2st::{c2st, roc_auc, C2stConfig, C2stResult};
pub use gaussian_baseline::gaussian_baseline_nll;
pub use kde_overlap::{kde_overlap, kde_overlap_1d, KdeOverlap};
pub use psis::{k_threshold, psis, Psis};
