//! Per-element math shared by both rational-quadratic splines (Durkan et al. 2019):
//! the `[−B, B]` spline with identity tails ([`super::RationalQuadraticSpline`]) and
//! the unit-interval spline ([`super::UnitIntervalSpline`]). Everything is generic
//! over the float type and a [`Frame`] (the interval and the end-knot mode), so the
//! fused kernel's hot loop is monomorphised for each spline, with no dynamic dispatch
//! and no allocation per element.
//!
//! Notation per element: knots `x_0 = lo < … < x_K = hi`, `y_0..y_K`, derivatives
//! `D_0..D_K` (`D_j = min_d + softplus(raw)`; with fixed ends `D_0 = D_K = 1`); in bin
//! `k`: `W = x_{k+1} − x_k`, `H = y_{k+1} − y_k`, `δ = H/W`, `θ = (x − x_k)/W`,
//! `T = θ(1 − θ)`, `s = D_k + D_{k+1} − 2δ`, `num = δθ² + D_k T`, `den = δ + sT`,
//! `y = y_k + H·num/den`, `E = D_{k+1}θ² + 2δT + D_k(1 − θ)²`,
//! `log dy/dx = 2 ln δ + ln E − 2 ln den`. Inputs outside `[lo, hi]` pass unchanged
//! with log-det 0 (the `[−B, B]` spline's linear tails; rounding for the unit one).

use crate::error::{Error, Result};
use num_traits::Float;

/// The interval a spline lives on and how its end knots behave.
pub(crate) trait Frame: Copy + Send + Sync + std::fmt::Debug + 'static {
    /// End-knot derivatives are parameters (`true`, `3K + 1` parameters) or fixed at
    /// 1 (`false`, `3K − 1` parameters).
    const FREE_ENDS: bool;
    /// Clamp the inverse's θ to `[0, 1]` (keeps outputs inside the interval under
    /// rounding).
    const CLAMP_THETA: bool;
    /// Kernel op names: forward and backward.
    const OP_NAMES: (&'static str, &'static str);
    /// Lower end of the interval.
    fn lo(&self) -> f64;
    /// Upper end of the interval.
    fn hi(&self) -> f64;
    /// `(scale, offset)` taking a cumulative size fraction in `(0, 1)` to an interior
    /// knot position; `None` when it is the identity.
    fn knot_map(&self) -> Option<(f64, f64)>;
}

/// `[−bound, bound]` with end derivatives fixed at 1 (identity tails join smoothly).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bounded {
    /// The tail bound B.
    pub bound: f64,
}

impl Frame for Bounded {
    const FREE_ENDS: bool = false;
    const CLAMP_THETA: bool = false;
    const OP_NAMES: (&'static str, &'static str) = ("rq-spline", "rq-spline-grad");
    fn lo(&self) -> f64 {
        -self.bound
    }
    fn hi(&self) -> f64 {
        self.bound
    }
    fn knot_map(&self) -> Option<(f64, f64)> {
        Some((2.0 * self.bound, -self.bound))
    }
}

/// `[0, 1]` with every knot derivative, the end knots included, a parameter.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Unit;

impl Frame for Unit {
    const FREE_ENDS: bool = true;
    const CLAMP_THETA: bool = true;
    const OP_NAMES: (&'static str, &'static str) = ("unit-rq-spline", "unit-rq-spline-grad");
    fn lo(&self) -> f64 {
        0.0
    }
    fn hi(&self) -> f64 {
        1.0
    }
    fn knot_map(&self) -> Option<(f64, f64)> {
        None
    }
}

/// Spline settings: bins, minimum bin width/height and derivative, and the frame.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RqShape<Fr> {
    pub bins: usize,
    pub min_w: f64,
    pub min_h: f64,
    pub min_d: f64,
    pub frame: Fr,
}

