//! Bayesian flows: the samplers and SVI against the exact posterior of a Bayesian linear
//! regression, the weight-noise modes of the Bayesian layers, the fit job end to end
//! and its error cases.

use candle_core::{DType, Device, Tensor};
use flowinfer::bayes::predict::BayesModel;
use flowinfer::bayes::sgld::{run_chain, ChainConfig, SamplerConfig, SamplerKind, Sgmcmc};
use flowinfer::bayes::svi::Elbo;
use flowinfer::bayes::{bayesify, BayesConfig, Method};
use flowinfer::config::{FitConfig, JobConfig};
use flowinfer::density::{DataSource, Output};
use flowinfer::nn::{BayesLinear, BayesLinearConfig, NoiseControl, WeightNoise};
use flowinfer::params::{Init, Params};
use flowinfer::train::{Adam, AdamConfig, LrSchedule};
use flowinfer::{Flow, FlowBuilder};
use nalgebra::{DMatrix, DVector};
use rand::rngs::StdRng;
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};

/// The test device (`FLOWINFER_TEST_DEVICE`, default CPU).
fn dev() -> Device {
    flowinfer::testing::test_device()
}

const N: usize = 200;
const D: usize = 3;
const NOISE: f64 = 1.0;
const PRIOR: f64 = 1.0;

/// Data of `y = X w + ε` and the exact posterior `(mean, covariance)` of `w`.
fn regression() -> (Vec<f64>, Vec<f64>, DVector<f64>, DMatrix<f64>) {
    let mut rng = StdRng::seed_from_u64(7);
    let mut g = || <StandardNormal as Distribution<f64>>::sample(&StandardNormal, &mut rng);
    let w_true = [0.8, -0.5, 0.3];
    let mut x = Vec::with_capacity(N * D);
    let mut y = Vec::with_capacity(N);
    for _ in 0..N {
        let row: Vec<f64> = (0..D).map(|j| g() * (1.0 + 0.5 * j as f64)).collect();
        let t: f64 = row.iter().zip(&w_true).map(|(a, b)| a * b).sum();
        y.push(t + NOISE * g());
        x.extend(row);
    }
    let xm = DMatrix::from_row_slice(N, D, &x);
    let yv = DVector::from_vec(y.clone());
    let prec = xm.transpose() * &xm / (NOISE * NOISE) + DMatrix::identity(D, D) / (PRIOR * PRIOR);
    let cov = prec.try_inverse().unwrap();
    let mean = &cov * xm.transpose() * yv / (NOISE * NOISE);
    (x, y, mean, cov)
}

/// Mean loss of a batch of `[x | y]` rows: `mean (y − x w)² / (2 s²)`.
fn mean_loss(rows: &Tensor, w: &Tensor) -> flowinfer::Result<Tensor> {
    let x = rows.narrow(1, 0, D)?;
    let y = rows.narrow(1, D, 1)?;
    let r = (y - x.matmul(w)?)?;
    Ok((r.sqr()?.mean_all()? / (2.0 * NOISE * NOISE))?)
}

fn chain_moments(kind: SamplerKind, lr: f64, epochs: usize) -> (Vec<f64>, Vec<f64>, usize) {
    let (x, y, _, _) = regression();
    let rows: Vec<f64> = (0..N)
        .flat_map(|i| x[i * D..(i + 1) * D].iter().copied().chain([y[i]]))
        .collect();
    let data = Tensor::from_vec(rows, (N, D + 1), &dev()).unwrap();
    let params = Params::new(DType::F64, &dev(), 0);
    let w = params.get("w", (D, 1), Init::Zeros).unwrap();
    let sampler = Sgmcmc::new(
        params.all_vars(),
        SamplerConfig {
            kind,
            lr,
            temperature: 1.0,
            n_train: N,
            prior_std: Some(PRIOR),
        },
        11,
    )
    .unwrap();
    let cfg = ChainConfig {
        epochs,
        batch_size: N,
        schedule: LrSchedule::Constant,
        burn_in_epochs: 500,
        thin: 5,
        max_samples: 10_000,
        seed: 3,
    };
    let (store, rep) = run_chain(
        &params,
        &data,
        sampler,
        &cfg,
        |b| mean_loss(b, &w),
        |_, _| {},
    )
    .unwrap();
    let samples: Vec<Vec<f64>> = (0..store.len())
        .map(|i| {
            store.get(i).unwrap()[0]
                .1
                .flatten_all()
                .unwrap()
                .to_vec1::<f64>()
                .unwrap()
        })
        .collect();
    let m = samples.len() as f64;
    let mean: Vec<f64> = (0..D)
        .map(|j| samples.iter().map(|s| s[j]).sum::<f64>() / m)
        .collect();
    let var: Vec<f64> = (0..D)
        .map(|j| {
            samples
                .iter()
                .map(|s| (s[j] - mean[j]).powi(2))
                .sum::<f64>()
                / (m - 1.0)
        })
        .collect();
    (mean, var, rep.samples)
}

