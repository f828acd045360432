//! Throughput of the classic variational flows (docs/CLASSIC_FLOWS.md): a 32-layer
//! planar flow (and, for comparison, radial and Sylvester flows of the same depth) at
//! batch 10,000, in both directions:
//!
//! * density (`log_prob`: data → latent, per-event root finding for planar and
//!   Sylvester, closed form for radial);
//! * sampling (`sample_and_log_prob`: latent → data, explicit tensor ops).
//!
//! Each figure is the median events/s over `--windows` windows of `--window-s` seconds.
//!
//! Run: `cargo bench --bench classic_flows -- [--dim 8] [--layers 32] [--batch 10000]
//! [--kinds planar,radial,sylvester] [--dtype f64] [--windows 5] [--window-s 1.0]`

use flowinfer::flow::{Flow, FlowBuilder, FlowConfig};
use rand::SeedableRng;
use std::time::Instant;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Median, min and max of calls per second over `windows` windows of ~`window_s` seconds.
fn rate(mut f: impl FnMut(), windows: usize, window_s: f64) -> (f64, f64, f64) {
    f();
    let t = Instant::now();
    let mut reps = 0usize;
    while t.elapsed().as_secs_f64() < 0.2 {
        f();
        reps += 1;
    }
    let per = t.elapsed().as_secs_f64() / reps as f64;
    let reps = ((window_s / per).ceil() as usize).max(1);
    let mut rates: Vec<f64> = (0..windows)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..reps {
                f();
            }
            reps as f64 / t.elapsed().as_secs_f64()
        })
        .collect();
    rates.sort_by(|a, b| a.total_cmp(b));
    (rates[rates.len() / 2], rates[0], rates[rates.len() - 1])
}

fn arg(args: &[String], name: &str, default: &str) -> String {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
        .unwrap_or_else(|| default.to_string())
}

fn main() -> flowinfer::Result<()> {
    flowinfer::device::apply_cpu_thread_defaults();
    let args: Vec<String> = std::env::args().collect();
    let dim: usize = arg(&args, "--dim", "8").parse().expect("--dim");
    let layers: usize = arg(&args, "--layers", "32").parse().expect("--layers");
    let batch: usize = arg(&args, "--batch", "10000").parse().expect("--batch");
    let windows: usize = arg(&args, "--windows", "5").parse().expect("--windows");
    let window_s: f64 = arg(&args, "--window-s", "1.0").parse().expect("--window-s");
    let dtype = flowinfer::flow::io::parse_dtype(&arg(&args, "--dtype", "f64"))?;
    let kinds = arg(&args, "--kinds", "planar,radial,sylvester");
    let device = flowinfer::device::parse_device(&arg(&args, "--device", "cpu"))?;
    println!(
        "classic flows: dim {dim}, {layers} layers, batch {batch}, {dtype:?}, device {device:?}, \
         RAYON_NUM_THREADS={}, CANDLE_NUM_THREADS={}",
        env_or("RAYON_NUM_THREADS"),
        env_or("CANDLE_NUM_THREADS")
    );
    for kind in kinds.split(',') {
        let cfg = match kind {
            "planar" => FlowConfig::planar(),
            "radial" => FlowConfig::radial(),
            "sylvester" => FlowConfig::sylvester(),
            other => panic!("--kinds: unknown kind {other:?}"),
        };
        let spec = FlowBuilder::new(dim, cfg).blocks(layers).build_spec()?;
        let flow = Flow::new(spec, dtype, &device, 0)?;
        flowinfer::testing::perturb_params(flow.params(), 0.5, 1)?;
        let mut rng = rand::rngs::StdRng::seed_from_u64(0);
        // Score the flow's own draws, so the root finding sees realistic inputs.
        let x = flow.sample(batch, None, &mut rng)?;
        let density = rate(
            || {
                let l = flow.log_prob_unchecked(&x, None).unwrap();
                device.synchronize().unwrap();
                drop(l);
            },
            windows,
            window_s,
        );
        let sampling = rate(
            || {
                let s = flow.sample_and_log_prob(batch, None, &mut rng).unwrap();
                device.synchronize().unwrap();
                drop(s);
            },
            windows,
            window_s,
        );
        let ev = batch as f64;
        println!(
            "{kind:10} density (log_prob) {:11.0} ev/s ({:.0}-{:.0})   sampling (sample_and_log_prob) {:11.0} ev/s ({:.0}-{:.0})",
            density.0 * ev,
            density.1 * ev,
            density.2 * ev,
            sampling.0 * ev,
            sampling.1 * ev,
            sampling.2 * ev
        );
    }
    Ok(())
}

fn env_or(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| "unset".into())
}
