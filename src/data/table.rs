//! [`Table`]: named columns of finite `f64` values, stored row-major.

use crate::error::{Error, Result};
use candle_core::{DType, Device, Tensor};
use std::path::Path;

/// A table of events: `rows × cols` finite `f64` values with unique, non-empty column
/// names, stored row-major.
///
/// Every value is finite (checked by [`Table::new`] and [`Table::from_tensor`]), so a
/// table can be fed to a flow, fitted by a [`Scaler`](super::Scaler) or written with
/// [`Table::write_csv`] and read back without further checks. A table may have zero rows
/// (e.g. an empty [`select`](Table::select)) but always has at least one column.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    columns: Vec<String>,
    values: Vec<f64>,
    rows: usize,
}

impl Table {
    /// Build a table from column names and row-major values.
    ///
    /// Errors ([`Error::Config`], [`Error::NonFinite`]): no columns, an empty or duplicate
    /// column name, `values.len()` not a multiple of the number of columns, or a
    /// non-finite value (the error gives its 0-based row and column and the column name).
    pub fn new(columns: Vec<String>, values: Vec<f64>) -> Result<Self> {
        if columns.is_empty() {
            return Err(Error::config(
                "table: expected at least one column, got none",
            ));
        }
        if let Some(j) = columns.iter().position(|c| c.trim().is_empty()) {
            return Err(Error::config(format!(
                "table: column {} has an empty name; expected a non-empty name",
                j + 1
            )));
        }
        if let Some((a, b)) = first_duplicate(&columns) {
            return Err(Error::config(format!(
                "table: column name {:?} appears twice (columns {} and {}); names must be unique",
                columns[a],
                a + 1,
                b + 1
            )));
        }
        let cols = columns.len();
        if !values.len().is_multiple_of(cols) {
            return Err(Error::config(format!(
                "table: {} values do not fill whole rows of {cols} columns",
                values.len()
            )));
        }
        if let Some(k) = values.iter().position(|v| !v.is_finite()) {
            return Err(Error::NonFinite {
                what: format!("table column {:?}", columns[k % cols]),
                row: k / cols,
                column: k % cols,
            });
        }
        Ok(Self {
            rows: values.len() / cols,
            columns,
            values,
        })
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns (at least 1).
    pub fn cols(&self) -> usize {
        self.columns.len()
    }

    /// The column names, in order.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// Index of the column called `name`, if any.
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == name)
    }

    /// All values, row-major (`rows × cols`).
    pub fn values(&self) -> &[f64] {
        &self.values
    }

    /// Row `i` (0-based). Panics if `i >= rows()`.
    pub fn row(&self, i: usize) -> &[f64] {
        assert!(
            i < self.rows,
            "row {i} out of range for a table of {} rows",
            self.rows
        );
        let c = self.cols();
        &self.values[i * c..(i + 1) * c]
    }

    /// A copy of column `j` (0-based). Panics if `j >= cols()`.
    pub fn column(&self, j: usize) -> Vec<f64> {
        assert!(
            j < self.cols(),
            "column {j} out of range for a table of {} columns",
            self.cols()
        );
        self.values
            .iter()
            .skip(j)
            .step_by(self.cols())
            .copied()
            .collect()
    }

    /// The rows at `indices`, in that order (repeats allowed), with the same columns.
    /// Panics if an index is `>= rows()`.
    pub fn select(&self, indices: &[usize]) -> Table {
        let mut values = Vec::with_capacity(indices.len() * self.cols());
        for &i in indices {
            values.extend_from_slice(self.row(i));
        }
        Table {
            columns: self.columns.clone(),
            values,
            rows: indices.len(),
        }
    }

    /// The columns named `names`, in that order (an error naming a missing column and
    /// the columns there are).
    pub fn select_columns(&self, names: &[String]) -> Result<Table> {
        let idx = names
            .iter()
            .map(|n| {
                self.column_index(n).ok_or_else(|| {
                    Error::config(format!(
                        "column {n:?} is not in the data; it has {:?}",
                        self.columns
                    ))
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let mut values = Vec::with_capacity(self.rows * idx.len());
        for i in 0..self.rows {
            let r = self.row(i);
            values.extend(idx.iter().map(|&j| r[j]));
        }
        Table::new(names.to_vec(), values)
    }

    /// The rows as vectors (the layout `Standardize::fit` and the simulators use).
    pub fn to_rows(&self) -> Vec<Vec<f64>> {
        self.values
            .chunks(self.cols())
            .map(<[f64]>::to_vec)
            .collect()
    }

    /// The values as a `(rows, cols)` tensor of `dtype` on `device`.
    pub fn to_tensor(&self, dtype: DType, device: &Device) -> Result<Tensor> {
        Ok(Tensor::from_slice(&self.values, (self.rows, self.cols()), device)?.to_dtype(dtype)?)
    }

    /// A table from a `(rows, columns.len())` tensor of any float dtype on any device.
    /// Errors: wrong rank or width ([`Error::Shape`]), a non-finite value, and the
    /// column-name errors of [`Table::new`].
    pub fn from_tensor(columns: Vec<String>, tensor: &Tensor) -> Result<Table> {
        crate::checks::expect_matrix(tensor, columns.len(), "Table::from_tensor")?;
        let values = tensor
            .to_dtype(DType::F64)?
            .flatten_all()?
            .to_vec1::<f64>()?;
        Table::new(columns, values)
    }

    /// Write the table as CSV: a header row with the column names, then one line per
    /// row with every value in Rust's shortest round-trip `{}` formatting (no exponent,
    /// so reading the file back with [`read_table`](super::read_table) gives bit-identical
    /// values). The file is written to a temporary name and renamed into place.
    pub fn write_csv(&self, path: &Path) -> Result<()> {
        let mut w = csv::Writer::from_writer(Vec::new());
        let io_err = |e: csv::Error| Error::file(path, format!("cannot encode CSV: {e}"));
        w.write_record(&self.columns).map_err(io_err)?;
        let mut fields: Vec<String> = vec![String::new(); self.cols()];
        for r in self.values.chunks(self.cols()) {
            for (f, v) in fields.iter_mut().zip(r) {
                f.clear();
                use std::fmt::Write as _;
                let _ = write!(f, "{v}");
            }
            w.write_record(&fields).map_err(io_err)?;
        }
        let bytes = w
            .into_inner()
            .map_err(|e| Error::file(path, format!("cannot encode CSV: {e}")))?;
        crate::atomic::write_atomic(path, &bytes)
    }
}

/// The positions of the first name that appears twice, if any.
pub(crate) fn first_duplicate(names: &[String]) -> Option<(usize, usize)> {
    let mut seen = std::collections::HashMap::with_capacity(names.len());
    for (j, n) in names.iter().enumerate() {
        if let Some(&a) = seen.get(n.as_str()) {
            return Some((a, j));
        }
        seen.insert(n.as_str(), j);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{read_table, ReadOptions};

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn sample() -> Table {
        Table::new(
            names(&["a", "b", "c"]),
            (0..12).map(|k| k as f64 * 0.5).collect(),
        )
        .unwrap()
    }

    #[test]
    fn accessors() {
        let t = sample();
        assert_eq!((t.rows(), t.cols()), (4, 3));
        assert_eq!(t.columns(), &names(&["a", "b", "c"])[..]);
        assert_eq!(t.row(1), &[1.5, 2.0, 2.5]);
        assert_eq!(t.column(2), vec![1.0, 2.5, 4.0, 5.5]);
        assert_eq!(t.column_index("b"), Some(1));
        assert_eq!(t.column_index("z"), None);
        let s = t.select(&[3, 0, 3]);
        assert_eq!(s.rows(), 3);
        assert_eq!(
            s.to_rows(),
            vec![t.row(3).to_vec(), t.row(0).to_vec(), t.row(3).to_vec()]
        );
        let e = t.select(&[]);
        assert_eq!((e.rows(), e.cols()), (0, 3));
        assert!(e.to_rows().is_empty());
    }

    #[test]
    fn new_rejects_bad_input() {
        let msg = |r: Result<Table>| r.unwrap_err().to_string();
        assert!(msg(Table::new(vec![], vec![])).contains("at least one column"));
        assert!(msg(Table::new(names(&["a", "a"]), vec![1.0, 2.0])).contains("\"a\" appears twice"));
        assert!(msg(Table::new(names(&["a", " "]), vec![1.0, 2.0])).contains("empty name"));
        assert!(msg(Table::new(names(&["a", "b"]), vec![1.0, 2.0, 3.0])).contains("whole rows"));
        let m = msg(Table::new(
            names(&["a", "b"]),
            vec![1.0, 2.0, 3.0, f64::NAN],
        ));
        assert!(
            m.contains("\"b\"") && m.contains("row 1") && m.contains("column 1"),
            "{m}"
        );
    }

    #[test]
    fn tensor_round_trip() {
        let t = sample();
        let x = t.to_tensor(DType::F64, &Device::Cpu).unwrap();
        assert_eq!(x.dims(), &[4, 3]);
        assert_eq!(Table::from_tensor(t.columns().to_vec(), &x).unwrap(), t);
        let x32 = t.to_tensor(DType::F32, &Device::Cpu).unwrap();
        assert_eq!(x32.dtype(), DType::F32);
        // 0.5 steps are exact in f32.
        assert_eq!(Table::from_tensor(t.columns().to_vec(), &x32).unwrap(), t);
        let err = Table::from_tensor(names(&["a", "b"]), &x)
            .unwrap_err()
            .to_string();
        assert!(err.contains("(batch, 2)"), "{err}");
        let e = t.select(&[]).to_tensor(DType::F32, &Device::Cpu).unwrap();
        assert_eq!(e.dims(), &[0, 3]);
    }

    #[test]
    fn write_csv_round_trips_bit_exactly() {
        let mut values = vec![
            0.1,
            -0.0,
            1e300,
            -1e-300,
            f64::MIN_POSITIVE,
            f64::MAX,
            5e-324,
            std::f64::consts::PI,
            -123456789.125,
        ];
        let mut s = 0x9e3779b97f4a7c15u64;
        for _ in 0..(3 * 97) {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            let v = f64::from_bits(s);
            if v.is_finite() {
                values.push(v);
            }
        }
        while values.len() % 3 != 0 {
            values.pop();
        }
        let t = Table::new(names(&["x", "y,with comma", "z \"q\""]), values).unwrap();
        let path = std::env::temp_dir().join(format!(
            "flowinfer_data_table_rt_{}.csv",
            std::process::id()
        ));
        t.write_csv(&path).unwrap();
        let (back, rep) = read_table(&path, &ReadOptions::default()).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(rep.rows_read, t.rows());
        assert_eq!(back.columns(), t.columns());
        let bits = |t: &Table| t.values().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&back), bits(&t));
    }
}
