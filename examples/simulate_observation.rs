//! One observation simulated at a seeded prior draw of a spec's simulator, as an
//! observation CSV (header `x1,…`) on stdout, with the true parameters on stderr: the
//! target of a sequential (`[rounds]`, `[nle] rounds > 1`) run on a task that ships no
//! reference observations.
//!
//! ```sh
//! cargo run --example simulate_observation -- models/sbibm-lotka_volterra.toml 1 > obs.csv
//! ```

use flowinfer::sbi::SbiConfig;
use rand::SeedableRng;
use std::path::Path;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let spec = args
        .get(1)
        .ok_or_else(|| anyhow::anyhow!("usage: simulate_observation SPEC [SEED]"))?;
    let seed: u64 = args.get(2).map(|s| s.parse()).transpose()?.unwrap_or(1);
    let sim = SbiConfig::load(Path::new(spec))?.simulator()?.build()?;
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let theta = sim.sample_prior(1, &mut rng);
    let x = sim
        .simulate_rows(&theta, seed)?
        .pop()
        .ok_or_else(|| anyhow::anyhow!("no simulation"))?
        .map_err(|f| anyhow::anyhow!("the simulation failed: {f}"))?;
    eprintln!("{:?} = {:?}", sim.param_names(), theta[0]);
    let names: Vec<String> = (1..=x.len()).map(|j| format!("x{j}")).collect();
    println!("{}", names.join(","));
    let row: Vec<String> = x.iter().map(|v| v.to_string()).collect();
    println!("{}", row.join(","));
    Ok(())
}
