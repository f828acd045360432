//! Small tensor helpers shared by the built-in targets (all differentiable, any dtype).

use candle_core::{Result, Tensor};

/// Column `j` of `x` (`(n, d)` → `(n,)`).
pub fn col(x: &Tensor, j: usize) -> Result<Tensor> {
    x.narrow(1, j, 1)?.squeeze(1)
}

/// `log(eᵃ + eᵇ)`, computed stably.
pub fn logaddexp(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    let m = a.maximum(b)?;
    let s = ((a - &m)?.exp()? + (b - &m)?.exp()?)?;
    m + s.log()?
}

/// `log(1 + eˣ)`, computed stably: `max(x, 0) + log(1 + e^{−|x|})`.
pub fn softplus(x: &Tensor) -> Result<Tensor> {
    let pos = x.relu()?;
    let tail = (x.abs()?.neg()?.exp()? + 1.0)?.log()?;
    pos + tail
}

/// `1/(1 + e^{−x})`.
pub fn sigmoid(x: &Tensor) -> Result<Tensor> {
    candle_nn::ops::sigmoid(x)
}

/// `−½ ((x − μ)/σ)²` for a scalar `μ`, `σ`.
pub fn half_sq(x: &Tensor, mu: f64, sigma: f64) -> Result<Tensor> {
    x.affine(1.0 / sigma, -mu / sigma)?.sqr()? * -0.5
}
