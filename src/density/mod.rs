//! Density estimation jobs. This holds the flow core's main job: fit a flow to a
//! built-in 2-D toy data set, report test NLL against the best Gaussian, write samples.

pub mod toy_fit;

pub use toy_fit::{fit_toy, ToyFitConfig, ToyFitReport};
