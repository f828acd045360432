//! Fused CPU kernel of [`super::unit_spline::UnitIntervalSpline`]: one pass per element
//! computes the output and log-derivative, and a hand-derived backward pass the
//! gradients with respect to the input and all `3K + 1` raw parameters. The
//! composite tensor-op implementation in `unit_spline.rs` is the reference and the path
//! for other devices. Arithmetic is in the tensor's dtype (f32 or f64).
//!
//! Notation per element (as in the `[−B, B]` spline's kernel, but on `[0, 1]` and with
//! every knot derivative free): knots `x_0 = 0 < … < x_K = 1`, `y_0..y_K`, derivatives
//! `D_0..D_K` (`D_j = min_d + softplus(raw)`); in bin `k`: `W = x_{k+1} − x_k`,
//! `H = y_{k+1} − y_k`, `δ = H/W`, `θ = (x − x_k)/W`, `T = θ(1 − θ)`,
//! `s = D_k + D_{k+1} − 2δ`, `num = δθ² + D_k T`, `den = δ + sT`, `y = y_k + H·num/den`,
//! `E = D_{k+1}θ² + 2δT + D_k(1 − θ)²`, `log dy/dx = 2 ln δ + ln E − 2 ln den`.

use candle_core::{CpuStorage, Layout, Shape, Tensor, WithDType};
use num_traits::Float;
use rayon::prelude::*;

/// Spline settings shared by the kernels.
#[derive(Debug, Clone, Copy)]
pub(crate) struct UnitShape {
    pub bins: usize,
    pub min_w: f64,
    pub min_h: f64,
    pub min_d: f64,
}

/// Knots and the intermediate values the backward pass needs.
struct Knots<F> {
    xs: Vec<F>,
    ys: Vec<F>,
    ds: Vec<F>,
    soft_w: Vec<F>,
    soft_h: Vec<F>,
    sig_d: Vec<F>,
}

impl<F: Float> Knots<F> {
    fn new(k: usize) -> Self {
        Self {
            xs: vec![F::zero(); k + 1],
            ys: vec![F::zero(); k + 1],
            ds: vec![F::zero(); k + 1],
            soft_w: vec![F::zero(); k],
            soft_h: vec![F::zero(); k],
            sig_d: vec![F::zero(); k + 1],
        }
    }
}

/// A constant in the kernel's float type.
#[inline(always)]
fn c<F: Float>(v: f64) -> F {
    F::from(v).expect("finite constant")
}

fn softmax_into<F: Float>(raw: &[F], out: &mut [F]) {
    let m = raw.iter().copied().fold(F::neg_infinity(), F::max);
    let mut s = F::zero();
    for (o, r) in out.iter_mut().zip(raw) {
        *o = (*r - m).exp();
        s = s + *o;
    }
    for o in out.iter_mut() {
        *o = *o / s;
    }
}

/// Knot positions on `[0, 1]` from the softmaxed sizes.
fn positions<F: Float>(soft: &[F], min: f64, pos: &mut [F]) {
    let k = soft.len();
    let scale = c::<F>(1.0 - min * k as f64);
    let min = c::<F>(min);
    pos[0] = F::zero();
    let mut cum = F::zero();
    for j in 1..k {
        cum = cum + min + scale * soft[j - 1];
        pos[j] = cum;
    }
    pos[k] = F::one();
}

impl UnitShape {
    pub(crate) fn params(&self) -> usize {
        3 * self.bins + 1
    }

    fn fill<F: Float>(&self, raw: &[F], kn: &mut Knots<F>) {
        let k = self.bins;
        softmax_into(&raw[..k], &mut kn.soft_w);
        softmax_into(&raw[k..2 * k], &mut kn.soft_h);
        positions(&kn.soft_w, self.min_w, &mut kn.xs);
        positions(&kn.soft_h, self.min_h, &mut kn.ys);
        let min_d = c::<F>(self.min_d);
        for j in 0..=k {
            let r = raw[2 * k + j];
            // One exponential serves softplus and its derivative (the sigmoid).
            let e = (-r.abs()).exp();
            kn.ds[j] = min_d + r.max(F::zero()) + (F::one() + e).ln();
            let inv = F::one() / (F::one() + e);
            kn.sig_d[j] = if r >= F::zero() { inv } else { e * inv };
        }
    }

