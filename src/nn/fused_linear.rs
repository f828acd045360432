//! Fused dense layer `y = x·w + b` on the CPU: one gemm call with adaptive parallelism.
//!
//! candle's CPU matmul always hands gemm `Parallelism::Rayon(n)` when more than one
//! thread is available, even for matrices so small that waking the rayon pool costs
//! more than the product itself; the small flows we train spend most of their matmul
//! time in that overhead. [`linear_forward`] computes `x·w + b` with a single gemm call
//! (the destination is initialised with the broadcast bias and the product is
//! accumulated onto it) and only asks for rayon when the product is big enough to gain
//! from it (see [`PARALLEL_MIN_WORK`]). Its backward pass uses the same gemm call,
//! passing the transposes as strides, never as copies.
//!
//! Other devices (CUDA), other dtypes and other ranks fall back to
//! `x.matmul(w)?.broadcast_add(b)`.

use candle_core::backend::BackendStorage;
use candle_core::{CpuStorage, CustomOp2, CustomOp3, Layout, Result, Shape, Tensor};
use gemm::Parallelism;

/// Smallest `m·n·k` (multiply-adds) for which a gemm is run on the rayon pool
/// (`Parallelism::Rayon(rayon::current_num_threads())`); smaller products run on the
/// calling thread (`Parallelism::None`).
///
/// Measured on the 2-core AMD EPYC (AVX-512) development machine with
/// `cargo run --release --example gemm_threshold` (f32, median µs per call in a hot
/// loop, 1 thread / 2 threads; `g·wᵀ` and `xᵀ·g` are the backward products):
///
/// | m·n·k | batch × in × out | x·w + b | g·wᵀ | xᵀ·g |
/// |---|---|---|---|---|
/// | 0.4 M | 128 × 12 × 256 | 10.8 / 10.9 | 11.6 / 11.7 | 7.5 / 7.9 |
/// | 1.0 M | 256 × 64 × 64 | 20.6 / 29.2 | 21.3 / 24.4 | 19.8 / 26.1 |
/// | 1.0 M | 1024 × 8 × 128 | 30.9 / 50.5 | 45.1 / 52.5 | 23.4 / 23.1 |
/// | 2.1 M | 512 × 64 × 64 | 40.6 / 31.9 | 40.2 / 33.2 | 38.9 / 31.3 |
/// | 2.1 M | 256 × 128 × 64 | 38.8 / 35.7 | 43.2 / 35.9 | 39.9 / 37.1 |
/// | 4.2 M | 256 × 128 × 128 | 79.6 / 51.2 | 80.3 / 62.7 | 80.5 / 56.2 |
/// | 4.2 M | 1024 × 64 × 64 | 81.1 / 54.7 | 80.1 / 58.7 | 77.8 / 76.5 |
/// | 8.4 M | 128 × 256 × 256 | 160.5 / 96.1 | 203.5 / 187.6 | 162.4 / 124.7 |
/// | 16.8 M | 1024 × 128 × 128 | 324.2 / 241.3 | 325.7 / 208.5 | 306.7 / 179.1 |
/// | 655 M | 10000 × 256 × 256 | 14641 / 8680 | 14513 / 7647 | 15036 / 9335 |
///
/// In this hot loop two threads lose below ~2 M (up to 1.6× slower at 1 M) and gain
/// 5–20 % at 2 M, 25–40 % from 4 M and 40–50 % on large products. The hot loop flatters
/// rayon, whose workers stay awake there; inside a training step they sleep between
/// calls and share the two cores with candle's element-wise pool, and the end-to-end
/// figures put the break-even higher (`cargo bench --bench throughput`, train
/// steps/s, median of 3 runs; `examples/probe.rs`, ms per forward + backward):
///
/// - config a, hidden layers 256 × 64 × 64 = 1.0 M: 3.6–4.6 ms threaded (threshold 1 M)
///   against 2.6 ms on one thread (threshold 4 M or more);
/// - config b, hidden layers 128 × 256 × 256 = 8.4 M: 74 steps/s threaded (threshold
///   4 M) against 87 on one thread (threshold 16 M); 67 against 88 with
///   `CANDLE_NUM_THREADS=1`;
/// - config c, hidden layers 1024 × 128 × 128 = 16.8 M: threaded is no slower, and with
///   `CANDLE_NUM_THREADS=1` its forward pass takes 15.5 ms threaded against 18–22 ms on
///   one thread.
///
/// The threshold sits between the largest product measured to lose from threads in a
/// training step (8.4 M) and the smallest measured to gain (16.8 M): 12 Mi ≈ 12.6 M.
pub const PARALLEL_MIN_WORK: usize = 12 << 20;