fn check_against_exact(name: &str, mean: &[f64], var: &[f64]) {
    let (_, _, em, ec) = regression();
    for j in 0..D {
        let sd = ec[(j, j)].sqrt();
        let z = (mean[j] - em[j]) / sd;
        let r = var[j] / ec[(j, j)];
        eprintln!(
            "{name} w{j}: mean {:.4} exact {:.4} ({z:+.3} sd); var {:.5} exact {:.5} (ratio {r:.3})",
            mean[j],
            em[j],
            var[j],
            ec[(j, j)]
        );
        assert!(
            z.abs() < 0.1,
            "{name}: mean of w{j} off by {z} posterior sd"
        );
        assert!(
            (r - 1.0).abs() < 0.2,
            "{name}: variance of w{j} off by ratio {r}"
        );
    }
}

#[test]
fn sgld_matches_the_exact_posterior() {
    let (m, v, k) = chain_moments(SamplerKind::Sgld, 0.02, 20_000);
    assert!(k > 1000);
    check_against_exact("SGLD", &m, &v);
}

#[test]
fn psgld_matches_the_exact_posterior() {
    let (m, v, _) = chain_moments(
        SamplerKind::Psgld {
            alpha: 0.99,
            lambda: 1e-5,
        },
        0.002,
        30_000,
    );
    check_against_exact("pSGLD", &m, &v);
}

#[test]
fn sghmc_matches_the_exact_posterior() {
    let (m, v, _) = chain_moments(SamplerKind::Sghmc { friction: 0.1 }, 0.002, 20_000);
    check_against_exact("SGHMC", &m, &v);
}

/// The noise scale √(2ηT/N): with the √(2η) of a summed loss the chain's variance
/// would be N times too large; with T = 4 it is 4 times the posterior's.
#[test]
fn sgld_variance_scales_with_temperature_over_n() {
    let (x, y, _, ec) = regression();
    let rows: Vec<f64> = (0..N)
        .flat_map(|i| x[i * D..(i + 1) * D].iter().copied().chain([y[i]]))
        .collect();
    let data = Tensor::from_vec(rows, (N, D + 1), &dev()).unwrap();
    let params = Params::new(DType::F64, &dev(), 0);
    let w = params.get("w", (D, 1), Init::Zeros).unwrap();
    let sampler = Sgmcmc::new(
        params.all_vars(),
        SamplerConfig {
            kind: SamplerKind::Sgld,
            lr: 0.01,
            temperature: 4.0,
            n_train: N,
            prior_std: Some(PRIOR),
        },
        5,
    )
    .unwrap();
    let cfg = ChainConfig {
        epochs: 15_000,
        batch_size: N,
        schedule: LrSchedule::Constant,
        burn_in_epochs: 500,
        thin: 5,
        max_samples: 10_000,
        seed: 1,
    };
    let (store, _) = run_chain(
        &params,
        &data,
        sampler,
        &cfg,
        |b| mean_loss(b, &w),
        |_, _| {},
    )
    .unwrap();
    let s0: Vec<f64> = (0..store.len())
        .map(|i| {
            store.get(i).unwrap()[0]
                .1
                .flatten_all()
                .unwrap()
                .to_vec1::<f64>()
                .unwrap()[0]
        })
        .collect();
    let m = s0.iter().sum::<f64>() / s0.len() as f64;
    let v = s0.iter().map(|a| (a - m).powi(2)).sum::<f64>() / (s0.len() - 1) as f64;
    let r = v / (4.0 * ec[(0, 0)]);
    eprintln!("T = 4: var ratio to 4·exact = {r:.3}");
    assert!((r - 1.0).abs() < 0.2, "{r}");
}

