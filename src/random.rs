//! Seeded noise for sampling. candle's CPU generator cannot be seeded, so noise is drawn
//! on the host from a seeded generator and moved to the device once per call.

use crate::error::Result;
use candle_core::{DType, Device, Tensor};
use rand::{Rng, RngCore};
use rand_distr::{Distribution, StandardNormal};

/// A `(rows, cols)` tensor of independent standard normal draws.
pub fn randn(
    rows: usize,
    cols: usize,
    dtype: DType,
    device: &Device,
    rng: &mut dyn RngCore,
) -> Result<Tensor> {
    let n = rows * cols;
    let t = match dtype {
        DType::F64 => {
            let v: Vec<f64> = (0..n).map(|_| StandardNormal.sample(rng)).collect();
            Tensor::from_vec(v, (rows, cols), device)?
        }
        _ => {
            let v: Vec<f32> = (0..n).map(|_| StandardNormal.sample(rng)).collect();
            Tensor::from_vec(v, (rows, cols), device)?.to_dtype(dtype)?
        }
    };
    Ok(t)
}

/// A `(rows, cols)` tensor of independent uniform draws on `[0, 1)`.
pub fn rand_uniform(
    rows: usize,
    cols: usize,
    dtype: DType,
    device: &Device,
    rng: &mut dyn RngCore,
) -> Result<Tensor> {
    let n = rows * cols;
    let t = match dtype {
        DType::F64 => {
            let v: Vec<f64> = (0..n).map(|_| rng.random::<f64>()).collect();
            Tensor::from_vec(v, (rows, cols), device)?
        }
        _ => {
            let v: Vec<f32> = (0..n).map(|_| rng.random::<f32>()).collect();
            Tensor::from_vec(v, (rows, cols), device)?.to_dtype(dtype)?
        }
    };
    Ok(t)
}
