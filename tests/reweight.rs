//! DCTR reweighting: the weights move a deliberately wrong generator toward the data
//! (held-out AUC and χ²/ndf drop), the run-directory job writes its files, and a data
//! file with other columns than the run's is a clear error with nothing written.

use flowinfer::config::FitConfig;
use flowinfer::data::Table;
use flowinfer::density::{fit, DataSource, Output};
use flowinfer::reweight::{reweight, reweight_run, ReweightConfig, ReweightRun};
use flowinfer::Error;
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};
use std::path::{Path, PathBuf};

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("flowinfer-reweight-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// `n` events of a correlated 2-D Gaussian; `wrong` widens and shifts it (a poor
/// generator of the same columns).
fn events(n: usize, wrong: bool, seed: u64) -> Vec<Vec<f64>> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            let a: f64 = StandardNormal.sample(&mut rng);
            let b: f64 = StandardNormal.sample(&mut rng);
            let (x, y) = (a, 0.8 * a + 0.6 * b);
            if wrong {
                vec![1.4 * x + 0.4, 1.2 * y]
            } else {
                vec![x, y]
            }
        })
        .collect()
}

fn table(rows: &[Vec<f64>]) -> Table {
    Table::new(
        vec!["x".into(), "y".into()],
        rows.iter().flatten().copied().collect(),
    )
    .unwrap()
}

fn fast() -> ReweightConfig {
    let mut cfg = ReweightConfig::default();
    cfg.classifier.hidden = 32;
    cfg.classifier.epochs = 60;
    cfg.folds = 2;
    cfg.bins = 20;
    cfg
}

#[test]
fn weights_move_a_wrong_generator_toward_the_data() {
    let reference = table(&events(1500, false, 1));
    let generated = table(&events(3000, true, 2));
    let r = reweight(&generated, &reference, &fast()).unwrap();
    let rep = &r.report;
    eprintln!(
        "AUC {:.3} → {:.3}, χ²/ndf {:.2} → {:.2}, ESS {:.0}",
        rep.auc_before,
        rep.auc_after,
        rep.mean_chi2_ndf_before,
        rep.mean_chi2_ndf_after,
        rep.weights.ess
    );
    assert!(rep.auc_before > 0.6, "{rep:?}");
    assert!(rep.auc_after < rep.auc_before - 0.08, "{rep:?}");
    assert!(
        rep.mean_chi2_ndf_after < 0.5 * rep.mean_chi2_ndf_before,
        "{rep:?}"
    );
    // The weights are mean 1 and the Kish ESS is below the event count.
    let mean = r.weights.iter().sum::<f64>() / r.weights.len() as f64;
    assert!((mean - 1.0).abs() < 1e-9);
    assert!(
        rep.weights.ess < 3000.0 && rep.weights.ess > 300.0,
        "{rep:?}"
    );
    assert_eq!(rep.chi2_before.len(), 2);
}

/// A small, deliberately weak run (one epoch) in `dir`, fitted on `data`.
fn weak_run(dir: &Path, data: &Path) {
    let mut cfg = FitConfig::default();
    (cfg.flow.blocks, cfg.flow.hidden, cfg.train.epochs) = (2, 16, 1);
    cfg.eval.c2st = false;
    cfg.eval.plots = false;
    fit(
        &DataSource::File(data.into()),
        &cfg,
        Output::to(dir),
        |_| {},
    )
    .unwrap();
}

fn write_csv(path: &Path, header: &str, rows: &[Vec<f64>], extra: bool) {
    let mut s = format!("{header}\n");
    for r in rows {
        let cells: Vec<String> = r.iter().map(f64::to_string).collect();
        s.push_str(&cells.join(","));
        if extra {
            s.push_str(",7");
        }
        s.push('\n');
    }
    std::fs::write(path, s).unwrap();
}

#[test]
fn run_job_writes_weights_beside_the_events_and_rejects_other_columns() {
    let dir = tmp("job");
    std::fs::create_dir_all(&dir).unwrap();
    let data = dir.join("data.csv");
    write_csv(&data, "x,y", &events(800, false, 3), false);
    let run = dir.join("run");
    weak_run(&run, &data);

    let out = dir.join("rw");
    let job = ReweightRun {
        run: run.clone(),
        data: data.clone(),
        generated: None,
        samples: Some(1600),
        out: out.clone(),
    };
    let rep = reweight_run(&job, &fast(), &candle_core::Device::Cpu).unwrap();
    assert_eq!(rep.generated_events, 1600);
    for f in [
        "generated.csv",
        "weights.csv",
        "report.json",
        "plots/weighted_histograms.png",
        "plots/weights.png",
    ] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    let w = std::fs::read_to_string(out.join("weights.csv")).unwrap();
    assert!(w.starts_with("weight,raw\n"));
    assert_eq!(w.lines().count(), 1601);

    // Data with an extra column: an error naming it and the file; nothing written.
    let bad = dir.join("bad.csv");
    write_csv(&bad, "x,y,run_id", &events(50, false, 4), true);
    let out_bad = dir.join("rw-bad");
    let e = reweight_run(
        &ReweightRun {
            data: bad.clone(),
            out: out_bad.clone(),
            ..job.clone()
        },
        &fast(),
        &candle_core::Device::Cpu,
    )
    .unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, Error::File { .. }), "{e:?}");
    assert!(msg.contains("run_id") && msg.contains("bad.csv"), "{msg}");
    assert!(!out_bad.exists());

    // A missing column is named too.
    let missing = dir.join("missing.csv");
    let one: Vec<Vec<f64>> = events(50, false, 5)
        .into_iter()
        .map(|r| vec![r[0]])
        .collect();
    write_csv(&missing, "x", &one, false);
    let e = reweight_run(
        &ReweightRun {
            data: missing,
            out: out_bad.clone(),
            ..job
        },
        &fast(),
        &candle_core::Device::Cpu,
    )
    .unwrap_err();
    assert!(e.to_string().contains("missing columns [\"y\"]"), "{e}");
    assert!(!out_bad.exists());
    let _ = std::fs::remove_dir_all(&dir);
}
