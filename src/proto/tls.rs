//! `https://` for the TLS build (`--features tls`, shipped as
//! `scratchprobe-tls`): TLS 1.3 by the `embedded-tls` crate (no allocator),
//! with our glue only: a socket transport under the run's one deadline, a
//! crypto provider that supplies nothing but random numbers from
//! `getrandom(2)`, and failure reasons a user can act on.
//!
//! The certificate is not verified: the peer is loopback, checked after
//! connect, and a probe has no trust store. What is checked is that a TLS 1.3
//! server completes the handshake and answers the request with an accepted
//! status.
//!
//! The exchange is done in one go once the connection is up, the other
//! targets' sockets waiting meanwhile (they are still under the one deadline,
//! which the exchange watches too): about 2 ms for a loopback handshake.

use crate::proto::Step;
use crate::proto::http::HttpCheck;
use crate::proto::http::status_line::StatusLine;
use crate::report::{Phase, Reason};
use embedded_io::{ErrorKind, ErrorType, Read, Write};
use embedded_tls::alert::AlertDescription;
use embedded_tls::blocking::{
    Aes128GcmSha256, CryptoProvider, TlsConfig, TlsConnection, TlsContext, TlsError,
};
use rustix::event::{PollFd, PollFlags, poll};
use rustix::fd::BorrowedFd;
use rustix::io::Errno;
use rustix::net::{RecvFlags, SendFlags};

/// One record of the largest size a server may send (2^14 bytes of plaintext
/// and the most overhead TLS allows).
const READ_BUF: usize = 16_640;
/// Our records: the ClientHello, or the request (`REQUEST_MAX`) in one record.
const WRITE_BUF: usize = crate::proto::REQUEST_MAX + 512;

/// Does the TLS handshake on the connected, non-blocking `socket`, sends
/// `request` and reads up to the status line, which `http` judges; gives up
/// when the `deadline` timer expires. The server name sent is taken from the
/// `-H Host:` header when there is one.
pub fn exchange(
    socket: BorrowedFd,
    deadline: BorrowedFd,
    http: &HttpCheck,
    request: &[u8],
) -> Step<'static> {
    let sni = server_name(http.headers());
    match exchange_for_status(socket, deadline, sni, request) {
        Ok(code) => http.verdict(code),
        Err(Reason::TimedOut { phase, .. }) => Step::Fail(Reason::TimedOut {
            after_ms: http.timeout_ms,
            phase,
        }),
        Err(reason) => Step::Fail(reason),
    }
}

/// The exchange, to the status code; a timeout's `after_ms` is filled in by
/// the caller.
fn exchange_for_status(
    fd: BorrowedFd,
    timer: BorrowedFd,
    sni: &str,
    request: &[u8],
) -> Result<u16, Reason<'static>> {
    // Handshake records go out at once, not held back waiting for an ACK.
    let _ = rustix::net::sockopt::set_tcp_nodelay(fd, true);
    // Fails here, with a reason, where getrandom is not to be had; later
    // calls cannot fail then.
    let mut probe = [0u8; 1];
    fill(&mut probe).map_err(Reason::Os)?;
    let mut socket = Socket {
        fd,
        timer,
        error: None,
        timed_out: false,
        closed: false,
        first: None,
    };
    let mut opened = false;
    let result = talk(&mut socket, sni, request, &mut opened);
    result.map_err(|e| {
        if socket.timed_out {
            let phase = if opened {
                Phase::StatusLine
            } else {
                Phase::TlsHandshake
            };
            return Reason::TimedOut { after_ms: 0, phase };
        }
        if let Some(errno) = socket.error {
            return Reason::Os(errno);
        }
        // Anything but a TLS handshake or alert record first: no TLS there.
        if !matches!(socket.first, None | Some(0x15 | 0x16)) {
            return Reason::NotTls;
        }
        match e {
            Some(TlsError::HandshakeAborted(_, AlertDescription::ProtocolVersion)) => {
                Reason::NoTls13
            }
            Some(TlsError::HandshakeAborted(_, AlertDescription::HandshakeFailure)) => {
                Reason::NoCommonParameters
            }
            Some(TlsError::HandshakeAborted(_, alert)) => Reason::TlsAlert(alert as u8),
            None => Reason::MalformedStatusLine,
            Some(_) if opened => Reason::ClosedBeforeStatusLine,
            Some(_) if socket.closed => Reason::ClosedDuringTlsHandshake,
            Some(_) => Reason::TlsHandshakeFailed,
        }
    })
}

/// The exchange itself; `Err(None)` is a malformed status line.
fn talk(
    socket: &mut Socket,
    sni: &str,
    request: &[u8],
    opened: &mut bool,
) -> Result<u16, Option<TlsError>> {
    let mut read_buf = [0u8; READ_BUF];
    let mut write_buf = [0u8; WRITE_BUF];
    let alpn: &[&[u8]] = &[b"http/1.1"];
    let config = TlsConfig::new()
        .with_server_name(sni)
        .with_alpn(alpn)
        .enable_rsa_signatures();
    let mut tls: TlsConnection<_, Aes128GcmSha256> =
        TlsConnection::new(socket, &mut read_buf, &mut write_buf);
    tls.open(TlsContext::new(&config, Provider))?;
    *opened = true;
    tls.write_all(request)?;
    tls.flush()?;
    let mut status = StatusLine::new();
    let mut buf = [0u8; 512];
    loop {
        let n = tls.read(&mut buf)?;
        if n == 0 {
            return Err(Some(TlsError::ConnectionClosed));
        }
        if let Some(code) = status.feed(&buf[..n]).map_err(|_| None)? {
            return Ok(code);
        }
    }
}

