//! The jobs users run, timed like the flow-core configurations (`--configs npe,integ`;
//! PyTorch side: `scripts/pytorch_jobs_bench.py`, same models):
//!
//! - `npe`: the flow `flowinfer sbi` trains by default (NPE: `SbiConfig::default().flow`,
//!   a standardisation then 5 blocks of reverse + RQ-spline coupling, K = 8, B = 4,
//!   hidden 64, zero-initialised outputs) for a 2-D parameter given a 2-D observation
//!   (two_moons' shapes). Step: batch 128 of (θ, x), loss −mean log q(θ | x), Adam lr 5e-4
//!   with gradient-norm clipping at 5 (the NPE training defaults). `log_prob` at 10k
//!   (θ, x) pairs; `sample` of 10k θ for one observation.
//! - `integ`: the 8-D unit-hypercube flow of `flowinfer integrate` with its defaults
//!   (`UnitFlowConfig::default()`: 6 unit-interval spline couplings, K = 8, hidden 64).
//!   Step as integrate's online KL step: 4,096 draws without gradient, weights
//!   a = (f/q)/mean(f/q) for a Gaussian peak f, loss −mean(a · log q(x)), Adam lr 2e-2
//!   with clipping at 10. `log_prob` and `sample` at 10k.

use crate::{Timing, EVAL_BATCH};
use candle_core::{DType, Device, Tensor};
use flowinfer::flow::{Flow, FlowBuilder};
use flowinfer::integrate::{UnitFlow, UnitFlowConfig};
use flowinfer::train::{Adam, AdamConfig};
use rand::SeedableRng;

/// Parameter, observation and training-batch sizes of the NPE job.
const NPE_DIM: usize = 2;
const NPE_CTX: usize = 2;
const NPE_BATCH: usize = 128;
/// Dimension and training batch of the integration job.
const INTEG_DIM: usize = 8;
const INTEG_BATCH: usize = 4096;

/// `(params, train steps/s, log_prob calls/s, sample calls/s)` of job `name`, each the
/// `(median, min, max)` of `rate`; `None` for a name that is not a job.
pub type Rates = (usize, (f64, f64, f64), (f64, f64, f64), (f64, f64, f64));

/// Time job `name` (`npe` or `integ`).
pub fn run(name: &str, timing: &Timing, device: &Device) -> flowinfer::Result<Option<Rates>> {
    match name {
        "npe" => npe(timing, device).map(Some),
        "integ" => integ(timing, device).map(Some),
        _ => Ok(None),
    }
}

fn npe(timing: &Timing, device: &Device) -> flowinfer::Result<Rates> {
    let sbi = flowinfer::sbi::spec::SbiConfig::default();
    let mut b = FlowBuilder::new(NPE_DIM, sbi.flow.clone()).context(NPE_CTX);
    b.standardize = Some((vec![0.1, -0.2], vec![0.8, 1.3]));
    let flow = Flow::new(b.build_spec()?, DType::F32, device, 0)?;
    let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    let mut randn = |rows, cols| flowinfer::random::randn(rows, cols, DType::F32, device, &mut rng);
    let pool: Vec<(Tensor, Tensor)> = (0..32)
        .map(|_| Ok((randn(NPE_BATCH, NPE_DIM)?, randn(NPE_BATCH, NPE_CTX)?)))
        .collect::<flowinfer::Result<_>>()?;
    let (the, xe, x0) = (
        randn(EVAL_BATCH, NPE_DIM)?,
        randn(EVAL_BATCH, NPE_CTX)?,
        randn(1, NPE_CTX)?,
    );
    let mut opt = Adam::new(
        flow.params().all_vars(),
        AdamConfig {
            lr: sbi.train.lr,
            ..Default::default()
        },
    )?;
    let clip = sbi.train.clip_grad_norm;
    let mut it = 0usize;
    let train = timing.rate("train", || {
        let (th, x) = &pool[it % pool.len()];
        it += 1;
        let loss = flow
            .log_prob_unchecked(th, Some(x))
            .unwrap()
            .mean_all()
            .unwrap()
            .neg()
            .unwrap();
        opt.backward_step(&loss, clip).unwrap();
    });
    let lp = timing.rate("logprob", || {
        drop(flow.log_prob_unchecked(&the, Some(&xe)).unwrap())
    });
    let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    let smp = timing.rate("sample", || {
        drop(flow.sample(EVAL_BATCH, Some(&x0), &mut rng).unwrap())
    });
    Ok((flow.params().num_parameters(), train, lp, smp))
}

/// `f(x) = exp(−|x − ½|² / (2 · 0.1²))`, a peak in the middle of the cube.
fn peak(x: &Tensor) -> flowinfer::Result<Tensor> {
    Ok((x.affine(1.0, -0.5)?.sqr()?.sum(1)? * (-50.0))?.exp()?)
}

fn integ(timing: &Timing, device: &Device) -> flowinfer::Result<Rates> {
    let cfg = UnitFlowConfig::default();
    let flow = UnitFlow::new(INTEG_DIM, &cfg, DType::F32, device, 0)?;
    let mut opt = Adam::new(
        flow.flow().params().all_vars(),
        AdamConfig {
            lr: 2e-2,
            ..Default::default()
        },
    )?;
    let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    let train = timing.rate("train", || {
        let (x, lq) = flow.sample(INTEG_BATCH, &mut rng).unwrap();
        let w = (peak(&x).unwrap() / lq.exp().unwrap()).unwrap();
        let a = w.broadcast_div(&w.mean_all().unwrap()).unwrap();
        let loss = (a * flow.log_prob(&x).unwrap())
            .unwrap()
            .mean_all()
            .unwrap()
            .neg()
            .unwrap();
        opt.backward_step(&loss, Some(10.0)).unwrap();
    });
    let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    let xe = flowinfer::random::rand_uniform(EVAL_BATCH, INTEG_DIM, DType::F32, device, &mut rng)?;
    let lp = timing.rate("logprob", || drop(flow.log_prob(&xe).unwrap()));
    let smp = timing.rate("sample", || {
        drop(flow.sample(EVAL_BATCH, &mut rng).unwrap())
    });
    Ok((flow.flow().params().num_parameters(), train, lp, smp))
}
