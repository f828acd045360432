//! The Trainer: early stopping restores the best weights, a non-finite loss rolls back
//! and lowers the learning rate, and an interrupted run resumes to the same result.

use crate::common::device;
use candle_core::{DType, Tensor};
use flowinfer::flow::{Flow, FlowBuilder};
use flowinfer::train::{evaluate, Batches, LrSchedule, Trainer, TrainerConfig};
use flowinfer_simulators::toy::ToyDataset;
use std::cell::Cell;

fn moons(n: usize, seed: u64) -> Tensor {
    let rows = ToyDataset::TwoMoons.generate(n, seed);
    let flat: Vec<f32> = rows.iter().flatten().map(|v| *v as f32).collect();
    Tensor::from_vec(flat, (n, 2), &device()).unwrap()
}

fn small_flow(seed: u64) -> Flow {
    let spec = FlowBuilder::realnvp(2)
        .blocks(2)
        .hidden(16)
        .build_spec()
        .unwrap();
    Flow::new(spec, DType::F32, &device(), seed).unwrap()
}

fn nll(flow: &Flow) -> impl Fn(&Tensor, Option<&Tensor>) -> flowinfer::Result<Tensor> + '_ {
    move |x, _| Ok(flow.log_prob_unchecked(x, None)?.mean_all()?.neg()?)
}

