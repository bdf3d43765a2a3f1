//! One target's check: for a network target, a small state machine the poll
//! loop drives. It connects (racing 127.0.0.1 and ::1 for `localhost`),
//! checks the peer, sends the session's request in one write, and feeds the
//! session what arrives until it decides. A probe owns its sockets; they are
//! closed when it ends ([`Probe::end`]), or when it is dropped.

use crate::engine::deadline::Deadline;
use crate::policy::loopback::{self, Host};
use crate::policy::target::{Check, Endpoint, Named};
use crate::proto::{REQUEST_MAX, Reply, Session, Settings, Step, file};
use crate::report::{Phase, Reason};
use crate::text::line::Line;
use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use rustix::fs::FileType;
use rustix::io::Errno;
use rustix::net::{
    Ipv4Addr, Ipv6Addr, RecvFlags, SendFlags, SocketAddrAny, SocketAddrUnix, SocketAddrV4,
    SocketAddrV6, SocketFlags, SocketType,
};

/// How a check ended, or that it has not yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Pending,
    Pass,
    Fail,
}

/// Where a network check stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    /// Connecting: one socket per address being raced.
    Connecting,
    /// Connected and the request sent: the session reads the answer.
    Exchanging,
}

/// One target's check.
pub struct Probe<'a> {
    /// The target as given, and what it says.
    pub named: &'a Named<'a>,
    session: Session<'a>,
    stage: Stage,
    /// One socket per address being raced (127.0.0.1, ::1); the winner
    /// ends up in the first.
    sockets: [Option<OwnedFd>; 2],
    /// The most telling connect error so far.
    connect_error: Option<Errno>,
    /// The result, once known.
    pub verdict: Verdict,
}

/// A check's result.
pub struct Verdict {
    pub outcome: Outcome,
    /// Why it failed, or how it passed (for `-v`).
    pub reason: Line,
}

impl Verdict {
    /// Records a decided step; true if it was (an undecided one changes
    /// nothing).
    fn record(&mut self, step: Step) -> bool {
        let (outcome, reason) = match step {
            Step::More => return false,
            Step::Pass(reason) => (Outcome::Pass, reason),
            Step::Fail(reason) => (Outcome::Fail, reason),
        };
        self.outcome = outcome;
        self.reason.truncate(0);
        reason.write(&mut self.reason);
        true
    }
}

