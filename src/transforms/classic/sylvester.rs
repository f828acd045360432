//! Householder Sylvester flow layer (van den Berg et al. 2018), sampling direction
//! explicit.
//!
//! Sampling (`inverse`, latent → data): `x = z + Q R·tanh(R̃ Qᵀ z + b)` with `Q` a
//! product of `K` Householder reflections (orthogonal, `dim × dim`) and `R`, `R̃` upper
//! triangular; `log|det ∂x/∂z| = Σᵢ log(1 + tanh'(·)ᵢ·r_ii·r̃_ii)`.
//!
//! Invertibility is built in: the diagonals are `r_ii = (1 − ε)·tanh(ρᵢ)`,
//! `r̃_ii = (1 − ε)·tanh(ρ̃ᵢ)` (ε = [`CONSTRAINT_MARGIN`](super::CONSTRAINT_MARGIN), so the
//! bound survives tanh rounding to ±1), hence `r_ii·r̃_ii ≥ −(1 − ε)² > −1` and
//! `1 + tanh'·r_ii·r̃_ii ≥ 2ε − ε² > 0` for every raw parameter.
//!
//! Density (`forward`, data → latent): with `u = R̃ Qᵀ z + b` the map gives
//! `u + D·tanh(u) = R̃ Qᵀ x + b`, `D = R̃ R` upper triangular. This triangular system is
//! solved from the last coordinate up, each coordinate an increasing scalar equation
//! `uᵢ + D_ii·tanh(uᵢ) = cᵢ` (bracket `cᵢ ± |D_ii|`) for all events at once
//! ([`solve_increasing`](super::root)); then `z = x − Q R·tanh(u)`. The `dim` solves are
//! sequential; the gradient step of the [module docs](super) uses the per-event inverse
//! of the triangular Jacobian `I + D·diag(tanh'(u))` (computed on the host).

use super::root::{solve_increasing, RootOptions};
use super::{from_host, host, CONSTRAINT_MARGIN};
use crate::checks::expect_context;
use crate::error::{Error, Result};
use crate::params::{Init, Params};
use crate::transforms::{Transform, TransformSpec};
use candle_core::{Device, Tensor};
use rayon::prelude::*;

/// `x = z + Q R·tanh(R̃ Qᵀ z + b)`, Householder `Q`, triangular `R`, `R̃`.
///
/// ```
/// use candle_core::{DType, Device, Tensor};
/// use flowinfer::params::Params;
/// use flowinfer::transforms::{classic::Sylvester, Transform};
/// let params = Params::new(DType::F64, &Device::Cpu, 0);
/// let layer = Sylvester::new(&params, 3, 3)?;
/// let z = Tensor::new(&[[0.5f64, -1.0, 2.0], [0.0, 4.0, 0.0]], &Device::Cpu)?;
/// let (x, _) = layer.inverse(&z, None)?;
/// let (z_back, _) = layer.forward(&x, None)?;
/// let err = (z_back - &z)?.abs()?.max_all()?.to_scalar::<f64>()?;
/// assert!(err < 1e-12);
/// # Ok::<(), flowinfer::Error>(())
/// ```
#[derive(Debug)]
pub struct Sylvester {
    dim: usize,
    reflections: usize,
    householder: Tensor,
    r: Tensor,
    r_diag: Tensor,
    r_tilde: Tensor,
    r_tilde_diag: Tensor,
    b: Tensor,
    upper_mask: Tensor,
    eye: Tensor,
    root: RootOptions,
}

/// The matrices of one evaluation.
struct Matrices {
    /// `Q R̃ᵀ`: `u = z·(Q R̃ᵀ) + b` for row vectors.
    to_pre: Tensor,
    /// `(Q R)ᵀ`: `x = z + tanh(u)·(Q R)ᵀ`.
    from_h: Tensor,
    /// `D = R̃ R` (upper triangular).
    d: Tensor,
    /// `r_ii·r̃_ii`, shape `(1, dim)`.
    diag: Tensor,
}

fn strict_upper_mask(dim: usize, device: &Device) -> Result<Tensor> {
    let v: Vec<f64> = (0..dim * dim)
        .map(|k| if k % dim > k / dim { 1.0 } else { 0.0 })
        .collect();
    Ok(Tensor::from_vec(v, (dim, dim), device)?)
}

