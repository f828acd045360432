//! The VEGAS grid: a separable, piecewise-linear map of the unit hypercube onto itself.
//!
//! In each dimension the grid has `N` bins with edges `0 = e₀ < e₁ < … < e_N = 1`. A
//! uniform `y ∈ [0,1]` falls into bin `i = ⌊yN⌋` and is mapped linearly into that bin,
//! `x = e_i + (yN − i)(e_{i+1} − e_i)`, with Jacobian `∂x/∂y = N (e_{i+1} − e_i)`. Every
//! bin receives the same share of uniform points, so narrow bins concentrate points.
//!
//! The map of a point is the product of the one-dimensional maps, its Jacobian the
//! product of theirs. [`VegasGrid::map`] and [`VegasGrid::inverse`] work on flat
//! row-major batches (`n × dim`), so an adapted grid can serve as a fixed first layer
//! (warm start) of a normalizing flow on `[0,1]^d`.

use super::VegasError;

/// An adaptive separable VEGAS grid on `[0,1]^dim` (see the module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct VegasGrid {
    dim: usize,
    bins: usize,
    /// `dim × (bins + 1)` edges, dimension-major.
    edges: Vec<f64>,
}

impl VegasGrid {
    /// The uniform grid (`x = y`) with `bins ≥ 1` bins in each of `dim ≥ 1` dimensions.
    pub fn uniform(dim: usize, bins: usize) -> Result<Self, VegasError> {
        if dim == 0 || bins == 0 {
            return Err(VegasError::InvalidSetting(format!(
                "a grid needs at least one dimension and one bin, got dim = {dim}, bins = {bins}"
            )));
        }
        let row: Vec<f64> = (0..=bins).map(|i| i as f64 / bins as f64).collect();
        Ok(Self {
            dim,
            bins,
            edges: row.repeat(dim),
        })
    }

    /// A grid from explicit edges, one row of `bins + 1` values per dimension; every row
    /// must have the same length (≥ 2), start at 0, end at 1 and increase strictly.
    pub fn from_edges(edges: &[Vec<f64>]) -> Result<Self, VegasError> {
        let dim = edges.len();
        let len = edges.first().map_or(0, Vec::len);
        if dim == 0 || len < 2 {
            return Err(VegasError::InvalidSetting(
                "a grid needs at least one dimension with at least two edges".into(),
            ));
        }
        for (d, row) in edges.iter().enumerate() {
            if row.len() != len {
                return Err(VegasError::InvalidSetting(format!(
                    "dimension {d} has {} edges, dimension 0 has {len}",
                    row.len()
                )));
            }
            if row[0] != 0.0 || row[len - 1] != 1.0 {
                return Err(VegasError::InvalidSetting(format!(
                    "dimension {d}: edges must start at 0 and end at 1, got {} … {}",
                    row[0],
                    row[len - 1]
                )));
            }
            if let Some(i) = row.windows(2).position(|w| w[1] <= w[0] || w[1].is_nan()) {
                return Err(VegasError::InvalidSetting(format!(
                    "dimension {d}: edges must increase strictly, but edge {} is {} after {}",
                    i + 1,
                    row[i + 1],
                    row[i]
                )));
            }
        }
        Ok(Self {
            dim,
            bins: len - 1,
            edges: edges.concat(),
        })
    }

    /// Number of dimensions.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Number of bins per dimension.
    pub fn bins(&self) -> usize {
        self.bins
    }

    /// The `bins + 1` edges of dimension `d` (`None` if `d ≥ dim`).
    pub fn edges(&self, d: usize) -> Option<&[f64]> {
        (d < self.dim).then(|| &self.edges[d * (self.bins + 1)..(d + 1) * (self.bins + 1)])
    }

