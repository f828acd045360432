//! The framed protocol of persistent workers: a request is a header line
//! `BATCH <rows> <cols> <seed> <batch>` followed by `rows` CSV lines; the answer is
//! `OK <rows> <cols>` followed by `rows` CSV lines, or one line `ERR <message>`.

use super::wire::format_rows;

/// Encodes one request: the header line and the rows of `points` (`cols` values each).
pub(crate) fn encode_request(points: &[f64], cols: usize, seed: u64, batch: usize) -> Vec<u8> {
    let rows = points.len() / cols.max(1);
    let mut out = format!("BATCH {rows} {cols} {seed} {batch}\n").into_bytes();
    out.extend(format_rows(points.chunks(cols.max(1))));
    out
}

/// The first line of a worker's answer.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ReplyHeader {
    /// `OK <rows> <cols>`: that many lines follow.
    Ok {
        /// Lines that follow.
        rows: usize,
        /// Values per line.
        cols: usize,
    },
    /// `ERR <message>`: the worker refused the batch (it stays usable).
    Err(String),
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
    match words.as_slice() {
        ["OK", rows, cols] => match (rows.parse(), cols.parse()) {
            (Ok(rows), Ok(cols)) => Ok(ReplyHeader::Ok { rows, cols }),
            _ => Err(format!(
                "malformed reply header `{}`: expected `OK <rows> <cols>` with integers",
                shorten(line)
            )),
        },
        _ => Err(format!(
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
        let req = encode_request(&[0.5, 1.0, 0.1 + 0.2, -2.0], 2, 7, 3);
        assert_eq!(
            String::from_utf8(req).unwrap(),
            "BATCH 2 2 7 3\n0.5,1\n0.30000000000000004,-2\n"
        );
        assert_eq!(
            parse_reply_header("OK 4096 1\n"),
            Ok(ReplyHeader::Ok {
                rows: 4096,
                cols: 1
            })
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