impl<'a> Probe<'a> {
    /// A slot for a probe, not used by this run (yet).
    pub fn unused() -> Probe<'static> {
        const NOTHING: Named<'static> = (
            b"",
            crate::policy::target::Target {
                endpoint: Endpoint::File(b""),
                check: Check::Connect,
            },
        );
        Probe {
            named: &NOTHING,
            session: Session::Connect,
            stage: Stage::Connecting,
            sockets: [None, None],
            connect_error: None,
            verdict: Verdict {
                outcome: Outcome::Pending,
                reason: Line::new(),
            },
        }
    }

    /// A check of `named` not started yet. A network check this build cannot
    /// do ends here.
    pub fn new(named: &'a Named<'a>, settings: &Settings<'a>) -> Self {
        let mut probe = Probe {
            named,
            session: Session::Connect,
            stage: Stage::Connecting,
            sockets: [None, None],
            connect_error: None,
            verdict: Verdict {
                outcome: Outcome::Pending,
                reason: Line::new(),
            },
        };
        match Session::new(&named.1.check, settings) {
            Ok(session) => probe.session = session,
            Err(reason) => probe.end(Step::Fail(reason)),
        }
        probe
    }

    /// True for a file target, which needs no connection.
    pub fn is_file(&self) -> bool {
        matches!(self.named.1.endpoint, Endpoint::File(_))
    }

    /// Checks a file target at once; before the sandbox, which forbids `open`.
    pub fn check_file(&mut self, scratch: &mut file::Scratch) {
        if let (Endpoint::File(path), Check::File(check)) =
            (self.named.1.endpoint, self.named.1.check)
        {
            let step = file::check(check, path, scratch);
            self.end(step);
        }
    }

    /// Records the verdict of a decided step (an undecided one changes
    /// nothing) and closes the sockets: the one way a check ends.
    fn end(&mut self, step: Step) {
        if self.verdict.record(step) {
            self.close();
        }
    }

    /// Closes the sockets ([`close(2)`], by dropping them).
    ///
    /// [`close(2)`]: https://man7.org/linux/man-pages/man2/close.2.html
    fn close(&mut self) {
        self.sockets = [None, None];
    }

    /// True while the check is not decided.
    pub fn is_pending(&self) -> bool {
        self.verdict.outcome == Outcome::Pending
    }

    /// Starts connecting a network target: a non-blocking socket per
    /// address; the poll loop sees each writable once connected (at once for
    /// Unix sockets) or failed.
    pub fn start(&mut self) {
        match self.named.1.endpoint {
            Endpoint::Inet(host, port) => {
                let v4 = match host {
                    Host::V4(ip) => Some(ip),
                    Host::Both => Some([127, 0, 0, 1]),
                    Host::V6Loopback => None,
                };
                if let Some(ip) = v4 {
                    self.open(0, &SocketAddrV4::new(Ipv4Addr::from(ip), port).into());
                }
                if matches!(host, Host::Both | Host::V6Loopback) {
                    let v6 = SocketAddrV6::new(Ipv6Addr::LOCALHOST, port, 0, 0);
                    self.open(1, &v6.into());
                }
            }
            Endpoint::Unix(path) => self.start_unix(path),
            Endpoint::File(_) => {}
        }
    }

    /// Connects to a Unix socket path, or an abstract one (`@name`). A
    /// refusal is said in the socket's terms.
    fn start_unix(&mut self, path: &[u8]) {
        let address = match path.strip_prefix(b"@") {
            Some(name) => SocketAddrUnix::new_abstract_name(name),
            None => SocketAddrUnix::new(path),
        };
        match address {
            Ok(address) => self.open(0, &address.into()),
            Err(e) => return self.end(Step::Fail(Reason::Os(e))),
        }
        let not_a_socket = || {
            path.first() != Some(&b'@')
                && rustix::fs::stat(path)
                    .is_ok_and(|st| FileType::from_raw_mode(st.st_mode) != FileType::Socket)
        };
        // The connect failed at once (Unix sockets do not wait).
        let better = match self.connect_error {
            Some(Errno::NOENT) => Reason::NoSuchSocket,
            Some(Errno::CONNREFUSED) if not_a_socket() => Reason::NotASocket,
            _ => return,
        };
        self.verdict.record(Step::Fail(better));
    }

    /// [`socket(2)`] and a non-blocking [`connect(2)`] to `address` in `slot`.
    ///
    /// [`socket(2)`]: https://man7.org/linux/man-pages/man2/socket.2.html
    /// [`connect(2)`]: https://man7.org/linux/man-pages/man2/connect.2.html
    fn open(&mut self, slot: usize, address: &SocketAddrAny) {
        if !self.is_pending() {
            return;
        }
        let flags = SocketFlags::NONBLOCK | SocketFlags::CLOEXEC;
        let socket =
            rustix::net::socket_with(address.address_family(), SocketType::STREAM, flags, None);
        let connecting = socket.and_then(|fd| match rustix::net::connect(&fd, address) {
            Ok(()) | Err(Errno::INPROGRESS) => Ok(fd),
            Err(e) => Err(e),
        });
        match connecting {
            Ok(fd) => self.sockets[slot] = Some(fd),
            Err(e) => self.connect_failed(slot, e),
        }
    }

    /// One of the raced connects failed; the check fails when none is left.
    fn connect_failed(&mut self, slot: usize, errno: Errno) {
        self.sockets[slot] = None;
        // "Refused" says most: the app is not listening on that family.
        if self.connect_error.is_none() || errno == Errno::CONNREFUSED {
            self.connect_error = Some(errno);
        }
        if self.sockets.iter().all(Option::is_none) {
            let errno = self.connect_error.unwrap_or(Errno::CONNREFUSED);
            self.end(Step::Fail(Reason::Os(errno)));
        }
    }

    /// The probe's sockets to poll, with the events it waits for: writable
    /// while connecting, readable once the request is out.
    pub fn pollable(&self) -> impl Iterator<Item = (usize, BorrowedFd<'_>, bool)> + '_ {
        let pending = self.is_pending();
        let reading = self.stage == Stage::Exchanging;
        self.sockets
            .iter()
            .enumerate()
            .filter_map(move |(slot, socket)| Some((slot, socket.as_ref()?.as_fd(), reading)))
            .filter(move |_| pending)
    }

    /// The socket in `slot` is ready: connected (or failed), or readable.
    pub fn on_ready(&mut self, slot: usize, deadline: &Deadline) {
        let Some(socket) = &self.sockets[slot] else {
            return;
        };
        if self.stage == Stage::Exchanging {
            return self.receive();
        }
        // getsockopt(2) SO_ERROR: how the non-blocking connect ended.
        match rustix::net::sockopt::socket_error(socket) {
            Ok(Ok(())) => self.connected(slot, deadline),
            Ok(Err(e)) | Err(e) => self.connect_failed(slot, e),
        }
    }

    /// The race is won: check the peer, then send the request.
    fn connected(&mut self, slot: usize, deadline: &Deadline) {
        // The winner to the first slot; the loser, if any, closed.
        self.sockets.swap(0, slot);
        self.sockets[1] = None;
        let Some(socket) = &self.sockets[0] else {
            return;
        };
        // getpeername(2): where the connection really ends.
        let peer_allowed = match rustix::net::getpeername(socket) {
            Ok(Some(peer)) => loopback::peer_is_loopback(&peer),
            Ok(None) => false,
            // Not connected any more (ENOTCONN): the peer reset the
            // connection since it was accepted.
            Err(_) => return self.end(Step::Fail(Reason::Os(Errno::CONNRESET))),
        };
        if !peer_allowed {
            return self.end(Step::Fail(Reason::PeerNotLoopback));
        }
        let mut request = [0u8; REQUEST_MAX];
        let Some(len) = self.session.request(&mut request) else {
            return self.end(Step::Fail(Reason::RequestTooLong));
        };
        if let Some(step) = self
            .session
            .exchange_on(socket.as_fd(), deadline.fd(), &request[..len])
        {
            return self.end(step);
        }
        // A fresh socket's buffer takes a request this small whole: it goes
        // out in one write (sendto(2)), or the check fails.
        if len > 0 {
            match rustix::net::send(socket, &request[..len], SendFlags::NOSIGNAL) {
                Ok(n) if n == len => {}
                Ok(_) | Err(Errno::AGAIN) => {
                    return self.end(Step::Fail(Reason::RequestNotSentWhole));
                }
                Err(e) => return self.end(Step::Fail(Reason::Os(e))),
            }
        }
        self.stage = Stage::Exchanging;
        let step = self.session.sent();
        self.end(step);
    }

    /// The socket is readable: [`recv(2)`] and feed the session.
    ///
    /// [`recv(2)`]: https://man7.org/linux/man-pages/man2/recv.2.html
    fn receive(&mut self) {
        let Some(socket) = &self.sockets[0] else {
            return;
        };
        let mut buf = [0u8; 4096];
        let mut reply = Reply::new();
        let step = match rustix::net::recv(socket, &mut buf, RecvFlags::empty()) {
            Ok((0, _)) => self.session.closed(),
            Ok((n, _)) => self.session.feed(&buf[..n], &mut reply),
            Err(Errno::AGAIN | Errno::INTR) => Step::More,
            Err(e) => Step::Fail(Reason::Os(e)),
        };
        // What the session answers (gRPC's acknowledgements of SETTINGS and
        // PING). Should the socket's buffer be full, the server only waits,
        // which the deadline covers.
        if !reply.as_slice().is_empty() {
            let _ = rustix::net::send(socket, reply.as_slice(), SendFlags::NOSIGNAL);
        }
        // As `end`: the step may borrow the session, apart from the verdict.
        if self.verdict.record(step) {
            self.close();
        }
    }

    /// The deadline passed (`Ok`) or the poll failed (`Err`) before the
    /// check was decided.
    pub fn stopped(&mut self, why: Result<&Deadline, Errno>) {
        if !self.is_pending() {
            return;
        }
        let reason = match why {
            Ok(deadline) => Reason::TimedOut {
                after_ms: deadline.ms(),
                phase: match self.stage {
                    Stage::Connecting => Phase::Connecting,
                    Stage::Exchanging => self.session.phase(),
                },
            },
            Err(e) => Reason::Os(e),
        };
        self.end(Step::Fail(reason));
    }
}