/// The gemm parallelism used for an `(m × k)·(k × n)` product: rayon with all of the
/// global pool's threads when `m·n·k ≥ PARALLEL_MIN_WORK` and the pool has more than one
/// thread, the calling thread otherwise — and always the calling thread inside a rayon
/// task (the row chunks of [`crate::flow::row_chunks`] already keep every core busy).
pub fn gemm_parallelism(m: usize, n: usize, k: usize) -> Parallelism {
    let work = m.saturating_mul(n).saturating_mul(k);
    if work < PARALLEL_MIN_WORK || rayon::current_thread_index().is_some() {
        return Parallelism::None;
    }
    let threads = rayon::current_num_threads();
    if threads > 1 {
        Parallelism::Rayon(threads)
    } else {
        Parallelism::None
    }
}

/// `x·w + b` for `x: (batch, in)`, `w: (in, out)`, `b: (out)`, differentiable in all
/// three arguments.
///
/// On the CPU, for f32 and f64 with matching dtypes, this is one gemm call with adaptive
/// parallelism (any strides, transposed inputs included, without copies); everywhere
/// else (CUDA, other dtypes, other shapes) it is `x.matmul(w)?.broadcast_add(b)`.
///
/// The backward pass returns no gradient for an argument that does not take part in
/// autograd (not a `Var` and not computed from one), saving one matmul for the data
/// input of a first layer.
pub fn linear_forward(x: &Tensor, w: &Tensor, b: &Tensor) -> Result<Tensor> {
    if fusable(x, w, b) {
        x.apply_op3(w, b, FusedLinear { relu: false })
    } else {
        x.matmul(w)?.broadcast_add(b)
    }
}

/// `max(x·w + b, 0)`: [`linear_forward`] with the ReLU applied in place on the gemm's
/// output while it is still in cache, and one backward node instead of two.
///
/// candle's ReLU is a separate op (an allocation and a pass) whose backward pass takes
/// six (a zero tensor, a comparison, a type conversion, a product, a zero-initialised
/// gradient and a sum); here the backward masks the upstream gradient in one pass and
/// then runs [`linear_forward`]'s gemm calls. The one difference: the gradient at a
/// pre-activation of exactly 0 is 0 here (PyTorch's convention) and the upstream value
/// in candle (its `x ≥ 0` mask).
///
/// ```
/// use candle_core::{Device, Tensor};
/// use flowinfer::nn::fused_linear::linear_relu_forward;
/// let x = Tensor::new(&[[1f32, 2.0]], &Device::Cpu)?;
/// let w = Tensor::new(&[[1f32, -1.0], [1.0, -1.0]], &Device::Cpu)?;
/// let b = Tensor::new(&[0.5f32, 0.5], &Device::Cpu)?;
/// // x·w + b = [3.5, -2.5]
/// assert_eq!(linear_relu_forward(&x, &w, &b)?.to_vec2::<f32>()?, [[3.5, 0.0]]);
/// # Ok::<(), candle_core::Error>(())
/// ```
pub fn linear_relu_forward(x: &Tensor, w: &Tensor, b: &Tensor) -> Result<Tensor> {
    if fusable(x, w, b) {
        x.apply_op3(w, b, FusedLinear { relu: true })
    } else {
        x.matmul(w)?.broadcast_add(b)?.relu()
    }
}

/// Whether the fused CPU kernel applies; when it does not, the plain candle composite
/// runs (and reports any shape or dtype error itself).
fn fusable(x: &Tensor, w: &Tensor, b: &Tensor) -> bool {
    let dtype = x.dtype();
    x.device().is_cpu()
        && w.device().is_cpu()
        && b.device().is_cpu()
        && matches!(dtype, candle_core::DType::F32 | candle_core::DType::F64)
        && w.dtype() == dtype
        && b.dtype() == dtype
        && x.rank() == 2
        && w.rank() == 2
        && b.rank() == 1
        && x.dim(1).ok() == w.dim(0).ok()
        && w.dim(1).ok() == b.dim(0).ok()
}

