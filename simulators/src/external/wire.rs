//! The CSV wire format shared by the external simulator and integrand: rows
//! of `f64` written with `{}` (shortest representation that reads back to the
//! same value), comma-separated, no header, one row per line.

use std::fmt::Write;

/// Writes `rows` as CSV lines (no header), values formatted with `{}`.
pub(crate) fn format_rows<'a>(rows: impl IntoIterator<Item = &'a [f64]>) -> Vec<u8> {
    let mut text = String::new();
    for row in rows {
        for (j, v) in row.iter().enumerate() {
            if j > 0 {
                text.push(',');
            }
            let _ = write!(text, "{v}");
        }
        text.push('\n');
    }
    text.into_bytes()
}

/// Splits program output into lines (`\n` or `\r\n`; a final newline does not
/// start an extra line).
pub(crate) fn output_lines(stdout: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// Parses one value (surrounding spaces allowed) or says why it is not a
/// number; non-finite values are returned as parsed.
pub(crate) fn parse_value(field: &str) -> Result<f64, String> {
    let field = field.trim();
    field
        .parse::<f64>()
        .map_err(|_| format!("cannot parse `{}` as a number", shorten(field)))
}

/// Parses a line of exactly `expected` comma-separated finite values; the
/// error names the (1-based) column.
pub(crate) fn parse_finite_row(line: &str, expected: usize) -> Result<Vec<f64>, String> {
    let fields: Vec<&str> = line.split(',').collect();
    if fields.len() != expected {
        return Err(format!(
            "output line has {} columns, expected {expected}: `{}`",
            fields.len(),
            shorten(line)
        ));
    }
    fields
        .iter()
        .enumerate()
        .map(|(j, field)| {
            let column = j + 1;
            let v = parse_value(field).map_err(|e| format!("column {column}: {e}"))?;
            if v.is_finite() {
                Ok(v)
            } else {
                Err(format!("column {column}: non-finite value {v}"))
            }
        })
        .collect()
}

/// A row of values received as binary `f64`: itself if finite, else the (1-based)
/// column of the first non-finite value.
pub(crate) fn finite_row(values: &[f64]) -> Result<Vec<f64>, String> {
    match values.iter().position(|v| !v.is_finite()) {
        Some(j) => Err(format!("column {}: non-finite value {}", j + 1, values[j])),
        None => Ok(values.to_vec()),
    }
}

/// At most 80 characters of `s`, for quoting in messages.
fn shorten(s: &str) -> String {
    match s.char_indices().nth(80) {
        Some((cut, _)) => format!("{}…", &s[..cut]),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_round_trip_at_full_precision() {
        let rows = [
            vec![0.1 + 0.2, -1e-300, 1e300],
            vec![f64::MIN_POSITIVE, 3.0, -0.0],
        ];
        let bytes = format_rows(rows.iter().map(Vec::as_slice));
        let lines = output_lines(&bytes);
        assert_eq!(lines.len(), 2);
        for (line, row) in lines.iter().zip(&rows) {
            let parsed = parse_finite_row(line, 3).unwrap();
            assert_eq!(&parsed, row);
        }
        assert!(lines[0].starts_with("0.30000000000000004,"), "{}", lines[0]);
    }

    #[test]
    fn bad_rows_name_the_column() {
        assert_eq!(parse_finite_row(" 1, 2.5 ", 2).unwrap(), vec![1.0, 2.5]);
        let e = parse_finite_row("1,2", 3).unwrap_err();
        assert!(e.contains("2 columns, expected 3"), "{e}");
        let e = parse_finite_row("1,abc,3", 3).unwrap_err();
        assert!(e.contains("column 2") && e.contains("`abc`"), "{e}");
        let e = parse_finite_row("1,2,nan", 3).unwrap_err();
        assert!(e.contains("column 3") && e.contains("NaN"), "{e}");
        let e = parse_finite_row("-inf,2,3", 3).unwrap_err();
        assert!(e.contains("column 1") && e.contains("-inf"), "{e}");
        assert_eq!(output_lines(b"1\r\n2\n"), vec!["1", "2"]);
    }
}
