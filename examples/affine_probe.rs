//! Single-threaded probe of the affine map at the benchmark's evaluation shapes: the
//! fused CPU kernel against the tensor-op path, forward, at batch 10,000 with d = 1
//! (config a) and d = 6 (config b). Median µs per call over 9 windows; run it with
//! `CANDLE_NUM_THREADS=1 RAYON_NUM_THREADS=1 cargo run --release --example affine_probe`.

use candle_core::{DType, Device, Tensor};
use flowinfer::transforms::{Affine, ElementwiseMap};
use rand::SeedableRng;
use std::time::Instant;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Median µs per call of `f` over 9 windows of ~50 ms.
fn micros(mut f: impl FnMut()) -> f64 {
    f();
    let t = Instant::now();
    let mut reps = 0usize;
    while t.elapsed().as_secs_f64() < 0.02 {
        f();
        reps += 1;
    }
    let reps = (reps * 5 / 2).max(1);
    let mut v: Vec<f64> = (0..9)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..reps {
                f();
            }
            t.elapsed().as_secs_f64() * 1e6 / reps as f64
        })
        .collect();
    v.sort_by(|a, b| a.total_cmp(b));
    v[4]
}

fn main() -> flowinfer::Result<()> {
    let dev = Device::Cpu;
    let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    for d in [1usize, 6] {
        let n = 10_000;
        let x = flowinfer::random::randn(n, d, DType::F32, &dev, &mut rng)?;
        let p =
            flowinfer::random::randn(n, 2 * d, DType::F32, &dev, &mut rng)?.reshape((n, d, 2))?;
        for fused in [true, false] {
            let m = Affine::new(1.0).with_fused(fused);
            let fwd = micros(|| {
                let (y, ld) = m.forward(&x, &p).expect("forward");
                std::hint::black_box((y, ld));
            });
            // What the coupling does next with the outputs: join and accumulate.
            let a = x.clone();
            let acc = Tensor::zeros(n, DType::F32, &dev)?;
            let chain = micros(|| {
                let (y, ld) = m.forward(&x, &p).expect("forward");
                let j = Tensor::cat(&[&a, &y], 1).expect("cat");
                let s = (&acc + &ld).expect("add");
                std::hint::black_box((j, s));
            });
            println!(
                "d = {d}, {}: forward {fwd:8.1} µs; forward + cat + log-det sum {chain:8.1} µs",
                if fused {
                    "fused kernel"
                } else {
                    "tensor ops  "
                }
            );
        }
    }
    Ok(())
}
