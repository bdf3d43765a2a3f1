//! The gRPC health request, everything we send in one write: the HTTP/2
//! connection preface, our SETTINGS, one HEADERS frame and one DATA frame
//! that ends the stream and carries the `HealthCheckRequest`.

use crate::proto::grpc::frame::{self, Header};
use crate::proto::grpc::hpack::{self, Name};
use crate::proto::http::request::{USER_AGENT, split_header};
use crate::text::{Writer, decimal};

/// The one stream we open.
pub const STREAM: u32 = 1;

/// What to ask.
pub struct Request<'a> {
    /// The service to check; empty asks about the whole server.
    pub service: &'a [u8],
    /// The port for `:authority` (`localhost:PORT`); none over a Unix socket
    /// (`localhost`).
    pub port: Option<u16>,
    /// `-H` headers, `Name: value`, sent as metadata (names lowercased). A
    /// `Host` header is the `:authority` instead, a `User-Agent` replaces
    /// ours, and headers that HTTP/2 forbids are left out.
    pub metadata: &'a [&'a [u8]],
    /// The deadline, sent as `grpc-timeout` so that the server can give up
    /// when we do.
    pub timeout_ms: u64,
}

/// The method's path.
const PATH: &[u8] = b"/grpc.health.v1.Health/Check";

// HPACK static table entries (RFC 7541 A) our headers use.
const AUTHORITY: usize = 1;
const METHOD_POST: usize = 3;
const PATH_NAME: usize = 4;
const SCHEME_HTTP: usize = 6;
const CONTENT_TYPE: usize = 31;
const USER_AGENT_NAME: usize = 58;

/// Headers HTTP/2 forbids in a request (RFC 9113 8.2.2), which a `-H` meant
/// for HTTP/1.1 might name; `te` is ours.
const CONNECTION_SPECIFIC: [&[u8]; 6] = [
    b"connection",
    b"keep-alive",
    b"proxy-connection",
    b"transfer-encoding",
    b"upgrade",
    b"te",
];

/// `HealthCheckRequest.service` is field 1, length-delimited (protobuf wire
/// type 2): tag `1 << 3 | 2`.
const SERVICE_TAG: u8 = 0x0a;
/// The gRPC message prefix (gRPC over HTTP/2, "Length-Prefixed-Message"):
/// an uncompressed flag, then the message length, 4 bytes big-endian.
const UNCOMPRESSED: u8 = 0;

/// Writes the whole request into `out`: its length, or `None` if it does not
/// fit `out` or a frame.
pub fn write(out: &mut [u8], req: &Request) -> Option<usize> {
    let mut w = Writer::new(out);
    w.put(frame::PREFACE);
    write_settings(&mut w);
    write_headers(&mut w, req)?;
    write_data(&mut w, req.service)?;
    w.finish()
}

/// Our SETTINGS: a header table size of 0, so that the server never indexes
/// into a dynamic table (we keep none).
fn write_settings(w: &mut Writer) {
    let header = Header {
        len: 6,
        kind: frame::SETTINGS,
        flags: 0,
        stream: 0,
    };
    frame::write_header(w, header);
    w.put(&frame::SETTINGS_HEADER_TABLE_SIZE.to_be_bytes());
    w.put(&0u32.to_be_bytes());
}

/// The HEADERS frame, one header block.
fn write_headers(w: &mut Writer, req: &Request) -> Option<()> {
    let at = w.len();
    let header = Header {
        len: 0,
        kind: frame::HEADERS,
        flags: frame::END_HEADERS,
        stream: STREAM,
    };
    frame::write_header(w, header);
    let given = |name: &[u8]| {
        req.metadata
            .iter()
            .filter_map(|h| split_header(h))
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, value)| value)
    };
    match given(b"host") {
        Some(host) => hpack::write_literal(w, Name::Static(AUTHORITY), host),
        None => {
            let mut authority = [0u8; 16];
            hpack::write_literal(
                w,
                Name::Static(AUTHORITY),
                localhost(req.port, &mut authority),
            );
        }
    }
    hpack::write_indexed(w, METHOD_POST);
    hpack::write_indexed(w, SCHEME_HTTP);
    hpack::write_literal(w, Name::Static(PATH_NAME), PATH);
    hpack::write_literal(w, Name::Static(CONTENT_TYPE), b"application/grpc");
    hpack::write_literal(w, Name::Literal(b"te"), b"trailers");
    let user_agent = given(b"user-agent").unwrap_or(USER_AGENT);
    hpack::write_literal(w, Name::Static(USER_AGENT_NAME), user_agent);
    let mut timeout = [0u8; 24];
    hpack::write_literal(
        w,
        Name::Literal(b"grpc-timeout"),
        grpc_timeout(req.timeout_ms, &mut timeout),
    );
    for (name, value) in req.metadata.iter().filter_map(|h| split_header(h)) {
        let ours = [&b"host"[..], b"user-agent"];
        let left_out = ours
            .iter()
            .chain(&CONNECTION_SPECIFIC)
            .any(|n| name.eq_ignore_ascii_case(n));
        if !left_out {
            hpack::write_literal(w, Name::Literal(name), value);
        }
    }
    frame::patch_len(w, at)
}

