//! Tests of `flowinfer::plot`: every function writes a real PNG, fails cleanly on a bad
//! path or mis-shaped data, and leaves no temporary file behind. One test renders a
//! realistic example of each plot into `$TMPDIR/flowinfer-plot-examples/` for looking at.

use super::*;
use rand::rngs::StdRng;
use rand::SeedableRng;
use rand_distr::{Distribution, LogNormal, Normal, StudentT, Uniform};
use std::path::PathBuf;

const PNG_SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1a, b'\n'];

/// A fresh, empty directory under the system temp dir, unique to this test.
fn test_dir(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("flowinfer-plot-test-{}-{name}", std::process::id()));
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
    (0..k).map(|j| format!("x{j}")).collect()
}

/// `n` rows of `k` correlated, differently shaped columns (normal, log-normal with a long
/// tail, bimodal, uniform, Student-t, then more normals), shifted by `shift`.
fn table(rng: &mut StdRng, n: usize, k: usize, shift: f64) -> Vec<Vec<f64>> {
    let normal = Normal::new(0.0, 1.0).unwrap();
    let lognormal = LogNormal::new(0.0, 0.7).unwrap();
    let uniform = Uniform::new(-2.0, 2.0).unwrap();
    let t = StudentT::new(2.5).unwrap();
    (0..n)
        .map(|i| {
            let a: f64 = normal.sample(rng);
            (0..k)
                .map(|j| {
                    let e: f64 = normal.sample(rng);
                    let v = match j % 5 {
                        0 => a,
                        1 => lognormal.sample(rng) + 0.3 * a,
                        2 => (if i % 3 == 0 { -2.0 } else { 1.5 }) + 0.5 * e,
                        3 => uniform.sample(rng),
                        _ => 0.6 * a + 0.5 * t.sample(rng),
                    };
                    v + shift * (1.0 + 0.2 * j as f64) + 0.1 * j as f64
                })
                .collect()
        })
        .collect()
}

