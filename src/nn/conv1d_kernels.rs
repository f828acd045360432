//! The two sequence operations of the 1-D convolutional embedding, on channel-last
//! series `(batch, length, channels)`:
//!
//! * [`unfold1d`]: im2col with zero padding, so that a convolution is one (fused) dense
//!   layer over `(batch · length, kernel · channels)` rows;
//! * [`pool1d`]: max or average over non-overlapping windows along the length.
//!
//! On the CPU (f32, f64) each is one pass forward and one pass backward (a custom op);
//! elsewhere they are the equivalent candle tensor ops (`index_select`, `max`/`mean`),
//! which are also the reference the unit tests compare the kernels against. candle's
//! own `conv1d` was measured slower here: its backward pass runs a direct transposed
//! convolution and always computes the (unused) gradient of the data input.

use crate::error::{Error, Result};
use crate::nn::conv1d::Pooling;
use candle_core::backend::BackendStorage;
use candle_core::{CpuStorage, CustomOp1, CustomOp2, DType, Layout, Shape, Tensor};
use num_traits::Float;

/// Output length of a convolution of width `kernel` with zero padding `kernel / 2` on
/// both sides over `length` steps (`length` for odd kernels, `length + 1` for even).
pub fn conv_out_len(length: usize, kernel: usize) -> usize {
    length + 2 * (kernel / 2) + 1 - kernel.max(1)
}

/// im2col of `x: (batch, length, channels)` for a kernel of width `kernel` (zero padding
/// `kernel / 2`): `(batch · l_out, kernel · channels)`, row `(b, t)` holding
/// `x[b, t + j − kernel/2, c]` at column `j · channels + c` (zero outside the series).
pub fn unfold1d(x: &Tensor, kernel: usize) -> Result<Tensor> {
    let (_, l, _) = series_dims(x, "unfold1d input")?;
    if kernel == 0 {
        return Err(Error::config(
            "unfold1d: the kernel width must be at least 1",
        ));
    }
    if fast_path(x) {
        return Ok(x.contiguous()?.apply_op1(Unfold { kernel })?);
    }
    unfold1d_ops(x, kernel, conv_out_len(l, kernel))
}

/// Pool `x: (batch, length, channels)` over windows of `window` steps (stride `window`,
/// a trailing remainder dropped): `(batch, length / window, channels)`.
pub fn pool1d(x: &Tensor, window: usize, pooling: Pooling) -> Result<Tensor> {
    let (_, l, _) = series_dims(x, "pool1d input")?;
    if window == 0 || l / window == 0 {
        return Err(Error::config(format!(
            "pool1d: window {window} does not fit a series of length {l}"
        )));
    }
    if window == 1 {
        return Ok(x.clone());
    }
    if fast_path(x) {
        return Ok(x.contiguous()?.apply_op1(Pool { window, pooling })?);
    }
    pool1d_ops(x, window, pooling)
}

/// `(batch, length, channels)` with at least one step and one channel.
fn series_dims(x: &Tensor, what: &str) -> Result<(usize, usize, usize)> {
    match *x.dims() {
        [b, l, c] if l > 0 && c > 0 => Ok((b, l, c)),
        _ => Err(Error::Shape {
            what: what.to_string(),
            expected: "(batch, length ≥ 1, channels ≥ 1)".into(),
            got: x.dims().to_vec(),
        }),
    }
}

fn fast_path(x: &Tensor) -> bool {
    x.device().is_cpu() && matches!(x.dtype(), DType::F32 | DType::F64)
}

/// Tensor-op im2col (other devices, and the reference for the tests).
fn unfold1d_ops(x: &Tensor, kernel: usize, l_out: usize) -> Result<Tensor> {
    let (b, l, c) = x.dims3()?;
    let pad = kernel / 2;
    // Index `l` points at an appended zero step.
    let zero = Tensor::zeros((b, 1, c), x.dtype(), x.device())?;
    let padded = Tensor::cat(&[x, &zero], 1)?;
    let idx: Vec<u32> = (0..l_out)
        .flat_map(|t| {
            (0..kernel).map(move |j| match (t + j).checked_sub(pad) {
                Some(s) if s < l => s as u32,
                _ => l as u32,
            })
        })
        .collect();
    let idx = Tensor::from_vec(idx, l_out * kernel, x.device())?;
    Ok(padded
        .index_select(&idx, 1)?
        .reshape((b * l_out, kernel * c))?)
}