    /// Bin index: number of interior knots ≤ v.
    fn bin<F: Float>(&self, knots: &[F], v: F) -> usize {
        knots[1..self.bins].iter().filter(|&&p| v >= p).count()
    }
}

/// Local quantities of one element inside `[0, 1]`.
struct Local<F> {
    k: usize,
    theta: F,
    w: F,
    h: F,
    delta: F,
    y: F,
    ld: F,
    // Partials of R = num/den and of ld with respect to θ, δ, D_k, D_{k+1}.
    r: F,
    r_t: F,
    r_d: F,
    r_dk: F,
    r_dk1: F,
    l_t: F,
    l_d: F,
    l_dk: F,
    l_dk1: F,
}

fn local<F: Float>(kn: &Knots<F>, k: usize, theta: F) -> Local<F> {
    let one = F::one();
    let two = c::<F>(2.0);
    let xk = kn.xs[k];
    let w = kn.xs[k + 1] - xk;
    let yk = kn.ys[k];
    let h = kn.ys[k + 1] - yk;
    let (dk, dk1) = (kn.ds[k], kn.ds[k + 1]);
    let delta = h / w;
    let t = theta * (one - theta);
    let tp = one - two * theta;
    let s = dk + dk1 - two * delta;
    let num = delta * theta * theta + dk * t;
    let den = delta + s * t;
    let r = num / den;
    let e = dk1 * theta * theta + two * delta * t + dk * (one - theta) * (one - theta);
    let (den_t, den_d) = (s * tp, one - two * t);
    let (num_t, num_d) = (two * delta * theta + dk * tp, theta * theta);
    let e_t = two * dk1 * theta + two * delta * tp - two * dk * (one - theta);
    Local {
        k,
        theta,
        w,
        h,
        delta,
        y: yk + h * r,
        ld: two * delta.ln() + e.ln() - two * den.ln(),
        r,
        r_t: (num_t - r * den_t) / den,
        r_d: (num_d - r * den_d) / den,
        r_dk: (t - r * t) / den,
        r_dk1: (-r * t) / den,
        l_t: e_t / e - two * den_t / den,
        l_d: two / delta + two * t / e - two * den_d / den,
        l_dk: (one - theta) * (one - theta) / e - two * t / den,
        l_dk1: theta * theta / e - two * t / den,
    }
}

impl UnitShape {
    /// Forward at `x`: `(y, log dy/dx)` and, inside `[0, 1]`, the local quantities
    /// (outside: the identity).
    fn forward_one<F: Float>(&self, kn: &Knots<F>, x: F) -> (F, F, Option<Local<F>>) {
        if !(x >= F::zero() && x <= F::one()) {
            return (x, F::zero(), None);
        }
        let k = self.bin(&kn.xs, x);
        let l = local(kn, k, (x - kn.xs[k]) / (kn.xs[k + 1] - kn.xs[k]));
        (l.y, l.ld, Some(l))
    }

    /// Inverse at `y`: `(x, log dx/dy)` and, inside, the local quantities at that `x`.
    fn inverse_one<F: Float>(&self, kn: &Knots<F>, y: F) -> (F, F, Option<Local<F>>) {
        if !(y >= F::zero() && y <= F::one()) {
            return (y, F::zero(), None);
        }
        let k = self.bin(&kn.ys, y);
        let (xk, w) = (kn.xs[k], kn.xs[k + 1] - kn.xs[k]);
        let (yk, h) = (kn.ys[k], kn.ys[k + 1] - kn.ys[k]);
        let (dk, dk1) = (kn.ds[k], kn.ds[k + 1]);
        let delta = h / w;
        let two = c::<F>(2.0);
        let s = dk + dk1 - two * delta;
        let dy = y - yk;
        let a = h * (delta - dk) + dy * s;
        let b = h * dk - dy * s;
        let cc = -delta * dy;
        let disc = (b * b - c::<F>(4.0) * a * cc).max(F::zero());
        let theta = ((two * cc) / (-b - disc.sqrt()))
            .max(F::zero())
            .min(F::one());
        let l = local(kn, k, theta);
        (xk + theta * w, -l.ld, Some(l))
    }