/// `a·b` of two 2-D CPU tensors (f32 or f64) with the adaptive-parallelism gemm call,
/// without autograd (used for the gradients of [`linear_forward`]).
fn matmul_no_grad(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    a.apply_op2_no_bwd(b, &MatMulNoGrad)
}

/// The float types the kernels run on.
trait GemmFloat: Copy + Send + Sync + PartialOrd + 'static {
    const ZERO: Self;
    const ONE: Self;
    /// `max(self, 0)` as candle's ReLU computes it (NaN → 0).
    fn relu(self) -> Self;
}

impl GemmFloat for f32 {
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
    fn relu(self) -> Self {
        self.max(0.0)
    }
}

impl GemmFloat for f64 {
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
    fn relu(self) -> Self {
        self.max(0.0)
    }
}

/// A 2-D strided view into a storage slice (candle strides are never negative).
#[derive(Debug, Clone, Copy)]
struct MatView {
    offset: usize,
    rows: usize,
    cols: usize,
    row_stride: usize,
    col_stride: usize,
}

impl MatView {
    fn new(layout: &Layout, len: usize, what: &str) -> Result<Self> {
        let dims = layout.dims();
        let stride = layout.stride();
        if dims.len() != 2 {
            candle_core::bail!("{what}: expected a matrix, got shape {:?}", dims);
        }
        let v = Self {
            offset: layout.start_offset(),
            rows: dims[0],
            cols: dims[1],
            row_stride: stride[0],
            col_stride: stride[1],
        };
        // The gemm calls below read through raw pointers: make sure every element
        // addressed by the view is inside the storage.
        if v.rows > 0 && v.cols > 0 {
            let last = v.offset + (v.rows - 1) * v.row_stride + (v.cols - 1) * v.col_stride;
            if last >= len {
                candle_core::bail!("{what}: layout {:?} exceeds storage of {len}", layout);
            }
        }
        Ok(v)
    }
}

/// `dst = [dst +] lhs·rhs` for a contiguous row-major `dst` of `lhs.rows × rhs.cols`,
/// with [`gemm_parallelism`]; `read_dst` accumulates onto the current contents.
fn gemm_into<T: GemmFloat>(
    dst: &mut [T],
    read_dst: bool,
    lhs: &[T],
    lv: MatView,
    rhs: &[T],
    rv: MatView,
) {
    let (m, k, n) = (lv.rows, lv.cols, rv.cols);
    assert_eq!(rv.rows, k, "gemm_into: inner dimensions differ");
    assert_eq!(dst.len(), m * n, "gemm_into: destination size");
    if m == 0 || n == 0 || k == 0 {
        if !read_dst {
            dst.fill(T::ZERO);
        }
        return;
    }
    // SAFETY: `MatView::new` checked that every element addressed through the lhs and
    // rhs views lies inside its slice; `dst` is a contiguous m × n buffer (row stride n,
    // column stride 1) of exactly m·n elements, checked above; the three do not alias
    // (`dst` is borrowed mutably).
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            read_dst,
            lhs.as_ptr().add(lv.offset),
            lv.col_stride as isize,
            lv.row_stride as isize,
            rhs.as_ptr().add(rv.offset),
            rv.col_stride as isize,
            rv.row_stride as isize,
            T::ONE,
            T::ONE,
            false,
            false,
            false,
            gemm_parallelism(m, n, k),
        );
    }
}

