//! C2ST against reference posterior samples, with the sbibm protocol (Lueckmann et al.
//! 2021): both sample sets are z-scored with the reference's mean and standard
//! deviation, an MLP classifier with two hidden layers of width `10·dim` is trained to
//! tell them apart, and the accuracy is the mean over 5 stratified folds. 0.5 means
//! indistinguishable.

use crate::data::{read_table, ReadOptions};
use crate::error::{Error, Result};
use crate::metrics::{c2st, C2stConfig, C2stResult};
use crate::sbi::NpePosterior;
use flowinfer_simulators::Simulator;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// C2ST of the posterior for one reference observation.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReferenceC2st {
    /// Observation number (`num_observation_k`).
    pub observation: usize,
    /// Classifier two-sample test result.
    pub c2st: C2stResult,
    /// Samples compared (each side).
    pub samples: usize,
    /// Prior-support acceptance of the posterior draws.
    pub acceptance: f64,
    /// Seconds for sampling and the test.
    pub seconds: f64,
}

/// The sbibm classifier settings for `dim` parameters: two hidden layers of width
/// `10·dim`, 5 folds, Adam at 1e-3, batch 200 (scikit-learn's MLPClassifier defaults).
pub fn sbibm_c2st_config(dim: usize, epochs: usize, seed: u64) -> C2stConfig {
    C2stConfig {
        folds: 5,
        hidden: 10 * dim,
        layers: 2,
        epochs,
        batch_size: 200,
        lr: 1e-3,
        seed,
    }
}

/// z-score rows by the mean and standard deviation of `reference`.
fn zscore_by(rows: &[Vec<f64>], reference: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let d = reference[0].len();
    let n = reference.len() as f64;
    let mean: Vec<f64> = (0..d)
        .map(|j| reference.iter().map(|r| r[j]).sum::<f64>() / n)
        .collect();
    let std: Vec<f64> = (0..d)
        .map(|j| {
            let v = reference
                .iter()
                .map(|r| (r[j] - mean[j]).powi(2))
                .sum::<f64>()
                / (n - 1.0);
            if v > 0.0 {
                v.sqrt()
            } else {
                1.0
            }
        })
        .collect();
    rows.iter()
        .map(|r| (0..d).map(|j| (r[j] - mean[j]) / std[j]).collect())
        .collect()
}

/// C2ST of `draws` against `reference` samples with the sbibm protocol (both z-scored
/// by the reference; [`sbibm_c2st_config`] with `epochs` classifier epochs).
///
/// ```
/// use flowinfer::sbi::diagnostics::reference::c2st_samples;
///
/// let a: Vec<Vec<f64>> = (0..200).map(|i| vec![(i % 17) as f64, (i % 5) as f64]).collect();
/// let far: Vec<Vec<f64>> = a.iter().map(|r| vec![r[0] + 40.0, r[1]]).collect();
/// assert!(c2st_samples(&a, &far, 30, 0)?.accuracy > 0.95);
/// # Ok::<(), flowinfer::Error>(())
/// ```
pub fn c2st_samples(
    draws: &[Vec<f64>],
    reference: &[Vec<f64>],
    epochs: usize,
    seed: u64,
) -> Result<C2stResult> {
    let dim = reference.first().map_or(0, |r| r.len());
    if dim == 0 || draws.first().map_or(0, |r| r.len()) != dim {
        return Err(Error::config(format!(
            "c2st_samples: {} draws of width {}, {} reference rows of width {dim}; expected non-empty sets of equal width",
            draws.len(),
            draws.first().map_or(0, |r| r.len()),
            reference.len()
        )));
    }
    let a = zscore_by(draws, reference);
    let b = zscore_by(reference, reference);
    c2st(&a, &b, &sbibm_c2st_config(dim, epochs, seed))
}

/// Read `num_observation_k/observation.csv` (one row) from an sbibm task folder.
pub fn reference_observation(task_dir: &Path, k: usize) -> Result<Vec<f64>> {
    let path = task_dir
        .join(format!("num_observation_{k}"))
        .join("observation.csv");
    let (t, _) = read_table(&path, &ReadOptions::default())?;
    if t.rows() != 1 {
        return Err(Error::file(
            &path,
            format!("expected one observation row, found {}", t.rows()),
        ));
    }
    Ok(t.row(0).to_vec())
}

/// The observation numbers present in an sbibm task folder, ascending.
pub fn reference_observations(task_dir: &Path) -> Result<Vec<usize>> {
    let entries = std::fs::read_dir(task_dir).map_err(|e| Error::file(task_dir, e.to_string()))?;
    let mut ks: Vec<usize> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            e.file_name()
                .to_str()?
                .strip_prefix("num_observation_")?
                .parse()
                .ok()
        })
        .collect();
    ks.sort_unstable();
    if ks.is_empty() {
        return Err(Error::file(
            task_dir,
            "no num_observation_<k> folders (expected an sbibm task folder)",
        ));
    }
    Ok(ks)
}

/// C2ST of posterior draws against `num_observation_k/reference_posterior_samples.csv`
/// (as many draws as reference samples), for each `k` in `observations`.
pub fn c2st_against_reference(
    posterior: &NpePosterior,
    sim: &dyn Simulator,
    task_dir: &Path,
    observations: &[usize],
    epochs: usize,
    seed: u64,
) -> Result<Vec<ReferenceC2st>> {
    observations
        .iter()
        .map(|&k| {
            let start = std::time::Instant::now();
            let x = reference_observation(task_dir, k)?;
            let path = task_dir
                .join(format!("num_observation_{k}"))
                .join("reference_posterior_samples.csv");
            let (reference, _) = read_table(&path, &ReadOptions::default())?;
            if reference.cols() != sim.param_dim() || reference.rows() < 10 {
                return Err(Error::file(
                    &path,
                    format!(
                        "expected at least 10 rows of {} parameters, found {} × {}",
                        sim.param_dim(),
                        reference.rows(),
                        reference.cols()
                    ),
                ));
            }
            let reference = reference.to_rows();
            let draws = posterior.sample(sim, &x, reference.len(), seed ^ k as u64, 100)?;
            let c = c2st_samples(
                &draws.samples,
                &reference,
                epochs,
                seed.wrapping_add(k as u64),
            )?;
            Ok(ReferenceC2st {
                observation: k,
                c2st: c,
                samples: reference.len(),
                acceptance: draws.acceptance,
                seconds: start.elapsed().as_secs_f64(),
            })
        })
        .collect()
}
