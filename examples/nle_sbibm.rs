//! NLE and SNLE beside amortised NPE on an sbibm task at the same total budget, scored
//! by C2ST (the sbibm protocol of `flowinfer diagnose`) against the reference posteriors
//! in `../shared/data/sbibm/<task>/num_observation_<k>/`.
//!
//! ```sh
//! cargo run --example nle_sbibm -- models/sbibm-two_moons.toml [1,2,...] [rounds]
//! ```
//!
//! The spec gives the simulator, flow and training (its `[npe] simulations` is the total
//! budget B). Amortised NPE and amortised NLE: one model each on B prior simulations
//! serves every observation (NLE samples each posterior by MCMC). SNLE: per
//! observation, `rounds` rounds (default 4) of B / rounds simulations. MCMC: 100 chains
//! started by likelihood-resampling 10,000 prior draws, 100 warm-up sweeps, thin 2, as
//! many draws as reference samples. Prints one row per observation (C2ST, the largest
//! split R-hat, the smallest bulk ESS) and the means, with wall times. Environment:
//! `C2ST_EPOCHS` (100), `NLE_CHAINS` (100), `NLE_WARMUP` (100), `NLE_THIN` (2),
//! `NLE_ROTATE=1` (slice along the whitened principal axes after half the warm-up,
//! [`McmcConfig::rotate`]);
//! `SKIP_NPE=1` / `SKIP_NLE=1` skip the amortised NPE / NLE; `SBIBM_OUT=DIR` saves each
//! method's draws per observation as `DIR/{npe,nle,snle}/samples_<k>.csv` and appends a
//! row per observation to `DIR/rows.csv` (`examples/sbibm_out`), for
//! `scripts/sbibm_c2st.py`.

mod sbibm_out;

use flowinfer::data::{read_table, ReadOptions};
use flowinfer::sbi::diagnostics::reference::reference_observation;
use flowinfer::sbi::mcmc::{sample_mcmc, McmcConfig, McmcResult};
use flowinfer::sbi::nle::{train_nle, train_snle, NleConfig};
use flowinfer::sbi::{train_npe, SbiConfig};
use flowinfer_simulators::{Simulator, Slcp};
use rand::{Rng, SeedableRng};
use std::path::{Path, PathBuf};
use std::time::Instant;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `(max R-hat, min ESS)` over parameters.
fn mixing(r: &McmcResult) -> (f64, f64) {
    (
        r.rhat.iter().copied().fold(f64::NAN, f64::max),
        r.ess.iter().copied().fold(f64::NAN, f64::min),
    )
}

