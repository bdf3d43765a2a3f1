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

/// RFC 7541 Appendix B in full: (bit length, code) for each byte value, then
/// EOS. Independent of the library's compact tables: the fuzz targets check
/// the decoder against this.
#[rustfmt::skip]
pub const RFC_TABLE: [(u8, u32); 257] = [
    (13, 0x1ff8), (23, 0x7fffd8), (28, 0xfffffe2), (28, 0xfffffe3),
    (28, 0xfffffe4), (28, 0xfffffe5), (28, 0xfffffe6), (28, 0xfffffe7),
    (28, 0xfffffe8), (24, 0xffffea), (30, 0x3ffffffc), (28, 0xfffffe9),
    (28, 0xfffffea), (30, 0x3ffffffd), (28, 0xfffffeb), (28, 0xfffffec),
    (28, 0xfffffed), (28, 0xfffffee), (28, 0xfffffef), (28, 0xffffff0),
    (28, 0xffffff1), (28, 0xffffff2), (30, 0x3ffffffe), (28, 0xffffff3),
    (28, 0xffffff4), (28, 0xffffff5), (28, 0xffffff6), (28, 0xffffff7),
    (28, 0xffffff8), (28, 0xffffff9), (28, 0xffffffa), (28, 0xffffffb),
    (6, 0x14), (10, 0x3f8), (10, 0x3f9), (12, 0xffa),
    (13, 0x1ff9), (6, 0x15), (8, 0xf8), (11, 0x7fa),
    (10, 0x3fa), (10, 0x3fb), (8, 0xf9), (11, 0x7fb),
    (8, 0xfa), (6, 0x16), (6, 0x17), (6, 0x18),
    (5, 0x0), (5, 0x1), (5, 0x2), (6, 0x19),
    (6, 0x1a), (6, 0x1b), (6, 0x1c), (6, 0x1d),
    (6, 0x1e), (6, 0x1f), (7, 0x5c), (8, 0xfb),
    (15, 0x7ffc), (6, 0x20), (12, 0xffb), (10, 0x3fc),
    (13, 0x1ffa), (6, 0x21), (7, 0x5d), (7, 0x5e),
    (7, 0x5f), (7, 0x60), (7, 0x61), (7, 0x62),
    (7, 0x63), (7, 0x64), (7, 0x65), (7, 0x66),
    (7, 0x67), (7, 0x68), (7, 0x69), (7, 0x6a),
    (7, 0x6b), (7, 0x6c), (7, 0x6d), (7, 0x6e),
    (7, 0x6f), (7, 0x70), (7, 0x71), (7, 0x72),
    (8, 0xfc), (7, 0x73), (8, 0xfd), (13, 0x1ffb),
    (19, 0x7fff0), (13, 0x1ffc), (14, 0x3ffc), (6, 0x22),
    (15, 0x7ffd), (5, 0x3), (6, 0x23), (5, 0x4),
    (6, 0x24), (5, 0x5), (6, 0x25), (6, 0x26),
    (6, 0x27), (5, 0x6), (7, 0x74), (7, 0x75),
    (6, 0x28), (6, 0x29), (6, 0x2a), (5, 0x7),
    (6, 0x2b), (7, 0x76), (6, 0x2c), (5, 0x8),
    (5, 0x9), (6, 0x2d), (7, 0x77), (7, 0x78),
    (7, 0x79), (7, 0x7a), (7, 0x7b), (15, 0x7ffe),
    (11, 0x7fc), (14, 0x3ffd), (13, 0x1ffd), (28, 0xffffffc),
    (20, 0xfffe6), (22, 0x3fffd2), (20, 0xfffe7), (20, 0xfffe8),
    (22, 0x3fffd3), (22, 0x3fffd4), (22, 0x3fffd5), (23, 0x7fffd9),
    (22, 0x3fffd6), (23, 0x7fffda), (23, 0x7fffdb), (23, 0x7fffdc),
    (23, 0x7fffdd), (23, 0x7fffde), (24, 0xffffeb), (23, 0x7fffdf),
    (24, 0xffffec), (24, 0xffffed), (22, 0x3fffd7), (23, 0x7fffe0),
    (24, 0xffffee), (23, 0x7fffe1), (23, 0x7fffe2), (23, 0x7fffe3),
    (23, 0x7fffe4), (21, 0x1fffdc), (22, 0x3fffd8), (23, 0x7fffe5),
    (22, 0x3fffd9), (23, 0x7fffe6), (23, 0x7fffe7), (24, 0xffffef),
    (22, 0x3fffda), (21, 0x1fffdd), (20, 0xfffe9), (22, 0x3fffdb),
    (22, 0x3fffdc), (23, 0x7fffe8), (23, 0x7fffe9), (21, 0x1fffde),
    (23, 0x7fffea), (22, 0x3fffdd), (22, 0x3fffde), (24, 0xfffff0),
    (21, 0x1fffdf), (22, 0x3fffdf), (23, 0x7fffeb), (23, 0x7fffec),
    (21, 0x1fffe0), (21, 0x1fffe1), (22, 0x3fffe0), (21, 0x1fffe2),
    (23, 0x7fffed), (22, 0x3fffe1), (23, 0x7fffee), (23, 0x7fffef),
    (20, 0xfffea), (22, 0x3fffe2), (22, 0x3fffe3), (22, 0x3fffe4),
    (23, 0x7ffff0), (22, 0x3fffe5), (22, 0x3fffe6), (23, 0x7ffff1),
    (26, 0x3ffffe0), (26, 0x3ffffe1), (20, 0xfffeb), (19, 0x7fff1),
    (22, 0x3fffe7), (23, 0x7ffff2), (22, 0x3fffe8), (25, 0x1ffffec),
    (26, 0x3ffffe2), (26, 0x3ffffe3), (26, 0x3ffffe4), (27, 0x7ffffde),
    (27, 0x7ffffdf), (26, 0x3ffffe5), (24, 0xfffff1), (25, 0x1ffffed),
    (19, 0x7fff2), (21, 0x1fffe3), (26, 0x3ffffe6), (27, 0x7ffffe0),
    (27, 0x7ffffe1), (26, 0x3ffffe7), (27, 0x7ffffe2), (24, 0xfffff2),
    (21, 0x1fffe4), (21, 0x1fffe5), (26, 0x3ffffe8), (26, 0x3ffffe9),
    (28, 0xffffffd), (27, 0x7ffffe3), (27, 0x7ffffe4), (27, 0x7ffffe5),
    (20, 0xfffec), (24, 0xfffff3), (20, 0xfffed), (21, 0x1fffe6),
    (22, 0x3fffe9), (21, 0x1fffe7), (21, 0x1fffe8), (23, 0x7ffff3),
    (22, 0x3fffea), (22, 0x3fffeb), (25, 0x1ffffee), (25, 0x1ffffef),
    (24, 0xfffff4), (24, 0xfffff5), (26, 0x3ffffea), (23, 0x7ffff4),
    (26, 0x3ffffeb), (27, 0x7ffffe6), (26, 0x3ffffec), (26, 0x3ffffed),
    (27, 0x7ffffe7), (27, 0x7ffffe8), (27, 0x7ffffe9), (27, 0x7ffffea),
    (27, 0x7ffffeb), (28, 0xffffffe), (27, 0x7ffffec), (27, 0x7ffffed),
    (27, 0x7ffffee), (27, 0x7ffffef), (27, 0x7fffff0), (26, 0x3ffffee),
    (30, 0x3fffffff),
];

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
