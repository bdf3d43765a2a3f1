//! The checks themselves: every target's connection is driven by one `poll`
//! loop under one deadline, in one thread. Each target is a small state
//! machine: connect (racing 127.0.0.1 and ::1 for `localhost`), send the
//! request in one write, read until the answer is known.

use crate::duration;
use crate::grpc::{self, GrpcCheck};
use crate::line::Line;
use crate::loopback::{self, Host};
use crate::options::{MAX_TARGETS, Options};
use crate::request;
use crate::status_line::StatusLine;
use crate::status_list::StatusList;
use crate::target::{Check, Endpoint, Target};
use rustix::event::{PollFd, PollFlags, Timespec, poll};
use rustix::fd::{AsFd, OwnedFd};
use rustix::fs::FileType;
use rustix::io::Errno;
use rustix::net::{
    AddressFamily, Ipv4Addr, Ipv6Addr, RecvFlags, SendFlags, SocketAddr, SocketAddrAny,
    SocketAddrUnix, SocketAddrV4, SocketAddrV6, SocketFlags, SocketType,
};
use rustix::time::{Itimerspec, TimerfdClockId, TimerfdFlags, TimerfdTimerFlags};

/// The largest request one target sends.
pub const REQUEST_MAX: usize = 2048;

/// Where a target's check stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Still waiting on the network.
    Pending,
    /// Passed; `Probe::reason` says how (for `-v`).
    Pass,
    /// Failed; `Probe::reason` says why.
    Fail,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Stage {
    Connecting,
    Sending,
    Receiving,
}

/// One target's check in progress.
pub struct Probe {
    check: Check,
    /// The target is a Unix socket, so an AF_UNIX peer is expected.
    unix: bool,
    /// One socket per address being raced; the winner ends up in slot 0.
    sockets: [Option<OwnedFd>; 2],
    /// The most telling connect error so far.
    connect_error: Option<Errno>,
    stage: Stage,
    request: [u8; REQUEST_MAX],
    request_len: usize,
    sent: usize,
    status_line: StatusLine,
    statuses: StatusList,
    grpc: GrpcCheck,
    /// The result, once known.
    pub outcome: Outcome,
    /// Why it failed, or how it passed.
    pub reason: Line,
}

impl Default for Probe {
    fn default() -> Self {
        Self::new()
    }
}

impl Probe {
    /// A check not started yet. Not `const`: a constant this size would be
    /// copied from a 2 KiB block of zeros in the binary instead of cleared.
    pub fn new() -> Self {
        Probe {
            check: Check::Connect,
            unix: false,
            sockets: [None, None],
            connect_error: None,
            stage: Stage::Connecting,
            request: [0; REQUEST_MAX],
            request_len: 0,
            sent: 0,
            status_line: StatusLine::new(),
            statuses: StatusList::DEFAULT,
            grpc: GrpcCheck::new(),
            outcome: Outcome::Pending,
            reason: Line::new(),
        }
    }

    fn fail(&mut self, reason: &[u8]) {
        self.finish(Outcome::Fail, reason);
    }

    fn finish(&mut self, outcome: Outcome, reason: &[u8]) {
        self.outcome = outcome;
        self.reason.push(reason);
        self.sockets = [None, None];
    }

    fn fail_errno(&mut self, errno: Errno) {
        self.outcome = Outcome::Fail;
        push_errno(&mut self.reason, errno);
        self.sockets = [None, None];
    }

