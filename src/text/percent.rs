//! Percent-encoding (RFC 3986 2.1): `%` and two hex digits stand for a
//! byte. gRPC percent-encodes `grpc-message`; targets carry bytes to send
//! and expect this way.

/// Decodes `text` into `out` and returns the decoded length, which may
/// exceed `out.len()` (then only what fits is kept). A `%` that is not
/// followed by two hex digits stays as it is, as gRPC asks of clients
/// ("if the message is invalid percent-encoding, leave it as is").
pub fn decode_lenient(text: &[u8], out: &mut [u8]) -> usize {
    let mut n = 0;
    let mut rest = text;
    while let [first, tail @ ..] = rest {
        let byte = match tail {
            [hi, lo, after @ ..] if *first == b'%' => match (hex(*hi), hex(*lo)) {
                (Some(hi), Some(lo)) => {
                    rest = after;
                    hi << 4 | lo
                }
                _ => {
                    rest = tail;
                    *first
                }
            },
            _ => {
                rest = tail;
                *first
            }
        };
        if let Some(slot) = out.get_mut(n) {
            *slot = byte;
        }
        n += 1;
    }
    n
}

/// The value of a hex digit, either case.
fn hex(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn decoded(text: &[u8]) -> Vec<u8> {
        let mut out = [0u8; 256];
        let n = decode_lenient(text, &mut out);
        out[..n].to_vec()
    }

    #[test]
    fn decodes_escapes() {
        assert_eq!(
            decoded(b"Health%20status%20unknown%20for%20service%20nope"),
            b"Health status unknown for service nope"
        );
        assert_eq!(decoded(b"%2BPONG%0d%0A"), b"+PONG\r\n");
        assert_eq!(decoded(b"100%"), b"100%");
        assert_eq!(decoded(b"%%41"), b"%A");
        assert_eq!(decoded(b"%4"), b"%4");
        assert_eq!(decoded(b"%zz%e9"), b"%zz\xe9");
        assert_eq!(decoded(b""), b"");
    }

    #[test]
    fn keeps_what_fits_and_counts_the_rest() {
        let mut out = [0u8; 3];
        assert_eq!(decode_lenient(b"a%20bcd", &mut out), 5);
        assert_eq!(&out, b"a b");
    }

    /// A plain reference: scan for `%XX` with two hex digits.
    fn reference(text: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < text.len() {
            let escape = text.get(i + 1..i + 3).and_then(|h| {
                let h = std::str::from_utf8(h).ok()?;
                if h.bytes().all(|b| b.is_ascii_hexdigit()) {
                    u8::from_str_radix(h, 16).ok()
                } else {
                    None
                }
            });
            match escape {
                Some(b) if text[i] == b'%' => {
                    out.push(b);
                    i += 3;
                }
                _ => {
                    out.push(text[i]);
                    i += 1;
                }
            }
        }
        out
    }

    proptest! {
        #[test]
        fn agrees_with_reference(text in proptest::collection::vec(prop_oneof![Just(b'%'), any::<u8>(), Just(b'a'), Just(b'0')], 0..40)) {
            prop_assert_eq!(decoded(&text), reference(&text));
        }

        #[test]
        fn encoded_bytes_round_trip(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
            let encoded: String = bytes.iter().map(|b| format!("%{b:02X}")).collect();
            prop_assert_eq!(decoded(encoded.as_bytes()), bytes);
        }
    }
}
