//! Fused CPU kernel of the bounded affine map ([`super::Affine`]): one pass over the
//! elements computes `log_s = B·tanh(raw/B)`, the output and the per-row log-det sum,
//! and one pass the hand-derived gradients with respect to the input, the shift and the
//! raw log-scale. This replaces ~10 tensor ops (each a pass over memory, an allocation
//! and an autograd node) per coupling layer. The tensor-op path in `affine.rs` is the
//! reference and runs on other devices; `tests` checks the two agree in f64.
//!
//! Forward `y = x·e^ℓ + s`, `ℓ = B·tanh(r/B)`, log-det `Σ ℓ`; with `t = tanh(r/B)`,
//! `∂ℓ/∂r = 1 − t²`: `∂/∂x = g_y·e^ℓ`, `∂/∂s = g_y`, `∂/∂r = (g_y·x·e^ℓ + g_ld)(1 − t²)`.
//! Inverse `x = (y − s)·e^−ℓ`, log-det `−Σ ℓ`: `∂/∂y = g_x·e^−ℓ`, `∂/∂s = −g_x·e^−ℓ`,
//! `∂/∂r = −(g_x·x + g_ld)(1 − t²)`.

use super::cpu_storage::{by_dtype, slice};
use crate::error::Result;
use candle_core::{CpuStorage, DType, Layout, Shape, Tensor, WithDType};
use num_traits::Float;
use rayon::prelude::*;

/// Rows × features below which a kernel runs on the calling thread (a training batch:
/// waking the pool costs more than the pass).
const PARALLEL_MIN_ELEMS: usize = 1 << 16;

/// `(y, Σ log-det)` of `v (n, d)` with `params (n, d, 2)` (`[shift, raw]` per feature),
/// forward or inverse, or `None` when the fused kernel does not apply (not the CPU, or
/// not f32/f64): the caller then takes the tensor-op path.
pub(crate) fn apply(
    bound: f64,
    v: &Tensor,
    params: &Tensor,
    inverse: bool,
) -> Result<Option<(Tensor, Tensor)>> {
    if !(v.device().is_cpu() && matches!(v.dtype(), DType::F32 | DType::F64)) {
        return Ok(None);
    }
    let (n, d) = v.dims2()?;
    let out = v
        .contiguous()?
        .apply_op2(&params.contiguous()?, AffineOp { bound, inverse })?;
    // Both views are contiguous (offsets into the flat output): no copies downstream.
    let y = out.narrow(0, 0, n * d)?.reshape((n, d))?;
    let ld = out.narrow(0, n * d, n)?;
    Ok(Some((y, ld)))
}

/// The forward op: `(v (n, d), params (n, d, 2))` → flat `n·d + n` = `[output (n, d)
/// row-major, Σ log-det (n)]`.
#[derive(Debug, Clone, Copy)]
struct AffineOp {
    bound: f64,
    inverse: bool,
}

/// The backward op: `(v, params, upstream (n·d + n, laid out as the forward output))` →
/// flat `3·n·d` = `[∂/∂v (n, d), ∂/∂params (n, d, 2)]`.
struct AffineGradOp(AffineOp);

/// Split `out` into `a` (rows of `wa`) and `b` (rows of `wb`, the same number of rows)
/// and fill row `i` of both with `row(i, a_i, b_i)`, in parallel for big batches.
fn rows<T: WithDType>(
    out: &mut [T],
    n: usize,
    (wa, wb): (usize, usize),
    row: impl Fn(usize, &mut [T], &mut [T]) + Sync,
) {
    let (a, b) = out.split_at_mut(n * wa);
    if n * (wa + wb) < PARALLEL_MIN_ELEMS {
        a.chunks_mut(wa)
            .zip(b.chunks_mut(wb))
            .enumerate()
            .for_each(|(i, (ra, rb))| row(i, ra, rb));
    } else {
        a.par_chunks_mut(wa)
            .zip(b.par_chunks_mut(wb))
            .enumerate()
            .for_each(|(i, (ra, rb))| row(i, ra, rb));
    }
}

/// `(t, ℓ)` = `(tanh(r/B), B·t)`.
#[inline]
fn log_scale<T: Float>(raw: T, bound: T) -> (T, T) {
    if bound == T::one() {
        let t = raw.tanh();
        (t, t)
    } else {
        let t = (raw / bound).tanh();
        (t, bound * t)
    }
}

