//! Print the figures of docs/HARD_INTEGRANDS.md for the shipped hard-integrand specs:
//! exact value, peak value, `∫f²` and what they mean for plain (uniform) Monte Carlo.
//!
//! ```text
//! cargo run -p flowinfer-simulators --example hard_integrands
//! ```
//!
//! `∫f²` is exact (closed forms and the integrands' own exact values) except where
//! marked `≤` (taken over `R^d` instead of the cube) and for the Breit–Wigner's smooth
//! factor, whose `∫g²` is a uniform Monte Carlo estimate (10⁶ points).

use flowinfer_simulators::integrands::{BreitWigner, Integrand, Needle, Shell, TwoNeedles};
use rand::{Rng, SeedableRng};
use std::f64::consts::PI;

fn value(f: &dyn Integrand, x: &[f64]) -> f64 {
    let mut out = [0.0];
    f.evaluate(x, &mut out).expect("a valid point");
    out[0]
}

/// `∫ p²` over the cube for the needle `n`: `p² = (4π)^{−d/2}|Σ|^{−1/2} N(μ, Σ/2)`, and
/// the probability of the cube under `N(μ, Σ/2)` is the exact value of the needle of
/// width `σ/√2`.
fn needle_square(d: usize, width: f64, rho: f64, centre: f64) -> f64 {
    let half = Needle::new(d, width / 2f64.sqrt(), rho, centre).unwrap();
    let df = d as f64;
    let log_det =
        df * (width * width).ln() + (df - 1.0) * (1.0 - rho).ln() + (1.0 + (df - 1.0) * rho).ln();
    (-0.5 * df * (4.0 * PI).ln() - 0.5 * log_det).exp() * half.exact().unwrap()
}

/// Distance of `x` from the diagonal through `(½, …, ½)`, in units of the needle's
/// thickness `σ√(1−ρ)`.
fn across_sigmas(x: &[f64], rho: f64, width: f64) -> f64 {
    let mean = x.iter().sum::<f64>() / x.len() as f64;
    let across: f64 = x.iter().map(|v| (v - mean) * (v - mean)).sum();
    across.sqrt() / (width * (1.0 - rho).sqrt())
}

fn row(name: &str, f: &dyn Integrand, peak: f64, square: f64, bound: bool) {
    let e = f.exact().unwrap();
    let rel_var = square / (e * e) - 1.0;
    println!(
        "{name:<12} d={:<3} I={e:<20.17} 1-I={:<9.2e} f_max={peak:<9.3e} ∫f²{}{square:<9.3e} \
         uniform efficiency I²/∫f²={:<9.2e} uniform points for 1 %: {:.1e}",
        f.dim(),
        1.0 - e,
        if bound { "≤" } else { "=" },
        e * e / square,
        rel_var * 1e4
    );
}

/// How many of 10⁶ uniform points (rng seed `seed`) give `f > 0` in f64: below 1 % the
/// integrator's pilot is blind and the peak start runs (docs/INTEGRATION.md).
fn positive_points(f: &dyn Integrand, seed: u64) -> (usize, usize, Vec<f64>) {
    let d = f.dim();
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let n_pts = 1_000_000;
    let pts: Vec<f64> = (0..n_pts * d).map(|_| rng.random::<f64>()).collect();
    let mut out = vec![0.0; n_pts];
    f.evaluate(&pts, &mut out).unwrap();
    (out.iter().filter(|v| **v > 0.0).count(), n_pts, pts)
}

fn main() {
    let (w, rho) = (Needle::DEFAULT_WIDTH, Needle::DEFAULT_CORRELATION);
    for d in [4, 8, 16] {
        let n = Needle::new(d, w, rho, 0.5).unwrap();
        let peak = value(&n, &vec![0.5; d]);
        row("needle", &n, peak, needle_square(d, w, rho, 0.5), false);
        // How often a uniform point sees any signal at all (f > 0 in f64).
        let (positive, n_pts, pts) = positive_points(&n, d as u64);
        let median_across = {
            let mut logs: Vec<f64> = pts
                .chunks_exact(d)
                .map(|r| across_sigmas(r, rho, w))
                .collect();
            logs.sort_by(f64::total_cmp);
            logs[n_pts / 2]
        };
        println!(
            "needle       d={d:<3} uniform points with f > 0: {positive} of {n_pts}; median distance \
             from the diagonal {median_across:.0} σ√(1−ρ)"
        );
    }

    let (r, sw) = (Shell::DEFAULT_RADIUS, Shell::DEFAULT_WIDTH);
    let d = 8;
    let s = Shell::new(d, r, sw).unwrap();
    let half = Shell::new(d, r, sw / 2f64.sqrt()).unwrap();
    let mut x = vec![0.5; d];
    x[0] += r;
    // f = N on the sphere ‖x − c‖ = r; ∫_ball f² = N² S R_{w/√2}(0, ½) = N² I'/N'.
    let (norm, norm_half) = (value(&s, &x), value(&half, &x));
    row(
        "shell",
        &s,
        norm,
        norm * norm * half.exact().unwrap() / norm_half,
        false,
    );
    let (positive, n_pts, _) = positive_points(&s, 8);
    println!("shell        uniform points with f > 0: {positive} of {n_pts}");

    let (m, g) = (BreitWigner::DEFAULT_MASS, BreitWigner::DEFAULT_WIDTH);
    let d = 4;
    let bw = BreitWigner::new(d, m, g).unwrap();
    let bw_peak = 2.0 / (PI * g);
    // ∫g² over [0,1]^{d−1} by uniform Monte Carlo: g(y) = f(m₀, y) / BW(m₀).
    let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    let n_mc = 1_000_000;
    let mut pts = vec![0.0; n_mc * d];
    for p in pts.chunks_exact_mut(d) {
        p[0] = m;
        p[1..].iter_mut().for_each(|v| *v = rng.random::<f64>());
    }
    let mut out = vec![0.0; n_mc];
    bw.evaluate(&pts, &mut out).unwrap();
    let g2 = out.iter().map(|v| (v / bw_peak).powi(2)).sum::<f64>() / n_mc as f64;
    let g_max = value(&bw, &[m, 1.0, 1.0, 1.0]) / bw_peak;
    // ∫BW² over R = 1/(πΓ) bounds the integral over [0, 1].
    row("breit_wigner", &bw, bw_peak * g_max, g2 / (PI * g), true);

    let a = TwoNeedles::DEFAULT_WEIGHT;
    let d = 8;
    let t = TwoNeedles::new(d, w, rho, a).unwrap();
    let peak = value(&t, &vec![0.25; d]);
    // ∫(a p₁ + (1−a) p₂)² = a²∫p₁² + (1−a)²∫p₂² + 2a(1−a)∫p₁p₂, with ∫_{R^d} p₁p₂ =
    // N(μ₁ − μ₂; 0, 2Σ): the density of a needle of width σ√2 at ¼ about a centre ¾.
    let wide = Needle::new(d, w * 2f64.sqrt(), rho, 0.75).unwrap();
    let cross = value(&wide, &vec![0.25; d]);
    let square = a * a * needle_square(d, w, rho, 0.25)
        + (1.0 - a) * (1.0 - a) * needle_square(d, w, rho, 0.75)
        + 2.0 * a * (1.0 - a) * cross;
    row("two_needles", &t, peak, square, true);
    println!("two_needles: cross term ∫p₁p₂ ≤ {cross:.2e}");
    let (positive, n_pts, _) = positive_points(&t, 8);
    println!("two_needles  uniform points with f > 0: {positive} of {n_pts}");
}
