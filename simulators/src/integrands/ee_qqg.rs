//! `e⁺e⁻ → γ* → q q̄ g` at leading order: the three-jet cross-section as a 5-dimensional
//! integrand on `[0,1]^5`.
//!
//! # Set-up
//!
//! `√s = 91.2 GeV`, photon exchange only (no Z), five massless flavours
//! (`Σ e_q² = 11/9`), `N_c = 3`, `C_F = 4/3`, `α = 1/137.036`, `α_s = 0.118`. Beams
//! `k_a = (√s/2)(1, 0, 0, 1)`, `k_b = (√s/2)(1, 0, 0, −1)`; final state quark `p₁`,
//! antiquark `p₂`, gluon `p₃` from [`ThreeBodyPhaseSpace`] (RAMBO on diet), with energy
//! fractions `xᵢ = 2Eᵢ/√s` (`x₁ + x₂ + x₃ = 2`) and invariants `s_ij = 2pᵢ·pⱼ`
//! (`s₁₂ = s(1 − x₃)`, `s₁₃ = s(1 − x₂)`, `s₂₃ = s(1 − x₁)`).
//!
//! # Cross-section and integrand
//!
//! ```text
//! σ = (1/2s) ∫ dΦ₃ |M|² Θ(s₁₂ > y s) Θ(s₁₃ > y s) Θ(s₂₃ > y s)
//!   = ∫_{[0,1]^5} dr  f(r),       f(r) = C · (1/2s) · |M|²(p(r)) · Φ₃ · Θ(cuts)
//! ```
//!
//! with `Φ₃ = s/(256π³)` the constant massless phase-space weight and
//! `C = 0.3893793721·10⁹ pb GeV²`, so `f` is in pb. The spin-averaged (¼), spin- and
//! colour-summed matrix element is
//!
//! ```text
//! |M|² = 128 π³ α² α_s N_c C_F Σe_q² · [(k_a·p₁)² + (k_b·p₁)² + (k_a·p₂)² + (k_b·p₂)²]
//!                                      / [(k_a·k_b) (p₁·p₃) (p₂·p₃)]
//!      = 2 e⁴ g_s² N_c C_F Σe_q² · (same ratio),          e² = 4πα, g_s² = 4πα_s.
//! ```
//!
//! # Normalisation (derivation)
//!
//! The angular structure `Σ (k·p)²/((p₁·p₃)(p₂·p₃))` is the standard one
//! (Ellis–Ross–Terrano; equivalently `x₁²(1 + cos²θ₁) + x₂²(1 + cos²θ₂)` over
//! `(1 − x₁)(1 − x₂)` with `θᵢ` the angle to the beam). The prefactor is fixed by the
//! orientation average: with `k·pᵢ = (√s/2) Eᵢ (1 − n̂·ûᵢ)` and `⟨(1 − cos)²⟩ = 4/3`,
//! `⟨Σ (k·p)²⟩ = s²(x₁² + x₂²)/6`; with `k_a·k_b = s/2`, `p₁·p₃ = s(1 − x₂)/2`,
//! `p₂·p₃ = s(1 − x₁)/2` the averaged ratio is `(4/3)(x₁² + x₂²)/(s (1 − x₁)(1 − x₂))`.
//! Massless three-body phase space is flat in `(x₁, x₂)`: `dΦ₃ = s/(128π³) dx₁ dx₂`
//! (the triangle has area ½). Requiring
//!
//! ```text
//! dσ/dx₁dx₂ = (1/2s) · s/(128π³) · ⟨|M|²⟩ = σ₀ · (C_F α_s/2π) · (x₁² + x₂²)/((1 − x₁)(1 − x₂)),
//! σ₀ = 4πα² N_c Σe_q² / (3s)
//! ```
//!
//! gives the prefactor `128 π³ α² α_s N_c C_F Σe_q²` above.
//!
//! # Exact value
//!
//! `σ(y) = σ₀ R₃(y)` with `R₃(y) = (C_F α_s/2π) J(y)`,
//! `J(y) = ∫∫_{xᵢ < 1 − y} (x₁² + x₂²)/((1 − x₁)(1 − x₂)) dx₁ dx₂`. [`EeToQqg::exact`]
//! computes `J` with the `x₂` integral done analytically,
//!
//! ```text
//! ∫_{1+y−x₁}^{1−y} (x₁² + x₂²)/(1 − x₂) dx₂ = (1 + x₁²) ln((x₁ − y)/y) − 2(x₁ − 2y) + ((x₁ − y)² − y²)/2,
//! ```
//!
//! and the `x₁` integral over `[2y, 1 − y]` by Gauss–Legendre in logarithmic variables
//! (converged to ~1e−14). It agrees with the closed form (the O(α_s) three-jet rate with
//! an `s_ij > y s` cut on all pairs)
//!
//! ```text
//! J(y) = (3 − 6y) ln(y/(1 − 2y)) + 2 ln²(y/(1 − y)) + 5/2 − 6y − 9y²/2 + 4 Li₂(y/(1 − y)) − π²/3
//! ```
//!
//! to ~1e−12 (tested). Values: `σ₀ = 38.2890 pb`, `σ(0.01) = 26.7887 pb`,
//! `σ(0.1) = 3.53547 pb`, matching the reference values 26.79 pb and 3.535 pb.
//!
//! # Maps
//!
//! The five random numbers become momenta through a [`QqgMap`]: RAMBO on diet (the
//! default, above: cuts as `f = 0`, the collinear peaks in `f`) or the
//! [`LogDalitzMap`] ([`EeToQqg::with_map`]), whose weight `w(r)` replaces `Φ₃` and
//! cancels the peaks, with every point inside the cuts. The integral is the same.

