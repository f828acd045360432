//! Per-column mean and standard deviation: the values of a flow's `Standardize` layer.

use super::table::Table;
use crate::error::{Error, Result};
use crate::transforms::TransformSpec;
use serde::{Deserialize, Serialize};

/// Per-column mean and (population) standard deviation of a table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scaler {
    /// Column means.
    pub mean: Vec<f64>,
    /// Column standard deviations (population, i.e. divided by `n`), all positive.
    pub std: Vec<f64>,
}

impl Scaler {
    /// Fit the mean and population standard deviation of every column (two passes).
    ///
    /// Errors ([`Error::Config`]): fewer than 2 rows, or a constant column (standard
    /// deviation 0, or below `1e-12·|mean|`, i.e. only rounding noise); the error names
    /// the column.
    pub fn fit(table: &Table) -> Result<Scaler> {
        let (n, d) = (table.rows(), table.cols());
        if n < 2 {
            return Err(Error::config(format!(
                "scaler: cannot fit on {n} row(s); expected at least 2"
            )));
        }
        let mut mean = vec![0.0; d];
        for r in table.values().chunks(d) {
            for (m, v) in mean.iter_mut().zip(r) {
                *m += v;
            }
        }
        mean.iter_mut().for_each(|m| *m /= n as f64);
        let mut var = vec![0.0; d];
        for r in table.values().chunks(d) {
            for ((s, v), m) in var.iter_mut().zip(r).zip(&mean) {
                *s += (v - m) * (v - m);
            }
        }
        let std: Vec<f64> = var.into_iter().map(|s| (s / n as f64).sqrt()).collect();
        for (j, (s, m)) in std.iter().zip(&mean).enumerate() {
            if !(s.is_finite() && *s > 1e-12 * m.abs() && *s > 0.0) {
                return Err(Error::config(format!(
                    "scaler: column {:?} is constant (every value ≈ {}, standard deviation {s}); \
                     it cannot be standardised and carries no information for a density; \
                     leave it out (ReadOptions::columns)",
                    table.columns()[j],
                    table.row(0)[j]
                )));
            }
        }
        Ok(Scaler { mean, std })
    }

    /// Number of features.
    pub fn dim(&self) -> usize {
        self.mean.len()
    }

    /// The flow layer that applies this standardisation (`TransformSpec::Standardize`).
    pub fn to_spec(&self) -> TransformSpec {
        TransformSpec::Standardize {
            mean: self.mean.clone(),
            std: self.std.clone(),
        }
    }

    /// `(x − mean) / std` column by column; errors if the table has another width.
    pub fn transform(&self, table: &Table) -> Result<Table> {
        self.map(table, |v, m, s| (v - m) / s)
    }

    /// `z · std + mean` column by column (the inverse of [`Scaler::transform`]).
    pub fn inverse_transform(&self, table: &Table) -> Result<Table> {
        self.map(table, |v, m, s| v * s + m)
    }

    fn map(&self, table: &Table, f: impl Fn(f64, f64, f64) -> f64) -> Result<Table> {
        if table.cols() != self.dim() {
            return Err(Error::config(format!(
                "scaler: fitted on {} columns, got a table of {} columns",
                self.dim(),
                table.cols()
            )));
        }
        let d = self.dim();
        let values = table
            .values()
            .iter()
            .enumerate()
            .map(|(k, &v)| f(v, self.mean[k % d], self.std[k % d]))
            .collect();
        Table::new(table.columns().to_vec(), values)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(cols: &[&str], values: Vec<f64>) -> Table {
        Table::new(cols.iter().map(|s| s.to_string()).collect(), values).unwrap()
    }

    #[test]
    fn fits_population_moments() {
        let t = table(
            &["a", "b"],
            vec![1.0, 10.0, 2.0, 20.0, 3.0, 30.0, 4.0, 40.0],
        );
        let s = Scaler::fit(&t).unwrap();
        assert_eq!(s.mean, vec![2.5, 25.0]);
        let sd = (1.25f64).sqrt();
        assert!((s.std[0] - sd).abs() < 1e-15 && (s.std[1] - 10.0 * sd).abs() < 1e-13);
        let z = s.transform(&t).unwrap();
        let z0 = z.column(0);
        assert!(z0.iter().sum::<f64>().abs() < 1e-12);
        assert!((z0.iter().map(|v| v * v).sum::<f64>() / 4.0 - 1.0).abs() < 1e-12);
        let back = s.inverse_transform(&z).unwrap();
        for (a, b) in back.values().iter().zip(t.values()) {
            assert!((a - b).abs() < 1e-12);
        }
        match s.to_spec() {
            TransformSpec::Standardize { mean, std } => {
                assert_eq!((mean, std), (s.mean.clone(), s.std.clone()))
            }
            other => panic!("unexpected spec {other:?}"),
        }
        // Agrees with the flow layer's own fit.
        let (m2, s2) = crate::transforms::standardize::Standardize::fit(&t.to_rows()).unwrap();
        for j in 0..2 {
            assert!((m2[j] - s.mean[j]).abs() < 1e-12 && (s2[j] - s.std[j]).abs() < 1e-12);
        }
    }

    #[test]
    fn serde_round_trip() {
        let s = Scaler {
            mean: vec![0.1, -3.0],
            std: vec![1.0 / 3.0, 7.0],
        };
        let j = serde_json::to_string(&s).unwrap();
        assert_eq!(serde_json::from_str::<Scaler>(&j).unwrap(), s);
    }

    #[test]
    fn constant_column_is_an_error() {
        let t = table(&["a", "flat"], vec![1.0, 0.1, 2.0, 0.1, 3.0, 0.1]);
        let m = Scaler::fit(&t).unwrap_err().to_string();
        assert!(m.contains("\"flat\"") && m.contains("constant"), "{m}");
        let t = table(&["zero", "b"], vec![0.0, 1.0, 0.0, 2.0]);
        assert!(Scaler::fit(&t)
            .unwrap_err()
            .to_string()
            .contains("\"zero\""));
        let one = table(&["a"], vec![1.0]);
        assert!(Scaler::fit(&one)
            .unwrap_err()
            .to_string()
            .contains("at least 2"));
        let s = Scaler::fit(&table(&["a"], vec![1.0, 2.0])).unwrap();
        assert!(s.transform(&table(&["a", "b"], vec![1.0, 2.0])).is_err());
    }
}
