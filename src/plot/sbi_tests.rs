//! Tests of the simulation-based-inference plots: each writes a real PNG, rejects
//! mis-shaped or invalid input with an error (writing nothing), and the binomial band
//! and rank binning are right. One test renders realistic examples into
//! `$TMPDIR/flowinfer-plot-sbi-examples/` for looking at.

use super::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Normal};
use std::path::PathBuf;

const PNG_SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1a, b'\n'];

/// A fresh, empty directory under the system temp dir, unique to this test.
fn test_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "flowinfer-plot-sbi-test-{}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Assert `path` is a non-empty PNG and that no temporary file is left beside it.
fn assert_png(path: &Path) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(
        bytes.len() > 1000,
        "{}: only {} bytes",
        path.display(),
        bytes.len()
    );
    assert_eq!(bytes[..8], PNG_SIGNATURE, "{}: not a PNG", path.display());
    let leftovers: Vec<_> = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

fn names(k: usize) -> Vec<String> {
    (0..k).map(|j| format!("θ{j}")).collect()
}

fn is_config<T: std::fmt::Debug>(r: Result<T>) -> bool {
    matches!(r, Err(Error::Config(_)))
}

fn is_shape<T: std::fmt::Debug>(r: Result<T>) -> bool {
    matches!(r, Err(Error::Shape { .. }))
}

/// `n` rows of a posterior along the ridge `a · b = product` (log-normal spread along
/// it, a little across) and `n` prior rows (log-uniform on [0.05, 5]), 3 parameters.
fn ridge_samples(rng: &mut StdRng, n: usize, product: f64) -> (Vec<Vec<f64>>, Vec<Vec<f64>>) {
    let noise = Normal::new(0.0f64, 1.0).unwrap();
    let posterior = (0..n)
        .map(|_| {
            let a = (0.5 * noise.sample(rng)).exp() * product.sqrt();
            let b = product / a * (0.03 * noise.sample(rng)).exp();
            vec![a, b, 0.2 + 0.02 * noise.sample(rng)]
        })
        .collect();
    let prior = (0..n)
        .map(|_| {
            (0..3)
                .map(|_| (rng.random_range(0.05f64.ln()..5.0f64.ln())).exp())
                .collect()
        })
        .collect();
    (posterior, prior)
}

