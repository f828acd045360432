//! The per-channel budget: the training steps and evaluation samples of a
//! multi-channel run split among the channels by their adapted weights `α_k`, each
//! channel keeping a floor.
//!
//! A channel's integral `I_k` is roughly `α_k I` after the Kleiss–Pittau adaptation
//! (the weights move towards the channels' shares), so the channels that carry the
//! integral get the calls to learn it; the floor — a fraction
//! [`ChannelsConfig::budget_floor`](super::ChannelsConfig::budget_floor) of an equal
//! share — keeps a channel with a small weight (the uniform channel that covers what
//! the peaks miss) from being left untrained, since its flow must still find its
//! small integrand for the error estimate to be honest.

/// The default [`ChannelsConfig::budget_floor`](super::ChannelsConfig::budget_floor).
pub const BUDGET_FLOOR: f64 = 0.25;

/// Split `total` among channels with weights `weights` (non-negative, not all zero):
/// every channel gets at least `max(1, ⌈floor · total / C⌉)` (`C` channels; less only
/// when `total` is smaller than `C` of those), the rest in proportion to its weight,
/// rounded by largest remainders so the parts add up to `total` exactly (or to the
/// floors' sum when that exceeds `total`).
///
/// ```
/// use flowinfer::integrate::channels::budget::allocate;
/// // Three channels with weights 0.05, 0.65, 0.30, floor a quarter of an equal share.
/// let n = allocate(1000, &[0.05, 0.65, 0.30], 0.25);
/// assert_eq!(n.iter().sum::<usize>(), 1000);
/// // 84 each (a quarter of 1000/3), the other 748 by weight: 37.4, 486.2, 224.4 (in floating point 224.4 > 37.4 by a hair) → 37, 486, 225.
/// assert_eq!(n, vec![84 + 37, 84 + 486, 84 + 225]);
/// // Equal weights: equal parts.
/// assert_eq!(allocate(900, &[1.0, 1.0, 1.0], 0.25), vec![300, 300, 300]);
/// ```
pub fn allocate(total: usize, weights: &[f64], floor: f64) -> Vec<usize> {
    let c = weights.len();
    if c == 0 {
        return Vec::new();
    }
    let base = ((floor.clamp(0.0, 1.0) * total as f64 / c as f64).ceil() as usize).max(1);
    let rest = total.saturating_sub(base * c);
    let sum: f64 = weights.iter().map(|w| w.max(0.0)).sum();
    let share = |w: f64| {
        if sum > 0.0 {
            w.max(0.0) / sum
        } else {
            1.0 / c as f64
        }
    };
    let exact: Vec<f64> = weights.iter().map(|w| rest as f64 * share(*w)).collect();
    let mut parts: Vec<usize> = exact.iter().map(|e| e.floor() as usize).collect();
    let mut left = rest - parts.iter().sum::<usize>();
    let mut order: Vec<usize> = (0..c).collect();
    order.sort_by(|a, b| {
        let r = |i: usize| exact[i] - exact[i].floor();
        r(*b).total_cmp(&r(*a)).then(a.cmp(b))
    });
    for &i in order.iter().cycle().take(c) {
        if left == 0 {
            break;
        }
        parts[i] += 1;
        left -= 1;
    }
    parts.iter().map(|p| p + base).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_add_up_and_follow_the_weights() {
        for total in [1usize, 2, 7, 100, 1001, 4000] {
            for w in [
                vec![0.0, 1.0],
                vec![0.1, 0.6, 0.3],
                vec![0.0, 0.0, 0.0, 1e-9],
            ] {
                let n = allocate(total, &w, 0.25);
                let floor = ((0.25 * total as f64 / w.len() as f64).ceil() as usize).max(1);
                assert!(n.iter().all(|k| *k >= floor), "{total} {w:?} {n:?}");
                assert_eq!(n.iter().sum::<usize>(), total.max(floor * w.len()));
            }
        }
        // A heavier channel never gets less.
        let n = allocate(1000, &[0.2, 0.5, 0.3], 0.1);
        assert!(n[1] > n[2] && n[2] > n[0], "{n:?}");
        // Floor 1: equal shares whatever the weights.
        assert_eq!(allocate(300, &[0.0, 1.0, 0.0], 1.0), vec![100, 100, 100]);
    }
}