/// Check the bin count (2..=64) and minimum bin width/height (`> 0`, below `1/bins`);
/// `what` names the spline in the messages.
pub(crate) fn check_bins(what: &str, bins: usize, min_w: f64, min_h: f64) -> Result<()> {
    if !(2..=64).contains(&bins) {
        return Err(Error::config(format!(
            "{what} needs 2 to 64 bins, got {bins}"
        )));
    }
    let ok = |m: f64| m.is_finite() && m > 0.0 && m * (bins as f64) < 1.0;
    if !ok(min_w) || !ok(min_h) {
        return Err(Error::config(format!(
            "{what} minimum bin width/height must be > 0 and below 1/bins = {}",
            1.0 / bins as f64
        )));
    }
    Ok(())
}

/// A constant in the kernel's float type.
#[inline(always)]
fn c<F: Float>(v: f64) -> F {
    F::from(v).expect("finite constant")
}

impl<Fr: Frame> RqShape<Fr> {
    /// Index of the first knot whose derivative is a parameter.
    const FIRST_D: usize = if Fr::FREE_ENDS { 0 } else { 1 };

    /// Number of derivative parameters (`K + 1` or `K − 1`).
    pub fn derivs(&self) -> usize {
        if Fr::FREE_ENDS {
            self.bins + 1
        } else {
            self.bins - 1
        }
    }

    /// Parameters per feature: widths, heights, derivatives.
    pub fn params(&self) -> usize {
        2 * self.bins + self.derivs()
    }

    /// Whether `v` lies in the interval (false for NaN).
    #[inline(always)]
    pub fn inside<F: Float>(&self, v: F) -> bool {
        v >= c::<F>(self.frame.lo()) && v <= c::<F>(self.frame.hi())
    }

    /// Knot positions from the softmaxed sizes.
    fn positions<F: Float>(&self, soft: &[F], min: f64, pos: &mut [F]) {
        let k = soft.len();
        let scale = c::<F>(1.0 - min * k as f64);
        let min = c::<F>(min);
        pos[0] = c::<F>(self.frame.lo());
        let mut cum = F::zero();
        for j in 1..k {
            cum = cum + min + scale * soft[j - 1];
            pos[j] = match self.frame.knot_map() {
                Some((m, a)) => c::<F>(m) * cum + c::<F>(a),
                None => cum,
            };
        }
        pos[k] = c::<F>(self.frame.hi());
    }

    /// Knots, derivatives and softmax/sigmoid values from one row of raw parameters.
    pub fn fill<F: Float>(&self, raw: &[F], kn: &mut Knots<F>) {
        let k = self.bins;
        softmax_into(&raw[..k], &mut kn.soft_w);
        softmax_into(&raw[k..2 * k], &mut kn.soft_h);
        self.positions(&kn.soft_w, self.min_w, &mut kn.xs);
        self.positions(&kn.soft_h, self.min_h, &mut kn.ys);
        // Fixed end derivatives are 1; free ones are overwritten below.
        kn.ds[0] = F::one();
        kn.ds[k] = F::one();
        let min_d = c::<F>(self.min_d);
        for (i, &r) in raw[2 * k..].iter().enumerate() {
            // One exponential serves softplus and its derivative (the sigmoid).
            let e = (-r.abs()).exp();
            kn.ds[i + Self::FIRST_D] = min_d + r.max(F::zero()) + (F::one() + e).ln();
            let inv = F::one() / (F::one() + e);
            kn.sig_d[i] = if r >= F::zero() { inv } else { e * inv };
        }
    }

    /// Bin index: number of interior knots ≤ v.
    fn bin<F: Float>(&self, knots: &[F], v: F) -> usize {
        knots[1..self.bins].iter().filter(|&&p| v >= p).count()
    }

    /// Forward at `x`: `(y, log dy/dx)` and, inside, the local quantities.
    pub fn forward_one<F: Float>(&self, kn: &Knots<F>, x: F) -> (F, F, Option<Local<F>>) {
        if !self.inside(x) {
            return (x, F::zero(), None);
        }
        let k = self.bin(&kn.xs, x);
        let l = local(kn, k, (x - kn.xs[k]) / (kn.xs[k + 1] - kn.xs[k]));
        (l.y, l.ld, Some(l))
    }

