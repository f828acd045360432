//! A Bayesian flow as a generative classifier (the seed study's Bayesian experiment):
//! one SVI-trained Bayesian flow per class, Bayes' rule over the posterior-predictive
//! class densities, on two moons and on Iris (`../shared/data/iris/iris.csv`). Prints the
//! test accuracy and checks that the spread of `log p(x | w)` across weight draws is
//! larger far from the data than on it.
//!
//! Every class flow is trained by SVI with the log-variances at `logvar_lr_scale` × lr
//! (so the learned σ converges) and a Bayesian last layer. For Iris (35 training events
//! per class) the flow settings are chosen among a few candidates by 3-fold
//! cross-validation on the training split alone (held-out log-likelihood of the true
//! class, `log p(y | x)`); the test split is used once, for the chosen settings.
//!
//! `cargo run --release --example bayes_classifier [moons|iris|both]`

use candle_core::{DType, Device, Tensor};
use flowinfer::bayes::fit::LOGVAR_PARAM;
use flowinfer::bayes::predict::{log_prob_spread, BayesModel, Posterior};
use flowinfer::bayes::svi::Elbo;
use flowinfer::bayes::{bayesify, BayesConfig, Method};
use flowinfer::data::{read_table, Scaler, Table};
use flowinfer::nn::NoiseControl;
use flowinfer::train::{Batches, LrSchedule, Trainer, TrainerConfig};
use flowinfer::{Flow, FlowBuilder};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_distr::{Distribution, Normal};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const DRAWS: usize = 30;

/// Labelled two moons (sklearn's `make_moons` geometry, Gaussian noise `sd`).
fn moons(n: usize, sd: f64, seed: u64) -> (Vec<Vec<f64>>, Vec<usize>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let noise = Normal::new(0.0, sd).unwrap();
    let mut x = Vec::with_capacity(n);
    let mut y = Vec::with_capacity(n);
    for i in 0..n {
        let c = i % 2;
        let t = std::f64::consts::PI * rand::Rng::random::<f64>(&mut rng);
        let (a, b) = if c == 0 {
            (t.cos(), t.sin())
        } else {
            (1.0 - t.cos(), 0.5 - t.sin())
        };
        x.push(vec![a + noise.sample(&mut rng), b + noise.sample(&mut rng)]);
        y.push(c);
    }
    (x, y)
}

fn iris() -> anyhow::Result<(Vec<Vec<f64>>, Vec<usize>)> {
    let path = std::path::Path::new("../shared/data/iris/iris.csv");
    let text = std::fs::read_to_string(path)?;
    let mut x = Vec::new();
    let mut y = Vec::new();
    let mut names: Vec<String> = Vec::new();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        if f.len() != 5 {
            continue;
        }
        x.push(
            f[..4]
                .iter()
                .map(|v| v.parse::<f64>())
                .collect::<Result<Vec<_>, _>>()?,
        );
        let c = match names.iter().position(|n| n == f[4]) {
            Some(c) => c,
            None => {
                names.push(f[4].to_string());
                names.len() - 1
            }
        };
        y.push(c);
    }
    let _ = read_table; // the CSV has a text column; parsed here by hand
    Ok((x, y))
}

/// Architecture and training settings of the class flows.
#[derive(Debug, Clone, Copy)]
struct Settings {
    /// Short label for the printout.
    label: &'static str,
    /// Spline coupling (NSF) or affine coupling (RealNVP) blocks.
    spline: bool,
    blocks: usize,
    hidden: usize,
    epochs: usize,
    /// Gaussian prior width of the Bayesian weights.
    prior_std: f64,
    /// Bayesian dense layers at the end of each conditioner (`None`: all).
    bayes_layers: Option<usize>,
}

/// Train one Bayesian flow (SVI) on `rows`.
fn train_class(rows: &[Vec<f64>], seed: u64, st: &Settings) -> anyhow::Result<BayesModel> {
    let d = rows[0].len();
    let cols: Vec<String> = (0..d).map(|j| format!("x{j}")).collect();
    let table = Table::new(cols, rows.iter().flatten().copied().collect())?;
    let scaler = Scaler::fit(&table)?;
    let mut b = if st.spline {
        FlowBuilder::nsf(d).blocks(st.blocks).hidden(st.hidden)
    } else {
        FlowBuilder::realnvp(d).blocks(st.blocks).hidden(st.hidden)
    };
    b.flow.tail_bound = 5.0;
    b.standardize = Some((scaler.mean.clone(), scaler.std.clone()));
    b.flow.seed = seed;
    let bayes = BayesConfig {
        method: Method::Svi,
        prior_std: st.prior_std,
        bayes_layers: st.bayes_layers,
        ..Default::default()
    };
    let spec = bayesify(&b.build_spec()?, &bayes)?;
    let control = NoiseControl::new(seed);
    let flow = control.attach(|| Flow::new(spec, DType::F64, &Device::Cpu, seed))?;
    let x = table.to_tensor(DType::F64, &Device::Cpu)?;
    let elbo = Elbo::new(control.clone(), rows.len(), 1.0, 0, 1);
    Trainer::new(TrainerConfig {
        epochs: st.epochs,
        batch_size: 64,
        lr: 3e-3,
        schedule: LrSchedule::Cosine {
            warmup: 2,
            min_lr: 1e-5,
        },
        clip_grad_norm: Some(5.0),
        patience: None,
        seed,
        ..Default::default()
    })?
    .with_lr_scale(LOGVAR_PARAM, bayes.logvar_lr_scale)
    .fit(
        flow.params(),
        Batches { x: &x, ctx: None },
        None,
        |xb, _| elbo.loss(|| Ok(flow.log_prob_unchecked(xb, None)?.mean_all()?.neg()?)),
        |r| elbo.set_epoch(r.epoch + 1),
    )?;
    Ok(BayesModel {
        flow,
        control,
        posterior: Posterior::Variational,
    })
}

