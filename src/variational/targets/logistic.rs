//! Bayesian logistic regression on the iris data (Fisher's, as shipped in
//! `../shared/data/iris/iris.csv`): versicolor (0) against virginica (1), the two
//! classes that overlap, from the four measurements standardised on the training rows,
//! plus an intercept (`d = 5`), with the prior `w ~ N(0, s² I)` (`s = 1` by default).
//! Every fifth row of each class (rows 5, 10, … of the file's order) is held out:
//! 80 training rows, 20 test rows.
//!
//! `log p̃(w) = log N(w; 0, s² I) + Σ_i [y_i η_i − log(1 + e^{η_i})]`, `η = X w`
//! (the prior normalised, so `Z` is the evidence `p(y | X)`; no closed form). The
//! draws' figures ([`LogDensity::draw_metrics`]) are the held-out log predictive
//! density per test row, `mean_i log mean_s p(y_i | w_s)`, and the accuracy of the
//! posterior predictive (a test row counts as right when `mean_s p(y_i | w_s) > ½`).

use super::ops::softplus;
use crate::error::{Error, Result};
use crate::variational::target::{check_points, LogDensity, Truth};
use candle_core::{DType, Device, Tensor};
use std::path::{Path, PathBuf};

/// The default data file (relative to the working directory).
pub const IRIS_PATH: &str = "../shared/data/iris/iris.csv";

/// Bayesian logistic regression (module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct LogisticRegression {
    /// Training design matrix `(n, 5)` row-major, intercept first.
    x_train: Vec<f64>,
    y_train: Vec<f64>,
    x_test: Vec<f64>,
    y_test: Vec<f64>,
    prior_scale: f64,
    path: PathBuf,
}

/// Features per row, intercept included.
const D: usize = 5;

impl LogisticRegression {
    /// Read the iris file at `path` (module docs); `prior_scale` is `s`.
    pub fn iris(path: &Path, prior_scale: f64) -> Result<Self> {
        if !(prior_scale.is_finite() && prior_scale > 0.0) {
            return Err(Error::config(format!(
                "[target] prior_scale must be positive, got {prior_scale}"
            )));
        }
        let hint = "the iris data ships in ../shared/data/iris/iris.csv (run from the repository root or give [target] data = PATH)";
        let mut reader = csv::Reader::from_path(path)
            .map_err(|e| Error::file(path, format!("cannot read: {e}; {hint}")))?;
        let mut rows: Vec<(Vec<f64>, f64)> = Vec::new();
        for (i, rec) in reader.records().enumerate() {
            let rec = rec.map_err(|e| Error::file(path, format!("row {}: {e}", i + 1)))?;
            let label = match rec.get(4).map(str::trim) {
                Some("versicolor") => 0.0,
                Some("virginica") => 1.0,
                Some("setosa") => continue,
                other => {
                    return Err(Error::file(
                        path,
                        format!("row {}: unexpected species {other:?}", i + 1),
                    ))
                }
            };
            let feats = (0..4)
                .map(|j| {
                    rec.get(j)
                        .and_then(|v| v.trim().parse::<f64>().ok())
                        .ok_or_else(|| {
                            Error::file(
                                path,
                                format!("row {}, column {}: not a number", i + 1, j + 1),
                            )
                        })
                })
                .collect::<Result<Vec<f64>>>()?;
            rows.push((feats, label));
        }
        if rows.len() != 100 {
            return Err(Error::file(
                path,
                format!(
                    "expected 50 versicolor and 50 virginica rows, found {}",
                    rows.len()
                ),
            ));
        }
        let is_test = |k: usize| k % 5 == 4;
        let train: Vec<&(Vec<f64>, f64)> = rows
            .iter()
            .enumerate()
            .filter(|(k, _)| !is_test(*k))
            .map(|(_, r)| r)
            .collect();
        let mut mean = [0.0; 4];
        let mut sd = [0.0; 4];
        for j in 0..4 {
            let n = train.len() as f64;
            mean[j] = train.iter().map(|r| r.0[j]).sum::<f64>() / n;
            sd[j] = (train
                .iter()
                .map(|r| (r.0[j] - mean[j]).powi(2))
                .sum::<f64>()
                / (n - 1.0))
                .sqrt();
        }
        let design = |r: &(Vec<f64>, f64)| -> Vec<f64> {
            std::iter::once(1.0)
                .chain((0..4).map(|j| (r.0[j] - mean[j]) / sd[j]))
                .collect()
        };
        let (mut x_train, mut y_train, mut x_test, mut y_test) = (vec![], vec![], vec![], vec![]);
        for (k, r) in rows.iter().enumerate() {
            if is_test(k) {
                x_test.extend(design(r));
                y_test.push(r.1);
            } else {
                x_train.extend(design(r));
                y_train.push(r.1);
            }
        }
        Ok(Self {
            x_train,
            y_train,
            x_test,
            y_test,
            prior_scale,
            path: path.to_path_buf(),
        })
    }

