//! Training a neural likelihood `q(x | θ)`: the NPE recipe with the roles of θ and x
//! swapped (x z-scored as the flow's first layer, θ z-scored as its context).

use crate::config::JobConfig;
use crate::error::{Error, Result};
use crate::flow::{Flow, FlowBuilder};
use crate::sbi::nle::NleLikelihood;
use crate::sbi::{NpePosterior, SbiConfig};
use crate::train::{Batches, EpochRecord, TrainReport, Trainer};
use crate::transforms::Standardize;
use candle_core::{DType, Device, Tensor};
use flowinfer_simulators::{simulate_dataset_lenient, LenientDataset, RowFailure, Simulator};

/// What [`train_nle`] produced.
pub struct NleTraining {
    /// The trained likelihood estimator.
    pub likelihood: NleLikelihood,
    /// The training history.
    pub report: TrainReport,
    /// Simulations used (budget minus failures).
    pub simulations_used: usize,
    /// Simulations that failed and were dropped.
    pub failures: Vec<RowFailure>,
}

/// Rows as one `(n, d)` tensor on `device`.
fn matrix(rows: &[Vec<f64>], dtype: DType, device: &Device) -> Result<Tensor> {
    let d = rows.first().map(|r| r.len()).unwrap_or(0);
    let flat: Vec<f64> = rows.iter().flatten().copied().collect();
    Ok(Tensor::from_vec(flat, (rows.len(), d), &Device::Cpu)?
        .to_dtype(dtype)?
        .to_device(device)?)
}

/// Standard deviations with zeros replaced by 1 (a constant column stays unscaled).
fn nonzero(std: Vec<f64>) -> Vec<f64> {
    std.into_iter()
        .map(|s| if s > 0.0 { s } else { 1.0 })
        .collect()
}

/// Settings NLE does not support, refused with the section that holds them.
fn check_supported(cfg: &SbiConfig) -> Result<()> {
    let refuse = |what: &str| {
        Err(Error::config(format!(
            "NLE does not support {what}; remove it from the spec (NLE models x given θ with a [flow] stack)"
        )))
    };
    if cfg.cnf.is_some() {
        return refuse("[cnf]");
    }
    if cfg.embedding.is_some() {
        return refuse("[embedding]");
    }
    if cfg.npe.log_observations {
        return refuse("[npe] log_observations");
    }
    Ok(())
}

/// Simulate `[npe] simulations` pairs from the prior, then fit `q(x | θ)`
/// ([`fit_nle`]). The settings are an [`SbiConfig`] (its `[flow]` and `[train]`
/// sections; `[cnf]`, `[embedding]` and `log_observations` are refused).
///
/// ```
/// use flowinfer::sbi::nle::train_nle;
/// use flowinfer::sbi::SbiConfig;
/// use flowinfer_simulators::TwoMoons;
///
/// let mut cfg = SbiConfig::default();
/// cfg.npe.simulations = 500;
/// (cfg.flow.blocks, cfg.flow.hidden, cfg.train.epochs) = (2, 16, 3);
/// let nle = train_nle(&TwoMoons, &cfg, |_| {})?;
/// let ll = nle.likelihood.log_likelihood(&[vec![0.0, 0.0], vec![0.5, -0.5]], &[0.1, -0.2])?;
/// assert!(ll.iter().all(|v| v.is_finite()));
/// # Ok::<(), flowinfer::Error>(())
/// ```
pub fn train_nle(
    sim: &dyn Simulator,
    cfg: &SbiConfig,
    on_epoch: impl FnMut(&EpochRecord),
) -> Result<NleTraining> {
    cfg.validate_training()?;
    let cfg = &cfg.with_run_seed();
    let LenientDataset {
        thetas,
        xs,
        failures,
    } = simulate_dataset_lenient(sim, cfg.npe.simulations, cfg.npe.seed)?;
    fit_nle(sim, &thetas, &xs, failures, cfg, on_epoch)
}

/// Fit `q(x | θ)` to simulated pairs (the last `[npe] validation_fraction` of the rows
/// validate; shuffle rows from different proposals first). `cfg` is used as given.
pub fn fit_nle(
    sim: &dyn Simulator,
    thetas: &[Vec<f64>],
    xs: &[Vec<f64>],
    failures: Vec<RowFailure>,
    cfg: &SbiConfig,
    on_epoch: impl FnMut(&EpochRecord),
) -> Result<NleTraining> {
    check_supported(cfg)?;
    let n = thetas.len();
    if n < 20 || xs.len() != n {
        return Err(Error::config(format!(
            "only {n} simulations succeeded ({} observations); NLE needs at least 20 (first failure: {})",
            xs.len(),
            failures.first().map(|f| f.to_string()).unwrap_or_default()
        )));
    }
    let device = cfg.device()?;
    let n_val = (n as f64 * cfg.npe.validation_fraction).round() as usize;
    let n_train = n - n_val;
    let (x_mean, x_std) = Standardize::fit(&xs[..n_train])?;
    let (theta_mean, theta_std) = Standardize::fit(&thetas[..n_train])?;
    let dtype = cfg.flow.dtype()?;
    let mut b = FlowBuilder::new(sim.obs_dim(), cfg.flow.clone()).context(sim.param_dim());
    b.standardize = Some((x_mean, nonzero(x_std)));
    let flow = Flow::new(b.build_spec()?, dtype, &device, cfg.flow.seed)?;
    let x_names = (0..sim.obs_dim()).map(|j| format!("x{j}")).collect();
    let estimator = NpePosterior::new(flow, theta_mean, nonzero(theta_std), x_names)?;
    let x_t = matrix(xs, dtype, &device)?;
    let th_t = estimator.scale_observations(&matrix(thetas, dtype, &device)?)?;
    let (xt, xv) = (x_t.narrow(0, 0, n_train)?, x_t.narrow(0, n_train, n_val)?);
    let (ct, cv) = (th_t.narrow(0, 0, n_train)?, th_t.narrow(0, n_train, n_val)?);
    let flow = estimator.flow();
    flow.initialize_from_data(&xt, Some(&ct))?;
    let val = (n_val > 0).then_some(Batches {
        x: &xv,
        ctx: Some(&cv),
    });
    let report = Trainer::new(cfg.train.clone())?.fit(
        flow.params(),
        Batches {
            x: &xt,
            ctx: Some(&ct),
        },
        val,
        |x: &Tensor, c: Option<&Tensor>| Ok(flow.log_prob_unchecked(x, c)?.mean_all()?.neg()?),
        on_epoch,
    )?;
    Ok(NleTraining {
        likelihood: NleLikelihood::new(estimator, sim.param_names())?,
        report,
        simulations_used: n,
        failures,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use flowinfer_simulators::GaussianLinear;

    #[test]
    fn unsupported_sections_are_refused_by_name() {
        let mut cfg = SbiConfig::default();
        cfg.npe.simulations = 100;
        cfg.npe.log_observations = true;
        let e = train_nle(&GaussianLinear, &cfg, |_| {})
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("log_observations"), "{e}");
    }
}
