//! gRPC health checking (`grpc.health.v1.Health/Check`) over cleartext HTTP/2
//! with prior knowledge, as byte-in/byte-out code for the poll loop:
//! `write_request` produces everything we send, in one write; `GrpcCheck`
//! takes the server's bytes in any split and decides.
//!
//! One stream (1), one request, no flow control of our own: the request is a
//! few hundred bytes and the response a few dozen, far inside the default
//! 65,535-byte windows. The HPACK dynamic table is off (size 0 in our
//! SETTINGS), so nothing of one header block is kept for the next.

pub mod hpack;
pub mod huffman;

use crate::proto::http::request::USER_AGENT;
use crate::text::line::Line;

/// What to ask.
pub struct Request<'a> {
    /// The port of the `:authority`, `localhost:PORT`; `localhost` alone
    /// without one (a Unix socket).
    pub port: Option<u16>,
    /// The service to check; empty asks about the whole server.
    pub service: &'a [u8],
    /// Extra headers as the user gave them, `Name: value`. Names are sent
    /// lowercased, as HTTP/2 requires.
    pub metadata: &'a [&'a [u8]],
    /// The deadline, sent as `grpc-timeout` so that the server can give up
    /// when we do. At most a day: 8 digits, as gRPC allows.
    pub timeout_ms: u64,
}

/// Where the check stands after some input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    NeedMore,
    Pass,
    Fail,
}

/// The largest frame payload a peer may send before we raise
/// SETTINGS_MAX_FRAME_SIZE, which we never do; also the most we send.
const MAX_FRAME: usize = 16_384;

/// The connection preface; our SETTINGS: HEADER_TABLE_SIZE 0 (so the server
/// never indexes into a dynamic table); the header of the HEADERS frame for
/// stream 1 (END_HEADERS; its length is patched in); and the first header,
/// `:authority` (literal, static name 1; its length patched in), up to the
/// port.
const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\
    \x00\x00\x06\x04\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\
    \x00\x00\x00\x01\x04\x00\x00\x00\x01\
    \x01\x00localhost";
/// Where the HEADERS frame's length ends in `PREFACE`, and where the
/// `:authority` value's does.
const HEADERS_AT: usize = 42;
const AUTHORITY_AT: usize = 50;

/// The fixed headers, strings Huffman-coded: `:method POST` (static 3),
/// `:scheme http` (6), `:path /grpc.health.v1.Health/Check` (literal,
/// static name 4), `content-type: application/grpc` (static name 31),
/// `te: trailers`, `user-agent` (static name 58 = 15 + 43) with ours; then
/// `grpc-timeout` up to its value.
const FIXED: [u8; FIXED_LEN] = concat(&[
    FIXED_START,
    &[USER_AGENT.len() as u8],
    USER_AGENT,
    TIMEOUT_NAME,
]);
const FIXED_START: &[u8] =
    b"\x83\x86\x04\x95\x62\x6b\x2b\x22\xf3\x94\x74\x26\x75\xfb\x85\x7c\x65\x1d\x09\x9d\
    \x8b\xd3\x94\x9d\x7f\x0f\x10\x8b\x1d\x75\xd0\x62\x0d\x26\x3d\x4c\x4d\x65\x64\
    \x00\x82\x49\x7f\x86\x4d\x83\x35\x05\xb1\x1f\
    \x0f\x2b";
/// A literal without indexing, new name, Huffman-coded.
const TIMEOUT_NAME: &[u8] = b"\x00\x89\x9a\xca\xc8\xb2\x4d\x49\x4f\x6a\x7f";
const FIXED_LEN: usize = FIXED_START.len() + 1 + USER_AGENT.len() + TIMEOUT_NAME.len();

/// `parts` one after the other, at compile time.
const fn concat<const N: usize>(parts: &[&[u8]]) -> [u8; N] {
    let mut out = [0; N];
    let (mut i, mut at) = (0, 0);
    while i < parts.len() {
        let mut j = 0;
        while j < parts[i].len() {
            out[at] = parts[i][j];
            (at, j) = (at + 1, j + 1);
        }
        i += 1;
    }
    assert!(at == N);
    out
}

/// The DATA frame (END_STREAM, stream 1; its length patched in) and the
/// gRPC message prefix (uncompressed; length patched in) of a
/// HealthCheckRequest.
const DATA_FRAME: &[u8] = b"\x00\x00\x00\x00\x01\x00\x00\x00\x01\x00\x00\x00\x00\x00";

// How `Out::write` writes.
const PUT: u8 = 0;
const VALUE: u8 = 1;
const NAME: u8 = 2;
const PROTO: u8 = 3;

/// Builds the request in `buf`, counting in `len` what did not fit too.
struct Out<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl Out<'_> {
    #[inline(never)]
    fn byte(&mut self, b: u8) {
        if let Some(slot) = self.buf.get_mut(self.len) {
            *slot = b;
        }
        self.len += 1;
    }

    /// Writes `s` as it is (`PUT`), or as an HPACK string literal without
    /// Huffman coding (its length has a 7-bit prefix), lowercased for header
    /// names (`NAME`), or as a protobuf string (`PROTO`, a varint length).
    fn write(&mut self, s: &[u8], how: u8) {
        if how != PUT {
            let mut n = s.len();
            if how != PROTO && n >= 0x7f {
                self.byte(0x7f);
                n -= 0x7f;
            }
            // A base-128 varint: HPACK's integer tail, protobuf's lengths.
            while n >= 0x80 {
                self.byte(n as u8 | 0x80);
                n >>= 7;
            }
            self.byte(n as u8);
        }
        for &c in s {
            self.byte(if how == NAME {
                c.to_ascii_lowercase()
            } else {
                c
            });
        }
    }

    /// Adds the number of bytes written since `start` to the 3 bytes that
    /// end at `end`, zeros until then: a frame or message length, or (less
    /// than 128, the 2 bytes before it unchanged) an HPACK string's.
    fn patch(&mut self, end: usize, start: usize) {
        let mut n = self.len - start;
        for at in (end - 3..end).rev() {
            if let Some(slot) = self.buf.get_mut(at) {
                *slot |= n as u8;
            }
            n >>= 8;
        }
    }
}