    /// Inverse at `y`: `(x, log dx/dy)` and, inside, the local quantities at that `x`.
    pub fn inverse_one<F: Float>(&self, kn: &Knots<F>, y: F) -> (F, F, Option<Local<F>>) {
        if !self.inside(y) {
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
        let mut theta = (two * cc) / (-b - disc.sqrt());
        if Fr::CLAMP_THETA {
            theta = theta.max(F::zero()).min(F::one());
        }
        let l = local(kn, k, theta);
        (xk + theta * w, -l.ld, Some(l))
    }

    /// Write into `g` (length [`params`](Self::params)) the gradient of `cy·y + cl·ld`
    /// with respect to the raw parameters at fixed input; returns the partial with
    /// respect to θ (so that `∂/∂x = Lθ / W`).
    pub fn param_grad<F: Float>(
        &self,
        kn: &mut Knots<F>,
        l: &Local<F>,
        cy: F,
        cl: F,
        g: &mut [F],
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
        let (gp, gq) = (&mut kn.gp, &mut kn.gq);
        gp.iter_mut().for_each(|v| *v = F::zero());
        gq.iter_mut().for_each(|v| *v = F::zero());
        let k = l.k;
        gp[k] = gp[k] + g_xk - g_w;
        gp[k + 1] = gp[k + 1] + g_w;
        gq[k] = gq[k] + g_yk - g_h;
        gq[k + 1] = gq[k + 1] + g_h;
        let span = self.frame.hi() - self.frame.lo();
        chain_sizes(&kn.soft_w, gp, self.min_w, span, &mut g[..kb]);
        chain_sizes(&kn.soft_h, gq, self.min_h, span, &mut g[kb..2 * kb]);
        let gd = &mut g[2 * kb..];
        gd.iter_mut().for_each(|v| *v = F::zero());
        // Knot j's derivative is parameter j − FIRST_D when it is one.
        for (j, lj) in [(k, l_dk), (k + 1, l_dk1)] {
            if let Some(i) = j.checked_sub(Self::FIRST_D).filter(|&i| i < gd.len()) {
                gd[i] = lj * kn.sig_d[i];
            }
        }
        lt
    }
}

/// Knots of one element, the intermediate values the backward pass needs and its
/// scratch space (gradients of the knot positions).
pub(crate) struct Knots<F> {
    xs: Vec<F>,
    ys: Vec<F>,
    ds: Vec<F>,
    soft_w: Vec<F>,
    soft_h: Vec<F>,
    sig_d: Vec<F>,
    gp: Vec<F>,
    gq: Vec<F>,
}

impl<F: Float> Knots<F> {
    /// Buffers for `shape` (allocated once per chunk of elements).
    pub fn new<Fr: Frame>(shape: &RqShape<Fr>) -> Self {
        let k = shape.bins;
        Self {
            xs: vec![F::zero(); k + 1],
            ys: vec![F::zero(); k + 1],
            ds: vec![F::zero(); k + 1],
            soft_w: vec![F::zero(); k],
            soft_h: vec![F::zero(); k],
            sig_d: vec![F::zero(); shape.derivs()],
            gp: vec![F::zero(); k + 1],
            gq: vec![F::zero(); k + 1],
        }
    }
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

/// Local quantities of one element inside the interval.
pub(crate) struct Local<F> {
    k: usize,
    theta: F,
    /// Bin width `W`.
    pub w: F,
    /// Bin height `H`.
    pub h: F,
    delta: F,
    y: F,
    ld: F,
    // Partials of R = num/den and of ld with respect to θ, δ, D_k, D_{k+1}.
    r: F,
    /// `∂R/∂θ`.
    pub r_t: F,
    r_d: F,
    r_dk: F,
    r_dk1: F,
    /// `∂ ld/∂θ`.
    pub l_t: F,
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

/// Gradient of the raw sizes from the gradient `gpos` of the knot positions (the end
/// knots are constants); `span` is the interval's length.
fn chain_sizes<F: Float>(soft: &[F], gpos: &[F], min: f64, span: f64, out: &mut [F]) {
    let k = soft.len();
    let factor = c::<F>(span * (1.0 - min * k as f64));
    // size_i feeds the interior knots j = i+1 .. K-1 with weight `span`.
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
