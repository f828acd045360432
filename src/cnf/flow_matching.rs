//! Conditional flow matching (Lipman et al. 2023) with the optimal-transport path:
//! `x_t = (1 − (1 − σ_min) t) x₀ + t x₁`, `x₀ ~ N(0, I)`, `x₁` a data row, and the
//! regression target `u = x₁ − (1 − σ_min) x₀`; the loss is `mean ‖v(x_t, t, c) − u‖²`
//! over rows (summed over features). No ODE is solved in training.
//!
//! Optional minibatch OT pairing (Tong et al. 2023): the noise rows are re-assigned to
//! the data rows by an exact minimum-cost assignment on squared distances (Hungarian
//! algorithm, O(n³); used for batches up to [`OT_EXACT_MAX`] rows, larger batches are
//! paired block-wise in blocks of that size). Pairing is only applied without a
//! context: with one, re-pairing would make the noise depend on other rows' contexts.
//!
//! The noise of a batch is drawn from a generator seeded by a hash of the batch's
//! values and the configured seed: a validation batch gets the same noise every epoch
//! (a deterministic validation loss for early stopping), shuffled training batches get
//! fresh noise, and a resumed run repeats the noise of an uninterrupted one.

use crate::cnf::velocity::VelocityField;
use crate::error::{Error, Result};
use candle_core::{DType, Tensor};
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;

/// Largest block solved by the exact assignment.
pub const OT_EXACT_MAX: usize = 128;

/// Settings of the flow-matching loss.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FlowMatchingConfig {
    /// Width of the path at the data end (`σ_min`).
    pub sigma_min: f64,
    /// Pair noise and data rows by minibatch optimal transport.
    pub ot_pairing: bool,
    /// Time sampling `t = u^{1/(1+α)}`, `u ~ U(0, 1)`: `α > 0` favours `t` near the data
    /// end (Wildberger et al. 2023 bias t towards the data end for posterior estimation).
    pub time_power: f64,
    /// Seed mixed into every batch's noise.
    pub seed: u64,
}

impl Default for FlowMatchingConfig {
    fn default() -> Self {
        Self {
            sigma_min: 1e-4,
            ot_pairing: false,
            time_power: 0.0,
            seed: 0,
        }
    }
}

impl FlowMatchingConfig {
    /// Check the settings.
    pub fn validate(&self) -> Result<()> {
        if !(0.0..1.0).contains(&self.sigma_min) {
            return Err(Error::config(format!(
                "flow matching: sigma_min must lie in [0, 1), got {}",
                self.sigma_min
            )));
        }
        if !(self.time_power.is_finite() && self.time_power > -1.0) {
            return Err(Error::config(format!(
                "flow matching: time_power must be a finite number > -1, got {}",
                self.time_power
            )));
        }
        Ok(())
    }
}

