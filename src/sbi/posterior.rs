//! An amortised posterior `q(θ | x)`: sampling within the prior support, densities.

use crate::error::{Error, Result};
use crate::flow::Flow;
use candle_core::{DType, Device, Tensor};
use flowinfer_simulators::Simulator;
use rand::SeedableRng;

/// Posterior draws for one observation.
#[derive(Debug, Clone)]
pub struct PosteriorSamples {
    /// Accepted draws (rows of θ), inside the prior support.
    pub samples: Vec<Vec<f64>>,
    /// Fraction of flow draws that fell inside the prior support.
    pub acceptance: f64,
}

/// A trained conditional flow with the observation scaling it was trained with.
#[derive(Debug)]
pub struct NpePosterior {
    flow: Flow,
    x_mean: Tensor,
    x_inv_std: Tensor,
    x_dim: usize,
    names: Vec<String>,
    scaling: (Vec<f64>, Vec<f64>),
    log_observations: bool,
}

impl NpePosterior {
    /// Wrap a conditional flow over θ whose context is the z-scored observation.
    pub fn new(flow: Flow, x_mean: Vec<f64>, x_std: Vec<f64>, names: Vec<String>) -> Result<Self> {
        let d = x_mean.len();
        if d != flow.context_dim() || x_std.len() != d {
            return Err(Error::config(format!(
                "observation scaling has {d} entries, the flow's context {}",
                flow.context_dim()
            )));
        }
        let scaling = (x_mean.clone(), x_std.clone());
        let t = |v: Vec<f64>| -> Result<Tensor> {
            Ok(Tensor::from_vec(v, (1, d), flow.device())?.to_dtype(flow.dtype())?)
        };
        Ok(Self {
            x_mean: t(x_mean)?,
            x_inv_std: t(x_std.iter().map(|s| 1.0 / s).collect())?,
            x_dim: d,
            flow,
            names,
            scaling,
            log_observations: false,
        })
    }

    /// The estimator sees `ln(1 + x)`: raw observations are transformed before the
    /// z-scoring (whose mean and standard deviation then refer to `ln(1 + x)`).
    pub fn with_log_observations(mut self, on: bool) -> Self {
        self.log_observations = on;
        self
    }

    /// Whether observations are fed as `ln(1 + x)`.
    pub fn log_observations(&self) -> bool {
        self.log_observations
    }

    /// The conditional flow.
    pub fn flow(&self) -> &Flow {
        &self.flow
    }

    /// The observation scaling `(mean, std)` the flow was trained with.
    pub fn observation_scaling(&self) -> (&[f64], &[f64]) {
        (&self.scaling.0, &self.scaling.1)
    }

    /// Observation width.
    pub fn observation_dim(&self) -> usize {
        self.x_dim
    }

    /// Parameter names.
    pub fn param_names(&self) -> &[String] {
        &self.names
    }

    /// z-score raw observations `(n, obs_dim)` as the flow expects them (after
    /// `ln(1 + x)` when [`log_observations`](Self::log_observations)).
    pub fn scale_observations(&self, x: &Tensor) -> Result<Tensor> {
        let x = if self.log_observations {
            x.affine(1.0, 1.0)?.log()?
        } else {
            x.clone()
        };
        Ok(x.broadcast_sub(&self.x_mean)?
            .broadcast_mul(&self.x_inv_std)?)
    }

    fn observation(&self, x_obs: &[f64]) -> Result<Tensor> {
        if x_obs.len() != self.x_dim {
            return Err(Error::Shape {
                what: "observation".into(),
                expected: format!("{} values", self.x_dim),
                got: vec![x_obs.len()],
            });
        }
        if let Some(i) = x_obs.iter().position(|v| !v.is_finite()) {
            return Err(Error::NonFinite {
                what: "observation".into(),
                row: 0,
                column: i,
            });
        }
        self.check_log_domain(0, x_obs)?;
        let x = Tensor::from_vec(x_obs.to_vec(), (1, self.x_dim), &Device::Cpu)?
            .to_dtype(self.flow.dtype())?
            .to_device(self.flow.device())?;
        self.scale_observations(&x)
    }

    /// z-score and validate a set of observation rows into a `(m, obs_dim)` tensor.
    fn observations(&self, xs: &[Vec<f64>]) -> Result<Tensor> {
        for (i, x) in xs.iter().enumerate() {
            if x.len() != self.x_dim {
                return Err(Error::Shape {
                    what: format!("observation {i}"),
                    expected: format!("{} values", self.x_dim),
                    got: vec![x.len()],
                });
            }
            if let Some(j) = x.iter().position(|v| !v.is_finite()) {
                return Err(Error::NonFinite {
                    what: "observation".into(),
                    row: i,
                    column: j,
                });
            }
            self.check_log_domain(i, x)?;
        }
        let flat: Vec<f64> = xs.iter().flatten().copied().collect();
        let x = Tensor::from_vec(flat, (xs.len(), self.x_dim), &Device::Cpu)?
            .to_dtype(self.flow.dtype())?
            .to_device(self.flow.device())?;
        self.scale_observations(&x)
    }

