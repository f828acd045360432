//! Adaptive Dormand–Prince 5(4) integration (`ode_solvers::Dopri5`) of a CNF for
//! evaluation and sampling. The whole batch is one ODE state (`batch·dim` coordinates
//! followed by `batch` log-determinant accumulators), so every solver stage is one
//! batched evaluation of the network. Time may run either way: the solver is used with
//! sparse output (its dense-output mode compares `|t|` and does not work backwards).
//!
//! The error norm is the solver's: the RMS over all coordinates of the batch (as in
//! torchdiffeq), so one row's local error may exceed the tolerance by up to
//! `√(batch·(dim+1))`; `max_batch` bounds the rows per solve.

use crate::cnf::divergence::{velocity_and_divergence, Probes};
use crate::cnf::velocity::{time_column, VelocityField};
use crate::error::{Error, Result};
use candle_core::{DType, Device, Tensor};
use ode_solvers::dop_shared::{IntegrationError, System};
use ode_solvers::{DVector, Dopri5, OutputType};
use serde::{Deserialize, Serialize};
use std::cell::{Cell, RefCell};

/// Settings of an adaptive solve.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Dopri5Settings {
    /// Relative tolerance.
    pub rtol: f64,
    /// Absolute tolerance.
    pub atol: f64,
    /// Step limit (the solve fails with an error beyond it).
    pub max_steps: u32,
}

/// What a solve cost.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SolveStats {
    /// Batched evaluations of the velocity field (each covers the whole batch).
    pub evaluations: u64,
    /// Accepted steps.
    pub accepted_steps: u64,
    /// Rejected steps.
    pub rejected_steps: u64,
}

impl SolveStats {
    /// Add another solve's counts.
    pub fn add(&mut self, o: &SolveStats) {
        self.evaluations += o.evaluations;
        self.accepted_steps += o.accepted_steps;
        self.rejected_steps += o.rejected_steps;
    }
}

struct CnfSystem<'a> {
    field: &'a VelocityField,
    ctx: Option<&'a Tensor>,
    probes: Option<&'a Probes>,
    batch: usize,
    dim: usize,
    dtype: DType,
    dev: Device,
    failure: &'a RefCell<Option<String>>,
    evals: &'a Cell<u64>,
}

impl CnfSystem<'_> {
    fn eval(&self, t: f64, y: &DVector<f64>) -> Result<Vec<f64>> {
        let (b, d) = (self.batch, self.dim);
        let z =
            Tensor::from_slice(&y.as_slice()[..b * d], (b, d), &self.dev)?.to_dtype(self.dtype)?;
        let tt = time_column(t, b, self.dtype, &self.dev)?;
        let mut out = Vec::with_capacity(y.len());
        match self.probes {
            Some(p) => {
                let (v, div) = velocity_and_divergence(self.field, &z, &tt, self.ctx, p)?;
                out.extend(v.to_dtype(DType::F64)?.flatten_all()?.to_vec1::<f64>()?);
                out.extend(div.to_dtype(DType::F64)?.to_vec1::<f64>()?);
            }
            None => {
                let v = self.field.forward(&z, &tt, self.ctx)?;
                out.extend(v.to_dtype(DType::F64)?.flatten_all()?.to_vec1::<f64>()?);
            }
        }
        if let Some(i) = out.iter().position(|v| !v.is_finite()) {
            let what = if i < b * d {
                format!("velocity of row {} at t = {t}", i / d)
            } else {
                format!("divergence of row {} at t = {t}", i - b * d)
            };
            return Err(Error::config(format!(
                "cnf solve: non-finite {what} (the field blows up; lower the learning rate or check the inputs)"
            )));
        }
        Ok(out)
    }
}

impl System<f64, DVector<f64>> for CnfSystem<'_> {
    fn system(&self, t: f64, y: &DVector<f64>, dy: &mut DVector<f64>) {
        self.evals.set(self.evals.get() + 1);
        if self.failure.borrow().is_some() {
            dy.fill(f64::NAN);
            return;
        }
        match self.eval(t, y) {
            Ok(v) => dy.copy_from_slice(&v),
            Err(e) => {
                *self.failure.borrow_mut() = Some(e.to_string());
                // NaN makes the step fail; `solout` / the step-size underflow end the solve.
                dy.fill(f64::NAN);
            }
        }
    }

    fn solout(&mut self, _t: f64, _y: &DVector<f64>, _dy: &DVector<f64>) -> bool {
        self.failure.borrow().is_some()
    }
}

