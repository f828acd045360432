//! Gauss–Legendre quadrature for the deterministic reference values (the `e⁺e⁻ → qq̄g`
//! three-jet integral and the entangled-circles check).

/// Nodes and weights of the `n`-point Gauss–Legendre rule on `[−1, 1]` (Newton iteration
/// on the Legendre recurrence from the Tricomi initial guesses; accurate to a few ulp).
pub(crate) fn gauss_legendre(n: usize) -> (Vec<f64>, Vec<f64>) {
    let mut nodes = vec![0.0; n];
    let mut weights = vec![0.0; n];
    let nf = n as f64;
    for i in 0..n.div_ceil(2) {
        let mut x = (std::f64::consts::PI * (i as f64 + 0.75) / (nf + 0.5)).cos();
        let mut dp = 1.0;
        for _ in 0..100 {
            // P_n(x) and P_n'(x) by the three-term recurrence.
            let (mut p0, mut p1) = (1.0, x);
            for k in 2..=n {
                let kf = k as f64;
                let p2 = ((2.0 * kf - 1.0) * x * p1 - (kf - 1.0) * p0) / kf;
                p0 = p1;
                p1 = p2;
            }
            dp = nf * (x * p1 - p0) / (x * x - 1.0);
            let dx = p1 / dp;
            x -= dx;
            if dx.abs() < 1e-16 {
                break;
            }
        }
        let w = 2.0 / ((1.0 - x * x) * dp * dp);
        nodes[i] = -x;
        nodes[n - 1 - i] = x;
        weights[i] = w;
        weights[n - 1 - i] = w;
    }
    (nodes, weights)
}

/// `∫_a^b f` by composite Gauss–Legendre: `panels` equal panels with `rule` (from
/// [`gauss_legendre`]) on each.
pub(crate) fn integrate(
    f: impl Fn(f64) -> f64,
    a: f64,
    b: f64,
    panels: usize,
    rule: &(Vec<f64>, Vec<f64>),
) -> f64 {
    let h = (b - a) / panels as f64;
    let mut total = 0.0;
    for p in 0..panels {
        let mid = a + (p as f64 + 0.5) * h;
        let s: f64 = rule
            .0
            .iter()
            .zip(&rule.1)
            .map(|(&t, &w)| w * f(mid + 0.5 * h * t))
            .sum();
        total += 0.5 * h * s;
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_integrate_polynomials_exactly() {
        for n in [1, 2, 5, 16, 33] {
            let rule = gauss_legendre(n);
            assert!((rule.1.iter().sum::<f64>() - 2.0).abs() < 1e-13, "n = {n}");
            // degree 2n − 1 is exact
            let deg = 2 * n - 1;
            let got = integrate(
                |x| x.powi(deg as i32) + x.powi(deg as i32 - 1),
                0.0,
                1.0,
                1,
                &rule,
            );
            let expect = 1.0 / (deg as f64 + 1.0) + 1.0 / deg as f64;
            assert!((got - expect).abs() < 1e-13, "n = {n}: {got} vs {expect}");
        }
    }

    #[test]
    fn composite_rule_on_smooth_function() {
        let rule = gauss_legendre(10);
        let got = integrate(f64::exp, -1.0, 2.0, 4, &rule);
        assert!((got - (2f64.exp() - (-1f64).exp())).abs() < 1e-13);
    }
}
