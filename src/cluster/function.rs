//! What a work directory's batches compute: a **batched function of rows** — the
//! simulator of `flowinfer sbi` (a parameter row in, an observation out) or the
//! integrand of `flowinfer integrate` (a point in, one value out). [`BatchFunction`]
//! is the serialisable recipe stored in `plan.json` (a Slurm task rebuilds the
//! function from it); [`RowFunction`] is the built function that the executors call.

use super::workdir::SimRow;
use crate::error::{Error, Result};
use crate::integrate::IntegrandConfig;
use crate::sbi::SimulatorConfig;
use flowinfer_simulators::{Integrand, Simulator};
use serde::{Deserialize, Serialize};

/// The recipe of a work directory's function (`"simulator": {…}` or
/// `"integrand": {…}` in `plan.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BatchFunction {
    /// A simulator: parameter rows in, observations out (row failures allowed).
    Simulator(SimulatorConfig),
    /// An integrand: points of `[0,1]^d` in, one value per point out.
    Integrand(IntegrandConfig),
}

impl BatchFunction {
    /// Builds the function (what `flowinfer batch-task` does on a compute node).
    ///
    /// ```
    /// use flowinfer::cluster::BatchFunction;
    /// use flowinfer::integrate::IntegrandConfig;
    /// let f = BatchFunction::Integrand(IntegrandConfig {
    ///     name: Some("gaussian".into()),
    ///     dim: Some(2),
    ///     ..Default::default()
    /// });
    /// let rows = f.build()?.rows_at(&[vec![0.5, 0.5], vec![0.0, 0.0]], 0, 0)?;
    /// assert_eq!(rows.len(), 2);
    /// assert!(rows[0].as_ref().unwrap()[0] > rows[1].as_ref().unwrap()[0]);
    /// # Ok::<(), flowinfer::Error>(())
    /// ```
    pub fn build(&self) -> Result<Box<dyn RowFunction>> {
        Ok(match self {
            BatchFunction::Simulator(s) => Box::new(s.build()?),
            BatchFunction::Integrand(i) => {
                let cfg = crate::integrate::IntegrateConfig {
                    integrand: i.clone(),
                    ..Default::default()
                };
                Box::new(cfg.build_integrand()?)
            }
        })
    }

    /// `simulation` or `integrand`, for messages.
    pub fn what(&self) -> &'static str {
        match self {
            BatchFunction::Simulator(_) => "simulation",
            BatchFunction::Integrand(_) => "integrand",
        }
    }
}

/// A built batched function of rows, as the executors call it.
pub trait RowFunction: Send + Sync {
    /// The function's name (for messages).
    fn name(&self) -> &str;

    /// Computes `rows`, which are rows `first_row..` of a run with `seed` (the
    /// simulator's seeds and row indices; an integrand ignores both). One result per
    /// row; `Err` is a failure of the whole batch.
    fn rows_at(&self, rows: &[Vec<f64>], seed: u64, first_row: usize) -> Result<Vec<SimRow>>;
}

impl RowFunction for Box<dyn Simulator> {
    fn name(&self) -> &str {
        self.as_ref().name()
    }

    fn rows_at(&self, rows: &[Vec<f64>], seed: u64, first_row: usize) -> Result<Vec<SimRow>> {
        Ok(self.simulate_rows_at(rows, seed, first_row)?)
    }
}

impl RowFunction for Box<dyn Integrand> {
    fn name(&self) -> &str {
        self.as_ref().name()
    }

    /// One `evaluate` call on the whole batch; each row's result is its one value.
    fn rows_at(&self, rows: &[Vec<f64>], _: u64, _: usize) -> Result<Vec<SimRow>> {
        let d = self.dim();
        if let Some(bad) = rows.iter().position(|r| r.len() != d) {
            return Err(Error::config(format!(
                "integrand `{}`: point {} has {} coordinates, expected {d}",
                self.as_ref().name(),
                bad + 1,
                rows[bad].len()
            )));
        }
        let points = rows.concat();
        let mut out = vec![0.0; rows.len()];
        self.evaluate(&points, &mut out)?;
        Ok(out.into_iter().map(|v| Ok(vec![v])).collect())
    }
}
