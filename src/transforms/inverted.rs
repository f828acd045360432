//! Swap the directions of a transform (e.g. an inverse autoregressive flow from a MAF
//! layer: fast sampling, sequential density).

use crate::error::Result;
use crate::transforms::{Transform, TransformSpec};
use candle_core::Tensor;

/// `forward` = inner `inverse` and vice versa.
#[derive(Debug)]
pub struct Inverted {
    inner: Box<dyn Transform>,
}

impl Inverted {
    /// Wrap `inner`.
    pub fn new(inner: Box<dyn Transform>) -> Self {
        Self { inner }
    }
}

impl Transform for Inverted {
    fn dim(&self) -> usize {
        self.inner.output_dim()
    }
    fn output_dim(&self) -> usize {
        self.inner.dim()
    }
    fn context_dim(&self) -> usize {
        self.inner.context_dim()
    }
    fn likelihood(&self) -> crate::transforms::Contribution {
        if self.inner.stochastic_inverse() {
            crate::transforms::Contribution::Bound
        } else {
            crate::transforms::Contribution::Exact
        }
    }
    fn stochastic_inverse(&self) -> bool {
        self.inner.likelihood() == crate::transforms::Contribution::Bound
    }
    fn forward(&self, x: &Tensor, ctx: Option<&Tensor>) -> Result<(Tensor, Tensor)> {
        self.inner.inverse(x, ctx)
    }
    fn inverse(&self, z: &Tensor, ctx: Option<&Tensor>) -> Result<(Tensor, Tensor)> {
        self.inner.forward(z, ctx)
    }
    fn spec(&self) -> TransformSpec {
        TransformSpec::Inverted {
            inner: Box::new(self.inner.spec()),
        }
    }
}
