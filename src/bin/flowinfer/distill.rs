//! The `distill` verb: a MAF run teaches an IAF student (fast sampling), written as a
//! normal run directory.

use crate::args::{set, QuietArg};
use crate::progress;
use flowinfer::distill::{distill, DistillConfig};
use std::path::PathBuf;

/// Arguments of `flowinfer distill`.
#[derive(clap::Args)]
pub struct DistillArgs {
    /// The teacher: a run directory written by `fit` with `[flow] kind = "maf"` or
    /// `"maf_spline"`.
    #[arg(long)]
    run: PathBuf,
    /// Output run directory of the student.
    #[arg(long)]
    out: PathBuf,
    /// Training epochs (default 60, early stopping on validation pairs).
    #[arg(long)]
    epochs: Option<usize>,
    /// Student blocks (default: the teacher's, which aligns the layers).
    #[arg(long)]
    student_blocks: Option<usize>,
    /// Student conditioner width (default: the teacher's).
    #[arg(long)]
    student_hidden: Option<usize>,
    /// Teacher latents drawn for training (default 20000).
    #[arg(long)]
    pairs: Option<usize>,
    /// Minibatch size (default 256).
    #[arg(long)]
    batch_size: Option<usize>,
    /// Adam learning rate (default 1e-3).
    #[arg(long)]
    lr: Option<f64>,
    /// Weight of the reverse KL on the student's samples (default 0.01).
    #[arg(long)]
    kl_weight: Option<f64>,
    /// Weight of the per-block teacher-latent loss (default 1).
    #[arg(long)]
    block_weight: Option<f64>,
    /// Weight of the end-to-end sample loss (default 1).
    #[arg(long)]
    output_weight: Option<f64>,
    /// Weight of the student's NLL of teacher samples (default 0.05).
    #[arg(long)]
    nll_weight: Option<f64>,
    /// Seed of the student's initialisation and the teacher latents.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// `--quiet`.
    #[command(flatten)]
    quiet: QuietArg,
}

/// `flowinfer distill`.
pub fn run_distill(a: DistillArgs) -> anyhow::Result<()> {
    let mut cfg = DistillConfig {
        blocks: a.student_blocks,
        hidden: a.student_hidden,
        seed: a.seed,
        ..Default::default()
    };
    set(&mut cfg.train.epochs, &a.epochs);
    set(&mut cfg.train.batch_size, &a.batch_size);
    set(&mut cfg.train.lr, &a.lr);
    set(&mut cfg.pairs, &a.pairs);
    set(&mut cfg.kl_weight, &a.kl_weight);
    set(&mut cfg.block_weight, &a.block_weight);
    set(&mut cfg.output_weight, &a.output_weight);
    set(&mut cfg.nll_weight, &a.nll_weight);
    cfg.validate()?;
    let bar = progress::bar("epoch", cfg.train.epochs, a.quiet.quiet)?;
    let r = distill(&a.run, Some(&a.out), &cfg, |rec| {
        bar.inc(1);
        bar.set_message(format!(
            "train {:.4}  val {:.4}",
            rec.train_loss,
            rec.val_loss.unwrap_or(f64::NAN)
        ));
    })?
    .report;
    bar.finish_and_clear();
    println!(
        "student:               {} parameters (teacher {}), {} epochs (best {}, {:.1} s){}",
        r.parameters[1],
        r.parameters[0],
        r.epochs,
        r.best_epoch,
        r.train_seconds,
        if r.aligned { ", aligned layers" } else { "" }
    );
    println!(
        "validation terms:      KL {:.4} nats, block MSE {:.5}, output MSE {:.5}, NLL {:.4}",
        r.val_terms.kl, r.val_terms.block, r.val_terms.output, r.val_terms.nll
    );
    println!(
        "test NLL:              teacher {:.4}, student {:.4} nats/event",
        r.teacher_test.nll, r.student_test.nll
    );
    println!(
        "KDE overlap (mean):    teacher {:.4}, student {:.4}",
        r.teacher_test.kde_overlap.mean, r.student_test.kde_overlap.mean
    );
    if let (Some(t), Some(s)) = (&r.teacher_test.c2st, &r.student_test.c2st) {
        println!(
            "C2ST AUC vs test:      teacher {:.3}, student {:.3}",
            t.auc, s.auc
        );
    }
    let t = &r.throughput;
    println!(
        "sampling (batch {}):  teacher {:.0}/s, student {:.0}/s ({:.1}×)",
        t.batch, t.teacher_per_s, t.student_per_s, t.speedup
    );
    println!(
        "written:               {}/{{model/, run.json, report.json, history.csv}}",
        a.out.display()
    );
    Ok(())
}
