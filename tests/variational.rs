//! The variational job: known answers, bad targets, external programs, the command
//! line, specs. Every run is small (seconds).

use candle_core::{Device, Tensor};
use flowinfer::config::{from_toml, AnyConfig};
use flowinfer::flow::FlowKind;
use flowinfer::variational::quadrature::{edge_log_density, log_z_2d, GRID};
use flowinfer::variational::targets::{
    energy::ENERGY_BOX, Banana, Energy, Gaussian, GaussianLinearPosterior, Sine,
};
use flowinfer::variational::{
    build_family, train_reverse_kl, variational, LogDensity, RowsLogDensity, TrainConfig,
    VariationalConfig,
};
use rand::SeedableRng;
use std::path::{Path, PathBuf};

/// A small, fast configuration: RealNVP (exact for Gaussians), few steps.
fn small(steps: usize) -> VariationalConfig {
    let mut cfg = VariationalConfig::default();
    cfg.flow.kind = FlowKind::RealNvp;
    (cfg.flow.blocks, cfg.flow.hidden) = (4, 32);
    (cfg.train.steps, cfg.train.samples, cfg.train.lr) = (steps, 256, 1e-2);
    (cfg.eval.samples, cfg.eval.draws, cfg.eval.plots) = (8000, 2000, false);
    cfg
}

fn tmp(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("flowinfer-vi-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn correlated_gaussian_known_answer() {
    let target = Gaussian::new("g2", vec![1.0, -2.0], vec![1.0, 0.6, 0.6, 0.5]).unwrap();
    let out = variational(&target, &small(400), &Device::Cpu, &mut |_| {}).unwrap();
    let r = &out.report;
    let z = r.truth.log_z.unwrap();
    assert!(
        (r.log_z - z).abs() < 4.0 * r.log_z_std_error.max(1e-3),
        "{}",
        r.summary()
    );
    assert!(
        r.elbo <= z + 3.0 * r.elbo_std_error,
        "ELBO above log Z: {}",
        r.summary()
    );
    assert!(r.trusted && r.weights.ess_fraction > 0.5, "{}", r.summary());
    let m = r.moments.as_ref().unwrap();
    assert!(m.q.mean_error < 0.1 && m.q.cov_rel_error < 0.1, "{:?}", m);
    assert_eq!(out.draws.len(), 2000 * 2);
}

#[test]
fn quadrature_agrees_with_closed_forms_and_the_boxes_hold_the_mass() {
    let b = log_z_2d(&Banana, [-12.0, 12.0, -10.0, 40.0], GRID).unwrap();
    assert!(
        (b - Banana.truth().unwrap().log_z.unwrap()).abs() < 1e-6,
        "{b}"
    );
    // The sine density's Jacobian of x2 = 3 tanh y keeps it normalised.
    let s = log_z_2d(&Sine, [-2.0, 2.0, -12.0, 12.0], GRID).unwrap();
    assert!(s.abs() < 1e-6, "{s}");
    for k in 1..=4 {
        let e = Energy::new(k).unwrap();
        let fine = log_z_2d(&e, ENERGY_BOX, GRID).unwrap();
        let coarse = log_z_2d(&e, ENERGY_BOX, 601).unwrap();
        assert!((fine - coarse).abs() < 1e-6, "U{k}: {fine} vs {coarse}");
        let edge = edge_log_density(&e, ENERGY_BOX, 400).unwrap();
        assert!(edge < -15.0, "U{k}: edge density e^{edge} of the mass");
    }
}

#[test]
fn gaussian_linear_matches_the_simulator_prior_and_likelihood() {
    use flowinfer_simulators::{GaussianLinear, Simulator};
    let x_o: Vec<f64> = (0..10).map(|i| 0.1 * i as f64 - 0.4).collect();
    let t = GaussianLinearPosterior::new(x_o.clone()).unwrap();
    let theta: Vec<f64> = (0..10).map(|i| 0.05 * i as f64).collect();
    let lp = t
        .log_density(
            &Tensor::from_vec(theta.clone(), (1, 10), &Device::Cpu).unwrap(),
            None,
        )
        .unwrap()
        .to_vec1::<f64>()
        .unwrap()[0];
    let lik: f64 = theta
        .iter()
        .zip(&x_o)
        .map(|(t, x)| -0.5 * (2.0 * std::f64::consts::PI * 0.1).ln() - (x - t).powi(2) / 0.2)
        .sum();
    let host = GaussianLinear.log_prior(&theta) + lik;
    assert!((lp - host).abs() < 1e-10, "{lp} vs {host}");
    let truth = t.truth().unwrap();
    assert!((truth.mean.unwrap()[0] - x_o[0] / 2.0).abs() < 1e-12);
}

/// A standard normal in 2-D that returns NaN where x1 > `nan_above` and +inf where
/// x2 > 3.
fn spoiled(nan_above: f64) -> impl LogDensity {
    RowsLogDensity::new("spoiled", 2, move |x: &[f64]| {
        if x[0] > nan_above {
            f64::NAN
        } else if x[1] > 3.0 {
            f64::INFINITY
        } else {
            -0.5 * (x[0] * x[0] + x[1] * x[1])
        }
    })
}

#[test]
fn non_finite_values_are_counted_and_dropped_and_too_many_is_an_error() {
    let mut cfg = small(60);
    cfg.train.lr = 3e-3;
    let out = variational(&spoiled(2.0), &cfg, &Device::Cpu, &mut |_| {}).unwrap();
    let t = &out.report.training.invalid;
    assert!(t.nan > 0 && t.points == 60 * 256, "{t:?}");
    assert_eq!(out.history.gradient, "score");
    let dropped: usize = out.history.records.iter().map(|r| r.dropped).sum();
    assert_eq!(dropped, t.total());
    let e = variational(&spoiled(0.0), &cfg, &Device::Cpu, &mut |_| {}).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("spoiled")
            && msg.contains("non-finite log density")
            && msg.contains("NaN")
            && msg.contains("training step 0"),
        "{msg}"
    );
}

