//! Checks shared by several fuzz targets.

use scratchprobe::proto::http::request::{self, Request};

/// Asserts what must hold of a request that `request::write` produced from
/// parts that passed validation (a token method, a printable path, headers
/// accepted by `split_header`): CRLF appears only as the line endings the
/// writer adds, no line holds a bare CR, LF or NUL, the head ends at the one
/// blank line at the end, and every header line is `token:value`.
pub fn check_request(out: &[u8], req: &Request) {
    assert!(
        out.ends_with(b"\r\n\r\n"),
        "request does not end its head: {out:?}"
    );
    let head = &out[..out.len() - 4];
    let lines: Vec<&[u8]> = split_crlf(head);
    for line in &lines {
        assert!(
            !line.iter().any(|&b| matches!(b, b'\r' | b'\n' | 0)),
            "bare CR, LF or NUL in request line {line:?} of {out:?}"
        );
        assert!(
            !line.is_empty(),
            "blank line inside the request head: {out:?}"
        );
    }
    // The request line, exactly.
    let mut first = req.method.to_vec();
    first.push(b' ');
    if req.path.first() != Some(&b'/') {
        first.push(b'/');
    }
    first.extend_from_slice(req.path);
    first.extend_from_slice(b" HTTP/1.1");
    assert_eq!(lines[0], &first[..], "request line of {out:?}");
    // Every other line is a header with a token name.
    for line in &lines[1..] {
        assert!(
            request::split_header(line).is_some(),
            "not a valid header line: {line:?} in {out:?}"
        );
    }
    // `Host:` is sent once, ours or the user's.
    let user_hosts = req.headers.iter().filter(|h| is_host(h)).count();
    let sent_hosts = lines[1..].iter().filter(|h| is_host(h)).count();
    if user_hosts == 0 {
        assert_eq!(sent_hosts, 1, "default Host missing or doubled: {out:?}");
    } else {
        assert!(
            sent_hosts <= user_hosts,
            "Host added next to the user's: {out:?}"
        );
    }
}

fn is_host(header: &[u8]) -> bool {
    header.len() >= 5 && header[..5].eq_ignore_ascii_case(b"host:")
}

/// Splits on `\r\n`, the pieces between.
pub fn split_crlf(text: &[u8]) -> Vec<&[u8]> {
    let mut lines = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i + 1 < text.len() {
        if text[i] == b'\r' && text[i + 1] == b'\n' {
            lines.push(&text[start..i]);
            i += 2;
            start = i;
        } else {
            i += 1;
        }
    }
    lines.push(&text[start..]);
    lines
}

/// True when `inner` lies within `outer` (same memory), for results that must
/// borrow from the input.
pub fn within(inner: &[u8], outer: &[u8]) -> bool {
    let (o, i) = (outer.as_ptr() as usize, inner.as_ptr() as usize);
    inner.is_empty() || (i >= o && i + inner.len() <= o + outer.len())
}

/// RFC 7541 Appendix B, as the RFC prints it: the library's one copy of the
/// table (its decoder derives a canonical form from it; the reference
/// decoder here matches codes against the table itself).
pub use scratchprobe::proto::grpc::huffman::TABLE as RFC_TABLE;

/// Reference Huffman encoder: the RFC's codes, padded with ones.
pub fn huffman_encode(s: &[u8]) -> Vec<u8> {
    let (mut out, mut acc, mut bits) = (Vec::new(), 0u64, 0u32);
    for &b in s {
        let (len, code) = RFC_TABLE[usize::from(b)];
        acc = acc << len | u64::from(code);
        bits += u32::from(len);
        while bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    if bits > 0 {
        out.push((acc << (8 - bits) | (0xff >> bits)) as u8);
    }
    out
}

fn codes() -> &'static std::collections::HashMap<(u8, u32), usize> {
    static CODES: std::sync::OnceLock<std::collections::HashMap<(u8, u32), usize>> =
        std::sync::OnceLock::new();
    CODES.get_or_init(|| {
        RFC_TABLE
            .iter()
            .enumerate()
            .map(|(sym, &e)| (e, sym))
            .collect()
    })
}

/// Reference Huffman decoder, straight from RFC 7541 5.2: match codes bit
/// by bit against the full table; EOS, padding over 7 bits, or padding that
/// is not all ones is an error.
pub fn huffman_decode(src: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let (mut code, mut bits) = (0u32, 0u8);
    for &byte in src {
        for shift in (0..8).rev() {
            code = code << 1 | u32::from(byte >> shift & 1);
            bits += 1;
            if let Some(&sym) = codes().get(&(bits, code)) {
                if sym == 256 {
                    return None;
                }
                out.push(sym as u8);
                (code, bits) = (0, 0);
            }
            assert!(bits <= 30, "the RFC code is complete");
        }
    }
    (bits <= 7 && code == (1u32 << bits) - 1).then_some(out)
}
