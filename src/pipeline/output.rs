//! What a fit returns and where it writes.

use crate::flow::Flow;
use crate::pipeline::FitReport;
use std::path::Path;

/// A fitted run: the report, the trained flow and its column names.
#[derive(Debug)]
pub struct Fitted {
    /// What the fit measured (also `report.json`).
    pub report: FitReport,
    /// The trained flow (Bayesian runs: the mean network).
    pub flow: Flow,
    /// Column names, in model order.
    pub columns: Vec<String>,
}

/// Where and how [`density::fit`](crate::density::fit()) writes its run directory.
#[derive(Debug, Clone, Default)]
pub struct Output<'a> {
    /// Run directory (`None`: nothing is written, nothing is plotted).
    pub dir: Option<&'a Path>,
    /// Continue an interrupted run from its checkpoint in `dir`.
    pub resume: bool,
}

impl<'a> Output<'a> {
    /// Write the run directory `dir`.
    pub fn to(dir: &'a Path) -> Self {
        Self {
            dir: Some(dir),
            resume: false,
        }
    }
}