/// Forward or inverse of rows `v (rows, d)` with `p (rows, d, 2)` into `y (rows, d)`
/// and `ld (rows)`, in three flat passes (log-scales into `y`, their row sums, then the
/// outputs over the log-scales): tight loops over contiguous memory, which the CPU
/// overlaps better than one pass with a closure per row (at d = 1, config (a), that
/// version was 1.3–1.6× slower than the tensor ops; docs/PERFORMANCE.md). The values
/// are the same as one pass computes: each element's operations in the same order.
fn fwd_rows<T: WithDType + Float>(
    op: &AffineOp,
    v: &[T],
    p: &[T],
    d: usize,
    y: &mut [T],
    ld: &mut [T],
) {
    let bound = T::from(op.bound).expect("bound fits the float type");
    for (o, pr) in y.iter_mut().zip(p.chunks_exact(2)) {
        *o = log_scale(pr[1], bound).1;
    }
    for (l, row) in ld.iter_mut().zip(y.chunks_exact(d)) {
        let s = row.iter().fold(T::zero(), |a, &b| a + b);
        *l = if op.inverse { -s } else { s };
    }
    for ((o, &x), pr) in y.iter_mut().zip(v).zip(p.chunks_exact(2)) {
        let (shift, ls) = (pr[0], *o);
        *o = if op.inverse {
            (x - shift) * (-ls).exp()
        } else {
            x * ls.exp() + shift
        };
    }
}

fn run_fwd<T: WithDType + Float>(op: &AffineOp, v: &[T], p: &[T], d: usize) -> Vec<T> {
    let n = v.len() / d;
    let mut out = vec![T::zero(); n * (d + 1)];
    let (y, ld) = out.split_at_mut(n * d);
    if n * (d + 1) < PARALLEL_MIN_ELEMS {
        fwd_rows(op, v, p, d, y, ld);
    } else {
        // Blocks of rows on the rayon pool, each about 8k elements.
        let rows = (1 << 13) / d + 1;
        y.par_chunks_mut(rows * d)
            .zip(ld.par_chunks_mut(rows))
            .zip(v.par_chunks(rows * d).zip(p.par_chunks(2 * rows * d)))
            .for_each(|((y, ld), (v, p))| fwd_rows(op, v, p, d, y, ld));
    }
    out
}

fn run_bwd<T: WithDType + Float>(op: &AffineOp, v: &[T], p: &[T], up: &[T], d: usize) -> Vec<T> {
    let n = v.len() / d;
    let bound = T::from(op.bound).expect("bound fits the float type");
    let mut out = vec![T::zero(); n * 3 * d];
    rows(&mut out, n, (d, 2 * d), |i, gv, gp| {
        let (x, pr) = (&v[i * d..(i + 1) * d], &p[2 * i * d..2 * (i + 1) * d]);
        let (g, g_ld) = (&up[i * d..(i + 1) * d], up[n * d + i]);
        for j in 0..d {
            let (shift, (t, ls)) = (pr[2 * j], log_scale(pr[2 * j + 1], bound));
            let dls = T::one() - t * t;
            if op.inverse {
                let e = (-ls).exp();
                let xo = (x[j] - shift) * e;
                gv[j] = g[j] * e;
                gp[2 * j] = -g[j] * e;
                gp[2 * j + 1] = -(g[j] * xo + g_ld) * dls;
            } else {
                let e = ls.exp();
                gv[j] = g[j] * e;
                gp[2 * j] = g[j];
                gp[2 * j + 1] = (g[j] * x[j] * e + g_ld) * dls;
            }
        }
    });
    out
}

/// A kernel's flat output as `(storage, shape)`.
fn storage<T: WithDType>(out: Vec<T>) -> candle_core::Result<(CpuStorage, Shape)> {
    let n = out.len();
    Ok((T::to_cpu_storage_owned(out), Shape::from(n)))
}

impl candle_core::CustomOp2 for AffineOp {
    fn name(&self) -> &'static str {
        "affine-map"
    }
    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let d = l1.dims()[1];
        by_dtype!(s1, T => storage(run_fwd::<T>(self, slice(s1, l1)?, slice(s2, l2)?, d)))
    }
    fn bwd(
        &self,
        v: &Tensor,
        p: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let (n, d) = v.dims2()?;
        let g = v.apply_op3_no_bwd(p, &grad.contiguous()?, &AffineGradOp(*self))?;
        Ok((
            Some(g.narrow(0, 0, n * d)?.reshape((n, d))?),
            Some(g.narrow(0, n * d, 2 * n * d)?.reshape((n, d, 2))?),
        ))
    }
}