/// Writes the whole request into `out`: connection preface, SETTINGS, one
/// HEADERS frame and one DATA frame with END_STREAM carrying the
/// HealthCheckRequest. Returns the length, or `None` if it does not fit (or
/// needs more than 16 KiB).
pub fn write_request(out: &mut [u8], req: &Request) -> Option<usize> {
    let room = out.len().min(MAX_FRAME);
    let mut w = Out { buf: out, len: 0 };
    // Room for the port's digits, then the timeout's.
    let mut room_for_digits = [0; 20];
    w.write(PREFACE, PUT);
    if let Some(port) = req.port {
        w.byte(b':');
        w.write(
            crate::text::line::decimal(port.into(), &mut room_for_digits),
            PUT,
        );
    }
    w.patch(AUTHORITY_AT, AUTHORITY_AT);
    w.write(&FIXED, PUT);
    // The value of `grpc-timeout`: milliseconds, at most 8 digits.
    let digits = crate::text::line::decimal(req.timeout_ms, &mut room_for_digits);
    w.byte(digits.len() as u8 + 1);
    w.write(digits, PUT);
    w.byte(b'm');
    for h in req.metadata {
        // `Name: value`, as for HTTP (where options checked them).
        let (name, value) = crate::proto::http::request::split_header(h).unwrap_or_default();
        w.byte(0);
        w.write(name, NAME);
        w.write(value, VALUE);
    }
    let len = w.len;
    w.patch(HEADERS_AT, HEADERS_AT + 6);
    w.write(DATA_FRAME, PUT);
    // Field 1 (`service`, a string); nothing at all for the whole server's
    // "", as protobuf does.
    if !req.service.is_empty() {
        w.byte(0x0a);
        w.write(req.service, PROTO);
    }
    w.patch(len + 3, len + 9);
    w.patch(len + 14, len + 14);
    (w.len <= room).then_some(w.len)
}

/// Room for the frames a `feed` sends back, SETTINGS and PING
/// acknowledgements: a SETTINGS ACK and 3 PING ACKs, each written as 17
/// bytes; with more, none is sent.
pub const REPLY_MAX: usize = 72;

// Frame types (RFC 9113 6).
const DATA: u8 = 0;
const HEADERS: u8 = 1;
const RST_STREAM: u8 = 3;
const SETTINGS: u8 = 4;
const PING: u8 = 6;
const GOAWAY: u8 = 7;
const CONTINUATION: u8 = 9;
// Flags.
const ACK: u8 = 0x1;
const END_STREAM: u8 = 0x1;
const END_HEADERS: u8 = 0x4;
const PADDED: u8 = 0x8;
const PRIORITY: u8 = 0x20;

/// What the check waits for: a prefix of this, by stage.
const PHASE: &str = "waiting for HTTP/2 response trailers";
// How far the exchange got, for `phase` and `closed`.
const STAGE_START: u8 = 0;
const STAGE_SETTINGS: u8 = 1;
const STAGE_HEADERS: u8 = 2;

/// Room for the response message and one header block of stream 1: real
/// servers' blocks are about 100 bytes.
const BUF_MAX: usize = 1024;

/// The start of the reasons from the gRPC status.
const GRPC_STATUS: &[u8] = b"gRPC status ";

/// No `grpc-status` (yet).
const MISSING: u32 = u32::MAX;

/// The words `say` writes, by number: the gRPC status codes 0 to 16, the
/// HealthCheckResponse statuses NOT_SERVING and SERVICE_UNKNOWN (17, 18),
/// then whole reasons, including `hpack`'s errors. One string and a number
/// at each use are smaller than a string each.
const NAMES: &[u8] = b"OK\0CANCELLED\0UNKNOWN\0INVALID_ARGUMENT\0DEADLINE_EXCEEDED\0NOT_FOUND\0\
ALREADY_EXISTS\0PERMISSION_DENIED\0RESOURCE_EXHAUSTED\0FAILED_PRECONDITION\0ABORTED\0OUT_OF_RANGE\0\
UNIMPLEMENTED\0INTERNAL\0UNAVAILABLE\0DATA_LOSS\0UNAUTHENTICATED\0NOT_SERVING\0SERVICE_UNKNOWN\0\
not an HTTP/2 server\0HTTP/2 protocol error\0stream reset\0missing grpc-status\0connection closed\0\
HPACK dynamic table used";
// Words of `NAMES` that are whole reasons (and `hpack::MALFORMED` and
// `hpack::DYNAMIC`, 20 and 24).
const NOT_HTTP2: u32 = 19;
const PROTOCOL: u32 = 20;
const RESET: u32 = 21;
const NO_STATUS: u32 = 22;
const CLOSED: u32 = 23;

/// The response side of one check: feed it what the server sends.
///
/// Frame payloads (less padding and priority fields) are collected in one
/// buffer: the response message of stream 1 stays at its start, up to
/// `kept`; after it each frame's content is collected, used when the frame
/// (or header block) ends, and dropped. What does not fit is counted but
/// not kept, which is an error only for a header block: other frames need
/// at most their first 8 bytes (and a HealthCheckResponse is 7), so large
/// ones are skipped as they stream by.
#[repr(C)] // the small fields first: shorter offsets, smaller code
pub struct GrpcCheck {
    /// The current frame's header; `got` of its 9 bytes have arrived.
    head: [u8; 9],
    got: u8,
    /// The next payload byte is the pad length (PADDED).
    want_pad: bool,
    /// Padding at the end of the payload.
    pad: u8,
    /// Bytes to skip before the content: a HEADERS frame's priority fields.
    skip: u8,
    /// A header block is open: only CONTINUATION may come next.
    in_block: bool,
    /// The last DATA or HEADERS frame ends its stream.
    end_stream: bool,
    stage: u8,
    /// The decision, once made.
    done: Progress,
    /// Bytes in `reply` (255 if some did not fit).
    reply_len: u8,
    /// Payload bytes of the current frame still to come.
    left: u32,
    /// Bytes in `buf` (one more than fit if some did not), and how many of
    /// them are the response message.
    len: u32,
    kept: u32,
    reply: [u8; REPLY_MAX],
    buf: [u8; BUF_MAX],
    /// Room for decoded header names and values.
    scratch: [u8; hpack::SCRATCH],
}

