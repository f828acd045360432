//! Throughput of the flow core on the three benchmark configurations of
//! `../shared/bench/README.md` (the same models as its PyTorch script):
//!
//! | config | D | couplings | type | hidden | training batch |
//! |---|---|---|---|---|---|
//! | a | 2 | 8 | affine | 64 | 256 |
//! | b | 12 | 8 | affine | 256 | 128 |
//! | c | 16 | 10 | RQ spline K = 8, B = 3 | 128 | 1024 |
//!
//! Timed like the PyTorch script: a training step (loss = −mean log_prob on a fixed
//! pool of N(0, I) batches, backward, Adam lr 1e-3), `log_prob` and `sample` at batch
//! 10,000; each figure is the median over `--windows` windows of `--window-s` seconds.
//!
//! `--configs npe,integ` times the jobs users run instead (see `jobs/mod.rs`: the NPE
//! flow of `flowinfer sbi` and the unit-hypercube flow of `flowinfer integrate`; PyTorch
//! side `scripts/pytorch_jobs_bench.py`).
//!
//! Run: `cargo bench --bench throughput -- [--configs a,b,c] [--windows 5]
//! [--window-s 1.0] [--device cpu] [--json out.json] [--phases train,logprob,sample]`
//!
//! `--phases` times only the named phases (the others report 0), for profiling one
//! phase with `perf record` on the bench binary.

mod jobs;

use candle_core::{DType, Device, Tensor};
use flowinfer::flow::{Flow, FlowBuilder};
use flowinfer::train::{Adam, AdamConfig};
use rand::SeedableRng;
use std::time::Instant;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Batch of the timed `log_prob` and `sample` calls.
pub const EVAL_BATCH: usize = 10_000;

struct Config {
    name: &'static str,
    dim: usize,
    blocks: usize,
    spline: bool,
    hidden: usize,
    batch: usize,
    expected_params: usize,
}

const CONFIGS: [Config; 3] = [
    Config {
        name: "a",
        dim: 2,
        blocks: 8,
        spline: false,
        hidden: 64,
        batch: 256,
        expected_params: 35_344,
    },
    Config {
        name: "b",
        dim: 12,
        blocks: 8,
        spline: false,
        hidden: 256,
        batch: 128,
        expected_params: 565_344,
    },
    Config {
        name: "c",
        dim: 16,
        blocks: 10,
        spline: true,
        hidden: 128,
        batch: 1024,
        expected_params: 414_000,
    },
];

fn build(c: &Config, device: &Device) -> flowinfer::Result<Flow> {
    let b = if c.spline {
        FlowBuilder::nsf(c.dim).spline(8, 3.0)
    } else {
        FlowBuilder::realnvp(c.dim)
    };
    let spec = b.blocks(c.blocks).hidden(c.hidden).layers(2).build_spec()?;
    Flow::new(spec, DType::F32, device, 0)
}

/// The phases `--phases` asks for, and the timing settings.
pub struct Timing {
    /// Comma-separated phase names (`train`, `logprob`, `sample`).
    pub phases: String,
    /// Number of windows.
    pub windows: usize,
    /// Seconds per window.
    pub window_s: f64,
}

impl Timing {
    /// [`rate`] of `f` when `phase` was asked for, zeros otherwise.
    pub fn rate(&self, phase: &str, f: impl FnMut()) -> (f64, f64, f64) {
        if self.phases.split(',').any(|p| p == phase) {
            rate(f, self.windows, self.window_s)
        } else {
            (0.0, 0.0, 0.0)
        }
    }
}

/// Median, min and max of calls per second over `windows` windows of ~`window_s` seconds.
pub fn rate(mut f: impl FnMut(), windows: usize, window_s: f64) -> (f64, f64, f64) {
    // Calibrate the repetitions per window.
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
    rates.sort_by(|a, b| a.partial_cmp(b).unwrap());
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
    let configs = arg(&args, "--configs", "a,b,c");
    let windows: usize = arg(&args, "--windows", "5").parse().expect("--windows");
    let window_s: f64 = arg(&args, "--window-s", "1.0").parse().expect("--window-s");
    let device = flowinfer::device::parse_device(&arg(&args, "--device", "cpu"))?;
    let timing = Timing {
        phases: arg(&args, "--phases", "train,logprob,sample"),
        windows,
        window_s,
    };
    let json_out = args
        .iter()
        .position(|a| a == "--json")
        .and_then(|i| args.get(i + 1).cloned());
    println!(
        "flowinfer throughput, device {device:?}, RAYON_NUM_THREADS={}, CANDLE_NUM_THREADS={}",
        env_or("RAYON_NUM_THREADS"),
        env_or("CANDLE_NUM_THREADS")
    );
    let mut rows = Vec::new();
    for c in CONFIGS
        .iter()
        .filter(|c| configs.split(',').any(|n| n == c.name))
    {
        let flow = build(c, &device)?;
        let n_params = flow.params().num_parameters();
        assert_eq!(
            n_params, c.expected_params,
            "config {} parameter count",
            c.name
        );
        let mut rng = rand::rngs::StdRng::seed_from_u64(0);
        let pool: Vec<Tensor> = (0..32)
            .map(|_| flowinfer::random::randn(c.batch, c.dim, DType::F32, &device, &mut rng))
            .collect::<flowinfer::Result<_>>()?;
        let mut opt = Adam::new(
            flow.params().all_vars(),
            AdamConfig {
                lr: 1e-3,
                ..Default::default()
            },
        )?;
        let mut it = 0usize;
        let train = timing.rate("train", || {
            let x = &pool[it % pool.len()];
            it += 1;
            let loss = flow
                .log_prob_unchecked(x, None)
                .unwrap()
                .mean_all()
                .unwrap()
                .neg()
                .unwrap();
            opt.backward_step(&loss, None).unwrap();
        });
        let xe = flowinfer::random::randn(EVAL_BATCH, c.dim, DType::F32, &device, &mut rng)?;
        let lp = timing.rate("logprob", || {
            let l = flow.log_prob_unchecked(&xe, None).unwrap();
            device.synchronize().unwrap();
            drop(l);
        });
        let smp = timing.rate("sample", || {
            let s = flow.sample(EVAL_BATCH, None, &mut rng).unwrap();
            device.synchronize().unwrap();
            drop(s);
        });
        rows.push(report(c.name, (n_params, train, lp, smp)));
    }
    for name in configs.split(',') {
        if let Some(r) = jobs::run(name, &timing, &device)? {
            rows.push(report(name, r));
        }
    }
    if let Some(p) = json_out {
        flowinfer::atomic::write_atomic(
            std::path::Path::new(&p),
            format!("[{}]\n", rows.join(",\n")).as_bytes(),
        )?;
    }
    Ok(())
}

/// Print one configuration's figures and return its JSON row.
fn report(name: &str, (n_params, train, lp, smp): jobs::Rates) -> String {
    let ev = EVAL_BATCH as f64;
    println!(
        "{} params {:8}  train {:9.1} steps/s ({:.1}-{:.1})  log_prob {:10.0} ev/s ({:.0}-{:.0})  sample {:10.0} ev/s ({:.0}-{:.0})",
        name, n_params, train.0, train.1, train.2, lp.0 * ev, lp.1 * ev, lp.2 * ev, smp.0 * ev, smp.1 * ev, smp.2 * ev
    );
    format!(
        "{{\"config\":\"{}\",\"params\":{},\"train_steps_s\":{},\"logprob_ev_s\":{},\"sample_ev_s\":{}}}",
        name, n_params, train.0, lp.0 * ev, smp.0 * ev
    )
}

fn env_or(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| "unset".into())
}
