//! Adam (Kingma & Ba 2015) over candle variables, with its state exposed so that a
//! checkpoint can save and restore it, and with gradient-norm clipping built in.
//!
//! On the CPU the update is one fused pass per parameter on the host (the moments live
//! in host vectors): read the gradient, update both moments and the value, write the
//! value back once. On other devices the same update runs as tensor operations.

use crate::error::{Error, Result};
use candle_core::backprop::GradStore;
use candle_core::{DType, Tensor, Var};

/// Adam settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamConfig {
    /// Learning rate.
    pub lr: f64,
    /// First-moment decay.
    pub beta1: f64,
    /// Second-moment decay.
    pub beta2: f64,
    /// Denominator offset.
    pub eps: f64,
}

impl Default for AdamConfig {
    fn default() -> Self {
        Self {
            lr: 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
        }
    }
}

/// Moments of one parameter.
#[derive(Debug, Clone)]
enum Moments {
    Host { m: Vec<f64>, v: Vec<f64> },
    Device { m: Tensor, v: Tensor },
}

/// The Adam optimizer.
#[derive(Debug)]
pub struct Adam {
    vars: Vec<Var>,
    moments: Vec<Moments>,
    cfg: AdamConfig,
    /// Learning-rate multiplier per variable (1 unless set).
    lr_scales: Vec<f64>,
    step: u64,
}

