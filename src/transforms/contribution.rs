//! Whether a layer's likelihood contribution is exact or a stochastic lower bound
//! (SurVAE flows, Nielsen et al. 2020; see docs/SURJECTIVE.md).

use serde::{Deserialize, Serialize};

/// The kind of likelihood contribution a layer's `forward` returns.
///
/// * `Exact`: bijections (the log-determinant) and inference surjections whose forward
///   is deterministic (slice, absolute value, sort): `log p(x) = log p(z) + contribution`.
/// * `Bound`: layers whose forward draws randomness (augment, dequantization): the
///   contribution is a one-sample estimate whose expectation is a lower bound
///   (`E[log p(z) + contribution] ≤ log p(x)`).
///
/// ```
/// use flowinfer::transforms::Contribution;
/// assert_eq!(Contribution::Exact.and(Contribution::Bound), Contribution::Bound);
/// assert_eq!(Contribution::Exact.and(Contribution::Exact), Contribution::Exact);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Contribution {
    /// The contribution is exact.
    Exact,
    /// The contribution is a stochastic lower bound.
    Bound,
}

impl Contribution {
    /// The kind of a sum of two contributions: exact only when both are.
    pub fn and(self, other: Contribution) -> Contribution {
        if self == Contribution::Exact && other == Contribution::Exact {
            Contribution::Exact
        } else {
            Contribution::Bound
        }
    }
}
