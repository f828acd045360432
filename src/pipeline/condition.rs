//! Conditional generation: the `[data] condition` columns become the flow's context.
//! [`ContextMap`] (recorded in `run.json`) turns condition values in their original
//! units into the context the flow was trained with: positive and interval columns
//! through the same log / logit as their domain maps, then a standardisation fitted on
//! the training split. [`ConditionInput`] reads the conditions to sample at
//! (`sample --condition FILE|col=value,...`).

use crate::config::{ColumnDomain, FitConfig};
use crate::data::{read_table, ReadOptions, Table};
use crate::error::{Error, Result};
use crate::transforms::domain::{forward_rows, DomainMap};
use candle_core::{DType, Device, Tensor};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Check the `[data] condition` list of a spec: unique names, no Bayesian or CNF fit.
pub fn validate_condition(cfg: &FitConfig) -> Result<()> {
    let c = &cfg.data.condition;
    if c.is_empty() {
        return Ok(());
    }
    if let Some(d) = c.iter().enumerate().find(|(i, n)| c[..*i].contains(n)) {
        return Err(Error::config(format!(
            "[data] condition names column {:?} twice",
            d.1
        )));
    }
    if cfg.bayes.is_some() || cfg.cnf.is_some() {
        return Err(Error::config(
            "[data] condition: conditional fits use the [flow] stack by maximum likelihood; remove [bayes] / [cnf] or the condition",
        ));
    }
    Ok(())
}

/// How condition values reach the flow as its context.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContextMap {
    /// The condition columns, in context order.
    pub columns: Vec<String>,
    /// Their declared domains (values outside are errors).
    pub domains: Vec<ColumnDomain>,
    /// The maps applied before the standardisation (log, logit or identity).
    pub maps: Vec<DomainMap>,
    /// Mean of the mapped training values.
    pub mean: Vec<f64>,
    /// Standard deviation of the mapped training values (1 for a constant column).
    pub std: Vec<f64>,
}

impl ContextMap {
    /// Fit the map on the training split's condition columns `train` (in `columns` order).
    pub fn fit(domains: Vec<ColumnDomain>, train: &Table) -> Result<Self> {
        let maps: Vec<DomainMap> = domains
            .iter()
            .map(|d| match d {
                // Periodic and integer conditions enter as plain standardised values.
                ColumnDomain::Positive | ColumnDomain::Interval(_) => d.map(&[]),
                _ => DomainMap::Identity,
            })
            .collect();
        let mapped = forward_rows(&maps, 0, &train.to_rows())?;
        let (mean, std) = crate::transforms::Standardize::fit(&mapped)?;
        Ok(Self {
            columns: train.columns().to_vec(),
            domains,
            maps,
            mean,
            std: std
                .into_iter()
                .map(|s| if s > 0.0 { s } else { 1.0 })
                .collect(),
        })
    }

    /// The context tensor `(rows, k)` for the condition columns of `table` (selected by
    /// name); values outside a column's domain are errors naming `origin`, row and column.
    pub fn context(
        &self,
        table: &Table,
        origin: &str,
        dtype: DType,
        dev: &Device,
    ) -> Result<Tensor> {
        let t = table.select_columns(&self.columns)?;
        for (j, d) in self.domains.iter().enumerate() {
            for (i, v) in t.column(j).into_iter().enumerate() {
                if let Some(why) = d.violation(v) {
                    return Err(Error::config(format!(
                        "{origin}: row {}, condition column {:?}: value {v} is outside its domain: {why}",
                        i + 1,
                        self.columns[j]
                    )));
                }
            }
        }
        let rows = forward_rows(&self.maps, 0, &t.to_rows())?;
        let k = self.columns.len();
        let flat: Vec<f64> = rows
            .iter()
            .flat_map(|r| (0..k).map(move |j| (r[j] - self.mean[j]) / self.std[j]))
            .collect();
        Ok(Tensor::from_vec(flat, (t.rows(), k), dev)?.to_dtype(dtype)?)
    }
}

/// The conditions to generate events for.
#[derive(Debug, Clone, PartialEq)]
pub enum ConditionInput {
    /// A CSV or JSON file with (at least) the condition columns, one condition per row.
    File(PathBuf),
    /// One condition, `column=value` for every condition column.
    Values(Vec<(String, f64)>),
}

impl ConditionInput {
    /// `col=value,col=value` (anything with `=`) or a file path.
    ///
    /// ```
    /// use flowinfer::pipeline::condition::ConditionInput;
    /// let c = ConditionInput::parse("energy=10, theta=30")?;
    /// assert_eq!(c, ConditionInput::Values(vec![("energy".into(), 10.0), ("theta".into(), 30.0)]));
    /// assert!(ConditionInput::parse("energy=ten").is_err());
    /// # Ok::<(), flowinfer::Error>(())
    /// ```
    pub fn parse(s: &str) -> Result<Self> {
        if !s.contains('=') {
            return Ok(Self::File(PathBuf::from(s)));
        }
        s.split(',')
            .map(|kv| {
                let (k, v) = kv.split_once('=').ok_or_else(|| {
                    Error::config(format!(
                        "--condition: {kv:?} is not column=value (expected e.g. energy=10,theta=30)"
                    ))
                })?;
                let v: f64 = v
                    .trim()
                    .parse()
                    .ok()
                    .filter(|v: &f64| v.is_finite())
                    .ok_or_else(|| {
                        Error::config(format!(
                            "--condition: value {:?} of column {:?} is not a finite number",
                            v.trim(),
                            k.trim()
                        ))
                    })?;
                Ok((k.trim().to_string(), v))
            })
            .collect::<Result<Vec<_>>>()
            .map(Self::Values)
    }

    /// The conditions as a table of exactly the columns of `map` (in its order), and a
    /// name for messages. Unknown or missing columns are errors that list the run's
    /// condition columns.
    pub fn table(&self, map: &ContextMap) -> Result<(Table, String)> {
        match self {
            ConditionInput::File(p) => {
                let opts = ReadOptions {
                    columns: Some(map.columns.clone()),
                    drop_invalid: false,
                };
                let (t, _) = read_table(p, &opts)?;
                Ok((t, p.display().to_string()))
            }
            ConditionInput::Values(kv) => {
                if let Some((k, _)) = kv.iter().find(|(k, _)| !map.columns.contains(k)) {
                    return Err(Error::config(format!(
                        "--condition names column {k:?}, which this run is not conditioned on; its condition columns are {:?}",
                        map.columns
                    )));
                }
                let mut row = Vec::with_capacity(map.columns.len());
                for c in &map.columns {
                    let v: Vec<f64> = kv.iter().filter(|(k, _)| k == c).map(|(_, v)| *v).collect();
                    match v[..] {
                        [v] => row.push(v),
                        [] => {
                            return Err(Error::config(format!(
                                "--condition gives no value for condition column {c:?}; expected one for each of {:?}",
                                map.columns
                            )))
                        }
                        _ => return Err(Error::config(format!("--condition gives column {c:?} twice"))),
                    }
                }
                Ok((Table::new(map.columns.clone(), row)?, "--condition".into()))
            }
        }
    }
}