fn main() -> anyhow::Result<()> {
    flowinfer::device::apply_cpu_thread_defaults();
    let args: Vec<String> = std::env::args().collect();
    let spec_path = args
        .get(1)
        .ok_or_else(|| anyhow::anyhow!("usage: nle_sbibm SPEC [k1,k2,...] [rounds]"))?;
    let obs: Vec<usize> = args
        .get(2)
        .map(|s| s.split(',').map(|v| v.parse()).collect::<Result<_, _>>())
        .transpose()?
        .unwrap_or_else(|| (1..=10).collect());
    let rounds: usize = args.get(3).map(|s| s.parse()).transpose()?.unwrap_or(4);
    let epochs = env("C2ST_EPOCHS", 100);
    let spec = SbiConfig::load(Path::new(spec_path))?;
    let sim = spec.simulator()?.build()?;
    let reference: Option<PathBuf> = spec.diagnose.reference.clone();
    if reference.is_none() && sim.name() != "slcp" {
        anyhow::bail!(
            "{spec_path}: no [diagnose] reference folder (only slcp has a built-in reference)"
        );
    }
    let budget = spec.npe.simulations;
    let chains = env("NLE_CHAINS", 100);

    let skip = |name: &str| std::env::var(name).is_ok_and(|v| v == "1");
    let names = sim.param_names();
    let t = Instant::now();
    let npe = if skip("SKIP_NPE") {
        None
    } else {
        Some(train_npe(sim.as_ref(), &spec, |_| {})?)
    };
    let npe_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let mut nle_spec = spec.clone();
    nle_spec.embedding = None;
    let spec_for_nle = &nle_spec;
    let nle = if skip("SKIP_NLE") {
        None
    } else {
        Some(train_nle(sim.as_ref(), spec_for_nle, |_| {})?)
    };
    let nle_s = t.elapsed().as_secs_f64();
    println!(
        "{}: on {budget} simulations, amortised NPE {} epochs {npe_s:.1} s, amortised NLE {} epochs {nle_s:.1} s; SNLE {rounds} rounds of {}",
        sim.name(),
        npe.as_ref().map_or(0, |n| n.report.history.len()),
        nle.as_ref().map_or(0, |n| n.report.history.len()),
        budget / rounds
    );
    println!("| obs | NPE C2ST | NLE C2ST | NLE R̂ max / ESS min | NLE MCMC s | SNLE C2ST | SNLE R̂ max / ESS min | SNLE s |");
    println!("|---|---|---|---|---|---|---|---|");
    let (mut a, mut b, mut c, mut nle_secs, mut snle_secs) =
        (vec![], vec![], vec![], vec![], vec![]);
    for k in obs {
        let (x_o, ref_rows) = match &reference {
            Some(dir) => {
                let path = dir
                    .join(format!("num_observation_{k}"))
                    .join("reference_posterior_samples.csv");
                let (t, _) = read_table(&path, &ReadOptions::default())?;
                (reference_observation(dir, k)?, t.to_rows())
            }
            None => slcp_reference(k)?,
        };
        let mcmc = McmcConfig {
            chains,
            warmup: env("NLE_WARMUP", 100),
            draws: ref_rows.len().div_ceil(chains),
            thin: env("NLE_THIN", 2),
            initial_width: 0.5,
            seed: k as u64,
            rotate: env("NLE_ROTATE", 0) == 1,
        };
        let nle_cfg = NleConfig {
            rounds,
            mcmc: mcmc.clone(),
            ..NleConfig::default()
        };
        let mut c_npe = f64::NAN;
        if let Some(npe) = &npe {
            let (t, c0) = (Instant::now(), sbibm_out::cpu_seconds());
            let d = npe
                .posterior
                .sample(sim.as_ref(), &x_o, ref_rows.len(), 1 ^ k as u64, 100)?;
            let (w, cpu) = (t.elapsed().as_secs_f64(), sbibm_out::cpu_seconds() - c0);
            c_npe = sbibm_out::c2st(&d.samples, &ref_rows, epochs, 1 + k as u64)?;
            sbibm_out::record(&names, "npe", k, &d.samples, c_npe, w, cpu)?;
        }
        let (mut c_nle, mut r1, mut e1) = (f64::NAN, f64::NAN, f64::NAN);
        if let Some(nle) = &nle {
            let (t, c0) = (Instant::now(), sbibm_out::cpu_seconds());
            let r_nle =
                nle.likelihood
                    .sample_posterior(sim.as_ref(), &x_o, &mcmc, nle_cfg.candidates)?;
            let (w, cpu) = (t.elapsed().as_secs_f64(), sbibm_out::cpu_seconds() - c0);
            nle_secs.push(w);
            let mut d = r_nle.pooled();
            d.truncate(ref_rows.len());
            c_nle = sbibm_out::c2st(&d, &ref_rows, epochs, 1 + k as u64)?;
            sbibm_out::record(&names, "nle", k, &d, c_nle, w, cpu)?;
            (r1, e1) = mixing(&r_nle);
        }
        let (t, c0) = (Instant::now(), sbibm_out::cpu_seconds());
        // Wall seconds of the round's training epochs (the rest of a round is the
        // proposal's MCMC and the simulations).
        let epoch_wall = std::cell::Cell::new(0.0);
        let on_epoch = |e: &flowinfer::train::EpochRecord| {
            epoch_wall.set(epoch_wall.get() + e.seconds);
        };
        let on_round = |r: &flowinfer::sbi::nle::rounds::SnleRound| {
            let detail = format!(
                "round {:.2} s wall; training epochs {:.2} s wall",
                r.seconds,
                epoch_wall.replace(0.0)
            );
            let (w, c) = (t.elapsed().as_secs_f64(), sbibm_out::cpu_seconds() - c0);
            if let Err(e) = sbibm_out::record_round("snle", k, r.round, w, c, r.epochs, &detail) {
                eprintln!("rounds.csv: {e}");
            }
        };
        let snle = train_snle(
            sim.as_ref(),
            spec_for_nle,
            &nle_cfg,
            &x_o,
            on_epoch,
            on_round,
        )?;
        let (w, cpu) = (t.elapsed().as_secs_f64(), sbibm_out::cpu_seconds() - c0);
        snle_secs.push(w);
        let mut d = snle.posterior.pooled();
        d.truncate(ref_rows.len());
        let c_snle = sbibm_out::c2st(&d, &ref_rows, epochs, 1 + k as u64)?;
        sbibm_out::record(&names, "snle", k, &d, c_snle, w, cpu)?;
        let (r2, e2) = mixing(&snle.posterior);
        println!(
            "| {k} | {:.3} | {c_nle:.3} | {r1:.3} / {e1:.0} | {:.1} | {c_snle:.3} | {r2:.3} / {e2:.0} | {:.1} |",
            c_npe,
            nle_secs.last().unwrap_or(&0.0),
            snle_secs.last().unwrap_or(&0.0),
        );
        a.extend(Some(c_npe).filter(|v| v.is_finite()));
        b.extend(Some(c_nle).filter(|v| v.is_finite()));
        c.push(c_snle);
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    println!(
        "| mean | {:.3} | {:.3} | | {:.1} | {:.3} | | {:.1} |",
        mean(&a),
        mean(&b),
        mean(&nle_secs),
        mean(&c),
        mean(&snle_secs)
    );
    Ok(())
}

/// Exact slcp log likelihood of the 4 iid 2-D points in `x` (module docs of `Slcp`).
fn slcp_log_likelihood(theta: &[f64], x: &[f64]) -> f64 {
    let (s1, s2, rho) = (theta[2] * theta[2], theta[3] * theta[3], theta[4].tanh());
    let one_m = 1.0 - rho * rho;
    if s1 <= 0.0 || s2 <= 0.0 || one_m <= 0.0 {
        return f64::NEG_INFINITY;
    }
    let norm = -(2.0 * std::f64::consts::PI * s1 * s2 * one_m.sqrt()).ln();
    x.chunks(2)
        .map(|p| {
            let (z1, z2) = ((p[0] - theta[0]) / s1, (p[1] - theta[1]) / s2);
            norm - (z1 * z1 - 2.0 * rho * z1 * z2 + z2 * z2) / (2.0 * one_m)
        })
        .sum()
}

/// Observation `k` of slcp (simulated at the `k`-th seeded prior draw) and 10,000
/// reference draws by exact-likelihood slice sampling, sign-symmetrised in θ3, θ4.
fn slcp_reference(k: usize) -> anyhow::Result<(Vec<f64>, Vec<Vec<f64>>)> {
    let sim = Slcp;
    let mut rng = rand::rngs::StdRng::seed_from_u64(1000 + k as u64);
    let theta = sim.sample_prior(1, &mut rng).remove(0);
    let x_o = sim.simulate_one(&theta, &mut rng);
    let log_p = |t: &[f64]| sim.log_prior(t) + slcp_log_likelihood(t, &x_o);
    // Start 16 chains by likelihood-resampling 200,000 prior draws.
    let cands = sim.sample_prior(200_000, &mut rng);
    let ll: Vec<f64> = cands.iter().map(|t| log_p(t)).collect();
    let max = ll.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut cum = Vec::with_capacity(ll.len());
    let mut total = 0.0;
    for v in &ll {
        total += (v - max).exp();
        cum.push(total);
    }
    let inits: Vec<Vec<f64>> = (0..16)
        .map(|_| {
            let u = rng.random::<f64>() * total;
            cands[cum.partition_point(|&c| c <= u).min(cands.len() - 1)].clone()
        })
        .collect();
    let cfg = McmcConfig {
        chains: 16,
        warmup: 500,
        draws: 625,
        thin: 4,
        initial_width: 0.5,
        seed: k as u64,
        rotate: false,
    };
    let r = sample_mcmc(&log_p, &inits, &cfg)?;
    let mut draws = r.pooled();
    for d in &mut draws {
        for j in [2, 3] {
            if rng.random::<bool>() {
                d[j] = -d[j];
            }
        }
    }
    eprintln!(
        "slcp reference {k}: R-hat max {:.3} (before symmetrising), {} draws",
        r.rhat.iter().copied().fold(f64::NAN, f64::max),
        draws.len()
    );
    Ok((x_o, draws))
}
