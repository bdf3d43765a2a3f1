//! The incremental status-line parser on arbitrary responses. The first input
//! byte chooses a split point in the rest: feeding the response whole, in two
//! pieces at that point, and byte by byte must give the same answer, which
//! must also be a plain reference implementation's. A final code is always
//! 101 or in 200..=599.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scratchprobe::proto::http::status_line::{Malformed, StatusLine};

/// KNOWN BUG (reported, not yet fixed): `StatusLine` takes a literal
/// `HTTP/1.x` as a version, because its pattern's placeholder `x` also
/// matches itself. Set to `false` once the parser refuses it; the seed
/// `literal_x_version` then checks the fix.
const KNOWN_LITERAL_X: bool = false;

fuzz_target!(|data: &[u8]| {
    let Some((&cut, response)) = data.split_first() else {
        return;
    };
    let cut = usize::from(cut) % (response.len() + 1);

    let whole = StatusLine::new().feed(response);
    if let Ok(Some(code)) = whole {
        assert!((100..=599).contains(&code), "code {code} out of range");
        assert!(
            code == 101 || code >= 200,
            "interim {code} returned as final"
        );
    }

    let mut parser = StatusLine::new();
    let split = match parser.feed(&response[..cut]) {
        Ok(None) => parser.feed(&response[cut..]),
        decided => decided,
    };
    assert_eq!(split, whole, "split at {cut} of {response:?}");

    let mut parser = StatusLine::new();
    let mut bytewise = Ok(None);
    for b in response {
        bytewise = parser.feed(core::slice::from_ref(b));
        if bytewise != Ok(None) {
            break;
        }
    }
    assert_eq!(bytewise, whole, "byte by byte, {response:?}");

    assert_eq!(whole, reference(response), "reference, {response:?}");
});

/// A plain reference: split the response into heads at blank lines, and look
/// at each head's first line until a final status appears.
fn reference(response: &[u8]) -> Result<Option<u16>, Malformed> {
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
                7 => b == b'0' || b == b'1' || (KNOWN_LITERAL_X && b == b'x'),
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
        let code: u16 = std::str::from_utf8(&head[9..12]).unwrap().parse().unwrap();
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