/// `x·w + b` on CPU slices: the destination starts as the broadcast bias, and gemm
/// accumulates the product onto it; with `relu`, `max(·, 0)` in place afterwards.
fn linear_cpu<T: GemmFloat>(
    relu: bool,
    x: &[T],
    xl: &Layout,
    w: &[T],
    wl: &Layout,
    b: &[T],
    bl: &Layout,
) -> Result<(Vec<T>, Shape)> {
    let xv = MatView::new(xl, x.len(), "fused-linear x")?;
    let wv = MatView::new(wl, w.len(), "fused-linear w")?;
    let (m, k, n) = (xv.rows, xv.cols, wv.cols);
    if wv.rows != k {
        candle_core::bail!(
            "fused-linear: x {:?} and w {:?} do not chain",
            xl.dims(),
            wl.dims()
        );
    }
    if bl.dims() != [n] {
        candle_core::bail!("fused-linear: bias {:?}, expected [{n}]", bl.dims());
    }
    let bias: Vec<T> = match bl.contiguous_offsets() {
        Some((start, end)) => b[start..end].to_vec(),
        None => {
            let (start, stride) = (bl.start_offset(), bl.stride()[0]);
            if n > 0 && start + (n - 1) * stride >= b.len() {
                candle_core::bail!("fused-linear: bias layout {:?} exceeds storage", bl);
            }
            (0..n).map(|j| b[start + j * stride]).collect()
        }
    };
    let parallel = matches!(gemm_parallelism(m, n, k), Parallelism::Rayon(_));
    let mut dst = broadcast_rows(&bias, m, parallel);
    gemm_into(&mut dst, true, x, xv, w, wv);
    if relu {
        dst.iter_mut().for_each(|v| *v = v.relu());
    }
    Ok((dst, Shape::from((m, n))))
}

/// `m` copies of `row`, one after the other; written on the rayon pool when `parallel`
/// (a product big enough for threads has an output big enough for the fill to matter:
/// 10,000 × 256 floats take ~1 ms on one thread).
fn broadcast_rows<T: GemmFloat>(row: &[T], m: usize, parallel: bool) -> Vec<T> {
    let n = row.len();
    let mut dst = Vec::with_capacity(m * n);
    if parallel && n > 0 {
        use rayon::prelude::*;
        let rows_per_task = (1 << 15) / n + 1;
        dst.spare_capacity_mut()[..m * n]
            .par_chunks_mut(rows_per_task * n)
            .for_each(|chunk| {
                for out in chunk.chunks_exact_mut(n) {
                    for (o, &v) in out.iter_mut().zip(row) {
                        o.write(v);
                    }
                }
            });
        // SAFETY: the loop above wrote all m·n elements (the chunks tile them, each a
        // whole number of rows).
        unsafe { dst.set_len(m * n) };
    } else {
        for _ in 0..m {
            dst.extend_from_slice(row);
        }
    }
    dst
}

/// `a·b` on CPU slices into a fresh contiguous buffer.
fn matmul_cpu<T: GemmFloat>(a: &[T], al: &Layout, b: &[T], bl: &Layout) -> Result<(Vec<T>, Shape)> {
    let av = MatView::new(al, a.len(), "matmul lhs")?;
    let bv = MatView::new(bl, b.len(), "matmul rhs")?;
    if av.cols != bv.rows {
        candle_core::bail!("matmul: {:?} and {:?} do not chain", al.dims(), bl.dims());
    }
    let (m, n) = (av.rows, bv.cols);
    let mut dst = vec![T::ZERO; m * n];
    gemm_into(&mut dst, false, a, av, b, bv);
    Ok((dst, Shape::from((m, n))))
}

/// The fused `x·w + b` op (see [`linear_forward`]), with the ReLU when `relu`
/// ([`linear_relu_forward`]).
struct FusedLinear {
    relu: bool,
}

impl CustomOp3 for FusedLinear {
    fn name(&self) -> &'static str {
        if self.relu {
            "fused-linear-relu"
        } else {
            "fused-linear"
        }
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        match (s1, s2, s3) {
            (CpuStorage::F32(x), CpuStorage::F32(w), CpuStorage::F32(b)) => {
                let (v, s) = linear_cpu(self.relu, x, l1, w, l2, b, l3)?;
                Ok((CpuStorage::F32(v), s))
            }
            (CpuStorage::F64(x), CpuStorage::F64(w), CpuStorage::F64(b)) => {
                let (v, s) = linear_cpu(self.relu, x, l1, w, l2, b, l3)?;
                Ok((CpuStorage::F64(v), s))
            }
            _ => candle_core::bail!(
                "fused-linear: expected f32 or f64 with matching dtypes, got {:?}, {:?}, {:?}",
                s1.dtype(),
                s2.dtype(),
                s3.dtype()
            ),
        }
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        b: &Tensor,
        res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        // Through the ReLU: the upstream gradient where the output is positive.
        let masked;
        let grad = if self.relu {
            masked = grad.contiguous()?.apply_op2_no_bwd(res, &ReluMask)?;
            &masked
        } else {
            grad
        };
        // `.t()` only swaps strides; the gemm call reads the transposes in place.
        let grad_x = if x.track_op() {
            Some(matmul_no_grad(grad, &w.t()?)?)
        } else {
            None
        };
        let grad_w = if w.track_op() {
            Some(matmul_no_grad(&x.t()?, grad)?)
        } else {
            None
        };
        let grad_b = if b.track_op() {
            Some(column_sums(grad)?)
        } else {
            None
        };
        Ok((grad_x, grad_w, grad_b))
    }
}