#[test]
fn svi_means_match_and_variances_are_the_mean_field_ones() {
    let (x, y, em, ec) = regression();
    let ctl = NoiseControl::new(3);
    let params = Params::new(DType::F64, &dev(), 0);
    let layer = ctl
        .attach(|| {
            BayesLinear::new(
                &params.pp("l"),
                D,
                1,
                true,
                &BayesLinearConfig {
                    prior_std: PRIOR,
                    init_logvar: -6.0,
                },
            )
        })
        .unwrap();
    let xt = Tensor::from_vec(x, (N, D), &dev()).unwrap();
    let yt = Tensor::from_vec(y, (N, 1), &dev()).unwrap();
    // Mean and log-variance only (the deterministic bias stays at zero: no intercept).
    let vars: Vec<_> = params
        .all_vars()
        .into_iter()
        .filter(|v| v.dims() == [D, 1])
        .collect();
    assert_eq!(vars.len(), 2);
    let elbo = Elbo::new(ctl.clone(), N, 1.0, 0, 4);
    let mut opt = Adam::new(
        vars,
        AdamConfig {
            lr: 0.02,
            ..Default::default()
        },
    )
    .unwrap();
    let (mut acc_m, mut acc_s, mut k) = (vec![0.0; D], vec![0.0; D], 0.0);
    for step in 0..6000 {
        if step == 3000 {
            opt.set_learning_rate(0.003);
        }
        let l = elbo
            .loss(|| {
                let r = (&yt - layer.forward(&xt)?)?;
                Ok((r.sqr()?.mean_all()? / (2.0 * NOISE * NOISE))?)
            })
            .unwrap();
        opt.backward_step(&l, None).unwrap();
        if step >= 4000 {
            let (_, m, s) = &ctl.weight_moments().unwrap()[0];
            for j in 0..D {
                acc_m[j] += m[j];
                acc_s[j] += s[j] * s[j];
            }
            k += 1.0;
        }
    }
    let prec = ec.clone().try_inverse().unwrap();
    for j in 0..D {
        let (m, v) = (acc_m[j] / k, acc_s[j] / k);
        let z = (m - em[j]) / ec[(j, j)].sqrt();
        let mf = 1.0 / prec[(j, j)];
        eprintln!(
            "SVI w{j}: mean {m:.4} exact {:.4} ({z:+.3} sd); var {v:.5}, mean-field optimum {mf:.5}, exact marginal {:.5}",
            em[j],
            ec[(j, j)]
        );
        assert!(z.abs() < 0.1, "SVI mean of w{j} off by {z} sd");
        assert!(
            (v / mf - 1.0).abs() < 0.15,
            "SVI variance of w{j}: {v} vs {mf}"
        );
        assert!(
            v <= ec[(j, j)] * 1.05,
            "mean field does not overestimate the marginal"
        );
    }
    // Mean mode and fixed draws: deterministic; local mode: noisy.
    ctl.set(WeightNoise::Fixed(9));
    let a = layer.forward(&xt).unwrap().to_vec2::<f64>().unwrap();
    let b = layer.forward(&xt).unwrap().to_vec2::<f64>().unwrap();
    assert_eq!(a, b);
    ctl.set(WeightNoise::Fixed(10));
    let c = layer.forward(&xt).unwrap().to_vec2::<f64>().unwrap();
    assert_ne!(a, c);
}