/// The server name to send: the `Host` header's host when `-H Host:` names
/// one (without a port; not an IP address), else `localhost`.
pub fn server_name<'a>(headers: &[&'a [u8]]) -> &'a str {
    for &header in headers {
        let Some((name, value)) = crate::proto::http::request::split_header(header) else {
            continue;
        };
        if !name.eq_ignore_ascii_case(b"Host") {
            continue;
        }
        let host = match value.iter().position(|&b| b == b':') {
            Some(i) => &value[..i],
            None => value,
        };
        // A name, not an IP literal (RFC 6066 allows no addresses in SNI).
        let name = host.iter().any(|b| !b.is_ascii_digit() && *b != b'.');
        if name
            && host.iter().all(|&b| b.is_ascii_graphic() && b != b'[')
            && let Ok(host) = core::str::from_utf8(host)
        {
            return host;
        }
    }
    "localhost"
}

/// The connected socket as `embedded-io` sees it: blocking reads and writes,
/// done as non-blocking calls and `poll` on the socket and the deadline.
/// What went wrong is kept here, since `embedded-tls` keeps only a kind.
struct Socket<'a> {
    fd: BorrowedFd<'a>,
    timer: BorrowedFd<'a>,
    /// A socket error.
    error: Option<Errno>,
    /// The deadline passed.
    timed_out: bool,
    /// The peer closed the connection.
    closed: bool,
    /// The first byte the server sent: 0x16 (handshake) or 0x15 (alert) for
    /// a TLS server.
    first: Option<u8>,
}

impl Socket<'_> {
    /// Waits until the socket is ready for `events`, or fails at the
    /// deadline.
    fn wait(&mut self, events: PollFlags) -> Result<(), ErrorKind> {
        let mut fds = [
            PollFd::from_borrowed_fd(self.fd, events),
            PollFd::from_borrowed_fd(self.timer, PollFlags::IN),
        ];
        match poll(&mut fds, None) {
            Ok(_) | Err(Errno::INTR) => {}
            Err(e) => return self.fail(e),
        }
        if !fds[1].revents().is_empty() {
            self.timed_out = true;
            return Err(ErrorKind::TimedOut);
        }
        Ok(())
    }

    fn fail(&mut self, errno: Errno) -> Result<(), ErrorKind> {
        self.error = Some(errno);
        Err(ErrorKind::Other)
    }
}

impl ErrorType for Socket<'_> {
    type Error = ErrorKind;
}

impl Read for Socket<'_> {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, ErrorKind> {
        loop {
            match rustix::net::recv(self.fd, &mut *buf, RecvFlags::empty()) {
                Ok((0, _)) => {
                    self.closed = true;
                    return Ok(0);
                }
                Ok((n, _)) => {
                    self.first.get_or_insert(buf[0]);
                    return Ok(n);
                }
                Err(Errno::AGAIN) => self.wait(PollFlags::IN)?,
                Err(Errno::INTR) => {}
                Err(e) => self.fail(e)?,
            }
        }
    }
}

impl Write for Socket<'_> {
    fn write(&mut self, buf: &[u8]) -> Result<usize, ErrorKind> {
        loop {
            match rustix::net::send(self.fd, buf, SendFlags::NOSIGNAL) {
                Ok(n) => return Ok(n),
                Err(Errno::AGAIN) => self.wait(PollFlags::OUT)?,
                Err(Errno::INTR) => {}
                Err(e) => self.fail(e)?,
            }
        }
    }

    fn flush(&mut self) -> Result<(), ErrorKind> {
        Ok(())
    }
}

/// Fills `buf` from `getrandom(2)`.
fn fill(mut buf: &mut [u8]) -> Result<(), Errno> {
    while !buf.is_empty() {
        match rustix::rand::getrandom(&mut *buf, rustix::rand::GetRandomFlags::empty()) {
            Ok(n) => buf = &mut buf[n..],
            Err(Errno::INTR) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// The kernel's random numbers, for the client random and the key share.
struct Rng;

impl rand_core::RngCore for Rng {
    fn next_u32(&mut self) -> u32 {
        rand_core::impls::next_u32_via_fill(self)
    }

    fn next_u64(&mut self) -> u64 {
        rand_core::impls::next_u64_via_fill(self)
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        // `exchange` checked that getrandom works; should it fail after all,
        // the probe exits 1 (a panic is a trap that `rt::signals` turns into
        // exit 1).
        if fill(dest).is_err() {
            panic!();
        }
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl rand_core::CryptoRng for Rng {}

/// Supplies random numbers only: no certificate verifier (nothing is
/// verified) and no client certificate, so no signing code is linked.
struct Provider;

impl CryptoProvider for Provider {
    type CipherSuite = Aes128GcmSha256;
    type Signature = [u8; 0];

    fn rng(&mut self) -> impl embedded_tls::CryptoRngCore {
        Rng
    }
}

#[cfg(test)]
mod tests {
    use super::server_name;

    #[test]
    fn server_name_from_host_header() {
        assert_eq!(server_name(&[]), "localhost");
        assert_eq!(server_name(&[b"X-A: b"]), "localhost");
        assert_eq!(server_name(&[b"host: app.example"]), "app.example");
        assert_eq!(server_name(&[b"Host: app.example:8443"]), "app.example");
        // IP literals in brackets, empty values and junk are not server names.
        assert_eq!(server_name(&[b"Host: [::1]:8443"]), "localhost");
        assert_eq!(server_name(&[b"Host: 127.0.0.1:8443"]), "localhost");
        assert_eq!(server_name(&[b"Host:"]), "localhost");
        assert_eq!(server_name(&[b"Host: a b"]), "localhost");
        assert_eq!(server_name(&[b"Host: caf\xc3\xa9"]), "localhost");
    }
}