    /// The data file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Per-row log likelihood matrix `(S, n)` of draws `w` `(S, 5)` on `(x, y)`.
    fn log_lik(w: &Tensor, x: &[f64], y: &[f64]) -> Result<Tensor> {
        let (dt, dev) = (w.dtype(), w.device());
        let n = y.len();
        let xt = Tensor::from_vec(x.to_vec(), (n, D), dev)?.to_dtype(dt)?;
        let yt = Tensor::from_vec(y.to_vec(), (1, n), dev)?.to_dtype(dt)?;
        let eta = w.matmul(&xt.t()?)?;
        Ok(((eta.broadcast_mul(&yt))? - softplus(&eta)?)?)
    }

    /// Held-out log predictive density per test row, and the accuracy of the posterior
    /// predictive, for draws `S × 5` row-major (module docs).
    pub fn held_out(&self, draws: &[f64]) -> Result<(f64, f64)> {
        let s = draws.len() / D;
        if s == 0 || !draws.len().is_multiple_of(D) {
            return Err(Error::config(format!(
                "held-out figures need draws of width {D}, got {} values",
                draws.len()
            )));
        }
        let w = Tensor::from_vec(draws.to_vec(), (s, D), &Device::Cpu)?;
        let ll = Self::log_lik(&w, &self.x_test, &self.y_test)?.to_dtype(DType::F64)?;
        let ll: Vec<Vec<f64>> = ll.t()?.to_vec2()?; // (n_test, S)
        let mut lpd = 0.0;
        let mut correct = 0usize;
        for row in &ll {
            let m = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let mean_p = row.iter().map(|v| (v - m).exp()).sum::<f64>() / s as f64;
            lpd += m + mean_p.ln();
            // p(y_i | data) > ½: the predictive favours the true class.
            if (m + mean_p.ln()).exp() > 0.5 {
                correct += 1;
            }
        }
        let n = self.y_test.len() as f64;
        Ok((lpd / n, correct as f64 / n))
    }
}

impl LogDensity for LogisticRegression {
    fn name(&self) -> &str {
        "logistic_iris"
    }
    fn dim(&self) -> usize {
        D
    }
    fn log_density(&self, w: &Tensor, _ctx: Option<&Tensor>) -> Result<Tensor> {
        check_points(self, w)?;
        let ll = Self::log_lik(w, &self.x_train, &self.y_train)?.sum(1)?;
        let s = self.prior_scale;
        let c = -0.5 * D as f64 * (2.0 * std::f64::consts::PI * s * s).ln();
        let prior = ((w.sqr()?.sum(1)? * (-0.5 / (s * s)))? + c)?;
        Ok((prior + ll)?)
    }
    fn truth(&self) -> Result<Truth> {
        Ok(Truth::default())
    }
    fn columns(&self) -> Vec<String> {
        [
            "intercept",
            "sepal_length",
            "sepal_width",
            "petal_length",
            "petal_width",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    }
    fn draw_metrics(&self, draws: &[f64]) -> Result<Vec<(String, f64)>> {
        let (lpd, acc) = self.held_out(draws)?;
        Ok(vec![
            ("held_out_log_predictive_per_row".into(), lpd),
            ("held_out_accuracy".into(), acc),
        ])
    }
}