use std::f64::consts::PI;

use super::integrand::{evaluate_rows, invalid_setting, Integrand, IntegrandError};
use super::log_dalitz::LogDalitzMap;
use super::phase_space::{dot, FourMomentum, ThreeBodyPhaseSpace};
use super::qqg_map::QqgMap;
use super::quadrature::{gauss_legendre, integrate};

/// Centre-of-mass energy `√s` (GeV).
pub const SQRT_S: f64 = 91.2;
/// Fine-structure constant `α`.
pub const ALPHA: f64 = 1.0 / 137.036;
/// Strong coupling `α_s`.
pub const ALPHA_S: f64 = 0.118;
/// Number of colours `N_c`.
pub const N_C: f64 = 3.0;
/// Colour factor `C_F = (N_c² − 1)/(2N_c)`.
pub const C_F: f64 = 4.0 / 3.0;
/// `Σ e_q²` over u, d, s, c, b.
pub const SUM_CHARGE2: f64 = 11.0 / 9.0;
/// Conversion `GeV⁻² → pb`.
pub const GEV2_TO_PB: f64 = 0.3893793721e9;

/// `e⁺e⁻ → q q̄ g` with the cut `s_ij > y·s` on all pairs (see the module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct EeToQqg {
    y_cut: f64,
    phase_space: ThreeBodyPhaseSpace,
    map: QqgMap,
    log_dalitz: LogDalitzMap,
}

impl EeToQqg {
    /// The cut used when none is given.
    pub const DEFAULT_Y_CUT: f64 = 0.01;

    /// The integrand with cut `y_cut ∈ (0, 1/3)` (at `y ≥ 1/3` no configuration passes;
    /// at `y = 0` the integral diverges).
    pub fn new(y_cut: f64) -> Result<Self, IntegrandError> {
        if !(y_cut > 0.0 && y_cut < 1.0 / 3.0) {
            return Err(invalid_setting(
                "ee_qqg",
                format!("y_cut must lie in (0, 1/3), got {y_cut}"),
            ));
        }
        let phase_space = ThreeBodyPhaseSpace::new(SQRT_S)
            .map_err(|e| invalid_setting("ee_qqg", e.to_string()))?;
        Ok(Self {
            y_cut,
            phase_space,
            map: QqgMap::default(),
            log_dalitz: LogDalitzMap::new(SQRT_S, y_cut),
        })
    }

