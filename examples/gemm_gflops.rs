//! Achieved GFLOP/s of config (b) (12-D RealNVP, 8 affine couplings, hidden 256; the
//! model of `benches/throughput.rs`) at batch 10,000, for `scripts/gflops.sh`:
//!
//! 1. the three dense layers' products alone, `x·w + b` through
//!    [`flowinfer::nn::fused_linear::linear_forward`] (the gemm crate as flowinfer calls
//!    it: bias-initialised destination, rayon above `PARALLEL_MIN_WORK` when the pool has
//!    more than one thread), at `(10000 × 6)·(6 × 256)`, `(10000 × 256)·(256 × 256)` and
//!    `(10000 × 256)·(256 × 12)`;
//! 2. the flow's `log_prob` at batch 10,000 (the bench's evaluation figure), with the
//!    FLOPs per event counted from the model's layer shapes: every weight matrix
//!    `(in, out)` costs `2·in·out` flops per event (a multiply and an add per weight);
//!    biases, activations, the affine maps and the base density are left out (under 1 %
//!    here: about 4,300 element-wise operations per event against 1.12 M).
//!
//! The threads are the rayon pool's (`RAYON_NUM_THREADS`); the script runs this with 1
//! and with 2. Each time is the median of 7 windows of ~0.3 s. The last line,
//! `gflops_json {...}`, is what the script reads.
//!
//! Run: `RAYON_NUM_THREADS=2 cargo run --release --example gemm_gflops`

use candle_core::{DType, Device, Tensor};
use flowinfer::flow::{Flow, FlowBuilder};
use flowinfer::nn::fused_linear::linear_forward;
use rand::SeedableRng;
use std::time::Instant;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Evaluation batch of the throughput bench.
const BATCH: usize = 10_000;

/// Median seconds per call of `f` over 7 windows of ~0.3 s (after a warm-up call and
/// a calibration of the repetitions).
fn seconds_per_call(mut f: impl FnMut()) -> f64 {
    f();
    let t = Instant::now();
    let mut reps = 0usize;
    while t.elapsed().as_secs_f64() < 0.1 {
        f();
        reps += 1;
    }
    let per = t.elapsed().as_secs_f64() / reps as f64;
    let reps = ((0.3 / per).ceil() as usize).max(1);
    let mut v: Vec<f64> = (0..7)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..reps {
                f();
            }
            t.elapsed().as_secs_f64() / reps as f64
        })
        .collect();
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// Config (b) exactly as `benches/throughput.rs` builds it (565,344 parameters).
fn flow_b() -> flowinfer::Result<Flow> {
    let spec = FlowBuilder::realnvp(12)
        .blocks(8)
        .hidden(256)
        .layers(2)
        .build_spec()?;
    let flow = Flow::new(spec, DType::F32, &Device::Cpu, 0)?;
    assert_eq!(flow.params().num_parameters(), 565_344, "config (b) size");
    Ok(flow)
}

/// Flops per event of a forward pass: `2·in·out` for every weight matrix of the flow.
fn flops_per_event(flow: &Flow) -> usize {
    flow.params()
        .all_vars()
        .iter()
        .filter_map(|v| v.as_tensor().dims2().ok())
        .map(|(i, o)| 2 * i * o)
        .sum()
}

fn main() -> flowinfer::Result<()> {
    flowinfer::device::apply_cpu_thread_defaults();
    let threads = rayon::current_num_threads();
    let dev = Device::Cpu;
    let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    println!("flowinfer, rayon threads {threads}, batch {BATCH}");
    let mut gemm_rows = Vec::new();
    for (k, n) in [(6usize, 256usize), (256, 256), (256, 12)] {
        let x = flowinfer::random::randn(BATCH, k, DType::F32, &dev, &mut rng)?;
        let w = (flowinfer::random::randn(k, n, DType::F32, &dev, &mut rng)? / (k as f64).sqrt())?;
        let b = flowinfer::random::randn(1, n, DType::F32, &dev, &mut rng)?.flatten_all()?;
        let s = seconds_per_call(|| {
            let y: Tensor = linear_forward(&x, &w, &b).expect("linear");
            std::hint::black_box(y);
        });
        let gf = 2.0 * (BATCH * k * n) as f64 / s / 1e9;
        println!(
            "  x·w + b {BATCH} × {k:3} × {n:3}: {:8.3} ms  {gf:6.1} GFLOP/s",
            s * 1e3
        );
        gemm_rows.push(format!(
            "{{\"m\":{BATCH},\"k\":{k},\"n\":{n},\"ms\":{:.4},\"gflops\":{gf:.2}}}",
            s * 1e3
        ));
    }
    let flow = flow_b()?;
    let flops = flops_per_event(&flow);
    let xe = flowinfer::random::randn(BATCH, 12, DType::F32, &dev, &mut rng)?;
    let s = seconds_per_call(|| {
        let l = flow.log_prob_unchecked(&xe, None).expect("log_prob");
        std::hint::black_box(l);
    });
    let ev_s = BATCH as f64 / s;
    let gf = ev_s * flops as f64 / 1e9;
    println!(
        "  (b) log_prob at {BATCH}: {ev_s:.0} events/s × {flops} flops/event = {gf:.1} GFLOP/s"
    );
    println!(
        "gflops_json {{\"side\":\"flowinfer\",\"threads\":{threads},\"gemm\":[{}],\
         \"flops_per_event\":{flops},\"logprob_ev_s\":{ev_s:.1},\"logprob_gflops\":{gf:.2}}}",
        gemm_rows.join(",")
    );
    Ok(())
}