/// Tensor-op pooling (other devices, and the reference for the tests).
fn pool1d_ops(x: &Tensor, window: usize, pooling: Pooling) -> Result<Tensor> {
    let (b, l, c) = x.dims3()?;
    let lo = l / window;
    let w = x.narrow(1, 0, lo * window)?.reshape((b, lo, window, c))?;
    Ok(match pooling {
        Pooling::Max => w.max(2)?,
        Pooling::Avg => w.mean(2)?,
    })
}

/// `(batch, length, channels)` of a contiguous layout, or an error.
fn dims_contiguous(layout: &Layout, what: &str) -> candle_core::Result<(usize, usize, usize)> {
    if !layout.is_contiguous() {
        candle_core::bail!("{what}: expected a contiguous input")
    }
    layout.shape().dims3()
}

/// Run `f` on the f32 or f64 slice of `s` (from the layout's start offset).
macro_rules! dispatch1 {
    ($s:expr, $layout:expr, $what:expr, |$v:ident| $body:expr) => {
        match $s {
            CpuStorage::F32(v) => {
                let $v = &v[$layout.start_offset()..];
                let (out, shape) = $body;
                Ok((CpuStorage::F32(out), shape))
            }
            CpuStorage::F64(v) => {
                let $v = &v[$layout.start_offset()..];
                let (out, shape) = $body;
                Ok((CpuStorage::F64(out), shape))
            }
            other => candle_core::bail!("{}: unsupported dtype {:?}", $what, other.dtype()),
        }
    };
}

/// The im2col op (forward of [`unfold1d`] on the CPU).
struct Unfold {
    kernel: usize,
}

impl CustomOp1 for Unfold {
    fn name(&self) -> &'static str {
        "unfold1d"
    }

    fn cpu_fwd(&self, s: &CpuStorage, layout: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let (b, l, c) = dims_contiguous(layout, "unfold1d")?;
        let k = self.kernel;
        let l_out = conv_out_len(l, k);
        dispatch1!(s, layout, "unfold1d", |x| {
            (
                unfold_cpu(&x[..b * l * c], b, l, c, k),
                Shape::from((b * l_out, k * c)),
            )
        })
    }

    fn bwd(
        &self,
        arg: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<Option<Tensor>> {
        let (_, l, c) = arg.dims3()?;
        let g = grad.contiguous()?.apply_op1_no_bwd(&Fold {
            kernel: self.kernel,
            length: l,
            channels: c,
        })?;
        Ok(Some(g))
    }
}

fn unfold_cpu<T: Float>(x: &[T], b: usize, l: usize, c: usize, k: usize) -> Vec<T> {
    let pad = k / 2;
    let l_out = conv_out_len(l, k);
    let row = k * c;
    let mut out = vec![T::zero(); b * l_out * row];
    for (xb, ob) in x.chunks_exact(l * c).zip(out.chunks_exact_mut(l_out * row)) {
        for (t, orow) in ob.chunks_exact_mut(row).enumerate() {
            for (j, dst) in orow.chunks_exact_mut(c).enumerate() {
                if let Some(s) = (t + j).checked_sub(pad).filter(|s| *s < l) {
                    dst.copy_from_slice(&xb[s * c..(s + 1) * c]);
                }
            }
        }
    }
    out
}

/// The adjoint of im2col (the backward of [`Unfold`]): sums every column block back
/// onto the step it was copied from.
struct Fold {
    kernel: usize,
    length: usize,
    channels: usize,
}