    /// Write into `g` (length `3K + 1`) the gradient of `cy·y + cl·ld` with respect to
    /// the raw parameters at fixed input; returns the partial with respect to θ
    /// (so that `∂/∂x = Lθ / W`).
    #[allow(clippy::too_many_arguments)]
    fn param_grad<F: Float>(
        &self,
        kn: &Knots<F>,
        l: &Local<F>,
        cy: F,
        cl: F,
        g: &mut [F],
        gp: &mut [F],
        gq: &mut [F],
    ) -> F {
        let kb = self.bins;
        let lt = cy * l.h * l.r_t + cl * l.l_t;
        let ld = cy * l.h * l.r_d + cl * l.l_d;
        let l_h_direct = cy * l.r;
        let l_dk = cy * l.h * l.r_dk + cl * l.l_dk;
        let l_dk1 = cy * l.h * l.r_dk1 + cl * l.l_dk1;
        let g_xk = -lt / l.w;
        let g_w = -(lt * l.theta + ld * l.delta) / l.w;
        let g_h = l_h_direct + ld / l.w;
        let g_yk = cy;
        gp.iter_mut().for_each(|v| *v = F::zero());
        gq.iter_mut().for_each(|v| *v = F::zero());
        let k = l.k;
        gp[k] = gp[k] + g_xk - g_w;
        gp[k + 1] = gp[k + 1] + g_w;
        gq[k] = gq[k] + g_yk - g_h;
        gq[k + 1] = gq[k + 1] + g_h;
        chain_sizes(&kn.soft_w, gp, self.min_w, &mut g[..kb]);
        chain_sizes(&kn.soft_h, gq, self.min_h, &mut g[kb..2 * kb]);
        let gd = &mut g[2 * kb..];
        gd.iter_mut().for_each(|v| *v = F::zero());
        gd[k] = l_dk * kn.sig_d[k];
        gd[k + 1] = l_dk1 * kn.sig_d[k + 1];
        lt
    }
}

/// Gradient of the raw sizes from the gradient `gpos` of the knot positions (the end
/// knots are constants).
fn chain_sizes<F: Float>(soft: &[F], gpos: &[F], min: f64, out: &mut [F]) {
    let k = soft.len();
    let factor = c::<F>(1.0 - min * k as f64);
    // size_i feeds the interior knots j = i+1 .. K-1.
    let mut suffix = F::zero();
    let mut buf = [F::zero(); 64];
    let g_soft = &mut buf[..k];
    for i in (0..k).rev() {
        if i + 1 < k {
            suffix = suffix + gpos[i + 1];
        }
        g_soft[i] = factor * suffix;
    }
    let dot = soft
        .iter()
        .zip(g_soft.iter())
        .fold(F::zero(), |a, (s, g)| a + *s * *g);
    for i in 0..k {
        out[i] = soft[i] * (g_soft[i] - dot);
    }
}

/// Elements per rayon task.
const CHUNK: usize = 512;

fn slice<'a, T: WithDType>(s: &'a CpuStorage, l: &Layout) -> candle_core::Result<&'a [T]> {
    let v = s.as_slice::<T>()?;
    let (a, b) = l.contiguous_offsets().ok_or_else(|| {
        candle_core::Error::Msg("unit spline kernel: input must be contiguous".into())
    })?;
    Ok(&v[a..b])
}

macro_rules! by_dtype {
    ($s:expr, $f:ident ( $($arg:expr),* )) => {
        match $s {
            CpuStorage::F32(_) => $f::<f32>($($arg),*),
            CpuStorage::F64(_) => $f::<f64>($($arg),*),
            _ => Err(candle_core::Error::Msg("unit spline kernel supports f32 and f64".into())),
        }
    };
}

/// The forward op: `(values (n), params (n, 3K+1))` → `(n, 2)` = `[output, log-derivative]`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct UnitSplineOp {
    pub shape: UnitShape,
    pub inverse: bool,
}