impl Adam {
    /// An optimizer over `vars` (their order defines the state layout).
    pub fn new(vars: Vec<Var>, cfg: AdamConfig) -> Result<Self> {
        let moments = vars
            .iter()
            .map(|v| {
                Ok(if v.device().is_cpu() {
                    Moments::Host {
                        m: vec![0.0; v.elem_count()],
                        v: vec![0.0; v.elem_count()],
                    }
                } else {
                    Moments::Device {
                        m: v.zeros_like()?,
                        v: v.zeros_like()?,
                    }
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let lr_scales = vec![1.0; vars.len()];
        Ok(Self {
            vars,
            moments,
            cfg,
            lr_scales,
            step: 0,
        })
    }

    /// Give every variable its own learning-rate multiplier (in the order of the
    /// variables): variable `i` steps with `scales[i] · lr`. Used where one group of
    /// parameters lives on another scale, e.g. the log-variances of Bayesian weights,
    /// which Adam (whose step is about `lr` whatever the gradient) would otherwise move
    /// far too slowly.
    pub fn set_lr_scales(&mut self, scales: Vec<f64>) -> Result<()> {
        if scales.len() != self.vars.len() {
            return Err(Error::config(format!(
                "{} learning-rate multipliers for {} variables",
                scales.len(),
                self.vars.len()
            )));
        }
        if let Some(s) = scales.iter().find(|s| !(s.is_finite() && **s > 0.0)) {
            return Err(Error::config(format!(
                "learning-rate multipliers must be positive numbers, got {s}"
            )));
        }
        self.lr_scales = scales;
        Ok(())
    }

    /// The learning-rate multiplier of every variable.
    pub fn lr_scales(&self) -> &[f64] {
        &self.lr_scales
    }

    /// Current learning rate.
    pub fn learning_rate(&self) -> f64 {
        self.cfg.lr
    }

    /// Change the learning rate (schedules).
    pub fn set_learning_rate(&mut self, lr: f64) {
        self.cfg.lr = lr;
    }

    /// Number of steps taken.
    pub fn steps(&self) -> u64 {
        self.step
    }

    /// Whether every optimised variable holds only finite values.
    pub fn parameters_finite(&self) -> Result<bool> {
        for v in &self.vars {
            let probe = v
                .as_tensor()
                .sub(v.as_tensor())?
                .sum_all()?
                .to_dtype(DType::F64)?
                .to_scalar::<f64>()?;
            if !probe.is_finite() {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Global L2 norm of the gradients of all variables.
    pub fn grad_norm(&self, grads: &GradStore) -> Result<f64> {
        let mut sq = 0.0;
        for v in &self.vars {
            if let Some(g) = grads.get(v.as_tensor()) {
                sq += g
                    .to_dtype(DType::F64)?
                    .sqr()?
                    .sum_all()?
                    .to_scalar::<f64>()?;
            }
        }
        Ok(sq.sqrt())
    }

    /// Backpropagate `loss` and take one step; with `clip = Some(c)` the gradients are
    /// scaled so that their global norm is at most `c`, and the norm before clipping is
    /// returned (it is only computed when clipping).
    pub fn backward_step(&mut self, loss: &Tensor, clip: Option<f64>) -> Result<Option<f64>> {
        let grads = loss.backward()?;
        let norm = match clip {
            Some(_) => Some(self.grad_norm(&grads)?),
            None => None,
        };
        let scale = match (clip, norm) {
            // A non-finite norm: take no step, let the caller roll back.
            (Some(_), Some(n)) if !n.is_finite() => return Ok(norm),
            (Some(c), Some(n)) if n > c => c / n,
            _ => 1.0,
        };
        self.step_scaled(&grads, scale)?;
        Ok(norm)
    }

    /// One step with gradients multiplied by `scale`.
    pub fn step_scaled(&mut self, grads: &GradStore, scale: f64) -> Result<()> {
        self.step += 1;
        let AdamConfig {
            lr,
            beta1: b1,
            beta2: b2,
            eps,
        } = self.cfg;
        let c1 = 1.0 / (1.0 - b1.powi(self.step as i32));
        let c2 = 1.0 / (1.0 - b2.powi(self.step as i32));
        for ((var, mom), &mult) in self
            .vars
            .iter()
            .zip(self.moments.iter_mut())
            .zip(&self.lr_scales)
        {
            let Some(g) = grads.get(var.as_tensor()) else {
                continue;
            };
            let lr = lr * mult;
            match mom {
                Moments::Host { m, v } => {
                    let h = HostStep {
                        lr,
                        b1,
                        b2,
                        eps,
                        c1,
                        c2,
                        scale,
                    };
                    match var.dtype() {
                        DType::F32 => h.apply::<f32>(var, g, m, v)?,
                        _ => h.apply::<f64>(var, g, m, v)?,
                    }
                }
                Moments::Device { m, v } => {
                    let g = (g * scale)?;
                    *m = ((&*m * b1)? + (&g * (1.0 - b1))?)?;
                    *v = ((&*v * b2)? + (g.sqr()? * (1.0 - b2))?)?;
                    let upd = ((&*m * (lr * c1))? / ((&*v * c2)?.sqrt()? + eps)?)?;
                    var.set(&var.sub(&upd)?)?;
                }
            }
        }
        Ok(())
    }

    /// The optimizer state as named tensors (`m.{i}`, `v.{i}`, `step`), for checkpoints.
    pub fn state(&self) -> Result<Vec<(String, Tensor)>> {
        let mut out = Vec::new();
        let dev = candle_core::Device::Cpu;
        for (i, (mom, var)) in self.moments.iter().zip(&self.vars).enumerate() {
            let (m, v) = match mom {
                Moments::Host { m, v } => (
                    Tensor::from_slice(m, var.shape(), &dev)?,
                    Tensor::from_slice(v, var.shape(), &dev)?,
                ),
                Moments::Device { m, v } => (
                    m.to_device(&dev)?.to_dtype(DType::F64)?,
                    v.to_device(&dev)?.to_dtype(DType::F64)?,
                ),
            };
            out.push((format!("m.{i}"), m));
            out.push((format!("v.{i}"), v));
        }
        out.push(("step".into(), Tensor::new(&[self.step as f64], &dev)?));
        Ok(out)
    }

    /// Restore a state produced by [`Adam::state`] for the same variables.
    pub fn load_state(&mut self, state: &std::collections::HashMap<String, Tensor>) -> Result<()> {
        let get = |k: &str| -> Result<&Tensor> {
            state
                .get(k)
                .ok_or_else(|| Error::config(format!("optimizer state lacks {k}")))
        };
        for (i, (mom, var)) in self.moments.iter_mut().zip(&self.vars).enumerate() {
            let (m, v) = (get(&format!("m.{i}"))?, get(&format!("v.{i}"))?);
            if m.dims() != var.dims() || v.dims() != var.dims() {
                return Err(Error::config(format!(
                    "optimizer state for parameter {i} has shape {:?}, the model {:?}",
                    m.dims(),
                    var.dims()
                )));
            }
            *mom = match mom {
                Moments::Host { .. } => Moments::Host {
                    m: m.flatten_all()?.to_dtype(DType::F64)?.to_vec1()?,
                    v: v.flatten_all()?.to_dtype(DType::F64)?.to_vec1()?,
                },
                Moments::Device { .. } => Moments::Device {
                    m: m.to_device(var.device())?.to_dtype(var.dtype())?,
                    v: v.to_device(var.device())?.to_dtype(var.dtype())?,
                },
            };
        }
        self.step = get("step")?.to_vec1::<f64>()?[0] as u64;
        Ok(())
    }
}

/// The fused host update of one parameter.
struct HostStep {
    lr: f64,
    b1: f64,
    b2: f64,
    eps: f64,
    c1: f64,
    c2: f64,
    scale: f64,
}

impl HostStep {
    fn apply<T: candle_core::WithDType>(
        &self,
        var: &Var,
        g: &Tensor,
        m: &mut [f64],
        v: &mut [f64],
    ) -> Result<()> {
        let gv = g.flatten_all()?.to_dtype(T::DTYPE)?.to_vec1::<T>()?;
        let mut pv = var.flatten_all()?.to_vec1::<T>()?;
        for i in 0..pv.len() {
            let gi = gv[i].to_f64() * self.scale;
            m[i] = self.b1 * m[i] + (1.0 - self.b1) * gi;
            v[i] = self.b2 * v[i] + (1.0 - self.b2) * gi * gi;
            let p =
                pv[i].to_f64() - self.lr * (m[i] * self.c1) / ((v[i] * self.c2).sqrt() + self.eps);
            pv[i] = T::from_f64(p);
        }
        var.set(&Tensor::from_vec(pv, var.shape(), var.device())?)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    /// One step of Adam equals the textbook update, on both code paths.
    #[test]
    fn matches_reference_update_and_candle_adamw() {
        use candle_nn::{AdamW, Optimizer, ParamsAdamW};
        let x0 = [0.5f32, -1.0, 2.0];
        let run_ours = || -> Vec<f32> {
            let v = Var::new(&x0, &Device::Cpu).unwrap();
            let mut opt = Adam::new(
                vec![v.clone()],
                AdamConfig {
                    lr: 0.1,
                    ..Default::default()
                },
            )
            .unwrap();
            for _ in 0..5 {
                let loss = v.as_tensor().sqr().unwrap().sum_all().unwrap();
                opt.backward_step(&loss, None).unwrap();
            }
            v.as_tensor().to_vec1().unwrap()
        };
        let v = Var::new(&x0, &Device::Cpu).unwrap();
        let mut reference = AdamW::new(
            vec![v.clone()],
            ParamsAdamW {
                lr: 0.1,
                weight_decay: 0.0,
                ..Default::default()
            },
        )
        .unwrap();
        for _ in 0..5 {
            let loss = v.as_tensor().sqr().unwrap().sum_all().unwrap();
            reference.backward_step(&loss).unwrap();
        }
        let want: Vec<f32> = v.as_tensor().to_vec1().unwrap();
        for (a, b) in run_ours().iter().zip(&want) {
            assert!((a - b).abs() < 1e-6, "{a} vs {b}");
        }
    }

    /// A learning-rate multiplier scales that variable's step and no other.
    #[test]
    fn lr_scales_multiply_each_variables_step() {
        let a = Var::new(&[1.0f64, -2.0], &Device::Cpu).unwrap();
        let b = Var::new(&[1.0f64, -2.0], &Device::Cpu).unwrap();
        let mut opt = Adam::new(vec![a.clone(), b.clone()], AdamConfig::default()).unwrap();
        assert!(opt.set_lr_scales(vec![1.0]).is_err());
        assert!(opt.set_lr_scales(vec![1.0, 0.0]).is_err());
        opt.set_lr_scales(vec![1.0, 30.0]).unwrap();
        // One step from equal values: equal gradients, so the steps differ by the factor.
        for _ in 0..1 {
            let loss = (a.as_tensor().sqr().unwrap().sum_all().unwrap()
                + b.as_tensor().sqr().unwrap().sum_all().unwrap())
            .unwrap();
            opt.backward_step(&loss, None).unwrap();
        }
        let da: Vec<f64> = a.as_tensor().to_vec1().unwrap();
        let db: Vec<f64> = b.as_tensor().to_vec1().unwrap();
        for (i, x0) in [1.0f64, -2.0].iter().enumerate() {
            let (sa, sb) = (x0 - da[i], x0 - db[i]);
            assert!((sb / sa - 30.0).abs() < 1e-6, "{sa} vs {sb}");
        }
    }

    #[test]
    fn clipping_bounds_the_step_and_state_round_trips() {
        let v = Var::new(&[100.0f64, 0.0], &Device::Cpu).unwrap();
        let mut opt = Adam::new(vec![v.clone()], AdamConfig::default()).unwrap();
        let loss = v.as_tensor().sqr().unwrap().sum_all().unwrap();
        let norm = opt.backward_step(&loss, Some(1.0)).unwrap();
        assert!((norm.unwrap() - 200.0).abs() < 1e-9);
        let state: std::collections::HashMap<_, _> = opt.state().unwrap().into_iter().collect();
        let mut other = Adam::new(vec![v.clone()], AdamConfig::default()).unwrap();
        other.load_state(&state).unwrap();
        assert_eq!(other.steps(), 1);
        // Same next step from restored state as from the original.
        let w = Var::from_tensor(&v.as_tensor().copy().unwrap()).unwrap();
        let mut o2 = Adam::new(vec![w.clone()], AdamConfig::default()).unwrap();
        o2.load_state(&state).unwrap();
        for (opt, var) in [(&mut opt, &v), (&mut o2, &w)] {
            let loss = var.as_tensor().sqr().unwrap().sum_all().unwrap();
            opt.backward_step(&loss, None).unwrap();
        }
        assert_eq!(
            v.as_tensor().to_vec1::<f64>().unwrap(),
            w.as_tensor().to_vec1::<f64>().unwrap()
        );
    }
}
