//! `request::write` from arbitrary parts that pass the probe's own
//! validation. Input: byte 0 sizes the output buffer (×8), bytes 1..3 the
//! `Host:` port (0 means none), then `\n`-separated method, path and up to
//! 16 `-H` headers (no valid part can hold a `\n`). The written request never
//! holds CR or LF but as the CRLF line endings the writer adds; a short buffer
//! gives `None` or the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scratchprobe::cli::MAX_HEADERS;
use scratchprobe::proto::http::request::{self, Request};
use scratchprobe_fuzz::check_request;

fuzz_target!(|data: &[u8]| {
    let [size, p1, p2, rest @ ..] = data else {
        return;
    };
    let mut parts = rest.split(|&b| b == b'\n');
    let method = parts.next().unwrap_or(b"GET");
    let path = parts.next().unwrap_or(b"");
    if !request::is_token(method) || !path.iter().all(|b| b.is_ascii_graphic()) {
        return;
    }
    // Headers as `Options` takes them: each one `split_header` accepts.
    let headers: Vec<&[u8]> = parts
        .filter(|h| {
            let ok = request::split_header(h);
            if ok.is_some() {
                assert!(!h.iter().any(|&b| matches!(b, b'\r' | b'\n' | 0)), "{h:?}");
            }
            ok.is_some()
        })
        .take(MAX_HEADERS)
        .collect();
    let port = u16::from_le_bytes([*p1, *p2]);
    let req = Request {
        method,
        path,
        host_port: (port != 0).then_some(port),
        headers: &headers,
    };

    let mut big = vec![0u8; 1 << 16];
    let len = request::write(&mut big, &req).expect("request does not fit 64 KiB");
    check_request(&big[..len], &req);

    let mut small = vec![0x55u8; usize::from(*size) * 8];
    match request::write(&mut small, &req) {
        Some(n) => assert_eq!(&small[..n], &big[..len], "short buffer wrote other bytes"),
        None => assert!(
            len > small.len(),
            "refused a request of {len} bytes that fits {}",
            small.len()
        ),
    }
});
