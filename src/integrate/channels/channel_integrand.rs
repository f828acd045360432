//! One channel's share of the integrand, pulled back through the channel's map.
//!
//! With channel weights `α_k`, maps `x = G_k(y)` of densities `g_k` and their mixture
//! `G = Σ_k α_k g_k`, the functions `a_k(x) = α_k g_k(x)/G(x)` sum to one everywhere
//! (the balance heuristic), so `I = Σ_k I_k` with
//!
//! `I_k = ∫ a_k f dx = ∫_{[0,1]^d} α_k f(G_k(y)) / G(G_k(y)) dy`.
//!
//! [`ChannelIntegrand`] is that last integrand on the unit cube: an ordinary
//! [`Integrand`], so each channel is integrated by its own flow with everything the
//! single-channel integrator does (defensive mixture, collapse guard, annealing,
//! diagnostics).

use super::channel_set::ChannelSet;
use flowinfer_simulators::{Integrand, IntegrandError};

/// Channel `k`'s integrand on the unit cube (module docs).
pub struct ChannelIntegrand<'a> {
    user: &'a dyn Integrand,
    set: &'a ChannelSet,
    channel: usize,
    name: String,
}

impl<'a> ChannelIntegrand<'a> {
    /// Channel `channel` of `set` for `user`.
    pub fn new(user: &'a dyn Integrand, set: &'a ChannelSet, channel: usize) -> Self {
        Self {
            name: format!("{} (channel {})", user.name(), channel + 1),
            user,
            set,
            channel,
        }
    }

    /// Map rows of `y` to the user's points.
    pub fn to_user_points(&self, y: &[f64]) -> Vec<f64> {
        let d = self.user.dim();
        let mut x = vec![0.0; y.len()];
        let map = &self.set.maps()[self.channel];
        for (yr, xr) in y.chunks_exact(d).zip(x.chunks_exact_mut(d)) {
            map.map_point(yr, xr);
        }
        x
    }
}

impl Integrand for ChannelIntegrand<'_> {
    fn name(&self) -> &str {
        &self.name
    }

    fn dim(&self) -> usize {
        self.user.dim()
    }

    fn evaluate(&self, points: &[f64], out: &mut [f64]) -> Result<(), IntegrandError> {
        flowinfer_simulators::integrands::check_batch(self, points, out)?;
        let d = self.dim();
        let x = self.to_user_points(points);
        self.user.evaluate(&x, out)?;
        let ln_alpha = self.set.alpha()[self.channel].ln();
        let mut log_g = vec![0.0; self.set.len()];
        for (row, o) in x.chunks_exact(d).zip(out.iter_mut()) {
            // Invalid values pass through for the integrator to count; zeros stay zero.
            if o.is_finite() && *o > 0.0 {
                self.set.log_densities(row, &mut log_g);
                *o *= (ln_alpha - self.set.log_mixture(&log_g)).exp();
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::integrate::channels::{ChannelMap, PeakMap};
    use flowinfer_simulators::FnIntegrand;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    #[test]
    fn channel_integrals_add_up_to_the_integral() {
        let f = FnIntegrand::new("smooth", 2, |x: &[f64]| 1.0 + x[0] * x[1]);
        let maps = vec![
            ChannelMap::Uniform,
            ChannelMap::Peak(PeakMap::new(vec![0.3, 0.7], 0.2).unwrap()),
        ];
        let set = ChannelSet::new(maps).unwrap();
        let mut rng = StdRng::seed_from_u64(3);
        let n = 200_000;
        let y: Vec<f64> = (0..2 * n).map(|_| rng.random()).collect();
        let mut total = 0.0;
        let mut var = 0.0;
        for k in 0..2 {
            let c = ChannelIntegrand::new(&f, &set, k);
            let mut out = vec![0.0; n];
            c.evaluate(&y, &mut out).unwrap();
            let m = out.iter().sum::<f64>() / n as f64;
            var += out.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (n as f64).powi(2);
            total += m;
        }
        // ∫(1 + xy) = 1.25
        assert!(
            (total - 1.25).abs() < 4.0 * var.sqrt(),
            "{total} ± {}",
            var.sqrt()
        );
        assert_eq!(
            ChannelIntegrand::new(&f, &set, 1).name(),
            "smooth (channel 2)"
        );
    }
}
