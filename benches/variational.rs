//! ELBO steps per second of the variational job (docs/VARIATIONAL.md), paired with
//! `scripts/bench_elbo_torch.py` (the same models and targets in PyTorch):
//!
//! | model | target | flow | draws per step |
//! |---|---|---|---|
//! | nsf2 | banana (2-D) | 4 RQ-spline couplings, K = 8, tail bound 5, 2 × 64 ReLU | 1000 |
//! | iaf10 | correlated Gaussian (10-D) | IAF: 4 affine MADE blocks, 2 × 64 ReLU, reversals | 1000 |
//!
//! A step is what `variational::train_reverse_kl` does each step: draw `S` points
//! with their `log q` in one pass, `loss = mean(log q − log p̃)`, backward, clip, Adam
//! (cosine learning rate). Each figure is the median over `--windows` windows of about
//! `--window-s` seconds (a window is one call of `train_reverse_kl` with a step count
//! calibrated on the first).
//!
//! Run: `cargo bench --profile dev --bench variational -- [--models nsf2,iaf10]
//! [--windows 5] [--window-s 2.0] [--samples 1000]`

use candle_core::Device;
use flowinfer::flow::{FlowConfig, FlowKind};
use flowinfer::variational::targets::{Banana, Gaussian};
use flowinfer::variational::{
    build_family, train_reverse_kl, LogDensity, TrainConfig, VariationalConfig,
};
use rand::SeedableRng;
use std::time::Instant;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn arg<T: std::str::FromStr>(args: &[String], name: &str, default: T) -> T {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(|v| {
            v.parse()
                .unwrap_or_else(|_| panic!("bad value for {name}: {v}"))
        })
        .unwrap_or(default)
}

fn family(kind: FlowKind) -> FlowConfig {
    FlowConfig {
        kind,
        blocks: 4,
        hidden: 64,
        tail_bound: 5.0,
        ..FlowConfig::default()
    }
}

fn main() -> flowinfer::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let models: String = arg(&args, "--models", "nsf2,iaf10".to_string());
    let windows: usize = arg(&args, "--windows", 5);
    let window_s: f64 = arg(&args, "--window-s", 2.0);
    let samples: usize = arg(&args, "--samples", 1000);
    println!("model   dim  params  steps/s (median)  windows (steps/s)");
    for model in models.split(',') {
        let (target, kind): (Box<dyn LogDensity>, FlowKind) = match model {
            "nsf2" => (Box::new(Banana), FlowKind::Nsf),
            "iaf10" => (Box::new(Gaussian::correlated(10)?), FlowKind::Iaf),
            other => panic!("unknown model {other} (nsf2, iaf10)"),
        };
        let cfg = VariationalConfig {
            flow: family(kind),
            ..VariationalConfig::default()
        };
        let flow = build_family(&cfg, target.dim(), 0, &Device::Cpu)?;
        let mut rng = rand::rngs::StdRng::seed_from_u64(0);
        let mut run = |steps: usize| -> flowinfer::Result<f64> {
            let tc = TrainConfig {
                steps,
                samples,
                ..TrainConfig::default()
            };
            let t = Instant::now();
            train_reverse_kl(&flow, target.as_ref(), &tc, None, &mut rng, &mut |_| {})?;
            Ok(t.elapsed().as_secs_f64())
        };
        // Warm up and calibrate the steps per window.
        let per_step = run(5)? / 5.0;
        let steps = ((window_s / per_step).round() as usize).max(3);
        let mut rates: Vec<f64> = (0..windows)
            .map(|_| run(steps).map(|s| steps as f64 / s))
            .collect::<flowinfer::Result<_>>()?;
        let shown: Vec<String> = rates.iter().map(|r| format!("{r:.1}")).collect();
        rates.sort_by(f64::total_cmp);
        println!(
            "{model:<7} {:>3} {:>7}  {:>16.1}  {}",
            target.dim(),
            flow.params().num_parameters(),
            rates[rates.len() / 2],
            shown.join(" ")
        );
    }
    Ok(())
}