    /// Maps a batch `y` (`n × dim`, row-major, values in `[0,1]`) to `x`, returning
    /// `(x, jacobian)` with `jacobian[k] = |det ∂x/∂y|` of row `k`.
    pub fn map(&self, y: &[f64]) -> Result<(Vec<f64>, Vec<f64>), VegasError> {
        let n = self.check_batch(y, "y")?;
        let mut x = vec![0.0; y.len()];
        let mut bins = vec![0; self.dim];
        let jac = (0..n)
            .map(|k| {
                let r = k * self.dim..(k + 1) * self.dim;
                self.map_point(&y[r.clone()], &mut x[r], &mut bins)
            })
            .collect();
        Ok((x, jac))
    }

    /// The inverse of [`map`](Self::map): a batch `x` (`n × dim`, values in `[0,1]`) to
    /// `(y, jacobian)` with `jacobian[k] = |det ∂y/∂x|` of row `k` (the reciprocal of
    /// the forward Jacobian at `y`).
    pub fn inverse(&self, x: &[f64]) -> Result<(Vec<f64>, Vec<f64>), VegasError> {
        let n = self.check_batch(x, "x")?;
        let nb = self.bins as f64;
        let mut y = vec![0.0; x.len()];
        let mut jac = vec![1.0; n];
        for (k, j) in jac.iter_mut().enumerate() {
            for d in 0..self.dim {
                let e = self.edges(d).unwrap_or(&[]);
                let v = x[k * self.dim + d];
                let i = e.partition_point(|&edge| edge <= v).clamp(1, self.bins) - 1;
                let width = e[i + 1] - e[i];
                let frac = if width > 0.0 {
                    ((v - e[i]) / width).clamp(0.0, 1.0)
                } else {
                    1.0
                };
                y[k * self.dim + d] = (i as f64 + frac) / nb;
                *j /= nb * width;
            }
        }
        Ok((y, jac))
    }

    /// Maps one point `y` (length `dim`, assumed in `[0,1]`) into `x`, storing the bin of
    /// each coordinate in `bins`; returns the Jacobian `|∂x/∂y|`.
    pub(crate) fn map_point(&self, y: &[f64], x: &mut [f64], bins: &mut [usize]) -> f64 {
        let nb = self.bins as f64;
        let mut jac = 1.0;
        for d in 0..self.dim {
            let e = &self.edges[d * (self.bins + 1)..(d + 1) * (self.bins + 1)];
            let t = y[d] * nb;
            let i = (t.floor().max(0.0) as usize).min(self.bins - 1);
            let width = e[i + 1] - e[i];
            x[d] = e[i] + (t - i as f64) * width;
            bins[d] = i;
            jac *= nb * width;
        }
        jac
    }

    /// Refines the grid (Lepage 1978) from per-bin importance `weights` (`dim × bins`,
    /// dimension-major; VEGAS accumulates `Σ (f·J)²` over the points in each bin) with
    /// damping `alpha ≥ 0` (`0` leaves the grid unchanged).
    ///
    /// Per dimension the weights are smoothed with their neighbours
    /// (`(d_{i−1} + d_i + d_{i+1})/3`), normalised to `r_i`, compressed to
    /// `w_i = ((1 − r_i)/ln(1/r_i))^α`, and the new edges are placed so that every new bin
    /// holds the same share of `Σ w_i` (with `w_i` spread evenly over old bin `i`). A
    /// dimension whose weights are all zero is left unchanged.
    pub fn adapt(&mut self, weights: &[f64], alpha: f64) -> Result<(), VegasError> {
        if weights.len() != self.dim * self.bins {
            return Err(VegasError::Shape(format!(
                "adapt needs dim × bins = {} weights, got {}",
                self.dim * self.bins,
                weights.len()
            )));
        }
        if let Some(w) = weights.iter().find(|w| !(w.is_finite() && **w >= 0.0)) {
            return Err(VegasError::InvalidSetting(format!(
                "adapt needs finite non-negative weights, got {w}"
            )));
        }
        if !(alpha.is_finite() && alpha >= 0.0) {
            return Err(VegasError::InvalidSetting(format!(
                "damping alpha must be finite and non-negative, got {alpha}"
            )));
        }
        if alpha == 0.0 {
            return Ok(());
        }
        let nb = self.bins;
        for d in 0..self.dim {
            let raw = &weights[d * nb..(d + 1) * nb];
            let smooth: Vec<f64> = (0..nb)
                .map(|i| {
                    let lo = i.saturating_sub(1);
                    let hi = (i + 1).min(nb - 1);
                    raw[lo..=hi].iter().sum::<f64>() / (hi - lo + 1) as f64
                })
                .collect();
            let total: f64 = smooth.iter().sum();
            if !(total > 0.0 && total.is_finite()) {
                continue;
            }
            let w: Vec<f64> = smooth
                .iter()
                .map(|&s| {
                    let r = s / total;
                    if r <= 0.0 {
                        0.0
                    } else if r >= 1.0 {
                        1.0
                    } else {
                        ((1.0 - r) / (1.0 / r).ln()).powf(alpha)
                    }
                })
                .collect();
            let target = w.iter().sum::<f64>() / nb as f64;
            let old = self.edges(d).unwrap_or(&[]).to_vec();
            let mut new = old.clone();
            let (mut j, mut acc) = (0, 0.0);
            for (k, edge) in new.iter_mut().enumerate().take(nb).skip(1) {
                let t = k as f64 * target;
                while j < nb - 1 && acc + w[j] < t {
                    acc += w[j];
                    j += 1;
                }
                let frac = if w[j] > 0.0 {
                    ((t - acc) / w[j]).clamp(0.0, 1.0)
                } else {
                    1.0
                };
                *edge = old[j] + frac * (old[j + 1] - old[j]);
            }
            self.edges[d * (nb + 1)..(d + 1) * (nb + 1)].copy_from_slice(&new);
        }
        Ok(())
    }

