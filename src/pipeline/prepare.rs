//! The prologue of every fit: load the events, split them (seeded), fit the
//! standardisation on the training split, and build the flow's spec with that
//! standardisation as its first layer.

use crate::config::{DataConfig, FitConfig};
use crate::data::{split_indices, Scaler, Table};
use crate::error::{Error, Result};
use crate::flow::{FlowBuilder, FlowConfig, FlowSpec};
use crate::pipeline::source::{DataSource, Loaded};

/// Events loaded, split and scaled.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// All events, their read report and origin.
    pub loaded: Loaded,
    /// Training split.
    pub train: Table,
    /// Validation split (may be empty).
    pub val: Table,
    /// Test split.
    pub test: Table,
    /// Standardisation fitted on the training split.
    pub scaler: Scaler,
}

/// Load `source` with the `[data]` settings, split and fit the scaler.
pub fn prepare(source: &DataSource, data: &DataConfig) -> Result<Prepared> {
    let loaded = source.load(data.columns.clone(), data.drop_invalid)?;
    let s = data.split;
    let split = split_indices(loaded.table.rows(), (s[0], s[1], s[2]), data.seed)?;
    let (train, val, test) = split.tables(&loaded.table);
    if test.rows() < 2 || train.rows() < 2 {
        return Err(Error::config(format!(
            "{}: {} rows are too few for a train/validation/test split",
            source.describe(),
            loaded.table.rows()
        )));
    }
    let scaler = Scaler::fit(&train)?;
    Ok(Prepared {
        loaded,
        train,
        val,
        test,
        scaler,
    })
}

impl Prepared {
    /// Column names, in model order.
    pub fn columns(&self) -> &[String] {
        self.loaded.table.columns()
    }

    /// The standardisation as `(mean, std)`.
    pub fn standardize(&self) -> (Vec<f64>, Vec<f64>) {
        (self.scaler.mean.clone(), self.scaler.std.clone())
    }

    /// The unconditional flow of `cfg` for these events: the CNF when `cfg.cnf` is set,
    /// else the `[flow]` stack; the standardisation is its first layer.
    pub fn flow_spec(&self, cfg: &FitConfig) -> Result<FlowSpec> {
        match &cfg.cnf {
            Some(c) => c.flow_spec(
                self.loaded.table.cols(),
                0,
                Some(self.standardize()),
                None,
                cfg.flow.seed,
            ),
            None => self.stack_spec(&cfg.flow),
        }
    }

    /// The `[flow]` stack `flow` for these events, the standardisation its first layer.
    pub fn stack_spec(&self, flow: &FlowConfig) -> Result<FlowSpec> {
        let mut b = FlowBuilder::new(self.loaded.table.cols(), flow.clone());
        b.standardize = Some(self.standardize());
        b.build_spec()
    }
}
