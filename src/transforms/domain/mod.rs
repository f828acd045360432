//! Column domains as a layer of the flow: [`Domain`] maps each column from its
//! physical domain (positive, an interval, a period, the integers) to the real line
//! with a fixed [`DomainMap`], so a flow built on it samples only inside the domains
//! and its `log_prob` is the density in the original units (log-det included).
//! Put it first in a flow (before the standardisation); `pipeline::prepare` does so
//! for the `[data] domains` of a fit spec.

pub mod map;

pub use map::DomainMap;

use crate::error::{Error, Result};
use crate::transforms::{Transform, TransformSpec};
use candle_core::{DType, Tensor};
use rand::{Rng, SeedableRng};

/// Per-column maps to the real line (data → latent); nothing is trained.
///
/// ```
/// use flowinfer::transforms::{domain::{Domain, DomainMap}, Transform};
/// use candle_core::{Device, Tensor};
/// let d = Domain::new(
///     vec![DomainMap::Log, DomainMap::Circle { low: 0.0, high: 360.0, cut: 90.0 }],
///     0,
/// )?;
/// let x = Tensor::new(&[[2.0f64, 350.0], [0.5, 10.0]], &Device::Cpu)?;
/// let (z, logdet) = d.forward(&x, None)?;
/// let (back, _) = d.inverse(&z, None)?;
/// assert!((back.to_vec2::<f64>()?[0][1] - 350.0).abs() < 1e-9);
/// assert_eq!(logdet.dims(), &[2]);
/// # Ok::<(), flowinfer::Error>(())
/// ```
#[derive(Debug)]
pub struct Domain {
    maps: Vec<DomainMap>,
    seed: u64,
}

impl Domain {
    /// A layer of `maps` (one per column); `seed` draws the dequantisation offsets of
    /// integer columns (the same offsets at every call with the same batch size, so
    /// densities are reproducible; training reshuffles its batches every epoch, so each
    /// event meets fresh offsets).
    pub fn new(maps: Vec<DomainMap>, seed: u64) -> Result<Self> {
        if maps.is_empty() {
            return Err(Error::config("domain layer: no columns"));
        }
        for (j, m) in maps.iter().enumerate() {
            let bad = match m {
                DomainMap::Logit { low, high } => {
                    !(low.is_finite() && high.is_finite() && low < high)
                }
                DomainMap::Circle { low, high, cut } => {
                    !(low.is_finite()
                        && high.is_finite()
                        && low < high
                        && (low..high).contains(&cut))
                }
                _ => false,
            };
            if bad {
                return Err(Error::config(format!(
                    "domain layer: column {j} has {m:?}; expected finite low < high (and low ≤ cut < high)"
                )));
            }
        }
        Ok(Self { maps, seed })
    }

    /// The maps, one per column.
    pub fn maps(&self) -> &[DomainMap] {
        &self.maps
    }

    /// `(batch, 1)` uniform offsets in `[0, 1)` for column `j`.
    fn noise(&self, j: usize, like: &Tensor) -> Result<Tensor> {
        let b = like.dim(0)?;
        let mut rng = rand::rngs::StdRng::seed_from_u64(
            self.seed ^ (j as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15),
        );
        let u: Vec<f64> = (0..b).map(|_| rng.random::<f64>()).collect();
        Ok(Tensor::from_vec(u, (b, 1), like.device())?.to_dtype(like.dtype())?)
    }

    fn apply(&self, x: &Tensor, inverse: bool) -> Result<(Tensor, Tensor)> {
        let (b, d) = x.dims2()?;
        if d != self.maps.len() {
            return Err(Error::Shape {
                what: "domain layer input".into(),
                expected: format!("(batch, {})", self.maps.len()),
                got: x.dims().to_vec(),
            });
        }
        let mut cols = Vec::with_capacity(d);
        let mut ld = Tensor::zeros(b, x.dtype(), x.device())?;
        for (j, m) in self.maps.iter().enumerate() {
            let c = x.narrow(1, j, 1)?;
            if m.is_identity() {
                cols.push(c);
                continue;
            }
            let (y, l) = if inverse {
                m.inverse(&c)?
            } else {
                let noise = match m {
                    DomainMap::Dequantize => Some(self.noise(j, &c)?),
                    _ => None,
                };
                m.forward(&c, noise.as_ref())?
            };
            cols.push(y);
            ld = (ld + l)?;
        }
        Ok((Tensor::cat(&cols, 1)?, ld))
    }
}

impl Transform for Domain {
    fn dim(&self) -> usize {
        self.maps.len()
    }
    fn forward(&self, x: &Tensor, ctx: Option<&Tensor>) -> Result<(Tensor, Tensor)> {
        crate::checks::expect_context(ctx, 0, x.dim(0)?, "domain layer")?;
        self.apply(x, false)
    }
    fn inverse(&self, z: &Tensor, ctx: Option<&Tensor>) -> Result<(Tensor, Tensor)> {
        crate::checks::expect_context(ctx, 0, z.dim(0)?, "domain layer")?;
        self.apply(z, true)
    }
    fn spec(&self) -> TransformSpec {
        TransformSpec::Domain {
            maps: self.maps.clone(),
            seed: self.seed,
        }
    }
}

/// Map the rows of `x` (f64, on the host) to the latent side of `maps` (used to fit the
/// standardisation that follows the layer).
pub fn forward_rows(maps: &[DomainMap], seed: u64, rows: &[Vec<f64>]) -> Result<Vec<Vec<f64>>> {
    let d = maps.len();
    let layer = Domain::new(maps.to_vec(), seed)?;
    let flat: Vec<f64> = rows.iter().flatten().copied().collect();
    let x = Tensor::from_vec(flat, (rows.len(), d), &candle_core::Device::Cpu)?;
    Ok(layer
        .apply(&x, false)?
        .0
        .to_dtype(DType::F64)?
        .to_vec2::<f64>()?)
}