/// `Σ_i g[i, :]` of a 2-D CPU tensor (f32 or f64; `g.sum(0)` elsewhere), without
/// autograd: the bias gradient of [`linear_forward`].
///
/// candle's `sum(0)` walks the matrix element by element with an index division per
/// element; this adds whole rows (a vectorised pass), in the same order (row 0 first,
/// from zero), so the result is bit-identical. It was 13–15 % of config (b)'s training
/// step in a single-threaded profile (docs/PERFORMANCE.md).
///
/// ```
/// use candle_core::{Device, Tensor};
/// use flowinfer::nn::fused_linear::column_sums;
/// let g = Tensor::new(&[[1f32, 2.0], [3.0, 4.0], [5.0, 6.0]], &Device::Cpu)?;
/// assert_eq!(column_sums(&g)?.to_vec1::<f32>()?, [9.0, 12.0]);
/// # Ok::<(), candle_core::Error>(())
/// ```
pub fn column_sums(g: &Tensor) -> Result<Tensor> {
    let dtype = g.dtype();
    if g.device().is_cpu()
        && g.rank() == 2
        && matches!(dtype, candle_core::DType::F32 | candle_core::DType::F64)
    {
        g.apply_op1_no_bwd(&ColumnSum)
    } else {
        g.sum(0)
    }
}

/// `(g, y) ↦ g ⊙ [y > 0]` for contiguous tensors of one shape: the gradient through
/// the ReLU of [`linear_relu_forward`] given its output `y`.
struct ReluMask;

/// `g` where `y > 0`, else 0.
fn relu_mask_cpu<T: GemmFloat>(g: &[T], y: &[T]) -> Vec<T> {
    g.iter()
        .zip(y)
        .map(|(&g, &y)| if y > T::ZERO { g } else { T::ZERO })
        .collect()
}

impl CustomOp2 for ReluMask {
    fn name(&self) -> &'static str {
        "relu-mask"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (Some((a1, b1)), Some((a2, b2))) = (l1.contiguous_offsets(), l2.contiguous_offsets())
        else {
            candle_core::bail!("relu-mask: expected contiguous gradient and output");
        };
        if l1.dims() != l2.dims() {
            candle_core::bail!(
                "relu-mask: shapes {:?} and {:?} differ",
                l1.dims(),
                l2.dims()
            );
        }
        let shape = l1.shape().clone();
        match (s1, s2) {
            (CpuStorage::F32(g), CpuStorage::F32(y)) => Ok((
                CpuStorage::F32(relu_mask_cpu(&g[a1..b1], &y[a2..b2])),
                shape,
            )),
            (CpuStorage::F64(g), CpuStorage::F64(y)) => Ok((
                CpuStorage::F64(relu_mask_cpu(&g[a1..b1], &y[a2..b2])),
                shape,
            )),
            _ => candle_core::bail!(
                "relu-mask: expected f32 or f64 with matching dtypes, got {:?}, {:?}",
                s1.dtype(),
                s2.dtype()
            ),
        }
    }
}

/// `Σ_i g[i, :]` (see [`column_sums`]).
struct ColumnSum;

/// Row sums of a strided `(rows, cols)` view, accumulated row by row from zero.
fn column_sums_cpu<T: GemmFloat + std::ops::AddAssign>(g: &[T], gv: MatView) -> Vec<T> {
    let mut out = vec![T::ZERO; gv.cols];
    for i in 0..gv.rows {
        let start = gv.offset + i * gv.row_stride;
        if gv.col_stride == 1 {
            for (o, &v) in out.iter_mut().zip(&g[start..start + gv.cols]) {
                *o += v;
            }
        } else {
            for (j, o) in out.iter_mut().enumerate() {
                *o += g[start + j * gv.col_stride];
            }
        }
    }
    out
}

