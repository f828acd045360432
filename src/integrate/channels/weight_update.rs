//! How the channel weights `α_k` are updated from one adaptation round
//! ([`super::ChannelSet::adapt`]).
//!
//! With points `x ~ G = Σ α_k g_k` and weights `w = f/G`, a round estimates for every
//! channel
//!
//! * its **share** of the integral, `S_k = Î_k/Î = Σ w·α_k g_k/G / Σ w` over the points
//!   of all rounds so far — each term's factor `α_k g_k/G` lies in `[0, 1]`, so the
//!   estimate is as stable as `Î` itself;
//! * its **variance moment** `W_k = mean(g_k f²/G³)`, a mean of *squared* weights and
//!   so as heavy-tailed as the weights' variance.
//!
//! [`WeightUpdate::Shares`] (the default) sets `α_k ← S_k`, the fixed-point (EM) update
//! of the mixture weights that minimises `D_KL(f/I ‖ G)`: the weights follow the
//! channels' shares of the integral, and so does the per-channel budget that is split
//! by them ([`super::budget`]). [`WeightUpdate::Variance`] is Kleiss & Pittau's
//! `α_k ← α_k √W_k`, variance-optimal when `W_k` is well estimated; on two needles in
//! 8 dimensions (docs/HARD_INTEGRANDS.md) its 4 000-point rounds were dominated by a
//! few points and put the needle carrying 29 % of the integral on the weight floor.
//! Either way the new weights are mixed with a [`MIN_WEIGHT`](super::channel_set::MIN_WEIGHT)
//! share of equal weights.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// The channel-weight update of one adaptation round (module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum WeightUpdate {
    /// `α_k ← Î_k/Î`: the weights follow the estimated shares of the integral.
    #[default]
    Shares,
    /// `α_k ← α_k √W_k` (Kleiss & Pittau 1994).
    Variance,
}

impl WeightUpdate {
    /// Parse `shares` or `variance`.
    ///
    /// ```
    /// use flowinfer::integrate::channels::WeightUpdate;
    /// assert_eq!(WeightUpdate::parse("Shares")?, WeightUpdate::Shares);
    /// assert_eq!(WeightUpdate::parse("variance")?, WeightUpdate::Variance);
    /// assert!(WeightUpdate::parse("kp").is_err());
    /// # Ok::<(), flowinfer::Error>(())
    /// ```
    pub fn parse(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "shares" => Ok(Self::Shares),
            "variance" => Ok(Self::Variance),
            other => Err(Error::config(format!(
                "[channels] update must be `shares` or `variance`, got `{other}`"
            ))),
        }
    }

    /// The unnormalised new weights from the old ones `alpha`, the per-channel sums
    /// `Σ w·α_k g_k/G` (`share_sums`, over all rounds so far) and the round's
    /// `Σ w²·g_k/G` (`moment_sums`, over its `n` points).
    pub fn raw(&self, alpha: &[f64], share_sums: &[f64], moment_sums: &[f64], n: f64) -> Vec<f64> {
        match self {
            Self::Shares => share_sums.to_vec(),
            Self::Variance => alpha
                .iter()
                .zip(moment_sums)
                .map(|(a, b)| a * (b / n).sqrt())
                .collect(),
        }
    }
}
