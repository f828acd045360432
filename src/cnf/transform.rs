//! The CNF as a [`Transform`]: `forward` integrates data (`t = 1`) → latent (`t = 0`),
//! `inverse` latent → data, each with the log-determinant `∫ div v dt` integrated along.
//! The solver comes from the spec: RK4 (differentiable) or Dopri5 (adaptive, no
//! gradients). Solve statistics accumulate in the layer ([`Cnf::stats`]).

use crate::checks::{expect_context, expect_matrix};
use crate::cnf::divergence::Probes;
use crate::cnf::rk4::rk4_solve;
use crate::cnf::solve::{dopri5_solve, Dopri5Settings, SolveStats};
use crate::cnf::spec::{CnfSpec, SolverSpec};
use crate::cnf::velocity::VelocityField;
use crate::error::Result;
use crate::params::Params;
use crate::transforms::{Transform, TransformSpec};
use candle_core::Tensor;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// Rows per adaptive solve (larger batches are split; bounds memory and the dilution of
/// one row's error in the batch-wide error norm).
pub const MAX_SOLVE_ROWS: usize = 16_384;

/// A continuous normalizing flow layer.
#[derive(Debug)]
pub struct Cnf {
    spec: CnfSpec,
    field: VelocityField,
    context_dim: usize,
    solves: AtomicU64,
    stats: Mutex<SolveStats>,
}

impl Cnf {
    /// Build (or share, when `params` already holds the weights) the layer.
    pub fn new(params: &Params, spec: &CnfSpec, context_dim: usize) -> Result<Self> {
        spec.validate()?;
        Ok(Self {
            spec: spec.clone(),
            field: VelocityField::new(params, spec, context_dim)?,
            context_dim,
            solves: AtomicU64::new(0),
            stats: Mutex::new(SolveStats::default()),
        })
    }

    /// The velocity field.
    pub fn field(&self) -> &VelocityField {
        &self.field
    }

    /// The layer's description.
    pub fn cnf_spec(&self) -> &CnfSpec {
        &self.spec
    }

    /// Adaptive-solver statistics accumulated since the last [`Cnf::take_stats`]
    /// (RK4 solves count `4·steps` evaluations and `steps` accepted steps).
    pub fn stats(&self) -> SolveStats {
        *self.stats.lock().expect("stats poisoned")
    }

    /// Return and reset the statistics.
    pub fn take_stats(&self) -> SolveStats {
        std::mem::take(&mut *self.stats.lock().expect("stats poisoned"))
    }

    /// Integrate `x` from `t0` to `t1` with the spec's solver: `(z(t1), ∫ div v dt)`.
    pub fn integrate(
        &self,
        x: &Tensor,
        ctx: Option<&Tensor>,
        t0: f64,
        t1: f64,
    ) -> Result<(Tensor, Tensor)> {
        let b = expect_matrix(x, self.spec.dim, "cnf input")?;
        expect_context(ctx, self.context_dim, b, "cnf")?;
        let ctx = if self.context_dim > 0 { ctx } else { None };
        let seed = self.solves.fetch_add(1, Ordering::Relaxed);
        let probes = |rows: usize| {
            Probes::for_spec(
                &self.spec.divergence,
                rows,
                self.spec.dim,
                seed.wrapping_mul(0x9E37_79B9_7F4A_7C15),
                x.dtype(),
                x.device(),
            )
        };
        match self.spec.solver {
            SolverSpec::Rk4 { steps } => {
                let out = rk4_solve(&self.field, x, ctx, t0, t1, steps, &probes(b)?)?;
                let mut s = self.stats.lock().expect("stats poisoned");
                s.add(&SolveStats {
                    evaluations: 4 * steps as u64,
                    accepted_steps: steps as u64,
                    rejected_steps: 0,
                });
                Ok(out)
            }
            SolverSpec::Dopri5 {
                rtol,
                atol,
                max_steps,
            } => {
                let settings = Dopri5Settings {
                    rtol,
                    atol,
                    max_steps,
                };
                let (mut zs, mut ls) = (Vec::new(), Vec::new());
                let mut start = 0;
                while start < b {
                    let len = MAX_SOLVE_ROWS.min(b - start);
                    let xc = x.narrow(0, start, len)?.detach();
                    let cc = ctx.map(|c| c.narrow(0, start, len)).transpose()?;
                    let p = probes(len)?;
                    let (z, l, st) =
                        dopri5_solve(&self.field, &xc, cc.as_ref(), t0, t1, &settings, Some(&p))?;
                    self.stats.lock().expect("stats poisoned").add(&st);
                    zs.push(z);
                    ls.push(l);
                    start += len;
                }
                Ok((Tensor::cat(&zs, 0)?, Tensor::cat(&ls, 0)?))
            }
        }
    }
}

impl Transform for Cnf {
    fn dim(&self) -> usize {
        self.spec.dim
    }
    fn context_dim(&self) -> usize {
        self.context_dim
    }
    fn forward(&self, x: &Tensor, ctx: Option<&Tensor>) -> Result<(Tensor, Tensor)> {
        self.integrate(x, ctx, 1.0, 0.0)
    }
    fn inverse(&self, z: &Tensor, ctx: Option<&Tensor>) -> Result<(Tensor, Tensor)> {
        self.integrate(z, ctx, 0.0, 1.0)
    }
    fn spec(&self) -> TransformSpec {
        TransformSpec::Cnf(self.spec.clone())
    }
}