#[test]
fn score_gradient_learns_a_value_only_target() {
    let t = RowsLogDensity::new("normal", 2, |x: &[f64]| {
        -0.5 * ((x[0] - 1.0).powi(2) + (x[1] / 2.0).powi(2))
    })
    .with_log_z((4.0 * std::f64::consts::PI).ln());
    let mut cfg = small(300);
    cfg.mean_field = true;
    cfg.train.lr = 3e-2;
    let r = variational(&t, &cfg, &Device::Cpu, &mut |_| {})
        .unwrap()
        .report;
    assert_eq!(r.training.gradient, "score");
    assert!(
        (r.log_z - r.truth.log_z.unwrap()).abs() < 0.05,
        "{}",
        r.summary()
    );
}

#[cfg(unix)]
fn script(dir: &Path, name: &str, body: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, body).unwrap();
    format!("sh {}", p.display())
}

#[cfg(unix)]
#[test]
fn external_targets_that_fail_name_the_program() {
    use flowinfer::variational::external_target;
    let dir = tmp("external");
    let cfg = small(5);
    let cmd = script(&dir, "crash.sh", "echo 'likelihood diverged' >&2\nexit 4\n");
    let t = external_target(&cmd, 2, None, None, None).unwrap();
    let msg = variational(t.as_ref(), &cfg, &Device::Cpu, &mut |_| {})
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("crash.sh")
            && msg.contains("exit status 4")
            && msg.contains("likelihood diverged"),
        "{msg}"
    );
    let cmd = script(
        &dir,
        "short.sh",
        "awk -F, 'NR > 1 { print -($1*$1 + $2*$2)/2 }'\n",
    );
    let t = external_target(&cmd, 2, None, None, None).unwrap();
    let msg = variational(t.as_ref(), &cfg, &Device::Cpu, &mut |_| {})
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("short.sh") && msg.contains("lines for"),
        "{msg}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// `p(x | c) = N(x; (c, c), I)`: amortised over `c`.
struct Shifted;

impl LogDensity for Shifted {
    fn name(&self) -> &str {
        "shifted"
    }
    fn dim(&self) -> usize {
        2
    }
    fn context_dim(&self) -> usize {
        1
    }
    fn log_density(&self, x: &Tensor, ctx: Option<&Tensor>) -> flowinfer::Result<Tensor> {
        let c = ctx.expect("context");
        Ok((x.broadcast_sub(c)?.sqr()?.sum(1)? * -0.5)?)
    }
}

#[test]
fn amortised_training_over_a_context() {
    let mut cfg = small(400);
    cfg.flow.kind = FlowKind::Maf;
    let flow = build_family(&cfg, 2, 1, &Device::Cpu).unwrap();
    let sample = |m: usize, rng: &mut dyn rand::RngCore| -> flowinfer::Result<Tensor> {
        let c: Vec<f32> = (0..m)
            .map(|_| (rng.next_u32() as f32 / u32::MAX as f32) * 4.0 - 2.0)
            .collect();
        Ok(Tensor::from_vec(c, (m, 1), &Device::Cpu)?)
    };
    let tc = TrainConfig {
        contexts: 8,
        samples: 64,
        ..cfg.train.clone()
    };
    let mut rng = rand::rngs::StdRng::seed_from_u64(3);
    train_reverse_kl(&flow, &Shifted, &tc, Some(&sample), &mut rng, &mut |_| {}).unwrap();
    let c = Tensor::new(&[[1.5f32]], &Device::Cpu).unwrap();
    let x = flow.sample(4000, Some(&c), &mut rng).unwrap();
    let m: Vec<f32> = x.mean(0).unwrap().to_vec1().unwrap();
    assert!(m.iter().all(|v| (v - 1.5).abs() < 0.15), "{m:?}");
}

