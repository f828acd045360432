//! Independent numerical estimates of built-in integrals for the tests: plain Monte
//! Carlo over the cube and the midpoint rule on a 2-D grid (both evaluate in batches).

use super::Integrand;
use rand::{Rng, SeedableRng};

/// Mean of `f` over `n` uniform points of the cube (in batches of 10 000, `n` rounded
/// down to whole batches) and its standard error.
pub(crate) fn uniform_mc(f: &dyn Integrand, n: usize, seed: u64) -> (f64, f64) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let d = f.dim();
    let batch = 10_000;
    let mut pts = vec![0.0; batch * d];
    let mut out = vec![0.0; batch];
    let (mut s, mut s2) = (0.0, 0.0);
    for _ in 0..n / batch {
        pts.iter_mut().for_each(|p| *p = rng.random::<f64>());
        f.evaluate(&pts, &mut out).unwrap();
        s += out.iter().sum::<f64>();
        s2 += out.iter().map(|v| v * v).sum::<f64>();
    }
    let m = (n / batch * batch) as f64;
    let mean = s / m;
    (mean, ((s2 / m - mean * mean) / m).sqrt())
}

/// `∫ f` over `[lo, hi]²` by the midpoint rule on an `n × n` grid.
pub(crate) fn grid_2d(f: &dyn Integrand, lo: f64, hi: f64, n: usize) -> f64 {
    let h = (hi - lo) / n as f64;
    let mut pts = Vec::with_capacity(2 * n);
    let mut out = vec![0.0; n];
    let mut total = 0.0;
    for i in 0..n {
        pts.clear();
        for j in 0..n {
            pts.push(lo + (i as f64 + 0.5) * h);
            pts.push(lo + (j as f64 + 0.5) * h);
        }
        f.evaluate(&pts, &mut out).unwrap();
        total += out.iter().sum::<f64>();
    }
    total * h * h
}