impl candle_core::CustomOp1 for ColumnSum {
    fn name(&self) -> &'static str {
        "column-sum"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let n = l.dims()[1];
        match s {
            CpuStorage::F32(g) => {
                let gv = MatView::new(l, g.len(), "column-sum")?;
                Ok((CpuStorage::F32(column_sums_cpu(g, gv)), Shape::from(n)))
            }
            CpuStorage::F64(g) => {
                let gv = MatView::new(l, g.len(), "column-sum")?;
                Ok((CpuStorage::F64(column_sums_cpu(g, gv)), Shape::from(n)))
            }
            _ => candle_core::bail!("column-sum: expected f32 or f64, got {:?}", s.dtype()),
        }
    }
}

/// Plain `a·b` with the adaptive-parallelism gemm call (no backward pass).
struct MatMulNoGrad;

impl CustomOp2 for MatMulNoGrad {
    fn name(&self) -> &'static str {
        "matmul-no-grad"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        match (s1, s2) {
            (CpuStorage::F32(a), CpuStorage::F32(b)) => {
                let (v, s) = matmul_cpu(a, l1, b, l2)?;
                Ok((CpuStorage::F32(v), s))
            }
            (CpuStorage::F64(a), CpuStorage::F64(b)) => {
                let (v, s) = matmul_cpu(a, l1, b, l2)?;
                Ok((CpuStorage::F64(v), s))
            }
            _ => candle_core::bail!(
                "matmul-no-grad: expected f32 or f64 with matching dtypes, got {:?}, {:?}",
                s1.dtype(),
                s2.dtype()
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Result;
    use crate::random::randn;
    use candle_core::{DType, Device, Var};
    use rand::SeedableRng;

    /// (batch, in, out) on each side of [`PARALLEL_MIN_WORK`].
    const SMALL: (usize, usize, usize) = (9, 5, 7);
    const LARGE: (usize, usize, usize) = (1024, 128, 160);

    #[test]
    fn test_shapes_straddle_the_threshold() {
        let work = |(m, k, n): (usize, usize, usize)| m * k * n;
        assert!(work(SMALL) < PARALLEL_MIN_WORK);
        assert!(work(LARGE) >= PARALLEL_MIN_WORK);
    }

    fn tol(dtype: DType) -> f64 {
        if dtype == DType::F64 {
            1e-12
        } else {
            1e-5
        }
    }

    /// `max |a - b| / max(1, |b|)` elementwise, as f64.
    fn max_rel_diff(a: &Tensor, b: &Tensor) -> Result<f64> {
        assert_eq!(a.dims(), b.dims());
        let a = a.to_dtype(DType::F64)?.flatten_all()?.to_vec1::<f64>()?;
        let b = b.to_dtype(DType::F64)?.flatten_all()?.to_vec1::<f64>()?;
        Ok(a.iter()
            .zip(&b)
            .map(|(x, y)| (x - y).abs() / y.abs().max(1.0))
            .fold(0.0, f64::max))
    }

    /// x ~ N(0, 1) of (batch, in), w ~ N(0, 1/in) of (in, out), b ~ N(0, 1) of (out).
    fn inputs(
        (batch, din, dout): (usize, usize, usize),
        dtype: DType,
        seed: u64,
    ) -> Result<(Tensor, Tensor, Tensor)> {
        let dev = Device::Cpu;
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let x = randn(batch, din, dtype, &dev, &mut rng)?;
        let w = (randn(din, dout, dtype, &dev, &mut rng)? / (din as f64).sqrt())?;
        let b = randn(1, dout, dtype, &dev, &mut rng)?.flatten_all()?;
        Ok((x, w, b))
    }

    fn plain(x: &Tensor, w: &Tensor, b: &Tensor) -> Result<Tensor> {
        Ok(x.matmul(w)?.broadcast_add(b)?)
    }

    #[test]
    fn forward_matches_candle() -> Result<()> {
        for dtype in [DType::F64, DType::F32] {
            for (i, shape) in [SMALL, LARGE].into_iter().enumerate() {
                let (x, w, b) = inputs(shape, dtype, i as u64)?;
                assert!(fusable(&x, &w, &b));
                let y = linear_forward(&x, &w, &b)?;
                assert_eq!(y.dims(), [shape.0, shape.2]);
                let d = max_rel_diff(&y, &plain(&x, &w, &b)?)?;
                assert!(d <= tol(dtype), "{dtype:?} {shape:?}: {d:e}");
            }
        }
        Ok(())
    }

    /// Transposed x and w, and a strided bias (a column of a matrix): read in place
    /// through gemm strides.
    #[test]
    fn forward_matches_candle_on_strided_inputs() -> Result<()> {
        for dtype in [DType::F64, DType::F32] {
            for (i, (batch, din, dout)) in [SMALL, LARGE].into_iter().enumerate() {
                let (xt, _, _) = inputs((din, batch, 1), dtype, 10 + i as u64)?;
                let (wt, _, _) = inputs((dout, din, 1), dtype, 20 + i as u64)?;
                let (bm, _, _) = inputs((dout, 3, 1), dtype, 30 + i as u64)?;
                let (x, w, b) = (xt.t()?, wt.t()?, bm.narrow(1, 1, 1)?.squeeze(1)?);
                assert!(!x.is_contiguous() && !w.is_contiguous() && !b.is_contiguous());
                let y = linear_forward(&x, &w, &b)?;
                let expected = plain(&x.contiguous()?, &w.contiguous()?, &b.contiguous()?)?;
                let d = max_rel_diff(&y, &expected)?;
                assert!(d <= tol(dtype), "{dtype:?} {:?}: {d:e}", (batch, din, dout));
            }
        }
        Ok(())
    }

    /// Gradients of `Σ y ⊙ r / batch` w.r.t. x, w and b.
    fn grads(
        f: impl Fn(&Tensor, &Tensor, &Tensor) -> Result<Tensor>,
        x: &Var,
        w: &Var,
        b: &Var,
        r: &Tensor,
    ) -> Result<[Tensor; 3]> {
        let batch = x.dim(0)? as f64;
        let loss = (f(x.as_tensor(), w.as_tensor(), b.as_tensor())?
            .mul(r)?
            .sum_all()?
            / batch)?;
        let g = loss.backward()?;
        let get = |v: &Var| g.get(v.as_tensor()).cloned().expect("gradient");
        Ok([get(x), get(w), get(b)])
    }

    #[test]
    fn gradients_match_candle() -> Result<()> {
        for dtype in [DType::F64, DType::F32] {
            for (i, shape) in [SMALL, LARGE].into_iter().enumerate() {
                for transposed in [false, true] {
                    let seed = 40 + i as u64;
                    let (x, w, b) = inputs(shape, dtype, seed)?;
                    let x = if transposed {
                        x.t()?.contiguous()?.t()?
                    } else {
                        x
                    };
                    let (x, w, b) = (
                        Var::from_tensor(&x)?,
                        Var::from_tensor(&w)?,
                        Var::from_tensor(&b)?,
                    );
                    let mut rng = rand::rngs::StdRng::seed_from_u64(seed + 100);
                    let r = randn(shape.0, shape.2, dtype, &Device::Cpu, &mut rng)?;
                    let fused = grads(|x, w, b| Ok(linear_forward(x, w, b)?), &x, &w, &b, &r)?;
                    let reference = grads(plain, &x, &w, &b, &r)?;
                    for (name, (g, e)) in ["x", "w", "b"].iter().zip(fused.iter().zip(&reference)) {
                        assert_eq!(g.dims(), e.dims(), "grad {name}");
                        let d = max_rel_diff(g, e)?;
                        assert!(
                            d <= tol(dtype),
                            "{dtype:?} {shape:?} transposed={transposed} grad {name}: {d:e}"
                        );
                    }
                }
            }
        }
        Ok(())
    }

    /// An input outside autograd (plain data) gets no gradient; the others still do.
    #[test]
    fn no_gradient_for_untracked_input() -> Result<()> {
        let (x, w, b) = inputs(SMALL, DType::F64, 7)?;
        let (w, b) = (Var::from_tensor(&w)?, Var::from_tensor(&b)?);
        let g = linear_forward(&x, w.as_tensor(), b.as_tensor())?
            .sum_all()?
            .backward()?;
        assert!(g.get(&x).is_none());
        let gb = g.get(b.as_tensor()).expect("bias gradient");
        let d = max_rel_diff(gb, &Tensor::full(SMALL.0 as f64, SMALL.2, &Device::Cpu)?)?;
        assert!(d <= 1e-12);
        assert!(g.get(w.as_tensor()).is_some());
        Ok(())
    }

    /// The bias gradient's row sum is bit-identical to candle's `sum(0)`, on contiguous
    /// and on transposed (strided) matrices, f32 and f64.
    #[test]
    fn column_sums_equal_candle_bit_for_bit() -> Result<()> {
        for dtype in [DType::F32, DType::F64] {
            for (i, shape) in [SMALL, LARGE].into_iter().enumerate() {
                let (g, _, _) = inputs((shape.0, shape.2, 1), dtype, 60 + i as u64)?;
                let gt = g.t()?.contiguous()?.t()?;
                assert!(!gt.is_contiguous());
                for m in [&g, &gt] {
                    let ours = column_sums(m)?.to_dtype(DType::F64)?.to_vec1::<f64>()?;
                    let theirs = m.sum(0)?.to_dtype(DType::F64)?.to_vec1::<f64>()?;
                    assert_eq!(ours, theirs, "{dtype:?} {shape:?}");
                }
            }
        }
        Ok(())
    }

    /// The fused linear + ReLU gives the same values and the same gradients (x, w, b)
    /// as the fused linear followed by candle's ReLU, bit for bit (random inputs: no
    /// pre-activation is exactly 0, where the two conventions differ).
    #[test]
    fn linear_relu_equals_linear_then_relu_bit_for_bit() -> Result<()> {
        for dtype in [DType::F64, DType::F32] {
            for (i, shape) in [SMALL, LARGE].into_iter().enumerate() {
                let seed = 80 + i as u64;
                let (x, w, b) = inputs(shape, dtype, seed)?;
                let (x, w, b) = (
                    Var::from_tensor(&x)?,
                    Var::from_tensor(&w)?,
                    Var::from_tensor(&b)?,
                );
                let mut rng = rand::rngs::StdRng::seed_from_u64(seed + 100);
                let r = randn(shape.0, shape.2, dtype, &Device::Cpu, &mut rng)?;
                let fused = |x: &Tensor, w: &Tensor, b: &Tensor| Ok(linear_relu_forward(x, w, b)?);
                let reference =
                    |x: &Tensor, w: &Tensor, b: &Tensor| Ok(linear_forward(x, w, b)?.relu()?);
                let y = fused(x.as_tensor(), w.as_tensor(), b.as_tensor())?;
                let ye = reference(x.as_tensor(), w.as_tensor(), b.as_tensor())?;
                assert_eq!(max_rel_diff(&y, &ye)?, 0.0, "{dtype:?} {shape:?} values");
                let zeros = y
                    .eq(0.0)?
                    .to_dtype(DType::F64)?
                    .sum_all()?
                    .to_scalar::<f64>()?;
                assert!(zeros > 0.0, "the test needs some units cut off by the ReLU");
                let g = grads(fused, &x, &w, &b, &r)?;
                let ge = grads(reference, &x, &w, &b, &r)?;
                for (name, (g, e)) in ["x", "w", "b"].iter().zip(g.iter().zip(&ge)) {
                    assert_eq!(max_rel_diff(g, e)?, 0.0, "{dtype:?} {shape:?} grad {name}");
                }
            }
        }
        Ok(())
    }

    /// Dtypes without a fused kernel take the plain candle path.
    #[test]
    fn other_dtypes_fall_back() -> Result<()> {
        let (x, w, b) = inputs(SMALL, DType::F32, 3)?;
        let (x16, w16, b16) = (
            x.to_dtype(DType::F16)?,
            w.to_dtype(DType::F16)?,
            b.to_dtype(DType::F16)?,
        );
        assert!(!fusable(&x16, &w16, &b16));
        let y = linear_forward(&x16, &w16, &b16)?;
        assert_eq!(y.dtype(), DType::F16);
        assert!(max_rel_diff(&y, &plain(&x, &w, &b)?)? < 1e-2);
        Ok(())
    }
}
