//! The HTTP/1.x status line, parsed as bytes arrive, without buffering: only
//! `HTTP/1.x SP 3DIGIT` and the byte after it are looked at. Interim 1xx
//! responses (except 101) are skipped with their headers; the first final
//! status code is the answer. The reason phrase, headers and body of the final
//! response are never read.

/// The status line is not `HTTP/1.x SP 3DIGIT (SP | HTAB | CR | LF)` with a
/// code in 100..=599.
#[derive(Debug, PartialEq, Eq)]
pub struct Malformed;

/// The fixed part every status line starts with; the minor version (at 7)
/// may also be `0`.
const PREFIX: &[u8; 9] = b"HTTP/1.1 ";

/// Where the parser is, after the status line's 13 positions (0..=12: at
/// that byte of `HTTP/1.x SP 3DIGIT` and the byte after it).
const IN_LINE: u8 = 13;
/// At the start of a line of an interim response's head.
const LINE_START: u8 = 14;
/// As `LINE_START`, after a CR.
const AFTER_CR: u8 = 15;

/// Incremental status-line parser; feed it bytes in any split.
#[derive(Clone, Copy, Debug)]
pub struct StatusLine {
    pos: u8,
    code: u16,
}

impl Default for StatusLine {
    fn default() -> Self {
        Self::new()
    }
}

impl StatusLine {
    /// A parser waiting for the first byte of a response.
    pub const fn new() -> Self {
        Self { pos: 0, code: 0 }
    }

    /// Consumes `input`; returns the final status code as soon as it is known,
    /// `Ok(None)` when more bytes are needed.
    pub fn feed(&mut self, input: &[u8]) -> Result<Option<u16>, Malformed> {
        // Worked on in registers; after an answer the state no longer matters.
        let Self { mut pos, mut code } = *self;
        for &b in input {
            if pos < 9 {
                if b != PREFIX[usize::from(pos)] && !(pos == 7 && b == b'0') {
                    return Err(Malformed);
                }
                pos += 1;
            } else if pos < 12 {
                let digit = b.wrapping_sub(b'0');
                if digit > 9 {
                    return Err(Malformed);
                }
                code = code * 10 + u16::from(digit);
                pos += 1;
            } else if pos == 12 {
                if !matches!(b, b' ' | b'\t' | b'\r' | b'\n') || !(100..=599).contains(&code) {
                    return Err(Malformed);
                }
                if code >= 200 || code == 101 {
                    return Ok(Some(code));
                }
                pos = if b == b'\n' { LINE_START } else { IN_LINE };
            } else if b == b'\n' {
                // An empty line ends the interim head: a status line follows.
                pos = if pos == IN_LINE { LINE_START } else { 0 };
                code = 0;
            } else {
                pos = if pos == LINE_START && b == b'\r' {
                    AFTER_CR
                } else {
                    IN_LINE
                };
            }
        }
        *self = Self { pos, code };
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn whole(response: &[u8]) -> Result<Option<u16>, Malformed> {
        StatusLine::new().feed(response)
    }

    fn bytewise(response: &[u8]) -> Result<Option<u16>, Malformed> {
        let mut parser = StatusLine::new();
        for b in response {
            if let Some(code) = parser.feed(core::slice::from_ref(b))? {
                return Ok(Some(code));
            }
        }
        Ok(None)
    }

    #[test]
    fn reads_final_statuses() {
        for (response, code) in [
            (&b"HTTP/1.1 200 OK\r\n"[..], 200),
            (b"HTTP/1.0 404 Not Found\r\n", 404),
            (b"HTTP/1.1 503\r\n", 503),
            (b"HTTP/1.1 204\n", 204),
            (b"HTTP/1.1 302\tFound\n", 302),
            (b"HTTP/1.1 599 x", 599),
            (b"HTTP/1.1 101 Switching Protocols\r\n", 101),
            (b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n", 200),
            (b"HTTP/1.1 100 Continue\n\nHTTP/1.1 201 Created\n", 201),
            (
                b"HTTP/1.1 100 Continue\r\nA: b\r\nC: d\r\n\r\nHTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\nHTTP/1.0 200 OK\r\n",
                200,
            ),
        ] {
            assert_eq!(whole(response), Ok(Some(code)), "{response:?}");
            assert_eq!(bytewise(response), Ok(Some(code)), "{response:?}");
        }
    }

    #[test]
    fn decides_before_the_reason_phrase_ends() {
        assert_eq!(whole(b"HTTP/1.1 200 "), Ok(Some(200)));
        assert_eq!(whole(b"HTTP/1.1 200"), Ok(None));
        assert_eq!(whole(b"HTTP/1.1 100 Continue\r\n"), Ok(None));
        assert_eq!(whole(b""), Ok(None));
    }

    #[test]
    fn refuses_malformed_lines() {
        for response in [
            &b"http/1.1 200 OK\r\n"[..],
            b"HTTP/1.2 200 OK\r\n",
            b"HTTP/1.x 200 OK\r\n",
            b"HTTP/2 200\r\n",
            b"HTTP/1.1 20 OK\r\n",
            b"HTTP/1.1 2000 OK\r\n",
            b"HTTP/1.1 600 X\r\n",
            b"HTTP/1.1 099 X\r\n",
            b"HTTP/1.1  200 OK\r\n",
            b"HTTP/1.1 200x\r\n",
            b" HTTP/1.1 200 OK\r\n",
            b"\r\nHTTP/1.1 200 OK\r\n",
            b"SSH-2.0-OpenSSH\r\n",
            b"HTTP/1.1 100 Continue\r\n\r\ngarbage",
        ] {
            assert_eq!(whole(response), Err(Malformed), "{response:?}");
            assert_eq!(bytewise(response), Err(Malformed), "{response:?}");
        }
    }

    fn response_strategy() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
        use proptest::prelude::*;
        let piece = prop_oneof![
            Just(b"HTTP/1.1 ".to_vec()),
            Just(b"HTTP/1.0 ".to_vec()),
            Just(b"HTTP/1.x ".to_vec()),
            Just(b"100".to_vec()),
            Just(b"200".to_vec()),
            Just(b"101".to_vec()),
            Just(b"\r\n".to_vec()),
            Just(b"\n".to_vec()),
            Just(b" ".to_vec()),
            Just(b"X: y".to_vec()),
            proptest::collection::vec(any::<u8>(), 0..4),
        ];
        proptest::collection::vec(piece, 0..12).prop_map(|v| v.concat())
    }

    proptest::proptest! {
        #[test]
        fn agrees_with_reference(response in response_strategy()) {
            proptest::prop_assert_eq!(whole(&response), crate::proto::http::reference::status_line(&response));
            proptest::prop_assert_eq!(bytewise(&response), crate::proto::http::reference::status_line(&response));
        }

        #[test]
        fn any_split_gives_the_same_answer(response in response_strategy(), cut in 0usize..64) {
            let cut = cut.min(response.len());
            let mut parser = StatusLine::new();
            let split = match parser.feed(&response[..cut]) {
                Ok(None) => parser.feed(&response[cut..]),
                other => other,
            };
            proptest::prop_assert_eq!(split, whole(&response));
        }
    }
}