#[test]
fn a_fixed_draw_of_a_bayesian_flow_is_invertible_and_reloads() {
    let spec = FlowBuilder::nsf(3)
        .blocks(2)
        .hidden(16)
        .build_spec()
        .unwrap();
    let bayes = BayesConfig {
        method: Method::Svi,
        init_logvar: -2.0,
        ..Default::default()
    };
    let spec = bayesify(&spec, &bayes).unwrap();
    let ctl = NoiseControl::new(0);
    let flow = ctl
        .attach(|| Flow::new(spec.clone(), DType::F64, &dev(), 1))
        .unwrap();
    assert!(ctl.num_layers() > 0);
    assert!(ctl.kl().unwrap().is_some());
    ctl.set(WeightNoise::Fixed(42));
    let mut rng = StdRng::seed_from_u64(0);
    let (x, lp) = flow.sample_and_log_prob(64, None, &mut rng).unwrap();
    let lp2 = flow.log_prob(&x, None).unwrap();
    let d = (lp - &lp2)
        .unwrap()
        .abs()
        .unwrap()
        .max(0)
        .unwrap()
        .to_scalar::<f64>()
        .unwrap();
    assert!(d < 1e-8, "fixed draw not invertible: {d}");
    ctl.set(WeightNoise::Fixed(43));
    let lp3 = flow.log_prob(&x, None).unwrap();
    let d3 = (lp2 - lp3)
        .unwrap()
        .abs()
        .unwrap()
        .max(0)
        .unwrap()
        .to_scalar::<f64>()
        .unwrap();
    assert!(d3 > 1e-6, "different draws give the same density");
    let dir = tempdir("reload");
    flow.save(&dir).unwrap();
    let ctl2 = NoiseControl::new(0);
    let back = ctl2.attach(|| Flow::load(&dir, &dev())).unwrap();
    ctl2.set(WeightNoise::Fixed(43));
    let lp4 = back.log_prob(&x, None).unwrap();
    let lp3 = flow.log_prob(&x, None).unwrap();
    let d4 = (lp3 - lp4)
        .unwrap()
        .abs()
        .unwrap()
        .max(0)
        .unwrap()
        .to_scalar::<f64>()
        .unwrap();
    assert!(d4 < 1e-10, "reloaded draw differs: {d4}");
    // MADE conditioners too.
    let spec = FlowBuilder::maf(3)
        .blocks(2)
        .hidden(16)
        .build_spec()
        .unwrap();
    let spec = bayesify(&spec, &bayes).unwrap();
    let ctl = NoiseControl::new(0);
    let flow = ctl
        .attach(|| Flow::new(spec, DType::F64, &dev(), 1))
        .unwrap();
    ctl.set(WeightNoise::Fixed(1));
    let (x, lp) = flow.sample_and_log_prob(32, None, &mut rng).unwrap();
    let d = (lp - flow.log_prob(&x, None).unwrap())
        .unwrap()
        .abs()
        .unwrap()
        .max(0)
        .unwrap();
    assert!(d.to_scalar::<f64>().unwrap() < 1e-8);
}

fn tempdir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("flowinfer-bayes-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn toy_csv(dir: &std::path::Path) -> std::path::PathBuf {
    let mut rng = StdRng::seed_from_u64(2);
    let mut s = String::from("a,b\n");
    for _ in 0..600 {
        let u: f64 = <StandardNormal as Distribution<f64>>::sample(&StandardNormal, &mut rng);
        let v: f64 = <StandardNormal as Distribution<f64>>::sample(&StandardNormal, &mut rng);
        s.push_str(&format!("{},{}\n", u, 0.5 * u * u + 0.3 * v));
    }
    let p = dir.join("toy.csv");
    std::fs::write(&p, s).unwrap();
    p
}

fn spec(method: &str, extra: &str) -> FitConfig {
    FitConfig::from_toml(
        &format!(
            "[flow]\nkind = \"realnvp\"\nblocks = 2\nhidden = 16\n[train]\nepochs = 4\nbatch_size = 128\nlr = 1e-3\n[eval]\nc2st = false\nplots = false\n[bayes]\nmethod = \"{method}\"\ndraws = 4\nburn_in_epochs = 1\nchain_epochs = 3\nthin = 2\nmembers = 2\n{extra}"
        ),
        std::path::Path::new("test.toml"),
    )
    .unwrap()
}

#[test]
fn fit_predict_and_bands_for_every_method() {
    let dir = tempdir("fit");
    let data = toy_csv(&dir);
    for m in ["map", "svi", "sgld", "psgld", "sghmc", "ensemble"] {
        let out = dir.join(m);
        let rep = flowinfer::density::fit(
            &DataSource::File(data.clone()),
            &spec(m, ""),
            Output::to(&out),
            |_| {},
        )
        .unwrap_or_else(|e| panic!("{m}: {e}"));
        assert!(rep.report.test.nll.is_finite(), "{m}");
        let (_, model) = BayesModel::load(&out).unwrap();
        let k = model.available_draws().unwrap_or(4).min(3);
        let ev = model.generate(50, k, 1, true).unwrap();
        assert_eq!(ev.len(), k);
        assert!(out.join("bayes/report.json").exists());
        if ["sgld", "psgld", "sghmc", "ensemble"].contains(&m) {
            assert!(out.join("bayes/samples.safetensors").exists(), "{m}");
        }
        assert!(model
            .generate(10, 0, 1, true)
            .unwrap_err()
            .to_string()
            .contains("at least 1"));
    }
}