impl CustomOp1 for Fold {
    fn name(&self) -> &'static str {
        "fold1d"
    }

    fn cpu_fwd(&self, s: &CpuStorage, layout: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let (rows, cols) = layout.shape().dims2()?;
        let (k, l, c) = (self.kernel, self.length, self.channels);
        let l_out = conv_out_len(l, k);
        if !layout.is_contiguous() || cols != k * c || l_out == 0 || rows % l_out != 0 {
            candle_core::bail!(
                "fold1d: gradient of shape {:?} does not match",
                layout.dims()
            )
        }
        let b = rows / l_out;
        dispatch1!(s, layout, "fold1d", |g| {
            (
                fold_cpu(&g[..rows * cols], b, l, c, k),
                Shape::from((b, l, c)),
            )
        })
    }
}

fn fold_cpu<T: Float>(g: &[T], b: usize, l: usize, c: usize, k: usize) -> Vec<T> {
    let pad = k / 2;
    let l_out = conv_out_len(l, k);
    let row = k * c;
    let mut out = vec![T::zero(); b * l * c];
    for (gb, ob) in g.chunks_exact(l_out * row).zip(out.chunks_exact_mut(l * c)) {
        for (t, grow) in gb.chunks_exact(row).enumerate() {
            for (j, src) in grow.chunks_exact(c).enumerate() {
                if let Some(s) = (t + j).checked_sub(pad).filter(|s| *s < l) {
                    for (o, &v) in ob[s * c..(s + 1) * c].iter_mut().zip(src) {
                        *o = *o + v;
                    }
                }
            }
        }
    }
    out
}

/// Window pooling (forward of [`pool1d`] on the CPU).
struct Pool {
    window: usize,
    pooling: Pooling,
}

impl CustomOp1 for Pool {
    fn name(&self) -> &'static str {
        "pool1d"
    }

    fn cpu_fwd(&self, s: &CpuStorage, layout: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let (b, l, c) = dims_contiguous(layout, "pool1d")?;
        let (w, lo) = (self.window, l / self.window);
        let pooling = self.pooling;
        dispatch1!(s, layout, "pool1d", |x| {
            (
                pool_cpu(&x[..b * l * c], b, l, c, w, pooling),
                Shape::from((b, lo, c)),
            )
        })
    }

    fn bwd(
        &self,
        arg: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<Option<Tensor>> {
        let g = arg.apply_op2_no_bwd(
            &grad.contiguous()?,
            &PoolGrad {
                window: self.window,
                pooling: self.pooling,
            },
        )?;
        Ok(Some(g))
    }
}

fn pool_cpu<T: Float>(x: &[T], b: usize, l: usize, c: usize, w: usize, pooling: Pooling) -> Vec<T> {
    let lo = l / w;
    let scale = T::from(w).map_or(T::one(), |n| T::one() / n);
    let mut out = Vec::with_capacity(b * lo * c);
    if c == 1 {
        // One channel (the downsampling of the raw series): each window is contiguous.
        for xb in x.chunks_exact(l) {
            out.extend(xb[..lo * w].chunks_exact(w).map(|win| {
                match pooling {
                    Pooling::Max => win[1..]
                        .iter()
                        .fold(win[0], |a, &v| if v > a { v } else { a }),
                    Pooling::Avg => win.iter().fold(T::zero(), |a, &v| a + v) * scale,
                }
            }));
        }
        return out;
    }
    for xb in x.chunks_exact(l * c) {
        // Window i covers rows i·w .. (i+1)·w of the (l, c) block, contiguous.
        for win in xb[..lo * w * c].chunks_exact(w * c) {
            let start = out.len();
            out.extend_from_slice(&win[..c]);
            let acc = &mut out[start..];
            for row in win[c..].chunks_exact(c) {
                match pooling {
                    // Strictly greater: the first maximum wins, as in the backward pass.
                    // (An unconditional select, so that the loop vectorises.)
                    Pooling::Max => acc
                        .iter_mut()
                        .zip(row)
                        .for_each(|(a, &v)| *a = if v > *a { v } else { *a }),
                    Pooling::Avg => acc.iter_mut().zip(row).for_each(|(a, &v)| *a = *a + v),
                }
            }
            if pooling == Pooling::Avg {
                acc.iter_mut().for_each(|a| *a = *a * scale);
            }
        }
    }
    out
}

