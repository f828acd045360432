//! A Bayesian dense layer: mean-field Gaussian weights `w ~ N(μ, σ²)` (learned mean and
//! log-variance, small initial variance), a deterministic bias, a Gaussian prior
//! `N(0, σ_p²)` and the KL divergence to it in closed form.
//!
//! How the weights are used is set per flow by a [`NoiseControl`] shared by all of its
//! Bayesian layers ([`WeightNoise`]):
//!
//! * `Mean` — the means only (MAP / mean network, deterministic);
//! * `Local` — local reparameterisation for training (Kingma et al. 2015): the
//!   pre-activation of every event and unit is drawn from its exact Gaussian,
//!   `y = x μ + b + √(x² σ²) ε`, a fresh `ε` per event and unit;
//! * `Fixed(seed)` — one weight draw `W = μ + σ ε` held fixed for a whole batch or
//!   generation, `ε` seeded by the draw seed and the layer's parameter name. Per-event
//!   noise would make every sampled flow non-smooth and break invertibility; a fixed
//!   draw is one ordinary (invertible) flow.
//!
//! A layer joins a control when it is built inside [`NoiseControl::attach`] (build or
//! load the flow there); a layer built outside any control gets one of its own, in
//! `Mean` mode.

use crate::error::{Error, Result};
use crate::params::{Init, Params};
use candle_core::{DType, Tensor};
use rand::rngs::StdRng;
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};
use std::cell::RefCell;
use std::sync::{Arc, Mutex};

/// How the Bayesian layers of a flow use their weight distribution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeightNoise {
    /// Weight means only (deterministic).
    Mean,
    /// Local reparameterisation: fresh noise per event and unit (training).
    Local,
    /// One weight draw, identified by its seed, for every event (prediction).
    Fixed(u64),
}

/// The KL contributions and shapes a control collects from its layers.
#[derive(Debug, Clone)]
struct LayerRef {
    name: String,
    mean: Tensor,
    logvar: Tensor,
    mask: Option<Tensor>,
    prior_std: f64,
}

#[derive(Debug)]
struct NoiseState {
    mode: WeightNoise,
    rng: StdRng,
    layers: Vec<LayerRef>,
}

/// Shared switch and noise source of the Bayesian layers of one flow (cheap to clone).
#[derive(Debug, Clone)]
pub struct NoiseControl(Arc<Mutex<NoiseState>>);

thread_local! {
    static BUILDING: RefCell<Option<NoiseControl>> = const { RefCell::new(None) };
}