fn run_fwd<T: WithDType + Float>(
    op: &UnitSplineOp,
    s1: &CpuStorage,
    l1: &Layout,
    s2: &CpuStorage,
    l2: &Layout,
) -> candle_core::Result<(CpuStorage, Shape)> {
    let v = slice::<T>(s1, l1)?;
    let p = slice::<T>(s2, l2)?;
    let np = op.shape.params();
    let n = v.len();
    let mut out = vec![T::zero(); 2 * n];
    out.par_chunks_mut(2 * CHUNK)
        .enumerate()
        .for_each(|(c, o)| {
            let mut kn = Knots::<T>::new(op.shape.bins);
            for (j, pair) in o.chunks_mut(2).enumerate() {
                let i = c * CHUNK + j;
                op.shape.fill(&p[i * np..(i + 1) * np], &mut kn);
                let (y, ld, _) = if op.inverse {
                    op.shape.inverse_one(&kn, v[i])
                } else {
                    op.shape.forward_one(&kn, v[i])
                };
                pair[0] = y;
                pair[1] = ld;
            }
        });
    Ok((T::to_cpu_storage_owned(out), Shape::from((n, 2))))
}

impl candle_core::CustomOp2 for UnitSplineOp {
    fn name(&self) -> &'static str {
        "unit-rq-spline"
    }
    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        by_dtype!(s1, run_fwd(self, s1, l1, s2, l2))
    }
    fn bwd(
        &self,
        v: &Tensor,
        p: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let g = v.apply_op3_no_bwd(p, &grad.contiguous()?, &UnitSplineGradOp(*self))?;
        let np = self.shape.params();
        Ok((
            Some(g.narrow(1, 0, 1)?.squeeze(1)?),
            Some(g.narrow(1, 1, np)?.contiguous()?),
        ))
    }
}

/// The backward op: `(values, params, upstream (n, 2))` → `(n, 1 + 3K + 1)` =
/// `[∂/∂value, ∂/∂params]`.
struct UnitSplineGradOp(UnitSplineOp);

fn run_bwd<T: WithDType + Float>(
    op: &UnitSplineOp,
    s1: &CpuStorage,
    l1: &Layout,
    s2: &CpuStorage,
    l2: &Layout,
    s3: &CpuStorage,
    l3: &Layout,
) -> candle_core::Result<(CpuStorage, Shape)> {
    let v = slice::<T>(s1, l1)?;
    let p = slice::<T>(s2, l2)?;
    let up = slice::<T>(s3, l3)?;
    let sh = op.shape;
    let np = sh.params();
    let n = v.len();
    let w = np + 1;
    let mut out = vec![T::zero(); w * n];
    out.par_chunks_mut(w * CHUNK)
        .enumerate()
        .for_each(|(c, o)| {
            let mut kn = Knots::<T>::new(sh.bins);
            let mut gp = vec![T::zero(); sh.bins + 1];
            let mut gq = vec![T::zero(); sh.bins + 1];
            for (j, row) in o.chunks_mut(w).enumerate() {
                let i = c * CHUNK + j;
                sh.fill(&p[i * np..(i + 1) * np], &mut kn);
                let (g0, g1) = (up[2 * i], up[2 * i + 1]);
                let (gin, gpar) = row.split_at_mut(1);
                if op.inverse {
                    match sh.inverse_one(&kn, v[i]).2 {
                        None => gin[0] = g0,
                        Some(l) => {
                            // y(x, p) with x = x(y, p): dy/dx = H·R_θ/W, d ld/dx = l_θ/W.
                            let fx = l.h * l.r_t / l.w;
                            let lx = l.l_t / l.w;
                            gin[0] = (g0 - g1 * lx) / fx;
                            let a = (-g0 + g1 * lx) / fx;
                            sh.param_grad(&kn, &l, a, -g1, gpar, &mut gp, &mut gq);
                        }
                    }
                } else {
                    match sh.forward_one(&kn, v[i]).2 {
                        None => gin[0] = g0,
                        Some(l) => {
                            let lt = sh.param_grad(&kn, &l, g0, g1, gpar, &mut gp, &mut gq);
                            gin[0] = lt / l.w;
                        }
                    }
                }
            }
        });
    Ok((T::to_cpu_storage_owned(out), Shape::from((n, w))))
}

impl candle_core::CustomOp3 for UnitSplineGradOp {
    fn name(&self) -> &'static str {
        "unit-rq-spline-grad"
    }
    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        by_dtype!(s1, run_bwd(&self.0, s1, l1, s2, l2, s3, l3))
    }
}
