//! The HTTP/1.1 request, built whole before connecting so that it goes out in
//! one write.

/// The four default headers, each replaced by a `-H` of its name, separated
/// by NULs (see `bytes::nth`: one string is smaller than a table of slices).
/// The first, `Host`, is before its `:PORT` and line end.
const DEFAULTS: &[u8] = concat!(
    "Host: localhost\0User-Agent: scratchprobe/",
    env!("CARGO_PKG_VERSION"),
    "\r\n\0Accept: */*\r\n\0Connection: close\r\n"
)
.as_bytes();

/// `User-Agent` value, also used for gRPC.
pub const USER_AGENT: &[u8] = DEFAULTS
    .split_at(b"Host: localhost\0User-Agent: ".len())
    .1
    .split_at(concat!("scratchprobe/", env!("CARGO_PKG_VERSION")).len())
    .0;

/// True for an RFC 9110 token: what a method or a header name may be.
pub fn is_token(text: &[u8]) -> bool {
    // Bit n % 64 of word n / 64 is set for each token character n: visible
    // ASCII except the delimiters `"(),/:;<=>?@[\]{}`.
    const TOKEN: [u64; 2] = [0x03ff_6cfa_0000_0000, 0x57ff_ffff_c7ff_fffe];
    !text.is_empty()
        && text
            .iter()
            .all(|&b| b < 128 && TOKEN[usize::from(b >> 6)] >> (b & 63) & 1 != 0)
}

/// Splits `Name: value` into the name and the value without surrounding
/// blanks. `None` unless the name is a token and the value has no CR, LF or
/// NUL: nothing can be injected on the wire.
pub fn split_header(header: &[u8]) -> Option<(&[u8], &[u8])> {
    let colon = header.iter().position(|&b| b == b':')?;
    let (name, mut value) = (&header[..colon], &header[colon + 1..]);
    if !is_token(name) || value.iter().any(|&b| b == b'\r' || b == b'\n' || b == 0) {
        return None;
    }
    while let [b' ' | b'\t', rest @ ..] = value {
        value = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = value {
        value = rest;
    }
    Some((name, value))
}

/// What goes into one request.
pub struct Request<'a> {
    /// The method, already checked to be a token.
    pub method: &'a [u8],
    /// Path and query; empty means `/`.
    pub path: &'a [u8],
    /// The port for `Host: localhost:PORT`, when not 80.
    pub host_port: Option<u16>,
    /// `-H` headers, already checked by [`split_header`].
    pub headers: &'a [&'a [u8]],
}

/// Writes the request into `out`; `None` when it does not fit. A `-H` header
/// replaces the default header of the same name; one with an empty value
/// removes it and is not sent, as in curl.
pub fn write(out: &mut [u8], req: &Request) -> Option<usize> {
    let mut w = Writer { out, len: 0 };
    w.put(req.method);
    // ` /` before a path that does not start with one.
    let slash = usize::from(req.path.first() != Some(&b'/'));
    w.put(&b" /"[..1 + slash]);
    w.put(req.path);
    w.put(b" HTTP/1.1\r\n");
    for n in 0..4 {
        let line = crate::bytes::nth(DEFAULTS, n);
        if !given(req.headers, line) {
            w.put(line);
            // `Host: localhost`, then its port.
            if n == 0 {
                if let Some(port) = req.host_port {
                    w.put(b":");
                    w.put(crate::text::line::decimal(u64::from(port), &mut [0; 20]));
                }
                w.put(b"\r\n");
            }
        }
    }
    for &header in req.headers {
        if split_header(header).is_some_and(|(_, value)| !value.is_empty()) {
            w.put(header);
            w.put(b"\r\n");
        }
    }
    w.put(b"\r\n");
    (w.len <= w.out.len()).then_some(w.len)
}

/// True when a `-H` header has the name of `line` (`Name: ...`). Compared
/// with ASCII case folded by ignoring bit 5: exact for letters, and the other
/// bytes that could match that way (CR for `-`, 0x1A for `:`) are no token
/// characters, which `-H` headers are checked to be.
fn given(headers: &[&[u8]], line: &[u8]) -> bool {
    headers.iter().any(|h| {
        for (&x, &y) in h.iter().zip(line) {
            if (x ^ y) & !0x20 != 0 {
                return false;
            }
            if y == b':' {
                return true;
            }
        }
        false
    })
}

/// Appends to a buffer, counting what does not fit too.
struct Writer<'a> {
    out: &'a mut [u8],
    len: usize,
}

impl Writer<'_> {
    fn put(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.put_byte(b);
        }
    }

    fn put_byte(&mut self, b: u8) {
        if let Some(slot) = self.out.get_mut(self.len) {
            *slot = b;
        }
        self.len += 1;
    }
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
        ] {
            assert_eq!(split_header(bad), None, "{bad:?}");
        }
        assert!(is_token(b"GET") && is_token(b"M-SEARCH") && !is_token(b"G T") && !is_token(b""));
        // The bit table against RFC 9110's tchar list, for every byte.
        for b in 0..=255u8 {
            let tchar = b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
            assert_eq!(is_token(&[b]), tchar, "{b:#x}");
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
