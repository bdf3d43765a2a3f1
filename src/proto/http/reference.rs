//! Plain reference parsers for HTTP/1, written for obviousness rather than
//! speed: the property tests and `fuzz/` check the real parsers against
//! them. Compiled for tests, and for `fuzz/` by the `reference` feature;
//! never part of the binary.

use crate::proto::http::status_line::Malformed;

/// The status line a response decides by: split the response into heads at
/// blank lines, and look at each head's first line until a final status
/// appears. `Ok(None)`: not decided yet.
pub fn status_line(response: &[u8]) -> Result<Option<u16>, Malformed> {
    let mut rest = response;
    loop {
        let line_end = rest.iter().position(|&b| b == b'\n');
        // Judge the start of the line as far as it has arrived.
        let line = &rest[..line_end.unwrap_or(rest.len())];
        let head = &line[..line.len().min(13)];
        for (i, &b) in head.iter().enumerate() {
            let ok = match i {
                0..=4 => b == b"HTTP/"[i],
                5 => b == b'1',
                6 => b == b'.',
                7 => b == b'0' || b == b'1',
                8 => b == b' ',
                9..=11 => b.is_ascii_digit(),
                _ => b == b' ' || b == b'\t' || b == b'\r',
            };
            if !ok {
                return Err(Malformed);
            }
        }
        if head.len() < 13 && line_end.is_none() {
            return Ok(None);
        }
        if head.len() < 12 {
            return Err(Malformed);
        }
        let digits = &head[9..12];
        let code = digits
            .iter()
            .fold(0u16, |n, &d| n * 10 + u16::from(d - b'0'));
        if !(100..=599).contains(&code) {
            return Err(Malformed);
        }
        if code >= 200 || code == 101 {
            return Ok(Some(code));
        }
        // Skip this interim head: up to the first empty line.
        let Some(line_end) = line_end else {
            return Ok(None);
        };
        let text = &rest[line_end + 1..];
        let mut i = 0;
        loop {
            let Some(nl) = text[i..].iter().position(|&b| b == b'\n') else {
                return Ok(None);
            };
            let l = &text[i..i + nl];
            i += nl + 1;
            if l.is_empty() || l == b"\r" {
                break;
            }
        }
        rest = &text[i..];
    }
}
