//! The HTTP/1.1 request, built whole before it is sent, so that it goes out
//! in one write: `METHOD PATH HTTP/1.1`, the default headers, then the `-H`
//! headers.

use crate::text::{Writer, decimal};

/// Our `User-Agent` (also gRPC's `user-agent`).
pub const USER_AGENT: &[u8] = concat!("scratchprobe/", env!("CARGO_PKG_VERSION")).as_bytes();

/// The headers every request has, unless a `-H` header of the same name
/// replaces them. `Host` is `localhost`, with the port when it is not the
/// scheme's default.
const DEFAULT_HEADERS: [(&[u8], &[u8]); 4] = [
    (b"Host", b"localhost"),
    (b"User-Agent", USER_AGENT),
    (b"Accept", b"*/*"),
    (b"Connection", b"close"),
];

/// True for an RFC 9110 token: what a method or a header name may be.
pub fn is_token(text: &[u8]) -> bool {
    !text.is_empty() && text.iter().all(|&b| is_tchar(b))
}

/// RFC 9110 5.6.2: visible ASCII but the delimiters `"(),/:;<=>?@[\]{}`.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Why a `-H` header is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeaderError<'a> {
    /// No `:`.
    NoName,
    /// The name (before the `:`) is not a token.
    BadName(&'a [u8]),
    /// The value holds a byte RFC 9110 forbids; the header's name.
    BadValue(&'a [u8]),
}

/// Checks a `Name: value` header: the name a token, the value only visible
/// ASCII, SP, HTAB and obs-text (RFC 9110 5.5): no control byte, so nothing
/// can be injected on the wire or confuse a server.
pub fn check_header(header: &[u8]) -> Result<(&[u8], &[u8]), HeaderError<'_>> {
    let colon = header
        .iter()
        .position(|&b| b == b':')
        .ok_or(HeaderError::NoName)?;
    let (name, value) = (&header[..colon], &header[colon + 1..]);
    if !is_token(name) {
        return Err(HeaderError::BadName(name));
    }
    if !value.iter().all(|&b| is_field_value_byte(b)) {
        return Err(HeaderError::BadValue(name));
    }
    Ok((name, trim_blanks(value)))
}

/// RFC 9110 5.5: a field value's bytes are visible ASCII, SP, HTAB and
/// obs-text (0x80 to 0xFF).
fn is_field_value_byte(b: u8) -> bool {
    b.is_ascii_graphic() || b == b' ' || b == b'\t' || b >= 0x80
}

/// Splits `Name: value` into the name and the value without surrounding
/// blanks; `None` unless [`check_header`] accepts it.
pub fn split_header(header: &[u8]) -> Option<(&[u8], &[u8])> {
    check_header(header).ok()
}

/// `value` without leading and trailing SP and HTAB.
fn trim_blanks(mut value: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = value {
        value = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = value {
        value = rest;
    }
    value
}

/// What goes into one request.
pub struct Request<'a> {
    /// The method, already checked to be a token.
    pub method: &'a [u8],
    /// Path and query; empty means `/`.
    pub path: &'a [u8],
    /// The port for `Host: localhost:PORT`, when not the scheme's default.
    pub host_port: Option<u16>,
    /// `-H` headers, already checked by [`split_header`].
    pub headers: &'a [&'a [u8]],
}

/// Writes the request into `out`; `None` when it does not fit. A `-H` header
/// replaces the default header of the same name (compared without case); one
/// with an empty value removes it and is not sent, as in curl.
pub fn write(out: &mut [u8], req: &Request) -> Option<usize> {
    let mut w = Writer::new(out);
    w.put(req.method);
    w.put(b" ");
    if req.path.first() != Some(&b'/') {
        w.put(b"/");
    }
    w.put(req.path);
    w.put(b" HTTP/1.1\r\n");
    for (name, value) in DEFAULT_HEADERS {
        if is_given(req.headers, name) {
            continue;
        }
        w.put(name);
        w.put(b": ");
        w.put(value);
        if let (b"Host", Some(port)) = (name, req.host_port) {
            w.put(b":");
            w.put(decimal(port.into(), &mut [0; 20]));
        }
        w.put(b"\r\n");
    }
    for &header in req.headers {
        if split_header(header).is_some_and(|(_, value)| !value.is_empty()) {
            w.put(header);
            w.put(b"\r\n");
        }
    }
    w.put(b"\r\n");
    w.finish()
}

