//! Training a neural posterior estimator.

use crate::config::JobConfig;
use crate::error::{Error, Result};
use crate::flow::{Flow, FlowBuilder};
use crate::sbi::{NpePosterior, SbiConfig};
use crate::train::{Batches, EpochRecord, TrainReport, Trainer};
use crate::transforms::Standardize;
use candle_core::{DType, Device, Tensor};
use flowinfer_simulators::{simulate_dataset_lenient, LenientDataset, RowFailure, Simulator};

/// Rows as one `(n, d)` tensor on `device` (one host → device copy).
fn matrix(rows: &[Vec<f64>], dtype: DType, device: &Device) -> Result<Tensor> {
    let d = rows.first().map(|r| r.len()).unwrap_or(0);
    let flat: Vec<f64> = rows.iter().flatten().copied().collect();
    Ok(Tensor::from_vec(flat, (rows.len(), d), &Device::Cpu)?
        .to_dtype(dtype)?
        .to_device(device)?)
}

/// What [`train_npe`] produced.
#[derive(Debug)]
pub struct NpeTraining {
    /// The trained amortised posterior.
    pub posterior: NpePosterior,
    /// The training history.
    pub report: TrainReport,
    /// Simulations used (budget minus failures).
    pub simulations_used: usize,
    /// Simulations that failed (non-finite or malformed output) and were dropped.
    pub failures: Vec<RowFailure>,
    /// The simulated observations, training rows first (`xs[..n_train]`), then the
    /// validation rows.
    pub xs: Vec<Vec<f64>>,
    /// Training rows in `xs`.
    pub n_train: usize,
}

/// Simulate, then fit `q(θ | x)` — the shape users know from `sbi`: a simulator with
/// its prior, a budget of simulations, training, an amortised posterior. The settings
/// are an [`SbiConfig`] (its `simulator` section is not used: the simulator is `sim`);
/// [`SbiConfig::default()`] holds the same defaults as a `flowinfer sbi` spec.
/// Failed simulations (non-finite values, a failing external program) are dropped and
/// returned in [`NpeTraining::failures`]; too many failures are an error. `on_epoch`
/// sees every training epoch.
///
/// ```
/// use flowinfer::sbi::{train_npe, SbiConfig};
/// use flowinfer_simulators::TwoMoons;
///
/// let mut cfg = SbiConfig::default();
/// cfg.npe.simulations = 500;
/// (cfg.flow.blocks, cfg.flow.hidden, cfg.train.epochs) = (2, 16, 3);
/// let npe = train_npe(&TwoMoons, &cfg, |_| {})?;
/// // 100 draws of θ for one observation x_o (inside the prior's support, seed 1,
/// // at most 100 rounds of rejection), and their log densities.
/// let x_o = [0.1, -0.2];
/// let draws = npe.posterior.sample(&TwoMoons, &x_o, 100, 1, 100)?;
/// assert_eq!(draws.samples.len(), 100);
/// let lp = npe.posterior.log_prob(&draws.samples, &x_o)?;
/// assert!(lp.iter().all(|v| v.is_finite()));
/// # Ok::<(), flowinfer::Error>(())
/// ```
pub fn train_npe(
    sim: &dyn Simulator,
    cfg: &SbiConfig,
    on_epoch: impl FnMut(&EpochRecord),
) -> Result<NpeTraining> {
    cfg.validate_training()?;
    let cfg = &cfg.with_run_seed();
    let LenientDataset {
        thetas,
        xs,
        failures,
    } = simulate_dataset_lenient(sim, cfg.npe.simulations, cfg.npe.seed)?;
    fit_npe(sim, thetas, xs, failures, cfg, on_epoch)
}

