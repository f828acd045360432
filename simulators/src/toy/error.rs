//! Error returned when a toy data set name cannot be parsed.

use thiserror::Error;

use super::ToyDataset;

/// The string given to [`ToyDataset::from_str`](std::str::FromStr::from_str)
/// does not name a built-in toy data set.
///
/// The message lists every valid name, so it can be shown to a user as is.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("unknown toy data set `{input}`; valid names are: {}", valid_names())]
pub struct ParseToyDatasetError {
    /// The string that failed to parse, as given.
    pub input: String,
}

impl ParseToyDatasetError {
    /// Creates the error for the unparsable string `input`.
    pub fn new(input: impl Into<String>) -> Self {
        Self {
            input: input.into(),
        }
    }
}

/// Comma-separated list of the accepted names, including the
/// `gaussian-ring-<k>` form.
fn valid_names() -> String {
    let mut names: Vec<String> = ToyDataset::all().iter().map(ToyDataset::name).collect();
    names.insert(
        names
            .iter()
            .position(|name| name == "gaussian-ring")
            .map_or(names.len(), |i| i + 1),
        "gaussian-ring-<k> (k >= 1)".to_owned(),
    );
    names.join(", ")
}
