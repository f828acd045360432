//! Small statistics helpers shared by the toy data set tests.

/// Arithmetic mean of `values` (NaN for an empty iterator).
pub(crate) fn mean(values: impl IntoIterator<Item = f64>) -> f64 {
    let (sum, count) = values
        .into_iter()
        .fold((0.0, 0usize), |(sum, count), v| (sum + v, count + 1));
    sum / count as f64
}

/// Sample standard deviation of `values` (with the `n - 1` denominator).
pub(crate) fn std_dev(values: impl IntoIterator<Item = f64>) -> f64 {
    let values: Vec<f64> = values.into_iter().collect();
    let m = mean(values.iter().copied());
    let ss: f64 = values.iter().map(|v| (v - m) * (v - m)).sum();
    (ss / (values.len() as f64 - 1.0)).sqrt()
}

/// Fraction of `values` for which `predicate` holds.
pub(crate) fn fraction<T>(values: &[T], predicate: impl Fn(&T) -> bool) -> f64 {
    values.iter().filter(|v| predicate(v)).count() as f64 / values.len() as f64
}

/// Asserts `|actual - expected| <= tolerance`, naming `what` on failure.
pub(crate) fn assert_close(what: &str, actual: f64, expected: f64, tolerance: f64) {
    assert!(
        (actual - expected).abs() <= tolerance,
        "{what}: got {actual}, expected {expected} ± {tolerance}"
    );
}
