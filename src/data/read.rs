//! Reading a [`Table`] from a CSV or JSON file, with errors that point at the
//! offending row and column.

use super::table::{first_duplicate, Table};
use crate::error::{Error, Result};
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use std::fmt;
use std::path::Path;

/// What to read from a file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReadOptions {
    /// The columns to read, by name, in the order wanted in the table; `None` reads
    /// every column in file order. Only these columns are parsed, so other columns may
    /// hold anything (text identifiers, dates, ...).
    pub columns: Option<Vec<String>>,
    /// Drop (and count) rows whose selected cells are empty, non-numeric or non-finite
    /// instead of failing. Structural problems (unknown or missing columns, ragged rows,
    /// malformed JSON) still fail.
    pub drop_invalid: bool,
}

/// What [`read_table`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadReport {
    /// Data rows found in the file (kept plus dropped; the header is not counted).
    pub rows_read: usize,
    /// Rows dropped because of invalid values (only with `drop_invalid`).
    pub rows_dropped: usize,
    /// Why the first dropped row was dropped (e.g. `row 17 (line 18), column "energy":
    /// empty cell; ...`), without the file name.
    pub first_dropped: Option<String>,
}

/// Read a table from `path`; the format comes from the extension (`.csv` or `.json`,
/// any case).
///
/// * **CSV**: the first non-empty line is a header of unique, non-empty column names;
///   every data line has one field per header column; fields are trimmed; a UTF-8 BOM
///   is ignored; blank (empty or whitespace-only) lines are skipped.
/// * **JSON**: either an array of objects, one per row (`[{"a": 1, "b": 2}, ...]`; the
///   columns and their order come from the first object), or an object of equal-length
///   arrays (`{"a": [...], "b": [...]}`; columns in key order). `null` counts as an empty
///   cell, strings and booleans as non-numeric values.
///
/// Every value read must be a finite number. Errors are [`Error::File`] naming the file,
/// the 1-based data row (CSV: `row 17 (line 18)`, the line number in the file), the
/// column and what was found versus expected. The file is only read, never written.
pub fn read_table(path: &Path, opts: &ReadOptions) -> Result<(Table, ReadReport)> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let format = match ext.as_deref() {
        Some("csv") => Format::Csv,
        Some("json") => Format::Json,
        _ => {
            return Err(Error::file(
                path,
                format!(
                    "unsupported file type {:?}; expected a .csv or .json file",
                    ext.unwrap_or_default()
                ),
            ))
        }
    };
    if let Some(req) = &opts.columns {
        if req.is_empty() {
            return Err(Error::file(
                path,
                "ReadOptions::columns is an empty list; expected at least one column name (or None for all)",
            ));
        }
        if let Some((a, b)) = first_duplicate(req) {
            return Err(Error::file(
                path,
                format!(
                    "column {:?} is requested twice (requested positions {} and {}); each column may be read once",
                    req[a],
                    a + 1,
                    b + 1
                ),
            ));
        }
    }
    let bytes = std::fs::read(path).map_err(|e| Error::file(path, format!("cannot read: {e}")))?;
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(Error::file(
            path,
            match format {
                Format::Csv => "empty file; expected a header row and at least one data row",
                Format::Json => {
                    "empty file; expected a JSON array of objects or an object of arrays"
                }
            },
        ));
    }
    let mut sink = Sink::new(path, opts.drop_invalid);
    let columns = match format {
        Format::Csv => read_csv(bytes, opts, &mut sink)?,
        Format::Json => read_json(bytes, opts, &mut sink)?,
    };
    sink.finish(columns)
}

#[derive(Clone, Copy)]
enum Format {
    Csv,
    Json,
}

/// A cell that could not be turned into a finite number (droppable).
enum Bad {
    Empty,
    NotNumber(String),
    NonFinite(String),
}

impl Bad {
    fn describe(&self, expected: &str) -> String {
        match self {
            Bad::Empty => format!("empty cell; expected {expected}"),
            Bad::NotNumber(found) => format!("found {found}; expected {expected}"),
            Bad::NonFinite(found) => {
                format!("found {found}, which is not finite; expected {expected} (NaN and ±Inf are not allowed)")
            }
        }
    }
}

/// Parse one trimmed CSV field.
fn parse_field(s: &str) -> std::result::Result<f64, Bad> {
    if s.is_empty() {
        return Err(Bad::Empty);
    }
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        Ok(_) => Err(Bad::NonFinite(format!("{s:?}"))),
        Err(_) => Err(Bad::NotNumber(format!("{s:?}"))),
    }
}

