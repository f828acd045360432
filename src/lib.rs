//! # flowinfer
//!
//! Normalizing flows on candle for scientific inference: density estimation,
//! simulation-based inference, Bayesian flows and importance-sampled integration.
//!
//! Conventions (see `docs/ARCHITECTURE.md`): `forward` maps data → latent, `inverse`
//! maps latent → data, both return `(output, log|det J|)` with the log-determinant of
//! shape `(batch,)`; data is `(batch, dim)`, context `(batch, context_dim)`.
//!
//! ## The front door
//!
//! One pattern per job: a settings type that is also the job's TOML spec (`*Config`,
//! loaded by [`config::load`], defaults in its [`Default`]), one function that runs the
//! job, and a result that serves draws and densities. The `flowinfer` command line is a
//! thin call of these functions.
//!
//! | job | settings | run | command line |
//! |---|---|---|---|
//! | fit a density to events | [`config::FitConfig`] | [`density::fit()`] (a file, an in-memory table or a toy set: [`pipeline::DataSource`]) | `fit`, `sample`, `eval` |
//! | Bayesian flow, error bands | `FitConfig` with [`bayes::BayesConfig`] | [`density::fit()`], then [`bayes::BayesModel`] | `fit` (spec with `[bayes]`), `bands`, `sample --draws` |
//! | simulation-based inference | [`sbi::SbiConfig`] | [`sbi::train_npe`] → [`sbi::NpePosterior`] | `sbi`, `posterior`, `diagnose` |
//! | integrate over `[0,1]^d` | [`integrate::IntegrateConfig`] | [`integrate::integrate`] | `integrate`, `unweight` |
//! | variational inference on an unnormalised density | [`variational::VariationalConfig`] | [`variational::variational`] | `variational` |
//!
//! ### Fit a flow to an array
//!
//! ```
//! use flowinfer::config::FitConfig;
//! use flowinfer::density::{fit, DataSource, Output};
//!
//! let rows: Vec<Vec<f64>> = (0..400)
//!     .map(|i| { let t = (i as f64 * 0.618).fract() * 4.0 - 2.0; vec![t, t * t + 0.1 * (9.0 * t).sin()] })
//!     .collect();
//! let mut cfg = FitConfig::default();                      // the `fit` defaults
//! (cfg.flow.blocks, cfg.flow.hidden, cfg.train.epochs) = (2, 16, 5); // keep the example fast
//! cfg.eval.c2st = false;
//! let run = fit(&DataSource::rows(&["x", "y"], &rows)?, &cfg, Output::default(), |_| {})?;
//! println!("test NLL {:.3} nats/event", run.report.test.nll);
//! let x = candle_core::Tensor::new(&[[0.0f32, 0.0], [1.0, 1.0]], &candle_core::Device::Cpu)?;
//! let log_p = run.flow.log_prob(&x, None)?; // densities in the original units
//! assert_eq!(log_p.dims(), &[2]);
//! # Ok::<(), flowinfer::Error>(())
//! ```
//!
//! ### Neural posterior estimation: prior, simulations, train, posterior
//!
//! ```
//! use flowinfer::sbi::{train_npe, SbiConfig};
//! use flowinfer_simulators::TwoMoons; // any `Simulator`: built-in, external program, yours
//!
//! let mut cfg = SbiConfig::default();  // the same defaults as a `flowinfer sbi` spec
//! cfg.npe.simulations = 400;
//! (cfg.flow.blocks, cfg.flow.hidden, cfg.train.epochs) = (2, 16, 3);
//! let posterior = train_npe(&TwoMoons, &cfg, |_| {})?.posterior;
//! let x_o = [0.05, -0.1];
//! let draws = posterior.sample(&TwoMoons, &x_o, 200, 0, 50)?; // inside the prior's support
//! let log_q = posterior.log_prob(&draws.samples[..3], &x_o)?;
//! assert_eq!((draws.samples.len(), log_q.len()), (200, 3));
//! # Ok::<(), flowinfer::Error>(())
//! ```
//!
//! ### Integrate a closure, with an honest error and unweighted events
//!
//! ```
//! use flowinfer::integrate::{integrate, IntegrateConfig};
//! use flowinfer_simulators::FnIntegrand;
//!
//! // ∫ 3x² · 2y over the unit square = 1.
//! let f = FnIntegrand::new("poly", 2, |x: &[f64]| 3.0 * x[0] * x[0] * 2.0 * x[1]).with_exact(1.0);
//! let mut cfg = IntegrateConfig::default();
//! (cfg.train.steps, cfg.train.batch, cfg.eval.samples) = (20, 512, 20_000);
//! cfg.eval.unweighted = Some(100);
//! let out = integrate(&f, &cfg, &candle_core::Device::Cpu, &mut |_| {})?;
//! let s = &out.report.stats;
//! assert!((s.estimate - 1.0).abs() < 5.0 * s.std_error);
//! assert_eq!(out.events.unwrap().weights.len(), 100); // rows of (x1, x2), weight 1 unless over-weight
//! # Ok::<(), flowinfer::Error>(())
//! ```
//!
//! ### A Bayesian flow: events from weight draws, with per-bin bands
//!
//! ```
//! use flowinfer::bayes::{run_bands, BandsConfig, BayesConfig, BayesModel, Method, Reference};
//! use flowinfer::config::FitConfig;
//! use flowinfer::density::{fit, DataSource, Output};
//!
//! let mut cfg = FitConfig::default();
//! (cfg.flow.blocks, cfg.flow.hidden, cfg.train.epochs) = (2, 16, 3);
//! (cfg.eval.c2st, cfg.eval.plots) = (false, false);
//! cfg.bayes = Some(BayesConfig { method: Method::Svi, draws: 4, ..BayesConfig::default() });
//! let dir = std::env::temp_dir().join(format!("flowinfer-doc-bayes-{}", std::process::id()));
//! # let _ = std::fs::remove_dir_all(&dir);
//! fit(&DataSource::toy("two-moons", 600, 0)?, &cfg, Output::to(&dir), |_| {})?;
//! let (info, model) = BayesModel::load(&dir)?;
//! let cfg = BandsConfig { events_per_draw: 500, bins: 10, pair_bins: 0, ..BandsConfig::default() };
//! let b = run_bands(&info, &model, &Reference::TestSplit, &cfg)?; // 4 weight draws
//! let x1 = &b.bands.marginals[0];
//! println!("bin 5 of {}: {:.3} ± {:.3}", x1.column, x1.mean[5], x1.std[5]);
//! println!("test-split pulls: std {:.2}", b.pulls.unwrap().marginals.std);
//! # std::fs::remove_dir_all(&dir).ok();
//! # Ok::<(), flowinfer::Error>(())
//! ```

