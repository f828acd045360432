//! Where the events of a fit come from: a file, a table in memory, or a built-in 2-D
//! toy set — all three go through the same split, scaling and training.

use crate::data::{read_table, ReadOptions, ReadReport, Table};
use crate::error::{Error, Result};
use flowinfer_simulators::toy::ToyDataset;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// The events to fit.
#[derive(Debug, Clone)]
pub enum DataSource {
    /// A CSV (with header) or JSON file; columns chosen by `[data] columns`.
    File(PathBuf),
    /// A table already in memory.
    Table(Table),
    /// A built-in 2-D toy set: `n` events drawn with `seed` (columns `x1`, `x2`).
    Toy {
        /// Which set.
        set: ToyDataset,
        /// Number of events.
        n: usize,
        /// Generator seed.
        seed: u64,
    },
    /// A built-in set of the SurVAE study ([`crate::pipeline::builtin`]): `n-gon`,
    /// `gradient`, skewed and labelled 2-D sets, the 8×8 digits.
    Builtin {
        /// Which set.
        set: crate::pipeline::builtin::BuiltinSet,
        /// Number of events.
        n: usize,
        /// Generator seed.
        seed: u64,
    },
}

impl DataSource {
    /// Rows of values as a table with the given column names.
    ///
    /// ```
    /// use flowinfer::pipeline::DataSource;
    /// let src = DataSource::rows(&["x", "y"], &[vec![0.0, 1.0], vec![2.0, 3.0]])?;
    /// # Ok::<(), flowinfer::Error>(())
    /// ```
    pub fn rows(columns: &[&str], rows: &[Vec<f64>]) -> Result<Self> {
        if let Some((i, r)) = rows
            .iter()
            .enumerate()
            .find(|(_, r)| r.len() != columns.len())
        {
            return Err(Error::Shape {
                what: format!("row {i} of the in-memory data"),
                expected: format!("{} values (one per column)", columns.len()),
                got: vec![r.len()],
            });
        }
        Ok(Self::Table(Table::new(
            columns.iter().map(|c| c.to_string()).collect(),
            rows.iter().flatten().copied().collect(),
        )?))
    }

    /// A built-in toy set by name (`two-moons`, `spiral`, …, and the SurVAE sets of
    /// [`crate::pipeline::builtin`]: `n-gon`, `skewed:corners:0.8`, `digits`, …), `n`
    /// events from `seed`.
    pub fn toy(name: &str, n: usize, seed: u64) -> Result<Self> {
        if n < 20 {
            return Err(Error::config(format!(
                "toy data set {name}: need at least 20 events, got {n}"
            )));
        }
        match name.parse::<ToyDataset>() {
            Ok(set) => Ok(Self::Toy { set, n, seed }),
            Err(_) => Ok(Self::Builtin {
                set: crate::pipeline::builtin::BuiltinSet::parse(name)?,
                n,
                seed,
            }),
        }
    }

    /// Read or generate the table (with `columns`/`drop_invalid` applied to files) and
    /// say where it came from.
    pub fn load(&self, columns: Option<Vec<String>>, drop_invalid: bool) -> Result<Loaded> {
        let (table, origin) = match self {
            DataSource::File(path) => {
                let (table, report) = read_table(
                    path,
                    &ReadOptions {
                        columns,
                        drop_invalid,
                    },
                )?;
                return Ok(Loaded {
                    table,
                    report,
                    origin: DataOrigin::File(path.clone()),
                });
            }
            DataSource::Table(t) => (t.clone(), DataOrigin::Memory),
            DataSource::Toy { set, n, seed } => {
                let values: Vec<f64> = set.generate(*n, *seed).into_iter().flatten().collect();
                let origin = DataOrigin::Toy {
                    toy: set.name(),
                    n: *n,
                    seed: *seed,
                };
                (Table::new(vec!["x1".into(), "x2".into()], values)?, origin)
            }
            DataSource::Builtin { set, n, seed } => {
                let origin = DataOrigin::Toy {
                    toy: set.name(),
                    n: *n,
                    seed: *seed,
                };
                (set.generate(*n, *seed)?, origin)
            }
        };
        let table = match &columns {
            Some(c) => table.select_columns(c)?,
            None => table,
        };
        Ok(Loaded {
            report: ReadReport {
                rows_read: table.rows(),
                rows_dropped: 0,
                ..Default::default()
            },
            table,
            origin,
        })
    }

    /// A short description for messages (`data/x.csv`, `toy two-moons (6000 events)`).
    pub fn describe(&self) -> String {
        match self {
            DataSource::File(p) => p.display().to_string(),
            DataSource::Table(t) => format!("in-memory table ({} rows)", t.rows()),
            DataSource::Toy { set, n, .. } => format!("toy {} ({n} events)", set.name()),
            DataSource::Builtin { set, n, .. } => format!("toy {} ({n} events)", set.name()),
        }
    }
}

/// A loaded table with its read report and origin.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The events.
    pub table: Table,
    /// Rows read and dropped.
    pub report: ReadReport,
    /// Where they came from.
    pub origin: DataOrigin,
}

/// Where a run's events came from, as `run.json` records it. Runs written before toy
/// sets and in-memory tables were data sources hold a plain file path, which still loads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum DataOrigin {
    /// A data file.
    File(PathBuf),
    /// A toy set, regenerated from its name, size and seed.
    Toy {
        /// The set's name.
        toy: String,
        /// Number of events.
        n: usize,
        /// Generator seed.
        seed: u64,
    },
    /// An in-memory table (cannot be re-read).
    Memory,
}

impl std::fmt::Display for DataOrigin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DataOrigin::File(p) => write!(f, "data file {}", p.display()),
            DataOrigin::Toy { toy, n, seed } => {
                write!(f, "toy set {toy} ({n} events, seed {seed})")
            }
            DataOrigin::Memory => write!(f, "an in-memory table"),
        }
    }
}

impl DataOrigin {
    /// The source that reproduces the run's events (an error for in-memory tables).
    pub fn source(&self) -> Result<DataSource> {
        match self {
            DataOrigin::File(p) => Ok(DataSource::File(p.clone())),
            DataOrigin::Toy { toy, n, seed } => DataSource::toy(toy, *n, *seed),
            DataOrigin::Memory => Err(Error::config(
                "this run was fitted to an in-memory table, which cannot be read again; pass the events explicitly",
            )),
        }
    }
}