/// `localhost` or `localhost:PORT`, in `buf`.
fn localhost(port: Option<u16>, buf: &mut [u8; 16]) -> &[u8] {
    let mut w = Writer::new(buf);
    w.put(b"localhost");
    if let Some(port) = port {
        w.put(b":");
        w.put(decimal(port.into(), &mut [0; 20]));
    }
    let len = w.len();
    &buf[..len]
}

/// `grpc-timeout`: at most 8 digits and a unit; milliseconds (`m`) up to a
/// day, which is the longest deadline the probe takes.
fn grpc_timeout(ms: u64, buf: &mut [u8; 24]) -> &[u8] {
    let mut w = Writer::new(buf);
    w.put(decimal(ms.min(99_999_999), &mut [0; 20]));
    w.put(b"m");
    let len = w.len();
    &buf[..len]
}

/// The DATA frame that ends the stream: the `HealthCheckRequest`, its
/// `service` field left out for the whole server (as protobuf leaves out
/// empty strings).
fn write_data(w: &mut Writer, service: &[u8]) -> Option<()> {
    let at = w.len();
    let header = Header {
        len: 0,
        kind: frame::DATA,
        flags: frame::END_STREAM,
        stream: STREAM,
    };
    frame::write_header(w, header);
    let message_len = if service.is_empty() {
        0
    } else {
        1 + varint_len(service.len()) + service.len()
    };
    w.put_byte(UNCOMPRESSED);
    w.put(&u32::try_from(message_len).ok()?.to_be_bytes());
    if !service.is_empty() {
        w.put_byte(SERVICE_TAG);
        write_varint(w, service.len());
        w.put(service);
    }
    frame::patch_len(w, at)
}

/// Writes a protobuf varint: 7 bits a byte, least significant first.
fn write_varint(w: &mut Writer, mut n: usize) {
    while n >= 0x80 {
        w.put_byte(n as u8 | 0x80);
        n >>= 7;
    }
    w.put_byte(n as u8);
}

