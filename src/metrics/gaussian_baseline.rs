//! The best-fitting Gaussian as a baseline: a flow that does not beat it has learned
//! nothing beyond mean and covariance.

use crate::error::{Error, Result};
use nalgebra::{DMatrix, DVector};

/// Fit a full-covariance Gaussian (maximum likelihood) to `train` rows and return its
/// mean negative log-likelihood on `test` rows, in nats per event.
pub fn gaussian_baseline_nll(train: &[Vec<f64>], test: &[Vec<f64>]) -> Result<f64> {
    let n = train.len();
    if n < 2 || test.is_empty() {
        return Err(Error::config(
            "gaussian baseline needs ≥ 2 training and ≥ 1 test rows",
        ));
    }
    let d = train[0].len();
    let mut mean = DVector::<f64>::zeros(d);
    for r in train {
        mean += DVector::from_column_slice(r);
    }
    mean /= n as f64;
    let mut cov = DMatrix::<f64>::zeros(d, d);
    for r in train {
        let c = DVector::from_column_slice(r) - &mean;
        cov += &c * c.transpose();
    }
    cov /= n as f64;
    let chol = cov
        .cholesky()
        .ok_or_else(|| Error::config("gaussian baseline: covariance is singular"))?;
    let logdet: f64 = 2.0 * chol.l().diagonal().iter().map(|v| v.ln()).sum::<f64>();
    let c0 = 0.5 * (d as f64 * (2.0 * std::f64::consts::PI).ln() + logdet);
    let mut total = 0.0;
    for r in test {
        let c = DVector::from_column_slice(r) - &mean;
        let sol = chol.solve(&c);
        total += c0 + 0.5 * c.dot(&sol);
    }
    Ok(total / test.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_normal_data_gives_its_entropy() {
        use rand::SeedableRng;
        use rand_distr::{Distribution, StandardNormal};
        let mut rng = rand::rngs::StdRng::seed_from_u64(0);
        let rows: Vec<Vec<f64>> = (0..20000)
            .map(|_| (0..2).map(|_| StandardNormal.sample(&mut rng)).collect())
            .collect();
        let nll = gaussian_baseline_nll(&rows[..10000], &rows[10000..]).unwrap();
        let entropy = 1.0 + (2.0 * std::f64::consts::PI).ln(); // 2-D: d/2·(1 + ln 2π)
        assert!((nll - entropy).abs() < 0.02, "{nll} vs {entropy}");
    }
}
