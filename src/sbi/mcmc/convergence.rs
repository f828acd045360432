//! Convergence diagnostics of several MCMC chains: split R-hat and the effective sample
//! size, as defined in Gelman et al., *Bayesian Data Analysis* (3rd ed., §11.4–11.5) and
//! used by Stan.
//!
//! Each chain is split in two halves (so that a chain drifting within itself is caught
//! like two chains that disagree). With `m` half-chains of `n` draws, `W` the mean
//! within-chain variance and `B/n` the variance of the chain means,
//! `var⁺ = (n − 1)/n · W + B/n` and `R̂ = √(var⁺ / W)`; `R̂ ≈ 1` when the chains agree.
//! The effective sample size is `m·n / τ` with the integrated autocorrelation time
//! `τ = −1 + 2 Σ_k P_k`, `P_k = ρ̂_{2k} + ρ̂_{2k+1}` summed while positive and made
//! monotone (Geyer's initial monotone sequence), `ρ̂_t = 1 − (W − mean_j γ̂_{t,j}) / var⁺`.

/// Split R-hat of one parameter; `chains[j]` holds chain `j`'s draws (equal lengths,
/// at least 4 each). `NaN` when there are too few draws.
///
/// ```
/// use flowinfer::sbi::mcmc::split_rhat;
///
/// let a: Vec<f64> = (0..400).map(|i| ((i * 7919) % 101) as f64).collect();
/// let b: Vec<f64> = (0..400).map(|i| ((i * 104_729) % 101) as f64).collect();
/// assert!((split_rhat(&[a.clone(), b]) - 1.0).abs() < 0.01);
/// let shifted: Vec<f64> = a.iter().map(|v| v + 100.0).collect();
/// assert!(split_rhat(&[a, shifted]) > 1.5);
/// ```
pub fn split_rhat(chains: &[Vec<f64>]) -> f64 {
    let halves = split(chains);
    match within_between(&halves) {
        Some((w, var_plus)) if w > 0.0 => (var_plus / w).sqrt(),
        Some(_) => 1.0,
        None => f64::NAN,
    }
}

/// Effective sample size of one parameter over all chains (BDA3 §11.5). `NaN` when
/// there are too few draws.
///
/// ```
/// use flowinfer::sbi::mcmc::effective_sample_size;
///
/// // Strongly autocorrelated draws (an AR(1) chain with ρ = 0.9) have far fewer
/// // effective draws than draws: about n (1 − ρ) / (1 + ρ).
/// let mut x = 0.0;
/// let mut s = 12345u64;
/// let chain: Vec<f64> = (0..20_000).map(|_| {
///     s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
///     x = 0.9 * x + ((s >> 11) as f64 / (1u64 << 53) as f64 - 0.5);
///     x
/// }).collect();
/// let ess = effective_sample_size(&[chain]);
/// assert!(ess > 500.0 && ess < 2000.0, "{ess}");
/// ```
pub fn effective_sample_size(chains: &[Vec<f64>]) -> f64 {
    let halves = split(chains);
    let Some((w, var_plus)) = within_between(&halves) else {
        return f64::NAN;
    };
    let (m, n) = (halves.len(), halves[0].len());
    if var_plus <= 0.0 {
        return (m * n) as f64;
    }
    let centred: Vec<Vec<f64>> = halves
        .iter()
        .map(|c| {
            let mean = c.iter().sum::<f64>() / n as f64;
            c.iter().map(|v| v - mean).collect()
        })
        .collect();
    // ρ̂_t from the mean autocovariance over chains (biased, divided by n).
    let rho = |t: usize| -> f64 {
        let mean_acov = centred
            .iter()
            .map(|c| (0..n - t).map(|i| c[i] * c[i + t]).sum::<f64>() / n as f64)
            .sum::<f64>()
            / m as f64;
        1.0 - (w - mean_acov) / var_plus
    };
    let mut sum = 0.0;
    let mut prev = f64::INFINITY;
    let mut t = 0;
    while t + 1 < n {
        let p = rho(t) + rho(t + 1);
        if p <= 0.0 {
            break;
        }
        let p = p.min(prev);
        sum += p;
        prev = p;
        t += 2;
    }
    let tau = (-1.0 + 2.0 * sum).max(1.0 / ((m * n) as f64).log10().max(1.0));
    (m * n) as f64 / tau
}

/// Both halves of every chain (the middle draw of an odd-length chain is dropped).
fn split(chains: &[Vec<f64>]) -> Vec<Vec<f64>> {
    chains
        .iter()
        .flat_map(|c| {
            let h = c.len() / 2;
            [c[..h].to_vec(), c[c.len() - h..].to_vec()]
        })
        .collect()
}

/// `(W, var⁺)` of equal-length chains; `None` with fewer than 2 draws per chain or
/// unequal lengths.
fn within_between(chains: &[Vec<f64>]) -> Option<(f64, f64)> {
    let n = chains.first()?.len();
    if n < 2 || chains.iter().any(|c| c.len() != n) {
        return None;
    }
    let m = chains.len() as f64;
    let means: Vec<f64> = chains
        .iter()
        .map(|c| c.iter().sum::<f64>() / n as f64)
        .collect();
    let w = chains
        .iter()
        .zip(&means)
        .map(|(c, mu)| c.iter().map(|v| (v - mu).powi(2)).sum::<f64>() / (n - 1) as f64)
        .sum::<f64>()
        / m;
    let grand = means.iter().sum::<f64>() / m;
    let b_over_n = if m > 1.0 {
        means.iter().map(|mu| (mu - grand).powi(2)).sum::<f64>() / (m - 1.0)
    } else {
        0.0
    };
    Some((w, (n - 1) as f64 / n as f64 * w + b_over_n))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_distr::{Distribution, StandardNormal};

    #[test]
    fn independent_draws_have_rhat_one_and_full_ess() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(4);
        let chains: Vec<Vec<f64>> = (0..4)
            .map(|_| (0..1000).map(|_| StandardNormal.sample(&mut rng)).collect())
            .collect();
        let r = split_rhat(&chains);
        assert!((r - 1.0).abs() < 0.01, "{r}");
        let ess = effective_sample_size(&chains);
        assert!((3000.0..5500.0).contains(&ess), "{ess}");
    }

    #[test]
    fn a_drifting_chain_is_caught_by_the_split() {
        // One chain whose second half sits elsewhere: split R-hat sees it even alone.
        let chain: Vec<f64> = (0..1000)
            .map(|i| if i < 500 { 0.0 } else { 5.0 } + ((i * 37) % 11) as f64 * 0.1)
            .collect();
        assert!(split_rhat(&[chain]) > 2.0);
        assert!(split_rhat(&[vec![1.0, 2.0]]).is_nan());
    }
}
