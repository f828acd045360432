//! Times the three gemm calls of a dense layer (forward `x·w + b`, `g·wᵀ`, `xᵀ·g`) on
//! one thread (`Parallelism::None`) and on the rayon pool, for the shapes of the
//! benchmark flows and a sweep around them: the data behind
//! `flowinfer::nn::fused_linear::PARALLEL_MIN_WORK`.
//!
//! Run: `cargo run --release --example gemm_threshold`

use gemm::Parallelism;
use std::time::Instant;

/// Median µs per call of `f` over 7 windows of ~20 ms.
fn time_us(mut f: impl FnMut()) -> f64 {
    for _ in 0..3 {
        f();
    }
    let t = Instant::now();
    let mut calib = 0usize;
    while t.elapsed().as_secs_f64() < 0.005 {
        f();
        calib += 1;
    }
    let reps = ((calib as f64) * 4.0).max(1.0) as usize;
    let mut v: Vec<f64> = (0..7)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..reps {
                f();
            }
            t.elapsed().as_secs_f64() * 1e6 / reps as f64
        })
        .collect();
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[3]
}

/// `dst (m×n) = [dst +] lhs·rhs` with explicit strides (row-major dst).
#[allow(clippy::too_many_arguments)]
fn run(
    dst: &mut [f32],
    read_dst: bool,
    m: usize,
    n: usize,
    k: usize,
    lhs: &[f32],
    (lhs_rs, lhs_cs): (isize, isize),
    rhs: &[f32],
    (rhs_rs, rhs_cs): (isize, isize),
    par: Parallelism,
) {
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            read_dst,
            lhs.as_ptr(),
            lhs_cs,
            lhs_rs,
            rhs.as_ptr(),
            rhs_cs,
            rhs_rs,
            1.0,
            1.0,
            false,
            false,
            false,
            par,
        )
    }
}

fn main() {
    let threads = rayon::current_num_threads();
    // (batch, in, out)
    let shapes: &[(usize, usize, usize)] = &[
        (256, 2, 64),
        (256, 64, 64),
        (256, 64, 2),
        (128, 12, 256),
        (128, 256, 256),
        (128, 256, 12),
        (1024, 8, 128),
        (1024, 128, 128),
        (1024, 128, 184),
        (512, 64, 64),
        (256, 128, 64),
        (256, 128, 128),
        (1024, 64, 64),
        (128, 128, 256),
        (256, 256, 128),
        (512, 128, 128),
        (512, 256, 256),
        (1024, 256, 256),
        (2048, 128, 128),
        (2048, 256, 256),
        (10000, 64, 64),
        (10000, 128, 128),
        (10000, 256, 256),
    ];
    println!("rayon threads: {threads}; µs per call, 1 thread / {threads} threads (ratio)");
    println!(
        "{:>6} {:>4} {:>4} {:>11} | {:>26} | {:>26} | {:>26} | {:>26}",
        "batch", "in", "out", "m·n·k", "x·w + b (bias-init dst)", "g·wᵀ", "xᵀ·g", "x·w, then + b"
    );
    for &(batch, din, dout) in shapes {
        let x: Vec<f32> = (0..batch * din).map(|i| (i % 7) as f32 * 0.1).collect();
        let w: Vec<f32> = (0..din * dout).map(|i| (i % 5) as f32 * 0.1).collect();
        let g: Vec<f32> = (0..batch * dout).map(|i| (i % 3) as f32 * 0.1).collect();
        let bias: Vec<f32> = vec![0.5; dout];
        let mut cells = Vec::new();
        for which in 0..4 {
            let mut r = [0.0; 2];
            for (p, par) in [Parallelism::None, Parallelism::Rayon(threads)]
                .into_iter()
                .enumerate()
            {
                r[p] = match which {
                    0 => time_us(|| {
                        let mut dst = Vec::with_capacity(batch * dout);
                        for _ in 0..batch {
                            dst.extend_from_slice(&bias);
                        }
                        run(
                            &mut dst,
                            true,
                            batch,
                            dout,
                            din,
                            &x,
                            (din as isize, 1),
                            &w,
                            (dout as isize, 1),
                            par,
                        );
                        std::hint::black_box(&dst);
                    }),
                    // the alternative: gemm into zeros, then add the bias
                    3 => time_us(|| {
                        let mut dst = vec![0f32; batch * dout];
                        run(
                            &mut dst,
                            false,
                            batch,
                            dout,
                            din,
                            &x,
                            (din as isize, 1),
                            &w,
                            (dout as isize, 1),
                            par,
                        );
                        for row in dst.chunks_exact_mut(dout) {
                            for (d, b) in row.iter_mut().zip(&bias) {
                                *d += b;
                            }
                        }
                        std::hint::black_box(&dst);
                    }),
                    // g (batch×out) · wᵀ (out×in): wᵀ strides (1, out)
                    1 => time_us(|| {
                        let mut dst = vec![0f32; batch * din];
                        run(
                            &mut dst,
                            false,
                            batch,
                            din,
                            dout,
                            &g,
                            (dout as isize, 1),
                            &w,
                            (1, dout as isize),
                            par,
                        );
                        std::hint::black_box(&dst);
                    }),
                    // xᵀ (in×batch) · g (batch×out): xᵀ strides (1, in)
                    _ => time_us(|| {
                        let mut dst = vec![0f32; din * dout];
                        run(
                            &mut dst,
                            false,
                            din,
                            dout,
                            batch,
                            &x,
                            (1, din as isize),
                            &g,
                            (dout as isize, 1),
                            par,
                        );
                        std::hint::black_box(&dst);
                    }),
                };
            }
            cells.push(format!(
                "{:>9.1} / {:>8.1} ({:.2})",
                r[0],
                r[1],
                r[1] / r[0]
            ));
        }
        println!(
            "{:>6} {:>4} {:>4} {:>11} | {} | {} | {} | {}",
            batch,
            din,
            dout,
            batch * din * dout,
            cells[0],
            cells[1],
            cells[2],
            cells[3]
        );
    }
}