/// A seed from the values of a batch (FNV-1a over the f32 bit patterns) and `seed`.
pub fn batch_seed(x: &Tensor, ctx: Option<&Tensor>, seed: u64) -> Result<u64> {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ seed.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    for t in std::iter::once(x).chain(ctx) {
        for v in t.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()? {
            h ^= v.to_bits() as u64;
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    Ok(h)
}

/// The flow-matching loss of `field` on the data rows `x1` (already in the CNF's
/// coordinates) with the (embedded) context `ctx`.
pub fn flow_matching_loss(
    field: &VelocityField,
    x1: &Tensor,
    ctx: Option<&Tensor>,
    cfg: &FlowMatchingConfig,
) -> Result<Tensor> {
    let (n, d) = x1.dims2()?;
    let mut rng = rand::rngs::StdRng::seed_from_u64(batch_seed(x1, ctx, cfg.seed)?);
    let mut noise: Vec<f64> = (0..n * d).map(|_| rng.sample(StandardNormal)).collect();
    let expo = 1.0 / (1.0 + cfg.time_power);
    let t: Vec<f64> = (0..n).map(|_| rng.random::<f64>().powf(expo)).collect();
    if cfg.ot_pairing && ctx.is_none() && n > 1 {
        let data = x1.to_dtype(DType::F64)?.flatten_all()?.to_vec1::<f64>()?;
        noise = ot_pair(&noise, &data, d);
    }
    let (dt, dev) = (x1.dtype(), x1.device());
    let x0 = Tensor::from_vec(noise, (n, d), dev)?.to_dtype(dt)?;
    let tt = Tensor::from_vec(t, (n, 1), dev)?.to_dtype(dt)?;
    let a = 1.0 - cfg.sigma_min;
    // x_t = x0 + t (x1 − a x0);  u = x1 − a x0
    let u = (x1 - (&x0 * a)?)?;
    let xt = (&x0 + u.broadcast_mul(&tt)?)?;
    let v = field.forward(&xt, &tt, ctx)?;
    Ok((v - u)?.sqr()?.sum(1)?.mean_all()?)
}

/// Re-order the noise rows (`n × d`, row-major) so that row `i` is the one assigned to
/// data row `i` by a minimum total squared distance assignment (exact within blocks of
/// [`OT_EXACT_MAX`] rows).
pub fn ot_pair(noise: &[f64], data: &[f64], d: usize) -> Vec<f64> {
    let n = data.len() / d;
    let mut out = vec![0.0; n * d];
    let mut start = 0;
    while start < n {
        let m = OT_EXACT_MAX.min(n - start);
        let mut cost = vec![0.0; m * m];
        for i in 0..m {
            for j in 0..m {
                let (a, b) = ((start + i) * d, (start + j) * d);
                cost[i * m + j] = (0..d).map(|k| (data[a + k] - noise[b + k]).powi(2)).sum();
            }
        }
        let assign = hungarian(&cost, m);
        for i in 0..m {
            let src = (start + assign[i]) * d;
            out[(start + i) * d..(start + i + 1) * d].copy_from_slice(&noise[src..src + d]);
        }
        start += m;
    }
    out
}

/// Exact minimum-cost assignment for a square `n × n` cost matrix (row-major): returns
/// `assign[row] = column`. Hungarian algorithm with potentials, O(n³).
pub fn hungarian(cost: &[f64], n: usize) -> Vec<usize> {
    let inf = f64::INFINITY;
    // 1-based arrays as in the classic formulation; p[j] = row matched to column j.
    let (mut u, mut v) = (vec![0.0; n + 1], vec![0.0; n + 1]);
    let (mut p, mut way) = (vec![0usize; n + 1], vec![0usize; n + 1]);
    for i in 1..=n {
        p[0] = i;
        let mut j0 = 0;
        let mut minv = vec![inf; n + 1];
        let mut used = vec![false; n + 1];
        loop {
            used[j0] = true;
            let i0 = p[j0];
            let mut delta = inf;
            let mut j1 = 0;
            for j in 1..=n {
                if !used[j] {
                    let cur = cost[(i0 - 1) * n + (j - 1)] - u[i0] - v[j];
                    if cur < minv[j] {
                        minv[j] = cur;
                        way[j] = j0;
                    }
                    if minv[j] < delta {
                        delta = minv[j];
                        j1 = j;
                    }
                }
            }
            if j1 == 0 {
                // Only with non-finite costs: give up on pairing rather than loop.
                return (0..n).collect();
            }
            for j in 0..=n {
                if used[j] {
                    u[p[j]] += delta;
                    v[j] -= delta;
                } else {
                    minv[j] -= delta;
                }
            }
            j0 = j1;
            if p[j0] == 0 {
                break;
            }
        }
        loop {
            let j1 = way[j0];
            p[j0] = p[j1];
            j0 = j1;
            if j0 == 0 {
                break;
            }
        }
    }
    let mut assign = vec![0; n];
    for j in 1..=n {
        if p[j] > 0 {
            assign[p[j] - 1] = j - 1;
        }
    }
    assign
}
