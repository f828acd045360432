//! Trainable parameters: a named store (candle's `VarMap`) whose fresh values come
//! from a seeded generator, so the same seed always builds the same model.

use crate::error::{Error, Result};
use candle_core::{DType, Device, Shape, Tensor, Var};
use candle_nn::VarMap;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, StandardNormal};
use std::sync::{Arc, Mutex};

/// How a new parameter is initialised.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Init {
    /// All zeros.
    Zeros,
    /// Every entry the same value.
    Const(f64),
    /// Uniform on `[-bound, bound]`.
    Uniform(f64),
    /// Normal with mean 0 and the given standard deviation.
    Normal(f64),
}

/// A handle on the parameter store with a name prefix; cheap to clone.
///
/// `get` returns the existing variable when the name is present (so a model built
/// twice on the same store shares its weights) and creates it from the seeded
/// generator otherwise.
#[derive(Clone)]
pub struct Params {
    varmap: VarMap,
    prefix: String,
    dtype: DType,
    device: Device,
    rng: Arc<Mutex<StdRng>>,
}

impl std::fmt::Debug for Params {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Params(prefix={:?}, dtype={:?})",
            self.prefix, self.dtype
        )
    }
}

impl Params {
    /// A new, empty store for `dtype` on `device`, initialising from `seed`.
    pub fn new(dtype: DType, device: &Device, seed: u64) -> Self {
        Self {
            varmap: VarMap::new(),
            prefix: String::new(),
            dtype,
            device: device.clone(),
            rng: Arc::new(Mutex::new(StdRng::seed_from_u64(seed))),
        }
    }

    /// The same store with `name` appended to the prefix (`a.b.name`).
    pub fn pp(&self, name: impl AsRef<str>) -> Self {
        let mut p = self.clone();
        p.prefix = if self.prefix.is_empty() {
            name.as_ref().to_string()
        } else {
            format!("{}.{}", self.prefix, name.as_ref())
        };
        p
    }

    /// The model dtype.
    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// The device the parameters live on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// The full name of parameter `name` under the current prefix.
    pub fn full_name(&self, name: &str) -> String {
        if self.prefix.is_empty() {
            name.to_string()
        } else {
            format!("{}.{}", self.prefix, name)
        }
    }

    /// Get or create the trainable parameter `name` with the given shape.
    pub fn get(&self, name: &str, shape: impl Into<Shape>, init: Init) -> Result<Tensor> {
        let shape = shape.into();
        let path = self.full_name(name);
        let mut data = self.varmap.data().lock().expect("parameter store poisoned");
        if let Some(v) = data.get(&path) {
            if v.shape() != &shape {
                return Err(Error::config(format!(
                    "parameter {path}: shape {:?} in the store, {:?} requested",
                    v.dims(),
                    shape.dims()
                )));
            }
            return Ok(v.as_tensor().clone());
        }
        let values = {
            let mut rng = self.rng.lock().expect("rng poisoned");
            sample_init(init, shape.elem_count(), &mut rng)
        };
        let t = Tensor::from_vec(values, shape, &self.device)?.to_dtype(self.dtype)?;
        let var = Var::from_tensor(&t)?;
        let out = var.as_tensor().clone();
        data.insert(path, var);
        Ok(out)
    }

    /// Overwrite the value of an existing parameter (used by data-dependent initialisation).
    pub fn set(&self, name: &str, value: &Tensor) -> Result<()> {
        let path = self.full_name(name);
        let data = self.varmap.data().lock().expect("parameter store poisoned");
        let var = data
            .get(&path)
            .ok_or_else(|| Error::config(format!("no parameter named {path}")))?;
        var.set(&value.to_dtype(self.dtype)?)?;
        Ok(())
    }

    /// Every trainable variable, sorted by name (a stable order for optimizers).
    pub fn all_vars(&self) -> Vec<Var> {
        self.named_vars().into_iter().map(|(_, v)| v).collect()
    }

    /// Every trainable variable with its full name, sorted by name (the order of
    /// [`Params::all_vars`]).
    pub fn named_vars(&self) -> Vec<(String, Var)> {
        let data = self.varmap.data().lock().expect("parameter store poisoned");
        let mut named: Vec<(String, Var)> =
            data.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        named.sort_by(|a, b| a.0.cmp(&b.0));
        named
    }

    /// Number of trainable scalars.
    pub fn num_parameters(&self) -> usize {
        self.all_vars().iter().map(|v| v.elem_count()).sum()
    }

    /// The underlying variable map (for saving and loading).
    pub fn varmap(&self) -> &VarMap {
        &self.varmap
    }

    /// Mutable access to the underlying variable map.
    pub fn varmap_mut(&mut self) -> &mut VarMap {
        &mut self.varmap
    }

    /// Copies of every parameter, by name (sorted), for checkpoints and rollbacks.
    pub fn snapshot(&self) -> Result<Vec<(String, Tensor)>> {
        let data = self.varmap.data().lock().expect("parameter store poisoned");
        let mut out = data
            .iter()
            .map(|(k, v)| Ok((k.clone(), v.as_tensor().copy()?)))
            .collect::<Result<Vec<_>>>()?;
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    /// Set every parameter from a snapshot (names and shapes must match the store).
    pub fn restore(&self, snapshot: &[(String, Tensor)]) -> Result<()> {
        let data = self.varmap.data().lock().expect("parameter store poisoned");
        if snapshot.len() != data.len() {
            return Err(Error::config(format!(
                "snapshot has {} parameters, the model {}",
                snapshot.len(),
                data.len()
            )));
        }
        for (name, t) in snapshot {
            let var = data.get(name).ok_or_else(|| {
                Error::config(format!("snapshot parameter {name} is not in the model"))
            })?;
            var.set(&t.to_device(var.device())?.to_dtype(var.dtype())?)?;
        }
        Ok(())
    }

    /// Draw a fresh seed from the store's generator (for components that need their
    /// own seeded randomness at build time, e.g. random permutations).
    pub fn next_seed(&self) -> u64 {
        self.rng.lock().expect("rng poisoned").random()
    }
}

fn sample_init(init: Init, n: usize, rng: &mut StdRng) -> Vec<f64> {
    match init {
        Init::Zeros => vec![0.0; n],
        Init::Const(c) => vec![c; n],
        Init::Uniform(b) => (0..n).map(|_| rng.random_range(-b..=b)).collect(),
        Init::Normal(s) => (0..n)
            .map(|_| s * <StandardNormal as Distribution<f64>>::sample(&StandardNormal, rng))
            .collect(),
    }
}
