//! The checks themselves: every target's connection is driven by one `poll`
//! loop under one deadline, in one thread. Each target is a small state
//! machine: connect (racing 127.0.0.1 and ::1 for `localhost`), send the
//! request in one write, read until the answer is known.

use crate::cli::options::{MAX_TARGETS, Options};
use crate::policy::loopback::{self, Host};
use crate::policy::target::{Check, Endpoint, Target};
#[cfg(feature = "grpc")]
use crate::proto::grpc::{self, GrpcCheck};
use crate::proto::http::request;
use crate::proto::http::status_line::StatusLine;
use crate::text::duration;
use crate::text::line::Line;
use rustix::event::{PollFd, PollFlags, Timespec, poll};
use rustix::fd::{AsFd, OwnedFd};
use rustix::fs::FileType;
use rustix::io::Errno;
use rustix::net::{
    AddressFamily, Ipv4Addr, Ipv6Addr, RecvFlags, SendFlags, SocketAddrAny, SocketAddrUnix,
    SocketAddrV4, SocketAddrV6, SocketFlags, SocketType,
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

/// One target's check in progress.
pub struct Probe {
    /// One socket per address being raced; the winner ends up in slot 0.
    sockets: [Option<OwnedFd>; 2],
    /// The most telling connect error so far.
    connect_error: Option<Errno>,
    /// Connected and the request sent: waiting for the answer.
    receiving: bool,
    status_line: StatusLine,
    #[cfg(feature = "grpc")]
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
    /// A check not started yet.
    pub const fn new() -> Self {
        Probe {
            sockets: [None, None],
            connect_error: None,
            receiving: false,
            status_line: StatusLine::new(),
            #[cfg(feature = "grpc")]
            grpc: GrpcCheck::new(),
            outcome: Outcome::Pending,
            reason: Line::new(),
        }
    }

    // Not inlined: measured smaller on x86_64.
    #[inline(never)]
    fn fail(&mut self, reason: &[u8]) {
        self.finish(Outcome::Fail, reason);
    }

    /// Records the outcome and closes the sockets.
    #[inline(never)]
    fn finish(&mut self, outcome: Outcome, reason: &[u8]) {
        self.outcome = outcome;
        self.reason.push(reason);
        self.sockets[0] = None;
        self.sockets[1] = None;
    }

    fn fail_errno(&mut self, errno: Errno) {
        push_errno(&mut self.reason, errno);
        self.fail(b"");
    }

    /// Checks a file target at once, or starts connecting.
    fn start(&mut self, target: &Target) {
        #[cfg(not(feature = "grpc"))]
        if target.check == Check::Grpc {
            return self.fail(b"this build has no gRPC: use scratchprobe-grpc");
        }
        #[cfg(not(feature = "tls"))]
        if target.check == Check::Https {
            return self.fail(b"this build has no TLS: use scratchprobe-tls");
        }
        // A socket or file path for the kernel, made once for both.
        let mut buf = [0u8; crate::bytes::PATH_MAX];
        let c_path = match target.endpoint {
            Endpoint::Unix(path) | Endpoint::File(path) => crate::bytes::c_path(path, &mut buf),
            Endpoint::Inet(..) => None,
        };
        match target.endpoint {
            Endpoint::Inet(host, port) => {
                let v4 = match host {
                    Host::V4(ip) => ip,
                    _ => [127, 0, 0, 1],
                };
                if host != Host::V6Loopback {
                    self.open(0, &SocketAddrV4::new(Ipv4Addr::from(v4), port).into());
                }
                if host != Host::V4(v4) {
                    self.open(
                        1,
                        &SocketAddrV6::new(Ipv6Addr::LOCALHOST, port, 0, 0).into(),
                    );
                }
            }
            Endpoint::Unix(path) => {
                let abstract_name = path.strip_prefix(b"@");
                let addr = match (abstract_name, c_path) {
                    (Some(name), _) => SocketAddrUnix::new_abstract_name(name),
                    (None, Some(path)) => SocketAddrUnix::new(path),
                    (None, None) => Err(Errno::NAMETOOLONG),
                };
                match addr {
                    Ok(addr) => self.open(0, &addr.into()),
                    Err(e) => self.fail_errno(e),
                }
                // Said in the socket's terms: "no such file" is "no such
                // socket", and a refusal by what is no socket at all says so.
                let is_socket = |path| {
                    rustix::fs::stat(path)
                        .is_ok_and(|st| FileType::from_raw_mode(st.st_mode) == FileType::Socket)
                };
                let why: &[u8] = match (self.connect_error, c_path) {
                    (Some(Errno::NOENT), _) => b"no such socket",
                    (Some(Errno::CONNREFUSED), Some(path))
                        if abstract_name.is_none() && !is_socket(path) =>
                    {
                        b"not a socket"
                    }
                    _ => b"",
                };
                if !why.is_empty() {
                    self.reason.truncate(0);
                    self.reason.push(why);
                }
            }
            Endpoint::File(_) => {
                let passed = crate::proto::file::check(target.check, c_path, &mut self.reason);
                self.outcome = if passed { Outcome::Pass } else { Outcome::Fail };
            }
        }
    }

    /// Opens a non-blocking socket in `slot` and starts connecting it; the
    /// poll loop sees it writable once connected (at once for Unix sockets).
    fn open(&mut self, slot: usize, addr: &SocketAddrAny) {
        if self.outcome != Outcome::Pending {
            return;
        }
        let flags = SocketFlags::NONBLOCK | SocketFlags::CLOEXEC;
        let socket =
            rustix::net::socket_with(addr.address_family(), SocketType::STREAM, flags, None);
        let connected = socket.and_then(|fd| match rustix::net::connect(&fd, addr) {
            Ok(()) | Err(Errno::INPROGRESS) => Ok(fd),
            Err(e) => Err(e),
        });
        match connected {
            Ok(fd) => {
                // Each slot is opened once, while empty: nothing to close,
                // and no code for closing it.
                let empty = self.sockets[slot].replace(fd);
                debug_assert!(empty.is_none());
                core::mem::forget(empty);
            }
            Err(e) => self.connect_failed(slot, e),
        }
    }

    /// One of the raced connects failed; fail the check when none is left.
    fn connect_failed(&mut self, slot: usize, errno: Errno) {
        self.sockets[slot] = None;
        // "Refused" says most: the app is not listening on that family.
        if self.connect_error.is_none() || errno == Errno::CONNREFUSED {
            self.connect_error = Some(errno);
        }
        if let [None, None] = self.sockets {
            self.fail_errno(self.connect_error.unwrap_or(Errno::CONNREFUSED));
        }
    }

    /// The socket in `slot` is ready: connected (or failed), or readable.
    // Not inlined into the poll loop: measured smaller.
    #[inline(never)]
    fn on_ready(&mut self, slot: usize, target: &Target, opts: &Options) {
        let Some(fd) = &self.sockets[slot] else {
            return;
        };
        if self.receiving {
            return self.receive(target, opts);
        }
        match rustix::net::sockopt::socket_error(fd) {
            Ok(Ok(())) => self.on_connected(slot, target, opts),
            Ok(Err(e)) | Err(e) => self.connect_failed(slot, e),
        }
    }

    /// The race is won: check the peer, then pass or send the request.
    fn on_connected(&mut self, slot: usize, target: &Target, opts: &Options) {
        // The winner to slot 0; the loser, if any, closed.
        self.sockets.swap(0, slot);
        self.sockets[1] = None;
        let Some(fd) = &self.sockets[0] else { return };
        let allowed = match rustix::net::getpeername(fd) {
            Ok(Some(peer)) => match peer.address_family() {
                AddressFamily::INET => SocketAddrV4::try_from(peer)
                    .is_ok_and(|a| loopback::is_loopback_v4(a.ip().octets())),
                AddressFamily::INET6 => SocketAddrV6::try_from(peer)
                    .is_ok_and(|a| loopback::is_loopback_v6(a.ip().octets())),
                // AF_UNIX, the only other family opened.
                _ => matches!(target.endpoint, Endpoint::Unix(_)),
            },
            Ok(None) => false,
            // Not connected any more (ENOTCONN): the peer reset the
            // connection since it was accepted.
            Err(_) => return self.fail_errno(Errno::CONNRESET),
        };
        if !allowed {
            return self.fail(b"refused: peer is not loopback");
        }
        let mut request = [0u8; REQUEST_MAX];
        let len = match target.check {
            Check::Connect => return self.finish(Outcome::Pass, b"connected"),
            #[cfg(feature = "grpc")]
            Check::Grpc => {
                let req = grpc::Request {
                    port: target.host_port,
                    service: target.path,
                    metadata: opts.headers(),
                    timeout_ms: opts.timeout_ms,
                };
                grpc::write_request(&mut request, &req)
            }
            _ => {
                let req = request::Request {
                    method: opts.method,
                    path: target.path,
                    host_port: target.host_port,
                    headers: opts.headers(),
                };
                request::write(&mut request, &req)
            }
        };
        let Some(len) = len else {
            return self.fail(b"request too long");
        };
        // The TLS build: handshake, request and status line in one go (the
        // other targets wait, under the same deadline); the status decides as
        // in `receive`.
        #[cfg(feature = "tls")]
        if target.check == Check::Https {
            let sni = crate::proto::tls::server_name(opts.headers());
            return match crate::proto::tls::exchange(fd.as_fd(), sni, &request[..len]) {
                Ok(code) => self.on_status(code, opts),
                Err(failure) => {
                    crate::proto::tls::push_failure(&mut self.reason, failure, opts.timeout_ms);
                    self.fail(b"");
                }
            };
        }
        // A fresh socket's buffer takes a request this small whole: it goes
        // out in one write, or the check fails.
        match rustix::net::send(fd, &request[..len], SendFlags::NOSIGNAL) {
            Ok(n) if n == len => self.receiving = true,
            Ok(_) | Err(Errno::AGAIN) => self.fail(b"request not sent whole"),
            Err(e) => self.fail_errno(e),
        }
    }

    #[cfg_attr(not(feature = "grpc"), allow(unused_variables))]
    fn receive(&mut self, target: &Target, opts: &Options) {
        let Some(fd) = &self.sockets[0] else { return };
        let mut buf = [0u8; 512];
        #[cfg(feature = "grpc")]
        let grpc = target.check == Check::Grpc;
        let bytes = match rustix::net::recv(fd, &mut buf[..], RecvFlags::empty()) {
            #[cfg(feature = "grpc")]
            Ok((0, _)) if grpc => {
                self.grpc.closed(&mut self.reason);
                return self.fail(b"");
            }
            Ok((0, _)) => return self.fail(b"connection closed before the status line"),
            Ok((n, _)) => &buf[..n],
            Err(Errno::AGAIN) => return,
            Err(e) => return self.fail_errno(e),
        };
        #[cfg(feature = "grpc")]
        if grpc {
            let progress = self.grpc.feed(bytes, &mut self.reason);
            // SETTINGS and PING acknowledgements; should the socket buffer be
            // full, the server only waits, which the deadline covers.
            let _ = rustix::net::send(fd, self.grpc.reply(), SendFlags::NOSIGNAL);
            match progress {
                grpc::Progress::NeedMore => {}
                grpc::Progress::Pass => self.finish(Outcome::Pass, b"SERVING"),
                grpc::Progress::Fail => self.fail(b""),
            }
            return;
        }
        match self.status_line.feed(bytes) {
            Ok(None) => {}
            Ok(Some(code)) => self.on_status(code, opts),
            Err(_) => self.fail(b"malformed status line"),
        }
    }

    /// The final HTTP status decides: `HTTP NNN`, passing if accepted.
    fn on_status(&mut self, code: u16, opts: &Options) {
        // Said in `reason` at once: it is empty until the check ends.
        self.reason.push(b"HTTP ").push_u64(u64::from(code));
        let passed = opts.statuses.contains(code);
        self.finish(if passed { Outcome::Pass } else { Outcome::Fail }, b"");
    }

    /// What the check was doing, for the timeout message.
    fn phase(&self, target: &Target) -> &'static [u8] {
        match (self.receiving, target.check) {
            (false, _) => b"connecting",
            #[cfg(feature = "grpc")]
            (true, Check::Grpc) => self.grpc.phase().as_bytes(),
            (true, _) => b"waiting for the status line",
        }
    }
}

