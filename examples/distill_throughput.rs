//! Sampling throughput of a MAF teacher against its IAF student at batch 10 000
//! (docs/GENERATION.md). Either two run directories written by `fit` and
//! `distill`, or (no arguments) the untrained 12-D Auger-sized pair: the MAF preset
//! (5 blocks, hidden 128) and its aligned IAF student — sampling cost does not depend
//! on the weights' values.
//!
//! Run: `cargo run --release --example distill_throughput -- [TEACHER_DIR STUDENT_DIR]
//! [--reps 7] [--batch 10000]`

use candle_core::{DType, Device};
use flowinfer::distill::{compare_throughput, student_spec};
use flowinfer::flow::{Flow, FlowBuilder, FlowConfig};
use flowinfer::pipeline::load_run;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    flowinfer::device::apply_cpu_thread_defaults();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let opt = |name: &str, default: usize| -> Result<usize, Box<dyn std::error::Error>> {
        match args.iter().position(|a| a == name) {
            Some(i) => Ok(args.get(i + 1).ok_or("missing value")?.parse()?),
            None => Ok(default),
        }
    };
    let reps = opt("--reps", 7)?;
    let batch = opt("--batch", 10_000)?;
    let dirs: Vec<&String> = args
        .iter()
        .enumerate()
        .filter(|(i, a)| !a.starts_with("--") && (*i == 0 || !args[i - 1].starts_with("--")))
        .map(|(_, a)| a)
        .collect();
    let (label, teacher, student) = match dirs.as_slice() {
        [t, s] => (
            format!("{t} vs {s}"),
            load_run(t.as_ref())?.1,
            load_run(s.as_ref())?.1,
        ),
        [] => {
            let cfg = FlowConfig::maf();
            let spec = FlowBuilder::new(12, cfg.clone()).build_spec()?;
            let (sspec, _) = student_spec(&spec, &cfg, None, None)?;
            (
                "untrained 12-D MAF preset (5 blocks, hidden 128) vs its IAF student".into(),
                Flow::new(spec, DType::F32, &Device::Cpu, 0)?,
                Flow::new(sspec, DType::F32, &Device::Cpu, 1)?,
            )
        }
        _ => return Err("give TEACHER_DIR STUDENT_DIR, or nothing".into()),
    };
    let t = compare_throughput(&teacher, &student, batch, reps)?;
    println!("{label}");
    println!(
        "dim {}, batch {}, median of {} reps: teacher {:.0} events/s, student {:.0} events/s, speed-up {:.1}×",
        teacher.dim(),
        t.batch,
        t.reps,
        t.teacher_per_s,
        t.student_per_s,
        t.speedup
    );
    Ok(())
}