    /// The same process on the phase-space map `map` (same integral).
    ///
    /// ```
    /// use flowinfer_simulators::integrands::{EeToQqg, Integrand, QqgMap};
    /// let f = EeToQqg::new(0.01).unwrap().with_map(QqgMap::LogDalitz);
    /// assert_eq!(f.map(), QqgMap::LogDalitz);
    /// let mut out = [0.0];
    /// f.evaluate(&[0.5; 5], &mut out).unwrap();
    /// assert!(out[0] > 0.0); // inside the cuts by construction
    /// assert_eq!(f.exact(), EeToQqg::new(0.01).unwrap().exact());
    /// ```
    pub fn with_map(mut self, map: QqgMap) -> Self {
        self.map = map;
        self
    }

    /// The phase-space map of the five random numbers.
    pub fn map(&self) -> QqgMap {
        self.map
    }

    /// The cut `y`.
    pub fn y_cut(&self) -> f64 {
        self.y_cut
    }

    /// The RAMBO-on-diet phase space (the map of [`QqgMap::Rambo`]).
    pub fn phase_space(&self) -> &ThreeBodyPhaseSpace {
        &self.phase_space
    }

    /// The Born cross-section `σ₀ = 4πα² N_c Σe_q²/(3s)` in pb.
    pub fn sigma0() -> f64 {
        4.0 * PI * ALPHA * ALPHA * N_C * SUM_CHARGE2 / (3.0 * SQRT_S * SQRT_S) * GEV2_TO_PB
    }

    /// `J(y) = ∫∫ (x₁² + x₂²)/((1 − x₁)(1 − x₂))` over the region `xᵢ < 1 − y`
    /// (`i = 1, 2, 3`), so that `R₃(y) = (C_F α_s/2π) J(y)`.
    pub fn three_jet_integral(y: f64) -> f64 {
        Self::three_jet_integral_with(y, 8, 20)
    }

    fn three_jet_integral_with(y: f64, panels: usize, order: usize) -> f64 {
        if !(y > 0.0 && y < 1.0 / 3.0) {
            return f64::NAN;
        }
        // x₂ integral done analytically, divided by (1 − x₁).
        let inner = |x1: f64| {
            let ta = x1 - y;
            ((1.0 + x1 * x1) * (ta / y).ln() - 2.0 * (ta - y) + 0.5 * (ta * ta - y * y))
                / (1.0 - x1)
        };
        let rule = gauss_legendre(order);
        let mid = 0.5 * (1.0 + y);
        // [2y, mid] in v = ln(x₁ − y); [mid, 1 − y] in u = −ln(1 − x₁).
        let lower = integrate(
            |v| {
                let x1 = y + v.exp();
                inner(x1) * (x1 - y)
            },
            y.ln(),
            (mid - y).ln(),
            panels,
            &rule,
        );
        let upper = integrate(
            |u| {
                let x1 = 1.0 - (-u).exp();
                inner(x1) * (1.0 - x1)
            },
            -(1.0 - mid).ln(),
            -y.ln(),
            panels,
            &rule,
        );
        lower + upper
    }

    /// The value at momenta `[p₁ (q), p₂ (q̄), p₃ (g)]` in pb (flux, phase-space weight and
    /// conversion included; zero when a cut fails).
    pub fn value_at(&self, p: &[FourMomentum; 3]) -> f64 {
        let e = SQRT_S;
        let s = e * e;
        let (p1, p2, p3) = (&p[0], &p[1], &p[2]);
        let (d12, d13, d23) = (dot(p1, p2), dot(p1, p3), dot(p2, p3));
        let ycut = 0.5 * self.y_cut * s; // s_ij > y s ⇔ pᵢ·pⱼ > y s/2
        if !(d12 > ycut && d13 > ycut && d23 > ycut) {
            return 0.0;
        }
        self.cross_section_density(p, d13, d23) * self.phase_space.weight()
    }

