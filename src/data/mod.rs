//! Tabular data for density estimation: read a table of events from CSV or JSON with
//! errors that point at the offending row and column, split it reproducibly into
//! train / validation / test rows, and fit the standardisation a flow starts with.
//!
//! ```no_run
//! use flowinfer::data::{read_table, split_indices, ReadOptions, Scaler, Split};
//! use std::path::Path;
//!
//! # fn main() -> flowinfer::Result<()> {
//! let opts = ReadOptions { columns: Some(vec!["energy".into(), "xmax".into()]), drop_invalid: false };
//! let (table, report) = read_table(Path::new("events.csv"), &opts)?;
//! println!("{} rows read, {} dropped", report.rows_read, report.rows_dropped);
//! let split = split_indices(table.rows(), Split::DEFAULT_FRACTIONS, 0)?;
//! let (train, val, test) = split.tables(&table);
//! let scaler = Scaler::fit(&train)?; // scaler.to_spec() is the flow's first layer
//! # let _ = (val, test, scaler);
//! # Ok(())
//! # }
//! ```
//!
//! * [`Table`]: named columns of finite `f64` values (row-major), to and from tensors,
//!   written to CSV atomically and bit-exactly.
//! * [`read_table`]: `.csv` (header row) or `.json` (array of row objects, or object of
//!   column arrays); [`ReadOptions`] selects columns by name and can drop invalid rows,
//!   [`ReadReport`] says how many were read and dropped.
//! * [`split_indices`]: seeded, disjoint train / validation / test indices ([`Split`]).
//! * [`Scaler`]: per-column mean and population standard deviation, the values of the
//!   `Standardize` layer (`TransformSpec::Standardize`).

pub mod read;
pub mod scaler;
pub mod split;
pub mod table;

pub use read::{read_table, ReadOptions, ReadReport};
pub use scaler::Scaler;
pub use split::{split_indices, Split};
pub use table::Table;
