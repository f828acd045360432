//! Variational against uniform dequantization on integer data (docs/SURJECTIVE.md):
//! integers `k = ⌊y⌋`, `y ~ N(0, 0.7²)`, under a fixed continuous model `N(0, 0.7²)`
//! (a standardisation over a standard normal base), so `P(k) = Φ((k + 1)/0.7) − Φ(k/0.7)`
//! exactly. Only `q(u | x)` of the variational layer is trained (`fit_nll`, 40 epochs);
//! the uniform layer has nothing to train. Prints, for K = 1, 4, 16, 64, 256, the mean
//! over rows of `log P(k) − log_prob_iw(K)` (nats) for both.
//!
//! Run: `cargo run --example variational_dequantization` (dev profile).

use candle_core::{DType, Device, Tensor};
use flowinfer::distributions::BaseSpec;
use flowinfer::flow::{Flow, FlowSpec};
use flowinfer::train::TrainerConfig;
use flowinfer::transforms::TransformSpec;
use rand::SeedableRng;
use rand_distr::{Distribution, Normal};
use statrs::distribution::ContinuousCDF;

const KS: [usize; 5] = [1, 4, 16, 64, 256];
const SD: f64 = 0.7;

fn model(deq: TransformSpec) -> flowinfer::Result<Flow> {
    let spec = FlowSpec {
        dim: 1,
        context_dim: 0,
        embedding: None,
        base: BaseSpec::StandardNormal { dim: 1 },
        transforms: vec![
            deq,
            TransformSpec::Standardize {
                mean: vec![0.0],
                std: vec![SD],
            },
        ],
    };
    Flow::new(spec, DType::F64, &Device::Cpu, 0)
}

fn gaps(f: &Flow, x: &Tensor, exact: &[f64]) -> flowinfer::Result<Vec<f64>> {
    KS.iter()
        .map(|&k| {
            let lp = f.log_prob_iw(x, None, k)?.to_vec1::<f64>()?;
            let s: f64 = exact.iter().zip(&lp).map(|(e, l)| e - l).sum();
            Ok(s / lp.len() as f64)
        })
        .collect()
}

fn main() -> flowinfer::Result<()> {
    let n = 20_000;
    let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    let nd = Normal::new(0.0, SD).expect("valid normal");
    let ks: Vec<f64> = (0..n).map(|_| nd.sample(&mut rng).floor()).collect();
    let cdf = statrs::distribution::Normal::new(0.0, SD).expect("valid normal");
    let exact: Vec<f64> = ks
        .iter()
        .map(|&k| (cdf.cdf(k + 1.0) - cdf.cdf(k)).ln())
        .collect();
    let x = Tensor::from_vec(ks, (n, 1), &Device::Cpu)?;
    let uniform = model(TransformSpec::UniformDequantize { dim: 1, seed: 2 })?;
    let variational = model(TransformSpec::VariationalDequantize {
        dim: 1,
        hidden: 16,
        depth: 1,
        seed: 2,
    })?;
    let before = gaps(&variational, &x, &exact)?;
    let cfg = TrainerConfig {
        epochs: 40,
        batch_size: 500,
        lr: 0.01,
        patience: None,
        seed: 1,
        ..Default::default()
    };
    flowinfer::train::fit_nll(&variational, &x, None, &cfg)?;
    let gu = gaps(&uniform, &x, &exact)?;
    let gv = gaps(&variational, &x, &exact)?;
    println!("mean of log P(k) - log_prob_iw(K) over {n} rows (nats)");
    println!("| K | uniform | variational (untrained) | variational (trained) |");
    println!("|---:|---:|---:|---:|");
    for (i, k) in KS.iter().enumerate() {
        println!("| {k} | {:.4} | {:.4} | {:.4} |", gu[i], before[i], gv[i]);
    }
    Ok(())
}
