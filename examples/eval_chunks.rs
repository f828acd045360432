//! Evaluation at batch 10,000 (`log_prob` and `sample`) of the benchmark flows a, b, c
//! (as `benches/throughput.rs` builds them) whole and in row chunks of several sizes
//! (`flowinfer::flow::row_chunks`), the variants interleaved call by call so that a
//! shared machine's load falls on all of them alike. Prints the median wall ms per call
//! and events/s of each variant, and the process CPU ms per call (user + system, all
//! threads; from `/proc/self/stat`): on a loaded machine the wall times mostly measure
//! the other processes, the CPU time still measures the work, and `CPU / wall` how many
//! cores the variant kept busy.
//!
//! Run: `cargo run --release --example eval_chunks -- [configs a,b,c] [rounds 15]`

use candle_core::{DType, Device};
use flowinfer::flow::row_chunks::with_chunk_rows;
use flowinfer::flow::{Flow, FlowBuilder};
use rand::SeedableRng;
use std::time::Instant;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const BATCH: usize = 10_000;
/// Rows per chunk of each variant; 0 = the whole batch at once (gemm on the rayon pool).
const VARIANTS: [usize; 5] = [0, 512, 1024, 2048, 5000];

/// CPU seconds (user + system, all threads) this process has used.
fn cpu_s() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, r)| r.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn main() -> flowinfer::Result<()> {
    flowinfer::device::apply_cpu_thread_defaults();
    let args: Vec<String> = std::env::args().collect();
    let configs = args.get(1).cloned().unwrap_or_else(|| "a,b,c".into());
    let rounds: usize = args.get(2).and_then(|r| r.parse().ok()).unwrap_or(15);
    for name in configs.split(',') {
        let (d, blocks, spline, h) = match name {
            "a" => (2, 8, false, 64),
            "b" => (12, 8, false, 256),
            _ => (16, 10, true, 128),
        };
        let b = if spline {
            FlowBuilder::nsf(d).spline(8, 3.0)
        } else {
            FlowBuilder::realnvp(d)
        };
        let spec = b.blocks(blocks).hidden(h).layers(2).build_spec()?;
        let flow = Flow::new(spec, DType::F32, &Device::Cpu, 0)?;
        let mut rng = rand::rngs::StdRng::seed_from_u64(0);
        let x = flowinfer::random::randn(BATCH, d, DType::F32, &Device::Cpu, &mut rng)?;
        let mut lp = vec![Vec::new(); VARIANTS.len()];
        let mut smp = vec![Vec::new(); VARIANTS.len()];
        let mut cpu = vec![0.0; VARIANTS.len()];
        for round in 0..rounds + 1 {
            for (i, &rows) in VARIANTS.iter().enumerate() {
                let c0 = cpu_s();
                let t = Instant::now();
                with_chunk_rows(rows, || flow.log_prob_unchecked(&x, None))?;
                let a = t.elapsed().as_secs_f64();
                let t = Instant::now();
                with_chunk_rows(rows, || flow.sample(BATCH, None, &mut rng))?;
                let s = t.elapsed().as_secs_f64();
                if round > 0 {
                    cpu[i] += cpu_s() - c0;
                    lp[i].push(a);
                    smp[i].push(s);
                }
            }
        }
        for (i, &rows) in VARIANTS.iter().enumerate() {
            let (a, s) = (median(lp[i].clone()), median(smp[i].clone()));
            let c = cpu[i] / (2 * rounds) as f64;
            println!(
                "{name} chunk {:>5}: log_prob {:7.2} ms ({:7.0} ev/s)  sample {:7.2} ms ({:7.0} ev/s)  CPU {:7.2} ms/call",
                if rows == 0 { "whole".to_string() } else { rows.to_string() },
                a * 1e3,
                BATCH as f64 / a,
                s * 1e3,
                BATCH as f64 / s,
                c * 1e3
            );
        }
    }
    Ok(())
}
