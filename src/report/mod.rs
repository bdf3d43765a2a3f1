//! Everything the probe says, in one place. The layers above decide *what*
//! happened and name it with the enums here ([`Reason`] for a target's
//! result, [`UsageError`] for a command line that cannot run, [`Notice`] for
//! the rest); the texts users read are written only by this module. A test
//! that wants to know what a line says reads it here.
//!
//! Every line is `scratchprobe: ` then, for a target, the target as written
//! (cut when long) and `: REASON`; each stays under 200 bytes ([`Line`]).

pub mod output;

use crate::text::duration;
use crate::text::line::Line;
use rustix::io::Errno;

/// What every message line starts with.
pub const PREFIX: &[u8] = b"scratchprobe: ";

/// The longest part of a target's text a line repeats: the reason after it
/// must still fit.
const TARGET_SHOWN: usize = 96;

/// What a check was waiting for when the deadline passed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Connecting,
    StatusLine,
    TlsHandshake,
    /// gRPC: the server's first frame (its SETTINGS).
    Http2,
    /// gRPC: the response's headers.
    Http2Response,
    /// gRPC: the trailers that carry `grpc-status`.
    Http2Trailers,
}

/// A `grpc.health.v1.HealthCheckResponse` status other than SERVING.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Health {
    Unknown,
    NotServing,
    ServiceUnknown,
}

/// How a target's check ended: why it failed, or, for `-v`, how it passed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason<'a> {
    // Connecting, for every kind of target.
    /// A system call failed: `connection refused`, `permission denied`...
    Os(Errno),
    /// A Unix socket path that does not exist.
    NoSuchSocket,
    /// A Unix socket path that is something else than a socket.
    NotASocket,
    /// The connected peer's address is not loopback.
    PeerNotLoopback,
    /// The request does not fit its buffer (long paths and headers).
    RequestTooLong,
    /// The socket did not take the whole request in one write.
    RequestNotSentWhole,
    TimedOut {
        after_ms: u64,
        phase: Phase,
    },
    /// `https://` given to the build without TLS.
    NoTlsInThisBuild,

    // `tcp://`, `unix:`.
    Connected,

    // HTTP.
    /// The final status: passing or not, as the accepted list says.
    HttpStatus(u16),
    MalformedStatusLine,
    ClosedBeforeStatusLine,

    // gRPC.
    Serving,
    Health(Health),
    /// A non-zero `grpc-status`, with the `grpc-message` (printable bytes of
    /// it; may be empty).
    GrpcStatus {
        code: u32,
        message: &'a [u8],
    },
    NotHttp2,
    Http2ProtocolError,
    StreamReset,
    MissingGrpcStatus,
    /// The server closed the connection before the trailers.
    ConnectionClosed,
    HpackDynamicTable,
    /// GOAWAY before our stream was served, with its error code.
    GoAway(u32),

    // HTTPS (the TLS build).
    NotTls,
    NoTls13,
    NoCommonParameters,
    TlsHandshakeFailed,
    ClosedDuringTlsHandshake,
    /// A TLS alert from the server, by its number.
    TlsAlert(u8),

    // Files.
    FileExists,
    FileAbsent,
    /// `?absent`, but the file is there.
    FileShouldBeAbsent,
    FileEmpty,
    /// `?empty`, and the file's first line (may be empty: `not empty`).
    FileNotEmpty(&'a [u8]),
    Heartbeat {
        age_ms: u64,
        max_ms: u64,
    },
    ClockUnreadable,
    BadFilePath,
}

/// Why a target is refused before anything is done.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TargetError<'a> {
    /// The host is not a loopback address (the host as written).
    NotLoopback(&'a [u8]),
    UnsupportedScheme,
    BadPort,
    BadSocketPath,
    SocketPathTooLong,
    BadMaxAge,
    UnknownFileCheck,
    BadFilePath,
    InvalidCharacterInPath,
}