/// True when one of the `-H` headers is named `name`.
fn is_given(headers: &[&[u8]], name: &[u8]) -> bool {
    headers.iter().any(|header| {
        split_header(header).is_some_and(|(given, _)| given.eq_ignore_ascii_case(name))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(method: &str, path: &str, port: Option<u16>, headers: &[&[u8]]) -> String {
        let mut out = [0u8; 512];
        let req = Request {
            method: method.as_bytes(),
            path: path.as_bytes(),
            host_port: port,
            headers,
        };
        let len = write(&mut out, &req).unwrap();
        String::from_utf8(out[..len].to_vec()).unwrap()
    }

    #[test]
    fn default_request() {
        assert_eq!(
            build("GET", "/healthz?x=1", Some(8080), &[]),
            "GET /healthz?x=1 HTTP/1.1\r\nHost: localhost:8080\r\nUser-Agent: scratchprobe/0.1.0\r\nAccept: */*\r\nConnection: close\r\n\r\n"
        );
        assert_eq!(
            build("HEAD", "", None, &[]),
            "HEAD / HTTP/1.1\r\nHost: localhost\r\nUser-Agent: scratchprobe/0.1.0\r\nAccept: */*\r\nConnection: close\r\n\r\n"
        );
        assert!(build("GET", "?q", None, &[]).starts_with("GET /?q HTTP/1.1\r\n"));
        assert_eq!(USER_AGENT, b"scratchprobe/0.1.0");
    }

    #[test]
    fn headers_replace_defaults() {
        assert_eq!(
            build(
                "GET",
                "/",
                None,
                &[
                    b"host: example",
                    b"X-Test:  1 ",
                    b"user-agent: kube-probe/1.30",
                    b"Accept:"
                ]
            ),
            "GET / HTTP/1.1\r\nConnection: close\r\nhost: example\r\nX-Test:  1 \r\nuser-agent: kube-probe/1.30\r\n\r\n"
        );
    }

    #[test]
    fn only_whole_names_replace_defaults() {
        let req = build(
            "GET",
            "/",
            Some(81),
            &[b"Hos: a", b"Hostx: b", b"X-Accept: c"],
        );
        assert!(req.starts_with("GET / HTTP/1.1\r\nHost: localhost:81\r\nUser-Agent: "));
        assert!(req.contains("\r\nAccept: */*\r\n") && req.ends_with("X-Accept: c\r\n\r\n"));
        assert_eq!(
            build(
                "GET",
                "/",
                Some(65535),
                &[b"CONNECTION: keep-alive", b"User-Agent:  "]
            ),
            "GET / HTTP/1.1\r\nHost: localhost:65535\r\nAccept: */*\r\nCONNECTION: keep-alive\r\n\r\n"
        );
    }

    #[test]
    fn header_checks() {
        assert_eq!(split_header(b"A: b"), Some((&b"A"[..], &b"b"[..])));
        assert_eq!(split_header(b"A:\t b c \t"), Some((&b"A"[..], &b"b c"[..])));
        assert_eq!(split_header(b"A:"), Some((&b"A"[..], &b""[..])));
        for bad in [
            &b"A"[..],
            b": b",
            b"A B: c",
            b"A: b\r\nC: d",
            b"A: \n",
            b"A: \0",
            b"A\r: b",
            b"A: \x0b",
            b"A: \x0c",
            b"A: \x1b[0m",
            b"A: \x7f",
        ] {
            assert_eq!(split_header(bad), None, "{bad:?}");
        }
        assert_eq!(check_header(b"nocolon"), Err(HeaderError::NoName));
        assert_eq!(check_header(b"A B: c"), Err(HeaderError::BadName(b"A B")));
        assert_eq!(
            check_header(b"Token: s3cr\x1bt"),
            Err(HeaderError::BadValue(b"Token"))
        );
        // obs-text and HTAB are allowed in values.
        assert_eq!(
            split_header(b"A: caf\xc3\xa9\tb"),
            Some((&b"A"[..], &b"caf\xc3\xa9\tb"[..]))
        );
        // Every byte against RFC 9110's wording.
        for b in 0..=255u8 {
            let header = [b'A', b':', b'x', b, b'y'];
            let allowed = (0x21..=0x7e).contains(&b) || b == b' ' || b == b'\t' || b >= 0x80;
            assert_eq!(split_header(&header).is_some(), allowed, "{b:#x}");
        }
        assert!(is_token(b"GET") && is_token(b"M-SEARCH") && !is_token(b"G T") && !is_token(b""));
        // Against RFC 9110's other wording: visible ASCII but the delimiters.
        for b in 0..=255u8 {
            let delimiter = b"\"(),/:;<=>?@[\\]{}".contains(&b);
            assert_eq!(is_token(&[b]), b.is_ascii_graphic() && !delimiter, "{b:#x}");
        }
    }

    #[test]
    fn refuses_what_does_not_fit() {
        let mut out = [0u8; 40];
        let req = Request {
            method: b"GET",
            path: b"/",
            host_port: None,
            headers: &[],
        };
        assert_eq!(write(&mut out, &req), None);
    }
}
