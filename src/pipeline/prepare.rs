//! The prologue of every fit: load the events, check them against the declared column
//! domains, split them (seeded), fit the standardisation on the training split (in the
//! domain maps' coordinates), and build the flow's spec with the domain layer (if any)
//! and that standardisation as its first layers.

use crate::config::{ColumnDomain, DataConfig, FitConfig};
use crate::data::{split_indices, Scaler, Table};
use crate::distributions::BaseSpec;
use crate::error::{Error, Result};
use crate::flow::{Flow, FlowBuilder, FlowConfig, FlowSpec};
use crate::pipeline::condition::ContextMap;
use crate::pipeline::domains::{check_domains, domain_maps};
use crate::pipeline::source::{DataSource, Loaded};
use crate::transforms::domain::forward_rows;
use crate::transforms::TransformSpec;
use candle_core::{DType, Device};

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
    /// The condition columns of a conditional fit (`[data] condition`); the splits
    /// above then hold the other (modelled) columns only.
    pub conditioning: Option<Conditioning>,
    /// Why `scaler` could not be fitted on the columns themselves (a constant column);
    /// [`Prepared::standardize`] then fails with it, while a `[flow]` stack whose
    /// data-side layers are standardised on their output still builds.
    pub scaler_error: Option<String>,
}

/// The condition columns of a conditional fit, split like the events.
#[derive(Debug, Clone)]
pub struct Conditioning {
    /// How condition values become the flow's context (fitted on the training split).
    pub map: ContextMap,
    /// Condition columns of the training split (original units).
    pub train: Table,
    /// Condition columns of the validation split.
    pub val: Table,
    /// Condition columns of the test split.
    pub test: Table,
}

/// Load `source` with the `[data]` settings, split and fit the scaler.
pub fn prepare(source: &DataSource, data: &DataConfig) -> Result<Prepared> {
    let mut wanted = data.columns.clone();
    if let Some(w) = &mut wanted {
        for c in &data.condition {
            if !w.contains(c) {
                w.push(c.clone());
            }
        }
    }
    let loaded = source.load(wanted, data.drop_invalid)?;
    for c in &data.condition {
        if loaded.table.column_index(c).is_none() {
            return Err(Error::config(format!(
                "condition column {c:?} is not among the data's columns {:?} ({})",
                loaded.table.columns(),
                source.describe()
            )));
        }
    }
    let domains = check_domains(
        &loaded.table,
        &data.domains,
        &source.describe(),
        loaded.report.rows_dropped,
    )?;
    let s = data.split;
    let split = split_indices(loaded.table.rows(), (s[0], s[1], s[2]), data.seed)?;
    let (mut train, mut val, mut test) = split.tables(&loaded.table);
    if test.rows() < 2 || train.rows() < 2 {
        return Err(Error::config(format!(
            "{}: {} rows are too few for a train/validation/test split",
            source.describe(),
            loaded.table.rows()
        )));
    }
    let (mut domains, mut conditioning) = (domains, None);
    if !data.condition.is_empty() {
        let (d, c, splits) =
            split_off_conditions(&data.condition, &loaded.table, domains, [train, val, test])?;
        (domains, conditioning) = (d, Some(c));
        [train, val, test] = splits;
    }
    let domain = domain_maps(&domains, &train).map(|maps| TransformSpec::Domain {
        maps,
        seed: data.seed,
    });
    let fitted = match &domain {
        Some(TransformSpec::Domain { maps, seed }) => {
            let mapped = forward_rows(maps, *seed, &train.to_rows())?;
            Scaler::fit(&Table::new(
                train.columns().to_vec(),
                mapped.into_iter().flatten().collect(),
            )?)
        }
        _ => Scaler::fit(&train),
    };
    // A constant column (e.g. an always-dark pixel) is an error only for a flow that
    // standardises the columns themselves; data-side layers are standardised on their
    // output instead (`stack_spec`).
    let (scaler, scaler_error) = match fitted {
        Ok(s) => (s, None),
        Err(e) => (
            Scaler {
                mean: vec![0.0; train.cols()],
                std: vec![1.0; train.cols()],
            },
            Some(e.to_string()),
        ),
    };
    Ok(Prepared {
        loaded,
        train,
        val,
        test,
        scaler,
        domain,
        conditioning,
        scaler_error,
    })
}