/// Class models (one per class, trained on the rows of `train`) and log class priors.
fn train_classes(
    x: &[Vec<f64>],
    y: &[usize],
    train: &[usize],
    k: usize,
    st: &Settings,
) -> anyhow::Result<(Vec<BayesModel>, Vec<f64>)> {
    let mut models = Vec::new();
    let mut priors = Vec::new();
    for c in 0..k {
        let rows: Vec<Vec<f64>> = train
            .iter()
            .filter(|&&i| y[i] == c)
            .map(|&i| x[i].clone())
            .collect();
        priors.push((rows.len() as f64 / train.len() as f64).ln());
        models.push(train_class(&rows, 10 + c as u64, st)?);
    }
    Ok((models, priors))
}

/// Unnormalised log posterior class scores `log p(x | c) + log p(c)` of the rows `idx`
/// (predictive densities over `DRAWS` weight draws), and the mean spread of
/// `log p(x | w)` across draws (averaged over the class models).
fn class_scores(
    models: &[BayesModel],
    priors: &[f64],
    x: &[Vec<f64>],
    idx: &[usize],
) -> anyhow::Result<(Vec<Vec<f64>>, f64)> {
    let k = models.len();
    let d = x[0].len();
    let xt: Vec<f64> = idx.iter().flat_map(|&i| x[i].clone()).collect();
    let xt = Tensor::from_vec(xt, (idx.len(), d), &Device::Cpu)?;
    let mut scores = vec![vec![0.0; k]; idx.len()];
    let mut spread = 0.0;
    for (c, m) in models.iter().enumerate() {
        let s = log_prob_spread(&m.log_prob_draws(&xt, DRAWS, 1)?);
        for (i, p) in s.predictive.iter().enumerate() {
            scores[i][c] = p + priors[c];
        }
        spread += s.std.iter().sum::<f64>() / s.std.len() as f64 / k as f64;
    }
    Ok((scores, spread))
}

/// Mean `log p(y | x)` of the true classes and the accuracy, from class scores.
fn score_summary(scores: &[Vec<f64>], labels: &[usize]) -> (f64, usize) {
    let mut ll = 0.0;
    let mut correct = 0;
    for (s, &c) in scores.iter().zip(labels) {
        let max = s.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let lse = max + s.iter().map(|v| (v - max).exp()).sum::<f64>().ln();
        // Floor at log(1e-6): one event far outside a class model must not dominate.
        ll += (s[c] - lse).max(-(1e6f64).ln());
        let best = (0..s.len()).max_by(|&a, &b| s[a].total_cmp(&s[b])).unwrap();
        correct += usize::from(best == c);
    }
    (ll / scores.len() as f64, correct)
}

/// Pick settings by `folds`-fold cross-validation on the training rows (stratified by
/// class, seeded): the candidate with the highest held-out mean `log p(y | x)`.
fn select_by_cv(
    x: &[Vec<f64>],
    y: &[usize],
    train: &[usize],
    k: usize,
    candidates: &[Settings],
    folds: usize,
) -> anyhow::Result<Settings> {
    let mut fold_of = vec![0; x.len()];
    for c in 0..k {
        let mut rows: Vec<usize> = train.iter().copied().filter(|&i| y[i] == c).collect();
        rows.shuffle(&mut StdRng::seed_from_u64(7 + c as u64));
        for (j, &i) in rows.iter().enumerate() {
            fold_of[i] = j % folds;
        }
    }
    let mut best: Option<(f64, Settings)> = None;
    for st in candidates {
        let (mut ll, mut correct) = (0.0, 0);
        for f in 0..folds {
            let fit: Vec<usize> = train.iter().copied().filter(|&i| fold_of[i] != f).collect();
            let held: Vec<usize> = train.iter().copied().filter(|&i| fold_of[i] == f).collect();
            let (models, priors) = train_classes(x, y, &fit, k, st)?;
            let (scores, _) = class_scores(&models, &priors, x, &held)?;
            let labels: Vec<usize> = held.iter().map(|&i| y[i]).collect();
            let (l, c) = score_summary(&scores, &labels);
            ll += l * held.len() as f64;
            correct += c;
        }
        let ll = ll / train.len() as f64;
        println!(
            "  cv {}: held-out log p(y|x) {ll:.4}, accuracy {:.3}",
            st.label,
            correct as f64 / train.len() as f64
        );
        if best.as_ref().is_none_or(|(b, _)| ll > *b) {
            best = Some((ll, *st));
        }
    }
    Ok(best.expect("at least one candidate").1)
}

