//! Fused CPU kernel of both rational-quadratic splines: one pass per element computes
//! the output and log-derivative, and a hand-derived backward pass the gradients with
//! respect to the input and every raw parameter. This replaces ~60 tensor operations
//! (and their autograd graph) per layer on the CPU; the composite tensor-op path in
//! `rq_reference.rs` is the reference and runs on other devices. Arithmetic is in the
//! tensor's dtype (f32 or f64); the per-element math is in `rq_core.rs`.

use super::cpu_storage::{by_dtype, slice};
use super::rq_core::{Frame, Knots, RqShape};
use super::rq_reference;
use crate::error::Result;
use candle_core::{CpuStorage, DType, Layout, Shape, Tensor, WithDType, D};
use num_traits::Float;
use rayon::prelude::*;

/// Map `v (n, d)` with `params (n, d, P)` forward or inverse: `(out, Σ log-det)`. Uses
/// the fused kernel when `fused` and the tensors are f32/f64 on the CPU, the
/// tensor-op reference otherwise.
pub(crate) fn apply<Fr: Frame>(
    shape: RqShape<Fr>,
    fused: bool,
    v: &Tensor,
    params: &Tensor,
    inverse: bool,
) -> Result<(Tensor, Tensor)> {
    let ok = fused && v.device().is_cpu() && matches!(v.dtype(), DType::F32 | DType::F64);
    if !ok {
        return rq_reference::apply(&shape, v, params, inverse);
    }
    let (n, d) = v.dims2()?;
    let np = params.dim(D::Minus1)?;
    let flat = v.contiguous()?.reshape(n * d)?;
    let p = params.contiguous()?.reshape((n * d, np))?;
    let out = flat.apply_op2(&p, RqOp { shape, inverse })?;
    let y = out.narrow(1, 0, 1)?.reshape((n, d))?;
    let ld = out.narrow(1, 1, 1)?.reshape((n, d))?.sum(1)?;
    Ok((y, ld))
}

/// Elements per rayon task.
const CHUNK: usize = 512;

/// `(storage, (n, width))` from a kernel's `n · width` outputs.
fn storage<T: WithDType>(out: Vec<T>, width: usize) -> candle_core::Result<(CpuStorage, Shape)> {
    let n = out.len() / width;
    Ok((T::to_cpu_storage_owned(out), Shape::from((n, width))))
}

/// The forward op: `(values (n), params (n, P))` → `(n, 2)` = `[output, log-derivative]`.
#[derive(Debug, Clone, Copy)]
struct RqOp<Fr> {
    shape: RqShape<Fr>,
    inverse: bool,
}

/// Run `f(i, knots, row)` for each of `n` elements, `row` being its `width` outputs,
/// in parallel chunks; the knots of element `i` are filled in from its parameters.
fn map_elements<T: WithDType + Float, Fr: Frame>(
    sh: &RqShape<Fr>,
    p: &[T],
    n: usize,
    width: usize,
    f: impl Fn(usize, &mut Knots<T>, &mut [T]) + Sync,
) -> Vec<T> {
    let np = sh.params();
    let mut out = vec![T::zero(); width * n];
    out.par_chunks_mut(width * CHUNK)
        .enumerate()
        .for_each(|(c, o)| {
            let mut kn = Knots::<T>::new(sh);
            for (j, row) in o.chunks_mut(width).enumerate() {
                let i = c * CHUNK + j;
                sh.fill(&p[i * np..(i + 1) * np], &mut kn);
                f(i, &mut kn, row);
            }
        });
    out
}

fn run_fwd<T: WithDType + Float, Fr: Frame>(op: &RqOp<Fr>, v: &[T], p: &[T]) -> Vec<T> {
    let sh = op.shape;
    map_elements(&sh, p, v.len(), 2, |i, kn, pair| {
        let (y, ld, _) = if op.inverse {
            sh.inverse_one(kn, v[i])
        } else {
            sh.forward_one(kn, v[i])
        };
        pair[0] = y;
        pair[1] = ld;
    })
}

impl<Fr: Frame> candle_core::CustomOp2 for RqOp<Fr> {
    fn name(&self) -> &'static str {
        Fr::OP_NAMES.0
    }
    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        by_dtype!(s1, T => storage(run_fwd::<T, Fr>(self, slice(s1, l1)?, slice(s2, l2)?), 2))
    }
    fn bwd(
        &self,
        v: &Tensor,
        p: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let g = v.apply_op3_no_bwd(p, &grad.contiguous()?, &RqGradOp(*self))?;
        let np = self.shape.params();
        Ok((
            Some(g.narrow(1, 0, 1)?.squeeze(1)?),
            Some(g.narrow(1, 1, np)?.contiguous()?),
        ))
    }
}

/// The backward op: `(values, params, upstream (n, 2))` → `(n, 1 + P)` =
/// `[∂/∂value, ∂/∂params]`.
struct RqGradOp<Fr>(RqOp<Fr>);

fn run_bwd<T: WithDType + Float, Fr: Frame>(op: &RqOp<Fr>, v: &[T], p: &[T], up: &[T]) -> Vec<T> {
    let sh = op.shape;
    let w = sh.params() + 1;
    map_elements(&sh, p, v.len(), w, |i, kn, row| {
        let (g0, g1) = (up[2 * i], up[2 * i + 1]);
        let (gin, gpar) = row.split_at_mut(1);
        if op.inverse {
            match sh.inverse_one(kn, v[i]).2 {
                None => gin[0] = g0,
                Some(l) => {
                    // y(x, p) with x = x(y, p): dy/dx = H·R_θ/W, d ld/dx = l_θ/W.
                    let fx = l.h * l.r_t / l.w;
                    let lx = l.l_t / l.w;
                    gin[0] = (g0 - g1 * lx) / fx;
                    let a = (-g0 + g1 * lx) / fx;
                    sh.param_grad(kn, &l, a, -g1, gpar);
                }
            }
        } else {
            match sh.forward_one(kn, v[i]).2 {
                None => gin[0] = g0,
                Some(l) => gin[0] = sh.param_grad(kn, &l, g0, g1, gpar) / l.w,
            }
        }
    })
}

impl<Fr: Frame> candle_core::CustomOp3 for RqGradOp<Fr> {
    fn name(&self) -> &'static str {
        Fr::OP_NAMES.1
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
        let (op, w) = (&self.0, self.0.shape.params() + 1);
        by_dtype!(s1, T => {
            let (v, p, up) = (slice(s1, l1)?, slice(s2, l2)?, slice(s3, l3)?);
            storage(run_bwd::<T, Fr>(op, v, p, up), w)
        })
    }
}
