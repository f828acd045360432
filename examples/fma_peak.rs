//! Measures the fp32 FMA peak of this CPU: a loop of independent 256-bit fused
//! multiply-adds (12 accumulators, enough to cover the FMA latency on both pipes),
//! on one core and on every core of the rayon pool at once. Prints GFLOP/s and the
//! clock it implies for a core with two 256-bit FMA pipes (AMD Zen 4 runs AVX-512 as
//! two 256-bit halves, so 512-bit code has the same peak): 2 pipes × 8 lanes × 2 flops
//! = 32 flops per cycle.
//!
//! Run: `cargo run --release --example fma_peak`

use std::time::Instant;

const ITERS: usize = 200_000_000 / 12;

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn fma_loop(seed: f32) -> f32 {
    use std::arch::x86_64::*;
    let a = _mm256_set1_ps(0.999_999);
    let b = _mm256_set1_ps(1e-7);
    let mut acc = [_mm256_set1_ps(seed); 12];
    for _ in 0..ITERS {
        for v in acc.iter_mut() {
            *v = _mm256_fmadd_ps(*v, a, b);
        }
    }
    let mut s = 0.0;
    for v in acc {
        let mut o = [0f32; 8];
        _mm256_storeu_ps(o.as_mut_ptr(), v);
        s += o.iter().sum::<f32>();
    }
    s
}

/// GFLOP/s of one `fma_loop` call on the calling thread.
fn one(seed: f32) -> f64 {
    let t = Instant::now();
    // SAFETY: the CPU check in main guarantees AVX2 and FMA.
    let s = unsafe { fma_loop(seed) };
    let secs = t.elapsed().as_secs_f64();
    std::hint::black_box(s);
    (ITERS * 12 * 8 * 2) as f64 / secs / 1e9
}

fn main() {
    if !(is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")) {
        eprintln!("this measurement needs an x86-64 CPU with AVX2 and FMA");
        std::process::exit(2);
    }
    let best_single = (0..5).map(|i| one(i as f32)).fold(0.0, f64::max);
    let threads = rayon::current_num_threads();
    let best_all = (0..5)
        .map(|_| {
            use rayon::prelude::*;
            let t = Instant::now();
            (0..threads).into_par_iter().for_each(|i| {
                one(i as f32);
            });
            (threads * ITERS * 12 * 8 * 2) as f64 / t.elapsed().as_secs_f64() / 1e9
        })
        .fold(0.0, f64::max);
    println!(
        "fp32 FMA peak: one core {best_single:.1} GFLOP/s (≈ {:.2} GHz at 32 flops/cycle); \
         {threads} cores together {best_all:.1} GFLOP/s",
        best_single / 32.0
    );
}