/// Collects the values of the kept rows and the drop statistics.
struct Sink<'a> {
    path: &'a Path,
    drop_invalid: bool,
    values: Vec<f64>,
    rows_read: usize,
    rows_dropped: usize,
    first_dropped: Option<String>,
}

impl<'a> Sink<'a> {
    fn new(path: &'a Path, drop_invalid: bool) -> Self {
        Self {
            path,
            drop_invalid,
            values: Vec::new(),
            rows_read: 0,
            rows_dropped: 0,
            first_dropped: None,
        }
    }

    fn err(&self, msg: impl Into<String>) -> Error {
        Error::file(self.path, msg)
    }

    /// Add one row: `cell(k)` gives the value of the k-th selected column.
    fn row(
        &mut self,
        names: &[String],
        at: &str,
        mut cell: impl FnMut(usize) -> std::result::Result<f64, Bad>,
    ) -> Result<()> {
        self.rows_read += 1;
        let start = self.values.len();
        for (k, name) in names.iter().enumerate() {
            match cell(k) {
                Ok(v) => self.values.push(v),
                Err(bad) => {
                    let msg = format!("{at}, column {name:?}: {}", bad.describe("a finite number"));
                    if !self.drop_invalid {
                        return Err(
                            self.err(format!("{msg} (--drop-invalid, or drop_invalid = true in the spec, skips such rows)"))
                        );
                    }
                    self.values.truncate(start);
                    self.rows_dropped += 1;
                    if self.first_dropped.is_none() {
                        self.first_dropped = Some(msg);
                    }
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    fn finish(self, columns: Vec<String>) -> Result<(Table, ReadReport)> {
        if self.rows_read == 0 {
            return Err(self.err("no data rows; expected at least one row of values"));
        }
        if self.rows_dropped == self.rows_read {
            return Err(self.err(format!(
                "all {} data rows were dropped as invalid; the first: {}",
                self.rows_read,
                self.first_dropped.as_deref().unwrap_or("?")
            )));
        }
        let table =
            Table::new(columns, self.values).map_err(|e| Error::file(self.path, e.to_string()))?;
        let report = ReadReport {
            rows_read: self.rows_read,
            rows_dropped: self.rows_dropped,
            first_dropped: self.first_dropped,
        };
        Ok((table, report))
    }
}

/// Indices into `available` of the requested columns (all when none are requested).
fn resolve(
    sink: &Sink,
    available: &[String],
    requested: &Option<Vec<String>>,
    source: &str,
) -> Result<Vec<usize>> {
    let Some(req) = requested else {
        return Ok((0..available.len()).collect());
    };
    req.iter()
        .map(|name| {
            available.iter().position(|a| a == name).ok_or_else(|| {
                sink.err(format!(
                    "requested column {name:?} is not in the {source}; available columns: {}",
                    list(available)
                ))
            })
        })
        .collect()
}

fn list(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("{n:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn check_names(sink: &Sink, names: &[String], source: &str) -> Result<()> {
    if let Some(j) = names.iter().position(|n| n.is_empty()) {
        return Err(sink.err(format!(
            "{source}: column {} has an empty name; expected a non-empty, unique name for every column (columns: {})",
            j + 1,
            list(names)
        )));
    }
    if let Some((a, b)) = first_duplicate(names) {
        return Err(sink.err(format!(
            "{source}: column {:?} appears twice (columns {} and {}); column names must be unique",
            names[a],
            a + 1,
            b + 1
        )));
    }
    Ok(())
}

// ───────────────────────────────────────── CSV ─────────────────────────────────────────

fn read_csv(bytes: &[u8], opts: &ReadOptions, sink: &mut Sink) -> Result<Vec<String>> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(bytes);
    let mut records = rdr.records();
    // The csv crate reports the position where it started reading a record, before the
    // empty lines it skips; move past those to the record's first line.
    let line_of = |r: &csv::StringRecord| {
        r.position().map_or(0, |p| {
            let rest = bytes.get(p.byte() as usize..).unwrap_or_default();
            let skipped = rest
                .iter()
                .take_while(|b| matches!(b, b'\n' | b'\r'))
                .filter(|&&b| b == b'\n')
                .count();
            p.line() + skipped as u64
        })
    };
    let csv_err = |sink: &Sink, e: csv::Error| {
        let line = e
            .position()
            .map(|p| format!("line {}: ", p.line()))
            .unwrap_or_default();
        sink.err(format!("{line}malformed CSV: {e}"))
    };
    let is_blank = |r: &csv::StringRecord| r.len() == 1 && r[0].is_empty();

    // Header: the first non-blank record.
    let header = loop {
        match records.next() {
            None => {
                return Err(sink.err("empty file; expected a header row and at least one data row"))
            }
            Some(Err(e)) => return Err(csv_err(sink, e)),
            Some(Ok(r)) if is_blank(&r) => continue,
            Some(Ok(r)) => break r,
        }
    };
    let header_at = format!("header (line {})", line_of(&header));
    let names: Vec<String> = header.iter().map(str::to_string).collect();
    check_names(sink, &names, &header_at)?;
    let sel = resolve(sink, &names, &opts.columns, &header_at)?;
    let out: Vec<String> = sel.iter().map(|&j| names[j].clone()).collect();

    let mut row = 0usize;
    for rec in records {
        let rec = rec.map_err(|e| csv_err(sink, e))?;
        if is_blank(&rec) {
            continue;
        }
        row += 1;
        let at = format!("row {row} (line {})", line_of(&rec));
        if rec.len() != names.len() {
            let detail = if rec.len() < names.len() {
                format!("column {:?} has no value", names[rec.len()])
            } else {
                format!(
                    "field {} comes after the last column {:?}",
                    names.len() + 1,
                    names[names.len() - 1]
                )
            };
            return Err(sink.err(format!(
                "{at}: found {} fields, expected {} (one per header column); {detail}",
                rec.len(),
                names.len()
            )));
        }
        sink.row(&out, &at, |k| parse_field(&rec[sel[k]]))?;
    }
    Ok(out)
}

// ───────────────────────────────────────── JSON ────────────────────────────────────────

/// A JSON value that keeps object keys in file order and keeps duplicate keys
/// (`serde_json::Value` sorts keys unless serde_json's `preserve_order` feature is on,
/// and silently keeps the last of duplicate keys).
enum J {
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    Arr(Vec<J>),
    Obj(Vec<(String, J)>),
}

impl J {
    /// The value as "found …" text for messages.
    fn found(&self) -> String {
        match self {
            J::Null => "null".into(),
            J::Bool(b) => format!("{b}"),
            J::Num(v) => format!("{v}"),
            J::Str(s) if s.trim().parse::<f64>().is_ok() => {
                format!("the string {s:?} (numbers must not be quoted)")
            }
            J::Str(s) => format!("the string {s:?}"),
            J::Arr(_) => "an array".into(),
            J::Obj(_) => "an object".into(),
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            J::Null => "null",
            J::Bool(_) => "a boolean",
            J::Num(_) => "a number",
            J::Str(_) => "a string",
            J::Arr(_) => "an array",
            J::Obj(_) => "an object",
        }
    }
}

impl<'de> Deserialize<'de> for J {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        d.deserialize_any(JVisitor)
    }
}

struct JVisitor;

impl<'de> Visitor<'de> for JVisitor {
    type Value = J;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_unit<E: de::Error>(self) -> std::result::Result<J, E> {
        Ok(J::Null)
    }
    fn visit_none<E: de::Error>(self) -> std::result::Result<J, E> {
        Ok(J::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> std::result::Result<J, D::Error> {
        J::deserialize(d)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> std::result::Result<J, E> {
        Ok(J::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> std::result::Result<J, E> {
        Ok(J::Num(v as f64))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> std::result::Result<J, E> {
        Ok(J::Num(v as f64))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> std::result::Result<J, E> {
        Ok(J::Num(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<J, E> {
        Ok(J::Str(v.to_string()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> std::result::Result<J, E> {
        Ok(J::Str(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<J, A::Error> {
        let mut v = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(x) = seq.next_element()? {
            v.push(x);
        }
        Ok(J::Arr(v))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<J, A::Error> {
        let mut v = Vec::with_capacity(map.size_hint().unwrap_or(0));
        while let Some(kv) = map.next_entry::<String, J>()? {
            v.push(kv);
        }
        Ok(J::Obj(v))
    }
}

/// A JSON cell as a finite number.
fn json_cell(v: &J) -> std::result::Result<f64, Bad> {
    match v {
        J::Num(x) if x.is_finite() => Ok(*x),
        J::Num(x) => Err(Bad::NonFinite(format!("{x}"))),
        J::Null => Err(Bad::Empty),
        other => Err(Bad::NotNumber(other.found())),
    }
}

fn read_json(bytes: &[u8], opts: &ReadOptions, sink: &mut Sink) -> Result<Vec<String>> {
    let root: J = serde_json::from_slice(bytes).map_err(|e| {
        let text = String::from_utf8_lossy(bytes);
        let hint = if text.contains("NaN") || text.contains("Infinity") {
            " (JSON has no NaN or Infinity; write non-finite values as null or remove the rows)"
        } else {
            ""
        };
        sink.err(format!("malformed JSON: {e}{hint}"))
    })?;
    const LAYOUTS: &str = "expected an array of objects ([{\"a\": 1, \"b\": 2}, ...]) or an object of equal-length arrays ({\"a\": [...], \"b\": [...]})";
    match root {
        J::Arr(rows) => json_rows(&rows, opts, sink),
        J::Obj(cols) => json_columns(&cols, opts, sink),
        other => Err(sink.err(format!(
            "found {} at the top level; {LAYOUTS}",
            other.kind()
        ))),
    }
}

/// `[{"a": 1, "b": 2}, ...]`
fn json_rows(rows: &[J], opts: &ReadOptions, sink: &mut Sink) -> Result<Vec<String>> {
    let objects: Vec<&[(String, J)]> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| match r {
            J::Obj(kv) => Ok(kv.as_slice()),
            other => Err(sink.err(format!(
                "row {}: found {}; expected an object {{\"column\": number, ...}} (the file is an array of rows)",
                i + 1,
                other.kind()
            ))),
        })
        .collect::<Result<_>>()?;
    let Some(first) = objects.first() else {
        return Err(sink.err("no data rows (the array is empty); expected at least one row"));
    };
    let names: Vec<String> = first.iter().map(|(k, _)| k.clone()).collect();
    check_names(sink, &names, "row 1")?;
    let sel = resolve(sink, &names, &opts.columns, "first row (row 1)")?;
    let out: Vec<String> = sel.iter().map(|&j| names[j].clone()).collect();

    let mut cells: Vec<&J> = Vec::with_capacity(out.len());
    for (i, obj) in objects.iter().enumerate() {
        let at = format!("row {}", i + 1);
        let keys: Vec<String> = obj.iter().map(|(k, _)| k.clone()).collect();
        if let Some((a, _)) = first_duplicate(&keys) {
            return Err(sink.err(format!(
                "{at}: column {:?} appears twice in the object; column names must be unique",
                keys[a]
            )));
        }
        if opts.columns.is_none() {
            if let Some(k) = keys.iter().find(|k| !names.contains(k)) {
                return Err(sink.err(format!(
                    "{at}: column {k:?} is not in row 1; every row must have the same columns ({})",
                    list(&names)
                )));
            }
        }
        cells.clear();
        for name in &out {
            match obj.iter().find(|(k, _)| k == name) {
                Some((_, v)) => cells.push(v),
                None => {
                    return Err(sink.err(format!(
                        "{at}: missing column {name:?}; this row has: {}",
                        list(&keys)
                    )))
                }
            }
        }
        for (name, v) in out.iter().zip(&cells) {
            if matches!(v, J::Arr(_) | J::Obj(_)) {
                return Err(sink.err(format!(
                    "{at}, column {name:?}: found {}; expected a number",
                    v.kind()
                )));
            }
        }
        sink.row(&out, &at, |k| json_cell(cells[k]))?;
    }
    Ok(out)
}

/// `{"a": [...], "b": [...]}`
fn json_columns(cols: &[(String, J)], opts: &ReadOptions, sink: &mut Sink) -> Result<Vec<String>> {
    if cols.is_empty() {
        return Err(sink.err("the object has no columns; expected {\"column\": [numbers...], ...}"));
    }
    let names: Vec<String> = cols.iter().map(|(k, _)| k.clone()).collect();
    check_names(sink, &names, "top-level object")?;
    let sel = resolve(sink, &names, &opts.columns, "top-level object")?;
    let out: Vec<String> = sel.iter().map(|&j| names[j].clone()).collect();
    // Without a selection every column must be an array of the same length; with one,
    // only the selected columns are checked.
    let checked: Vec<usize> = if opts.columns.is_some() {
        sel.clone()
    } else {
        (0..names.len()).collect()
    };
    let mut arrays: Vec<Option<&[J]>> = vec![None; names.len()];
    for &j in &checked {
        match &cols[j].1 {
            J::Arr(a) => arrays[j] = Some(a.as_slice()),
            other => {
                return Err(sink.err(format!(
                    "column {:?}: found {}; expected an array with one number per row",
                    names[j],
                    other.kind()
                )))
            }
        }
    }
    let j0 = checked[0];
    let n = arrays[j0].map_or(0, <[J]>::len);
    for &j in &checked[1..] {
        let m = arrays[j].map_or(0, <[J]>::len);
        if m != n {
            let short = if m < n { j } else { j0 };
            return Err(sink.err(format!(
                "column {:?} has {m} values but column {:?} has {n}; row {} is missing from column {:?} (all columns must have the same length)",
                names[j],
                names[j0],
                m.min(n) + 1,
                names[short],
            )));
        }
    }
    for i in 0..n {
        let at = format!("row {}", i + 1);
        for (k, &j) in sel.iter().enumerate() {
            let v = &arrays[j].expect("selected columns are checked")[i];
            if matches!(v, J::Arr(_) | J::Obj(_)) {
                return Err(sink.err(format!(
                    "{at}, column {:?}: found {}; expected a number",
                    out[k],
                    v.kind()
                )));
            }
        }
        sink.row(&out, &at, |k| {
            json_cell(&arrays[sel[k]].expect("checked")[i])
        })?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A fixture file in the temp directory, removed on drop.
    struct Fixture(PathBuf);

    impl Fixture {
        fn new(name: &str, contents: &str) -> Self {
            static N: AtomicUsize = AtomicUsize::new(0);
            let path = std::env::temp_dir().join(format!(
                "flowinfer_read_{}_{}_{name}",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            ));
            std::fs::write(&path, contents).unwrap();
            Fixture(path)
        }
        fn name(&self) -> String {
            self.0.file_name().unwrap().to_string_lossy().into_owned()
        }
    }

    impl Drop for Fixture {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    fn all() -> ReadOptions {
        ReadOptions::default()
    }

    fn cols(v: &[&str]) -> ReadOptions {
        ReadOptions {
            columns: Some(v.iter().map(|s| s.to_string()).collect()),
            drop_invalid: false,
        }
    }

    fn dropping() -> ReadOptions {
        ReadOptions {
            columns: None,
            drop_invalid: true,
        }
    }

    /// Read `contents` as `name`, expect an error containing the file name and every
    /// `needles` entry; returns the message.
    fn expect_err(name: &str, contents: &str, opts: &ReadOptions, needles: &[&str]) -> String {
        let f = Fixture::new(name, contents);
        let err = read_table(&f.0, opts).expect_err("expected an error");
        assert!(matches!(err, Error::File { .. }), "{err:?}");
        let msg = err.to_string();
        assert!(
            msg.contains(&f.name()),
            "message lacks the file name: {msg}"
        );
        for n in needles {
            assert!(msg.contains(n), "message lacks {n:?}: {msg}");
        }
        msg
    }

    const CSV: &str = "a, b ,c\n1,2,3\n 4 , 5.5 ,-6e-1\n\n7,8,9\n";

    #[test]
    fn csv_basic_trim_blank_lines_bom() {
        let f = Fixture::new("basic.csv", CSV);
        let (t, rep) = read_table(&f.0, &all()).unwrap();
        assert_eq!(t.columns(), &["a", "b", "c"]);
        assert_eq!(t.values(), &[1.0, 2.0, 3.0, 4.0, 5.5, -0.6, 7.0, 8.0, 9.0]);
        assert_eq!(
            rep,
            ReadReport {
                rows_read: 3,
                rows_dropped: 0,
                first_dropped: None
            }
        );
        let g = Fixture::new("bom.CSV", &format!("\u{feff}{CSV}"));
        assert_eq!(read_table(&g.0, &all()).unwrap().0, t);
    }

    #[test]
    fn column_selection_reorders() {
        let f = Fixture::new("sel.csv", CSV);
        let (t, _) = read_table(&f.0, &cols(&["c", "a"])).unwrap();
        assert_eq!(t.columns(), &["c", "a"]);
        assert_eq!(t.values(), &[3.0, 1.0, -0.6, 4.0, 9.0, 7.0]);
        // Unselected columns may hold text.
        let g = Fixture::new("text.csv", "id,x\nevt-1,0.5\nevt-2,1.5\n");
        let (t, _) = read_table(&g.0, &cols(&["x"])).unwrap();
        assert_eq!(t.values(), &[0.5, 1.5]);
        let j = Fixture::new("sel.json", r#"{"a":[1,4,7],"b":[2,5.5,8],"c":[3,-0.6,9]}"#);
        assert_eq!(
            read_table(&j.0, &cols(&["c", "a"])).unwrap().0.values(),
            t_ca()
        );
    }

    fn t_ca() -> &'static [f64] {
        &[3.0, 1.0, -0.6, 4.0, 9.0, 7.0]
    }

    #[test]
    fn csv_and_both_json_layouts_agree() {
        let c = Fixture::new("same.csv", CSV);
        let r = Fixture::new(
            "rows.json",
            r#"[{"a":1,"b":2,"c":3},{"a":4,"b":5.5,"c":-0.6},{"a":7,"b":8,"c":9}]"#,
        );
        let k = Fixture::new(
            "cols.json",
            r#"{"a":[1,4,7],"b":[2,5.5,8],"c":[3,-6e-1,9]}"#,
        );
        let (tc, rc) = read_table(&c.0, &all()).unwrap();
        let (tr, rr) = read_table(&r.0, &all()).unwrap();
        let (tk, rk) = read_table(&k.0, &all()).unwrap();
        assert_eq!(tc, tr);
        assert_eq!(tc, tk);
        assert_eq!((rc.clone(), rr), (rk.clone(), rk));
        // Key order is file order, not alphabetical.
        let z = Fixture::new("order.json", r#"[{"z":1,"a":2}]"#);
        assert_eq!(read_table(&z.0, &all()).unwrap().0.columns(), &["z", "a"]);
        for opts in [cols(&["b"]), cols(&["c", "a"])] {
            let a = read_table(&c.0, &opts).unwrap().0;
            assert_eq!(a, read_table(&r.0, &opts).unwrap().0);
            assert_eq!(a, read_table(&k.0, &opts).unwrap().0);
        }
    }

    #[test]
    fn csv_cell_errors_name_file_row_line_and_column() {
        let m = expect_err(
            "empty.csv",
            "a,b\n1,2\n3,\n",
            &all(),
            &[
                "row 2 (line 3)",
                "column \"b\"",
                "empty cell",
                "expected a finite number",
            ],
        );
        assert!(m.contains("drop_invalid"), "{m}");
        expect_err(
            "text.csv",
            "a,b\n1,2\n3,4\nfoo,4\n",
            &all(),
            &["row 3 (line 4)", "column \"a\"", "found \"foo\""],
        );
        for bad in ["NaN", "inf", "-Infinity", "1e400"] {
            expect_err(
                "nonfinite.csv",
                &format!("a,b\n1,2\n\n3,{bad}\n"),
                &all(),
                &[
                    "row 2 (line 4)",
                    "column \"b\"",
                    &format!("found \"{bad}\""),
                    "not finite",
                ],
            );
        }
        // Only selected columns are parsed.
        let f = Fixture::new("skip.csv", "a,b\n1,x\n2,NaN\n");
        assert_eq!(
            read_table(&f.0, &cols(&["a"])).unwrap().0.values(),
            &[1.0, 2.0]
        );
    }

    #[test]
    fn csv_structural_errors() {
        expect_err(
            "short.csv",
            "a,b,c\n1,2,3\n4,5\n",
            &all(),
            &[
                "row 2 (line 3)",
                "found 2 fields, expected 3",
                "column \"c\"",
            ],
        );
        expect_err(
            "long.csv",
            "a,b\n1,2,3\n",
            &all(),
            &[
                "row 1 (line 2)",
                "found 3 fields, expected 2",
                "column \"b\"",
            ],
        );
        // Ragged rows fail even when dropping invalid values.
        expect_err(
            "short_drop.csv",
            "a,b\n1,2\n4\n",
            &dropping(),
            &["row 2 (line 3)", "column \"b\""],
        );
        let m = expect_err(
            "unknown.csv",
            "a,b\n1,2\n",
            &cols(&["b", "energy"]),
            &[
                "header (line 1)",
                "\"energy\"",
                "available columns: \"a\", \"b\"",
            ],
        );
        assert!(m.contains("not in the header"), "{m}");
        expect_err(
            "dup.csv",
            "a,b,a\n1,2,3\n",
            &all(),
            &[
                "header (line 1)",
                "column \"a\" appears twice",
                "columns 1 and 3",
            ],
        );
        expect_err(
            "noname.csv",
            "a,,c\n1,2,3\n",
            &all(),
            &["header (line 1)", "column 2 has an empty name"],
        );
        expect_err("zero.csv", "", &all(), &["empty file"]);
        expect_err("blank.csv", "  \n\n", &all(), &["empty file"]);
        expect_err("header_only.csv", "a,b\n", &all(), &["no data rows"]);
        expect_err(
            "twice.csv",
            "a,b\n1,2\n",
            &cols(&["a", "a"]),
            &["\"a\" is requested twice"],
        );
        expect_err("none.csv", "a,b\n1,2\n", &cols(&[]), &["empty list"]);
        expect_err(
            "data.txt",
            "a,b\n1,2\n",
            &all(),
            &["unsupported file type \"txt\""],
        );
        let missing = std::env::temp_dir().join("flowinfer_read_does_not_exist.csv");
        let m = read_table(&missing, &all()).unwrap_err().to_string();
        assert!(
            m.contains("flowinfer_read_does_not_exist.csv") && m.contains("cannot read"),
            "{m}"
        );
    }

    #[test]
    fn json_errors() {
        // Array of objects.
        expect_err(
            "missing.json",
            r#"[{"a":1,"b":2},{"a":3}]"#,
            &all(),
            &["row 2", "missing column \"b\"", "this row has: \"a\""],
        );
        expect_err(
            "extra.json",
            r#"[{"a":1},{"a":3,"q":4}]"#,
            &all(),
            &["row 2", "column \"q\" is not in row 1"],
        );
        expect_err(
            "null.json",
            r#"[{"a":1,"b":2},{"a":3,"b":null}]"#,
            &all(),
            &["row 2", "column \"b\"", "empty cell"],
        );
        expect_err(
            "str.json",
            r#"[{"a":1,"b":"2.5"}]"#,
            &all(),
            &[
                "row 1",
                "column \"b\"",
                "found the string \"2.5\"",
                "must not be quoted",
            ],
        );
        expect_err(
            "bool.json",
            r#"[{"a":1,"b":2},{"a":true,"b":2}]"#,
            &all(),
            &[
                "row 2",
                "column \"a\"",
                "found true",
                "expected a finite number",
            ],
        );
        expect_err(
            "nested.json",
            r#"[{"a":[1],"b":2}]"#,
            &dropping(),
            &["row 1", "column \"a\"", "found an array"],
        );
        expect_err(
            "notobj.json",
            r#"[{"a":1},[2]]"#,
            &all(),
            &["row 2", "found an array", "expected an object"],
        );
        expect_err(
            "dupkey.json",
            r#"[{"a":1,"b":2,"a":3}]"#,
            &all(),
            &["row 1", "column \"a\" appears twice"],
        );
        expect_err(
            "unknown.json",
            r#"[{"a":1}]"#,
            &cols(&["b"]),
            &[
                "row 1",
                "requested column \"b\"",
                "available columns: \"a\"",
            ],
        );
        expect_err("emptyarr.json", "[]", &all(), &["no data rows"]);
        // Object of arrays.
        expect_err(
            "ragged.json",
            r#"{"a":[1,2,3],"b":[1,2]}"#,
            &all(),
            &[
                "column \"b\" has 2 values but column \"a\" has 3",
                "row 3 is missing from column \"b\"",
            ],
        );
        expect_err(
            "ragged2.json",
            r#"{"a":[1],"b":[1,2]}"#,
            &all(),
            &["row 2 is missing from column \"a\""],
        );
        expect_err(
            "notarr.json",
            r#"{"a":[1,2],"b":5}"#,
            &all(),
            &["column \"b\"", "found a number", "expected an array"],
        );
        expect_err(
            "colstr.json",
            r#"{"a":[1,2],"b":[1,"x"]}"#,
            &all(),
            &["row 2", "column \"b\"", "found the string \"x\""],
        );
        expect_err(
            "colnull.json",
            r#"{"a":[1,null]}"#,
            &all(),
            &["row 2", "column \"a\"", "empty cell"],
        );
        expect_err(
            "coldup.json",
            r#"{"a":[1],"a":[2]}"#,
            &all(),
            &["column \"a\" appears twice"],
        );
        expect_err(
            "colunknown.json",
            r#"{"a":[1]}"#,
            &cols(&["x"]),
            &["requested column \"x\"", "available columns: \"a\""],
        );
        expect_err("noncols.json", "{}", &all(), &["no columns"]);
        expect_err(
            "nodata.json",
            r#"{"a":[],"b":[]}"#,
            &all(),
            &["no data rows"],
        );
        // Malformed JSON and other top levels.
        expect_err(
            "bad.json",
            r#"[{"a":1,}]"#,
            &all(),
            &["malformed JSON", "line 1"],
        );
        expect_err(
            "nan.json",
            r#"[{"a":NaN}]"#,
            &all(),
            &["malformed JSON", "JSON has no NaN"],
        );
        expect_err(
            "top.json",
            "42",
            &all(),
            &["found a number at the top level"],
        );
        expect_err("empty.json", " \n", &all(), &["empty file"]);
        // With a selection, other columns are not checked.
        let f = Fixture::new("loose.json", r#"{"a":[1,2],"meta":"run 7"}"#);
        assert_eq!(
            read_table(&f.0, &cols(&["a"])).unwrap().0.values(),
            &[1.0, 2.0]
        );
        let g = Fixture::new("loose_rows.json", r#"[{"a":1,"id":"x"},{"a":2}]"#);
        assert_eq!(
            read_table(&g.0, &cols(&["a"])).unwrap().0.values(),
            &[1.0, 2.0]
        );
    }

    #[test]
    fn drop_mode_counts() {
        let csv = "a,b\n1,2\n,3\n4,x\n5,6\n7,inf\n8,9\n";
        let f = Fixture::new("drop.csv", csv);
        let (t, rep) = read_table(&f.0, &dropping()).unwrap();
        assert_eq!(t.values(), &[1.0, 2.0, 5.0, 6.0, 8.0, 9.0]);
        assert_eq!((rep.rows_read, rep.rows_dropped), (6, 3));
        let first = rep.first_dropped.unwrap();
        assert!(
            first.contains("row 2 (line 3)")
                && first.contains("column \"a\"")
                && first.contains("empty cell"),
            "{first}"
        );
        // Only selected columns count.
        let (t, rep) = read_table(
            &f.0,
            &ReadOptions {
                columns: Some(vec!["a".into()]),
                drop_invalid: true,
            },
        )
        .unwrap();
        assert_eq!(t.values(), &[1.0, 4.0, 5.0, 7.0, 8.0]);
        assert_eq!((rep.rows_read, rep.rows_dropped), (6, 1));
        // JSON, both layouts.
        let r = Fixture::new(
            "drop.json",
            r#"[{"a":1,"b":2},{"a":null,"b":3},{"a":4,"b":"x"},{"a":5,"b":6}]"#,
        );
        let k = Fixture::new("dropc.json", r#"{"a":[1,null,4,5],"b":[2,3,"x",6]}"#);
        for p in [&r.0, &k.0] {
            let (t, rep) = read_table(p, &dropping()).unwrap();
            assert_eq!(t.values(), &[1.0, 2.0, 5.0, 6.0]);
            assert_eq!((rep.rows_read, rep.rows_dropped), (4, 2));
            assert!(rep
                .first_dropped
                .unwrap()
                .starts_with("row 2, column \"a\": empty cell"));
        }
        // Everything dropped is an error.
        expect_err(
            "alldrop.csv",
            "a,b\nx,1\n,2\n",
            &dropping(),
            &[
                "all 2 data rows were dropped",
                "row 1 (line 2)",
                "column \"a\"",
            ],
        );
    }

    #[test]
    fn nothing_is_written() {
        let f = Fixture::new("ro.csv", CSV);
        let dir = std::env::temp_dir();
        let before = std::fs::read_dir(&dir).unwrap().count();
        let stamp = std::fs::metadata(&f.0).unwrap().modified().unwrap();
        read_table(&f.0, &dropping()).unwrap();
        assert_eq!(std::fs::metadata(&f.0).unwrap().modified().unwrap(), stamp);
        assert_eq!(std::fs::read_to_string(&f.0).unwrap(), CSV);
        let _ = before; // other tests may create files concurrently; the content check suffices
    }

    #[test]
    fn auger_events() {
        // The repository's copy (data/auger/, CC BY-SA 4.0, see NOTICE.md there).
        let file =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("data/auger/auger_events_aligned.csv");
        let path = file.as_path();
        let (t, rep) = read_table(path, &all()).unwrap();
        assert_eq!((t.rows(), t.cols()), (1565, 12));
        assert_eq!((rep.rows_read, rep.rows_dropped), (1565, 0));
        assert_eq!(t.columns()[0], "energy");
        assert_eq!(t.columns()[11], "totalEnergy");
        let (s, _) = read_table(path, &cols(&["xmax", "energy"])).unwrap();
        assert_eq!(s.column(1), t.column(0));
        let scaler = crate::data::Scaler::fit(&t).unwrap();
        assert_eq!(scaler.dim(), 12);
    }
}