/// Split the condition columns off the three splits of a conditional fit: the domains
/// and splits of the modelled columns, and the conditions with their context map.
fn split_off_conditions(
    condition: &[String],
    table: &Table,
    domains: Vec<ColumnDomain>,
    splits: [Table; 3],
) -> Result<(Vec<ColumnDomain>, Conditioning, [Table; 3])> {
    let all = table.columns();
    let target: Vec<String> = all
        .iter()
        .filter(|c| !condition.contains(c))
        .cloned()
        .collect();
    if target.is_empty() {
        return Err(Error::config(format!(
            "[data] condition lists every column {all:?}; at least one must be left to model"
        )));
    }
    let domain_of = |c: &String| all.iter().position(|a| a == c).map(|j| domains[j]);
    let cond_domains = condition.iter().filter_map(domain_of).collect();
    let target_domains = target.iter().filter_map(domain_of).collect();
    let [train, val, test] = splits;
    let ctrain = train.select_columns(condition)?;
    let conditioning = Conditioning {
        map: ContextMap::fit(cond_domains, &ctrain)?,
        train: ctrain,
        val: val.select_columns(condition)?,
        test: test.select_columns(condition)?,
    };
    Ok((
        target_domains,
        conditioning,
        [
            train.select_columns(&target)?,
            val.select_columns(&target)?,
            test.select_columns(&target)?,
        ],
    ))
}

impl Prepared {
    /// Column names of the modelled columns, in model order (all columns unless the
    /// fit is conditional).
    pub fn columns(&self) -> &[String] {
        self.train.columns()
    }

    /// Width of the flow's context (the number of condition columns).
    pub fn context_dim(&self) -> usize {
        self.conditioning
            .as_ref()
            .map_or(0, |c| c.map.columns.len())
    }

    /// The standardisation as `(mean, std)` (an error naming a constant column when
    /// the columns cannot be standardised).
    pub fn standardize(&self) -> Result<(Vec<f64>, Vec<f64>)> {
        match &self.scaler_error {
            Some(e) => Err(Error::config(e.clone())),
            None => Ok((self.scaler.mean.clone(), self.scaler.std.clone())),
        }
    }

    /// The unconditional flow of `cfg` for these events: the CNF when `cfg.cnf` is set,
    /// else the `[flow]` stack; the standardisation is its first layer.
    pub fn flow_spec(&self, cfg: &FitConfig) -> Result<FlowSpec> {
        let spec = match &cfg.cnf {
            Some(c) => c.flow_spec(
                self.train.cols(),
                0,
                Some(self.standardize()?),
                None,
                cfg.flow.seed,
            )?,
            None => return self.stack_spec(&cfg.flow),
        };
        self.with_domain(spec)
    }

    /// The `[flow]` stack `flow` for these events: the domain layer, the `at = "data"`
    /// layers of `[flow] surjective`, the standardisation (fitted on the training split
    /// as those layers output it), then the blocks.
    pub fn stack_spec(&self, flow: &FlowConfig) -> Result<FlowSpec> {
        let mut b = FlowBuilder::new(self.train.cols(), flow.clone()).context(self.context_dim());
        b.standardize = Some(self.standardize_after(&b)?);
        self.with_domain(b.build_spec()?)
    }

    /// The standardisation of the training split as the builder's data-side layers
    /// output it (the plain one when there are none). The layers run once, in `f64` on
    /// the CPU, with their initial parameters and without a context.
    fn standardize_after(&self, b: &FlowBuilder) -> Result<(Vec<f64>, Vec<f64>)> {
        let (layers, width) = b.data_layers()?;
        if layers.is_empty() {
            return self.standardize();
        }
        let mut transforms: Vec<TransformSpec> = self.domain.iter().cloned().collect();
        transforms.extend(layers);
        let spec = FlowSpec {
            dim: self.train.cols(),
            context_dim: 0,
            embedding: None,
            base: BaseSpec::StandardNormal { dim: width },
            transforms,
        };
        spec.validate()?;
        let flow = Flow::new(spec, DType::F64, &Device::Cpu, b.flow.seed)?;
        let x = self.train.to_tensor(DType::F64, &Device::Cpu)?;
        let (z, _) = flow.to_latent(&x, None)?;
        let names = (0..width).map(|j| format!("output {j} of the data-side layers"));
        let s = Scaler::fit(&Table::new(
            names.collect(),
            z.flatten_all()?.to_vec1::<f64>()?,
        )?)?;
        Ok((s.mean, s.std))
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