#[test]
fn every_plot_writes_a_png() {
    let dir = test_dir("each");
    let mut rng = StdRng::seed_from_u64(1);
    let real = table(&mut rng, 500, 3, 0.0);
    let generated = table(&mut rng, 400, 3, 0.2);
    let cols = names(3);
    let train = [2.0, 1.5, 1.2, 1.1];
    let val = [2.1, 1.7, f64::NAN, 1.3, 1.25];

    let p = dir.join("loss.png");
    loss_curves(&p, &[("train", &train[..]), ("val", &val[..])], "t", "NLL").unwrap();
    assert_png(&p);

    let p = dir.join("hist.png");
    histograms(&p, &cols, &real, &generated, 20).unwrap();
    assert_png(&p);

    let p = dir.join("corner.png");
    corner(&p, &cols, &real, &generated, 200).unwrap();
    assert_png(&p);

    let p = dir.join("latent.png");
    latent_marginals(&p, &real).unwrap();
    assert_png(&p);

    let pts: Vec<[f64; 2]> = real.iter().map(|r| [r[0], r[1]]).collect();
    let gen_rows: Vec<Vec<f64>> = generated.iter().map(|r| r[..2].to_vec()).collect();
    let p = dir.join("scatter.png");
    scatter2d(&p, &pts, &gen_rows, "toy").unwrap();
    assert_png(&p);

    // Overwriting an existing plot works (the rename replaces it).
    scatter2d(&p, &pts, &pts, "again").unwrap();
    assert_png(&p);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn degenerate_data_still_plots() {
    let dir = test_dir("degenerate");
    let cols = names(2);
    // Constant columns, non-finite values, an empty data set, a single row.
    let real = vec![vec![1.0, f64::NAN], vec![1.0, f64::INFINITY]];
    let empty: Vec<Vec<f64>> = Vec::new();
    let p = dir.join("h.png");
    histograms(&p, &cols, &real, &empty, 5).unwrap();
    assert_png(&p);
    corner(&p, &cols, &real, &empty, 10).unwrap();
    assert_png(&p);
    latent_marginals(&p, &[[0.0]]).unwrap();
    assert_png(&p);
    let none: &[[f64; 2]] = &[];
    scatter2d(&p, none, none, "empty").unwrap();
    assert_png(&p);
    loss_curves(&p, &[], "no series", "loss").unwrap();
    assert_png(&p);
    loss_curves(&p, &[("only", &[f64::NAN][..])], "one NaN", "loss").unwrap();
    assert_png(&p);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn invalid_paths_are_file_errors() {
    let dir = test_dir("invalid");
    let missing = dir.join("no-such-dir").join("plot.png");
    let cols = names(2);
    let rows = vec![vec![0.0, 1.0], vec![1.0, 0.0]];
    let pts = [[0.0, 1.0], [1.0, 0.0]];
    let results = [
        loss_curves(&missing, &[("a", &[1.0, 2.0][..])], "t", "y"),
        histograms(&missing, &cols, &rows, &rows, 10),
        corner(&missing, &cols, &rows, &rows, 10),
        latent_marginals(&missing, &rows),
        scatter2d(&missing, &pts, &pts, "t"),
        // A directory is not a file; neither is a path without a file name.
        scatter2d(&dir, &pts, &pts, "t"),
        scatter2d("/", &pts, &pts, "t"),
    ];
    for r in results {
        match r {
            Err(Error::File { message, .. }) => assert!(!message.is_empty()),
            other => panic!("expected Error::File, got {other:?}"),
        }
    }
    assert!(!missing.exists());
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        0,
        "nothing written"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn mismatched_columns_are_errors() {
    let dir = test_dir("mismatch");
    let p = dir.join("x.png");
    let cols = names(3);
    let good = vec![vec![0.0, 1.0, 2.0]; 4];
    let short = vec![vec![0.0, 1.0, 2.0], vec![0.0, 1.0]];
    assert!(matches!(
        histograms(&p, &cols, &short, &good, 10),
        Err(Error::Shape { .. })
    ));
    assert!(matches!(
        histograms(&p, &cols, &good, &short, 10),
        Err(Error::Shape { .. })
    ));
    assert!(matches!(
        corner(&p, &cols, &good, &short, 10),
        Err(Error::Shape { .. })
    ));
    assert!(matches!(
        corner(&p, &names(2), &good, &good, 10),
        Err(Error::Shape { .. })
    ));
    assert!(matches!(
        latent_marginals(&p, &short),
        Err(Error::Shape { .. })
    ));
    assert!(matches!(
        scatter2d(&p, &good, &good, "t"),
        Err(Error::Shape { .. })
    ));
    assert!(matches!(
        histograms(&p, &cols, &good, &good, 0),
        Err(Error::Config(_))
    ));
    assert!(matches!(
        histograms(&p, &[], &good, &good, 5),
        Err(Error::Config(_))
    ));
    assert!(matches!(
        corner(&p, &cols, &good, &good, 0),
        Err(Error::Config(_))
    ));
    let none: &[Vec<f64>] = &[];
    assert!(matches!(latent_marginals(&p, none), Err(Error::Config(_))));
    assert!(!p.exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Realistic examples of every plot, kept in `$TMPDIR/flowinfer-plot-examples/` to be
/// looked at (the file names say which function drew them).
#[test]
fn render_examples() {
    let dir = std::env::temp_dir().join("flowinfer-plot-examples");
    std::fs::create_dir_all(&dir).unwrap();
    let mut rng = StdRng::seed_from_u64(7);
    let noise = Normal::new(0.0, 1.0).unwrap();

    let epochs = 80;
    let train: Vec<f64> = (0..epochs)
        .map(|e| 1.2 + 2.5 * (-(e as f64) / 12.0).exp() + 0.03 * noise.sample(&mut rng))
        .collect();
    let mut val: Vec<f64> = (0..epochs)
        .map(|e| {
            1.35 + 2.4 * (-(e as f64) / 12.0).exp()
                + 0.002 * e as f64
                + 0.05 * noise.sample(&mut rng)
        })
        .collect();
    val[40] = 250.0; // one diverging epoch must not squash the plot
    val[41] = f64::NAN;
    let p = dir.join("loss_curves.png");
    loss_curves(
        &p,
        &[("train", &train), ("validation", &val)],
        "Two moons: MAF (5 layers)",
        "NLL (nats / event)",
    )
    .unwrap();
    assert_png(&p);

    let real = table(&mut rng, 5000, 5, 0.0);
    let generated = table(&mut rng, 5000, 5, 0.15);
    let cols: Vec<String> = ["mass [GeV]", "pT", "bimodal", "uniform", "heavy tail"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let p = dir.join("histograms.png");
    histograms(&p, &cols, &real, &generated, 40).unwrap();
    assert_png(&p);

    let real16 = table(&mut rng, 3000, 16, 0.0);
    let gen16 = table(&mut rng, 3000, 16, 0.1);
    let p = dir.join("histograms_16.png");
    histograms(&p, &names(16), &real16, &gen16, 30).unwrap();
    assert_png(&p);

    let p = dir.join("corner.png");
    corner(&p, &cols, &real, &generated, 1500).unwrap();
    assert_png(&p);

    let p = dir.join("corner_10.png");
    corner(
        &p,
        &names(10),
        &real16.iter().map(|r| r[..10].to_vec()).collect::<Vec<_>>(),
        &gen16.iter().map(|r| r[..10].to_vec()).collect::<Vec<_>>(),
        800,
    )
    .unwrap();
    assert_png(&p);

    let z: Vec<Vec<f64>> = (0..4000)
        .map(|i| {
            (0..6)
                .map(|k| {
                    let e = noise.sample(&mut rng);
                    match k {
                        2 => 0.3 + 1.4 * e, // mis-scaled coordinate
                        4 => {
                            if i % 2 == 0 {
                                e * 0.5 - 1.2
                            } else {
                                e * 0.5 + 1.2
                            }
                        } // bimodal
                        _ => e,
                    }
                })
                .collect()
        })
        .collect();
    let p = dir.join("latent_marginals.png");
    latent_marginals(&p, &z).unwrap();
    assert_png(&p);

    let moons = flowinfer_simulators::toy::two_moons::sample(&mut rng, 10_000);
    let jitter = Normal::new(0.0, 0.05).unwrap();
    let fake: Vec<[f64; 2]> = flowinfer_simulators::toy::two_moons::sample(&mut rng, 10_000)
        .into_iter()
        .map(|[a, b]| [a + jitter.sample(&mut rng), b + jitter.sample(&mut rng)])
        .collect();
    let p = dir.join("scatter2d.png");
    scatter2d(&p, &moons, &fake, "Two moons: data vs flow samples").unwrap();
    assert_png(&p);
}