impl Sylvester {
    /// A layer over `dim` features whose `Q` is a product of `reflections` Householder
    /// reflections (`reflections = dim` reaches every orthogonal matrix). Parameters in
    /// `params`: `householder` `(reflections, dim)`, `r`, `r_tilde` (strict upper parts
    /// used), `r_diag`, `r_tilde_diag` (through `(1 − ε)·tanh`), `b`.
    pub fn new(params: &Params, dim: usize, reflections: usize) -> Result<Self> {
        if dim == 0 || reflections == 0 {
            return Err(Error::config(format!(
                "a Sylvester layer needs dim ≥ 1 and reflections ≥ 1, got {dim} and {reflections}"
            )));
        }
        let bound = 1.0 / (dim as f64).sqrt();
        let (dev, dt) = (params.device(), params.dtype());
        Ok(Self {
            dim,
            reflections,
            householder: params.get("householder", (reflections, dim), Init::Normal(1.0))?,
            r: params.get("r", (dim, dim), Init::Uniform(0.1 * bound))?,
            r_diag: params.get("r_diag", dim, Init::Uniform(1.0))?,
            r_tilde: params.get("r_tilde", (dim, dim), Init::Uniform(0.1 * bound))?,
            r_tilde_diag: params.get("r_tilde_diag", dim, Init::Uniform(1.0))?,
            b: params.get("b", dim, Init::Zeros)?,
            upper_mask: strict_upper_mask(dim, dev)?.to_dtype(dt)?,
            eye: Tensor::eye(dim, dt, dev)?,
            root: RootOptions::default(),
        })
    }

    /// The same layer with other root-finding limits for the density direction.
    pub fn with_root_options(mut self, root: RootOptions) -> Self {
        self.root = root;
        self
    }

    /// `Q = H₁ ⋯ H_K`, `H = I − 2vvᵀ/‖v‖²`.
    fn q(&self) -> Result<Tensor> {
        let mut q = self.eye.clone();
        for k in 0..self.reflections {
            let v = self.householder.get(k)?.unsqueeze(1)?;
            let vv = v.sqr()?.sum_all()?.maximum(1e-30)?;
            let outer = v.matmul(&v.t()?)?.broadcast_div(&vv)?;
            q = q.matmul(&(&self.eye - (outer * 2.0)?)?)?;
        }
        Ok(q)
    }

    fn triangular(&self, strict: &Tensor, diag_raw: &Tensor) -> Result<(Tensor, Tensor)> {
        let diag = (diag_raw.tanh()? * (1.0 - CONSTRAINT_MARGIN))?;
        let m = (strict.mul(&self.upper_mask)? + self.eye.broadcast_mul(&diag.unsqueeze(0)?)?)?;
        Ok((m, diag))
    }

    fn matrices(&self) -> Result<Matrices> {
        let q = self.q()?;
        let (r, rd) = self.triangular(&self.r, &self.r_diag)?;
        let (rt, rtd) = self.triangular(&self.r_tilde, &self.r_tilde_diag)?;
        Ok(Matrices {
            to_pre: q.matmul(&rt.t()?)?.contiguous()?,
            from_h: q.matmul(&r)?.t()?.contiguous()?,
            d: rt.matmul(&r)?,
            diag: rd.mul(&rtd)?.unsqueeze(0)?,
        })
    }

    /// `log|det ∂x/∂z|` from `t = tanh(u)`, `(batch,)`.
    fn logdet(t: &Tensor, diag: &Tensor) -> Result<Tensor> {
        let dh = (1.0 - t.sqr()?)?;
        Ok((dh.broadcast_mul(diag)? + 1.0)?.log()?.sum(1)?)
    }

