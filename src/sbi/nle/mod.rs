//! Neural likelihood estimation (NLE, Papamakarios et al. 2019, "Sequential neural
//! likelihood"): a conditional flow `q(x | θ)` fitted to simulations ([`train_nle`]),
//! whose posterior for an observation, `q(x_o | θ) p(θ)`, is sampled by slice-sampling
//! MCMC with several chains, split R-hat and ESS ([`NleLikelihood::sample_posterior`]).
//! Sequential rounds (SNLE, [`train_snle`]) simulate from the current MCMC posterior and
//! refit on all rounds' pairs; the likelihood estimate stays valid under any proposal,
//! so no correction is needed.
//!
//! The sampler is the project's slice sampler ([`crate::sbi::mcmc`], Neal 2003) run in
//! lockstep over chains ([`batch_slice`]) so that one flow call scores all chains'
//! points. `flowinfer diagnose` on an NLE run ([`diagnose_nle`]) runs SBC, expected
//! coverage and TARP with MCMC draws for many simulated data sets at once ([`sbc`]).
//! The `[nle]` section of an sbi spec:
//!
//! ```toml
//! [nle]
//! rounds = 1                  # 1 = NLE on prior simulations; > 1 = SNLE
//! simulations = 2500          # per round (absent: [npe] simulations / rounds)
//! candidates = 10000          # prior draws resampled by likelihood to start the chains
//! observation = "obs.csv"     # SNLE: the observation the rounds target
//! [nle.mcmc]                  # chains, warmup, draws, thin, initial_width, seed, rotate
//! chains = 4
//! ```

pub mod batch_slice;
pub mod diagnose;
mod frame;
pub mod likelihood;
pub mod rounds;
pub mod run;
pub mod sbc;
pub mod train;

pub use batch_slice::{
    sample_mcmc_batched, sample_mcmc_per_chain, BatchLogDensity, ChainLogDensity,
};
pub use diagnose::{diagnose_nle, NleDiagnoseReport};
pub use likelihood::NleLikelihood;
pub use rounds::{train_snle, SnleResult, SnleRound};
pub use sbc::{sbc_mcmc, sbc_nle, McmcSbc, McmcSbcConfig, SbcMixing};
pub use train::{fit_nle, train_nle, NleTraining};

use crate::error::{Error, Result};
use crate::sbi::mcmc::McmcConfig;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// The `[nle]` section of an sbi spec.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NleConfig {
    /// Rounds (1: plain NLE on prior simulations; more: SNLE for one observation).
    pub rounds: usize,
    /// Simulations per round; `None`: the `[npe] simulations` budget split evenly.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub simulations: Option<usize>,
    /// Prior draws resampled by likelihood to start the chains.
    pub candidates: usize,
    /// The observation SNLE targets (a CSV file with a header, first row used).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observation: Option<PathBuf>,
    /// The MCMC settings (default 4 chains).
    pub mcmc: McmcConfig,
}

impl Default for NleConfig {
    fn default() -> Self {
        Self {
            rounds: 1,
            simulations: None,
            candidates: 10_000,
            observation: None,
            mcmc: McmcConfig::default(),
        }
    }
}

impl NleConfig {
    /// Check the values serde cannot.
    pub fn validate(&self) -> Result<()> {
        let m = &self.mcmc;
        if self.rounds == 0 || self.simulations.is_some_and(|s| s < 20) {
            return Err(Error::config(format!(
                "[nle] needs rounds ≥ 1 and simulations ≥ 20 per round, got {} and {:?}",
                self.rounds, self.simulations
            )));
        }
        if m.chains == 0 || m.draws < 4 || m.thin == 0 || self.candidates < m.chains {
            return Err(Error::config(format!(
                "[nle.mcmc] needs chains ≥ 1, draws ≥ 4, thin ≥ 1 and [nle] candidates ≥ chains; got chains {}, draws {}, thin {}, candidates {}",
                m.chains, m.draws, m.thin, self.candidates
            )));
        }
        if !(m.initial_width > 0.0 && m.initial_width.is_finite()) {
            return Err(Error::config(format!(
                "[nle.mcmc] initial_width must be positive, got {}",
                m.initial_width
            )));
        }
        Ok(())
    }

    /// Simulations per round for a total budget `budget`.
    pub fn per_round(&self, budget: usize) -> usize {
        self.simulations.unwrap_or(budget / self.rounds.max(1))
    }
}
