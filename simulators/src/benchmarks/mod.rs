//! Simulation-based-inference benchmark tasks, defined exactly as in the
//! `sbibm` package (Lueckmann et al., 2021):
//!
//! * [`TwoMoons`] — `two_moons`, 2 parameters, 2 observations;
//! * [`GaussianLinear`] — `gaussian_linear`, 10 parameters, 10 observations,
//!   prior and noise *covariance* `0.1·I`;
//! * [`Slcp`] — `slcp`, 5 parameters, 8 observations (4 iid 2-D draws);
//! * [`SbibmSir`] — `sir`, 2 parameters, 10 binomial counts of infected
//!   people (out of 1000) on days 0, 17, …, 153 of an ODE epidemic;
//! * [`LotkaVolterra`] — `lotka_volterra`, 4 parameters, 20 log-normal
//!   observations (prey then predators at t = 0, 2.1, …, 18.9).
//!
//! Parameter and observation indices follow `sbibm` (`parameter_1` is
//! `theta[0]`, `data_1` is `x[0]`), so its reference observations and
//! posterior samples can be used directly.

pub mod gaussian_linear;
pub mod lotka_volterra;
pub(crate) mod ode;
pub mod sir;
pub mod slcp;
pub mod two_moons;

pub use gaussian_linear::GaussianLinear;
pub use lotka_volterra::LotkaVolterra;
pub use sir::SbibmSir;
pub use slcp::Slcp;
pub use two_moons::TwoMoons;

#[cfg(test)]
pub(crate) mod test_data {
    //! Readers for the `sbibm` reference files shipped under
    //! `shared/data/sbibm/<task>/num_observation_<k>/`.

    use std::path::PathBuf;

    /// Directory of reference observation `k` of `task`, or `None` (with a
    /// printed note) when the data is not available.
    pub fn observation_dir(task: &str, k: usize) -> Option<PathBuf> {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../shared/data/sbibm")
            .join(task)
            .join(format!("num_observation_{k}"));
        if dir.is_dir() {
            Some(dir)
        } else {
            eprintln!(
                "note: sbibm reference data not found at {}; skipping check",
                dir.display()
            );
            None
        }
    }

    /// Reads a CSV with one header line into rows of `f64`.
    pub fn read_csv(path: &std::path::Path) -> Vec<Vec<f64>> {
        let text = std::fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        text.lines()
            .skip(1)
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                l.split(',')
                    .map(|v| v.trim().parse::<f64>().expect("numeric csv field"))
                    .collect()
            })
            .collect()
    }

    /// `(true_parameters, observation)` of reference observation `k`.
    pub fn true_parameters_and_observation(task: &str, k: usize) -> Option<(Vec<f64>, Vec<f64>)> {
        let dir = observation_dir(task, k)?;
        let theta = read_csv(&dir.join("true_parameters.csv")).remove(0);
        let x = read_csv(&dir.join("observation.csv")).remove(0);
        Some((theta, x))
    }
}
