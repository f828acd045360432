//! The prologue of every fit: load the events, check them against the declared column
//! domains, split them (seeded), fit the standardisation on the training split (in the
//! domain maps' coordinates), and build the flow's spec with the domain layer (if any)
//! and that standardisation as its first layers.

use crate::config::{DataConfig, FitConfig};
use crate::data::{split_indices, Scaler, Table};
use crate::error::{Error, Result};
use crate::flow::{FlowBuilder, FlowConfig, FlowSpec};
use crate::pipeline::domains::{check_domains, domain_maps};
use crate::pipeline::source::{DataSource, Loaded};
use crate::transforms::domain::forward_rows;
use crate::transforms::TransformSpec;

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
    /// Standardisation fitted on the training split (after the domain maps).
    pub scaler: Scaler,
    /// The domain layer (`[data] domains`), absent when every column is real.
    pub domain: Option<TransformSpec>,
}

/// Load `source` with the `[data]` settings, split and fit the scaler.
pub fn prepare(source: &DataSource, data: &DataConfig) -> Result<Prepared> {
    let loaded = source.load(data.columns.clone(), data.drop_invalid)?;
    let domains = check_domains(
        &loaded.table,
        &data.domains,
        &source.describe(),
        loaded.report.rows_dropped,
    )?;
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
    let domain = domain_maps(&domains, &train).map(|maps| TransformSpec::Domain {
        maps,
        seed: data.seed,
    });
    let scaler = match &domain {
        Some(TransformSpec::Domain { maps, seed }) => {
            let mapped = forward_rows(maps, *seed, &train.to_rows())?;
            Scaler::fit(&Table::new(
                train.columns().to_vec(),
                mapped.into_iter().flatten().collect(),
            )?)?
        }
        _ => Scaler::fit(&train)?,
    };
    Ok(Prepared {
        loaded,
        train,
        val,
        test,
        scaler,
        domain,
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
        let spec = match &cfg.cnf {
            Some(c) => c.flow_spec(
                self.loaded.table.cols(),
                0,
                Some(self.standardize()),
                None,
                cfg.flow.seed,
            )?,
            None => return self.stack_spec(&cfg.flow),
        };
        self.with_domain(spec)
    }

    /// The `[flow]` stack `flow` for these events, the standardisation its first layer.
    pub fn stack_spec(&self, flow: &FlowConfig) -> Result<FlowSpec> {
        let mut b = FlowBuilder::new(self.loaded.table.cols(), flow.clone());
        b.standardize = Some(self.standardize());
        self.with_domain(b.build_spec()?)
    }

    /// `spec` with the domain layer (if any) put first, on the data side.
    fn with_domain(&self, mut spec: FlowSpec) -> Result<FlowSpec> {
        if let Some(d) = &self.domain {
            spec.transforms.insert(0, d.clone());
            spec.validate()?;
        }
        Ok(spec)
    }
}