/// The errors a probe meets, by number, and what each is called: a table,
/// since a `match` over them compiles to a long chain of compares.
const ERRNO_CODES: [u8; 15] = [
    111, 104, 32, 2, 13, 101, 99, 97, 20, 88, 91, 11, 24, 110, 21,
];
const ERRNO_TEXTS: &[u8] = b"connection refused\0connection reset\0connection closed\0\
no such file\0permission denied\0network unreachable\0\
address not available\0address family not supported\0not a directory\0not a socket\0\
not a stream socket\0server busy (backlog full)\0too many open files\0\
connection timed out\0is a directory";

/// Appends a short text for `errno`: the causes a probe meets, by name.
pub fn push_errno(line: &mut Line, errno: Errno) {
    let code = errno.raw_os_error().unsigned_abs();
    // EPERM is said as EACCES is.
    let code = if code == 1 { 13 } else { code };
    match ERRNO_CODES.iter().position(|&c| u32::from(c) == code) {
        Some(i) => {
            let text = crate::bytes::nth(ERRNO_TEXTS, i);
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
        (Errno::TIMEDOUT, "connection timed out"),
        (Errno::ISDIR, "is a directory"),
        (Errno::NOSYS, "error 38"),
    ] {
        let mut line = Line::new();
        push_errno(&mut line, errno);
        assert_eq!(line.as_bytes(), text.as_bytes());
    }
}

/// Checks every probe concurrently until each has an outcome or the deadline
/// passes. File targets are checked first; then the sandbox is installed
/// (its result is returned), then the network targets start. Meant to run
/// once, before the process exits: the deadline's timer fd is left open.
pub fn run_all(probes: &mut [Probe], opts: &Options) -> Result<(), Errno> {
    let targets = opts.targets();
    // The deadline is a timer fd in the poll set: no clock reads needed.
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
    // Left open for the exit to close (see above): closing costs code.
    let timer = rustix::time::timerfd_create(TimerfdClockId::Monotonic, TimerfdFlags::CLOEXEC)
        .and_then(|timer| {
            let timer = core::mem::ManuallyDrop::new(timer);
            rustix::time::timerfd_settime(&*timer, TimerfdTimerFlags::empty(), &deadline)?;
            Ok(timer)
        });
    // Files first: the sandbox forbids `open`.
    let is_file = |i: usize| matches!(targets[i].1.endpoint, Endpoint::File(_));
    for i in 0..probes.len() {
        if is_file(i) {
            probes[i].start(&targets[i].1);
        }
    }
    let sandbox = crate::rt::seccomp::install();
    // Why the checks still pending stopped: the deadline passed after
    // `Ok(ms)`, or the timer or the poll failed.
    let stopped = 'checks: {
        let timer = match timer {
            Ok(timer) => timer,
            Err(e) => break 'checks Err(e),
        };
        #[cfg(feature = "tls")]
        crate::proto::tls::set_deadline(&timer);
        for i in 0..probes.len() {
            if !is_file(i) {
                probes[i].start(&targets[i].1);
            }
        }
        const SLOTS: usize = 1 + 2 * MAX_TARGETS;
        // One bit for each socket slot (see `ready` below).
        const _: () = assert!(SLOTS - 1 <= u32::BITS as usize);
        loop {
            // Poll entry 0 is the timer; entry i > 0 belongs to probe
            // `owners[i] / 2`, socket slot `owners[i] % 2`.
            let mut owners = [0u8; SLOTS];
            let mut fds: [PollFd; SLOTS] =
                core::array::from_fn(|_| PollFd::new(&*timer, PollFlags::IN));
            let mut count = 1;
            for (p, probe) in probes.iter().enumerate() {
                for (slot, socket) in probe.sockets.iter().enumerate() {
                    if let (Outcome::Pending, Some(fd)) = (probe.outcome, socket) {
                        let events = if probe.receiving {
                            PollFlags::IN
                        } else {
                            PollFlags::OUT
                        };
                        fds[count] = PollFd::from_borrowed_fd(fd.as_fd(), events);
                        owners[count] = (2 * p + slot) as u8;
                        count += 1;
                    }
                }
            }
            if count == 1 {
                return sandbox;
            }
            let polled = poll(&mut fds[..count], None);
            if polled == Err(Errno::INTR) {
                continue;
            }
            if polled.is_err() || !fds[0].revents().is_empty() {
                break 'checks polled.map(|_| ms);
            }
            // The owners of the ready entries, as bits `2 * p + slot` (handled
            // lowest first, the entries' order): `fds` borrows the sockets,
            // which handling them needs back.
            let mut ready: u32 = 0;
            for i in 1..count {
                ready |= u32::from(!fds[i].revents().is_empty()) << owners[i];
            }
            while ready != 0 {
                let bit = ready.trailing_zeros() as usize;
                ready &= ready - 1;
                let p = bit / 2;
                if probes[p].outcome == Outcome::Pending {
                    probes[p].on_ready(bit % 2, &targets[p].1, opts);
                }
            }
        }
    };
    fail_pending(probes, targets, stopped);
    sandbox
}

/// Fails every probe still pending: timed out after `Ok(ms)`, or an error.
fn fail_pending(
    probes: &mut [Probe],
    targets: &[crate::cli::options::Named],
    why: Result<u64, Errno>,
) {
    for (probe, (_, target)) in probes.iter_mut().zip(targets) {
        if probe.outcome != Outcome::Pending {
            continue;
        }
        match why {
            Ok(ms) => {
                let phase = probe.phase(target);
                probe.reason.push(b"timed out after ");
                duration::push(&mut probe.reason, ms);
                probe.reason.push(b" while ");
                probe.fail(phase);
            }
            Err(e) => probe.fail_errno(e),
        }
    }
}
