//! A tiny maximum-likelihood loop provably fits a 2-D toy set: its test NLL is
//! clearly below that of the best-fitting Gaussian.

use crate::common::device;
use candle_core::{DType, Tensor};
use flowinfer::flow::{Flow, FlowBuilder};
use flowinfer::metrics::gaussian_baseline_nll;
use flowinfer::train::{fit_nll, mean_nll, TrainerConfig};
use flowinfer_simulators::toy::ToyDataset;

fn tensor(rows: &[Vec<f64>]) -> Tensor {
    let flat: Vec<f32> = rows.iter().flatten().map(|v| *v as f32).collect();
    Tensor::from_vec(flat, (rows.len(), 2), &device()).unwrap()
}

#[test]
fn adam_on_nll_beats_the_best_gaussian_on_two_moons() {
    let data: ToyDataset = "two-moons".parse().unwrap();
    let rows: Vec<Vec<f64>> = data
        .generate(3000, 1)
        .into_iter()
        .map(|p| p.to_vec())
        .collect();
    let (train, test) = rows.split_at(2400);
    let spec = FlowBuilder::nsf(2)
        .blocks(3)
        .hidden(32)
        .seed(1)
        .build_spec()
        .unwrap();
    let flow = Flow::new(spec, DType::F32, &device(), 1).unwrap();
    let (xt, xs) = (tensor(train), tensor(test));
    let before = mean_nll(&flow, &xs, None, 4096).unwrap();
    let cfg = TrainerConfig {
        epochs: 25,
        batch_size: 128,
        lr: 3e-3,
        patience: None,
        seed: 1,
        ..Default::default()
    };
    let hist = fit_nll(&flow, &xt, None, &cfg).unwrap();
    let after = mean_nll(&flow, &xs, None, 4096).unwrap();
    let gauss = gaussian_baseline_nll(train, test).unwrap();
    eprintln!(
        "two moons: NLL before {before:.3}, after {after:.3}, Gaussian {gauss:.3}; train {:?}",
        hist.train_nll.last()
    );
    assert!(
        after < gauss - 0.3,
        "flow test NLL {after:.3} not clearly below Gaussian {gauss:.3}"
    );
    assert!(hist.train_nll.last().unwrap() < &hist.train_nll[0]);
}
