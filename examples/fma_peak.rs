//! Measures the fp32 FMA peak of this CPU: a loop of independent fused multiply-adds
//! (12 accumulators, enough to cover the FMA latency on both pipes), 256-bit (AVX2)
//! and, where the CPU has it, 512-bit (AVX-512F), on one core and on every core of the
//! rayon pool at once. Prints GFLOP/s per width and the clock each implies for the
//! width's flops per cycle:
//!
//! - 256-bit: 2 FMA pipes × 8 lanes × 2 flops = 32 flops/cycle on every x86 core with
//!   two FMA units;
//! - 512-bit: 2 × 16 × 2 = 64 flops/cycle where the core has two 512-bit FMA units
//!   (Intel Xeon Gold/Platinum, AMD Zen 5 server parts), but 32 where AVX-512 runs as two
//!   256-bit halves (AMD Zen 4): then both widths measure the same.
//!
//! The best of the widths is the machine's measured peak (`scripts/gflops.sh` divides
//! achieved GFLOP/s by it). The last line, `peak_json {...}`, is for that script.
//!
//! Run: `cargo run --release --example fma_peak`

use std::time::Instant;

/// FMAs per accumulator per call (each call ≈ 0.1–0.2 s on one core).
const ITERS: usize = 200_000_000 / 12;

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn fma_loop_256(seed: f32) -> f32 {
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

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn fma_loop_512(seed: f32) -> f32 {
    use std::arch::x86_64::*;
    let a = _mm512_set1_ps(0.999_999);
    let b = _mm512_set1_ps(1e-7);
    let mut acc = [_mm512_set1_ps(seed); 12];
    for _ in 0..ITERS {
        for v in acc.iter_mut() {
            *v = _mm512_fmadd_ps(*v, a, b);
        }
    }
    acc.iter().map(|&v| _mm512_reduce_add_ps(v)).sum()
}

/// GFLOP/s of one loop call of `lanes` fp32 lanes on the calling thread.
fn one(lanes: usize, seed: f32) -> f64 {
    let t = Instant::now();
    // SAFETY: main checks the CPU features before asking for a width.
    let s = unsafe {
        if lanes == 16 {
            fma_loop_512(seed)
        } else {
            fma_loop_256(seed)
        }
    };
    let secs = t.elapsed().as_secs_f64();
    std::hint::black_box(s);
    (ITERS * 12 * lanes * 2) as f64 / secs / 1e9
}

/// Best of 5 of (one core, every pool thread at once) in GFLOP/s.
fn measure(lanes: usize) -> (f64, f64) {
    use rayon::prelude::*;
    let threads = rayon::current_num_threads();
    let single = (0..5).map(|i| one(lanes, i as f32)).fold(0.0, f64::max);
    let all = (0..5)
        .map(|_| {
            let t = Instant::now();
            (0..threads).into_par_iter().for_each(|i| {
                one(lanes, i as f32);
            });
            (threads * ITERS * 12 * lanes * 2) as f64 / t.elapsed().as_secs_f64() / 1e9
        })
        .fold(0.0, f64::max);
    (single, all)
}

fn main() {
    if !(is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")) {
        eprintln!("this measurement needs an x86-64 CPU with AVX2 and FMA");
        std::process::exit(2);
    }
    let threads = rayon::current_num_threads();
    let mut widths = vec![8];
    if is_x86_feature_detected!("avx512f") {
        widths.push(16);
    }
    let (mut best_single, mut best_all) = (0.0f64, 0.0f64);
    for lanes in widths {
        let (single, all) = measure(lanes);
        let flops_per_cycle = 2 * lanes * 2;
        println!(
            "{}-bit FMA loop: one core {single:.1} GFLOP/s (≈ {:.2} GHz if the core does \
             {flops_per_cycle} flops/cycle at this width, ≈ {:.2} GHz at 32); \
             {threads} cores together {all:.1} GFLOP/s",
            lanes * 32,
            single / flops_per_cycle as f64,
            single / 32.0
        );
        best_single = best_single.max(single);
        best_all = best_all.max(all);
    }
    println!(
        "measured fp32 FMA peak: one core {best_single:.1} GFLOP/s, {threads} cores {best_all:.1} GFLOP/s"
    );
    println!(
        "peak_json {{\"threads\":{threads},\"one_core_gflops\":{best_single:.2},\"all_cores_gflops\":{best_all:.2}}}"
    );
}