impl Default for GrpcCheck {
    fn default() -> Self {
        Self::new()
    }
}

impl GrpcCheck {
    pub const fn new() -> Self {
        Self {
            head: [0; 9],
            got: 0,
            want_pad: false,
            pad: 0,
            skip: 0,
            in_block: false,
            end_stream: false,
            stage: STAGE_START,
            done: Progress::NeedMore,
            reply_len: 0,
            left: 0,
            len: 0,
            kept: 0,
            reply: [0; REPLY_MAX],
            buf: [0; BUF_MAX],
            scratch: [0; hpack::SCRATCH],
        }
    }

    /// Consumes `input`, in any split; then `reply` says what to send back.
    /// On `Fail` the reason is written to `reason`. Once decided, further
    /// input is ignored and the decision returned again.
    pub fn feed(&mut self, input: &[u8], reason: &mut Line) -> Progress {
        self.reply_len = 0;
        for &b in input {
            if self.done != Progress::NeedMore {
                break;
            }
            self.done = self.byte(b, reason);
        }
        self.done
    }

    /// The acknowledgements the last `feed` calls for: nothing if more were
    /// due than fit.
    pub fn reply(&self) -> &[u8] {
        self.reply
            .get(..usize::from(self.reply_len))
            .unwrap_or_default()
    }

    /// What the check is waiting for, for a timeout's reason.
    pub fn phase(&self) -> &'static str {
        // "waiting for HTTP/2", then " response", then " trailers": the
        // stage is at most 2, so this never passes the end.
        let len = 18 + 9 * usize::from(self.stage);
        &PHASE[..len]
    }

    /// The reason to fail when the server closes the connection first.
    pub fn closed(&self, reason: &mut Line) {
        say(
            reason,
            if self.stage == STAGE_START {
                NOT_HTTP2
            } else {
                CLOSED
            },
        );
    }

    fn byte(&mut self, b: u8, reason: &mut Line) -> Progress {
        if let Some(slot) = self.head.get_mut(usize::from(self.got)) {
            *slot = b;
            self.got += 1;
            if self.got < 9 {
                return Progress::NeedMore;
            }
            // The header is complete: check it, prepare for the payload.
            let [a, b, c, ty, flags, ..] = self.head;
            if self.stage == STAGE_START {
                // A server's first frame is SETTINGS; anything else (such as
                // "HTTP/1.1 400") is not HTTP/2.
                if ty != SETTINGS || flags & ACK != 0 {
                    return say(reason, NOT_HTTP2);
                }
                self.stage = STAGE_SETTINGS;
            }
            let left = u32::from_be_bytes([0, a, b, c]);
            if left as usize > MAX_FRAME || self.in_block != (ty == CONTINUATION) {
                return say(reason, PROTOCOL);
            }
            self.left = left;
            self.pad = 0;
            self.skip = 0;
            // Padding and priority fields are only read where they exist.
            self.want_pad = ty <= HEADERS && flags & PADDED != 0;
            if ty <= HEADERS {
                self.end_stream = flags & END_STREAM != 0;
            }
            if ty == HEADERS && flags & PRIORITY != 0 {
                self.skip = 5;
            }
            if ty == HEADERS || ty == CONTINUATION {
                self.in_block = flags & END_HEADERS == 0;
            }
        } else {
            self.left -= 1;
            if self.want_pad {
                self.want_pad = false;
                self.pad = b;
            } else if self.skip > 0 {
                self.skip -= 1;
            } else if self.left >= u32::from(self.pad) {
                if let Some(slot) = self.buf.get_mut(self.len as usize) {
                    *slot = b;
                }
                self.len += u32::from(self.len <= BUF_MAX as u32);
            }
        }
        if self.left > 0 {
            return Progress::NeedMore;
        }
        self.end(reason)
    }

    /// A frame is complete: act on it.
    #[inline(never)]
    fn end(&mut self, reason: &mut Line) -> Progress {
        self.got = 0;
        let [.., ty, flags, s0, s1, s2, s3] = self.head;
        let ours = u32::from_be_bytes([s0 & 0x7f, s1, s2, s3]) == 1;
        // The first 8 content bytes: PING data, error codes.
        let kept = self.kept as usize;
        let ctl: [u8; 8] = (self.buf.get(kept..kept + 8))
            .and_then(|s| s.try_into().ok())
            .unwrap_or_default();
        let [a, b, c, d, e, f, g, h] = ctl;
        // A GOAWAY fails the check when stream 1 is not among the streams
        // the server still serves (its last stream ID is 0); else (such as a
        // graceful shutdown) the stream's end, or the close, decides.
        if ty == GOAWAY && [a & 0x7f, b, c, d] == [0; 4] {
            // The error code (all standard ones fit in its last byte).
            reason.push(b"GOAWAY, error ").push_u64(h.into());
            return Progress::Fail;
        }
        if (ty == SETTINGS || ty == PING) && flags & ACK == 0 {
            // The acknowledgement, with the PING's data. Past the end of
            // `reply` nothing is sent (see `reply()`): a missing one costs at
            // most a late GOAWAY, a partial frame would break the connection.
            let n = if ty == PING { 17 } else { 9 };
            let frame = [
                0,
                0,
                n as u8 - 9,
                ty,
                ACK,
                0,
                0,
                0,
                0,
                a,
                b,
                c,
                d,
                e,
                f,
                g,
                h,
            ];
            // Written whole, PING data and all, and counted as `n` long.
            let at = usize::from(self.reply_len);
            self.reply_len = match self.reply.get_mut(at..at + 17) {
                Some(slot) => {
                    slot.copy_from_slice(&frame);
                    (at + n) as u8
                }
                None => u8::MAX,
            };
        }
        let mut progress = Progress::NeedMore;
        if ours {
            match ty {
                RST_STREAM => return say(reason, RESET),
                DATA => {
                    if self.end_stream {
                        // The stream ended without trailers.
                        return say(reason, NO_STATUS);
                    }
                    // More of the response message: keep it.
                    self.kept = self.len;
                }
                HEADERS | CONTINUATION => {
                    if self.in_block {
                        // Wait for the rest of the block.
                        return Progress::NeedMore;
                    }
                    progress = self.headers(reason);
                }
                _ => {}
            }
        }
        self.len = self.kept;
        progress
    }

    /// A header block of stream 1 is complete: decode it and, on the
    /// trailers, decide.
    fn headers(&mut self, reason: &mut Line) -> Progress {
        let mut code = MISSING;
        let mut message = Line::new();
        let mut status = 0;
        // A block that did not fit whole is malformed: an integer cut short.
        let block = (self.buf.get(self.kept as usize..self.len as usize)).unwrap_or(&[0x0f]);
        let decoded = hpack::decode_in(block, &mut self.scratch, &mut |index, name, value| {
            // Names starting with `grpc-` are gRPC's own: of those, only
            // `grpc-status` has 11 bytes and only `grpc-message` 12.
            let grpc = name.starts_with(b"grpc-");
            if (8..=14).contains(&index) {
                status = number(value);
            } else if grpc && name.len() == 11 {
                code = number(value);
            } else if grpc && name.len() == 12 && !value.is_empty() {
                // Percent-escapes as sent; what is not printable, as `?`.
                crate::report::output::push_printable(message.push(b": "), value);
            }
        });
        if let Err(e) = decoded {
            return say(reason, e);
        }
        if self.stage < STAGE_HEADERS {
            // The response's first block: the HTTP status.
            self.stage = STAGE_HEADERS;
            if status == 0 {
                return say(reason, PROTOCOL);
            }
            if status != 200 {
                reason.push(b"HTTP ").push_u64(status.into());
                return Progress::Fail;
            }
        }
        if !self.end_stream {
            return Progress::NeedMore;
        }
        // The trailers: decide.
        if code == MISSING {
            return say(reason, NO_STATUS);
        }
        if code != 0 {
            reason.push(GRPC_STATUS).push_u64(code.into());
            if code <= 16 {
                reason.push(b" (");
                say(reason, code);
                reason.push(b")");
            }
            reason.push(message.as_bytes());
            return Progress::Fail;
        }
        // The HealthCheckResponse as servers send it: field 1 as a one-byte
        // varint; anything else (an empty message: proto3 omits zeros) is
        // UNKNOWN. Its 7 bytes, and one past them, read as one number: the
        // gRPC prefix (uncompressed, length 2), the tag 08, the value.
        let [a, b, c, d, e, f, g, h, ..] = self.buf;
        let m = u64::from_be_bytes([a, b, c, d, e, f, g, h]);
        let health = if self.kept == 7 && m >> 16 == 0x0208 {
            m >> 8 & 0xff
        } else {
            0
        };
        // UNKNOWN is word 2, NOT_SERVING and SERVICE_UNKNOWN 17 and 18.
        let word = match health {
            1 => return Progress::Pass,
            2 | 3 => health as u32 + 15,
            _ => 2,
        };
        say(reason.push(&GRPC_STATUS[..5]), word)
    }
}

