//! Posterior draws of a finished `sbi` run for a table of observations (the
//! `posterior` verb): one seeded draw per observation, with its acceptance inside the
//! prior's support.

use crate::data::Table;
use crate::error::{Error, Result};
use crate::pipeline::DataSource;
use crate::sbi::SbiRun;

/// Below this fraction of draws inside the prior's support an observation's posterior
/// estimate is flagged as poor.
pub const LOW_ACCEPTANCE: f64 = 0.05;

/// Draws for every observation.
#[derive(Debug, Clone)]
pub struct ObservationDraws {
    /// The draws: parameter columns, with an `observation` column (1-based) first when
    /// there are several observations.
    pub table: Table,
    /// Fraction of flow draws inside the prior's support, per observation.
    pub acceptance: Vec<f64>,
}

impl ObservationDraws {
    /// 1-based indices of the observations whose acceptance is below [`LOW_ACCEPTANCE`]
    /// (their posterior estimate leaks out of the prior: may be poor).
    pub fn low_acceptance(&self) -> Vec<usize> {
        (0..self.acceptance.len())
            .filter(|&i| self.acceptance[i] < LOW_ACCEPTANCE)
            .map(|i| i + 1)
            .collect()
    }
}

impl SbiRun {
    /// Observations from a source: one row each, as many columns as the simulator's
    /// output (an error naming the source otherwise).
    pub fn observations(&self, source: &DataSource) -> Result<Table> {
        let t = source.load(None, false)?.table;
        let dim = self.info.obs_dim;
        if t.cols() != dim {
            return Err(Error::config(format!(
                "{}: observations have {} columns, this run's simulator produces {dim}",
                source.describe(),
                t.cols()
            )));
        }
        if t.rows() == 0 {
            return Err(Error::config(format!(
                "{}: no observation rows",
                source.describe()
            )));
        }
        Ok(t)
    }

    /// `n` posterior draws for each row of `observations` (observation `i` uses seed
    /// `seed + i`), inside the prior's support, at most `max_rounds` rejection rounds.
    pub fn draws(
        &self,
        observations: &Table,
        n: usize,
        seed: u64,
        max_rounds: usize,
    ) -> Result<ObservationDraws> {
        let several = observations.rows() > 1;
        let mut columns = self.info.param_names.clone();
        if several {
            columns.insert(0, "observation".into());
        }
        let mut values = Vec::with_capacity(observations.rows() * n * columns.len());
        let mut acceptance = Vec::with_capacity(observations.rows());
        for i in 0..observations.rows() {
            let s = self.posterior.sample(
                self.simulator.as_ref(),
                observations.row(i),
                n,
                seed.wrapping_add(i as u64),
                max_rounds,
            )?;
            for row in &s.samples {
                if several {
                    values.push((i + 1) as f64);
                }
                values.extend_from_slice(row);
            }
            acceptance.push(s.acceptance);
        }
        Ok(ObservationDraws {
            table: Table::new(columns, values)?,
            acceptance,
        })
    }
}