/// Why a command line cannot run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UsageError<'a> {
    /// `$NAME` is not set and has no default.
    Unset(&'a [u8]),
    /// A `${...}` that is not `${NAME}` or `${NAME:-default}`, in this argument.
    BadExpansion(&'a [u8]),
    TooManyArguments,
    UnknownOption(&'a [u8]),
    MissingValue(&'a [u8]),
    BadTimeout(&'a [u8]),
    BadStatusList(&'a [u8]),
    /// A method other than GET, HEAD and OPTIONS.
    BadMethod(&'a [u8]),
    /// A `-H` without `Name:` (nothing of it is said: it may be a secret).
    HeaderWithoutName,
    /// A `-H` whose name is not a token.
    BadHeaderName(&'a [u8]),
    /// A `-H` whose value holds a byte no header value may (the header's name:
    /// values are never said, they may carry tokens).
    BadHeaderValue(&'a [u8]),
    TooManyTargets,
    TooManyHeaders,
    NoTarget,
    /// A target that cannot be checked, as written, and why.
    Target(&'a [u8], TargetError<'a>),
}

/// Lines that are neither a target's result nor a usage error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Notice {
    /// `-v`: the kernel refused the seccomp filter; the checks ran anyway.
    Unfiltered(Errno),
}

impl Reason<'_> {
    /// Appends the reason's text to `line`.
    pub fn write(&self, line: &mut Line) {
        match *self {
            Reason::Os(errno) => push_errno(line, errno),
            Reason::NoSuchSocket => say(line, "no such socket"),
            Reason::NotASocket => say(line, "not a socket"),
            Reason::PeerNotLoopback => say(line, "refused: peer is not loopback"),
            Reason::RequestTooLong => say(line, "request too long"),
            Reason::RequestNotSentWhole => say(line, "request not sent whole"),
            Reason::TimedOut { after_ms, phase } => {
                line.push(b"timed out after ");
                duration::push(line, after_ms);
                line.push(b" while ").push(phase_text(phase).as_bytes());
            }
            Reason::NoTlsInThisBuild => say(line, "this build has no TLS: use scratchprobe-tls"),
            Reason::Connected => say(line, "connected"),
            Reason::HttpStatus(code) => {
                line.push(b"HTTP ").push_decimal(code.into());
            }
            Reason::MalformedStatusLine => say(line, "malformed status line"),
            Reason::ClosedBeforeStatusLine => say(line, "connection closed before the status line"),
            Reason::Serving => say(line, "SERVING"),
            Reason::Health(health) => {
                line.push(b"gRPC ").push(health_text(health).as_bytes());
            }
            Reason::GrpcStatus { code, message } => {
                line.push(b"gRPC status ").push_decimal(code.into());
                if let Some(name) = grpc_code_name(code) {
                    line.push(b" (").push(name.as_bytes()).push(b")");
                }
                if !message.is_empty() {
                    line.push(b": ").push_printable(message);
                }
            }
            Reason::NotHttp2 => say(line, "not an HTTP/2 server"),
            Reason::Http2ProtocolError => say(line, "HTTP/2 protocol error"),
            Reason::StreamReset => say(line, "stream reset"),
            Reason::MissingGrpcStatus => say(line, "missing grpc-status"),
            Reason::ConnectionClosed => say(line, "connection closed"),
            Reason::HpackDynamicTable => say(line, "HPACK dynamic table used"),
            Reason::GoAway(error) => {
                line.push(b"GOAWAY, error ").push_decimal(error.into());
            }
            Reason::NotTls => say(line, "not a TLS server"),
            Reason::NoTls13 => say(line, "server does not offer TLS 1.3"),
            Reason::NoCommonParameters => say(
                line,
                "no cipher suite or group in common (client: AES-128-GCM, P-256)",
            ),
            Reason::TlsHandshakeFailed => say(line, "TLS handshake failed"),
            Reason::ClosedDuringTlsHandshake => {
                say(line, "connection closed during the TLS handshake")
            }
            Reason::TlsAlert(alert) => {
                line.push(b"TLS alert ")
                    .push_decimal(alert.into())
                    .push(b" from the server");
            }
            Reason::FileExists => say(line, "exists"),
            Reason::FileAbsent => say(line, "absent"),
            Reason::FileShouldBeAbsent => say(line, "file exists"),
            Reason::FileEmpty => say(line, "empty"),
            Reason::FileNotEmpty(first_line) => {
                if first_line.is_empty() {
                    say(line, "not empty");
                } else {
                    line.push_printable(first_line);
                }
            }
            Reason::Heartbeat { age_ms, max_ms } => {
                line.push(b"heartbeat ")
                    .push_decimal(age_ms / 1000)
                    .push(b"s old (max ");
                duration::push(line, max_ms);
                line.push(b")");
            }
            Reason::ClockUnreadable => say(line, "cannot read the clock"),
            Reason::BadFilePath => say(line, "bad file path"),
        }
    }
}

impl UsageError<'_> {
    /// Appends the error's text to `line`.
    pub fn write(&self, line: &mut Line) {
        match *self {
            UsageError::Unset(name) => {
                line.push(b"$")
                    .push_printable(name)
                    .push(b" is not set (use ${NAME:-default})");
            }
            UsageError::BadExpansion(arg) => {
                line.push(b"bad ${...} in ").push_printable(arg);
            }
            UsageError::TooManyArguments => say(line, "too many or too long arguments"),
            UsageError::UnknownOption(option) => {
                line.push(b"unknown option ").push_printable(option);
                say(line, TRY_HELP);
            }
            UsageError::MissingValue(option) => {
                line.push(b"missing value for ").push_printable(option);
                say(line, TRY_HELP);
            }
            UsageError::BadTimeout(value) => bad(line, "timeout", value),
            UsageError::BadStatusList(value) => bad(line, "status list", value),
            UsageError::BadMethod(value) => {
                bad(line, "method", value);
                say(line, " (a health check only reads: GET, HEAD or OPTIONS)");
            }
            UsageError::HeaderWithoutName => say(line, "bad header: not 'Name: value'"),
            UsageError::BadHeaderName(name) => {
                line.push(b"bad header name: ").push_printable(name);
            }
            UsageError::BadHeaderValue(name) => {
                line.push(b"bad header ")
                    .push_printable(name)
                    .push(b": its value holds a control character");
            }
            UsageError::TooManyTargets => say(line, "too many targets"),
            UsageError::TooManyHeaders => say(line, "too many headers"),
            UsageError::NoTarget => {
                say(line, "no target given");
                say(line, TRY_HELP);
            }
            UsageError::Target(text, error) => {
                push_target(line, text);
                error.write(line);
            }
        }
    }
}

impl TargetError<'_> {
    /// Appends the error's text to `line`.
    pub fn write(&self, line: &mut Line) {
        match *self {
            TargetError::NotLoopback(host) => {
                line.push(b"refused: ")
                    .push_printable(host)
                    .push(b" is not a loopback address");
            }
            TargetError::UnsupportedScheme => say(line, "unsupported scheme"),
            TargetError::BadPort => say(line, "bad port"),
            TargetError::BadSocketPath => say(line, "bad socket path"),
            TargetError::SocketPathTooLong => say(line, "socket path too long"),
            TargetError::BadMaxAge => say(line, "bad max-age"),
            TargetError::UnknownFileCheck => say(line, "unknown file check"),
            TargetError::BadFilePath => say(line, "bad file path"),
            TargetError::InvalidCharacterInPath => say(line, "invalid character in path"),
        }
    }
}

impl Notice {
    /// Appends the notice's text to `line`.
    pub fn write(&self, line: &mut Line) {
        match *self {
            Notice::Unfiltered(errno) => {
                line.push(b"running unfiltered: seccomp refused (");
                push_errno(line, errno);
                line.push(b")");
            }
        }
    }
}

const TRY_HELP: &str = " (try --help)";

fn say(line: &mut Line, text: &str) {
    line.push(text.as_bytes());
}

/// `bad WHAT: VALUE`.
fn bad(line: &mut Line, what: &str, value: &[u8]) {
    line.push(b"bad ")
        .push(what.as_bytes())
        .push(b": ")
        .push_printable(value);
}

/// Appends a target's text and `: `, cut with `...` when long so that the
/// reason after it still fits the line.
pub fn push_target(line: &mut Line, text: &[u8]) {
    line.push_printable(&text[..text.len().min(TARGET_SHOWN)]);
    if text.len() > TARGET_SHOWN {
        line.push(b"...");
    }
    line.push(b": ");
}

fn phase_text(phase: Phase) -> &'static str {
    match phase {
        Phase::Connecting => "connecting",
        Phase::StatusLine => "waiting for the status line",
        Phase::TlsHandshake => "doing the TLS handshake",
        Phase::Http2 => "waiting for HTTP/2",
        Phase::Http2Response => "waiting for HTTP/2 response",
        Phase::Http2Trailers => "waiting for HTTP/2 response trailers",
    }
}

fn health_text(health: Health) -> &'static str {
    match health {
        Health::Unknown => "UNKNOWN",
        Health::NotServing => "NOT_SERVING",
        Health::ServiceUnknown => "SERVICE_UNKNOWN",
    }
}

/// The name of a gRPC status code (grpc/doc/statuscodes.md), if it has one.
fn grpc_code_name(code: u32) -> Option<&'static str> {
    Some(match code {
        0 => "OK",
        1 => "CANCELLED",
        2 => "UNKNOWN",
        3 => "INVALID_ARGUMENT",
        4 => "DEADLINE_EXCEEDED",
        5 => "NOT_FOUND",
        6 => "ALREADY_EXISTS",
        7 => "PERMISSION_DENIED",
        8 => "RESOURCE_EXHAUSTED",
        9 => "FAILED_PRECONDITION",
        10 => "ABORTED",
        11 => "OUT_OF_RANGE",
        12 => "UNIMPLEMENTED",
        13 => "INTERNAL",
        14 => "UNAVAILABLE",
        15 => "DATA_LOSS",
        16 => "UNAUTHENTICATED",
        _ => return None,
    })
}

/// Appends a short text for `errno`: the causes a probe meets, by name,
/// others by number (`error 38`).
pub fn push_errno(line: &mut Line, errno: Errno) {
    let text = match errno {
        Errno::CONNREFUSED => "connection refused",
        Errno::CONNRESET => "connection reset",
        Errno::PIPE => "connection closed",
        Errno::NOENT => "no such file",
        // A permission the process lacks, whichever way the kernel says it.
        Errno::ACCESS | Errno::PERM => "permission denied",
        Errno::NETUNREACH => "network unreachable",
        Errno::ADDRNOTAVAIL => "address not available",
        Errno::AFNOSUPPORT => "address family not supported",
        Errno::NOTDIR => "not a directory",
        Errno::NOTSOCK => "not a socket",
        Errno::PROTOTYPE => "not a stream socket",
        // A Unix socket whose listen backlog is full refuses with EAGAIN.
        Errno::AGAIN => "server busy (backlog full)",
        Errno::MFILE => "too many open files",
        Errno::TIMEDOUT => "connection timed out",
        Errno::ISDIR => "is a directory",
        _ => {
            line.push(b"error ")
                .push_decimal(u64::from(errno.raw_os_error().unsigned_abs()));
            return;
        }
    };
    say(line, text);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(write: impl FnOnce(&mut Line)) -> String {
        let mut line = Line::new();
        write(&mut line);
        String::from_utf8(line.as_bytes().to_vec()).unwrap()
    }

    #[test]
    fn errno_names() {
        for (errno, name) in [
            (Errno::CONNREFUSED, "connection refused"),
            (Errno::CONNRESET, "connection reset"),
            (Errno::PIPE, "connection closed"),
            (Errno::NOENT, "no such file"),
            (Errno::ACCESS, "permission denied"),
            (Errno::PERM, "permission denied"),
            (Errno::NETUNREACH, "network unreachable"),
            (Errno::ADDRNOTAVAIL, "address not available"),
            (Errno::AFNOSUPPORT, "address family not supported"),
            (Errno::NOTDIR, "not a directory"),
            (Errno::NOTSOCK, "not a socket"),
            (Errno::PROTOTYPE, "not a stream socket"),
            (Errno::AGAIN, "server busy (backlog full)"),
            (Errno::MFILE, "too many open files"),
            (Errno::TIMEDOUT, "connection timed out"),
            (Errno::ISDIR, "is a directory"),
            (Errno::NOSYS, "error 38"),
        ] {
            assert_eq!(text(|l| push_errno(l, errno)), name);
        }
    }

    #[test]
    fn reasons_with_values() {
        let timed_out = Reason::TimedOut {
            after_ms: 2000,
            phase: Phase::StatusLine,
        };
        assert_eq!(
            text(|l| timed_out.write(l)),
            "timed out after 2s while waiting for the status line"
        );
        let status = Reason::GrpcStatus {
            code: 5,
            message: b"Unknown service\n",
        };
        assert_eq!(
            text(|l| status.write(l)),
            "gRPC status 5 (NOT_FOUND): Unknown service?"
        );
        let status = Reason::GrpcStatus {
            code: 17,
            message: b"",
        };
        assert_eq!(text(|l| status.write(l)), "gRPC status 17");
        let heartbeat = Reason::Heartbeat {
            age_ms: 45_900,
            max_ms: 30_000,
        };
        assert_eq!(text(|l| heartbeat.write(l)), "heartbeat 45s old (max 30s)");
        assert_eq!(
            text(|l| Reason::Health(Health::NotServing).write(l)),
            "gRPC NOT_SERVING"
        );
        assert_eq!(text(|l| Reason::FileNotEmpty(b"").write(l)), "not empty");
    }

    #[test]
    fn usage_errors() {
        let refused =
            UsageError::Target(b"http://10.0.0.5/", TargetError::NotLoopback(b"10.0.0.5"));
        assert_eq!(
            text(|l| refused.write(l)),
            "http://10.0.0.5/: refused: 10.0.0.5 is not a loopback address"
        );
        assert_eq!(
            text(|l| UsageError::Unset(b"PORT").write(l)),
            "$PORT is not set (use ${NAME:-default})"
        );
        assert_eq!(
            text(|l| UsageError::NoTarget.write(l)),
            "no target given (try --help)"
        );
        let long = [b'a'; 120];
        let cut = text(|l| UsageError::Target(&long, TargetError::BadPort).write(l));
        assert_eq!(cut, format!("{}...: bad port", "a".repeat(TARGET_SHOWN)));
    }
}
