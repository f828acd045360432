//! Activation normalisation (Glow): a per-feature affine map whose parameters are
//! initialised from the first data batch so that its output has zero mean and unit
//! variance, then trained.

use crate::error::Result;
use crate::params::{Init, Params};
use crate::transforms::{Transform, TransformSpec};
use candle_core::Tensor;
use std::sync::atomic::{AtomicBool, Ordering};

/// `z = (x − loc)·exp(−log_scale)`, log-det `−Σ log_scale`.
#[derive(Debug)]
pub struct ActNorm {
    dim: usize,
    params: Params,
    loc: Tensor,
    log_scale: Tensor,
    initialized: AtomicBool,
}

impl ActNorm {
    /// A layer over `dim` features; `initialized` = its parameters already hold trained
    /// or data-initialised values (set when loading a saved model).
    pub fn new(params: &Params, dim: usize, initialized: bool) -> Result<Self> {
        Ok(Self {
            dim,
            params: params.clone(),
            loc: params.get("loc", dim, Init::Zeros)?,
            log_scale: params.get("log_scale", dim, Init::Zeros)?,
            initialized: AtomicBool::new(initialized),
        })
    }

    /// Whether the data-dependent initialisation has happened.
    pub fn is_initialized(&self) -> bool {
        self.initialized.load(Ordering::SeqCst)
    }

    fn logdet(&self, batch: usize) -> Result<Tensor> {
        Ok(self
            .log_scale
            .sum_all()?
            .neg()?
            .broadcast_as(batch)?
            .contiguous()?)
    }
}

impl Transform for ActNorm {
    fn dim(&self) -> usize {
        self.dim
    }
    fn forward(&self, x: &Tensor, ctx: Option<&Tensor>) -> Result<(Tensor, Tensor)> {
        crate::checks::expect_context(ctx, 0, x.dim(0)?, "ActNorm layer")?;
        let z = x
            .broadcast_sub(&self.loc)?
            .broadcast_mul(&self.log_scale.neg()?.exp()?)?;
        Ok((z, self.logdet(x.dim(0)?)?))
    }
    fn inverse(&self, z: &Tensor, ctx: Option<&Tensor>) -> Result<(Tensor, Tensor)> {
        crate::checks::expect_context(ctx, 0, z.dim(0)?, "ActNorm layer")?;
        let x = z
            .broadcast_mul(&self.log_scale.exp()?)?
            .broadcast_add(&self.loc)?;
        Ok((x, self.logdet(z.dim(0)?)?.neg()?))
    }
    fn spec(&self) -> TransformSpec {
        TransformSpec::ActNorm {
            dim: self.dim,
            initialized: self.is_initialized(),
        }
    }
    fn initialize_from_data(&self, x: &Tensor, _ctx: Option<&Tensor>) -> Result<()> {
        if self.is_initialized() || x.dim(0)? < 2 {
            return Ok(());
        }
        let x = x.detach();
        let mean = x.mean(0)?;
        let var = x.broadcast_sub(&mean)?.sqr()?.mean(0)?;
        let log_std = (var + 1e-6)?.sqrt()?.log()?;
        self.params.set("loc", &mean)?;
        self.params.set("log_scale", &log_std)?;
        self.initialized.store(true, Ordering::SeqCst);
        Ok(())
    }
}
