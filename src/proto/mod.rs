//! The protocols, behind one small face. The engine owns the sockets and the
//! deadline; a protocol owns the bytes. Once a target's socket is connected
//! (and its peer checked), the engine asks the target's [`Session`] for the
//! request, sends it, tells it so ([`Session::sent`]), then hands it every
//! byte that arrives ([`Session::feed`]) and the server's end of stream
//! ([`Session::closed`]) until it says [`Step::Pass`] or [`Step::Fail`]. At
//! the deadline it asks what the session was waiting for ([`Session::phase`]).
//!
//! Nothing here does I/O or reads a clock, so every protocol is tested on
//! the host with bytes alone. Which protocols a build has is decided here
//! and nowhere else: the engine never names one.
//!
//! File targets need no connection: [`file`] checks them before the sandbox
//! is installed.

pub mod file;
pub mod grpc;
pub mod http;
#[cfg(feature = "tls")]
pub mod tls;

use crate::policy::target::Check;
use crate::report::{Phase, Reason};
use crate::text::buffer::Buffer;
use http::status_list::StatusList;

/// The largest request one target sends.
pub const REQUEST_MAX: usize = 2048;

/// The most a session answers to one read (gRPC: a SETTINGS ACK and PING
/// ACKs). What does not fit whole is not sent.
pub const REPLY_MAX: usize = 256;

/// What a session sends back after a read.
pub type Reply = Buffer<REPLY_MAX>;

/// What the run's protocols share, from the command line.
#[derive(Clone, Copy, Debug)]
pub struct Settings<'a> {
    /// The HTTP method.
    pub method: &'a [u8],
    /// The `-H` headers, `Name: value`, checked: HTTP headers, gRPC metadata.
    pub headers: &'a [&'a [u8]],
    /// The accepted HTTP statuses.
    pub statuses: StatusList,
    /// The run's deadline, which gRPC tells the server (`grpc-timeout`).
    pub timeout_ms: u64,
}

/// Where a check stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step<'a> {
    /// Not decided: the session waits for more bytes.
    More,
    /// Passed, and how (for `-v`).
    Pass(Reason<'a>),
    /// Failed, and why.
    Fail(Reason<'a>),
}

/// One target's protocol, from the request to the verdict.
// Without an allocator every probe's slot holds the largest session (gRPC's
// buffers, about 1.5 KB): a box is not to be had.
#[allow(clippy::large_enum_variant)]
pub enum Session<'a> {
    /// `tcp://`, `unix:`: being connected is the whole check.
    Connect,
    /// `http://`, `http+unix:` (and `https://` in the TLS build).
    Http(http::HttpCheck<'a>),
    /// `grpc://`, `grpc+unix:`.
    Grpc(grpc::GrpcCheck<'a>),
}

impl<'a> Session<'a> {
    /// The session for a network target's check. A check this build cannot
    /// do (`https://` without TLS) fails here, before any socket exists.
    pub fn new(check: &Check<'a>, settings: &Settings<'a>) -> Result<Self, Reason<'static>> {
        match *check {
            Check::Http(target) => {
                if target.tls && !cfg!(feature = "tls") {
                    return Err(Reason::NoTlsInThisBuild);
                }
                Ok(Session::Http(http::HttpCheck::new(&target, settings)))
            }
            Check::Grpc(target) => Ok(Session::Grpc(grpc::GrpcCheck::new(&target, settings))),
            // File targets are checked by `file`, without a session.
            Check::Connect | Check::File(_) => Ok(Session::Connect),
        }
    }

    /// Writes the request to send once connected into `out`: its length (0:
    /// nothing to send), or `None` if it does not fit.
    pub fn request(&self, out: &mut [u8]) -> Option<usize> {
        match self {
            Session::Connect => Some(0),
            Session::Http(http) => http.request(out),
            Session::Grpc(grpc) => grpc.request(out),
        }
    }

    /// The request is sent: where the check stands before any answer.
    pub fn sent(&mut self) -> Step<'static> {
        match self {
            Session::Connect => Step::Pass(Reason::Connected),
            Session::Http(_) | Session::Grpc(_) => Step::More,
        }
    }

    /// Takes bytes the server sent, in any split; what to send back goes to
    /// `reply` (gRPC's acknowledgements of SETTINGS and PING).
    pub fn feed(&mut self, input: &[u8], reply: &mut Reply) -> Step<'_> {
        match self {
            Session::Connect => Step::More,
            Session::Http(http) => http.feed(input),
            Session::Grpc(grpc) => grpc.feed(input, reply),
        }
    }

    /// The server closed its side before the check was decided.
    pub fn closed(&mut self) -> Step<'static> {
        match self {
            Session::Connect => Step::Fail(Reason::ConnectionClosed),
            Session::Http(_) => Step::Fail(Reason::ClosedBeforeStatusLine),
            Session::Grpc(grpc) => grpc.closed(),
        }
    }

    /// What the session waits for, once connected (for the timeout's reason).
    pub fn phase(&self) -> Phase {
        match self {
            Session::Connect => Phase::Connecting,
            Session::Http(_) => Phase::StatusLine,
            Session::Grpc(grpc) => grpc.phase(),
        }
    }

    /// The TLS build's `https://` runs its whole exchange at once on the
    /// connected `socket`, under the `deadline` timer (embedded-tls drives
    /// the socket itself, until the sans-IO client of issue 16 replaces it):
    /// the verdict, or `None` for every other session, which the engine
    /// drives with `request` and `feed`.
    #[cfg_attr(not(feature = "tls"), allow(unused_variables))]
    pub fn exchange_on(
        &mut self,
        socket: rustix::fd::BorrowedFd,
        deadline: rustix::fd::BorrowedFd,
        request: &[u8],
    ) -> Option<Step<'static>> {
        #[cfg(feature = "tls")]
        if let Session::Http(http) = self
            && http.tls
        {
            return Some(tls::exchange(socket, deadline, http, request));
        }
        None
    }
}