impl NoiseControl {
    /// A control in `Mean` mode whose local noise comes from `seed`.
    pub fn new(seed: u64) -> Self {
        Self(Arc::new(Mutex::new(NoiseState {
            mode: WeightNoise::Mean,
            rng: StdRng::seed_from_u64(seed),
            layers: Vec::new(),
        })))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, NoiseState> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Run `build` (building or loading a flow) so that every Bayesian layer created in
    /// it joins this control.
    pub fn attach<T>(&self, build: impl FnOnce() -> T) -> T {
        let prev = BUILDING.with(|b| b.replace(Some(self.clone())));
        let out = build();
        BUILDING.with(|b| *b.borrow_mut() = prev);
        out
    }

    fn current() -> Self {
        BUILDING
            .with(|b| b.borrow().clone())
            .unwrap_or_else(|| Self::new(0))
    }

    /// Set the weight-noise mode.
    pub fn set(&self, mode: WeightNoise) {
        self.lock().mode = mode;
    }

    /// The current mode.
    pub fn mode(&self) -> WeightNoise {
        self.lock().mode
    }

    /// Number of Bayesian layers attached.
    pub fn num_layers(&self) -> usize {
        self.lock().layers.len()
    }

    /// Number of stochastic weights (mean-field Gaussians) in the attached layers.
    pub fn num_weights(&self) -> usize {
        self.lock().layers.iter().map(|l| l.mean.elem_count()).sum()
    }

    /// `Σ KL(q(w) ‖ p(w))` over every stochastic weight, a differentiable scalar
    /// (`None` when no Bayesian layer is attached).
    pub fn kl(&self) -> Result<Option<Tensor>> {
        let layers = self.lock().layers.clone();
        let mut total: Option<Tensor> = None;
        for l in &layers {
            let k = kl_gaussian(&l.mean, &l.logvar, l.prior_std, l.mask.as_ref())?;
            total = Some(match total {
                None => k,
                Some(t) => (t + k)?,
            });
        }
        Ok(total)
    }

    /// `Σ μ² / (2 σ_p²)`: the negative log prior of the weight means (MAP mode).
    pub fn prior_penalty(&self) -> Result<Option<Tensor>> {
        let layers = self.lock().layers.clone();
        let mut total: Option<Tensor> = None;
        for l in &layers {
            let m = match &l.mask {
                Some(mask) => l.mean.mul(mask)?,
                None => l.mean.clone(),
            };
            let k = (m.sqr()?.sum_all()? / (2.0 * l.prior_std * l.prior_std))?;
            total = Some(match total {
                None => k,
                Some(t) => (t + k)?,
            });
        }
        Ok(total)
    }

    /// Mean and standard deviation of every stochastic weight, by layer name (for
    /// reports and the closed-form checks).
    pub fn weight_moments(&self) -> Result<Vec<WeightMoments>> {
        let layers = self.lock().layers.clone();
        layers
            .iter()
            .map(|l| {
                let m = l
                    .mean
                    .to_dtype(DType::F64)?
                    .flatten_all()?
                    .to_vec1::<f64>()?;
                let s = (l.logvar.to_dtype(DType::F64)? * 0.5)?
                    .exp()?
                    .flatten_all()?
                    .to_vec1::<f64>()?;
                Ok((l.name.clone(), m, s))
            })
            .collect()
    }

    fn register(&self, l: LayerRef) {
        self.lock().layers.push(l);
    }

    fn normals(&self, n: usize) -> Vec<f64> {
        let mut st = self.lock();
        (0..n)
            .map(|_| <StandardNormal as Distribution<f64>>::sample(&StandardNormal, &mut st.rng))
            .collect()
    }
}

/// A layer's name, weight means and weight standard deviations (flattened).
pub type WeightMoments = (String, Vec<f64>, Vec<f64>);

/// `KL(N(μ, e^{logvar}) ‖ N(0, σ_p²))` summed over the entries (masked entries skipped):
/// `½ Σ (σ² + μ²)/σ_p² − 1 − log σ² + log σ_p²`.
pub fn kl_gaussian(
    mean: &Tensor,
    logvar: &Tensor,
    prior_std: f64,
    mask: Option<&Tensor>,
) -> Result<Tensor> {
    let pv = prior_std * prior_std;
    let terms = (((logvar.exp()? + mean.sqr()?)? / pv)? - logvar)?;
    let terms = ((terms + (pv.ln() - 1.0))? * 0.5)?;
    Ok(match mask {
        Some(m) => terms.mul(m)?.sum_all()?,
        None => terms.sum_all()?,
    })
}

/// Settings of a Bayesian layer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BayesLinearConfig {
    /// Standard deviation of the Gaussian prior on every weight.
    pub prior_std: f64,
    /// Initial log-variance of every weight (small: the layer starts near its mean).
    pub init_logvar: f64,
}

impl Default for BayesLinearConfig {
    fn default() -> Self {
        Self {
            prior_std: 1.0,
            init_logvar: -9.0,
        }
    }
}

impl BayesLinearConfig {
    /// Check the values.
    pub fn validate(&self) -> Result<()> {
        if !(self.prior_std > 0.0 && self.prior_std.is_finite()) {
            return Err(Error::config(format!(
                "prior_std must be a positive number, got {}",
                self.prior_std
            )));
        }
        if !self.init_logvar.is_finite() || self.init_logvar > 5.0 {
            return Err(Error::config(format!(
                "init_logvar must be finite and ≤ 5, got {}",
                self.init_logvar
            )));
        }
        Ok(())
    }
}