#[test]
fn specs_load_and_bad_specs_say_what_is_wrong() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("models");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        if name.starts_with("vi-") && name.ends_with(".toml") {
            let spec = AnyConfig::load(&p).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(spec.job(), "variational", "{name}");
            n += 1;
        }
    }
    assert!(
        n >= 5,
        "expected the shipped models/vi-*.toml specs, found {n}"
    );
    let e = from_toml::<VariationalConfig>("[train]\nstep = 3\n", "x.toml")
        .unwrap_err()
        .to_string();
    assert!(e.contains("x.toml") && e.contains("step"), "{e}");
    let cfg: VariationalConfig = from_toml(
        "[target]\nname = \"banana\"\n[train]\nsteps = 7\n",
        "y.toml",
    )
    .unwrap();
    assert_eq!((cfg.train.steps, cfg.train.samples), (7, 256));
    let mut both = cfg.clone();
    both.target.command = Some("sh x.sh".into());
    assert!(both
        .target
        .build()
        .err()
        .unwrap()
        .to_string()
        .contains("not both"));
    let e = from_toml::<VariationalConfig>("[target]\nname = \"nope\"\n", "z.toml")
        .unwrap()
        .target
        .build()
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("unknown target `nope`") && e.contains("banana"),
        "{e}"
    );
}

#[test]
fn cli_end_to_end_on_a_tiny_run() {
    let dir = tmp("cli");
    let out = dir.join("run");
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_flowinfer"))
        .args([
            "variational",
            "--target",
            "banana",
            "--flow",
            "realnvp",
            "--blocks",
            "2",
        ])
        .args(["--hidden", "16", "--steps", "40", "--samples", "64"])
        .args([
            "--eval-samples",
            "2000",
            "--draws",
            "500",
            "--quiet",
            "--accept-untrusted",
        ])
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let stdout = String::from_utf8_lossy(&status.stdout);
    assert!(
        stdout.contains("log Z (IS):") && stdout.contains("Pareto k̂"),
        "{stdout}"
    );
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("result.json")).unwrap()).unwrap();
    for key in [
        "elbo",
        "log_z",
        "log_z_std_error",
        "ess_fraction",
        "pareto_k",
        "trusted",
        "reasons",
    ] {
        assert!(r.get(key).is_some(), "result.json lacks {key}: {r}");
    }
    let csv = std::fs::read_to_string(out.join("samples.csv")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("x1,x2"));
    assert_eq!(lines.count(), 500);
    for f in [
        "report.json",
        "history.csv",
        "spec.toml",
        "marginals.png",
        "density.png",
        "model/flow.json",
    ] {
        assert!(out.join(f).exists(), "missing {f}");
    }
    // A bad argument is an error that names it, and writes nothing.
    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_flowinfer"))
        .args([
            "variational",
            "--target",
            "banana",
            "--flow",
            "cnf-ish",
            "--out",
        ])
        .arg(dir.join("bad"))
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--flow cnf-ish"));
    assert!(!dir.join("bad").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_variational_family_with_a_bound_layer_is_refused_and_exact_layers_are_kept() {
    let with = |layer: &str| {
        let cfg: VariationalConfig = from_toml(
            &format!(
                "[target]\nname = \"banana\"\n[flow]\nkind = \"realnvp\"\nblocks = 2\nhidden = 8\n\
                 [[flow.surjective]]\n{layer}\nat = 0\n"
            ),
            "vi.toml",
        )
        .unwrap();
        build_family(&cfg, 2, 0, &Device::Cpu)
    };
    let e = match with("type = \"augment\"\nextra = 1\nmodel = { kind = \"standard_normal\" }") {
        Ok(_) => panic!("augment gives only a bound on log q: it must be refused"),
        Err(e) => e.to_string(),
    };
    assert!(e.contains("exact log q") && e.contains("bound"), "{e}");
    let flow = with("type = \"abs\"\nlearned = false").expect("abs is exact: accepted");
    assert_eq!(
        flow.likelihood(),
        flowinfer::transforms::Contribution::Exact
    );
}
