//! The CNF results table of docs/CNF.md: RealNVP, NSF, CNF by maximum likelihood and CNF
//! by flow matching on two moons — the probai2022 file and a generated set (6000 events
//! from the built-in two-moons generator, seed 0) — each through `density::fit` (70/15/15
//! split, seed 42): test NLL, training wall time, and for the CNFs the function
//! evaluations of the adaptive solver for densities and samples.
//!
//! ```sh
//! cargo run --release --example cnf_moons                         # everything
//! cargo run --release --example cnf_moons -- cnf-fm generated      # a selection
//! ```
//!
//! The CNF specs are tuned for the 350 training rows of the probai file; on the generated
//! set (4200 training rows) the example uses batch 256 and 260 (flow matching, with
//! `time_power = 2`) or 60 (likelihood) epochs instead.
//!
//! Arguments (any order, optional): model names `realnvp nsf cnf-ml cnf-fm`, set names
//! `probai generated`. Runs go to `runs/cnf-bench/<set>-<model>/`.

use flowinfer::cnf::cnf_layer;
use flowinfer::config::FitConfig;
use flowinfer::data::Table;
use flowinfer::density::{fit, DataSource, Output};
use flowinfer::flow::FlowKind;
use flowinfer::pipeline::load_run;
use flowinfer::Transform;
use flowinfer_simulators::toy::ToyDataset;
use rand::SeedableRng;
use std::path::{Path, PathBuf};
use std::time::Instant;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn spec(model: &str) -> anyhow::Result<FitConfig> {
    Ok(match model {
        "realnvp" | "nsf" => {
            let mut s = FitConfig::load(Path::new("models/moons.toml"))?;
            s.flow.blocks = 6;
            if model == "realnvp" {
                s.flow.kind = FlowKind::RealNvp;
            }
            s
        }
        "cnf-ml" => FitConfig::load(Path::new("models/moons-cnf-ml.toml"))?,
        "cnf-fm" => FitConfig::load(Path::new("models/moons-cnf-fm.toml"))?,
        other => anyhow::bail!("unknown model {other}"),
    })
}

fn main() -> anyhow::Result<()> {
    flowinfer::device::apply_cpu_thread_defaults();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let all_models = ["realnvp", "nsf", "cnf-ml", "cnf-fm"];
    let all_sets = ["probai", "generated"];
    let models: Vec<&str> = all_models
        .iter()
        .copied()
        .filter(|m| {
            args.is_empty()
                || args.iter().any(|a| a == m)
                || !args.iter().any(|a| all_models.contains(&a.as_str()))
        })
        .collect();
    let sets: Vec<&str> = all_sets
        .iter()
        .copied()
        .filter(|s| {
            args.iter().any(|a| a == s) || !args.iter().any(|a| all_sets.contains(&a.as_str()))
        })
        .collect();
    let root = PathBuf::from("runs/cnf-bench");
    std::fs::create_dir_all(&root)?;
    let generated = root.join("two_moons_generated.csv");
    let pts = ToyDataset::TwoMoons.generate(6000, 0);
    let table = Table::new(
        vec!["x".into(), "y".into()],
        pts.iter().flat_map(|p| p.to_vec()).collect(),
    )?;
    let mut csv = String::from("x,y\n");
    for r in table.to_rows() {
        csv.push_str(&format!("{},{}\n", r[0], r[1]));
    }
    std::fs::write(&generated, csv)?;
    println!("| data | model | parameters | epochs (best) | train s (wall) | fit CPU s | test NLL | density NFE | sample NFE (1000) | density s | sample s |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for set in &sets {
        let data = match *set {
            "probai" => PathBuf::from("../shared/data/probai2022/two_moons.csv"),
            _ => generated.clone(),
        };
        for model in &models {
            let mut s = spec(model)?;
            s.eval.c2st = false;
            s.eval.plots = false;
            if *set == "generated" {
                // 4200 training rows instead of 350: fewer, larger-batch epochs.
                match *model {
                    "cnf-fm" => {
                        s.train.batch_size = 256;
                        s.train.epochs = 260;
                        if let Some(c) = s.cnf.as_mut() {
                            c.time_power = 2.0;
                        }
                    }
                    "cnf-ml" => {
                        s.train.batch_size = 256;
                        s.train.epochs = 60;
                    }
                    _ => {}
                }
            }
            let out = root.join(format!("{set}-{model}"));
            let _ = std::fs::remove_dir_all(&out);
            let cpu0 = cpu_seconds();
            let rep = fit(
                &DataSource::File(data.clone()),
                &s,
                Output::to(&out),
                |_| {},
            )?
            .report;
            let cpu = cpu_seconds() - cpu0;
            let mut extra = String::from("– | – | – | –");
            if model.starts_with("cnf") {
                let (_, flow) = load_run(&out)?;
                let layer = cnf_layer(&flow, None)?;
                let x = flowinfer::data::read_table(&data, &Default::default())?
                    .0
                    .to_tensor(flow.dtype(), flow.device())?;
                // Density: the CNF layer's own input is the standardised data.
                let (h, _) = flow.transforms()[0].forward(&x, None)?;
                let t0 = Instant::now();
                layer.forward(&h, None)?;
                let dens_s = t0.elapsed().as_secs_f64();
                let dens = layer.take_stats();
                let mut rng = rand::rngs::StdRng::seed_from_u64(0);
                let z = flow.base().sample(1000, &mut rng)?;
                let t0 = Instant::now();
                layer.inverse(&z, None)?;
                let samp_s = t0.elapsed().as_secs_f64();
                let samp = layer.take_stats();
                extra = format!(
                    "{} ({} rows) | {} | {dens_s:.2} | {samp_s:.2}",
                    dens.evaluations,
                    h.dim(0)?,
                    samp.evaluations
                );
            }
            println!(
                "| {set} | {model} | {} | {} ({}) | {:.1} | {cpu:.1} | {:.4} | {extra} |",
                rep.parameters, rep.epochs, rep.best_epoch, rep.train_seconds, rep.test.nll
            );
        }
    }
    Ok(())
}

/// CPU seconds (user + system) used by this process so far (Linux `/proc/self/stat`;
/// 0 elsewhere): on a shared machine, a load-independent measure of the work done.
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}