    /// `C · |M|²/(2s)` in pb/GeV² at momenta `p` with `p₁·p₃ = d13`, `p₂·p₃ = d23` (no
    /// cut); times a phase-space weight it is the integrand.
    fn cross_section_density(&self, p: &[FourMomentum; 3], d13: f64, d23: f64) -> f64 {
        let e = SQRT_S;
        let s = e * e;
        let (p1, p2) = (&p[0], &p[1]);
        let ka: FourMomentum = [0.5 * e, 0.0, 0.0, 0.5 * e];
        let kb: FourMomentum = [0.5 * e, 0.0, 0.0, -0.5 * e];
        let num = dot(&ka, p1).powi(2)
            + dot(&kb, p1).powi(2)
            + dot(&ka, p2).powi(2)
            + dot(&kb, p2).powi(2);
        let me2 = 128.0 * PI.powi(3) * ALPHA * ALPHA * ALPHA_S * N_C * C_F * SUM_CHARGE2 * num
            / (dot(&ka, &kb) * d13 * d23);
        GEV2_TO_PB * me2 / (2.0 * s)
    }

    /// The integrand on the log-Dalitz map at `r ∈ [0,1]^5` (inside the cuts by
    /// construction; the invariants come from the energy fractions, not from the momenta).
    fn value_log_dalitz(&self, r: &[f64; 5]) -> f64 {
        let point = self.log_dalitz.generate(r);
        let half_s = 0.5 * SQRT_S * SQRT_S;
        let (d13, d23) = (half_s * point.u2, half_s * point.u1);
        self.cross_section_density(&point.momenta, d13, d23) * point.weight
    }
}

impl Integrand for EeToQqg {
    fn name(&self) -> &str {
        "ee_qqg"
    }

    fn dim(&self) -> usize {
        5
    }

    fn evaluate(&self, points: &[f64], out: &mut [f64]) -> Result<(), IntegrandError> {
        evaluate_rows(self, points, out, |row| {
            let r = [row[0], row[1], row[2], row[3], row[4]];
            match self.map {
                QqgMap::Rambo => self.value_at(&self.phase_space.generate_unchecked(&r)),
                QqgMap::LogDalitz => self.value_log_dalitz(&r),
            }
        })
    }

