//! The `distill` job: a MAF run (the teacher) → an IAF student written as a normal run
//! directory, so `sample` and `eval` work on it:
//!
//! * `model/` — the student flow; `run.json` — the teacher's columns, data and spec
//!   (with `[flow] kind = "iaf"` and the student's block count), so the test split is
//!   the teacher's;
//! * `report.json` — [`DistillReport`]: the test-split NLL, KDE overlap and C2ST of
//!   teacher and student, the final loss terms, sampling throughput;
//! * `history.csv` — the training curve.
//!
//! The teacher's run directory is only read; the output is written atomically after
//! training.

use crate::atomic::{write_atomic, write_dir_atomic};
use crate::distill::{
    check_teacher, compare_throughput, copy_shared_layers, student_spec, DistillConfig,
    DistillLoss, LossTerms, TeacherPairs, Throughput,
};
use crate::error::Result;
use crate::flow::{Flow, FlowKind};
use crate::pipeline::{evaluate_against, load_run_on, write_history, Evaluation, RunInfo};
use crate::train::{Batches, EpochRecord, Trainer};
use candle_core::Device;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// What [`distill`] measured (`report.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DistillReport {
    /// The teacher's run directory.
    pub teacher_run: String,
    /// Whether student and teacher layers are aligned (per-block loss used).
    pub aligned: bool,
    /// Teacher / student trainable parameters.
    pub parameters: [usize; 2],
    /// Epochs run, the epoch kept, early stop.
    pub epochs: usize,
    /// Epoch whose weights were kept.
    pub best_epoch: usize,
    /// Whether early stopping ended training.
    pub stopped_early: bool,
    /// Training wall time (s).
    pub train_seconds: f64,
    /// Loss terms on the validation pairs with the kept weights.
    pub val_terms: LossTerms,
    /// Teacher on the run's test split (NLL, KDE overlap, C2ST).
    pub teacher_test: Evaluation,
    /// Student on the same test split.
    pub student_test: Evaluation,
    /// Sampling throughput at batch 10 000.
    pub throughput: Throughput,
    /// The settings.
    pub config: DistillConfig,
}

/// The student flow and the report.
#[derive(Debug)]
pub struct Distilled {
    /// The trained IAF student.
    pub student: Flow,
    /// The figures.
    pub report: DistillReport,
}

/// Distil the MAF run in `teacher_dir` into an IAF student; with `out`, write the
/// student's run directory there (module docs). `on_epoch` sees every epoch.
///
/// Errors: the run is not a MAF (`[flow] kind` other than `maf`/`maf_spline`, or
/// conditional) — [`Error::Config`](crate::Error::Config); invalid settings; an
/// unreadable run directory.
///
/// ```no_run
/// use flowinfer::distill::{distill, DistillConfig};
/// let d = distill("runs/auger-maf".as_ref(), Some("runs/auger-iaf".as_ref()), &DistillConfig::default(), |_| {})?;
/// println!("speed-up {:.1}×", d.report.throughput.speedup);
/// # Ok::<(), flowinfer::Error>(())
/// ```
pub fn distill(
    teacher_dir: &Path,
    out: Option<&Path>,
    cfg: &DistillConfig,
    on_epoch: impl FnMut(&EpochRecord),
) -> Result<Distilled> {
    cfg.validate()?;
    let (info, teacher) = load_run_on(teacher_dir, &Device::Cpu)?;
    let tspec = teacher.spec();
    check_teacher(info.spec.flow.kind, &tspec)?;
    let (sspec, aligned) = student_spec(&tspec, &info.spec.flow, cfg.blocks, cfg.hidden)?;
    let student = Flow::new(sspec, teacher.dtype(), teacher.device(), cfg.seed)?;
    let mut rng = rand::rngs::StdRng::seed_from_u64(cfg.seed ^ 0x00d1_5711);
    let train = TeacherPairs::draw(&teacher, cfg.pairs, &mut rng)?;
    let val = (cfg.val_pairs > 0)
        .then(|| TeacherPairs::draw(&teacher, cfg.val_pairs, &mut rng))
        .transpose()?;
    if aligned {
        copy_shared_layers(&teacher, &student)?;
    } else {
        student.initialize_from_data(&train.samples()?, None)?;
    }
    let loss = DistillLoss {
        teacher: &teacher,
        student: &student,
        aligned,
        weights: [
            cfg.kl_weight,
            cfg.block_weight,
            cfg.output_weight,
            cfg.nll_weight,
        ],
        nll_rows: cfg.nll_rows,
    };
    let start = std::time::Instant::now();
    let rep = Trainer::new(cfg.train.clone())?.fit(
        student.params(),
        Batches {
            x: &train.z,
            ctx: Some(&train.states),
        },
        val.as_ref().map(|v| Batches {
            x: &v.z,
            ctx: Some(&v.states),
        }),
        |z, s| loss.loss(z, s.expect("teacher states travel as the context")),
        on_epoch,
    )?;
    let train_seconds = start.elapsed().as_secs_f64();
    let check = val.as_ref().unwrap_or(&train);
    let val_terms = loss.evaluate(&check.z, &check.states, 1024)?;

    let test = info.test_split()?;
    let seed = cfg.seed.wrapping_add(17);
    let teacher_test = evaluate_against(&teacher, &test, true, seed)?;
    let student_test = evaluate_against(&student, &test, true, seed)?;
    let throughput = compare_throughput(&teacher, &student, 10_000, 5)?;
    let report = DistillReport {
        teacher_run: teacher_dir.display().to_string(),
        aligned,
        parameters: [
            teacher.params().num_parameters(),
            student.params().num_parameters(),
        ],
        epochs: rep.history.len(),
        best_epoch: rep.best_epoch,
        stopped_early: rep.stopped_early,
        train_seconds,
        val_terms,
        teacher_test,
        student_test,
        throughput,
        config: cfg.clone(),
    };
    if let Some(dir) = out {
        let mut sinfo: RunInfo = info.clone();
        sinfo.spec.flow.kind = FlowKind::Iaf;
        if let Some(b) = cfg.blocks {
            sinfo.spec.flow.blocks = b;
        }
        if let Some(h) = cfg.hidden {
            sinfo.spec.flow.hidden = h;
        }
        write_dir_atomic(dir, |stage| {
            student.save(stage.join("model"))?;
            write_atomic(
                &stage.join("run.json"),
                serde_json::to_string_pretty(&sinfo)?.as_bytes(),
            )?;
            write_atomic(
                &stage.join("report.json"),
                serde_json::to_string_pretty(&report)?.as_bytes(),
            )?;
            write_history(&stage.join("history.csv"), &rep.history)
        })?;
    }
    Ok(Distilled { student, report })
}
