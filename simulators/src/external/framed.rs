//! The framed protocol of persistent workers: a request is a header line
//! `BATCH <rows> <cols> <seed> <batch>` followed by `rows` CSV lines; the answer is
//! `OK <rows> <cols>` followed by `rows` CSV lines, or one line `ERR <message>`.
//! In the binary variant both headers end in ` f64` and the rows follow as
//! `rows × cols` little-endian `f64` (8 bytes each, row after row) instead of text.
//! In the shared-memory variant the rows are in a mapped file and only the headers
//! travel: `BATCH <rows> <cols> <seed> <batch> shm <slot> <in_offset> <out_offset>
//! <file_bytes>`, answered by `OK <rows> <cols> shm <slot>` (see
//! [`shm_region`](super::shm_region)).

use super::wire::format_rows;

/// Encodes one request: the header line and the rows of `points` (`cols` values
/// each), as text or (`binary`) as little-endian `f64`.
pub(crate) fn encode_request(
    points: &[f64],
    cols: usize,
    seed: u64,
    batch: usize,
    binary: bool,
) -> Vec<u8> {
    let rows = points.len() / cols.max(1);
    if binary {
        let mut out = format!("BATCH {rows} {cols} {seed} {batch} f64\n").into_bytes();
        let header = out.len();
        // Sized once, then filled 8 bytes at a time (a plain copy on little-endian
        // machines).
        out.resize(header + points.len() * 8, 0);
        for (bytes, v) in out[header..].chunks_exact_mut(8).zip(points) {
            bytes.copy_from_slice(&v.to_le_bytes());
        }
        return out;
    }
    let mut out = format!("BATCH {rows} {cols} {seed} {batch}\n").into_bytes();
    out.extend(format_rows(points.chunks(cols.max(1))));
    out
}

/// The header line of a shared-memory request: the rows are at byte `in_offset` of
/// the mapped file (`file_bytes` long), the answer goes to byte `out_offset`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn shm_request_header(
    rows: usize,
    cols: usize,
    seed: u64,
    batch: usize,
    slot: usize,
    in_offset: usize,
    out_offset: usize,
    file_bytes: usize,
) -> Vec<u8> {
    format!("BATCH {rows} {cols} {seed} {batch} shm {slot} {in_offset} {out_offset} {file_bytes}\n")
        .into_bytes()
}

/// The rows of an answer: CSV lines, or `f64` values row after row (binary).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Rows {
    /// One text line per row.
    Lines(Vec<String>),
    /// `rows × cols` values.
    Values(Vec<f64>),
}

impl Rows {
    /// Number of rows when each has `cols` values.
    pub fn count(&self, cols: usize) -> usize {
        match self {
            Rows::Lines(lines) => lines.len(),
            Rows::Values(values) => values.len() / cols.max(1),
        }
    }
}

/// The first line of a worker's answer.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ReplyHeader {
    /// `OK <rows> <cols>`: that many lines follow.
    Ok {
        /// Rows answered.
        rows: usize,
        /// Values per row.
        cols: usize,
        /// Where the rows are.
        payload: Payload,
    },
    /// `ERR <message>`: the worker refused the batch (it stays usable).
    Err(String),
}

/// Where the rows of an `OK` answer are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Payload {
    /// CSV lines after the header (`OK <rows> <cols>`).
    Text,
    /// Little-endian `f64` after the header (`OK <rows> <cols> f64`).
    F64,
    /// In the output region of this slot of the mapped file (`OK <rows> <cols> shm
    /// <slot>`); nothing follows the header.
    Shm(usize),
}

/// Parses a reply header, or says what was wrong with the line.
pub(crate) fn parse_reply_header(line: &str) -> Result<ReplyHeader, String> {
    let line = line.trim_end_matches(['\n', '\r']);
    if let Some(message) = line.strip_prefix("ERR") {
        if message.is_empty() || message.starts_with(' ') {
            return Ok(ReplyHeader::Err(message.trim().to_string()));
        }
    }
    let words: Vec<&str> = line.split_whitespace().collect();
    let malformed = || {
        format!(
            "malformed reply header `{}`: expected `OK <rows> <cols>` with integers",
            shorten(line)
        )
    };
    let payload = match words.as_slice() {
        ["OK", _, _] => Some(Payload::Text),
        ["OK", _, _, "f64"] => Some(Payload::F64),
        ["OK", _, _, "shm", slot] => Some(Payload::Shm(slot.parse().map_err(|_| malformed())?)),
        _ => None,
    };
    match (words.as_slice(), payload) {
        (["OK", rows, cols, ..], Some(payload)) => match (rows.parse(), cols.parse()) {
            (Ok(rows), Ok(cols)) => Ok(ReplyHeader::Ok {
                rows,
                cols,
                payload,
            }),
            _ => Err(malformed()),
        },
        (_, _) => Err(format!(
            "expected a reply header `OK <rows> <cols>` or `ERR <message>`, got `{}` \
             (only protocol lines may go to stdout; write logs to stderr)",
            shorten(line)
        )),
    }
}

/// At most 80 characters of `s`.
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
    fn requests_and_replies_round_trip() {
        let req = encode_request(&[0.5, 1.0, 0.1 + 0.2, -2.0], 2, 7, 3, false);
        assert_eq!(
            String::from_utf8(req).unwrap(),
            "BATCH 2 2 7 3\n0.5,1\n0.30000000000000004,-2\n"
        );
        let req = encode_request(&[0.5, -2.0], 1, 7, 3, true);
        assert_eq!(&req[..18], b"BATCH 2 1 7 3 f64\n");
        assert_eq!(req[18..26], 0.5f64.to_le_bytes());
        assert_eq!(req.len(), 18 + 16);
        assert_eq!(
            parse_reply_header("OK 4096 1\n"),
            Ok(ReplyHeader::Ok {
                rows: 4096,
                cols: 1,
                payload: Payload::Text
            })
        );
        assert_eq!(
            parse_reply_header("OK 3 2 f64\n"),
            Ok(ReplyHeader::Ok {
                rows: 3,
                cols: 2,
                payload: Payload::F64
            })
        );
        assert_eq!(
            parse_reply_header("OK 3 2 shm 1\n"),
            Ok(ReplyHeader::Ok {
                rows: 3,
                cols: 2,
                payload: Payload::Shm(1)
            })
        );
        assert!(parse_reply_header("OK 3 2 shm one").is_err());
        assert!(parse_reply_header("OK 3 2 shm").is_err());
        assert_eq!(
            shm_request_header(4, 2, 7, 3, 1, 4096, 4160, 8192),
            b"BATCH 4 2 7 3 shm 1 4096 4160 8192\n"
        );
        assert_eq!(
            parse_reply_header("ERR license expired"),
            Ok(ReplyHeader::Err("license expired".into()))
        );
        assert_eq!(
            parse_reply_header("ERR"),
            Ok(ReplyHeader::Err(String::new()))
        );
        let e = parse_reply_header("loading model...").unwrap_err();
        assert!(
            e.contains("`loading model...`") && e.contains("stderr"),
            "{e}"
        );
        let e = parse_reply_header("OK two 1").unwrap_err();
        assert!(e.contains("integers"), "{e}");
        assert!(parse_reply_header("ERRATIC").is_err());
    }
}
