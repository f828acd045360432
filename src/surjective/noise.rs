//! Seeded randomness for the stochastic directions of surjective layers: a layer's
//! seed mixed with a hash of the input batch, so a batch always meets the same draws
//! (reproducible `log_prob`, bit-identical after a reload) while different batches,
//! and the rows of one batch, meet different ones.

use crate::error::Result;
use candle_core::{DType, Tensor};
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, StandardNormal};

/// A seeded stream keyed by the input batch.
///
/// ```
/// use flowinfer::surjective::noise::Noise;
/// use candle_core::{Device, Tensor};
/// let x = Tensor::new(&[[1.0f64, 2.0], [3.0, 4.0]], &Device::Cpu)?;
/// let n = Noise::new(7);
/// let a = n.uniform(&x, 0, 3)?.to_vec2::<f64>()?;
/// assert_eq!(a, n.uniform(&x, 0, 3)?.to_vec2::<f64>()?); // same batch, same draws
/// assert_ne!(a[0], a[1]); // rows differ
/// # Ok::<(), flowinfer::Error>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Noise {
    seed: u64,
}

impl Noise {
    /// A stream drawn from `seed`.
    pub fn new(seed: u64) -> Self {
        Self { seed }
    }

    /// The seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// A generator for `input` (hashed bit by bit) and a `salt` that separates the
    /// streams of one layer.
    pub fn rng(&self, input: &Tensor, salt: u64) -> Result<rand::rngs::StdRng> {
        let v = input
            .to_dtype(DType::F64)?
            .flatten_all()?
            .to_vec1::<f64>()?;
        let mut h = self.seed ^ salt.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        h = mix(h ^ v.len() as u64);
        for x in v {
            h = mix(h ^ x.to_bits());
        }
        Ok(rand::rngs::StdRng::seed_from_u64(h))
    }

    /// `(batch, k)` uniforms in `[0, 1)` in the dtype and on the device of `input`.
    pub fn uniform(&self, input: &Tensor, salt: u64, k: usize) -> Result<Tensor> {
        let b = input.dim(0)?;
        let mut rng = self.rng(input, salt)?;
        let u: Vec<f64> = (0..b * k).map(|_| rng.random::<f64>()).collect();
        to_tensor(u, b, k, input)
    }

    /// `(batch, k)` standard normal draws in the dtype and on the device of `input`.
    pub fn normal(&self, input: &Tensor, salt: u64, k: usize) -> Result<Tensor> {
        let b = input.dim(0)?;
        let mut rng = self.rng(input, salt)?;
        let u: Vec<f64> = (0..b * k)
            .map(|_| StandardNormal.sample(&mut rng))
            .collect();
        to_tensor(u, b, k, input)
    }
}

fn to_tensor(v: Vec<f64>, b: usize, k: usize, like: &Tensor) -> Result<Tensor> {
    Ok(Tensor::from_vec(v, (b, k), like.device())?.to_dtype(like.dtype())?)
}

/// SplitMix64 finaliser.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}
