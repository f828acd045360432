//! A bounded store of weight samples (SGLD family) or ensemble members: each entry is
//! a full set of flow parameters by name. Saved with the run as
//! `bayes/samples.safetensors` (tensor names `s0003.t1.net.l0.weight`) and read back
//! by the prediction path.

use crate::error::{Error, Result};
use crate::params::Params;
use candle_core::{Device, Tensor};
use std::collections::HashMap;
use std::path::Path;

/// Weight samples, oldest first, at most `capacity` of them.
///
/// When a push finds the store full, every other sample is dropped and the stride
/// between kept samples doubles ([`SampleStore::offer`]), so the samples stay evenly
/// spread over the whole chain and memory stays bounded.
#[derive(Debug, Clone)]
pub struct SampleStore {
    samples: Vec<Vec<(String, Tensor)>>,
    capacity: usize,
    stride: usize,
    offered: usize,
}

impl SampleStore {
    /// An empty store for at most `capacity` samples (≥ 1).
    pub fn new(capacity: usize) -> Self {
        Self {
            samples: Vec::new(),
            capacity: capacity.max(1),
            stride: 1,
            offered: 0,
        }
    }

    /// Offer the current weights (a thinned chain state): kept when it falls on the
    /// current stride; the store halves itself when full.
    pub fn offer(&mut self, params: &Params) -> Result<()> {
        let k = self.offered;
        self.offered += 1;
        if !k.is_multiple_of(self.stride) {
            return Ok(());
        }
        if self.samples.len() == self.capacity {
            let kept: Vec<_> = self.samples.drain(..).step_by(2).collect();
            self.samples = kept;
            self.stride *= 2;
            if !k.is_multiple_of(self.stride) {
                return Ok(());
            }
        }
        self.push(params.snapshot()?)
    }

    /// Append a full parameter set (an ensemble member) without thinning.
    pub fn push(&mut self, snapshot: Vec<(String, Tensor)>) -> Result<()> {
        for (name, t) in &snapshot {
            let bad = t
                .to_dtype(candle_core::DType::F64)?
                .flatten_all()?
                .to_vec1::<f64>()?
                .iter()
                .any(|v| !v.is_finite());
            if bad {
                return Err(Error::config(format!(
                    "refusing to store a weight sample with non-finite values in {name}"
                )));
            }
        }
        self.samples.push(snapshot);
        Ok(())
    }

    /// Number of samples held.
    pub fn len(&self) -> usize {
        self.samples.len()
    }

    /// Whether the store is empty.
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    /// Sample `i` (parameters by name).
    pub fn get(&self, i: usize) -> Option<&[(String, Tensor)]> {
        self.samples.get(i).map(|v| v.as_slice())
    }

    /// Stride (in thinned chain states) between kept samples.
    pub fn stride(&self) -> usize {
        self.stride
    }

    /// Write every sample into one safetensors file (atomically).
    pub fn save(&self, path: &Path) -> Result<()> {
        let mut map: HashMap<String, Tensor> = HashMap::new();
        for (i, s) in self.samples.iter().enumerate() {
            for (name, t) in s {
                map.insert(format!("s{i:04}.{name}"), t.clone());
            }
        }
        crate::atomic::write_atomic_with(path, |tmp| {
            candle_core::safetensors::save(&map, tmp).map_err(|e| Error::file(path, e.to_string()))
        })
    }

    /// Read a store written by [`SampleStore::save`].
    pub fn load(path: &Path, device: &Device) -> Result<Self> {
        let map = candle_core::safetensors::load(path, device)
            .map_err(|e| Error::file(path, format!("cannot read weight samples: {e}")))?;
        let mut by_sample: std::collections::BTreeMap<usize, Vec<(String, Tensor)>> =
            Default::default();
        for (k, t) in map {
            let bad = || Error::file(path, format!("unexpected tensor name {k:?}"));
            let (head, name) = k.split_once('.').ok_or_else(bad)?;
            let i: usize = head
                .strip_prefix('s')
                .and_then(|s| s.parse().ok())
                .ok_or_else(bad)?;
            by_sample.entry(i).or_default().push((name.to_string(), t));
        }
        let mut samples: Vec<_> = by_sample.into_values().collect();
        for s in &mut samples {
            s.sort_by(|a, b| a.0.cmp(&b.0));
        }
        if samples.is_empty() {
            return Err(Error::file(path, "the file holds no weight samples"));
        }
        Ok(Self {
            capacity: samples.len(),
            samples,
            stride: 1,
            offered: 0,
        })
    }
}
