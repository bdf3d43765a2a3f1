//! The HTTP/1.1 request, built whole before connecting so that it goes out in
//! one write.

/// `User-Agent` value, also used for gRPC.
pub const USER_AGENT: &[u8] = concat!("scratchprobe/", env!("CARGO_PKG_VERSION")).as_bytes();

/// True for an RFC 9110 token: what a method or a header name may be.
pub fn is_token(text: &[u8]) -> bool {
    !text.is_empty()
        && text
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || crate::bytes::has(b"!#$%&'*+-.^_`|~", b))
}

/// Splits `Name: value` into the name and the value without surrounding
/// blanks. `None` unless the name is a token and the value has no CR, LF or
/// NUL: nothing can be injected on the wire.
pub fn split_header(header: &[u8]) -> Option<(&[u8], &[u8])> {
    let colon = header.iter().position(|&b| b == b':')?;
    let name = &header[..colon];
    let value = &header[colon + 1..];
    let clean = !value.iter().any(|&b| matches!(b, b'\r' | b'\n' | 0));
    (is_token(name) && clean).then_some((name, value.trim_ascii()))
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

/// The default headers after `Host`, each replaced by a `-H` of its name.
const DEFAULTS: [(&[u8], &[u8]); 3] = [
    (b"User-Agent", USER_AGENT),
    (b"Accept", b"*/*"),
    (b"Connection", b"close"),
];

/// Writes the request into `out`; `None` when it does not fit. A `-H` header
/// replaces the default header of the same name; one with an empty value
/// removes it and is not sent, as in curl.
#[inline(never)]
pub fn write(out: &mut [u8], req: &Request) -> Option<usize> {
    let mut w = Writer { out, len: 0 };
    let slash: &[u8] = if req.path.first() == Some(&b'/') {
        b""
    } else {
        b"/"
    };
    w.put_all(&[req.method, b" ", slash, req.path, b" HTTP/1.1\r\n"])?;
    if !given(req.headers, b"Host") {
        w.put_all(&[b"Host: localhost"])?;
        if let Some(port) = req.host_port {
            let mut digits = crate::line::Line::new();
            digits.push(b":").push_u64(u64::from(port));
            w.put_all(&[digits.as_bytes()])?;
        }
        w.put_all(&[b"\r\n"])?;
    }
    for (name, value) in DEFAULTS {
        if !given(req.headers, name) {
            w.put_all(&[name, b": ", value, b"\r\n"])?;
        }
    }
    for &header in req.headers {
        let (_, value) = split_header(header)?;
        if !value.is_empty() {
            w.put_all(&[header, b"\r\n"])?;
        }
    }
    w.put_all(&[b"\r\n"])?;
    Some(w.len)
}

/// True when a `-H` header has this name.
fn given(headers: &[&[u8]], name: &[u8]) -> bool {
    headers.iter().any(|h| {
        h.get(name.len()) == Some(&b':') && crate::bytes::eq_ignore_case(&h[..name.len()], name)
    })
}

struct Writer<'a> {
    out: &'a mut [u8],
    len: usize,
}

impl Writer<'_> {
    /// Appends each part in turn.
    fn put_all(&mut self, parts: &[&[u8]]) -> Option<()> {
        for part in parts {
            let end = self.len + part.len();
            self.out.get_mut(self.len..end)?.copy_from_slice(part);
            self.len = end;
        }
        Some(())
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
    fn header_checks() {
        assert_eq!(split_header(b"A: b"), Some((&b"A"[..], &b"b"[..])));
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