#![deny(missing_docs)]

pub mod atomic;
pub mod bayes;
pub mod checks;
pub mod cluster;
pub mod cnf;
pub mod config;
pub mod data;
pub mod density;
pub mod device;
pub mod distill;
pub mod distributions;
pub mod error;
pub mod flow;
pub mod integrate;
pub mod metrics;
pub mod nn;
pub mod params;
pub mod pipeline;
pub mod plot;
pub mod random;
pub mod reweight;
pub mod sbi;
pub mod surjective;
pub mod testing;
pub mod train;
pub mod transforms;
pub mod variational;

pub use error::{Error, Result};
pub use flow::{Flow, FlowBuilder, FlowKind, FlowSpec, Mixing};
pub use transforms::Transform;

/// Re-export of the tensor crate so users need not depend on it directly.
pub use candle_core;

/// The commonly used items.
pub mod prelude {
    pub use crate::distributions::{BaseDistribution, BaseSpec};
    pub use crate::error::{Error, Result};
    pub use crate::flow::{Flow, FlowBuilder, FlowKind, FlowSpec, Mixing};
    pub use crate::nn::ConditionerSpec;
    pub use crate::transforms::{ElementwiseSpec, Transform, TransformSpec};
    pub use candle_core::{DType, Device, Tensor};
}
