//! The distillation loss on a batch of teacher latents `z` and teacher states
//! `[h_0 | … | h_{L−1}]` ([`TeacherPairs`](crate::distill::TeacherPairs)):
//!
//! * **KL** — `mean(log q(x_s) − log p_teacher(x_s))` on the student's own samples
//!   `x_s = S⁻¹(z)` (reparameterised through `z`; `log q` comes with the sample, the
//!   teacher's density is one pass per MAF block);
//! * **block** — for aligned stacks, the mean over student blocks `k` of
//!   `mean((s_k⁻¹(h_{k+1}) − h_k)²)`: each block imitates the teacher's block on the
//!   teacher's own states (CaloFlow's teacher–student training);
//! * **output** — `mean((h₁ˢ − h₁ᵗ)²)`, the end-to-end difference of the samples for
//!   the same `z` after the (shared) standardisation layer, i.e. in standardised units;
//! * **nll** — `−mean log q(x_t)` on the teacher's samples (the forward KL up to a
//!   constant; mass-covering where the reverse KL is mode-seeking). The IAF's density
//!   of other points is sequential (`dim` passes per block), so only the first
//!   `nll_rows` rows of each batch enter it.

use crate::error::Result;
use crate::flow::Flow;
use crate::transforms::TransformSpec;
use candle_core::{DType, Tensor};
use serde::{Deserialize, Serialize};

/// The three loss terms (weighted sum = the training loss).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LossTerms {
    /// Reverse KL estimate (nats).
    pub kl: f64,
    /// Per-block teacher-latent mean squared error (0 when not aligned).
    pub block: f64,
    /// End-to-end mean squared error in standardised units.
    pub output: f64,
    /// Student NLL of teacher samples (nats; 0 when its weight is 0).
    #[serde(default)]
    pub nll: f64,
}

/// The teacher, the student and the term weights.
#[derive(Debug, Clone, Copy)]
pub struct DistillLoss<'a> {
    /// The MAF teacher (its weights are not trained).
    pub teacher: &'a Flow,
    /// The IAF student.
    pub student: &'a Flow,
    /// Whether the stacks are aligned (per-block term available).
    pub aligned: bool,
    /// Weights of the KL, block, output and nll terms.
    pub weights: [f64; 4],
    /// Rows of each batch that enter the nll term.
    pub nll_rows: usize,
}

impl DistillLoss<'_> {
    /// The terms as tensors (scalars) for latents `z` `(b, d)` and teacher states
    /// `(b, d·L)`; terms of weight 0 are skipped (returned as 0).
    pub fn terms(&self, z: &Tensor, states: &Tensor) -> Result<[Tensor; 4]> {
        self.compute(z, states, self.weights.map(|w| w > 0.0), self.nll_rows)
    }

    /// The terms flagged in `want` (others 0); `nll_rows` rows enter the nll term.
    fn compute(
        &self,
        z: &Tensor,
        states: &Tensor,
        want: [bool; 4],
        nll_rows: usize,
    ) -> Result<[Tensor; 4]> {
        let d = z.dim(1)?;
        let state = |k: usize| -> Result<Tensor> {
            if (k + 1) * d > states.dim(1)? {
                Ok(z.clone())
            } else {
                Ok(states.narrow(1, k * d, d)?)
            }
        };
        let layers = self.student.transforms();
        let zero = Tensor::zeros((), z.dtype(), z.device())?;
        // Per-block imitation on the teacher's states.
        let mut block = zero.clone();
        if self.aligned && want[1] {
            let spec = self.student.spec();
            let mut count = 0.0f64;
            for (k, t) in layers.iter().enumerate() {
                if matches!(spec.transforms[k], TransformSpec::Inverted { .. }) {
                    let pred = t.inverse(&state(k + 1)?, None)?.0;
                    block = (block + (pred - state(k)?)?.sqr()?.mean_all()?)?;
                    count += 1.0;
                }
            }
            block = (block / count.max(1.0))?;
        }
        // The student's sample for z, its log density, the standardised state h₁.
        let standardised = matches!(
            self.student.spec().transforms.first(),
            Some(TransformSpec::Standardize { .. })
        );
        let out_level = usize::from(standardised && layers.len() > 1);
        let mut h = z.clone();
        let mut ld: Option<Tensor> = None;
        let mut h_out = None;
        for (k, t) in layers.iter().enumerate().rev() {
            let (nh, l) = t.inverse(&h, None)?;
            h = nh;
            ld = Some(match ld {
                None => l,
                Some(s) => (s + l)?,
            });
            if k == out_level {
                h_out = Some(h.clone());
            }
        }
        let h_out = h_out.unwrap_or_else(|| h.clone());
        let output = (h_out - state(out_level)?)?.sqr()?.mean_all()?;
        let kl = if want[0] {
            let ld = ld.unwrap_or(crate::transforms::zero_logdet(z)?);
            let log_q = (self.student.base().log_prob(z)? - ld)?;
            let log_p = self.teacher.log_prob_unchecked(&h, None)?;
            (log_q - log_p)?.mean_all()?
        } else {
            zero.clone()
        };
        let nll = if want[3] {
            let m = nll_rows.clamp(1, z.dim(0)?);
            let x_t = state(0)?.narrow(0, 0, m)?;
            self.student
                .log_prob_unchecked(&x_t, None)?
                .mean_all()?
                .neg()?
        } else {
            zero
        };
        Ok([kl, block, output, nll])
    }

    /// The weighted sum of [`DistillLoss::terms`] (the training loss).
    pub fn loss(&self, z: &Tensor, states: &Tensor) -> Result<Tensor> {
        let t = self.terms(z, states)?;
        let mut total = (&t[0] * self.weights[0])?;
        for (term, w) in t.iter().zip(self.weights).skip(1) {
            total = (total + (term * w)?)?;
        }
        Ok(total)
    }

    /// Every term (whatever its weight) as a number, averaged over `z`/`states` in
    /// batches of `batch` rows, the nll term over all rows.
    pub fn evaluate(&self, z: &Tensor, states: &Tensor, batch: usize) -> Result<LossTerms> {
        let n = z.dim(0)?;
        let mut sums = [0.0; 4];
        let mut start = 0;
        while start < n {
            let len = batch.min(n - start);
            let t = self.compute(
                &z.narrow(0, start, len)?,
                &states.narrow(0, start, len)?,
                [true; 4],
                len,
            )?;
            for (s, v) in sums.iter_mut().zip(&t) {
                *s += v.to_dtype(DType::F64)?.to_scalar::<f64>()? * len as f64;
            }
            start += len;
        }
        Ok(LossTerms {
            kl: sums[0] / n as f64,
            block: sums[1] / n as f64,
            output: sums[2] / n as f64,
            nll: sums[3] / n as f64,
        })
    }
}
