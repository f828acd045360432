//! Teacher latents and the teacher's states along its sampling path: for `z` drawn
//! from the teacher's base, `h_L = z` and `h_k = t_k⁻¹(h_{k+1})` down to the sample
//! `h_0 = x_t`, computed once, batched, without gradients.

use crate::error::Result;
use crate::flow::Flow;
use candle_core::Tensor;
use rand::RngCore;

/// Teacher latents `z` `(n, d)` and the states `[h_0 | h_1 | … | h_{L−1}]`
/// `(n, d·L)` of a teacher with `L` layers (`h_0` the teacher's sample).
#[derive(Debug, Clone)]
pub struct TeacherPairs {
    /// Latents, `(n, d)`.
    pub z: Tensor,
    /// States, `(n, d·L)`, `h_k` in columns `k·d .. (k+1)·d`.
    pub states: Tensor,
}

impl TeacherPairs {
    /// Draw `n` latents from the teacher's base with `rng` and run them through the
    /// teacher's layers, 4096 rows at a time.
    ///
    /// ```
    /// use flowinfer::distill::TeacherPairs;
    /// use flowinfer::flow::FlowBuilder;
    /// use rand::SeedableRng;
    /// let spec = FlowBuilder::maf(2).blocks(2).hidden(8).build_spec()?;
    /// let teacher = flowinfer::Flow::new(spec, candle_core::DType::F32, &candle_core::Device::Cpu, 0)?;
    /// let p = TeacherPairs::draw(&teacher, 10, &mut rand::rngs::StdRng::seed_from_u64(1))?;
    /// assert_eq!(p.states.dims(), &[10, 2 * teacher.transforms().len()]);
    /// # Ok::<(), flowinfer::Error>(())
    /// ```
    pub fn draw(teacher: &Flow, n: usize, rng: &mut dyn RngCore) -> Result<Self> {
        let z = teacher.base().sample(n, rng)?.detach();
        let mut parts = Vec::new();
        let mut start = 0;
        while start < n {
            let len = 4096.min(n - start);
            let mut h = z.narrow(0, start, len)?;
            let mut states = Vec::with_capacity(teacher.transforms().len());
            for t in teacher.transforms().iter().rev() {
                h = t.inverse(&h, None)?.0.detach();
                states.push(h.clone());
            }
            states.reverse();
            parts.push(Tensor::cat(&states, 1)?);
            start += len;
        }
        Ok(Self {
            z,
            states: Tensor::cat(&parts, 0)?,
        })
    }

    /// The teacher's samples `h_0`, `(n, d)`.
    pub fn samples(&self) -> Result<Tensor> {
        Ok(self.states.narrow(1, 0, self.z.dim(1)?)?)
    }
}
