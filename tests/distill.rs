//! MAF → IAF distillation on a small 2-D run: the student comes close to its teacher
//! (test NLL, samples for the same latents), is a normal run directory (`sample_run`
//! works on it), and a teacher that is not a MAF is refused.

use flowinfer::config::FitConfig;
use flowinfer::density::{fit, sample_run, DataSource, Output};
use flowinfer::distill::{distill, DistillConfig};
use flowinfer::flow::FlowKind;
use flowinfer::Error;
use std::path::PathBuf;

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("flowinfer-distill-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn teacher(dir: &std::path::Path, kind: FlowKind) {
    let mut cfg = FitConfig::default();
    cfg.flow.kind = kind;
    (cfg.flow.blocks, cfg.flow.hidden, cfg.train.epochs) = (2, 24, 25);
    cfg.train.lr = 3e-3;
    cfg.eval.c2st = false;
    cfg.eval.plots = false;
    let source = DataSource::toy("two-moons", 1200, 3).unwrap();
    fit(&source, &cfg, Output::to(dir), |_| {}).unwrap();
}

fn fast() -> DistillConfig {
    let mut cfg = DistillConfig {
        pairs: 3000,
        val_pairs: 600,
        ..Default::default()
    };
    cfg.train.epochs = 8;
    cfg.train.lr = 3e-3;
    cfg
}

#[test]
fn student_matches_its_maf_teacher_and_is_a_run_directory() {
    let dir = tmp("maf");
    let t = dir.join("teacher");
    teacher(&t, FlowKind::Maf);
    let s = dir.join("student");
    let cfg = fast();
    let untrained = {
        let mut c = cfg.clone();
        c.train.epochs = 1;
        c.train.lr = 1e-9;
        distill(&t, None, &c, |_| {}).unwrap().report
    };
    let d = distill(&t, Some(&s), &cfg, |_| {}).unwrap();
    let r = &d.report;
    eprintln!(
        "terms {:?} (untrained {:?}); test NLL student {:.3} teacher {:.3}",
        r.val_terms, untrained.val_terms, r.student_test.nll, r.teacher_test.nll
    );
    assert!(r.aligned);
    // Training pulled the student's samples onto the teacher's.
    assert!(
        r.val_terms.output < 0.2 * untrained.val_terms.output,
        "{:?} vs untrained {:?}",
        r.val_terms,
        untrained.val_terms
    );
    assert!(r.val_terms.kl < untrained.val_terms.kl, "{r:?}");
    // The student's density of held-out events is close to the teacher's.
    assert!(
        (r.student_test.nll - r.teacher_test.nll).abs() < 0.25,
        "student {} vs teacher {}",
        r.student_test.nll,
        r.teacher_test.nll
    );
    // A normal run directory.
    let x = sample_run(&s, 50, 1, &candle_core::Device::Cpu).unwrap();
    assert_eq!((x.rows(), x.cols()), (50, 2));
    for f in ["model/flow.json", "run.json", "report.json", "history.csv"] {
        assert!(s.join(f).is_file(), "{f} missing");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_student_with_other_blocks_learns_without_the_block_term() {
    let dir = tmp("blocks");
    let t = dir.join("teacher");
    teacher(&t, FlowKind::Maf);
    let cfg = DistillConfig {
        blocks: Some(3),
        ..fast()
    };
    let untrained = {
        let mut c = cfg.clone();
        c.train.epochs = 1;
        c.train.lr = 1e-9;
        distill(&t, None, &c, |_| {}).unwrap().report
    };
    let r = distill(&t, None, &cfg, |_| {}).unwrap().report;
    eprintln!(
        "terms {:?} (untrained {:?})",
        r.val_terms, untrained.val_terms
    );
    assert!(!r.aligned);
    assert_eq!(r.val_terms.block, 0.0);
    assert!(
        r.val_terms.output < 0.5 * untrained.val_terms.output,
        "{:?} vs untrained {:?}",
        r.val_terms,
        untrained.val_terms
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_teacher_that_is_not_a_maf_is_refused_and_nothing_is_written() {
    let dir = tmp("nsf");
    let t = dir.join("teacher");
    let mut cfg = FitConfig::default();
    (cfg.flow.blocks, cfg.flow.hidden, cfg.train.epochs) = (2, 8, 1);
    cfg.eval.c2st = false;
    cfg.eval.plots = false;
    let source = DataSource::toy("two-moons", 300, 3).unwrap();
    fit(&source, &cfg, Output::to(&t), |_| {}).unwrap();
    let out = dir.join("student");
    let e = distill(&t, Some(&out), &fast(), |_| {}).unwrap_err();
    assert!(matches!(e, Error::Config(_)), "{e:?}");
    assert!(e.to_string().contains("maf"), "{e}");
    assert!(!out.exists());
    let _ = std::fs::remove_dir_all(&dir);
}
