//! Per-phase timing of one training step (forward, forward + backward, optimizer step)
//! for the benchmark configurations a, b, c: `cargo run --release --example probe -- b`.
use candle_core::{DType, Device};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use flowinfer::flow::{Flow, FlowBuilder};
use rand::SeedableRng;
use std::time::Instant;
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let cfg = args.get(1).map(|s| s.as_str()).unwrap_or("b");
    let (d, blocks, spline, h, batch) = match cfg {
        "a" => (2, 8, false, 64, 256),
        "b" => (12, 8, false, 256, 128),
        _ => (16, 10, true, 128, 1024),
    };
    let b = if spline {
        FlowBuilder::nsf(d).spline(8, 3.0)
    } else {
        FlowBuilder::realnvp(d)
    };
    let flow = Flow::new(
        b.blocks(blocks).hidden(h).build_spec().unwrap(),
        DType::F32,
        &Device::Cpu,
        0,
    )
    .unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    let x = flowinfer::random::randn(batch, d, DType::F32, &Device::Cpu, &mut rng).unwrap();
    let mut opt = AdamW::new(
        flow.params().all_vars(),
        ParamsAdamW {
            lr: 1e-3,
            weight_decay: 0.0,
            ..Default::default()
        },
    )
    .unwrap();
    let n = 100;
    let t = Instant::now();
    for _ in 0..n {
        let _ = flow
            .log_prob_unchecked(&x, None)
            .unwrap()
            .mean_all()
            .unwrap();
    }
    let f = t.elapsed().as_secs_f64() / n as f64;
    let t = Instant::now();
    let mut g = None;
    for _ in 0..n {
        let l = flow
            .log_prob_unchecked(&x, None)
            .unwrap()
            .mean_all()
            .unwrap()
            .neg()
            .unwrap();
        g = Some(l.backward().unwrap());
    }
    let fb = t.elapsed().as_secs_f64() / n as f64;
    let g = g.unwrap();
    let t = Instant::now();
    for _ in 0..n {
        opt.step(&g).unwrap();
    }
    let s = t.elapsed().as_secs_f64() / n as f64;
    let mut ours =
        flowinfer::train::Adam::new(flow.params().all_vars(), Default::default()).unwrap();
    let t = Instant::now();
    for _ in 0..n {
        ours.step_scaled(&g, 1.0).unwrap();
    }
    let s2 = t.elapsed().as_secs_f64() / n as f64;
    println!("ours adam {:.2} ms", s2 * 1e3);
    println!(
        "{cfg}: forward {:.2} ms, forward+backward {:.2} ms, adam step {:.2} ms",
        f * 1e3,
        fb * 1e3,
        s * 1e3
    );
}
