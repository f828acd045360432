//! Large batches through the transform stack on all cores: the rows are cut into
//! chunks that run through the whole stack in parallel on the rayon pool, and the
//! results are concatenated.
//!
//! Every layer of a flow acts on each row separately, so a batch can be cut anywhere.
//! Cutting it for evaluation helps twice on the CPU: candle's element-wise ops run on
//! one thread (`CANDLE_NUM_THREADS=1`, the binaries' default, right for small training
//! batches) and now every chunk has a core; and a chunk's activations (1,024 rows × 256
//! floats = 1 MiB) stay in the core's L2 cache between layers instead of streaming
//! 10 MiB tensors through memory once per op. Inside a chunk the gemm calls run on the
//! calling thread (see [`crate::nn::fused_linear::gemm_parallelism`]).
//!
//! Autograd still works through the chunks (the concatenation is differentiable), so
//! the policy depends only on the batch size. Batches of fewer than [`MIN_ROWS`] rows
//! (8,192) run whole: that keeps every training batch of the shipped specs and the
//! benchmarks (`integrate`'s 4,096 included) on the unchunked path, so chunking is an
//! evaluation-size policy (batch-10k `log_prob`/`sample`, `integrate`'s 16,384-point
//! evaluation batches). Chunks change gemm's blocking, so values agree with the whole
//! batch to rounding, not bit for bit; chunked runs are still deterministic.
//!
//! **On by default** (1,024 rows; `FLOWINFER_CHUNK_ROWS=0` switches it off, another
//! value sets the chunk): in the quiet sitting of docs/PERFORMANCE.md ("Quiet sitting,
//! 2026-12-07") it made batch-10k evaluation 1.2–1.8× faster in both interleaved runs.
//! On a host whose second core is busy it can be slower (the loaded sittings there).

use crate::error::Result;
use candle_core::Tensor;
use std::cell::Cell;
use std::sync::OnceLock;

/// Rows per chunk by default (see the module notes; `FLOWINFER_CHUNK_ROWS` overrides it,
/// 0 switches chunking off).
pub const CHUNK_ROWS: usize = 1024;

/// Smallest batch that is cut into chunks (unless `FLOWINFER_CHUNK_ROWS` says otherwise).
pub const MIN_ROWS: usize = 8192;

thread_local! {
    /// The rows per chunk set by [`with_chunk_rows`] on this thread, if any.
    static OVERRIDE: Cell<Option<usize>> = const { Cell::new(None) };
}

/// Run `f` with `rows` rows per chunk on this thread (0: no chunking), whatever
/// [`chunk_rows`] says; for comparisons of the policies (tests, `examples/eval_chunks.rs`).
///
/// ```
/// use flowinfer::flow::row_chunks::{chunk_rows, with_chunk_rows};
/// assert_eq!(with_chunk_rows(0, chunk_rows), 0);
/// ```
pub fn with_chunk_rows<R>(rows: usize, f: impl FnOnce() -> R) -> R {
    let before = OVERRIDE.with(|o| o.replace(Some(rows)));
    let out = f();
    OVERRIDE.with(|o| o.set(before));
    out
}

/// Rows per chunk: [`CHUNK_ROWS`], or `FLOWINFER_CHUNK_ROWS` when set (0 switches the
/// chunking off; read once), or what [`with_chunk_rows`] set on this thread.
pub fn chunk_rows() -> usize {
    if let Some(rows) = OVERRIDE.with(Cell::get) {
        return rows;
    }
    static ROWS: OnceLock<usize> = OnceLock::new();
    *ROWS.get_or_init(|| {
        std::env::var("FLOWINFER_CHUNK_ROWS")
            .ok()
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(CHUNK_ROWS)
    })
}

/// The chunk length for a batch of `rows` on `input`'s device, or `None` when the batch
/// runs whole: not on the CPU, a single-thread pool, already inside a rayon task, chunking
/// switched off, or fewer than `max(MIN_ROWS, 2 · chunk)` rows.
fn plan(input: &Tensor, rows: usize) -> Option<usize> {
    let chunk = chunk_rows();
    let enough = rows >= MIN_ROWS.max(2 * chunk);
    let parallel = rayon::current_num_threads() > 1 && rayon::current_thread_index().is_none();
    (chunk > 0 && enough && parallel && input.device().is_cpu()).then_some(chunk)
}