    /// With `ln(1 + x)` inputs, every value must exceed −1.
    fn check_log_domain(&self, row: usize, x: &[f64]) -> Result<()> {
        match x.iter().position(|v| *v <= -1.0) {
            Some(j) if self.log_observations => Err(Error::config(format!(
                "observation row {row}, column {j}: value {} but this run feeds ln(1 + x) to the estimator ([npe] log_observations), which needs values > −1",
                x[j]
            ))),
            _ => Ok(()),
        }
    }

    /// `log q(θ_i | x_i)` for pairs of rows.
    pub fn log_prob_pairs(&self, thetas: &[Vec<f64>], xs: &[Vec<f64>]) -> Result<Vec<f64>> {
        if thetas.len() != xs.len() {
            return Err(Error::config(format!(
                "log_prob_pairs: {} parameter rows but {} observations",
                thetas.len(),
                xs.len()
            )));
        }
        let x = self.observations(xs)?;
        let flat: Vec<f64> = thetas.iter().flatten().copied().collect();
        let th = Tensor::from_vec(flat, (thetas.len(), self.flow.dim()), &Device::Cpu)
            .map_err(|_| Error::Shape {
                what: "parameter rows".into(),
                expected: format!("{} values each", self.flow.dim()),
                got: thetas.iter().map(|t| t.len()).collect(),
            })?
            .to_dtype(self.flow.dtype())?
            .to_device(self.flow.device())?;
        Ok(self
            .flow
            .log_prob(&th, Some(&x))?
            .to_dtype(DType::F64)?
            .to_vec1()?)
    }

    /// `n` raw flow draws and their `log q` for each observation row: returns, per
    /// observation, `(draws, log densities)`. No prior-support rejection (calibration
    /// diagnostics need the estimator as it is); work is batched over observations.
    #[allow(clippy::type_complexity)]
    pub fn sample_raw(
        &self,
        xs: &[Vec<f64>],
        n: usize,
        rng: &mut dyn rand::RngCore,
    ) -> Result<Vec<(Vec<Vec<f64>>, Vec<f64>)>> {
        let x = self.observations(xs)?;
        let (s, lp) = self.flow.sample_and_log_prob(n, Some(&x), rng)?;
        let s = s.to_dtype(DType::F64)?.to_vec2::<f64>()?;
        let lp = lp.to_dtype(DType::F64)?.to_vec1::<f64>()?;
        Ok(s.chunks(n)
            .zip(lp.chunks(n))
            .map(|(a, b)| (a.to_vec(), b.to_vec()))
            .collect())
    }

    /// `log q(θ | x_obs)` for each row of `theta`.
    pub fn log_prob(&self, theta: &[Vec<f64>], x_obs: &[f64]) -> Result<Vec<f64>> {
        let x = self.observation(x_obs)?;
        let n = theta.len();
        let flat: Vec<f64> = theta.iter().flatten().copied().collect();
        let th = Tensor::from_vec(flat, (n, self.flow.dim()), &Device::Cpu)?
            .to_dtype(self.flow.dtype())?
            .to_device(self.flow.device())?;
        let ctx = x.broadcast_as((n, self.x_dim))?.contiguous()?;
        Ok(self
            .flow
            .log_prob(&th, Some(&ctx))?
            .to_dtype(DType::F64)?
            .to_vec1()?)
    }

    /// `n` posterior draws for `x_obs`, rejecting draws outside the prior support of
    /// `sim`. Never hangs: at most `max_rounds` batches are drawn; fewer than `n`
    /// accepted draws after that is an error that reports the acceptance rate.
    pub fn sample(
        &self,
        sim: &dyn Simulator,
        x_obs: &[f64],
        n: usize,
        seed: u64,
        max_rounds: usize,
    ) -> Result<PosteriorSamples> {
        let x = self.observation(x_obs)?;
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let (mut accepted, mut drawn) = (Vec::with_capacity(n), 0usize);
        for _ in 0..max_rounds.max(1) {
            let need = n - accepted.len();
            let rate = if drawn == 0 {
                1.0
            } else {
                (accepted.len() as f64 / drawn as f64).max(0.01)
            };
            let batch = ((need as f64 / rate) * 1.2).ceil().clamp(1.0, 1e6) as usize;
            let draws = self
                .flow
                .sample(batch, Some(&x), &mut rng)?
                .to_dtype(DType::F64)?
                .to_vec2::<f64>()?;
            // Count only the draws examined, so the acceptance rate is not diluted by
            // the over-draw of the last batch.
            for t in draws {
                if accepted.len() == n {
                    break;
                }
                drawn += 1;
                if sim.in_support(&t) {
                    accepted.push(t);
                }
            }
            if accepted.len() == n {
                break;
            }
        }
        let acceptance = accepted.len() as f64 / drawn.max(1) as f64;
        if accepted.len() < n {
            return Err(Error::config(format!(
                "only {} of {n} posterior draws fell inside the prior support after {max_rounds} rounds (acceptance {acceptance:.4}); the posterior estimate leaks out of the prior",
                accepted.len()
            )));
        }
        Ok(PosteriorSamples {
            samples: accepted,
            acceptance,
        })
    }
}
