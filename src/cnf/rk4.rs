//! Fixed-step classical Runge–Kutta in tensor operations. Every stage is an ordinary
//! candle expression, so the loss at the end of a solve can be differentiated with
//! respect to the network weights (discretize-then-optimize).

use crate::cnf::divergence::{velocity_and_divergence, Probes};
use crate::cnf::velocity::{time_column, VelocityField};
use crate::error::{Error, Result};
use candle_core::Tensor;

/// Integrate `dz/dt = v(z, t, c)`, `dL/dt = div v` from `t0` to `t1` (either order) in
/// `steps` RK4 steps starting from `L = 0`. Returns `(z(t1), L(t1))`; `L(t1)` is
/// `log|det ∂z(t1)/∂z(t0)|`. Costs `4·steps` field evaluations.
pub fn rk4_solve(
    field: &VelocityField,
    z0: &Tensor,
    ctx: Option<&Tensor>,
    t0: f64,
    t1: f64,
    steps: usize,
    probes: &Probes,
) -> Result<(Tensor, Tensor)> {
    if steps == 0 {
        return Err(Error::config("rk4: steps must be at least 1"));
    }
    let (b, _) = z0.dims2()?;
    let (dt, dev) = (z0.dtype(), z0.device());
    let h = (t1 - t0) / steps as f64;
    let f = |z: &Tensor, t: f64| -> Result<(Tensor, Tensor)> {
        velocity_and_divergence(field, z, &time_column(t, b, dt, dev)?, ctx, probes)
    };
    let mut z = z0.clone();
    let mut l = Tensor::zeros(b, dt, dev)?;
    for i in 0..steps {
        let t = t0 + i as f64 * h;
        let (k1, d1) = f(&z, t)?;
        let (k2, d2) = f(&(&z + (&k1 * (h / 2.0))?)?, t + h / 2.0)?;
        let (k3, d3) = f(&(&z + (&k2 * (h / 2.0))?)?, t + h / 2.0)?;
        let (k4, d4) = f(&(&z + (&k3 * h)?)?, t + h)?;
        let dz = ((k1 + k4)? + ((k2 + k3)? * 2.0)?)?;
        let dl = ((d1 + d4)? + ((d2 + d3)? * 2.0)?)?;
        z = (z + (dz * (h / 6.0))?)?;
        l = (l + (dl * (h / 6.0))?)?;
    }
    Ok((z, l))
}

/// Integrate the state alone (no divergence): `4·steps` evaluations of `v`.
pub fn rk4_solve_state(
    field: &VelocityField,
    z0: &Tensor,
    ctx: Option<&Tensor>,
    t0: f64,
    t1: f64,
    steps: usize,
) -> Result<Tensor> {
    if steps == 0 {
        return Err(Error::config("rk4: steps must be at least 1"));
    }
    let (b, _) = z0.dims2()?;
    let (dt, dev) = (z0.dtype(), z0.device());
    let h = (t1 - t0) / steps as f64;
    let f = |z: &Tensor, t: f64| field.forward(z, &time_column(t, b, dt, dev)?, ctx);
    let mut z = z0.clone();
    for i in 0..steps {
        let t = t0 + i as f64 * h;
        let k1 = f(&z, t)?;
        let k2 = f(&(&z + (&k1 * (h / 2.0))?)?, t + h / 2.0)?;
        let k3 = f(&(&z + (&k2 * (h / 2.0))?)?, t + h / 2.0)?;
        let k4 = f(&(&z + (&k3 * h)?)?, t + h)?;
        let dz = ((k1 + k4)? + ((k2 + k3)? * 2.0)?)?;
        z = (z + (dz * (h / 6.0))?)?;
    }
    Ok(z)
}
