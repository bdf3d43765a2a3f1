//! gRPC health checking (`grpc.health.v1.Health/Check`) over cleartext
//! HTTP/2 with prior knowledge, as bytes in and bytes out for the engine:
//! [`request`] writes everything we send, in one write; [`GrpcCheck`] takes
//! the server's bytes in any split and decides.
//!
//! One stream, one request, no flow control of our own: the request is a few
//! hundred bytes and the response a few dozen, far inside the default
//! 65,535-byte windows. The HPACK dynamic table is off (size 0 in our
//! SETTINGS), so each header block is decoded alone.

pub mod frame;
pub mod hpack;
pub mod huffman;
pub mod request;

use crate::policy::target::GrpcTarget;
use crate::proto::{Reply, Settings, Step};
use crate::report::{Health, Phase, Reason};
use crate::text::buffer::Buffer;
use crate::text::percent;
use frame::{Event, Header};
use hpack::HpackError;

/// Room for one header block of our stream: real servers' blocks are about
/// 100 bytes; a larger one fails the check.
const BLOCK_MAX: usize = 1024;
/// Room for the response message: a `HealthCheckResponse` is 7 bytes with
/// its prefix; anything that does not fit is no health response.
const MESSAGE_MAX: usize = 64;
/// What is kept of a control frame's payload: PING's 8 bytes, GOAWAY's last
/// stream and error code.
const CONTROL_MAX: usize = 8;

/// How far the exchange got.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Stage {
    /// Nothing from the server yet.
    Start,
    /// The server's SETTINGS arrived: it speaks HTTP/2.
    Connected,
    /// The response's headers arrived (`:status` 200).
    Response,
}

/// How a complete frame or header block decided the check, before it is said
/// as a [`Step`] (which may borrow the check's `grpc-message`).
enum Decision {
    Serving,
    Fail(Reason<'static>),
    /// A non-zero `grpc-status`; the decoded `grpc-message` is kept in the check.
    Status(u32),
}

/// One gRPC target's check.
pub struct GrpcCheck<'a> {
    request: request::Request<'a>,
    reader: frame::Reader,
    stage: Stage,
    /// The frame being read.
    frame: Header,
    /// A header block is open (HEADERS without END_HEADERS): only its
    /// CONTINUATION may come next.
    block_open: bool,
    /// The HEADERS frame that opened our block ends the stream.
    block_ends_stream: bool,
    /// The header block of our stream being collected.
    block: Buffer<BLOCK_MAX>,
    /// The response message: the payload of our stream's DATA frames.
    message: Buffer<MESSAGE_MAX>,
    /// The start of the current control frame's payload.
    control: Buffer<CONTROL_MAX>,
    /// Decided: later input changes nothing.
    decided: bool,
    /// Room for Huffman-decoded header names and values.
    scratch: [u8; hpack::SCRATCH],
    /// The percent-decoded `grpc-message` of a failing status.
    status_message: [u8; hpack::VALUE_MAX],
    status_message_len: usize,
}

impl<'a> GrpcCheck<'a> {
    /// The check of `target` with the run's settings.
    pub fn new(target: &GrpcTarget<'a>, settings: &Settings<'a>) -> Self {
        GrpcCheck {
            request: request::Request {
                service: target.service,
                port: target.port,
                metadata: settings.headers,
                timeout_ms: settings.timeout_ms,
            },
            reader: frame::Reader::new(),
            stage: Stage::Start,
            frame: Header {
                len: 0,
                kind: 0,
                flags: 0,
                stream: 0,
            },
            block_open: false,
            block_ends_stream: false,
            block: Buffer::new(),
            message: Buffer::new(),
            control: Buffer::new(),
            decided: false,
            scratch: [0; hpack::SCRATCH],
            status_message: [0; hpack::VALUE_MAX],
            status_message_len: 0,
        }
    }

    /// Writes the request into `out`: its length, or `None` if it does not fit.
    pub fn request(&self, out: &mut [u8]) -> Option<usize> {
        request::write(out, &self.request)
    }