/// `logvar_lr_scale` lets the weight log-variances move: with Adam they move by about
/// `lr` per step, so at scale 1 the learned σ hardly leaves its initial value in a short
/// run; at scale 30 the KL pulls the uninformative weights' σ visibly towards the prior.
/// The per-epoch KL/N and σ quantiles are written to `bayes/svi_history.csv`.
#[test]
fn logvar_learning_rate_scale_moves_the_weight_variances() {
    let dir = tempdir("lvscale");
    let data = toy_csv(&dir);
    let sigma0 = (-9.0f64 / 2.0).exp();
    let mut medians = Vec::new();
    for scale in [1.0, 30.0] {
        let out = dir.join(format!("svi-{scale}"));
        let s = spec(
            "svi",
            &format!("logvar_lr_scale = {scale}\nprior_std = 0.1\nbayes_layers = 1\n"),
        );
        flowinfer::density::fit(
            &DataSource::File(data.clone()),
            &s,
            Output::to(&out),
            |_| {},
        )
        .unwrap();
        let rep: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("bayes/report.json")).unwrap())
                .unwrap();
        medians.push(rep["weight_std_quantiles"][2].as_f64().unwrap());
        let hist = std::fs::read_to_string(out.join("bayes/svi_history.csv")).unwrap();
        let lines: Vec<&str> = hist.lines().collect();
        assert!(lines[0].starts_with("epoch,train_loss,val_loss,kl_per_event,std_min"));
        assert_eq!(lines.len(), 1 + 4, "{hist}");
    }
    eprintln!(
        "median weight σ from {sigma0:.5}: scale 1 → {:.5}, scale 30 → {:.5}",
        medians[0], medians[1]
    );
    assert!(medians[0] / sigma0 < 1.05, "{medians:?}");
    assert!(medians[1] / sigma0 > 1.2, "{medians:?}");
    let e = FitConfig::from_toml(
        "[bayes]\nmethod = \"svi\"\nlogvar_lr_scale = 0\n",
        std::path::Path::new("x.toml"),
    );
    let e = match e {
        Ok(s) => s.validate().unwrap_err().to_string(),
        Err(e) => e.to_string(),
    };
    assert!(e.contains("logvar_lr_scale"), "{e}");
}

#[test]
fn bad_inputs_are_clear_errors() {
    let e = FitConfig::from_toml(
        "[bayes]\nmethod = \"hmc\"\n",
        std::path::Path::new("x.toml"),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("x.toml") && e.contains("hmc"), "{e}");
    // A step size that makes the chain diverge: error naming the step, nothing written.
    let dir = tempdir("diverge");
    let data = toy_csv(&dir);
    let out = dir.join("run");
    let s = spec("sgld", "step_size = 1e4\n");
    let e = flowinfer::density::fit(
        &DataSource::File(data.clone()),
        &s,
        Output::to(&out),
        |_| {},
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("diverged at step"), "{e}");
    assert!(!out.exists(), "a diverged chain wrote {out:?}");
}

#[test]
fn cli_sample_draws_and_bands() {
    let dir = tempdir("cli");
    let data = toy_csv(&dir);
    let run = dir.join("run");
    flowinfer::density::fit(
        &DataSource::File(data.clone()),
        &spec("svi", ""),
        Output::to(&run),
        |_| {},
    )
    .unwrap();
    let bin = env!("CARGO_BIN_EXE_flowinfer");
    let draws = dir.join("draws.csv");
    let st = std::process::Command::new(bin)
        .args(["sample", "--run"])
        .arg(&run)
        .args(["-n", "30", "--draws", "3", "--out"])
        .arg(&draws)
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    let text = std::fs::read_to_string(&draws).unwrap();
    assert!(text.starts_with("a,b,draw\n"), "{text}");
    assert_eq!(text.lines().count(), 1 + 90);
    let out = dir.join("bands");
    let st = std::process::Command::new(bin)
        .args(["bands", "--run"])
        .arg(&run)
        .args(["--data"])
        .arg(&data)
        .args([
            "--draws",
            "4",
            "-n",
            "500",
            "--bins",
            "8",
            "--pair-bins",
            "3",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    for f in [
        "bands.json",
        "bands.csv",
        "pulls.json",
        "logp.csv",
        "plots/bands.png",
        "plots/rel_uncertainty.png",
    ] {
        assert!(out.join(f).exists(), "{f}");
    }
    // M = 0 draws: a clear error, nothing written.
    let out0 = dir.join("bands0");
    let st = std::process::Command::new(bin)
        .args(["bands", "--run"])
        .arg(&run)
        .args(["--draws", "0", "--out"])
        .arg(&out0)
        .output()
        .unwrap();
    assert!(!st.status.success());
    assert!(String::from_utf8_lossy(&st.stderr).contains("at least 1"));
    assert!(!out0.exists());
}