/// `run(input, ctx)` on the whole batch, or on row chunks in parallel with the outputs
/// concatenated along the rows (both returned tensors have the batch as first axis).
pub fn map_rows(
    input: &Tensor,
    ctx: Option<&Tensor>,
    run: impl Fn(&Tensor, Option<&Tensor>) -> Result<(Tensor, Tensor)> + Sync,
) -> Result<(Tensor, Tensor)> {
    let rows = input.dim(0)?;
    let Some(chunk) = plan(input, rows) else {
        return run(input, ctx);
    };
    use rayon::prelude::*;
    let starts: Vec<usize> = (0..rows).step_by(chunk).collect();
    let parts = starts
        .par_iter()
        .map(|&s| {
            let len = chunk.min(rows - s);
            let c = ctx.map(|c| c.narrow(0, s, len)).transpose()?;
            run(&input.narrow(0, s, len)?, c.as_ref())
        })
        .collect::<Result<Vec<_>>>()?;
    let (hs, lds): (Vec<Tensor>, Vec<Tensor>) = parts.into_iter().unzip();
    Ok((Tensor::cat(&hs, 0)?, Tensor::cat(&lds, 0)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{DType, Device};

    /// Chunked and whole runs of a row-wise map agree exactly, context rows included.
    #[test]
    fn chunks_cover_every_row_once() -> Result<()> {
        let dev = Device::Cpu;
        let chunk = CHUNK_ROWS;
        let rows = MIN_ROWS.max(2 * chunk) + 37;
        let x = Tensor::arange(0f32, (rows * 3) as f32, &dev)?.reshape((rows, 3))?;
        let c = Tensor::arange(0f32, rows as f32, &dev)?.reshape((rows, 1))?;
        let f = |x: &Tensor, c: Option<&Tensor>| -> Result<(Tensor, Tensor)> {
            let c = c.expect("context");
            Ok((x.broadcast_add(c)?, x.sum(1)?))
        };
        let (h, ld) = with_chunk_rows(chunk, || map_rows(&x, Some(&c), f))?;
        let (he, lde) = f(&x, Some(&c))?;
        assert_eq!(h.to_vec2::<f32>()?, he.to_vec2::<f32>()?);
        assert_eq!(ld.to_vec1::<f32>()?, lde.to_vec1::<f32>()?);
        assert_eq!(h.dtype(), DType::F32);
        Ok(())
    }

    /// A RealNVP and an NSF give the same log densities, samples and gradients in
    /// chunks as whole (f64: to rounding; the chunks only change gemm's blocking).
    #[test]
    fn flows_agree_chunked_and_whole() -> Result<()> {
        use crate::flow::{Flow, FlowBuilder};
        use rand::SeedableRng;
        let dev = Device::Cpu;
        for (i, b) in [FlowBuilder::realnvp(4), FlowBuilder::nsf(4).spline(8, 3.0)]
            .into_iter()
            .enumerate()
        {
            let spec = b.blocks(2).hidden(16).layers(2).build_spec()?;
            let flow = Flow::new(spec, DType::F64, &dev, i as u64)?;
            let rows = 2 * MIN_ROWS + 5;
            let mut rng = rand::rngs::StdRng::seed_from_u64(3);
            let x = crate::random::randn(rows, 4, DType::F64, &dev, &mut rng)?;
            let lp = |chunk| with_chunk_rows(chunk, || flow.log_prob(&x, None));
            let (whole, chunked) = (lp(0)?, lp(1000)?);
            let diff = (whole.clone() - &chunked)?
                .abs()?
                .max(0)?
                .to_scalar::<f64>()?;
            assert!(diff < 1e-12, "flow {i}: log_prob differs by {diff:e}");
            let grad = |lp: &Tensor| -> Result<Tensor> {
                let g = lp.mean_all()?.backward()?;
                let v = &flow.params().all_vars()[0];
                Ok(g.get(v.as_tensor()).expect("gradient").clone())
            };
            let gd = (grad(&whole)? - grad(&chunked)?)?
                .abs()?
                .flatten_all()?
                .max(0)?;
            assert!(gd.to_scalar::<f64>()? < 1e-12, "flow {i}: gradients differ");
            let sample = |chunk| {
                let mut rng = rand::rngs::StdRng::seed_from_u64(4);
                with_chunk_rows(chunk, || flow.sample(rows, None, &mut rng))
            };
            let sd = (sample(0)? - sample(1000)?)?.abs()?.flatten_all()?.max(0)?;
            assert!(sd.to_scalar::<f64>()? < 1e-12, "flow {i}: samples differ");
        }
        Ok(())
    }
}
