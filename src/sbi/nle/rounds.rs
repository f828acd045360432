//! Sequential NLE (SNLE): round 1 simulates from the prior; every later round simulates
//! θ drawn (thinned) from the MCMC chains of the current NLE posterior for `x_o`, and
//! the likelihood is refitted on all rounds' pairs (shuffled together, so validation
//! pairs come from every round). A likelihood estimate needs no proposal correction.
//! With a state directory ([`train_snle_resumable`]; `RUN/rounds/` from the command
//! line) the rounds are kept as they complete and an interrupted run resumes.

use crate::config::JobConfig;
use crate::error::{Error, Result};
use crate::sbi::mcmc::{McmcConfig, McmcResult};
use crate::sbi::nle::{fit_nle, NleConfig, NleTraining};
use crate::sbi::rounds::{load_state, save_round, RoundData, RoundsState};
use crate::sbi::SbiConfig;
use crate::train::EpochRecord;
use flowinfer_simulators::{simulate_dataset_lenient, RowFailure, Simulator};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::Instant;

/// One SNLE round's report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SnleRound {
    /// Round number (1-based).
    pub round: usize,
    /// Simulations run this round.
    pub simulations: usize,
    /// Of these, simulations that failed (dropped).
    pub failed: usize,
    /// Pairs trained on after this round (all rounds).
    pub total_pairs: usize,
    /// Best validation loss of this round's fit (mean −log q(x | θ), nats).
    pub best_val_loss: f64,
    /// Epochs run this round.
    pub epochs: usize,
    /// Largest split R-hat of the chains that proposed this round's θ (none in round 1).
    pub proposal_max_rhat: Option<f64>,
    /// Seconds simulating, training and sampling this round.
    pub seconds: f64,
}

/// What [`train_snle`] produced.
pub struct SnleResult {
    /// The last round's likelihood (trained on all rounds).
    pub training: NleTraining,
    /// Per-round reports.
    pub rounds: Vec<SnleRound>,
    /// Posterior draws for `x_o` from the final likelihood with `nle.mcmc`.
    pub posterior: McmcResult,
    /// Every failed simulation of the rounds run here (resumed rounds count theirs in
    /// their reports).
    pub failures: Vec<RowFailure>,
    /// Rounds taken from the state directory instead of run.
    pub resumed_rounds: usize,
}

/// `n` parameter rows thinned evenly from the pooled chains of `mcmc`.
fn thinned(mcmc: &McmcResult, n: usize, seed: u64) -> Vec<Vec<f64>> {
    let mut all = mcmc.pooled();
    all.shuffle(&mut rand::rngs::StdRng::seed_from_u64(seed));
    all.truncate(n);
    all
}

/// SNLE for `x_o`: `nle.rounds` rounds of `nle.per_round([npe] simulations)`
/// simulations each, every fit with the `[flow]`/`[train]` settings of `cfg`; the
/// proposals and the returned posterior are drawn with `nle.mcmc` (proposal chains run
/// just long enough to give a round's θ). `on_round` sees each round's report.
///
/// ```
/// use flowinfer::sbi::mcmc::McmcConfig;
/// use flowinfer::sbi::nle::{train_snle, NleConfig};
/// use flowinfer::sbi::SbiConfig;
/// use flowinfer_simulators::TwoMoons;
///
/// let mut cfg = SbiConfig::default();
/// (cfg.flow.blocks, cfg.flow.hidden, cfg.train.epochs) = (2, 16, 3);
/// let nle = NleConfig {
///     rounds: 2,
///     simulations: Some(200),
///     candidates: 500,
///     mcmc: McmcConfig { chains: 10, warmup: 20, draws: 20, ..McmcConfig::default() },
///     ..NleConfig::default()
/// };
/// let r = train_snle(&TwoMoons, &cfg, &nle, &[0.1, -0.2], |_| {}, |_| {})?;
/// assert_eq!(r.rounds.len(), 2);
/// assert_eq!(r.rounds[1].total_pairs, 400);
/// assert_eq!(r.posterior.pooled().len(), 10 * 20);
/// # Ok::<(), flowinfer::Error>(())
/// ```
pub fn train_snle(
    sim: &dyn Simulator,
    cfg: &SbiConfig,
    nle: &NleConfig,
    x_o: &[f64],
    on_epoch: impl FnMut(&EpochRecord),
    on_round: impl FnMut(&SnleRound),
) -> Result<SnleResult> {
    train_snle_resumable(sim, cfg, nle, x_o, None, on_epoch, on_round)
}