/// Appends the `n`th word of `NAMES` and fails.
fn say(reason: &mut Line, n: u32) -> Progress {
    reason.push(crate::bytes::nth(NAMES, n as usize));
    Progress::Fail
}

/// A `:status` or `grpc-status` value. Anything but digits is 2: for
/// `grpc-status` that is UNKNOWN, as gRPC's own clients read it.
fn number(v: &[u8]) -> u32 {
    // Too long to be a status is UNKNOWN too, and never overflows.
    if v.is_empty() || v.len() > 9 {
        return 2;
    }
    let mut n = 0;
    for &c in v {
        let digit = c.wrapping_sub(b'0');
        if digit > 9 {
            return 2;
        }
        n = n * 10 + u32::from(digit);
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn frame(ty: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
        let len = payload.len() as u32;
        let mut f = len.to_be_bytes()[1..].to_vec();
        f.extend([ty, flags]);
        f.extend(stream.to_be_bytes());
        f.extend(payload);
        f
    }

    /// A literal header without indexing, new name, no Huffman.
    fn lit(name: &str, value: &str) -> Vec<u8> {
        let mut b = vec![0, name.len() as u8];
        b.extend(name.as_bytes());
        b.push(value.len() as u8);
        b.extend(value.as_bytes());
        b
    }

    fn server_settings() -> Vec<u8> {
        // MAX_CONCURRENT_STREAMS 100, INITIAL_WINDOW_SIZE 65535.
        frame(
            SETTINGS,
            0,
            0,
            &[0, 3, 0, 0, 0, 100, 0, 4, 0, 0, 0xff, 0xff],
        )
    }

    /// Response headers: a table size update to 0, `:status: 200`
    /// (static 8), `content-type: application/grpc`.
    fn response_headers() -> Vec<u8> {
        let mut block = vec![0x20, 0x88];
        block.extend(lit("content-type", "application/grpc"));
        frame(HEADERS, END_HEADERS, 1, &block)
    }

    fn message(status: u8) -> Vec<u8> {
        if status == 0 {
            frame(DATA, 0, 1, &[0, 0, 0, 0, 0])
        } else {
            frame(DATA, 0, 1, &[0, 0, 0, 0, 2, 8, status])
        }
    }

    fn trailers(code: &str, message: &str) -> Vec<u8> {
        let mut block = lit("grpc-status", code);
        if !message.is_empty() {
            block.extend(lit("grpc-message", message));
        }
        frame(HEADERS, END_HEADERS | END_STREAM, 1, &block)
    }

    fn response(status: u8) -> Vec<u8> {
        [
            server_settings(),
            frame(SETTINGS, ACK, 0, &[]),
            response_headers(),
            message(status),
            trailers("0", ""),
        ]
        .concat()
    }

    /// Feeds `input` in pieces of `step` bytes, collecting the replies.
    fn run_split(input: &[u8], step: usize) -> (Progress, Vec<u8>, String) {
        let mut check = GrpcCheck::new();
        let mut reason = Line::new();
        let mut sent = Vec::new();
        let mut progress = Progress::NeedMore;
        for piece in input.chunks(step.max(1)) {
            progress = check.feed(piece, &mut reason);
            sent.extend(check.reply());
        }
        if input.is_empty() {
            progress = check.feed(input, &mut reason);
        }
        let reason = String::from_utf8(reason.as_bytes().to_vec()).unwrap();
        (progress, sent, reason)
    }

    fn run(input: &[u8]) -> (Progress, String) {
        let (progress, _, reason) = run_split(input, input.len());
        (progress, reason)
    }

    const SETTINGS_ACK: [u8; 9] = [0, 0, 0, 4, 1, 0, 0, 0, 0];

    #[test]
    fn reasons_by_number() {
        let said = |n| {
            let mut line = Line::new();
            assert_eq!(say(&mut line, n), Progress::Fail);
            String::from_utf8(line.as_bytes().to_vec()).unwrap()
        };
        assert_eq!(said(0), "OK");
        assert_eq!(said(12), "UNIMPLEMENTED");
        assert_eq!(said(16), "UNAUTHENTICATED");
        assert_eq!(said(18), "SERVICE_UNKNOWN");
        assert_eq!(said(NOT_HTTP2), "not an HTTP/2 server");
        assert_eq!(said(hpack::MALFORMED), "HTTP/2 protocol error");
        assert_eq!(said(PROTOCOL), "HTTP/2 protocol error");
        assert_eq!(said(RESET), "stream reset");
        assert_eq!(said(NO_STATUS), "missing grpc-status");
        assert_eq!(said(CLOSED), "connection closed");
        assert_eq!(said(hpack::DYNAMIC), "HPACK dynamic table used");
        assert_eq!(said(25), "");
    }

    #[test]
    fn serving_passes_in_any_split() {
        let input = response(1);
        for step in [input.len(), 1, 2, 3, 7, 9, 10] {
            let (progress, sent, reason) = run_split(&input, step);
            assert_eq!(progress, Progress::Pass, "step {step}: {reason}");
            assert_eq!(sent, SETTINGS_ACK, "only the SETTINGS ACK");
        }
    }

    #[test]
    fn serving_status_outcomes() {
        assert_eq!(
            run(&response(2)),
            (Progress::Fail, "gRPC NOT_SERVING".into())
        );
        assert_eq!(run(&response(0)), (Progress::Fail, "gRPC UNKNOWN".into()));
        assert_eq!(
            run(&response(3)),
            (Progress::Fail, "gRPC SERVICE_UNKNOWN".into())
        );
        // A status no server sends, or no valid message at all: UNKNOWN.
        assert_eq!(run(&response(9)), (Progress::Fail, "gRPC UNKNOWN".into()));
        let input = [
            server_settings(),
            response_headers(),
            frame(DATA, 0, 1, &[0, 0, 0, 0, 3, 8, 1, 0]),
            trailers("0", ""),
        ]
        .concat();
        assert_eq!(run(&input), (Progress::Fail, "gRPC UNKNOWN".into()));
    }

    #[test]
    fn pings_are_answered() {
        let ping = frame(PING, 0, 0, b"12345678");
        let input = [
            server_settings(),
            ping,
            frame(PING, ACK, 0, b"abcdefgh"),
            response(1),
        ]
        .concat();
        let (progress, sent, _) = run_split(&input, 1);
        assert_eq!(progress, Progress::Pass);
        let mut want = SETTINGS_ACK.to_vec();
        want.extend(frame(PING, ACK, 0, b"12345678"));
        want.extend(SETTINGS_ACK);
        assert_eq!(sent, want, "no answer to a PING ACK");
    }

    #[test]
    fn replies_never_overflow() {
        // A SETTINGS ACK and 3 PING ACKs fit in one read's reply; with more
        // PINGs, nothing is sent rather than a partial frame.
        for (pings, sent) in [(3, 9 + 3 * 17), (4, 0), (10, 0)] {
            let mut input = server_settings();
            for _ in 0..pings {
                input.extend(frame(PING, 0, 0, b"12345678"));
            }
            let mut check = GrpcCheck::new();
            let mut reason = Line::new();
            assert_eq!(check.feed(&input, &mut reason), Progress::NeedMore);
            assert_eq!(check.reply().len(), sent);
        }
    }

    #[test]
    fn non_zero_grpc_status() {
        let base = [server_settings(), response_headers()].concat();
        let fail = |t: Vec<u8>| run(&[base.clone(), t].concat());
        assert_eq!(
            fail(trailers("5", "Unknown service")),
            (
                Progress::Fail,
                "gRPC status 5 (NOT_FOUND): Unknown service".into()
            )
        );
        assert_eq!(
            fail(trailers("16", "")),
            (Progress::Fail, "gRPC status 16 (UNAUTHENTICATED)".into())
        );
        assert_eq!(
            fail(trailers("17", "")),
            (Progress::Fail, "gRPC status 17".into())
        );
        assert_eq!(
            fail(trailers("x", "")),
            (Progress::Fail, "gRPC status 2 (UNKNOWN)".into())
        );
        assert_eq!(
            fail(trailers("99999999999999999999999", "")),
            (Progress::Fail, "gRPC status 2 (UNKNOWN)".into())
        );
        // What is not printable in the message shows as `?`.
        assert_eq!(
            fail(trailers("14", "down\x01\u{e9}!")),
            (
                Progress::Fail,
                "gRPC status 14 (UNAVAILABLE): down???!".into()
            )
        );
        // No grpc-status at all.
        let none = frame(
            HEADERS,
            END_HEADERS | END_STREAM,
            1,
            &lit("grpc-message", "hi"),
        );
        assert_eq!(fail(none), (Progress::Fail, "missing grpc-status".into()));
        // The stream ends with DATA, without trailers.
        let data_end = frame(DATA, END_STREAM, 1, &[0, 0, 0, 0, 2, 8, 1]);
        assert_eq!(
            fail(data_end),
            (Progress::Fail, "missing grpc-status".into())
        );
        // grpc-status 0 without a message.
        assert_eq!(
            fail(trailers("0", "")),
            (Progress::Fail, "gRPC UNKNOWN".into())
        );
    }

    #[test]
    fn trailers_only_response() {
        let mut block = vec![0x88];
        block.extend(lit("content-type", "application/grpc"));
        block.extend(lit("grpc-status", "12"));
        let input = [
            server_settings(),
            frame(HEADERS, END_HEADERS | END_STREAM, 1, &block),
        ]
        .concat();
        assert_eq!(
            run(&input),
            (Progress::Fail, "gRPC status 12 (UNIMPLEMENTED)".into())
        );
    }

    #[test]
    fn http_status_must_be_200() {
        let block = [vec![0x8d], lit("content-type", "text/plain")].concat();
        let input = [server_settings(), frame(HEADERS, END_HEADERS, 1, &block)].concat();
        assert_eq!(run(&input), (Progress::Fail, "HTTP 404".into()));
        let block = [vec![0x48, 0x03], b"503".to_vec()].concat();
        let input = [server_settings(), frame(HEADERS, END_HEADERS, 1, &block)].concat();
        assert_eq!(run(&input), (Progress::Fail, "HTTP 503".into()));
        let input = [
            server_settings(),
            frame(HEADERS, END_HEADERS, 1, &lit("a", "b")),
        ]
        .concat();
        assert_eq!(
            run(&input),
            (Progress::Fail, "HTTP/2 protocol error".into()),
            "no :status"
        );
    }

    #[test]
    fn huffman_coded_trailers() {
        let enc = crate::proto::grpc::huffman::tests::encode;
        let mut block = Vec::new();
        for (name, value) in [
            (&b"grpc-status"[..], &b"5"[..]),
            (b"grpc-message", b"Unknown service"),
        ] {
            let (n, v) = (enc(name), enc(value));
            block.extend([0x00, 0x80 | n.len() as u8]);
            block.extend(n);
            block.push(0x80 | v.len() as u8);
            block.extend(v);
        }
        let t = frame(HEADERS, END_HEADERS | END_STREAM, 1, &block);
        let input = [server_settings(), response_headers(), t].concat();
        assert_eq!(
            run(&input),
            (
                Progress::Fail,
                "gRPC status 5 (NOT_FOUND): Unknown service".into()
            )
        );
    }

    #[test]
    fn continuation_frames() {
        let block = [lit("grpc-status", "0"), lit("grpc-message", "")].concat();
        let (a, b) = block.split_at(5);
        let (b, c) = b.split_at(4);
        let input = [
            server_settings(),
            response_headers(),
            message(1),
            frame(HEADERS, END_STREAM, 1, a),
            frame(CONTINUATION, 0, 1, b),
            frame(CONTINUATION, END_HEADERS, 1, c),
        ]
        .concat();
        for step in [input.len(), 1] {
            assert_eq!(run_split(&input, step).0, Progress::Pass);
        }
        // Anything between HEADERS and its CONTINUATION is an error.
        let input = [
            server_settings(),
            frame(HEADERS, 0, 1, &[0x88]),
            frame(PING, 0, 0, b"12345678"),
        ]
        .concat();
        assert_eq!(
            run(&input),
            (Progress::Fail, "HTTP/2 protocol error".into())
        );
        // So is a CONTINUATION out of the blue.
        let input = [
            server_settings(),
            frame(CONTINUATION, END_HEADERS, 1, &[0x88]),
        ]
        .concat();
        assert_eq!(
            run(&input),
            (Progress::Fail, "HTTP/2 protocol error".into())
        );
    }

    #[test]
    fn padding_and_priority() {
        // HEADERS with PADDED and PRIORITY: pad length, 5 priority bytes,
        // the block, padding.
        let mut h = vec![3, 0x80, 0, 0, 0, 16, 0x88];
        h.extend([0; 3]);
        // DATA with 4 bytes of padding.
        let mut d = vec![4, 0, 0, 0, 0, 2, 8, 1];
        d.extend([0; 4]);
        let mut t = vec![0];
        t.extend(lit("grpc-status", "0"));
        let input = [
            server_settings(),
            frame(HEADERS, END_HEADERS | PADDED | PRIORITY, 1, &h),
            frame(DATA, PADDED, 1, &d),
            frame(HEADERS, END_HEADERS | END_STREAM | PADDED, 1, &t),
        ]
        .concat();
        for step in [input.len(), 1] {
            assert_eq!(run_split(&input, step).0, Progress::Pass);
        }
        // Padding longer than the frame: the content is all padding, so the
        // block is empty and `:status` missing.
        let input = [
            server_settings(),
            frame(HEADERS, END_HEADERS | PADDED, 1, &[9, 0x88]),
        ]
        .concat();
        assert_eq!(
            run(&input),
            (Progress::Fail, "HTTP/2 protocol error".into())
        );
    }

    #[test]
    fn ignored_frames() {
        let input = [
            server_settings(),
            frame(8, 0, 0, &[0, 0, 1, 0]),            // WINDOW_UPDATE
            frame(2, 0, 1, &[0, 0, 0, 0, 16]),        // PRIORITY
            frame(0x42, 0xff, 7, b"unknown type"),    // unknown frame type
            frame(DATA, END_STREAM, 3, &[0; 16_384]), // other stream, largest frame
            frame(HEADERS, END_HEADERS, 3, &[0xbe]),  // other stream, not decoded
            response_headers(),
            frame(0x42, 0, 0, &[1; 16_384]),
            message(1),
            frame(GOAWAY, 0, 0, &[0, 0, 0, 1, 0, 0, 0, 0]), // graceful
            trailers("0", ""),
        ]
        .concat();
        for step in [input.len(), 1, 1000] {
            assert_eq!(run_split(&input, step).0, Progress::Pass);
        }
    }

    #[test]
    fn resets_and_goaways() {
        let base = [server_settings(), response_headers()].concat();
        let rst = frame(RST_STREAM, 0, 1, &[0, 0, 0, 8]);
        assert_eq!(
            run(&[base.clone(), rst].concat()),
            (Progress::Fail, "stream reset".into())
        );
        // A reset of another stream is not ours.
        let other = frame(RST_STREAM, 0, 3, &[0, 0, 0, 8]);
        assert_eq!(run(&[base.clone(), other].concat()).0, Progress::NeedMore);
        // Stream 1 is still served (even if the connection then closes
        // with an error): wait for its end.
        let away = frame(GOAWAY, 0, 0, &[0, 0, 0, 1, 0, 0, 0, 2, b'x']);
        assert_eq!(run(&[base.clone(), away].concat()).0, Progress::NeedMore);
        // NO_ERROR, but stream 1 will not be served.
        let away = frame(GOAWAY, 0, 0, &[0, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(
            run(&[base, away].concat()),
            (Progress::Fail, "GOAWAY, error 0".into())
        );
        // grpcio answers a bad preface this way.
        let away = frame(GOAWAY, 0, 0, &[0, 0, 0, 0, 0, 0, 0, 1]);
        assert_eq!(
            run(&[server_settings(), away].concat()),
            (Progress::Fail, "GOAWAY, error 1".into())
        );
    }

    #[test]
    fn not_http2() {
        let reply = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
        assert_eq!(run(reply), (Progress::Fail, "not an HTTP/2 server".into()));
        // SETTINGS ACK first, or anything but SETTINGS, is not a server preface.
        assert_eq!(run(&frame(SETTINGS, ACK, 0, &[])).0, Progress::Fail);
        assert_eq!(run(&frame(PING, 0, 0, b"12345678")).0, Progress::Fail);
        // Too short to tell: the caller times out or sees the close.
        let mut check = GrpcCheck::new();
        let mut reason = Line::new();
        assert_eq!(check.feed(b"HTTP/1.", &mut reason), Progress::NeedMore);
        assert_eq!(check.phase(), "waiting for HTTP/2");
        check.closed(&mut reason);
        assert_eq!(reason.as_bytes(), b"not an HTTP/2 server");
    }

    #[test]
    fn phases_and_closes() {
        let mut check = GrpcCheck::new();
        let mut reason = Line::new();
        check.feed(&server_settings(), &mut reason);
        assert_eq!(check.phase(), "waiting for HTTP/2 response");
        check.feed(&response_headers(), &mut reason);
        assert_eq!(check.phase(), "waiting for HTTP/2 response trailers");
        check.closed(&mut reason);
        assert_eq!(reason.as_bytes(), b"connection closed");
        // Decided: more input changes nothing.
        let mut check = GrpcCheck::new();
        assert_eq!(check.feed(&response(1), &mut reason), Progress::Pass);
        assert_eq!(check.feed(b"garbage", &mut reason), Progress::Pass);
    }

    #[test]
    fn oversized_things() {
        // A frame longer than 16,384 bytes without our asking.
        let big = frame(0x42, 0, 0, &[0; 16_385]);
        assert_eq!(
            run(&[server_settings(), big].concat()),
            (Progress::Fail, "HTTP/2 protocol error".into())
        );
        // A header block larger than the buffer, across CONTINUATIONs.
        let block = lit("x-big", &"v".repeat(120)).repeat(20);
        let (a, b) = block.split_at(block.len() / 2);
        let input = [
            server_settings(),
            frame(HEADERS, 0, 1, a),
            frame(CONTINUATION, END_HEADERS, 1, b),
        ]
        .concat();
        assert_eq!(
            run(&input),
            (Progress::Fail, "HTTP/2 protocol error".into()),
            "header block too large"
        );
        // A message too large for a HealthCheckResponse.
        let mut d = vec![0, 0, 0, 0x40, 0];
        d.extend([0; 0x4000 - 5]);
        let input = [
            server_settings(),
            response_headers(),
            frame(DATA, 0, 1, &d),
            trailers("0", ""),
        ]
        .concat();
        assert_eq!(run(&input).0, Progress::Fail);
    }

    #[test]
    fn bad_hpack_fails_cleanly() {
        let input = [
            server_settings(),
            frame(HEADERS, END_HEADERS, 1, &[0x20, 0xbe]),
        ]
        .concat();
        assert_eq!(
            run(&input),
            (Progress::Fail, "HPACK dynamic table used".into())
        );
        let input = [
            server_settings(),
            frame(HEADERS, END_HEADERS, 1, &[0, 5, b'a']),
        ]
        .concat();
        assert_eq!(
            run(&input),
            (Progress::Fail, "HTTP/2 protocol error".into())
        );
    }

    fn request(metadata: &[&[u8]], service: &[u8], timeout_ms: u64) -> Vec<u8> {
        let req = Request {
            port: Some(50051),
            service,
            metadata,
            timeout_ms,
        };
        let mut out = [0u8; 2048];
        let n = write_request(&mut out, &req).unwrap();
        out[..n].to_vec()
    }

    /// Splits a request into preface and frames (type, flags, stream, payload).
    fn frames(mut b: &[u8]) -> Vec<(u8, u8, u32, Vec<u8>)> {
        assert!(b.starts_with(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"));
        b = &b[24..];
        let mut out = Vec::new();
        while !b.is_empty() {
            let len = u32::from_be_bytes([0, b[0], b[1], b[2]]) as usize;
            let stream = u32::from_be_bytes([b[5], b[6], b[7], b[8]]);
            out.push((b[3], b[4], stream, b[9..9 + len].to_vec()));
            b = &b[9 + len..];
        }
        out
    }

    fn header_fields(block: &[u8]) -> Vec<(usize, String, String)> {
        let mut fields = Vec::new();
        hpack::decode(block, &mut |i, n, v| {
            let s = |b: &[u8]| String::from_utf8(b.to_vec()).unwrap();
            fields.push((i, s(n), s(v)));
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
        assert_eq!(f[0], (SETTINGS, 0, 0, vec![0, 1, 0, 0, 0, 0]));
        let (ty, flags, stream, ref block) = f[1];
        assert_eq!((ty, flags, stream), (HEADERS, END_HEADERS, 1));
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
        assert_eq!(f[2], (DATA, END_STREAM, 1, data));
    }

    #[test]
    fn request_edge_cases() {
        // Whole server: an empty HealthCheckRequest, as protobuf has it.
        let f = frames(&request(&[], b"", 0));
        assert_eq!(f[2], (DATA, END_STREAM, 1, vec![0, 0, 0, 0, 0]));
        // The longest deadline, a day, has 8 digits, as gRPC allows.
        let f = frames(&request(&[], b"", crate::text::duration::MAX_MS));
        let timeout = (0, "grpc-timeout".into(), "86400000m".into());
        assert_eq!(header_fields(&f[1].3).last(), Some(&timeout));
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
        assert!(fields.contains(&(0, "x-long".into(), "v".repeat(hpack::VALUE_MAX))));
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
        let n = write_request(&mut out, &req).unwrap();
        assert_eq!(write_request(&mut out[..n - 1], &req), None);
        assert_eq!(write_request(&mut out[..n], &req), Some(n));
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
        assert_eq!(write_request(&mut out, &req), None);
    }

    #[test]
    fn our_request_is_well_formed_for_our_own_parser() {
        // Our own frames, read by our parser as if a server sent them
        // (after a server SETTINGS): nothing in them trips a check.
        let req = request(&[b"a: b"], b"svc", 1000);
        let input = [server_settings(), req[24..].to_vec()].concat();
        let (progress, sent, _) = run_split(&input, 1);
        // Our HEADERS has no :status, so the parser stops there.
        assert_eq!(progress, Progress::Fail);
        assert_eq!(sent, [SETTINGS_ACK, SETTINGS_ACK].concat());
    }

    fn unhex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// What a grpcio 1.85 (Python) health server sent for a SERVING service,
    /// captured: its SETTINGS (with grpc's own 0xfe03), WINDOW_UPDATEs, our
    /// SETTINGS ACK, a PING, then headers (after a table size update to 0,
    /// literals "with incremental indexing", no Huffman), DATA, trailers.
    const GRPCIO_SERVING: &str = "
        000018 04 00 00000000 0004 00400000 0005 00400000 0006 00004000 fe03 00000001
        000004 08 00 00000000 003f0001
        000000 04 01 00000000
        000004 08 00 00000000 00000005
        000008 06 00 00000000 1821b68754772a82
        00004f 01 04 00000001 2088400c636f6e74656e742d74797065106170706c69636174696f6e2f67727063
            401467727063 2d6163636570742d656e636f64696e67 176964656e746974792c206465666c6174652c20677a6970
        000007 00 00 00000001 00000000020801
        00001e 01 05 00000001 400b677270632d7374617475730130000c677270632d6d65737361676500";

    /// Node's http2 (nghttp2) as a gRPC server: Huffman-coded names and
    /// values, never-indexed and non-indexed literals.
    const NGHTTP2_SERVING: &str = "
        000000 04 00 00000000
        000000 04 01 00000000
        000057 01 04 00000001 20880f108b1d75d0620d263d4c4d6564008bf2b12d424f4ad3947216cfa041e92a941ea98b
            629dc745a5512752 91f52a93db2cb48ea53c1ec4cfe273505f0f1296dd6d5f4a084a693f75040138a01ab820dc0094c5a37f
        000007 00 00 00000001 00000000020801
        000022 01 05 00000001 00889acac8b21234da8f013000899acac8b5254207317f8a1d142929aa2a9396c2ff";

    #[test]
    fn captured_real_servers() {
        for capture in [GRPCIO_SERVING, NGHTTP2_SERVING] {
            let input = unhex(capture);
            for step in [input.len(), 1, 5] {
                let (progress, sent, reason) = run_split(&input, step);
                assert_eq!(progress, Progress::Pass, "{reason}");
                assert!(sent.starts_with(&SETTINGS_ACK));
            }
        }
        // grpcio's PING is answered with the same 8 bytes.
        let (_, sent, _) = run_split(&unhex(GRPCIO_SERVING), 1);
        assert_eq!(sent[9..], unhex("000008 06 01 00000000 1821b68754772a82"));
        // grpcio for an unknown service: an empty message, then status 5
        // with an empty grpc-message.
        let unknown = GRPCIO_SERVING
            .replace(
                "000007 00 00 00000001 00000000020801",
                "000005 00 00 00000001 0000000000",
            )
            .replace("0130000c", "0135000c");
        assert_eq!(
            run(&unhex(&unknown)),
            (Progress::Fail, "gRPC status 5 (NOT_FOUND)".into())
        );
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(
            input in proptest::collection::vec(any::<u8>(), 0..600),
            step in 1usize..40,
        ) {
            let _ = run_split(&input, step);
            // And after a valid start, so that more of the parser is reached.
            let _ = run_split(&[server_settings(), input.clone()].concat(), step);
        }

        #[test]
        fn mutated_responses_never_panic(
            flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6),
            step in 1usize..20,
        ) {
            let mut input = response(1);
            for (at, b) in flips {
                let n = input.len();
                input[at % n] = b;
            }
            let _ = run_split(&input, step);
        }

        #[test]
        fn any_split_of_a_good_response_passes(step in 1usize..200) {
            prop_assert_eq!(run_split(&response(1), step).0, Progress::Pass);
        }
    }
}
