//! `[data] domains` applied to a loaded table: every value checked against its column's
//! domain (errors name the row and the column), and the flow's domain layer built with
//! the periodic cuts placed on the training split.

use crate::config::ColumnDomain;
use crate::data::Table;
use crate::error::{Error, Result};
use crate::transforms::domain::DomainMap;
use std::collections::BTreeMap;

/// The domain of every column of `table` (in its order), after checking that each
/// declared column exists and that every value lies in its column's domain. `origin`
/// names the data in errors; `dropped` is the number of invalid rows dropped before
/// (rows are then counted among the kept ones, and the message says so).
pub fn check_domains(
    table: &Table,
    domains: &BTreeMap<String, ColumnDomain>,
    origin: &str,
    dropped: usize,
) -> Result<Vec<ColumnDomain>> {
    for (name, d) in domains {
        d.validate(name)?;
        if table.column_index(name).is_none() {
            return Err(Error::config(format!(
                "[data] domains: column {name:?} is not among the data's columns {:?} ({origin})",
                table.columns()
            )));
        }
    }
    let per_col: Vec<ColumnDomain> = table
        .columns()
        .iter()
        .map(|c| domains.get(c).copied().unwrap_or(ColumnDomain::Real))
        .collect();
    for (j, d) in per_col.iter().enumerate() {
        if *d == ColumnDomain::Real {
            continue;
        }
        for (i, v) in table.column(j).into_iter().enumerate() {
            if let Some(why) = d.violation(v) {
                let kept = if dropped > 0 {
                    format!(", counting the rows kept after {dropped} invalid ones were dropped")
                } else {
                    String::new()
                };
                return Err(Error::config(format!(
                    "{origin}: data row {} (1-based{kept}), column {:?}: value {v} is outside its declared domain: {why}",
                    i + 1,
                    table.columns()[j]
                )));
            }
        }
    }
    Ok(per_col)
}

/// The maps of the flow's domain layer for `domains` (one per column of `train`), or
/// `None` when every column is real.
pub fn domain_maps(domains: &[ColumnDomain], train: &Table) -> Option<Vec<DomainMap>> {
    if domains.iter().all(|d| *d == ColumnDomain::Real) {
        return None;
    }
    Some(
        domains
            .iter()
            .enumerate()
            .map(|(j, d)| d.map(&train.column(j)))
            .collect(),
    )
}