    /// Builds the request and starts connecting.
    fn start(&mut self, target: &Target, opts: &Options) {
        self.check = target.check;
        self.statuses = opts.statuses;
        if target.check == Check::Http {
            let req = request::Request {
                method: opts.method,
                path: target.path,
                host_port: target.host_port,
                headers: opts.headers(),
            };
            match request::write(&mut self.request, &req) {
                Some(len) => self.request_len = len,
                None => return self.fail(b"request too long"),
            }
        }
        if target.check == Check::Grpc {
            let mut authority = Line::new();
            authority.push(b"localhost");
            if let Endpoint::Inet(_, port) = target.endpoint {
                authority.push(b":").push_u64(u64::from(port));
            }
            let req = grpc::Request {
                authority: authority.as_bytes(),
                service: target.path,
                metadata: opts.headers(),
                timeout_ms: opts.timeout_ms,
                user_agent: request::USER_AGENT,
            };
            match grpc::write_request(&mut self.request, &req) {
                Some(len) => self.request_len = len,
                None => return self.fail(b"request too long"),
            }
        }
        match target.endpoint {
            Endpoint::Inet(host, port) => {
                let v4 = SocketAddrV4::new(Ipv4Addr::LOCALHOST, port);
                let v6 = SocketAddrV6::new(Ipv6Addr::LOCALHOST, port, 0, 0);
                match host {
                    Host::Both => {
                        self.open(0, AddressFamily::INET, &v4.into());
                        self.open(1, AddressFamily::INET6, &v6.into());
                    }
                    Host::V4(ip) => {
                        let addr = SocketAddrV4::new(Ipv4Addr::from(ip), port);
                        self.open(0, AddressFamily::INET, &addr.into());
                    }
                    Host::V6Loopback => self.open(0, AddressFamily::INET6, &v6.into()),
                }
            }
            Endpoint::Unix(path) => {
                self.unix = true;
                let addr = match path {
                    [b'@', name @ ..] => SocketAddrUnix::new_abstract_name(name),
                    _ => {
                        let mut buf = [0u8; crate::bytes::PATH_MAX];
                        match crate::bytes::c_path(path, &mut buf) {
                            Some(path) => SocketAddrUnix::new(path),
                            None => Err(Errno::NAMETOOLONG),
                        }
                    }
                };
                match addr {
                    Ok(addr) => self.open(0, AddressFamily::UNIX, &addr.into()),
                    Err(e) => self.fail_errno(e),
                }
                if self.outcome == Outcome::Fail {
                    self.explain_unix_failure(path);
                }
            }
            Endpoint::File(path) => {
                let passed = crate::files::check(target.check, path, &mut self.reason);
                self.outcome = if passed { Outcome::Pass } else { Outcome::Fail };
            }
        }
    }

    /// Opens a non-blocking socket in `slot` and starts connecting it.
    fn open(&mut self, slot: usize, family: AddressFamily, addr: &SocketAddrAny) {
        if self.outcome != Outcome::Pending {
            return;
        }
        let flags = SocketFlags::NONBLOCK | SocketFlags::CLOEXEC;
        let result =
            rustix::net::socket_with(family, SocketType::STREAM, flags, None).and_then(|fd| {
                match rustix::net::connect(&fd, addr) {
                    Ok(()) | Err(Errno::INPROGRESS) => Ok(fd),
                    Err(e) => Err(e),
                }
            });
        match result {
            Ok(fd) => self.sockets[slot] = Some(fd),
            Err(e) => self.connect_failed(slot, e),
        }
        // A Unix connect completes at once; a loopback TCP connect may too.
        if self.sockets[slot].is_some() && family == AddressFamily::UNIX {
            self.on_ready(slot);
        }
    }

    /// Says why a Unix socket refused in the socket's terms: "no such file"
    /// becomes "no such socket", and a refusal by something that is not a
    /// socket at all says so.
    fn explain_unix_failure(&mut self, path: &[u8]) {
        let mut buf = [0u8; crate::bytes::PATH_MAX];
        let reason: &[u8] = match self.connect_error {
            Some(Errno::NOENT) => b"no such socket",
            Some(Errno::CONNREFUSED) => {
                match crate::bytes::c_path(path, &mut buf).map(rustix::fs::stat) {
                    Some(Ok(st)) if FileType::from_raw_mode(st.st_mode) != FileType::Socket => {
                        b"not a socket"
                    }
                    _ => return,
                }
            }
            _ => return,
        };
        self.reason = Line::new();
        self.reason.push(reason);
    }

    /// One of the raced connects failed; fail the check when none is left.
    fn connect_failed(&mut self, slot: usize, errno: Errno) {
        self.sockets[slot] = None;
        // "Refused" says most: the app is not listening on that family.
        if self.connect_error.is_none() || errno == Errno::CONNREFUSED {
            self.connect_error = Some(errno);
        }
        if self.sockets.iter().all(Option::is_none) {
            self.fail_errno(self.connect_error.unwrap_or(Errno::CONNREFUSED));
        }
    }

    /// The socket in `slot` is ready for what the stage waits for.
    fn on_ready(&mut self, slot: usize) {
        let Some(fd) = &self.sockets[slot] else {
            return;
        };
        match self.stage {
            Stage::Connecting => match rustix::net::sockopt::socket_error(fd) {
                Ok(Ok(())) => self.on_connected(slot),
                Ok(Err(e)) | Err(e) => self.connect_failed(slot, e),
            },
            Stage::Sending => self.send(),
            Stage::Receiving => self.receive(),
        }
    }

    fn on_connected(&mut self, slot: usize) {
        // The race is won: the other attempt is closed.
        let fd = self.sockets[slot].take();
        self.sockets = [fd, None];
        if !self.peer_is_allowed() {
            return self.fail(b"refused: the peer is not a loopback address");
        }
        match self.check {
            Check::Connect => self.finish(Outcome::Pass, b"connected"),
            _ => {
                self.stage = Stage::Sending;
                self.send();
            }
        }
    }