/// Integrate from `t0` to `t1` (either order) with Dopri5. With `probes`, the
/// log-determinant `L(t1) = ∫ div v dt` is integrated too (else it is returned as zeros).
/// Returns `(z(t1), L(t1), stats)`. A non-finite field, a step-size underflow (a field
/// that blows up) or more than `max_steps` steps are errors.
#[allow(clippy::too_many_arguments)]
pub fn dopri5_solve(
    field: &VelocityField,
    z0: &Tensor,
    ctx: Option<&Tensor>,
    t0: f64,
    t1: f64,
    settings: &Dopri5Settings,
    probes: Option<&Probes>,
) -> Result<(Tensor, Tensor, SolveStats)> {
    let (b, d) = z0.dims2()?;
    let (dtype, dev) = (z0.dtype(), z0.device().clone());
    let mut y0: Vec<f64> = z0.to_dtype(DType::F64)?.flatten_all()?.to_vec1::<f64>()?;
    if probes.is_some() {
        y0.extend(std::iter::repeat_n(0.0, b));
    }
    if let Some(i) = y0.iter().position(|v| !v.is_finite()) {
        return Err(Error::NonFinite {
            what: "cnf solve: initial state".into(),
            row: i / d,
            column: i % d,
        });
    }
    let ctx = ctx.map(|c| c.detach());
    let failure_cell = RefCell::new(None);
    let evals = Cell::new(0);
    let sys = CnfSystem {
        field,
        ctx: ctx.as_ref(),
        probes,
        batch: b,
        dim: d,
        dtype,
        dev: dev.clone(),
        failure: &failure_cell,
        evals: &evals,
    };
    let span = t1 - t0;
    if span == 0.0 {
        let l = Tensor::zeros(b, dtype, &dev)?;
        return Ok((z0.clone(), l, SolveStats::default()));
    }
    let mut solver = Dopri5::from_param(
        sys,
        t0,
        t1,
        span,
        DVector::from_vec(y0),
        settings.rtol,
        settings.atol,
        0.9,
        0.04,
        0.2,
        10.0,
        span.abs(),
        0.0,
        settings.max_steps,
        1000,
        OutputType::Sparse,
    );
    let res = solver.integrate();
    let failure = failure_cell.borrow().clone();
    let stats = match res {
        Ok(s) => s,
        Err(e) => {
            if let Some(f) = failure {
                return Err(Error::config(f));
            }
            return Err(Error::config(match e {
                IntegrationError::MaxNumStepReached { x, n_step } => format!(
                    "cnf solve: more than {n_step} steps needed (stopped at t = {x}); raise max_steps or loosen rtol/atol"
                ),
                IntegrationError::StepSizeUnderflow { x } => format!(
                    "cnf solve: step size underflow at t = {x} (the field blows up or is not finite)"
                ),
                IntegrationError::StiffnessDetected { x } => {
                    format!("cnf solve: the ODE became stiff at t = {x}")
                }
            }));
        }
    };
    if let Some(f) = failure {
        return Err(Error::config(f));
    }
    let (ts, ys) = solver.results().get();
    let last = ys
        .last()
        .ok_or_else(|| Error::config("cnf solve: no output"))?;
    let t_end = *ts.last().unwrap_or(&t0);
    if (t_end - t1).abs() > 1e-9 * span.abs().max(1.0) {
        return Err(Error::config(format!(
            "cnf solve: stopped at t = {t_end} before reaching {t1}"
        )));
    }
    let v = last.as_slice();
    let z = Tensor::from_slice(&v[..b * d], (b, d), &dev)?.to_dtype(dtype)?;
    let l = if probes.is_some() {
        Tensor::from_slice(&v[b * d..], b, &dev)?.to_dtype(dtype)?
    } else {
        Tensor::zeros(b, dtype, &dev)?
    };
    Ok((
        z,
        l,
        SolveStats {
            evaluations: evals.get().max(stats.num_eval as u64),
            accepted_steps: stats.accepted_steps as u64,
            rejected_steps: stats.rejected_steps as u64,
        },
    ))
}