/// How many bytes `write_varint` writes for `n`.
fn varint_len(n: usize) -> usize {
    let bits = usize::BITS - n.leading_zeros();
    (bits as usize).div_ceil(7).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::grpc::hpack::{SCRATCH, VALUE_MAX};

    fn request(metadata: &[&[u8]], service: &[u8], timeout_ms: u64) -> Vec<u8> {
        let req = Request {
            port: Some(50051),
            service,
            metadata,
            timeout_ms,
        };
        let mut out = [0u8; 2048];
        let n = write(&mut out, &req).unwrap();
        out[..n].to_vec()
    }

    /// Splits a request into preface and frames (type, flags, stream, payload).
    fn frames(mut b: &[u8]) -> Vec<(u8, u8, u32, Vec<u8>)> {
        assert!(b.starts_with(frame::PREFACE));
        b = &b[frame::PREFACE.len()..];
        let mut out = Vec::new();
        while !b.is_empty() {
            let len = u32::from_be_bytes([0, b[0], b[1], b[2]]) as usize;
            let stream = u32::from_be_bytes([b[5], b[6], b[7], b[8]]);
            out.push((b[3], b[4], stream, b[9..9 + len].to_vec()));
            b = &b[9 + len..];
        }
        out
    }

    /// The fields of a header block: (static index or 0, name, value).
    pub(crate) fn header_fields(block: &[u8]) -> Vec<(usize, String, String)> {
        let mut fields = Vec::new();
        hpack::decode(block, &mut [0; SCRATCH], &mut |field| {
            let s = |b: &[u8]| String::from_utf8(b.to_vec()).unwrap();
            let (i, n) = match field.name {
                Name::Static(i) => (i, String::new()),
                Name::Literal(n) => (0, s(n)),
            };
            fields.push((i, n, s(field.value)));
        })
        .unwrap();
        fields
    }

    #[test]
    fn request_layout() {
        let metadata: [&[u8]; 2] = [b"Authorization: Bearer x", b"X-Trace:1"];
        let f = frames(&request(&metadata, b"grpc.health.v1.Health", 1999));
        assert_eq!(f.len(), 3);
        // SETTINGS: HEADER_TABLE_SIZE 0.
        assert_eq!(f[0], (frame::SETTINGS, 0, 0, vec![0, 1, 0, 0, 0, 0]));
        let (kind, flags, stream, ref block) = f[1];
        assert_eq!(
            (kind, flags, stream),
            (frame::HEADERS, frame::END_HEADERS, 1)
        );
        let s = |v: &str| v.to_string();
        assert_eq!(
            header_fields(block),
            [
                (1, s(""), s("localhost:50051")), // :authority
                (3, s(""), s("")),                // :method POST
                (6, s(""), s("")),                // :scheme http
                (4, s(""), s("/grpc.health.v1.Health/Check")),
                (31, s(""), s("application/grpc")),
                (0, s("te"), s("trailers")),
                (58, s(""), s("scratchprobe/0.1.0")),
                (0, s("grpc-timeout"), s("1999m")),
                (0, s("authorization"), s("Bearer x")),
                (0, s("x-trace"), s("1")),
            ]
        );
        let mut data = vec![0, 0, 0, 0, 23, 0x0a, 21];
        data.extend(b"grpc.health.v1.Health");
        assert_eq!(f[2], (frame::DATA, frame::END_STREAM, 1, data));
    }

    #[test]
    fn host_user_agent_and_forbidden_headers() {
        let metadata: [&[u8]; 5] = [
            b"Host: api.local:5000",
            b"User-Agent: kube-probe/1.30",
            b"Connection: close",
            b"TE: gzip",
            b"X-Ok: 1",
        ];
        let f = frames(&request(&metadata, b"", 1000));
        let fields = header_fields(&f[1].3);
        assert_eq!(fields[0], (1, "".into(), "api.local:5000".into()));
        assert!(fields.contains(&(58, "".into(), "kube-probe/1.30".into())));
        let names: Vec<&str> = fields.iter().map(|(_, n, _)| n.as_str()).collect();
        assert_eq!(names.iter().filter(|n| **n == "te").count(), 1);
        assert!(!names.contains(&"connection") && !names.contains(&"host"));
        assert!(names.contains(&"x-ok"));
        // Over a Unix socket: `localhost` alone.
        let req = Request {
            port: None,
            service: b"",
            metadata: &[],
            timeout_ms: 1,
        };
        let mut out = [0u8; 512];
        let n = write(&mut out, &req).unwrap();
        assert_eq!(
            header_fields(&frames(&out[..n])[1].3)[0],
            (1, "".into(), "localhost".into())
        );
    }

    #[test]
    fn request_edge_cases() {
        // Whole server: an empty HealthCheckRequest, as protobuf has it.
        let f = frames(&request(&[], b"", 1));
        assert_eq!(
            f[2],
            (frame::DATA, frame::END_STREAM, 1, vec![0, 0, 0, 0, 0])
        );
        // The longest deadline, a day, has 8 digits, as gRPC allows.
        let f = frames(&request(&[], b"", crate::text::duration::MAX_MS));
        let timeout = (0, "grpc-timeout".into(), "86400000m".into());
        assert!(header_fields(&f[1].3).contains(&timeout));
        // Long values and service names need multi-byte lengths.
        let long = format!("x-long: {}", "v".repeat(300));
        let service = "s".repeat(200);
        let f = frames(&request(
            &[long.as_bytes(), b"Empty:"],
            service.as_bytes(),
            5,
        ));
        let fields = header_fields(&f[1].3);
        // Decoded values are cut at VALUE_MAX; the length is what matters.
        assert!(fields.contains(&(0, "x-long".into(), "v".repeat(VALUE_MAX))));
        assert!(fields.contains(&(0, "empty".into(), "".into())));
        // 300 = 127 + 0x2d + (1 << 7): the prefix, then two varint bytes.
        let encoded = [&[0, 6][..], b"x-long", &[0x7f, 0xad, 0x01]].concat();
        assert!(f[1].3.windows(encoded.len()).any(|w| w == encoded));
        let mut data = vec![0, 0, 0, 0, 203, 0x0a, 200, 1];
        data.extend(service.as_bytes());
        assert_eq!(f[2].3, data);
        // Too small a buffer.
        let req = Request {
            port: None,
            service: b"",
            metadata: &[],
            timeout_ms: 0,
        };
        let mut out = [0u8; 2048];
        let n = write(&mut out, &req).unwrap();
        assert_eq!(write(&mut out[..n - 1], &req), None);
        assert_eq!(write(&mut out[..n], &req), Some(n));
        // A header block no frame can carry.
        let huge = format!("x: {}", "v".repeat(20_000));
        let mut out = vec![0u8; 30_000];
        let metadata: [&[u8]; 1] = [huge.as_bytes()];
        let req = Request {
            port: None,
            service: b"",
            metadata: &metadata,
            timeout_ms: 0,
        };
        assert_eq!(write(&mut out, &req), None);
    }

    #[test]
    fn varint_lengths() {
        for n in [0usize, 1, 127, 128, 16_383, 16_384, 1 << 21] {
            let mut buf = [0u8; 16];
            let mut w = Writer::new(&mut buf);
            write_varint(&mut w, n);
            assert_eq!(w.len(), varint_len(n), "{n}");
        }
    }
}