impl candle_core::CustomOp3 for AffineGradOp {
    fn name(&self) -> &'static str {
        "affine-map-grad"
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
        let d = l1.dims()[1];
        by_dtype!(s1, T => {
            let (v, p, up) = (slice(s1, l1)?, slice(s2, l2)?, slice(s3, l3)?);
            storage(run_bwd::<T>(&self.0, v, p, up, d))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Affine, ElementwiseMap};
    use crate::error::Result;
    use candle_core::{DType, Device, Tensor, Var};

    /// Fused and tensor-op paths agree in f64 on values, log-dets and the gradients
    /// with respect to input and parameters, both directions, for two scale bounds
    /// (raw parameters large enough that tanh saturates for some elements).
    #[test]
    fn fused_matches_reference_f64() -> Result<()> {
        let dev = Device::Cpu;
        let (n, d) = (37, 5);
        for bound in [1.0, 2.5] {
            for inverse in [false, true] {
                let x = Var::from_tensor(&(Tensor::randn(0f64, 1.5, (n, d), &dev)?))?;
                let p = Var::from_tensor(&(Tensor::randn(0f64, 2.0, (n, d, 2), &dev)?))?;
                let wy = Tensor::randn(0f64, 1.0, (n, d), &dev)?;
                let wl = Tensor::randn(0f64, 1.0, n, &dev)?;
                let run = |fused: bool| -> Result<Vec<Vec<f64>>> {
                    let m = Affine::new(bound).with_fused(fused);
                    let (y, ld) = if inverse {
                        m.inverse(x.as_tensor(), p.as_tensor())?
                    } else {
                        m.forward(x.as_tensor(), p.as_tensor())?
                    };
                    let loss = ((y.clone() * &wy)?.sum_all()? + (ld.clone() * &wl)?.sum_all()?)?;
                    let g = loss.backward()?;
                    let flat = |t: &Tensor| t.flatten_all()?.to_vec1::<f64>();
                    Ok(vec![
                        flat(&y)?,
                        flat(&ld)?,
                        flat(g.get(x.as_tensor()).expect("x grad"))?,
                        flat(g.get(p.as_tensor()).expect("params grad"))?,
                    ])
                };
                let (fused, reference) = (run(true)?, run(false)?);
                for (k, (a, b)) in fused.iter().zip(&reference).enumerate() {
                    assert_eq!(a.len(), b.len());
                    let err = a
                        .iter()
                        .zip(b)
                        .map(|(a, b)| (a - b).abs())
                        .fold(0.0, f64::max);
                    assert!(
                        err < 1e-9,
                        "bound {bound} inverse {inverse}: output {k} differs by {err:e}"
                    );
                }
            }
        }
        Ok(())
    }

    /// In f32 the fused path stays within float rounding of the reference, the
    /// kernel's parallel path (big batch) gives the same rows as the serial one, and
    /// the outputs are contiguous.
    #[test]
    fn fused_f32_and_parallel_rows_agree() -> Result<()> {
        let dev = Device::Cpu;
        let (n, d) = (super::PARALLEL_MIN_ELEMS / 4 + 3, 6);
        let x = Tensor::randn(0f32, 1.0, (n, d), &dev)?;
        let p = Tensor::randn(0f32, 1.0, (n, d, 2), &dev)?;
        let m = Affine::new(1.0);
        let (y, ld) = m.forward(&x, &p)?;
        let (yr, ldr) = Affine::new(1.0).with_fused(false).forward(&x, &p)?;
        let max = |a: &Tensor, b: &Tensor| -> Result<f32> {
            Ok((a - b)?.abs()?.flatten_all()?.max(0)?.to_scalar::<f32>()?)
        };
        assert!(max(&y, &yr)? < 1e-5 && max(&ld, &ldr)? < 1e-5);
        let head = 100;
        let (ys, lds) = m.forward(&x.narrow(0, 0, head)?, &p.narrow(0, 0, head)?)?;
        assert_eq!(max(&ys, &y.narrow(0, 0, head)?)?, 0.0);
        assert_eq!(max(&lds, &ld.narrow(0, 0, head)?)?, 0.0);
        assert_eq!(y.dtype(), DType::F32);
        // Later layers gather columns, which candle only does on contiguous tensors.
        assert!(y.is_contiguous() && ld.is_contiguous());
        Ok(())
    }
}