fn tmpdir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("flowinfer-trainer-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

#[test]
fn early_stopping_keeps_the_best_weights() {
    let (train, val) = (moons(400, 1), moons(200, 2));
    let flow = small_flow(0);
    // A learning rate this high makes validation loss bounce, so the last epoch is
    // rarely the best one; the returned weights must be the best epoch's anyway.
    let cfg = TrainerConfig {
        epochs: 15,
        batch_size: 64,
        lr: 2e-2,
        patience: Some(3),
        ..Default::default()
    };
    let rep = Trainer::new(cfg)
        .unwrap()
        .fit(
            flow.params(),
            Batches {
                x: &train,
                ctx: None,
            },
            Some(Batches { x: &val, ctx: None }),
            nll(&flow),
            |_| {},
        )
        .unwrap();
    let best_logged = rep
        .history
        .iter()
        .filter_map(|r| r.val_loss)
        .fold(f64::INFINITY, f64::min);
    let now = evaluate(Batches { x: &val, ctx: None }, 1024, &nll(&flow)).unwrap();
    assert!(
        (now - best_logged).abs() < 1e-5,
        "restored {now}, best logged {best_logged}"
    );
    assert_eq!(rep.best_loss, best_logged);
    if rep.stopped_early {
        assert!(rep.history.len() < 15);
        assert_eq!(rep.history.len() - 1 - rep.best_epoch, 3);
    }
}

#[test]
fn a_non_finite_loss_rolls_back_and_lowers_the_learning_rate() {
    let train = moons(256, 3);
    let flow = small_flow(1);
    let calls = Cell::new(0usize);
    let poisoned = |x: &Tensor, _: Option<&Tensor>| -> flowinfer::Result<Tensor> {
        calls.set(calls.get() + 1);
        let l = flow.log_prob_unchecked(x, None)?.mean_all()?.neg()?;
        // The 6th minibatch (in epoch 1) returns NaN once.
        Ok(if calls.get() == 6 { (l * f64::NAN)? } else { l })
    };
    let cfg = TrainerConfig {
        epochs: 3,
        batch_size: 64,
        lr: 1e-3,
        patience: None,
        ..Default::default()
    };
    let rep = Trainer::new(cfg)
        .unwrap()
        .fit(
            flow.params(),
            Batches {
                x: &train,
                ctx: None,
            },
            None,
            poisoned,
            |_| {},
        )
        .unwrap();
    assert_eq!(rep.rollbacks, 1);
    assert_eq!(rep.history[1].rollbacks, 1);
    assert!((rep.history[1].lr - 5e-4).abs() < 1e-12 && (rep.history[2].lr - 5e-4).abs() < 1e-12);
    assert!(rep.history.iter().all(|r| r.train_loss.is_finite()));
    // Always NaN: bounded retries, then a clear error.
    let always = |x: &Tensor, _: Option<&Tensor>| {
        Ok((flow.log_prob_unchecked(x, None)?.mean_all()? * f64::NAN)?)
    };
    let err = Trainer::new(TrainerConfig {
        epochs: 2,
        max_rollbacks: 2,
        ..Default::default()
    })
    .unwrap()
    .fit(
        flow.params(),
        Batches {
            x: &train,
            ctx: None,
        },
        None,
        always,
        |_| {},
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("diverged") && err.contains("epoch 0"), "{err}");
}

#[test]
fn an_interrupted_run_resumes_to_the_same_result() {
    let (train, val) = (moons(300, 4), moons(100, 5));
    let cfg = TrainerConfig {
        epochs: 6,
        batch_size: 50,
        lr: 3e-3,
        schedule: LrSchedule::Step {
            every: 2,
            gamma: 0.5,
        },
        clip_grad_norm: Some(5.0),
        patience: Some(10),
        ..Default::default()
    };
    let full_dir = tmpdir("full");
    let saved = tmpdir("interrupted");
    let flow = small_flow(7);
    let full = Trainer::new(cfg.clone())
        .unwrap()
        .with_checkpoints(&full_dir, false)
        .fit(
            flow.params(),
            Batches {
                x: &train,
                ctx: None,
            },
            Some(Batches { x: &val, ctx: None }),
            nll(&flow),
            |r| {
                if r.epoch == 2 {
                    // "Interrupt" here: keep a copy of the checkpoint as it stood after epoch 2.
                    std::fs::create_dir_all(&saved).unwrap();
                    for f in std::fs::read_dir(&full_dir).unwrap() {
                        let f = f.unwrap();
                        std::fs::copy(f.path(), saved.join(f.file_name())).unwrap();
                    }
                }
            },
        )
        .unwrap();
    let weights_full = flow.params().snapshot().unwrap();

    let fresh = small_flow(99); // different initial weights: the checkpoint must override them
    let resumed = Trainer::new(cfg.clone())
        .unwrap()
        .with_checkpoints(&saved, true)
        .fit(
            fresh.params(),
            Batches {
                x: &train,
                ctx: None,
            },
            Some(Batches { x: &val, ctx: None }),
            nll(&fresh),
            |_| {},
        )
        .unwrap();
    assert_eq!(full.history.len(), resumed.history.len());
    for (a, b) in full.history.iter().zip(&resumed.history) {
        assert_eq!(
            (a.train_loss, a.val_loss, a.lr),
            (b.train_loss, b.val_loss, b.lr),
            "epoch {}",
            a.epoch
        );
    }
    for ((n1, a), (n2, b)) in weights_full
        .iter()
        .zip(fresh.params().snapshot().unwrap().iter())
    {
        assert_eq!(n1, n2);
        let d = crate::common::max_abs_diff(a, b);
        assert_eq!(d, 0.0, "{n1} differs after resume");
    }
    // Other settings: refuse to resume.
    let other = TrainerConfig { lr: 1e-2, ..cfg };
    let err = Trainer::new(other)
        .unwrap()
        .with_checkpoints(&saved, true)
        .fit(
            fresh.params(),
            Batches {
                x: &train,
                ctx: None,
            },
            None,
            nll(&fresh),
            |_| {},
        )
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("trainer.json") && err.contains("other training settings"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&full_dir);
    let _ = std::fs::remove_dir_all(&saved);
}

#[test]
fn a_non_finite_gradient_with_a_finite_loss_is_rolled_back_too() {
    let train = moons(256, 6);
    let flow = small_flow(2);
    let calls = Cell::new(0usize);
    let vars = flow.params().all_vars();
    let poisoned = |x: &Tensor, _: Option<&Tensor>| -> flowinfer::Result<Tensor> {
        calls.set(calls.get() + 1);
        let l = flow.log_prob_unchecked(x, None)?.mean_all()?.neg()?;
        if calls.get() != 3 {
            return Ok(l);
        }
        // sqrt(|w − w|) is 0, but its gradient is infinite.
        let w = vars[0].as_tensor().sum_all()?;
        Ok((l + (&w - w.detach())?.abs()?.sqrt()?)?)
    };
    let cfg = TrainerConfig {
        epochs: 2,
        batch_size: 64,
        lr: 1e-3,
        patience: None,
        ..Default::default()
    };
    let rep = Trainer::new(cfg)
        .unwrap()
        .fit(
            flow.params(),
            Batches {
                x: &train,
                ctx: None,
            },
            None,
            poisoned,
            |_| {},
        )
        .unwrap();
    assert_eq!(rep.rollbacks, 1);
    for (name, t) in flow.params().snapshot().unwrap() {
        let s = t
            .sum_all()
            .unwrap()
            .to_dtype(DType::F64)
            .unwrap()
            .to_scalar::<f64>()
            .unwrap();
        assert!(s.is_finite(), "{name} is not finite after training");
    }
}
