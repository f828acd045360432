//! Fixed permutation of the features (reverse, random, or any given order).

use crate::error::{Error, Result};
use crate::transforms::{zero_logdet, Transform, TransformSpec};
use candle_core::{Device, Tensor};
use rand::seq::SliceRandom;
use rand::SeedableRng;

/// `z[:, j] = x[:, perm[j]]`; log-det 0.
#[derive(Debug)]
pub struct Permutation {
    perm: Vec<usize>,
    fwd: Tensor,
    inv: Tensor,
}

impl Permutation {
    /// A permutation from an explicit order (must be a permutation of `0..n`).
    pub fn new(perm: &[usize], device: &Device) -> Result<Self> {
        let n = perm.len();
        let mut inv = vec![usize::MAX; n];
        for (j, &i) in perm.iter().enumerate() {
            if i >= n || inv[i] != usize::MAX {
                return Err(Error::config(format!(
                    "permutation {perm:?} is not a permutation of 0..{n}"
                )));
            }
            inv[i] = j;
        }
        let t = |v: &[usize]| -> Result<Tensor> {
            let u: Vec<u32> = v.iter().map(|&i| i as u32).collect();
            Ok(Tensor::new(u.as_slice(), device)?)
        };
        Ok(Self {
            perm: perm.to_vec(),
            fwd: t(perm)?,
            inv: t(&inv)?,
        })
    }

    /// The order `n-1, ..., 0`.
    pub fn reverse_order(n: usize) -> Vec<usize> {
        (0..n).rev().collect()
    }

    /// A uniformly random order drawn from `seed`.
    pub fn random_order(n: usize, seed: u64) -> Vec<usize> {
        let mut v: Vec<usize> = (0..n).collect();
        v.shuffle(&mut rand::rngs::StdRng::seed_from_u64(seed));
        v
    }
}

impl Transform for Permutation {
    fn dim(&self) -> usize {
        self.perm.len()
    }
    fn forward(&self, x: &Tensor, ctx: Option<&Tensor>) -> Result<(Tensor, Tensor)> {
        crate::checks::expect_context(ctx, 0, x.dim(0)?, "permutation")?;
        Ok((x.index_select(&self.fwd, 1)?, zero_logdet(x)?))
    }
    fn inverse(&self, z: &Tensor, ctx: Option<&Tensor>) -> Result<(Tensor, Tensor)> {
        crate::checks::expect_context(ctx, 0, z.dim(0)?, "permutation")?;
        Ok((z.index_select(&self.inv, 1)?, zero_logdet(z)?))
    }
    fn spec(&self) -> TransformSpec {
        TransformSpec::Permutation {
            perm: self.perm.clone(),
        }
    }
}