    /// Checks that `v` holds whole rows of values in `[0,1]`; returns the row count.
    fn check_batch(&self, v: &[f64], what: &str) -> Result<usize, VegasError> {
        if !v.len().is_multiple_of(self.dim) {
            return Err(VegasError::Shape(format!(
                "{what} has {} values, not a multiple of the grid dimension {}",
                v.len(),
                self.dim
            )));
        }
        if let Some(index) = v.iter().position(|t| !(0.0..=1.0).contains(t)) {
            return Err(VegasError::OutOfRange {
                row: index / self.dim,
                column: index % self.dim,
                value: v[index],
            });
        }
        Ok(v.len() / self.dim)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    /// A grid adapted to peaks at 0.3 (dim 0) and 0.8 (dim 1), flat in dim 2, the way
    /// VEGAS does it: bin weights `Σ (f·J)² ∝ g(centre)² Δ²` from the current grid.
    fn skewed_grid() -> VegasGrid {
        let nb = 16;
        let mut g = VegasGrid::uniform(3, nb).unwrap();
        let peak = |c: f64, mu: f64, s: f64| 0.05 + (-((c - mu) / s).powi(2)).exp();
        for _ in 0..8 {
            let mut w = vec![0.0; 3 * nb];
            for d in 0..3 {
                let e = g.edges(d).unwrap().to_vec();
                for i in 0..nb {
                    let (c, width) = (0.5 * (e[i] + e[i + 1]), e[i + 1] - e[i]);
                    let f = match d {
                        0 => peak(c, 0.3, 0.1),
                        1 => peak(c, 0.8, 0.05),
                        _ => 1.0,
                    };
                    w[d * nb + i] = (f * width).powi(2);
                }
            }
            g.adapt(&w, 1.5).unwrap();
        }
        g
    }

    #[test]
    fn uniform_grid_is_the_identity() {
        let g = VegasGrid::uniform(2, 8).unwrap();
        let (x, j) = g.map(&[0.0, 1.0, 0.3, 0.77]).unwrap();
        assert_eq!(x, vec![0.0, 1.0, 0.3, 0.77]);
        assert!(j.iter().all(|&v| (v - 1.0).abs() < 1e-12));
    }

    #[test]
    fn adapt_concentrates_bins_and_keeps_edges_ordered() {
        let g = skewed_grid();
        for d in 0..3 {
            let e = g.edges(d).unwrap();
            assert_eq!((e[0], e[16]), (0.0, 1.0));
            assert!(e.windows(2).all(|w| w[1] > w[0]), "dim {d}: {e:?}");
        }
        for (d, mu) in [(0, 0.3), (1, 0.8)] {
            let e = g.edges(d).unwrap();
            let widths: Vec<f64> = e.windows(2).map(|w| w[1] - w[0]).collect();
            let i = (0..16)
                .min_by(|&a, &b| widths[a].total_cmp(&widths[b]))
                .unwrap();
            let centre = 0.5 * (e[i] + e[i + 1]);
            assert!(
                (centre - mu).abs() < 0.05,
                "dim {d}: narrowest bin at {centre}"
            );
            assert!(widths[i] < 0.5 / 16.0, "dim {d}: {widths:?}");
        }
        // flat weights leave the uniform grid in place
        let e2 = g.edges(2).unwrap();
        assert!(e2
            .iter()
            .enumerate()
            .all(|(i, &v)| (v - i as f64 / 16.0).abs() < 1e-12));
    }

    #[test]
    fn map_inverse_round_trip_and_jacobians() {
        let g = skewed_grid();
        let mut rng = StdRng::seed_from_u64(11);
        let y: Vec<f64> = (0..3 * 500).map(|_| rng.random::<f64>()).collect();
        let (x, jac) = g.map(&y).unwrap();
        let (back, inv_jac) = g.inverse(&x).unwrap();
        for k in 0..y.len() {
            assert!((back[k] - y[k]).abs() < 1e-12, "{} vs {}", back[k], y[k]);
        }
        for (a, b) in jac.iter().zip(&inv_jac) {
            assert!((a * b - 1.0).abs() < 1e-12);
        }
        // Jacobian vs central differences (the map is separable: product of ∂xd/∂yd)
        let h = 1e-7;
        for k in 0..500 {
            let row = &y[3 * k..3 * k + 3];
            let mut fd = 1.0;
            let mut near_edge = false;
            for d in 0..3 {
                let t = row[d] * 16.0;
                near_edge |= (t - t.round()).abs() < 1e-4;
                let mut up = row.to_vec();
                let mut dn = row.to_vec();
                up[d] += h;
                dn[d] -= h;
                if up[d] > 1.0 || dn[d] < 0.0 {
                    near_edge = true;
                    continue;
                }
                let (xu, _) = g.map(&up).unwrap();
                let (xd, _) = g.map(&dn).unwrap();
                fd *= (xu[d] - xd[d]) / (2.0 * h);
            }
            if !near_edge {
                assert!((fd - jac[k]).abs() < 1e-6 * jac[k], "{fd} vs {}", jac[k]);
            }
        }
    }

    #[test]
    fn bad_inputs_are_errors() {
        let g = VegasGrid::uniform(2, 4).unwrap();
        assert!(matches!(g.map(&[0.1, 0.2, 0.3]), Err(VegasError::Shape(_))));
        assert!(matches!(
            g.map(&[0.1, 1.2]),
            Err(VegasError::OutOfRange {
                row: 0,
                column: 1,
                ..
            })
        ));
        assert!(g.inverse(&[f64::NAN, 0.5]).is_err());
        assert!(VegasGrid::uniform(0, 4).is_err());
        assert!(VegasGrid::from_edges(&[vec![0.0, 0.5, 0.5, 1.0]]).is_err());
        assert!(VegasGrid::from_edges(&[vec![0.0, 0.5, 1.0], vec![0.0, 1.0]]).is_err());
        assert!(VegasGrid::from_edges(&[vec![0.1, 1.0]]).is_err());
        let h = VegasGrid::from_edges(&[vec![0.0, 0.2, 1.0]]).unwrap();
        assert_eq!(h.bins(), 2);
        let mut h2 = h.clone();
        assert!(h2.adapt(&[1.0], 1.5).is_err());
        assert!(h2.adapt(&[1.0, f64::NAN], 1.5).is_err());
        assert!(h2.adapt(&[1.0, 1.0], -1.0).is_err());
        h2.adapt(&[0.0, 0.0], 1.5).unwrap();
        assert_eq!(h2, h);
    }
}
