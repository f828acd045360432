//! The `unweight` verb: more unweighted events from a finished `integrate` run.

use flowinfer::integrate::{
    unweight::{unweighted_events, write_events_csv},
    EvalOptions, IntegrationRun, InvalidCounts, UnweightRequest,
};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct UnweightArgs {
    /// Run directory written by `flowinfer integrate --out DIR`.
    #[arg(long)]
    run: PathBuf,
    /// Number of unweighted events.
    #[arg(short = 'n', long = "events")]
    events: usize,
    /// Output CSV (x1..xd, weight; weight is 1 except for over-weight events, which
    /// carry w/w_max).
    #[arg(long)]
    out: PathBuf,
    /// Seed of the draws (default: the run's seed + 1, so the events differ from any
    /// made during the run).
    #[arg(long)]
    seed: Option<u64>,
    /// Points per flow batch.
    #[arg(long, default_value_t = 16_384)]
    batch: usize,
    /// Device: cpu (cuda needs the `cuda` feature).
    #[arg(long, default_value = "cpu")]
    device: String,
    /// Count non-finite and negative integrand values as zero instead of failing.
    #[arg(long)]
    allow_invalid: bool,
}

pub fn run_unweight(a: UnweightArgs) -> anyhow::Result<()> {
    if a.events == 0 {
        anyhow::bail!("-n must be at least 1 event");
    }
    if a.batch == 0 {
        anyhow::bail!("--batch must be at least 1");
    }
    crate::integrate_command::check_csv_output("--out", &a.out)?;
    let device = flowinfer::device::parse_device(&a.device)?;
    let run = IntegrationRun::load(&a.run, &device)?;
    let user = run.spec.build_integrand()?;
    let target = run.target(user.as_ref())?;
    let opts = EvalOptions {
        allow_invalid: a.allow_invalid || run.spec.eval.allow_invalid,
        ..run.spec.eval_options()
    };
    let r = &run.result.flow;
    let request = UnweightRequest {
        events: a.events,
        max_weight: r.bootstrap_max_weight,
        efficiency: r.unweighting_efficiency_bootstrap,
        batch: a.batch,
        seed: a.seed.unwrap_or(run.spec.seed.wrapping_add(1)),
    };
    eprintln!(
        "unweighting {} (d = {}) against w_max = {:.4e}, expected acceptance {:.3} ...",
        user.name(),
        user.dim(),
        request.max_weight,
        request.efficiency
    );
    let mut invalid = InvalidCounts::default();
    let (u, table) = unweighted_events(&run.flow, &target, &request, &opts, &mut invalid)?;
    write_events_csv(&a.out, &table.columns, &table.points, &table.weights)?;
    println!(
        "events:                {} ({} trials, acceptance {:.4})",
        u.events, u.trials, u.acceptance
    );
    println!(
        "over-weight events:    {} ({:.2e} of the events; excess weight {:.2e})",
        u.over_weight_events, u.over_weight_fraction, u.excess_weight_fraction
    );
    println!(
        "max weight seen/used:  {:.4e} / {:.4e}",
        u.max_weight_seen, u.max_weight_used
    );
    if invalid.non_finite + invalid.negative > 0 {
        println!(
            "invalid values:        {} non-finite, {} negative (counted as zero)",
            invalid.non_finite, invalid.negative
        );
    }
    println!("written:               {}", a.out.display());
    Ok(())
}