    /// After connect, the peer address is checked once more.
    fn peer_is_allowed(&self) -> bool {
        let Some(fd) = &self.sockets[0] else {
            return false;
        };
        match rustix::net::getpeername(fd) {
            Ok(Some(peer)) => match SocketAddr::try_from(peer) {
                Ok(SocketAddr::V4(a)) => loopback::is_loopback_v4(a.ip().octets()),
                Ok(SocketAddr::V6(a)) => loopback::is_loopback_v6(a.ip().octets()),
                // Not an IP address: AF_UNIX, the only other family we open.
                Err(_) => self.unix,
            },
            _ => false,
        }
    }

    fn send(&mut self) {
        let Some(fd) = &self.sockets[0] else { return };
        let rest = &self.request[self.sent..self.request_len];
        match rustix::net::send(fd, rest, SendFlags::NOSIGNAL) {
            Ok(n) => {
                self.sent += n;
                if self.sent == self.request_len {
                    self.stage = Stage::Receiving;
                }
            }
            Err(Errno::AGAIN) => {}
            Err(e) => self.fail_errno(e),
        }
    }

    fn receive(&mut self) {
        let Some(fd) = &self.sockets[0] else { return };
        let mut buf = [0u8; 512];
        match rustix::net::recv(fd, &mut buf[..], RecvFlags::empty()) {
            Ok((0, _)) if self.check == Check::Grpc => {
                self.grpc.closed(&mut self.reason);
                self.finish(Outcome::Fail, b"");
            }
            Ok((0, _)) => self.fail(b"connection closed before the status line"),
            Ok((n, _)) if self.check == Check::Grpc => self.on_grpc_bytes(&buf[..n]),
            Ok((n, _)) => self.on_bytes(&buf[..n]),
            Err(Errno::AGAIN) => {}
            Err(e) => self.fail_errno(e),
        }
    }

    fn on_bytes(&mut self, bytes: &[u8]) {
        match self.status_line.feed(bytes) {
            Ok(None) => {}
            Ok(Some(code)) => {
                let mut text = Line::new();
                text.push(b"HTTP ").push_u64(u64::from(code));
                let passed = self.statuses.contains(code);
                self.finish(
                    if passed { Outcome::Pass } else { Outcome::Fail },
                    text.as_bytes(),
                );
            }
            Err(_) => self.fail(b"malformed status line"),
        }
    }

    fn on_grpc_bytes(&mut self, bytes: &[u8]) {
        let mut reply = grpc::Reply::new();
        let progress = self.grpc.feed(bytes, &mut reply, &mut self.reason);
        // SETTINGS and PING acknowledgements; a full socket buffer here would
        // only delay the server, which the deadline covers.
        if let Some(fd) = &self.sockets[0] {
            let _ = rustix::net::send(fd, reply.as_bytes(), SendFlags::NOSIGNAL);
        }
        match progress {
            grpc::Progress::NeedMore => {}
            grpc::Progress::Pass => self.finish(Outcome::Pass, b"SERVING"),
            grpc::Progress::Fail => self.finish(Outcome::Fail, b""),
        }
    }

    /// What the check was doing, for the timeout message.
    fn phase(&self) -> &'static [u8] {
        match self.stage {
            Stage::Connecting => b"connecting",
            Stage::Sending => b"sending the request",
            Stage::Receiving if self.check == Check::Grpc => self.grpc.phase().as_bytes(),
            Stage::Receiving => b"waiting for the status line",
        }
    }

    /// The poll events the socket in `slot` waits for, if any.
    fn interest(&self, slot: usize) -> Option<PollFlags> {
        self.sockets[slot].as_ref()?;
        Some(match self.stage {
            Stage::Connecting | Stage::Sending => PollFlags::OUT,
            Stage::Receiving => PollFlags::IN,
        })
    }
}

/// The errors a probe meets, by number, and what each is called: a table,
/// since a `match` over them compiles to a long chain of compares.
const ERRNO_CODES: [u8; 16] = [
    111, 104, 32, 2, 13, 1, 101, 99, 97, 20, 88, 91, 11, 24, 23, 110,
];
const ERRNO_TEXTS: &[u8] = b"connection refused\0connection reset\0connection closed\0\
no such file\0permission denied\0permission denied\0network unreachable\0\
address not available\0address family not supported\0not a directory\0not a socket\0\
not a stream socket\0server busy (backlog full)\0too many open files\0too many open files\0\
connection timed out";

