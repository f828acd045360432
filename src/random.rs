//! Seeded noise for sampling. candle's CPU generator cannot be seeded, so noise is drawn
//! on the host from a seeded generator and moved to the device once per call.

use crate::error::Result;
use candle_core::{DType, Device, Tensor};
use rand::{Rng, RngCore};
use rand_distr::StandardNormal;

/// A `(rows, cols)` tensor of independent standard normal draws.
pub fn randn(
    rows: usize,
    cols: usize,
    dtype: DType,
    device: &Device,
    rng: &mut dyn RngCore,
) -> Result<Tensor> {
    draw(
        rows,
        cols,
        dtype,
        device,
        rng,
        |r| r.sample(StandardNormal),
        |r| r.sample(StandardNormal),
    )
}

/// A `(rows, cols)` tensor of independent uniform draws on `[0, 1)`.
pub fn rand_uniform(
    rows: usize,
    cols: usize,
    dtype: DType,
    device: &Device,
    rng: &mut dyn RngCore,
) -> Result<Tensor> {
    draw(
        rows,
        cols,
        dtype,
        device,
        rng,
        |r| r.random(),
        |r| r.random(),
    )
}

#[allow(clippy::too_many_arguments)]
/// Build the tensor from f64 draws (f64 models) or f32 draws (everything else).
fn draw(
    rows: usize,
    cols: usize,
    dtype: DType,
    device: &Device,
    rng: &mut dyn RngCore,
    f64s: fn(&mut dyn RngCore) -> f64,
    f32s: fn(&mut dyn RngCore) -> f32,
) -> Result<Tensor> {
    let n = rows * cols;
    Ok(match dtype {
        DType::F64 => {
            let v: Vec<f64> = (0..n).map(|_| f64s(rng)).collect();
            Tensor::from_vec(v, (rows, cols), device)?
        }
        _ => {
            let v: Vec<f32> = (0..n).map(|_| f32s(rng)).collect();
            Tensor::from_vec(v, (rows, cols), device)?.to_dtype(dtype)?
        }
    })
}