/// The backward of [`Pool`]: `(input, output gradient)` → input gradient.
struct PoolGrad {
    window: usize,
    pooling: Pooling,
}

impl CustomOp2 for PoolGrad {
    fn name(&self) -> &'static str {
        "pool1d-grad"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (b, l, c) = dims_contiguous(l1, "pool1d-grad input")?;
        let (w, lo) = (self.window, l / self.window);
        if dims_contiguous(l2, "pool1d-grad gradient")? != (b, lo, c) {
            candle_core::bail!("pool1d-grad: gradient of shape {:?}", l2.dims())
        }
        let (o1, o2) = (l1.start_offset(), l2.start_offset());
        let shape = Shape::from((b, l, c));
        match (s1, s2) {
            (CpuStorage::F32(x), CpuStorage::F32(g)) => Ok((
                CpuStorage::F32(pool_grad_cpu(
                    &x[o1..],
                    &g[o2..],
                    (b, l, c),
                    w,
                    self.pooling,
                )),
                shape,
            )),
            (CpuStorage::F64(x), CpuStorage::F64(g)) => Ok((
                CpuStorage::F64(pool_grad_cpu(
                    &x[o1..],
                    &g[o2..],
                    (b, l, c),
                    w,
                    self.pooling,
                )),
                shape,
            )),
            _ => candle_core::bail!("pool1d-grad: expected f32 or f64 with matching dtypes"),
        }
    }
}

