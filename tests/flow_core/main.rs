//! Integration tests of the flow core (one test binary to keep link time down).

mod bad_input;
mod classic_flows;
mod common;
mod domains;
mod embeddings;
mod flow_density;
mod flow_io;
mod flow_sampling;
mod sbi;
mod surjective;
mod surjective_layers;
mod surjective_sets;
mod trainer;
mod training;
mod transform_properties;
