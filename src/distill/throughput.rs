//! Sampling throughput of a flow: events per second at a fixed batch size, the median
//! over timed repetitions after one warm-up batch.

use crate::error::{Error, Result};
use crate::flow::Flow;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// Sampling speed of a teacher and its student at one batch size.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Throughput {
    /// Events per batch.
    pub batch: usize,
    /// Timed repetitions (median reported).
    pub reps: usize,
    /// Teacher events per second.
    pub teacher_per_s: f64,
    /// Student events per second.
    pub student_per_s: f64,
    /// `student_per_s / teacher_per_s`.
    pub speedup: f64,
}

/// Median events per second of `flow.sample(batch)` over `reps` timed batches (after
/// one untimed warm-up batch).
///
/// ```
/// use flowinfer::distill::sampling_rate;
/// let spec = flowinfer::FlowBuilder::maf(2).blocks(1).hidden(8).build_spec()?;
/// let flow = flowinfer::Flow::new(spec, candle_core::DType::F32, &candle_core::Device::Cpu, 0)?;
/// assert!(sampling_rate(&flow, 100, 3)? > 0.0);
/// # Ok::<(), flowinfer::Error>(())
/// ```
///
/// Errors ([`Error::Config`]) for a zero batch or no repetitions.
pub fn sampling_rate(flow: &Flow, batch: usize, reps: usize) -> Result<f64> {
    if batch == 0 || reps == 0 {
        return Err(Error::config(
            "sampling_rate: batch and reps must be at least 1",
        ));
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    flow.sample(batch, None, &mut rng)?;
    let mut t: Vec<f64> = (0..reps)
        .map(|_| {
            let start = Instant::now();
            let x = flow.sample(batch, None, &mut rng)?;
            // Force the computation to finish (device backends are asynchronous).
            x.sum_all()?
                .to_dtype(candle_core::DType::F64)?
                .to_scalar::<f64>()?;
            Ok(start.elapsed().as_secs_f64())
        })
        .collect::<Result<_>>()?;
    t.sort_by(f64::total_cmp);
    Ok(batch as f64 / t[t.len() / 2].max(1e-12))
}

/// [`sampling_rate`] of both flows, interleaved per repetition block.
pub fn compare_throughput(
    teacher: &Flow,
    student: &Flow,
    batch: usize,
    reps: usize,
) -> Result<Throughput> {
    let teacher_per_s = sampling_rate(teacher, batch, reps)?;
    let student_per_s = sampling_rate(student, batch, reps)?;
    Ok(Throughput {
        batch,
        reps,
        teacher_per_s,
        student_per_s,
        speedup: student_per_s / teacher_per_s,
    })
}
