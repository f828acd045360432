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
    check(batch, reps)?;
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    time_batch(flow, batch, &mut rng)?;
    let t = (0..reps)
        .map(|_| time_batch(flow, batch, &mut rng))
        .collect::<Result<Vec<_>>>()?;
    Ok(batch as f64 / median(t))
}

/// [`sampling_rate`] of both flows, one teacher batch and one student batch in turn in
/// every repetition, so that a change in the machine's load affects both alike.
pub fn compare_throughput(
    teacher: &Flow,
    student: &Flow,
    batch: usize,
    reps: usize,
) -> Result<Throughput> {
    check(batch, reps)?;
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    time_batch(teacher, batch, &mut rng)?;
    time_batch(student, batch, &mut rng)?;
    let (mut tt, mut ts) = (Vec::with_capacity(reps), Vec::with_capacity(reps));
    for _ in 0..reps {
        tt.push(time_batch(teacher, batch, &mut rng)?);
        ts.push(time_batch(student, batch, &mut rng)?);
    }
    let teacher_per_s = batch as f64 / median(tt);
    let student_per_s = batch as f64 / median(ts);
    Ok(Throughput {
        batch,
        reps,
        teacher_per_s,
        student_per_s,
        speedup: student_per_s / teacher_per_s,
    })
}

fn check(batch: usize, reps: usize) -> Result<()> {
    if batch == 0 || reps == 0 {
        return Err(Error::config(
            "sampling throughput: batch and reps must be at least 1",
        ));
    }
    Ok(())
}

/// Seconds to draw one batch (the result is read back, so that asynchronous device
/// backends finish).
fn time_batch(flow: &Flow, batch: usize, rng: &mut rand::rngs::StdRng) -> Result<f64> {
    let start = Instant::now();
    let x = flow.sample(batch, None, rng)?;
    x.sum_all()?
        .to_dtype(candle_core::DType::F64)?
        .to_scalar::<f64>()?;
    Ok(start.elapsed().as_secs_f64())
}

fn median(mut t: Vec<f64>) -> f64 {
    t.sort_by(f64::total_cmp);
    t[t.len() / 2].max(1e-12)
}