    /// Back-substitution roots of `u + D·tanh(u) = rhs` for every row of `rhs`
    /// (row-major `batch × dim`), on the host.
    fn solve(&self, rhs: &[f64], d: &[f64], batch: usize) -> Result<Vec<f64>> {
        let n = self.dim;
        let mut u = vec![0.0; batch * n];
        let mut tanh_u = vec![0.0; batch * n];
        for i in (0..n).rev() {
            let c: Vec<f64> = (0..batch)
                .map(|e| {
                    let later: f64 = (i + 1..n).map(|j| d[i * n + j] * tanh_u[e * n + j]).sum();
                    rhs[e * n + i] - later
                })
                .collect();
            let s = d[i * n + i];
            let lo: Vec<f64> = c.iter().map(|c| c - s.abs()).collect();
            let hi: Vec<f64> = c.iter().map(|c| c + s.abs()).collect();
            let g = |e: usize, a: f64| {
                let t = a.tanh();
                (a + s * t - c[e], 1.0 + s * (1.0 - t * t))
            };
            let what = format!("Sylvester layer (coordinate {i})");
            let ui = solve_increasing(&what, &lo, &hi, g, &self.root)?;
            for (e, a) in ui.into_iter().enumerate() {
                u[e * n + i] = a;
                tanh_u[e * n + i] = a.tanh();
            }
        }
        Ok(u)
    }

    /// Per-event inverse of the upper-triangular `J = I + D·diag(1 − tanh²u)`,
    /// row-major `batch × dim × dim`.
    fn jacobian_inverses(&self, u: &[f64], d: &[f64]) -> Vec<f64> {
        let n = self.dim;
        let mut out = vec![0.0; u.len() * n];
        out.par_chunks_mut(n * n)
            .zip(u.par_chunks(n))
            .for_each(|(inv, ue)| {
                let dh: Vec<f64> = ue.iter().map(|a| 1.0 - a.tanh().powi(2)).collect();
                let j = |r: usize, c: usize| d[r * n + c] * dh[c] + if r == c { 1.0 } else { 0.0 };
                // Column k of J⁻¹ solves J x = e_k by back substitution.
                for k in 0..n {
                    for r in (0..=k).rev() {
                        let rhs = if r == k { 1.0 } else { 0.0 };
                        let s: f64 = (r + 1..=k).map(|c| j(r, c) * inv[c * n + k]).sum();
                        inv[r * n + k] = (rhs - s) / j(r, r);
                    }
                }
            });
        out
    }
}

impl Transform for Sylvester {
    fn dim(&self) -> usize {
        self.dim
    }

    fn forward(&self, x: &Tensor, ctx: Option<&Tensor>) -> Result<(Tensor, Tensor)> {
        let batch = x.dim(0)?;
        expect_context(ctx, 0, batch, "Sylvester layer")?;
        let m = self.matrices()?;
        let rhs = x.matmul(&m.to_pre)?.broadcast_add(&self.b)?;
        let d_h = host(&m.d)?;
        let u0 = self.solve(&host(&rhs)?, &d_h, batch)?;
        let j_inv = self.jacobian_inverses(&u0, &d_h);
        let n = self.dim;
        let j_inv = Tensor::from_vec(j_inv, (batch, n, n), x.device())?.to_dtype(x.dtype())?;
        let u0 = from_host(u0, batch, n, x)?;
        // One Newton step as a tensor expression: same value, implicit gradients.
        let residual = ((&u0 + u0.tanh()?.matmul(&m.d.t()?.contiguous()?)?)? - &rhs)?;
        // J⁻¹·G per event as a broadcast product (cheaper than a batch of tiny matmuls).
        let step = j_inv.broadcast_mul(&residual.unsqueeze(1)?)?.sum(2)?;
        let t = (u0 - step)?.tanh()?;
        let z = (x - t.matmul(&m.from_h)?)?;
        Ok((z, Self::logdet(&t, &m.diag)?.neg()?))
    }

    fn inverse(&self, z: &Tensor, ctx: Option<&Tensor>) -> Result<(Tensor, Tensor)> {
        expect_context(ctx, 0, z.dim(0)?, "Sylvester layer")?;
        let m = self.matrices()?;
        let t = z.matmul(&m.to_pre)?.broadcast_add(&self.b)?.tanh()?;
        let x = (z + t.matmul(&m.from_h)?)?;
        Ok((x, Self::logdet(&t, &m.diag)?))
    }

    fn spec(&self) -> TransformSpec {
        TransformSpec::Sylvester {
            dim: self.dim,
            reflections: self.reflections,
        }
    }
}
