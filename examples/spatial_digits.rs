//! The SurVAE "spatial digits" study (issue 18): each 8×8 digit image of
//! `../shared/data/digits/digits_8x8.csv` (UCI optical digits via scikit-learn, see
//! `../shared/data/PROVENANCE.md`) becomes a set of `N` 2-D points: a pixel drawn in
//! proportion to its intensity, then a uniform position inside it (x = column + u,
//! y = row + u, both in [0, 8)). Three flows on the `2N` coordinates, pixel units:
//!
//! * `plain`: RealNVP on the flattened coordinates (an ordered tuple of points);
//! * `sort`: sort the points by x (`SortPoints`, contribution −log N!), then the
//!   same RealNVP (an inference surjection: invariant by construction);
//! * `set`: a random permutation of the points (`SetPermute`) and point-wise
//!   couplings (`SetCoupling`: each point's y given its x and a deep-set summary of all
//!   x, then x given y and a summary of all y), over an i.i.d. N(0, 1) base: an
//!   exchangeable density.
//!
//! Prints the test NLL per point (nats, pixel units; `−mean log p / N`), the largest
//! change of `log p` when the points of each test cloud are permuted (f64), and writes
//! a sample grid (row 1 data, rows 2–4 samples of plain, sort, set) to the PNG named by
//! the second argument (default `/tmp/spatial-digits.png`).
//!
//! Run: `cargo run --example spatial_digits -- [EPOCHS] [PNG] [MODELS] [LR]` (defaults
//! 15, `/tmp/spatial-digits.png`, `plain,sort,set`, 1e-3; the dev profile
//! optimises the numerics)
//! (training in f32, evaluation in f64 with the same weights). Run it from the
//! repository root: the data are read from `../shared` (a missing file is an error
//! naming the path), not copied into the repository.

use candle_core::{DType, Device, Tensor};
use flowinfer::distributions::BaseSpec;
use flowinfer::flow::{Flow, FlowBuilder, FlowSpec};
use flowinfer::train::TrainerConfig;
use flowinfer::transforms::TransformSpec;
use plotters::prelude::*;
use rand::{Rng, SeedableRng};
use std::time::Instant;

/// Points per cloud (50 in the SurVAE paper's spatial MNIST).
const N: usize = 50;
/// Clouds drawn per training image (fresh points each).
const DRAWS: usize = 2;
/// Test images.
const N_TEST: usize = 397;

type R = flowinfer::Result<()>;

/// Rows of 64 intensities, read from the CSV.
fn read_digits(path: &str) -> flowinfer::Result<Vec<Vec<f64>>> {
    let mut rd = csv::Reader::from_path(path)
        .map_err(|e| flowinfer::Error::file(path, format!("cannot read the digits: {e}")))?;
    let mut rows = Vec::new();
    for (i, rec) in rd.records().enumerate() {
        let rec = rec.map_err(|e| flowinfer::Error::file(path, format!("row {}: {e}", i + 2)))?;
        let px: Result<Vec<f64>, _> = rec.iter().take(64).map(|v| v.parse::<f64>()).collect();
        let px = px.map_err(|e| flowinfer::Error::file(path, format!("row {}: {e}", i + 2)))?;
        if px.len() != 64 || px.iter().sum::<f64>() <= 0.0 {
            return Err(flowinfer::Error::file(
                path,
                format!("row {}: expected 64 intensities, not all zero", i + 2),
            ));
        }
        rows.push(px);
    }
    Ok(rows)
}

/// One cloud of `N` points `(x, y)` from an image, row-major point list.
fn cloud(img: &[f64], rng: &mut impl Rng) -> Vec<f64> {
    let total: f64 = img.iter().sum();
    (0..N)
        .flat_map(|_| {
            let u = rng.random::<f64>() * total;
            let mut acc = 0.0;
            let k = img
                .iter()
                .position(|&v| {
                    acc += v;
                    u < acc
                })
                .unwrap_or(63);
            let (row, col) = (k / 8, k % 8);
            [
                col as f64 + rng.random::<f64>(),
                row as f64 + rng.random::<f64>(),
            ]
        })
        .collect()
}