/// Fit `q(θ | x)` to simulated pairs (the last `[npe] validation_fraction` of the rows
/// validate): the training step of [`train_npe`], also used by the sequential rounds
/// ([`crate::sbi::rounds`]). `cfg` is used as given (run seed already applied);
/// `failures` are passed through to the result.
///
/// ```
/// use flowinfer::sbi::{fit_npe, SbiConfig};
/// use flowinfer_simulators::{simulate_dataset, TwoMoons};
///
/// let (thetas, xs) = simulate_dataset(&TwoMoons, 300, 5).unwrap();
/// let mut cfg = SbiConfig::default();
/// (cfg.flow.blocks, cfg.flow.hidden, cfg.train.epochs) = (1, 8, 2);
/// let t = fit_npe(&TwoMoons, thetas, xs, Vec::new(), &cfg, |_| {})?;
/// assert_eq!((t.simulations_used, t.n_train), (300, 270));
/// # Ok::<(), flowinfer::Error>(())
/// ```
pub fn fit_npe(
    sim: &dyn Simulator,
    thetas: Vec<Vec<f64>>,
    xs: Vec<Vec<f64>>,
    failures: Vec<RowFailure>,
    cfg: &SbiConfig,
    on_epoch: impl FnMut(&EpochRecord),
) -> Result<NpeTraining> {
    let device = cfg.device()?;
    let n = thetas.len();
    if n < 20 || xs.len() != n {
        return Err(Error::config(format!(
            "only {n} simulations succeeded ({} observations); NPE needs at least 20 (first failure: {})",
            xs.len(),
            failures.first().map(|f| f.to_string()).unwrap_or_default()
        )));
    }
    let n_val = (n as f64 * cfg.npe.validation_fraction).round() as usize;
    let n_train = n - n_val;
    let (theta_mean, theta_std) = Standardize::fit(&thetas[..n_train])?;
    let log_obs = cfg.npe.log_observations;
    if log_obs {
        if let Some((i, j)) = xs
            .iter()
            .enumerate()
            .find_map(|(i, x)| x.iter().position(|v| *v <= -1.0).map(|j| (i, j)))
        {
            return Err(Error::config(format!(
                "[npe] log_observations: simulation {i} has value {} in column {j}; ln(1 + x) needs values > −1",
                xs[i][j]
            )));
        }
    }
    let scaled: Vec<Vec<f64>> = if log_obs {
        xs[..n_train]
            .iter()
            .map(|x| x.iter().map(|v| v.ln_1p()).collect())
            .collect()
    } else {
        xs[..n_train].to_vec()
    };
    let (x_mean, x_std) = Standardize::fit(&scaled)?;
    drop(scaled);
    // A constant observation entry carries no information: leave it unscaled.
    let x_std: Vec<f64> = x_std
        .into_iter()
        .map(|s| if s > 0.0 { s } else { 1.0 })
        .collect();
    let theta_std: Vec<f64> = theta_std
        .into_iter()
        .map(|s| if s > 0.0 { s } else { 1.0 })
        .collect();
    let dtype = cfg.flow.dtype()?;
    let flow_spec = match &cfg.cnf {
        Some(c) => c.flow_spec(
            sim.param_dim(),
            sim.obs_dim(),
            Some((theta_mean, theta_std)),
            cfg.embedding.clone(),
            cfg.flow.seed,
        )?,
        None => {
            let mut b = FlowBuilder::new(sim.param_dim(), cfg.flow.clone()).context(sim.obs_dim());
            b.embedding = cfg.embedding.clone();
            b.standardize = Some((theta_mean, theta_std));
            b.build_spec()?
        }
    };
    let flow = Flow::new(flow_spec, dtype, &device, cfg.flow.seed)?;
    let posterior =
        NpePosterior::new(flow, x_mean, x_std, sim.param_names())?.with_log_observations(log_obs);

    let theta_t = matrix(&thetas, dtype, &device)?;
    let x_t = posterior.scale_observations(&matrix(&xs, dtype, &device)?)?;
    let (tt, tv) = (
        theta_t.narrow(0, 0, n_train)?,
        theta_t.narrow(0, n_train, n_val)?,
    );
    let (xt, xv) = (x_t.narrow(0, 0, n_train)?, x_t.narrow(0, n_train, n_val)?);
    let flow = posterior.flow();
    flow.initialize_from_data(&tt, Some(&xt))?;
    let loss: crate::cnf::LossFn = match &cfg.cnf {
        Some(c) => crate::cnf::cnf_loss(flow, c, cfg.train.seed)?,
        None => Box::new(|th: &Tensor, c: Option<&Tensor>| {
            Ok(flow.log_prob_unchecked(th, c)?.mean_all()?.neg()?)
        }),
    };
    let val = (n_val > 0).then_some(Batches {
        x: &tv,
        ctx: Some(&xv),
    });
    let report = Trainer::new(cfg.train.clone())?.fit(
        flow.params(),
        Batches {
            x: &tt,
            ctx: Some(&xt),
        },
        val,
        loss,
        on_epoch,
    )?;
    Ok(NpeTraining {
        posterior,
        report,
        simulations_used: n,
        failures,
        xs,
        n_train,
    })
}
