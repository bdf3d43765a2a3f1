//! `grpc::write_request` from arbitrary parts as the probe validates them
//! (a port or none, printable service, `-H` headers that `split_header`
//! accepts). Input: bytes 0..4 the timeout in ms, then `\n`-separated
//! port (decimal; anything else is none), service and headers. The output is exactly the preface, our
//! SETTINGS, one HEADERS frame whose block decodes (with the probe's own
//! HPACK decoder) to the fields we meant, and one DATA frame carrying the
//! HealthCheckRequest.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scratchprobe::proto::grpc::hpack::{self, Name};
use scratchprobe::proto::grpc::request::{self as grpc, Request};
use scratchprobe::proto::http::request;

const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
const OUR_SETTINGS: &[u8] = b"\x00\x00\x06\x04\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00";

fuzz_target!(|data: &[u8]| {
    let [t0, t1, t2, t3, rest @ ..] = data else {
        return;
    };
    let timeout_ms = u64::from(u32::from_le_bytes([*t0, *t1, *t2, *t3])) % (24 * 3_600_000 + 1);
    let mut parts = rest.split(|&b| b == b'\n');
    let port = core::str::from_utf8(parts.next().unwrap_or(b"50051"))
        .ok()
        .and_then(|p| p.parse::<u16>().ok());
    let authority = match port {
        Some(port) => format!("localhost:{port}"),
        None => "localhost".into(),
    };
    let service = parts.next().unwrap_or(b"");
    if !service.iter().all(|b| b.is_ascii_graphic()) {
        return;
    }
    let metadata: Vec<&[u8]> = parts
        .filter(|h| request::split_header(h).is_some())
        .take(16)
        .collect();
    let req = Request {
        port,
        service,
        metadata: &metadata,
        timeout_ms,
    };
    let mut out = vec![0u8; 1 << 17];
    let Some(len) = grpc::write(&mut out, &req) else {
        let size: usize = metadata.iter().map(|h| h.len() + 4).sum::<usize>();
        assert!(size > 16_000, "refused a small request");
        return;
    };
    let out = &out[..len];
    // A short buffer refuses rather than writing part of it.
    let mut short = vec![0u8; len - 1];
    assert_eq!(grpc::write(&mut short, &req), None);

    let rest = out.strip_prefix(PREFACE).expect("preface");
    let rest = rest.strip_prefix(OUR_SETTINGS).expect("our SETTINGS");
    let (headers, rest) = frame(rest, 1, 0x4);
    let (body, rest) = frame(rest, 0, 0x1);
    assert!(rest.is_empty(), "bytes after the DATA frame");

    // The header block, field by field.
    let mut fields: Vec<(usize, Vec<u8>, Vec<u8>)> = Vec::new();
    hpack::decode(headers, &mut [0; hpack::SCRATCH], &mut |field| {
        let (i, n) = match field.name {
            Name::Static(i) => (i, vec![]),
            Name::Literal(n) => (0, n.to_vec()),
        };
        fields.push((i, n, field.value.to_vec()))
    })
    .expect("our own header block does not decode");
    let cut = |s: &[u8], max: usize| s[..s.len().min(max)].to_vec();
    // `-H Host:` is the authority, `-H User-Agent:` replaces ours, and
    // headers HTTP/2 forbids are left out.
    let given = |name: &str| {
        metadata.iter().find_map(|h| {
            let (n, v) = request::split_header(h).unwrap();
            n.eq_ignore_ascii_case(name.as_bytes()).then(|| v.to_vec())
        })
    };
    let authority = given("host").unwrap_or(authority.into_bytes());
    let user_agent = given("user-agent").unwrap_or(request::USER_AGENT.to_vec());
    let left_out = [
        "host",
        "user-agent",
        "connection",
        "keep-alive",
        "proxy-connection",
        "transfer-encoding",
        "upgrade",
        "te",
    ];
    let mut want: Vec<(usize, Vec<u8>, Vec<u8>)> = vec![
        (1, vec![], cut(&authority, hpack::VALUE_MAX)),
        (3, vec![], vec![]),
        (6, vec![], vec![]),
        (4, vec![], b"/grpc.health.v1.Health/Check".to_vec()),
        (31, vec![], b"application/grpc".to_vec()),
        (0, b"te".to_vec(), b"trailers".to_vec()),
        (58, vec![], cut(&user_agent, hpack::VALUE_MAX)),
        (
            0,
            b"grpc-timeout".to_vec(),
            format!("{timeout_ms}m").into_bytes(),
        ),
    ];
    for h in &metadata {
        let (name, value) = request::split_header(h).unwrap();
        let name = name.to_ascii_lowercase();
        if left_out.iter().any(|l| l.as_bytes() == name) {
            continue;
        }
        want.push((0, cut(&name, 32), cut(value, hpack::VALUE_MAX)));
    }
    assert_eq!(fields, want, "header fields");

    // The gRPC message: uncompressed, length-prefixed HealthCheckRequest.
    let (prefix, message) = body.split_at(5);
    assert_eq!(prefix[0], 0, "compressed flag");
    assert_eq!(
        u32::from_be_bytes(prefix[1..5].try_into().unwrap()) as usize,
        message.len()
    );
    let mut want = Vec::new();
    if !service.is_empty() {
        want.push(0x0a);
        let mut n = service.len();
        while n >= 0x80 {
            want.push(n as u8 | 0x80);
            n >>= 7;
        }
        want.push(n as u8);
        want.extend_from_slice(service);
    }
    assert_eq!(message, &want[..], "HealthCheckRequest");
});

/// One frame of stream 1 with exactly these type and flags: its payload and
/// what follows.
fn frame(b: &[u8], ty: u8, flags: u8) -> (&[u8], &[u8]) {
    assert!(b.len() >= 9, "frame header cut short");
    let len = u32::from_be_bytes([0, b[0], b[1], b[2]]) as usize;
    assert!(len <= 16_384, "frame of {len} bytes");
    assert_eq!((b[3], b[4]), (ty, flags), "frame type and flags");
    assert_eq!(&b[5..9], &[0, 0, 0, 1], "stream");
    assert!(b.len() >= 9 + len, "payload cut short");
    b[9..].split_at(len)
}