/// A dense layer with mean-field Gaussian weights `(in, out)` and a deterministic bias.
///
/// Parameters: `weight` (the means, PyTorch-style uniform initialisation, or zero for
/// output layers that start at the identity), `weight_logvar`, `bias`.
#[derive(Debug, Clone)]
pub struct BayesLinear {
    name: String,
    mean: Tensor,
    logvar: Tensor,
    bias: Tensor,
    mask: Option<Tensor>,
    control: NoiseControl,
}

impl BayesLinear {
    /// Create (or fetch) the layer's parameters under `params`; the layer joins the
    /// control being attached (see [`NoiseControl::attach`]).
    pub fn new(
        params: &Params,
        in_dim: usize,
        out_dim: usize,
        zero: bool,
        cfg: &BayesLinearConfig,
    ) -> Result<Self> {
        Self::new_masked(params, in_dim, out_dim, zero, cfg, None)
    }

    /// As [`BayesLinear::new`] with a fixed 0/1 mask `(in, out)` on the weights (MADE).
    pub fn new_masked(
        params: &Params,
        in_dim: usize,
        out_dim: usize,
        zero: bool,
        cfg: &BayesLinearConfig,
        mask: Option<Tensor>,
    ) -> Result<Self> {
        cfg.validate()?;
        let bound = 1.0 / (in_dim.max(1) as f64).sqrt();
        let init = if zero {
            Init::Zeros
        } else {
            Init::Uniform(bound)
        };
        let mean = params.get("weight", (in_dim, out_dim), init)?;
        let logvar = params.get(
            "weight_logvar",
            (in_dim, out_dim),
            Init::Const(cfg.init_logvar),
        )?;
        let bias = params.get("bias", out_dim, init)?;
        let mask = mask.map(|m| m.to_dtype(mean.dtype())).transpose()?;
        let control = NoiseControl::current();
        let name = params.full_name("weight");
        control.register(LayerRef {
            name: name.clone(),
            mean: mean.clone(),
            logvar: logvar.clone(),
            mask: mask.clone(),
            prior_std: cfg.prior_std,
        });
        Ok(Self {
            name,
            mean,
            logvar,
            bias,
            mask,
            control,
        })
    }

    /// The control this layer answers to.
    pub fn control(&self) -> &NoiseControl {
        &self.control
    }

    fn masked(&self, t: Tensor) -> Result<Tensor> {
        Ok(match &self.mask {
            Some(m) => t.mul(m)?,
            None => t,
        })
    }

    /// `x W + b` for `x` of shape `(batch, in)` under the control's current mode.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mode = self.control.mode();
        match mode {
            WeightNoise::Mean => {
                let w = self.masked(self.mean.clone())?;
                Ok(super::fused_linear::linear_forward(x, &w, &self.bias)?)
            }
            WeightNoise::Local => {
                let w = self.masked(self.mean.clone())?;
                let mu = super::fused_linear::linear_forward(x, &w, &self.bias)?;
                let var_w = self.masked(self.logvar.exp()?)?;
                let var = x.sqr()?.matmul(&var_w)?;
                let (b, o) = mu.dims2()?;
                let eps = Tensor::from_vec(self.control.normals(b * o), (b, o), x.device())?
                    .to_dtype(x.dtype())?;
                let sd = (var + 1e-12)?.sqrt()?;
                Ok((mu + sd.mul(&eps)?)?)
            }
            WeightNoise::Fixed(seed) => {
                let n = self.mean.elem_count();
                let mut rng = StdRng::seed_from_u64(seed ^ name_hash(&self.name));
                let e: Vec<f64> = (0..n)
                    .map(|_| {
                        <StandardNormal as Distribution<f64>>::sample(&StandardNormal, &mut rng)
                    })
                    .collect();
                let eps = Tensor::from_vec(e, self.mean.shape(), x.device())?
                    .to_dtype(self.mean.dtype())?;
                let w = (&self.mean + (&self.logvar * 0.5)?.exp()?.mul(&eps)?)?;
                let w = self.masked(w)?;
                Ok(super::fused_linear::linear_forward(x, &w, &self.bias)?)
            }
        }
    }
}

/// FNV-1a of a parameter name: decorrelates the draws of different layers.
fn name_hash(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

impl super::layer::Layer for BayesLinear {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        BayesLinear::forward(self, x)
    }
}