fn run(
    name: &str,
    x: Vec<Vec<f64>>,
    y: Vec<usize>,
    candidates: &[Settings],
    far_shift: f64,
) -> anyhow::Result<()> {
    let k = y.iter().max().unwrap() + 1;
    let mut idx: Vec<usize> = (0..x.len()).collect();
    idx.shuffle(&mut StdRng::seed_from_u64(42));
    let n_train = (0.7 * x.len() as f64).round() as usize;
    let (tr, te) = idx.split_at(n_train);
    let start = std::time::Instant::now();
    let st = if candidates.len() > 1 {
        select_by_cv(&x, &y, tr, k, candidates, 3)?
    } else {
        candidates[0]
    };
    let (models, priors) = train_classes(&x, &y, tr, k, &st)?;
    let d = x[0].len();
    let (scores, spread_on) = class_scores(&models, &priors, &x, te)?;
    let correct = te
        .iter()
        .enumerate()
        .filter(|(i, &j)| {
            let best = (0..k)
                .max_by(|&a, &b| scores[*i][a].total_cmp(&scores[*i][b]))
                .unwrap();
            best == y[j]
        })
        .count();
    // Far from the data: the test points shifted by `far_shift` data standard deviations.
    let sd: Vec<f64> = (0..d)
        .map(|j| {
            let m = x.iter().map(|r| r[j]).sum::<f64>() / x.len() as f64;
            (x.iter().map(|r| (r[j] - m).powi(2)).sum::<f64>() / x.len() as f64).sqrt()
        })
        .collect();
    let far: Vec<f64> = te
        .iter()
        .flat_map(|&i| {
            x[i].iter()
                .zip(&sd)
                .map(|(v, s)| v + far_shift * s)
                .collect::<Vec<_>>()
        })
        .collect();
    let far = Tensor::from_vec(far, (te.len(), d), &Device::Cpu)?;
    let mut spread_far = 0.0;
    for m in &models {
        let s = log_prob_spread(&m.log_prob_draws(&far, DRAWS, 1)?);
        spread_far += s.std.iter().sum::<f64>() / s.std.len() as f64 / k as f64;
    }
    let acc = correct as f64 / te.len() as f64;
    println!(
        "{name} [{}]: test accuracy {acc:.3} ({correct}/{}), {k} classes, {} training events, {:.1} s; \
         spread of log p over {DRAWS} draws: on the test points {spread_on:.3}, {far_shift} sd away {spread_far:.3}",
        st.label,
        te.len(),
        tr.len(),
        start.elapsed().as_secs_f64()
    );
    assert!(
        spread_far > spread_on,
        "{name}: the spread far from the data is not larger"
    );
    Ok(())
}

/// The SVI recipe of docs/BAYES.md: a Bayesian last layer with a N(0, 0.1²) prior.
const RECIPE: Settings = Settings {
    label: "",
    spline: true,
    blocks: 4,
    hidden: 32,
    epochs: 60,
    prior_std: 0.1,
    bayes_layers: Some(1),
};

fn main() -> anyhow::Result<()> {
    flowinfer::device::apply_cpu_thread_defaults();
    let which = std::env::args().nth(1).unwrap_or_else(|| "both".into());
    if which == "moons" || which == "both" {
        let (x, y) = moons(1000, 0.2, 0);
        let st = Settings {
            label: "NSF 4x32, 60 epochs",
            ..RECIPE
        };
        run("two moons (1000 events, noise 0.2)", x, y, &[st], 4.0)?;
    }
    if which == "iris" || which == "both" {
        let (x, y) = iris()?;
        let rnvp = Settings {
            spline: false,
            ..RECIPE
        };
        let candidates = [
            Settings {
                label: "RealNVP 4x32, 150 epochs, all layers Bayesian, prior 1",
                epochs: 150,
                prior_std: 1.0,
                bayes_layers: None,
                ..rnvp
            },
            Settings {
                label: "RealNVP 4x32, 150 epochs",
                epochs: 150,
                ..rnvp
            },
            Settings {
                label: "RealNVP 4x32, 800 epochs",
                epochs: 800,
                ..rnvp
            },
            Settings {
                label: "RealNVP 2x16, 800 epochs",
                blocks: 2,
                hidden: 16,
                epochs: 800,
                ..rnvp
            },
            Settings {
                label: "NSF 2x16, 800 epochs",
                blocks: 2,
                hidden: 16,
                epochs: 800,
                ..RECIPE
            },
        ];
        run("iris", x, y, &candidates, 4.0)?;
    }
    Ok(())
}