/// Appends a short text for `errno`: the causes a probe meets, by name.
pub fn push_errno(line: &mut Line, errno: Errno) {
    let code = errno.raw_os_error().unsigned_abs();
    match ERRNO_CODES.iter().position(|&c| u32::from(c) == code) {
        Some(i) => {
            let text = ERRNO_TEXTS.split(|&b| b == 0).nth(i).unwrap_or_default();
            line.push(text);
        }
        None => {
            line.push(b"error ").push_u64(u64::from(code));
        }
    }
}

#[cfg(test)]
#[test]
fn errno_table_lines_up() {
    for (errno, text) in [
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
        (Errno::NFILE, "too many open files"),
        (Errno::TIMEDOUT, "connection timed out"),
        (Errno::NOSYS, "error 38"),
    ] {
        let mut line = Line::new();
        push_errno(&mut line, errno);
        assert_eq!(line.as_bytes(), text.as_bytes());
    }
}

/// Checks every probe concurrently until each has an outcome or the deadline
/// passes. File targets are checked first; then the sandbox is installed
/// (its result is returned), then the network targets start.
#[inline(never)]
pub fn run_all(probes: &mut [Probe], opts: &Options) -> Result<(), Errno> {
    let targets = opts.targets();
    // The deadline is a timer fd in the poll set: no clock reads needed.
    let timer = rustix::time::timerfd_create(
        TimerfdClockId::Monotonic,
        TimerfdFlags::CLOEXEC | TimerfdFlags::NONBLOCK,
    );
    let Ok(timer) = timer else {
        for probe in probes.iter_mut() {
            probe.fail(b"cannot create a timer");
        }
        return Ok(());
    };
    let ms = opts.timeout_ms;
    let deadline = Itimerspec {
        it_interval: Timespec {
            tv_sec: 0,
            tv_nsec: 0,
        },
        it_value: Timespec {
            tv_sec: (ms / 1000) as i64,
            tv_nsec: ((ms % 1000) * 1_000_000) as i64,
        },
    };
    if rustix::time::timerfd_settime(&timer, TimerfdTimerFlags::empty(), &deadline).is_err() {
        for probe in probes.iter_mut() {
            probe.fail(b"cannot set the deadline");
        }
        return Ok(());
    }
    // Files first: the sandbox forbids `open`.
    let is_file = |t: &Target| matches!(t.endpoint, Endpoint::File(_));
    for (probe, (_, target)) in probes.iter_mut().zip(targets) {
        if is_file(target) {
            probe.start(target, opts);
        }
    }
    let sandbox = crate::seccomp::install();
    for (probe, (_, target)) in probes.iter_mut().zip(targets) {
        if !is_file(target) {
            probe.start(target, opts);
        }
    }
    const SLOTS: usize = 1 + 2 * MAX_TARGETS;
    loop {
        // Which probe and slot each poll entry belongs to, and what happened.
        let mut owners = [(0usize, 0usize); SLOTS];
        let mut ready = [false; SLOTS];
        let timed_out;
        {
            let mut fds: [PollFd; SLOTS] =
                core::array::from_fn(|_| PollFd::new(&timer, PollFlags::IN));
            let mut count = 1;
            for (p, probe) in probes.iter().enumerate() {
                if probe.outcome != Outcome::Pending {
                    continue;
                }
                for slot in 0..2 {
                    if let (Some(events), Some(fd)) = (probe.interest(slot), &probe.sockets[slot]) {
                        fds[count] = PollFd::from_borrowed_fd(fd.as_fd(), events);
                        owners[count] = (p, slot);
                        count += 1;
                    }
                }
            }
            if count == 1 {
                return sandbox;
            }
            match poll(&mut fds[..count], None) {
                Ok(_) => {}
                Err(Errno::INTR) => continue,
                Err(e) => {
                    for probe in probes.iter_mut().filter(|p| p.outcome == Outcome::Pending) {
                        probe.fail_errno(e);
                    }
                    return sandbox;
                }
            }
            timed_out = !fds[0].revents().is_empty();
            for (i, fd) in fds[..count].iter().enumerate() {
                ready[i] = !fd.revents().is_empty();
            }
        }
        if timed_out {
            for probe in probes.iter_mut().filter(|p| p.outcome == Outcome::Pending) {
                let mut text = Line::new();
                text.push(b"timed out after ");
                duration::push(&mut text, ms);
                text.push(b" while ").push(probe.phase());
                probe.fail(text.as_bytes());
            }
            return sandbox;
        }
        for (i, &(p, slot)) in owners.iter().enumerate().skip(1) {
            if ready[i] && probes[p].outcome == Outcome::Pending {
                probes[p].on_ready(slot);
            }
        }
    }
}