    /// Takes the server's bytes, in any split; the acknowledgements they
    /// call for go to `reply` (each SETTINGS ACK or PING ACK whole, or not at
    /// all when `reply` is full: a server that pings that often gets fewer
    /// answers, never a cut frame). Once decided, later input is not looked at.
    pub fn feed(&mut self, mut input: &[u8], reply: &mut Reply) -> Step<'_> {
        if self.decided {
            return Step::More;
        }
        let decision = loop {
            let event = match self.reader.next(&mut input) {
                Ok(Some(event)) => event,
                Ok(None) => return Step::More,
                // Before any frame, bytes that are no frame header are no
                // HTTP/2 server ("HTTP/1.1 400" reads as a huge frame).
                Err(frame::FrameError) if self.stage == Stage::Start => {
                    break Decision::Fail(Reason::NotHttp2);
                }
                Err(frame::FrameError) => break Decision::Fail(Reason::Http2ProtocolError),
            };
            let decided = match event {
                Event::Start(header) => self.start_frame(header).err().map(Decision::Fail),
                Event::Content(content) => {
                    self.collect(content);
                    None
                }
                Event::End => self.end_frame(reply),
            };
            if let Some(decision) = decided {
                break decision;
            }
        };
        self.decided = true;
        match decision {
            Decision::Serving => Step::Pass(Reason::Serving),
            Decision::Fail(reason) => Step::Fail(reason),
            Decision::Status(code) => Step::Fail(Reason::GrpcStatus {
                code,
                message: &self.status_message[..self.status_message_len],
            }),
        }
    }

    /// What the check waits for, for a timeout's reason.
    pub fn phase(&self) -> Phase {
        match self.stage {
            Stage::Start => Phase::Http2,
            Stage::Connected => Phase::Http2Response,
            Stage::Response => Phase::Http2Trailers,
        }
    }

    /// The server closed the connection before the check was decided.
    pub fn closed(&self) -> Step<'static> {
        match self.stage {
            Stage::Start => Step::Fail(Reason::NotHttp2),
            _ => Step::Fail(Reason::ConnectionClosed),
        }
    }

    /// A frame starts: check that it may come now.
    fn start_frame(&mut self, header: Header) -> Result<(), Reason<'static>> {
        if self.stage == Stage::Start {
            // A server's first frame is its SETTINGS; anything else (such as
            // "HTTP/1.1 400") is no HTTP/2 server.
            if header.kind != frame::SETTINGS || header.has(frame::ACK) {
                return Err(Reason::NotHttp2);
            }
            self.stage = Stage::Connected;
        }
        let continuation = header.kind == frame::CONTINUATION;
        if self.block_open != continuation {
            return Err(Reason::Http2ProtocolError);
        }
        if header.kind == frame::HEADERS || continuation {
            self.block_open = !header.has(frame::END_HEADERS);
        }
        if header.kind == frame::HEADERS && header.stream == request::STREAM {
            self.block.clear();
            self.block_ends_stream = header.has(frame::END_STREAM);
        }
        self.control.clear();
        self.frame = header;
        Ok(())
    }

    /// Some of the current frame's content: kept where it matters.
    fn collect(&mut self, content: &[u8]) {
        let ours = self.frame.stream == request::STREAM;
        match self.frame.kind {
            frame::HEADERS | frame::CONTINUATION if ours => self.block.extend(content),
            frame::DATA if ours => self.message.extend(content),
            frame::PING | frame::GOAWAY | frame::RST_STREAM => self.control.extend(content),
            // Other streams' frames, SETTINGS' values, WINDOW_UPDATE,
            // PRIORITY and unknown types are skipped as they stream by.
            _ => {}
        }
    }

    /// A frame is complete: act on it.
    fn end_frame(&mut self, reply: &mut Reply) -> Option<Decision> {
        let header = self.frame;
        let control = self.control.as_slice();
        match header.kind {
            frame::SETTINGS if !header.has(frame::ACK) => {
                acknowledge(reply, frame::SETTINGS, &[]);
            }
            frame::PING if !header.has(frame::ACK) => {
                if header.len != 8 {
                    return Some(Decision::Fail(Reason::Http2ProtocolError));
                }
                let mut opaque = [0u8; 8];
                opaque.copy_from_slice(control);
                acknowledge(reply, frame::PING, &opaque);
            }
            frame::GOAWAY => {
                let [l0, l1, l2, l3, e0, e1, e2, e3] = *control else {
                    return Some(Decision::Fail(Reason::Http2ProtocolError));
                };
                // Our stream is not among those the server still serves (its
                // last stream ID is 0): the check fails. Otherwise (a graceful
                // shutdown) the stream's end, or the close, decides.
                if u32::from_be_bytes([l0 & 0x7f, l1, l2, l3]) < request::STREAM {
                    return Some(Decision::Fail(Reason::GoAway(u32::from_be_bytes([
                        e0, e1, e2, e3,
                    ]))));
                }
            }
            _ => {}
        }
        if header.stream != request::STREAM {
            return None;
        }
        match header.kind {
            frame::RST_STREAM => Some(Decision::Fail(Reason::StreamReset)),
            // The stream ended without trailers.
            frame::DATA if header.has(frame::END_STREAM) => {
                Some(Decision::Fail(Reason::MissingGrpcStatus))
            }
            frame::HEADERS | frame::CONTINUATION if !self.block_open => self.header_block(),
            _ => None,
        }
    }

    /// A header block of our stream is complete: the response's headers,
    /// its trailers, or both at once (a trailers-only response).
    fn header_block(&mut self) -> Option<Decision> {
        if self.block.overflowed() {
            return Some(Decision::Fail(Reason::Http2ProtocolError));
        }
        let mut status = None;
        let mut grpc_status = None;
        let mut message_len = 0;
        let message = &mut self.status_message;
        let decoded = hpack::decode(self.block.as_slice(), &mut self.scratch, &mut |field| {
            if field.name.is_status() {
                status = Some(http_status(field.value));
            } else if field.name == hpack::Name::Literal(b"grpc-status") {
                grpc_status = Some(grpc_status_code(field.value));
            } else if field.name == hpack::Name::Literal(b"grpc-message") {
                message_len = percent::decode_lenient(field.value, message).min(message.len());
            }
        });
        if let Err(e) = decoded {
            let reason = match e {
                HpackError::DynamicTable => Reason::HpackDynamicTable,
                HpackError::Malformed => Reason::Http2ProtocolError,
            };
            return Some(Decision::Fail(reason));
        }
        self.status_message_len = message_len;
        if self.stage < Stage::Response {
            // The response's first block carries the HTTP status.
            self.stage = Stage::Response;
            match status {
                Some(Some(200)) => {}
                Some(Some(code)) => return Some(Decision::Fail(Reason::HttpStatus(code))),
                None | Some(None) => return Some(Decision::Fail(Reason::Http2ProtocolError)),
            }
        }
        if !self.block_ends_stream {
            return None;
        }
        // The trailers: decide.
        Some(match grpc_status {
            None => Decision::Fail(Reason::MissingGrpcStatus),
            Some(0) => health(&self.message),
            Some(code) => Decision::Status(code),
        })
    }
}

