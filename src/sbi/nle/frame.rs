//! The whitened frame of the lockstep slice sampler's `rotate` option
//! ([`McmcConfig::rotate`](crate::sbi::mcmc::McmcConfig::rotate)): a fixed linear map
//! `x = m + A·y` with `A = V·diag(√λ)` from the eigenvectors `V` and eigenvalues `λ` of
//! the covariance of warm-up states. Slicing one coordinate of `y` at a time then moves
//! along the principal axes of the posterior, so a narrow correlated ridge (sir's β–γ
//! posteriors, correlation up to 0.96) is crossed in a few updates instead of many small
//! axis-aligned steps. The map is linear, so the density of `y` is the density of `x`
//! times a constant: the chains still target the same posterior.

use nalgebra::{DMatrix, DVector, SymmetricEigen};

/// A fixed invertible linear reparametrisation `x = mean + a·y`.
#[derive(Debug, Clone)]
pub(crate) struct Frame {
    mean: DVector<f64>,
    a: DMatrix<f64>,
    a_inv: DMatrix<f64>,
}

impl Frame {
    /// The whitening frame of `points` (rows), or `None` when it would be degenerate:
    /// fewer than `2 · dim` points, a non-finite value, or an eigenvalue of the
    /// covariance under `1e-12` times the largest (then the sampler keeps the axes).
    pub(crate) fn fit(points: &[Vec<f64>]) -> Option<Frame> {
        let d = points.first()?.len();
        let n = points.len();
        if d == 0 || n < 2 * d || points.iter().flatten().any(|v| !v.is_finite()) {
            return None;
        }
        let x = DMatrix::from_fn(n, d, |i, j| points[i][j]);
        let mean = x.row_mean().transpose();
        let centred = DMatrix::from_fn(n, d, |i, j| x[(i, j)] - mean[j]);
        let cov = centred.transpose() * &centred / (n as f64 - 1.0);
        let eig = SymmetricEigen::new(cov);
        let top = eig.eigenvalues.max();
        // `top` is finite here (finite points); a NaN would fail both tests below.
        let floor = 1e-12 * top;
        if top.is_nan() || top <= 0.0 || eig.eigenvalues.iter().any(|&l| l.is_nan() || l <= floor) {
            return None;
        }
        let sd = eig.eigenvalues.map(f64::sqrt);
        let a = &eig.eigenvectors * DMatrix::from_diagonal(&sd);
        let a_inv = DMatrix::from_diagonal(&sd.map(|s| 1.0 / s)) * eig.eigenvectors.transpose();
        Some(Frame { mean, a, a_inv })
    }

    /// `x = mean + a·y`.
    pub(crate) fn to_x(&self, y: &[f64]) -> Vec<f64> {
        (&self.mean + &self.a * DVector::from_column_slice(y))
            .as_slice()
            .to_vec()
    }

    /// `y = a⁻¹·(x − mean)`.
    pub(crate) fn to_y(&self, x: &[f64]) -> Vec<f64> {
        (&self.a_inv * (DVector::from_column_slice(x) - &self.mean))
            .as_slice()
            .to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    #[test]
    fn whitens_a_correlated_cloud_and_maps_back() {
        // x1 = z1, x2 = 0.96·z1 + 0.28·z2: correlation 0.96, like sir's ridge.
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let pts: Vec<Vec<f64>> = (0..4000)
            .map(|_| {
                let (z1, z2): (f64, f64) = (
                    rng.sample(rand_distr::StandardNormal),
                    rng.sample(rand_distr::StandardNormal),
                );
                vec![1.0 + z1, -2.0 + 0.96 * z1 + 0.28 * z2]
            })
            .collect();
        let f = Frame::fit(&pts).expect("a frame");
        let ys: Vec<Vec<f64>> = pts.iter().map(|x| f.to_y(x)).collect();
        let n = ys.len() as f64;
        for j in 0..2 {
            let m = ys.iter().map(|y| y[j]).sum::<f64>() / n;
            let v = ys.iter().map(|y| (y[j] - m).powi(2)).sum::<f64>() / (n - 1.0);
            assert!(m.abs() < 1e-9 && (v - 1.0).abs() < 1e-9, "{j}: {m} {v}");
        }
        let c = ys.iter().map(|y| y[0] * y[1]).sum::<f64>() / (n - 1.0);
        assert!(c.abs() < 1e-9, "{c}");
        for x in &pts[..10] {
            let back = f.to_x(&f.to_y(x));
            assert!(x.iter().zip(&back).all(|(a, b)| (a - b).abs() < 1e-12));
        }
    }

    #[test]
    fn degenerate_clouds_have_no_frame() {
        let line: Vec<Vec<f64>> = (0..50).map(|i| vec![i as f64, 2.0 * i as f64]).collect();
        assert!(Frame::fit(&line).is_none());
        assert!(Frame::fit(&[vec![1.0, 2.0], vec![3.0, 1.0]]).is_none());
        let mut bad: Vec<Vec<f64>> = (0..50).map(|i| vec![i as f64, (i * i) as f64]).collect();
        bad[3][1] = f64::NAN;
        assert!(Frame::fit(&bad).is_none());
    }
}