#[test]
fn every_sbi_plot_writes_a_png() {
    let dir = test_dir("each");
    let mut rng = StdRng::seed_from_u64(3);

    let ranks: Vec<Vec<usize>> = (0..2)
        .map(|_| (0..200).map(|_| rng.random_range(0..=100)).collect())
        .collect();
    let p = dir.join("ranks.png");
    rank_histograms(&p, &names(2), &ranks, 100, 10, &[0.4, f64::NAN]).unwrap();
    assert_png(&p);
    // Bins that do not divide max_rank + 1, a single bin, no p-values.
    rank_histograms(&p, &names(2), &ranks, 100, 7, &[]).unwrap();
    assert_png(&p);
    rank_histograms(&p, &names(1), &ranks[..1], 100, 1, &[1.0]).unwrap();
    assert_png(&p);

    let levels: Vec<f64> = (0..=10).map(|k| k as f64 / 10.0).collect();
    let cov: Vec<f64> = levels.iter().map(|l| l * l).collect();
    let p = dir.join("coverage.png");
    coverage_curve(&p, &levels, &cov, 200, "coverage").unwrap();
    assert_png(&p);

    let n = 80;
    let obs: Vec<f64> = (0..n).map(|i| (i as f64 / 10.0).sin()).collect();
    let q50: Vec<f64> = obs.iter().map(|v| v + 0.05).collect();
    let q05: Vec<f64> = q50.iter().map(|v| v - 0.2).collect();
    let q95: Vec<f64> = q50.iter().map(|v| v + 0.2).collect();
    let p = dir.join("predictive.png");
    let segs = [("a".to_string(), 60), ("b".to_string(), 20)];
    predictive_bands(&p, &obs, &q05, &q50, &q95, &segs, "ppc").unwrap();
    assert_png(&p);
    predictive_bands(&p, &obs, &q05, &q50, &q95, &[], "ppc").unwrap();
    assert_png(&p);
    // Non-finite entries are skipped, in both the band and the error-bar style.
    let mut holes = obs.clone();
    holes[3] = f64::NAN;
    let mut q05h = q05.clone();
    q05h[40] = f64::NAN;
    predictive_bands(&p, &holes, &q05h, &q50, &q95, &segs, "holes").unwrap();
    assert_png(&p);

    let (post, prior) = ridge_samples(&mut rng, 300, 0.4);
    let p = dir.join("pairs.png");
    posterior_pairs(
        &p,
        &names(3),
        &post,
        Some(&prior),
        Some(&[0.5, 0.8, 0.2]),
        200,
    )
    .unwrap();
    assert_png(&p);
    posterior_pairs(&p, &names(3), &post, None, None, 200).unwrap();
    assert_png(&p);
    // A truth far outside the samples widens the axes; empty sets still plot.
    posterior_pairs(&p, &names(1), &[], None, Some(&[50.0]), 10).unwrap();
    assert_png(&p);

    let pts: Vec<[f64; 2]> = post.iter().map(|r| [r[0], r[1]]).collect();
    let p = dir.join("ridge.png");
    ridge_plot(&p, ["λ1", "λ2"], &pts, 0.4, "ridge").unwrap();
    assert_png(&p);
    // Samples straddling zero and a negative product; no samples at all.
    let straddle = [[-1.0, 0.5], [1.0, -0.5], [0.5, -1.0]];
    ridge_plot(&p, ["a", "b"], &straddle, -0.5, "negative").unwrap();
    assert_png(&p);
    ridge_plot(&p, ["a", "b"], &[], 2.0, "empty").unwrap();
    assert_png(&p);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_sbi_inputs_are_errors() {
    let dir = test_dir("bad");
    let p = dir.join("x.png");
    let ranks = vec![vec![0, 5, 10]; 2];
    let n2 = names(2);

    // rank_histograms
    assert!(is_config(rank_histograms(&p, &[], &[], 10, 5, &[])));
    assert!(is_shape(rank_histograms(&p, &n2, &ranks[..1], 10, 5, &[])));
    assert!(is_shape(rank_histograms(&p, &n2, &ranks, 10, 5, &[0.5])));
    assert!(is_config(rank_histograms(&p, &n2, &ranks, 0, 1, &[])));
    assert!(is_config(rank_histograms(&p, &n2, &ranks, 10, 0, &[])));
    assert!(is_config(rank_histograms(&p, &n2, &ranks, 10, 12, &[])));
    assert!(is_config(rank_histograms(&p, &n2, &ranks, 9, 5, &[])));
    assert!(is_config(rank_histograms(
        &p,
        &n2,
        &ranks,
        10,
        5,
        &[0.5, 1.5]
    )));
    assert!(is_config(rank_histograms(
        &p,
        &n2,
        &ranks,
        10,
        5,
        &[0.5, f64::INFINITY]
    )));

    // coverage_curve
    let levels = [0.1, 0.5, 0.9];
    assert!(is_config(coverage_curve(&p, &[], &[], 10, "t")));
    assert!(is_shape(coverage_curve(&p, &levels, &[0.1, 0.5], 10, "t")));
    assert!(is_config(coverage_curve(
        &p,
        &levels,
        &[0.1, f64::NAN, 0.9],
        10,
        "t"
    )));
    assert!(is_config(coverage_curve(
        &p,
        &[0.1, 0.5, 1.2],
        &levels,
        10,
        "t"
    )));
    assert!(is_config(coverage_curve(&p, &levels, &levels, 0, "t")));

    // predictive_bands
    let v = [0.0, 1.0, 2.0, 3.0];
    let lo = [-1.0, 0.0, 1.0, 2.0];
    let hi = [1.0, 2.0, 3.0, 4.0];
    let seg = |a: usize, b: usize| [("a".to_string(), a), ("b".to_string(), b)];
    assert!(is_config(predictive_bands(
        &p,
        &[],
        &[],
        &[],
        &[],
        &[],
        "t"
    )));
    assert!(is_shape(predictive_bands(
        &p,
        &v,
        &lo[..3],
        &v,
        &hi,
        &[],
        "t"
    )));
    assert!(is_shape(predictive_bands(
        &p,
        &v,
        &lo,
        &v[..3],
        &hi,
        &[],
        "t"
    )));
    assert!(is_shape(predictive_bands(
        &p,
        &v,
        &lo,
        &v,
        &hi[..3],
        &[],
        "t"
    )));
    assert!(is_shape(predictive_bands(
        &p,
        &v,
        &lo,
        &v,
        &hi,
        &seg(2, 3),
        "t"
    )));
    assert!(is_config(predictive_bands(
        &p,
        &v,
        &lo,
        &v,
        &hi,
        &seg(4, 0),
        "t"
    )));
    assert!(is_config(predictive_bands(&p, &v, &hi, &v, &lo, &[], "t")));
    assert!(is_shape(predictive_bands(
        &p,
        &v,
        &lo,
        &v,
        &hi,
        &seg(usize::MAX, 5),
        "t"
    )));

    // posterior_pairs
    let rows = vec![vec![0.0, 1.0]; 3];
    let short = vec![vec![0.0, 1.0], vec![0.0]];
    assert!(is_config(posterior_pairs(&p, &[], &rows, None, None, 10)));
    assert!(is_config(posterior_pairs(&p, &n2, &rows, None, None, 0)));
    assert!(is_shape(posterior_pairs(&p, &n2, &short, None, None, 10)));
    assert!(is_shape(posterior_pairs(
        &p,
        &n2,
        &rows,
        Some(&short),
        None,
        10
    )));
    assert!(is_shape(posterior_pairs(
        &p,
        &names(3),
        &rows,
        None,
        None,
        10
    )));
    assert!(is_shape(posterior_pairs(
        &p,
        &n2,
        &rows,
        None,
        Some(&[1.0]),
        10
    )));

    // ridge_plot
    let pts = [[1.0, 1.0], [2.0, 0.5]];
    assert!(is_config(ridge_plot(&p, ["a", "b"], &pts, 0.0, "t")));
    assert!(is_config(ridge_plot(&p, ["a", "b"], &pts, f64::NAN, "t")));

    // Invalid paths are file errors.
    let missing = dir.join("no-such-dir").join("x.png");
    assert!(matches!(
        ridge_plot(&missing, ["a", "b"], &pts, 1.0, "t"),
        Err(Error::File { .. })
    ));
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        0,
        "nothing written"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn binomial_band_matches_the_normal_approximation() {
    // n = 1000, p = 0.05: mean 50, sd 6.89; the 99 % interval is about 50 ± 17.7.
    let (lo, hi) = binomial_interval(1000, 0.05, 0.005);
    assert!((32..=35).contains(&lo), "{lo}");
    assert!((66..=70).contains(&hi), "{hi}");
    // Large n does not underflow.
    let (lo, hi) = binomial_interval(10_000_000, 0.1, 0.005);
    let (mean, sd) = (1e6, (1e7 * 0.1 * 0.9f64).sqrt());
    assert!((lo as f64 - (mean - 2.576 * sd)).abs() < 5.0, "{lo}");
    assert!((hi as f64 - (mean + 2.576 * sd)).abs() < 5.0, "{hi}");
    assert_eq!(binomial_interval(0, 0.3, 0.005), (0, 0));
    assert_eq!(binomial_interval(20, 1.0, 0.005), (20, 20));
    assert_eq!(binomial_interval(20, 0.0, 0.005), (0, 0));
    // Tiny n: the whole support.
    assert_eq!(binomial_interval(1, 0.5, 0.005), (0, 1));
}

#[test]
fn rank_bins_cover_every_rank_once() {
    for (max_rank, bins) in [(100, 10), (100, 7), (9, 10), (5, 1), (1000, 20)] {
        let edges = rank_bins(max_rank, bins);
        assert_eq!(edges.len(), bins);
        assert_eq!(edges[0].0, 0);
        assert_eq!(edges[bins - 1].1, max_rank);
        for w in edges.windows(2) {
            assert_eq!(w[1].0, w[0].1 + 1, "{max_rank} {bins}: {edges:?}");
        }
        let widths: Vec<usize> = edges.iter().map(|e| e.1 - e.0 + 1).collect();
        let (min, max) = (widths.iter().min().unwrap(), widths.iter().max().unwrap());
        assert!(max - min <= 1, "{widths:?}");
        for (b, &(first, last)) in edges.iter().enumerate() {
            assert_eq!(rank_bin(first, max_rank, bins), b);
            assert_eq!(rank_bin(last, max_rank, bins), b);
        }
    }
    assert_eq!(format_p(0.4321), "0.43");
    assert_eq!(format_p(0.0012), "1.2e-3");
    assert_eq!(format_p(f64::NAN), "n/a");
    assert_eq!(short_number(0.123456), "0.1235");
    assert_eq!(short_number(2.0), "2");
}

/// Realistic examples of each SBI plot, kept in `$TMPDIR/flowinfer-plot-sbi-examples/`.
#[test]
fn render_sbi_examples() {
    let dir = std::env::temp_dir().join("flowinfer-plot-sbi-examples");
    std::fs::create_dir_all(&dir).unwrap();
    let mut rng = StdRng::seed_from_u64(11);
    let noise = Normal::new(0.0, 1.0).unwrap();

    // SBC: a calibrated parameter, an overconfident (∪) and a biased one.
    let l = 100;
    let runs = 500;
    let ranks: Vec<Vec<usize>> = (0..3)
        .map(|p| {
            (0..runs)
                .map(|_| {
                    let u: f64 = rng.random();
                    let u = match p {
                        0 => u,
                        1 => 0.5 + 0.5 * (2.0 * u - 1.0).signum() * (2.0 * u - 1.0).abs().sqrt(),
                        _ => u.powf(1.4),
                    };
                    ((u * (l + 1) as f64) as usize).min(l)
                })
                .collect()
        })
        .collect();
    let p = dir.join("sbc_ranks.png");
    let rank_names: Vec<String> = ["λ1", "λ2", "σ"].iter().map(|s| s.to_string()).collect();
    rank_histograms(&p, &rank_names, &ranks, l, 20, &[0.43, 1.2e-9, 0.004]).unwrap();
    assert_png(&p);

    let levels: Vec<f64> = (0..=20).map(|k| k as f64 / 20.0).collect();
    let cov: Vec<f64> = levels
        .iter()
        .map(|&x| (x + 0.12 * (std::f64::consts::PI * x).sin()).clamp(0.0, 1.0))
        .collect();
    let p = dir.join("coverage.png");
    coverage_curve(&p, &levels, &cov, 200, "Expected coverage (200 data sets)").unwrap();
    assert_png(&p);

    // A two-channel time series and a short summary vector.
    let t = 400;
    let curve = |i: usize, c: usize| {
        let s = i as f64 / t as f64;
        if c == 0 {
            -30.0 * (-(s - 0.3).powi(2) / 0.01).exp()
        } else {
            20.0 * (-(s - 0.4).powi(2) / 0.02).exp()
        }
    };
    let mut obs = Vec::new();
    let (mut q05, mut q50, mut q95) = (Vec::new(), Vec::new(), Vec::new());
    for c in 0..2 {
        for i in 0..t {
            let m = curve(i, c);
            let sd = 1.0 + 0.1 * m.abs();
            obs.push(m + sd * noise.sample(&mut rng));
            q05.push(m - 1.645 * sd);
            q50.push(m);
            q95.push(m + 1.645 * sd);
        }
    }
    let p = dir.join("predictive.png");
    let segs = [("dS/dt".to_string(), t), ("dR/dt".to_string(), t)];
    predictive_bands(
        &p,
        &obs,
        &q05,
        &q50,
        &q95,
        &segs,
        "Posterior predictive check",
    )
    .unwrap();
    assert_png(&p);
    let short: Vec<f64> = (0..12).map(|i| (i as f64).sqrt()).collect();
    let obs_s: Vec<f64> = short
        .iter()
        .map(|v| v + 0.3 * noise.sample(&mut rng))
        .collect();
    let lo_s: Vec<f64> = short.iter().map(|v| v - 0.4).collect();
    let hi_s: Vec<f64> = short.iter().map(|v| v + 0.4).collect();
    let p = dir.join("predictive_short.png");
    predictive_bands(&p, &obs_s, &lo_s, &short, &hi_s, &[], "Summary statistics").unwrap();
    assert_png(&p);

    let (post, prior) = ridge_samples(&mut rng, 4000, 0.4);
    let names: Vec<String> = ["λ1", "λ2", "γ"].iter().map(|s| s.to_string()).collect();
    let p = dir.join("posterior_pairs.png");
    posterior_pairs(
        &p,
        &names,
        &post,
        Some(&prior),
        Some(&[0.8, 0.5, 0.2]),
        3000,
    )
    .unwrap();
    assert_png(&p);

    let pts: Vec<[f64; 2]> = post.iter().map(|r| [r[0], r[1]]).collect();
    let p = dir.join("ridge.png");
    ridge_plot(
        &p,
        ["λ1", "λ2"],
        &pts,
        0.4,
        "Degenerate SIR: only λ1·λ2 is identifiable",
    )
    .unwrap();
    assert_png(&p);
}

#[test]
fn huge_rank_settings_are_errors() {
    let p = std::env::temp_dir().join("flowinfer-plot-sbi-never-written.png");
    let r = vec![vec![0usize]];
    assert!(is_config(rank_histograms(
        &p,
        &names(1),
        &r,
        usize::MAX,
        10,
        &[]
    )));
    assert!(is_config(rank_histograms(
        &p,
        &names(1),
        &r,
        1_000_000,
        1_000_000,
        &[]
    )));
    assert!(!p.exists());
}