fn pool_grad_cpu<T: Float>(
    x: &[T],
    g: &[T],
    (b, l, c): (usize, usize, usize),
    w: usize,
    pooling: Pooling,
) -> Vec<T> {
    let lo = l / w;
    let scale = T::from(w).map_or(T::one(), |n| T::one() / n);
    let mut out = vec![T::zero(); b * l * c];
    let mut best = vec![T::zero(); c];
    let mut taken = vec![false; c];
    for ((xb, gb), ob) in x
        .chunks_exact(l * c)
        .zip(g.chunks_exact(lo * c))
        .zip(out.chunks_exact_mut(l * c))
    {
        for ((xw, gw), ow) in xb[..lo * w * c]
            .chunks_exact(w * c)
            .zip(gb.chunks_exact(c))
            .zip(ob.chunks_exact_mut(w * c))
        {
            match pooling {
                Pooling::Max => {
                    // The maximum as in the forward pass, then the gradient goes to the
                    // first row that attains it (branch-free selects, so the loops
                    // vectorise).
                    best.copy_from_slice(&xw[..c]);
                    for row in xw[c..].chunks_exact(c) {
                        for (bv, &v) in best.iter_mut().zip(row) {
                            *bv = if v > *bv { v } else { *bv };
                        }
                    }
                    taken.fill(false);
                    for (xrow, orow) in xw.chunks_exact(c).zip(ow.chunks_exact_mut(c)) {
                        for ((((o, &v), &bv), &gv), t) in
                            orow.iter_mut().zip(xrow).zip(&best).zip(gw).zip(&mut taken)
                        {
                            let hit = !*t & (v == bv);
                            *o = if hit { gv } else { T::zero() };
                            *t |= hit;
                        }
                    }
                }
                Pooling::Avg => {
                    for row in ow.chunks_exact_mut(c) {
                        row.iter_mut().zip(gw).for_each(|(o, &gv)| *o = gv * scale);
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    fn data(b: usize, l: usize, c: usize, seed: u64) -> Tensor {
        // Distinct values (no ties in max pooling), deterministic.
        let v: Vec<f64> = (0..b * l * c)
            .map(|i| ((i as u64 * 7919 + seed * 104729) % 1009) as f64 / 97.0 - 5.0)
            .collect();
        Tensor::from_vec(v, (b, l, c), &Device::Cpu).unwrap()
    }

    fn max_diff(a: &Tensor, b: &Tensor) -> f64 {
        (a - b)
            .unwrap()
            .abs()
            .unwrap()
            .flatten_all()
            .unwrap()
            .max(0)
            .unwrap()
            .to_scalar::<f64>()
            .unwrap()
    }

    /// Forward values and the gradient of a fixed weighted sum agree with the tensor ops.
    fn compare(f: impl Fn(&Tensor) -> Tensor, reference: impl Fn(&Tensor) -> Tensor) {
        let x = Var::from_tensor(&data(3, 11, 4, 1)).unwrap();
        let (y1, y2) = (f(x.as_tensor()), reference(x.as_tensor()));
        assert_eq!(y1.dims(), y2.dims());
        assert!(max_diff(&y1, &y2) < 1e-12);
        let wts = Tensor::from_vec(
            (0..y1.elem_count())
                .map(|i| (i % 13) as f64 - 6.0)
                .collect::<Vec<_>>(),
            y1.shape(),
            &Device::Cpu,
        )
        .unwrap();
        let g1 = (&y1 * &wts).unwrap().sum_all().unwrap().backward().unwrap();
        let g2 = (&y2 * &wts).unwrap().sum_all().unwrap().backward().unwrap();
        let (g1, g2) = (g1.get(&x).unwrap(), g2.get(&x).unwrap());
        assert!(max_diff(g1, g2) < 1e-12);
    }

    #[test]
    fn unfold_matches_index_select() {
        for k in [1, 2, 3, 4, 5] {
            let l_out = conv_out_len(11, k);
            compare(
                |x| unfold1d(x, k).unwrap(),
                |x| unfold1d_ops(x, k, l_out).unwrap(),
            );
        }
    }

    #[test]
    fn pool_matches_reshape_reductions() {
        for w in [2, 3, 4] {
            for p in [Pooling::Max, Pooling::Avg] {
                compare(
                    |x| pool1d(x, w, p).unwrap(),
                    |x| pool1d_ops(x, w, p).unwrap(),
                );
            }
        }
    }

    #[test]
    fn max_pool_ties_send_the_gradient_to_the_first_maximum() {
        for c in [1, 3] {
            let v: Vec<f64> = [2.0, 2.0, 1.0, 1.0, 0.0, 3.0]
                .iter()
                .flat_map(|&x| std::iter::repeat_n(x, c))
                .collect();
            let x =
                Var::from_tensor(&Tensor::from_vec(v, (1, 6, c), &Device::Cpu).unwrap()).unwrap();
            let y = pool1d(x.as_tensor(), 2, Pooling::Max).unwrap();
            let ys: Vec<f64> = y.flatten_all().unwrap().to_vec1().unwrap();
            let want: Vec<f64> = [2.0, 1.0, 3.0]
                .iter()
                .flat_map(|&x| std::iter::repeat_n(x, c))
                .collect();
            assert_eq!(ys, want);
            let g = y.sum_all().unwrap().backward().unwrap();
            let gs: Vec<f64> = g.get(&x).unwrap().flatten_all().unwrap().to_vec1().unwrap();
            let want: Vec<f64> = [1.0, 0.0, 1.0, 0.0, 0.0, 1.0]
                .iter()
                .flat_map(|&x| std::iter::repeat_n(x, c))
                .collect();
            assert_eq!(gs, want, "channels {c}");
        }
    }

    #[test]
    fn f32_kernels_run() {
        let x = data(2, 6, 3, 2).to_dtype(DType::F32).unwrap();
        assert_eq!(unfold1d(&x, 3).unwrap().dims(), &[12, 9]);
        assert_eq!(pool1d(&x, 4, Pooling::Max).unwrap().dims(), &[2, 1, 3]);
        // A kernel longer than the series sees mostly padding.
        assert_eq!(unfold1d(&x, 9).unwrap().dims(), &[12, 27]);
        assert!(unfold1d(&x, 0).is_err());
        assert!(pool1d(&x, 7, Pooling::Avg).is_err());
    }
}