fn clouds(imgs: &[&Vec<f64>], draws: usize, rng: &mut impl Rng) -> flowinfer::Result<Tensor> {
    let v: Vec<f64> = (0..draws)
        .flat_map(|_| imgs.iter().map(|im| cloud(im, rng)).collect::<Vec<_>>())
        .flatten()
        .collect();
    let n = v.len() / (2 * N);
    Ok(Tensor::from_vec(v, (n, 2 * N), &Device::Cpu)?)
}

/// Pixel coordinates (centre 4, half-width 4) to roughly unit scale.
fn standardize() -> TransformSpec {
    TransformSpec::Standardize {
        mean: vec![4.0; 2 * N],
        std: vec![2.0; 2 * N],
    }
}

fn realnvp() -> flowinfer::Result<Vec<TransformSpec>> {
    Ok(FlowBuilder::realnvp(2 * N)
        .blocks(4)
        .hidden(128)
        .seed(3)
        .build_spec()?
        .transforms)
}

fn spec(name: &str) -> flowinfer::Result<FlowSpec> {
    let mut t = Vec::new();
    match name {
        "plain" => {
            t.push(standardize());
            t.extend(realnvp()?);
        }
        "sort" => {
            t.push(TransformSpec::SortPoints {
                points: N,
                coords: 2,
                key: 0,
                seed: 1,
            });
            t.push(standardize());
            t.extend(realnvp()?);
        }
        "set" => {
            t.push(TransformSpec::SetPermute {
                points: N,
                coords: 2,
                seed: 1,
            });
            t.push(standardize());
            for k in 0..8 {
                t.push(TransformSpec::SetCoupling {
                    points: N,
                    coords: 2,
                    transformed: vec![1 - k % 2],
                    hidden: 32,
                    depth: 1,
                });
            }
        }
        other => {
            return Err(flowinfer::Error::config(format!(
                "unknown model {other:?} (plain, sort or set)"
            )))
        }
    }
    Ok(FlowSpec {
        dim: 2 * N,
        context_dim: 0,
        embedding: None,
        base: BaseSpec::StandardNormal { dim: 2 * N },
        transforms: t,
    })
}

/// The same flow in f64 (evaluation precision).
fn to_f64(f: &Flow) -> flowinfer::Result<Flow> {
    let g = Flow::new(f.spec(), DType::F64, &Device::Cpu, 0)?;
    for (name, v) in f.params().named_vars() {
        g.params().set(&name, v.as_tensor())?;
    }
    Ok(g)
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

/// Largest |log p(x) − log p(πx)| over the rows, π a random order of each row's points.
fn permutation_change(f: &Flow, x: &Tensor, rng: &mut impl Rng) -> flowinfer::Result<f64> {
    let rows = x.to_vec2::<f64>()?;
    let permuted: Vec<f64> = rows
        .iter()
        .flat_map(|r| {
            let mut pts: Vec<[f64; 2]> = r.chunks(2).map(|c| [c[0], c[1]]).collect();
            for i in (1..pts.len()).rev() {
                pts.swap(i, rng.random_range(0..=i));
            }
            pts.into_iter().flatten().collect::<Vec<_>>()
        })
        .collect();
    let xp = Tensor::from_vec(permuted, x.dims2()?, x.device())?;
    let a = f.log_prob(x, None)?.to_vec1::<f64>()?;
    let b = f.log_prob(&xp, None)?.to_vec1::<f64>()?;
    Ok(a.iter()
        .zip(b)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max))
}

fn plot(path: &str, rows: &[Vec<Vec<f64>>]) -> R {
    let cols = rows[0].len();
    let size = (110 * cols as u32, 110 * rows.len() as u32);
    flowinfer::atomic::write_atomic_with_extension(
        path.as_ref(),
        Some("png".as_ref()),
        |tmp| -> flowinfer::Result<()> {
            let draw = || -> Result<(), Box<dyn std::error::Error>> {
                let root = BitMapBackend::new(tmp, size).into_drawing_area();
                root.fill(&WHITE)?;
                let cells = root.split_evenly((rows.len(), cols));
                let colours = [BLUE, RGBColor(230, 120, 0), RGBColor(0, 150, 60), RED];
                for (i, cell) in cells.iter().enumerate() {
                    let (r, c) = (i / cols, i % cols);
                    let mut ch = ChartBuilder::on(cell)
                        .margin(4)
                        .build_cartesian_2d(-0.5f64..8.5, 8.5f64..-0.5)?;
                    ch.configure_mesh().disable_mesh().draw()?;
                    let pts = rows[r][c].chunks(2).map(|p| (p[0], p[1]));
                    ch.draw_series(pts.map(|p| Circle::new(p, 2, colours[r % 4].filled())))?;
                }
                root.present()?;
                Ok(())
            };
            draw().map_err(|e| flowinfer::Error::file(path, e.to_string()))
        },
    )
}