    fn exact(&self) -> Option<f64> {
        Some(Self::sigma0() * C_F * ALPHA_S / (2.0 * PI) * Self::three_jet_integral(self.y_cut))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vegas::{vegas, VegasConfig};

    #[test]
    fn reference_values_by_quadrature() {
        for (y, reference) in [(0.01, 26.79), (0.1, 3.535)] {
            let j = EeToQqg::three_jet_integral(y);
            let j_coarse = EeToQqg::three_jet_integral_with(y, 4, 12);
            assert!(
                (j - j_coarse).abs() < 1e-11 * j,
                "y = {y}: {j} vs {j_coarse}"
            );
            let sigma = EeToQqg::new(y).unwrap().exact().unwrap();
            // the references are given to four significant digits
            assert!(
                (sigma - reference).abs() < 6e-4 * reference,
                "y = {y}: {sigma} pb vs {reference} pb"
            );
        }
        assert!(
            (EeToQqg::sigma0() - 38.29).abs() < 0.01,
            "{}",
            EeToQqg::sigma0()
        );
    }

    #[test]
    fn quadrature_agrees_with_the_closed_form() {
        // Li₂(z) = Σ z^k/k², fine for the small z = y/(1 − y) used here
        let li2 = |z: f64| (1..200).map(|k| z.powi(k) / (k * k) as f64).sum::<f64>();
        for y in [0.001f64, 0.01, 0.05, 0.1, 0.2] {
            let closed = (3.0 - 6.0 * y) * (y / (1.0 - 2.0 * y)).ln()
                + 2.0 * (y / (1.0 - y)).ln().powi(2)
                + 2.5
                - 6.0 * y
                - 4.5 * y * y
                + 4.0 * li2(y / (1.0 - y))
                - PI * PI / 3.0;
            let j = EeToQqg::three_jet_integral(y);
            assert!(
                (j - closed).abs() < 1e-12 * closed,
                "y = {y}: {j} vs {closed}"
            );
        }
    }

    #[test]
    fn quadrature_agrees_with_a_midpoint_grid_over_the_dalitz_triangle() {
        let y = 0.1;
        let n = 2000;
        let h = 1.0 / n as f64;
        let mut total = 0.0;
        for i in 0..n {
            let x1 = (i as f64 + 0.5) * h;
            for j in 0..n {
                let x2 = (j as f64 + 0.5) * h;
                if x1 < 1.0 - y && x2 < 1.0 - y && x1 + x2 > 1.0 + y {
                    total += (x1 * x1 + x2 * x2) / ((1.0 - x1) * (1.0 - x2));
                }
            }
        }
        let j = EeToQqg::three_jet_integral(y);
        assert!(
            (total * h * h - j).abs() < 2e-3 * j,
            "{} vs {j}",
            total * h * h
        );
    }

    #[test]
    fn orientation_average_reproduces_the_dalitz_density() {
        // For a fixed event, average f over all beam directions n̂ (exactly: Gauss–Legendre
        // in cos θ, trapezoid in φ, since |M|² is a polynomial of degree 4 in n̂). The
        // average must be dσ/dx₁dx₂ / 2, the factor ½ = Φ₃ / (s/(128π³)) being the
        // Jacobian dx₁dx₂ → dr of a flat Dalitz plot of area ½.
        let proc = EeToQqg::new(1e-6).unwrap();
        let ps = proc.phase_space();
        let (nodes, weights) = gauss_legendre(6);
        for r in [
            [0.3, 0.1, 0.2, 0.4, 0.9],
            [0.7, 0.6, 0.8, 0.15, 0.3],
            [0.5, 0.95, 0.5, 0.8, 0.0],
        ] {
            let p = ps.generate(&r).unwrap();
            let mut avg = 0.0;
            let nphi = 12;
            for (&c, &w) in nodes.iter().zip(&weights) {
                let s = (1.0 - c * c).sqrt();
                for k in 0..nphi {
                    let phi = 2.0 * PI * k as f64 / nphi as f64;
                    // rotate the event by R = R_y(−θ) R_z(−φ), which maps n̂ to ẑ
                    let rot = |v: &FourMomentum| -> FourMomentum {
                        let (x, yv) = (
                            phi.cos() * v[1] + phi.sin() * v[2],
                            -phi.sin() * v[1] + phi.cos() * v[2],
                        );
                        [v[0], c * x - s * v[3], yv, s * x + c * v[3]]
                    };
                    let q = [rot(&p[0]), rot(&p[1]), rot(&p[2])];
                    avg += 0.5 * w / nphi as f64 * proc.value_at(&q);
                }
            }
            let x1 = 2.0 * p[0][0] / SQRT_S;
            let x2 = 2.0 * p[1][0] / SQRT_S;
            let expect = EeToQqg::sigma0() * C_F * ALPHA_S / (2.0 * PI) * (x1 * x1 + x2 * x2)
                / ((1.0 - x1) * (1.0 - x2))
                / 2.0;
            assert!((avg - expect).abs() < 1e-12 * expect, "{avg} vs {expect}");
        }
    }

    #[test]
    fn vegas_reproduces_the_three_jet_cross_sections() {
        // reference values from the brief; both within 3σ and within 1%
        for (y, reference, points) in [(0.01, 26.79, 60_000), (0.1, 3.535, 30_000)] {
            let f = EeToQqg::new(y).unwrap();
            let config = VegasConfig {
                iterations: 10,
                points_per_iteration: points,
                seed: 1,
                ..VegasConfig::default()
            };
            let r = vegas(&f, &config).unwrap();
            assert_eq!(r.non_finite + r.negative, 0);
            for target in [reference, f.exact().unwrap()] {
                let dev = (r.integral - target).abs();
                assert!(
                    dev < 3.0 * r.std_error && dev < 0.01 * target,
                    "y = {y}: {} ± {} pb vs {target} pb",
                    r.integral,
                    r.std_error
                );
            }
            assert!(r.std_error < 0.004 * reference, "{r:?}");
        }
    }

    /// Mean, standard error of the mean, zero fraction and (bootstrap-free) efficiency
    /// `mean/max` of `f` at `n` uniform points (seeded).
    fn uniform_mc(f: &EeToQqg, n: usize, seed: u64) -> (f64, f64, f64, f64) {
        use rand::rngs::StdRng;
        use rand::{Rng, SeedableRng};
        let mut rng = StdRng::seed_from_u64(seed);
        let points: Vec<f64> = (0..n * 5).map(|_| rng.random::<f64>()).collect();
        let mut out = vec![0.0; n];
        f.evaluate(&points, &mut out).unwrap();
        let mean = out.iter().sum::<f64>() / n as f64;
        let var = out.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        let zeros = out.iter().filter(|v| **v == 0.0).count() as f64 / n as f64;
        let max = out.iter().cloned().fold(0.0, f64::max);
        (mean, (var / n as f64).sqrt(), zeros, mean / max)
    }

    #[test]
    fn log_dalitz_map_integrates_to_the_exact_cross_section_with_no_zeros() {
        // 10⁶ uniform points: the standard error is ≈ 0.013 pb (rel. std per point
        // ≈ 0.5); a Jacobian off by any factor that is not 1 ± 0.002 fails the 4σ check.
        let plain = EeToQqg::new(0.01).unwrap();
        let f = plain.clone().with_map(QqgMap::LogDalitz);
        let exact = f.exact().unwrap();
        let (mean, err, zeros, eff) = uniform_mc(&f, 1_000_000, 11);
        assert!(err < 2e-3 * exact, "standard error {err}");
        assert!(
            (mean - exact).abs() < 4.0 * err,
            "{mean} ± {err} vs {exact}"
        );
        assert_eq!(zeros, 0.0, "the map's points all pass the cuts");
        // the same uniform sampler on the default map: zeros and a far lower efficiency
        let (mean0, err0, zeros0, eff0) = uniform_mc(&plain, 200_000, 11);
        assert!((mean0 - exact).abs() < 4.0 * err0, "{mean0} ± {err0}");
        assert!(zeros0 > 0.05 && eff > 10.0 * eff0, "{zeros0} {eff} {eff0}");
        assert!(err * (1_000_000f64).sqrt() < 0.25 * err0 * (200_000f64).sqrt());
        eprintln!(
            "log_dalitz: {mean} ± {err} (rel. std {:.3}), eff {eff:.3}; \
             rambo: {mean0} ± {err0} (rel. std {:.3}), zeros {zeros0:.3}, eff {eff0:.4}",
            err * 1000.0 / mean,
            err0 * (200_000f64).sqrt() / mean0
        );
    }

    #[test]
    fn cuts_and_settings() {
        assert!(EeToQqg::new(0.0).is_err());
        assert!(EeToQqg::new(0.34).is_err());
        assert!(EeToQqg::new(f64::NAN).is_err());
        let proc = EeToQqg::new(0.1).unwrap();
        let mut out = [1.0; 2];
        // r₀ = 0 means x₁ = 1: s₂₃ = 0 fails the cut; a point outside the cube is zero
        proc.evaluate(
            &[0.0, 0.5, 0.5, 0.5, 0.5, 1.2, 0.5, 0.5, 0.5, 0.5],
            &mut out,
        )
        .unwrap();
        assert_eq!(out, [0.0, 0.0]);
    }
}