/// [`train_snle`] that keeps its rounds in `state_dir` (`state.json` with the spec, the
/// observation and the round reports; `round_<k>.json` with round k's pairs, written
/// when the round ends) and, started again with the same spec and observation, resumes
/// after the last completed round (refitting that round's likelihood, which is
/// deterministic on the CPU). A state made with another spec or observation is refused
/// with an error naming `state.json`.
///
/// ```
/// use flowinfer::sbi::mcmc::McmcConfig;
/// use flowinfer::sbi::nle::rounds::train_snle_resumable;
/// use flowinfer::sbi::nle::NleConfig;
/// use flowinfer::sbi::SbiConfig;
/// use flowinfer_simulators::TwoMoons;
///
/// let dir = std::env::temp_dir().join(format!("snle-doc-{}", std::process::id()));
/// let mut cfg = SbiConfig::default();
/// (cfg.flow.blocks, cfg.flow.hidden, cfg.train.epochs) = (1, 8, 2);
/// let nle = NleConfig {
///     rounds: 2,
///     simulations: Some(100),
///     candidates: 200,
///     mcmc: McmcConfig { chains: 4, warmup: 5, draws: 10, ..McmcConfig::default() },
///     ..NleConfig::default()
/// };
/// let first = train_snle_resumable(&TwoMoons, &cfg, &nle, &[0.1, -0.2], Some(&dir), |_| {}, |_| {})?;
/// let again = train_snle_resumable(&TwoMoons, &cfg, &nle, &[0.1, -0.2], Some(&dir), |_| {}, |_| {})?;
/// assert_eq!((first.resumed_rounds, again.resumed_rounds), (0, 2));
/// # std::fs::remove_dir_all(&dir).ok();
/// # Ok::<(), flowinfer::Error>(())
/// ```
pub fn train_snle_resumable(
    sim: &dyn Simulator,
    cfg: &SbiConfig,
    nle: &NleConfig,
    x_o: &[f64],
    state_dir: Option<&Path>,
    mut on_epoch: impl FnMut(&EpochRecord),
    mut on_round: impl FnMut(&SnleRound),
) -> Result<SnleResult> {
    cfg.validate_training()?;
    nle.validate()?;
    let cfg = &cfg.with_run_seed();
    let per_round = nle.per_round(cfg.npe.simulations).max(20);
    // The state records the spec with these [nle] settings (a caller may pass them apart).
    let state_spec = SbiConfig {
        nle: Some(nle.clone()),
        ..cfg.clone()
    };
    let (mut reports, data): (Vec<SnleRound>, Vec<RoundData>) = match state_dir {
        Some(d) => load_state(d, &state_spec, x_o)?,
        None => (Vec::new(), Vec::new()),
    };
    if reports.len() > nle.rounds {
        return Err(Error::config(format!(
            "the SNLE state holds {} rounds, the spec asks for {}",
            reports.len(),
            nle.rounds
        )));
    }
    let resumed_rounds = reports.len();
    let mut thetas: Vec<Vec<f64>> = data.iter().flat_map(|d| d.thetas.clone()).collect();
    let mut xs: Vec<Vec<f64>> = data.into_iter().flat_map(|d| d.xs).collect();
    let mut failures = Vec::new();
    let round_seed = |r: usize| cfg.npe.seed.wrapping_add(r as u64 * 7919);
    // Round r's fit: all pairs so far, shuffled with the round's seed.
    let fit =
        |r: usize, thetas: &[Vec<f64>], xs: &[Vec<f64>], on_epoch: &mut dyn FnMut(&EpochRecord)| {
            let mut pairs: Vec<(Vec<f64>, Vec<f64>)> =
                thetas.iter().cloned().zip(xs.iter().cloned()).collect();
            pairs.shuffle(&mut rand::rngs::StdRng::seed_from_u64(
                round_seed(r) ^ 0xa5a5,
            ));
            let (th, x): (Vec<Vec<f64>>, Vec<Vec<f64>>) = pairs.into_iter().unzip();
            fit_nle(sim, &th, &x, Vec::new(), cfg, on_epoch)
        };
    let mut current: Option<NleTraining> = if resumed_rounds > 0 {
        Some(fit(resumed_rounds - 1, &thetas, &xs, &mut on_epoch)?)
    } else {
        None
    };
    for r in resumed_rounds..nle.rounds {
        let start = Instant::now();
        let seed = round_seed(r);
        let (new_thetas, new_xs, new_failures, rhat) = match &current {
            None => {
                let d = simulate_dataset_lenient(sim, per_round, seed)?;
                (d.thetas, d.xs, d.failures, None)
            }
            Some(t) => {
                let chains = nle.mcmc.chains;
                let proposal_cfg = McmcConfig {
                    draws: per_round.div_ceil(chains).max(4),
                    seed: nle.mcmc.seed.wrapping_add(1000 * r as u64),
                    ..nle.mcmc.clone()
                };
                let m = t
                    .likelihood
                    .sample_posterior(sim, x_o, &proposal_cfg, nle.candidates)?;
                let proposed = thinned(&m, per_round, seed);
                let results = sim.simulate_rows(&proposed, seed)?;
                let (mut th, mut x, mut f) = (Vec::new(), Vec::new(), Vec::new());
                for (t, res) in proposed.into_iter().zip(results) {
                    match res {
                        Ok(v) => {
                            th.push(t);
                            x.push(v);
                        }
                        Err(e) => f.push(e),
                    }
                }
                let max_rhat = m.rhat.iter().copied().fold(f64::NAN, f64::max);
                (th, x, f, Some(max_rhat))
            }
        };
        let (simulated, failed) = (new_thetas.len() + new_failures.len(), new_failures.len());
        let round_data = RoundData {
            thetas: new_thetas,
            xs: new_xs,
        };
        thetas.extend(round_data.thetas.iter().cloned());
        xs.extend(round_data.xs.iter().cloned());
        failures.extend(new_failures);
        let t = fit(r, &thetas, &xs, &mut on_epoch)?;
        let report = SnleRound {
            round: r + 1,
            simulations: simulated,
            failed,
            total_pairs: thetas.len(),
            best_val_loss: t.report.best_loss,
            epochs: t.report.history.len(),
            proposal_max_rhat: rhat,
            seconds: start.elapsed().as_secs_f64(),
        };
        on_round(&report);
        reports.push(report);
        if let Some(dir) = state_dir {
            let state = RoundsState {
                spec: state_spec.clone(),
                observation: x_o.to_vec(),
                rounds: reports.clone(),
            };
            save_round(dir, &state, &round_data)?;
        }
        current = Some(t);
    }
    let mut training = current.ok_or_else(|| Error::config("[nle] rounds must be at least 1"))?;
    let posterior = training
        .likelihood
        .sample_posterior(sim, x_o, &nle.mcmc, nle.candidates)?;
    training.failures = failures.clone();
    Ok(SnleResult {
        training,
        rounds: reports,
        posterior,
        failures,
        resumed_rounds,
    })
}

#[cfg(test)]
mod tests;