fn main() -> R {
    let args: Vec<String> = std::env::args().collect();
    let epochs: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(15);
    let png = args
        .get(2)
        .cloned()
        .unwrap_or("/tmp/spatial-digits.png".into());
    let models: Vec<String> = args
        .get(3)
        .map(|m| m.split(',').map(String::from).collect())
        .unwrap_or(vec!["plain".into(), "sort".into(), "set".into()]);
    let lr: f64 = args.get(4).and_then(|a| a.parse().ok()).unwrap_or(1e-3);
    let data = "../shared/data/digits/digits_8x8.csv";
    let imgs = read_digits(data)?;
    let mut rng = rand::rngs::StdRng::seed_from_u64(18);
    let mut idx: Vec<usize> = (0..imgs.len()).collect();
    for i in (1..idx.len()).rev() {
        idx.swap(i, rng.random_range(0..=i));
    }
    let (test_i, train_i) = idx.split_at(N_TEST);
    let pick = |ii: &[usize]| ii.iter().map(|&i| &imgs[i]).collect::<Vec<_>>();
    let train = clouds(&pick(train_i), DRAWS, &mut rng)?;
    let test = clouds(&pick(test_i), 1, &mut rng)?;
    println!(
        "spatial digits: {} images, {N} points per cloud, {} training clouds ({} images × \
         {DRAWS} draws), {} test clouds; {epochs} epochs, lr {lr}",
        imgs.len(),
        train.dim(0)?,
        train_i.len(),
        test.dim(0)?
    );
    let test64 = test.clone();
    let train32 = train.to_dtype(DType::F32)?;
    let cfg = TrainerConfig {
        epochs,
        batch_size: 128,
        lr,
        patience: None,
        seed: 1,
        ..Default::default()
    };
    let mut figure = vec![test64
        .narrow(0, 0, 8)?
        .to_vec2::<f64>()?
        .into_iter()
        .collect::<Vec<_>>()];
    println!("| model | test NLL per point (nats) | train NLL per point | max |Δ log p| under permutation | parameters | fit (s) |");
    println!("|---|---:|---:|---:|---:|---:|");
    for name in models.iter().map(String::as_str) {
        let f = Flow::new(spec(name)?, DType::F32, &Device::Cpu, 7)?;
        let t0 = Instant::now();
        let hist = flowinfer::train::fit_nll_with_progress(&f, &train32, None, &cfg, |e, h| {
            let last = h.train_nll.last().copied().unwrap_or(f64::NAN) / N as f64;
            let t = t0.elapsed().as_secs_f64();
            eprintln!(
                "  {name}: epoch {} train NLL/point {last:.4} ({t:.0} s)",
                e + 1
            );
        })?;
        let secs = t0.elapsed().as_secs_f64();
        let g = to_f64(&f)?;
        let lp = g.log_prob(&test64, None)?.to_vec1::<f64>()?;
        let nll = -mean(&lp) / N as f64;
        let train_nll = hist.train_nll.last().copied().unwrap_or(f64::NAN) / N as f64;
        let change = permutation_change(&g, &test64, &mut rng)?;
        println!(
            "| {name} | {nll:.4} | {train_nll:.4} | {change:.2e} | {} | {secs:.0} |",
            f.params().num_parameters()
        );
        let s = g.sample(8, None, &mut rng)?.to_vec2::<f64>()?;
        figure.push(s);
    }
    plot(&png, &figure)?;
    println!(
        "sample grid (row 1 test data; then one row per model: {}): {png}",
        models.join(", ")
    );
    Ok(())
}