/// Queues a SETTINGS or PING acknowledgement, whole or not at all.
fn acknowledge(reply: &mut Reply, kind: u8, payload: &[u8]) {
    let mut ack = [0u8; frame::HEADER_LEN + 8];
    let mut w = crate::text::Writer::new(&mut ack);
    let header = Header {
        len: payload.len() as u32,
        kind,
        flags: frame::ACK,
        stream: 0,
    };
    frame::write_header(&mut w, header);
    w.put(payload);
    let len = w.len();
    reply.extend_whole(&ack[..len]);
}

/// A `:status` value: three digits, else `None`.
fn http_status(value: &[u8]) -> Option<u16> {
    let [a, b, c] = *value else { return None };
    [a, b, c]
        .iter()
        .all(u8::is_ascii_digit)
        .then(|| u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0'))
}

/// A `grpc-status` value. Anything but 1 to 9 digits is 2, UNKNOWN, as
/// gRPC's own clients read it.
fn grpc_status_code(value: &[u8]) -> u32 {
    const UNKNOWN: u32 = 2;
    if value.is_empty() || value.len() > 9 || !value.iter().all(u8::is_ascii_digit) {
        return UNKNOWN;
    }
    value.iter().fold(0, |n, &d| n * 10 + u32::from(d - b'0'))
}

/// The verdict of the response message, a `grpc.health.v1.HealthCheckResponse`.
fn health(message: &Buffer<MESSAGE_MAX>) -> Decision {
    let status = if message.overflowed() {
        None
    } else {
        health_status(message.as_slice())
    };
    // HealthCheckResponse.ServingStatus.
    match status {
        Some(1) => Decision::Serving,
        Some(2) => Decision::Fail(Reason::Health(Health::NotServing)),
        Some(3) => Decision::Fail(Reason::Health(Health::ServiceUnknown)),
        _ => Decision::Fail(Reason::Health(Health::Unknown)),
    }
}

/// The `status` field (1, a varint) of a `HealthCheckResponse` in its gRPC
/// message prefix; 0 (UNKNOWN, proto3's default) when it is left out; `None`
/// when the message is malformed, compressed, or not exactly one message.
fn health_status(message: &[u8]) -> Option<u64> {
    let [compressed, l0, l1, l2, l3, body @ ..] = message else {
        return None;
    };
    let len = u32::from_be_bytes([*l0, *l1, *l2, *l3]);
    if *compressed != 0 || usize::try_from(len).ok()? != body.len() {
        return None;
    }
    let mut status = 0;
    let mut rest = body;
    while !rest.is_empty() {
        let tag = varint(&mut rest)?;
        // Protobuf wire types: 0 varint, 1 64-bit, 2 length-delimited, 5 32-bit.
        match (tag >> 3, tag & 7) {
            (0, _) => return None,
            (1, 0) => status = varint(&mut rest)?,
            (_, 0) => {
                varint(&mut rest)?;
            }
            (_, 1) => rest = rest.get(8..)?,
            (_, 2) => {
                let len = usize::try_from(varint(&mut rest)?).ok()?;
                rest = rest.get(len..)?;
            }
            (_, 5) => rest = rest.get(4..)?,
            _ => return None,
        }
    }
    Some(status)
}

/// Reads a protobuf varint (at most 10 bytes).
fn varint(bytes: &mut &[u8]) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..70).step_by(7) {
        let (&byte, rest) = bytes.split_first()?;
        *bytes = rest;
        value |= u64::from(byte & 0x7f).checked_shl(shift)?;
        if byte < 0x80 {
            return Some(value);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::frame::*;
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

    /// Where a check stands, for comparing in tests.
    #[derive(Debug, PartialEq, Eq)]
    enum Progress {
        NeedMore,
        Pass,
        Fail,
    }

    fn new_check() -> GrpcCheck<'static> {
        let target = GrpcTarget {
            service: b"",
            port: Some(50051),
        };
        let settings = Settings {
            method: b"GET",
            headers: &[],
            statuses: crate::proto::http::status_list::StatusList::DEFAULT,
            timeout_ms: 2000,
        };
        GrpcCheck::new(&target, &settings)
    }

    /// The progress and the reason's text of a step.
    fn said(step: Step) -> (Progress, String) {
        let mut line = crate::text::line::Line::new();
        let progress = match step {
            Step::More => Progress::NeedMore,
            Step::Pass(reason) => {
                reason.write(&mut line);
                Progress::Pass
            }
            Step::Fail(reason) => {
                reason.write(&mut line);
                Progress::Fail
            }
        };
        (
            progress,
            String::from_utf8(line.as_bytes().to_vec()).unwrap(),
        )
    }

    /// Feeds `input` in pieces of `step` bytes, collecting the replies,
    /// until the check is decided.
    fn run_split(input: &[u8], step: usize) -> (Progress, Vec<u8>, String) {
        let mut check = new_check();
        let mut sent = Vec::new();
        for piece in input.chunks(step.max(1)) {
            let mut reply = Reply::new();
            let (progress, reason) = said(check.feed(piece, &mut reply));
            sent.extend(reply.as_slice());
            if progress != Progress::NeedMore {
                return (progress, sent, reason);
            }
        }
        (Progress::NeedMore, sent, String::new())
    }

    fn run(input: &[u8]) -> (Progress, String) {
        let (progress, _, reason) = run_split(input, input.len());
        (progress, reason)
    }

    const SETTINGS_ACK: [u8; 9] = [0, 0, 0, 4, 1, 0, 0, 0, 0];

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
    fn replies_are_whole_frames() {
        // A SETTINGS ACK and as many whole PING ACKs as fit in one read's
        // reply; never a cut frame.
        let fit = (crate::proto::REPLY_MAX - 9) / 17;
        for (pings, acks) in [(3, 3), (fit, fit), (fit + 1, fit), (40, fit)] {
            let mut input = server_settings();
            for _ in 0..pings {
                input.extend(frame(PING, 0, 0, b"12345678"));
            }
            let mut reply = Reply::new();
            assert_eq!(new_check().feed(&input, &mut reply), Step::More);
            assert_eq!(reply.as_slice().len(), 9 + 17 * acks);
        }
        // A PING of another size is an error (RFC 9113 6.7).
        let input = [server_settings(), frame(PING, 0, 0, b"1234567")].concat();
        assert_eq!(
            run(&input),
            (Progress::Fail, "HTTP/2 protocol error".into())
        );
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
        let enc = huffman::tests::encode;
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
        let mut check = new_check();
        assert_eq!(check.feed(b"HTTP/1.", &mut Reply::new()), Step::More);
        assert_eq!(check.phase(), Phase::Http2);
        assert_eq!(check.closed(), Step::Fail(Reason::NotHttp2));
    }

    #[test]
    fn phases_and_closes() {
        let mut check = new_check();
        check.feed(&server_settings(), &mut Reply::new());
        assert_eq!(check.phase(), Phase::Http2Response);
        check.feed(&response_headers(), &mut Reply::new());
        assert_eq!(check.phase(), Phase::Http2Trailers);
        assert_eq!(check.closed(), Step::Fail(Reason::ConnectionClosed));
        // Decided: later input is not looked at.
        let mut check = new_check();
        assert_eq!(
            check.feed(&response(1), &mut Reply::new()),
            Step::Pass(Reason::Serving)
        );
        assert_eq!(check.feed(b"garbage", &mut Reply::new()), Step::More);
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

    #[test]
    fn our_request_is_well_formed_for_our_own_parser() {
        // Our own frames, read by our parser as if a server sent them
        // (after a server SETTINGS): nothing in them trips a check.
        let mut out = [0u8; 1024];
        let metadata: [&[u8]; 1] = [b"a: b"];
        let req = request::Request {
            service: b"svc",
            port: Some(1),
            metadata: &metadata,
            timeout_ms: 1000,
        };
        let n = request::write(&mut out, &req).unwrap();
        let input = [server_settings(), out[frame::PREFACE.len()..n].to_vec()].concat();
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
