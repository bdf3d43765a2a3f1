"""Scripted servers that misbehave on purpose, for black-box tests of the probe.

One framework for every transport the probe speaks. A `FaultServer` listens
on TCP (a loopback address: 127.0.0.0/8 or ::1; on a port the kernel picks
unless a caller passes one, to put an IPv4 and an IPv6 server on one number)
or on a Unix stream socket (a path in a short directory under /tmp, or an
abstract name), and runs one *behaviour* per accepted connection, each in its
own thread. A behaviour is a script, a function of one `Conn`: written once,
it is served over TCP and Unix sockets alike.

    hang()                   read the request, never answer
    close()                  read the request, then close (FIN) without a byte
    reset()                  read the request, then reset (RST over TCP)
    send(data)               read the request, send data, close (FIN)
    send_then_hang(data)     read the request, send data, keep the connection open
    drip(data, delay)        read the request, send data one byte at a time, close
    reset_mid_line(partial)  read the request, send part of a status line, reset
    close_unread(data, rst)  send data (if any), close at once reading nothing
    record(reply)            read everything until the peer closes; with reply,
                             send it after the request head
    huge_body(status)        status line + chunked headers, then megabytes of body
    accept_never()           listen, never accept (the kernel still completes
                             the connection: it waits in the backlog)
    full_backlog()           listen(0) with the queue already full: connect()
                             itself hangs (TCP drops the SYNs) or fails (Unix:
                             EAGAIN)

A new behaviour is a few lines:

    def banner(text: bytes) -> Behaviour:
        '''Sends `text` on accept, then reads until the peer closes.'''
        def script(c: Conn) -> None:
            c.send(text)
            c.hold()
        return Behaviour(f"banner({text!r})", script)

A script talks to its connection through `Conn`: `read_request()` (to the end
of the request head), `read_some()`, `send(data)`, `drip(data, delay)`,
`no_delay()`, `sleep(seconds)`, `close()` (FIN, then read until the peer closes),
`hold()` (read until the peer closes), `reset()`, `close_now()`. Every byte
read is kept in `conn.received`, and how the peer ended the connection in
`conn.peer_close`: "FIN", "RST" or None (not seen).

The server records `requests` (each connection's request head, if it sent
one), `first_recvs` (the bytes of each connection's first recv), `connections`
(accepted connections), `conns` (their `Conn`s, in order) and `notes` (errors
a script raised, other than the peer going away). `sync()` makes the counts
exact: it connects a sentinel and waits until the server accepted it, so that
every connection made before the call has been accepted (the accept queue is
FIFO). `wait_done()` waits until every connection's script has ended.

From a test:

    with FaultServer(send(b"HTTP/1.1 200 OK\\r\\n\\r\\n")) as srv:
        ... srv.port ... srv.url("http", "/healthz") ...
    with FaultServer(hang(), unix=True) as srv:             # a socket file
        ... srv.spec ... srv.url("http", "/")  # http+unix:/tmp/sp-.../fault.sock:/
    with FaultServer(hang(), abstract=True) as srv:         # an abstract name
        ... srv.spec ...                       # @scratchprobe-test-...

As a script (prints the port on one line, serves until killed, or until stdin
closes when --stdin is given):

    python3 faultserver.py --host 127.0.0.1 --behaviour send --data 'HTTP/1.1 200 OK\\r\\n\\r\\n'
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import shutil
import socket
import struct
import sys
import tempfile
import threading
import time
import traceback
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

POLL = 0.02  # seconds between checks of the stop flag in blocking loops
REQUEST_READ_TIMEOUT = 3.0  # how long read_request waits for a full request head


# -- where Unix sockets live -------------------------------------------------------


def short_dir(prefix: str = "sp-") -> Path:
    """A fresh directory with a short path under /tmp, for socket files (a
    sun_path holds 107 bytes; pytest's tmp_path can be longer)."""
    return Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))


def abstract_name(prefix: str = "scratchprobe-test") -> str:
    """A unique abstract socket name (without the leading NUL or @)."""
    return f"{prefix}-{os.getpid()}-{uuid.uuid4().hex[:12]}"


# -- one connection, as a script sees it ---------------------------------------------


class Conn:
    """One accepted connection. Reads give up when the server stops; every
    byte read is appended to `received`."""

    def __init__(self, sock: socket.socket, server: "FaultServer"):
        self.sock = sock
        self.server = server
        self.received = bytearray()
        self.peer_close: str | None = None  # "FIN" or "RST", once seen
        self.done = threading.Event()  # set when the script ended and the socket is closed

    def _recv(self, deadline: float | None) -> bytes | None:
        """The next bytes from the peer; b"" once it closed the connection
        (`peer_close` says how); None at the deadline or when the server
        stops."""
        self.sock.settimeout(POLL)
        while not self.server.stopping.is_set() and (deadline is None or time.monotonic() < deadline):
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            except ConnectionResetError:
                self.peer_close = "RST"
                return b""
            except OSError:  # closed here (reset, close_now) or otherwise unusable
                return b""
            if not data:
                self.peer_close = "FIN"
                return b""
            self.received += data
            return data
        return None

    def read_request(self) -> bytes:
        """Reads until the end of the request head (a blank line), EOF, or
        a timeout, and records it in the server's `requests`. With the
        server's `read_delay`, waits first, so that `first_recvs` shows what
        one recv returns of a request that has fully arrived."""
        srv = self.server
        if srv.read_delay and not self.sleep(srv.read_delay):
            return b""
        buf = b""
        first = True
        deadline = time.monotonic() + REQUEST_READ_TIMEOUT
        while b"\r\n\r\n" not in buf:
            data = self._recv(deadline)
            if data is None:
                break
            if first:
                with srv.lock:
                    srv.first_recvs.append(data)
                first = False
            if not data:
                break
            buf += data
        if buf:
            with srv.lock:
                srv.requests.append(buf)
        return buf

    def read_some(self, timeout: float = REQUEST_READ_TIMEOUT) -> bytes:
        """What one recv returns (b"" at EOF or after `timeout`)."""
        return self._recv(time.monotonic() + timeout) or b""

    def send(self, data: bytes) -> bool:
        """Sends data; False when the peer went away or the server stopped."""
        self.sock.settimeout(POLL)
        view = memoryview(data)
        while view and not self.server.stopping.is_set():
            try:
                n = self.sock.send(view)
            except socket.timeout:
                continue
            except OSError:
                return False
            view = view[n:]
        return not view

    def no_delay(self) -> None:
        """Over TCP, sends each write at once (no Nagle), as its own segment."""
        if self.sock.family != socket.AF_UNIX:
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def drip(self, data: bytes, delay: float) -> bool:
        """Sends data one byte at a time, `delay` seconds after each byte."""
        self.no_delay()
        for i in range(len(data)):
            if not self.send(data[i : i + 1]) or not self.sleep(delay):
                return False
        return True

    def sleep(self, seconds: float) -> bool:
        """Sleeps unless the server stops first; False if it stopped."""
        return not self.server.stopping.wait(seconds)

    def hold(self) -> str | None:
        """Keeps the connection open, reading what arrives, until the peer
        closes it or the server stops; returns how the peer closed it ("FIN",
        "RST", or None)."""
        while self._recv(None):
            pass
        return self.peer_close

    def close(self) -> str | None:
        """Half-closes (FIN after what was sent), then reads until the peer
        closes: closing with unread bytes would send an RST instead of the
        FIN. Returns how the peer closed."""
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except OSError:
            return self.peer_close
        return self.hold()

    def reset(self) -> None:
        """Closes at once with SO_LINGER 0: over TCP the peer gets an RST.
        (A Unix socket has no RST: the peer sees ECONNRESET only if it left
        bytes unread here, else EOF.)"""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()

    def close_now(self) -> None:
        """Closes at once, whatever was sent or left unread."""
        self.sock.close()


# -- behaviours ------------------------------------------------------------------------


@dataclass(frozen=True)
class Behaviour:
    """What the server does with each accepted connection: `script(conn)`.
    Without a script the server never accepts; `backlog` is its listen
    backlog; `fill_backlog` fills the queue at start, so that connect() itself
    waits (TCP) or fails (Unix)."""

    name: str
    script: Callable[[Conn], None] | None = None
    backlog: int = 16
    fill_backlog: bool = False

    def __repr__(self) -> str:
        return self.name


def hang() -> Behaviour:
    """Reads the request, never answers."""

    def script(c: Conn) -> None:
        c.read_request()
        c.hold()

    return Behaviour("hang", script)


def close() -> Behaviour:
    """Reads the request, then closes (FIN) without a byte. The request is
    read first: closing with unread data would send an RST instead."""

    def script(c: Conn) -> None:
        c.read_request()
        c.close()

    return Behaviour("close", script)


def reset() -> Behaviour:
    """Reads the request, then resets the connection."""

    def script(c: Conn) -> None:
        c.read_request()
        c.reset()

    return Behaviour("reset", script)


def send(data: bytes) -> Behaviour:
    """Reads the request, sends data, then closes (FIN), reading on so that
    nothing the probe still sends turns the close into an RST."""

    def script(c: Conn) -> None:
        c.read_request()
        if c.send(data):
            c.close()

    return Behaviour(f"send({data[:40]!r})", script)


def send_then_hang(data: bytes) -> Behaviour:
    """Reads the request, sends data, keeps the connection open."""

    def script(c: Conn) -> None:
        c.read_request()
        if c.send(data):
            c.hold()

    return Behaviour(f"send_then_hang({data[:40]!r})", script)


def drip(data: bytes, delay: float) -> Behaviour:
    """Reads the request, sends data one byte every `delay` seconds, closes."""

    def script(c: Conn) -> None:
        c.read_request()
        if c.drip(data, delay):
            c.close()

    return Behaviour(f"drip({data[:40]!r}, {delay})", script)


def reset_mid_line(partial: bytes = b"HTTP/1.1 20", pause: float = 0.05) -> Behaviour:
    """Reads the request, sends part of a status line, then resets."""

    def script(c: Conn) -> None:
        c.read_request()
        c.no_delay()
        if c.send(partial) and c.sleep(pause):
            c.reset()

    return Behaviour(f"reset_mid_line({partial!r})", script)


def close_unread(data: bytes = b"", rst: bool = False) -> Behaviour:
    """Sends data (if any) and closes at once without reading the request:
    with rst, as a reset. Over a Unix socket the probe's send then fails
    (EPIPE) or its read sees ECONNRESET or EOF."""

    def script(c: Conn) -> None:
        if data:
            c.send(data)
        if rst:
            c.reset()
        else:
            c.close_now()

    return Behaviour(f"close_unread({data[:20]!r}, rst={rst})", script)


def record(reply: bytes | None = None) -> Behaviour:
    """Reads (and so records in `conn.received`) every byte until the peer
    closes; with `reply`, sends it once the request head is in."""

    def script(c: Conn) -> None:
        if reply is not None and b"\r\n\r\n" in c.read_request():
            c.send(reply)
        c.hold()

    return Behaviour(f"record({reply!r})", script)


def huge_body(status: bytes = b"HTTP/1.1 200 OK", megabytes: int = 64) -> Behaviour:
    """Reads the request, sends a chunked response of `megabytes` MiB
    (`server.body_bytes_sent` counts what went out) while the peer reads."""
    head = status + b"\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
    chunk = b"10000\r\n" + b"x" * 0x10000 + b"\r\n"

    def script(c: Conn) -> None:
        c.read_request()
        if not c.send(head):
            return
        sent = 0
        while sent < megabytes << 20:
            if not c.send(chunk):
                return  # the probe closed the connection: what we want
            sent += 0x10000
            c.server.body_bytes_sent = sent
        c.send(b"0\r\n\r\n")
        c.hold()

    return Behaviour(f"huge_body({status!r})", script)


def accept_never() -> Behaviour:
    return Behaviour("accept_never")


def full_backlog() -> Behaviour:
    return Behaviour("full_backlog", backlog=0, fill_backlog=True)


def as_behaviour(script) -> Behaviour:
    """A Behaviour as given; bytes mean send(bytes)."""
    if isinstance(script, Behaviour):
        return script
    if isinstance(script, (bytes, bytearray)):
        return send(bytes(script))
    raise TypeError(f"not a behaviour: {script!r}")


# -- the server ------------------------------------------------------------------------


class FaultServer:
    """One listening socket running one behaviour per connection: TCP on a
    loopback `host`, or, with `unix` (a path, or True for a fresh one) or
    `abstract` (a name, or True for a fresh one), a Unix stream socket."""

    # The connection class scripts get (h2faults has one that reads frames).
    conn_class = Conn
    # Errors that end a script silently: the peer went away. Others go to `notes`.
    quiet_errors: tuple = (OSError,)

    def __init__(
        self,
        behaviour=None,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        unix: str | os.PathLike | bool | None = None,
        abstract: str | bool = False,
        read_delay: float = 0.0,
    ):
        self.behaviour = as_behaviour(behaviour if behaviour is not None else hang())
        self.read_delay = read_delay
        self.requests: list[bytes] = []  # one entry per connection that sent anything
        self.first_recvs: list[bytes] = []  # the bytes of each connection's first recv
        self.connections = 0  # accepted connections, not counting sync() sentinels
        self.conns: list[Conn] = []
        self.notes: list[str] = []
        self.body_bytes_sent = 0
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._sentinels: set = set()
        self._sentinel_seen = threading.Condition(self.lock)
        self._fillers: list[socket.socket] = []
        self._dir: Path | None = None  # made here, removed at stop

        # Where: `address` is what connect() takes, `spec` how a target names it.
        self.host = self.port = self.path = None
        if abstract:
            self.family = socket.AF_UNIX
            name = abstract if isinstance(abstract, str) else abstract_name()
            self.address, self.spec = "\0" + name, "@" + name
        elif unix is not None and unix is not False:
            self.family = socket.AF_UNIX
            if unix is True:
                self._dir = short_dir()
                unix = self._dir / "fault.sock"
            self.path = Path(unix)
            self.address = self.spec = str(self.path)
        else:
            if not ipaddress.ip_address(host).is_loopback:
                raise ValueError(f"fault servers bind loopback only, not {host}")
            self.family = socket.AF_INET6 if ":" in host else socket.AF_INET
            self.host = host

        self.sock = socket.socket(self.family, socket.SOCK_STREAM)
        if self.family == socket.AF_UNIX:
            self.sock.bind(self.address)
        else:
            if self.family == socket.AF_INET6:
                self.sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            self.sock.bind((host, port))
            self.port = self.sock.getsockname()[1]
            self.address = (host, self.port)
            self.spec = f"[{host}]:{self.port}" if ":" in host else f"{host}:{self.port}"
        self.sock.listen(self.behaviour.backlog)
        if self.behaviour.fill_backlog:
            self._fill_backlog()
        if self.behaviour.script is not None:
            self._start(self._accept_loop)

    def url(self, scheme: str = "http", path: str = "") -> str:
        """This server as a probe target. `path` as it follows the port:
        url("http", "/healthz") is http://127.0.0.1:PORT/healthz over TCP and
        http+unix:SOCKET:/healthz over a Unix socket; url("tcp") is
        tcp://HOST:PORT or unix:SOCKET; url("grpc", "/svc") is
        grpc://HOST:PORT/svc or grpc+unix:SOCKET:svc."""
        if self.family != socket.AF_UNIX:
            return f"{scheme}://{self.spec}{path}"
        if scheme == "tcp":
            return f"unix:{self.spec}{path}"
        if scheme == "grpc":
            path = path.lstrip("/")
        return f"{scheme}+unix:{self.spec}" + (f":{path}" if path else "")

    # -- lifecycle ---------------------------------------------------------------

    def __enter__(self) -> "FaultServer":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        self.stopping.set()
        with self.lock:
            threads = list(self._threads)
        for t in threads:
            t.join(timeout=2)
        for s in [self.sock, *(c.sock for c in self.conns), *self._fillers]:
            try:
                s.close()
            except OSError:
                pass
        if self.path is not None:
            try:
                self.path.unlink()
            except OSError:
                pass
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)

    def _start(self, target, *args) -> None:
        t = threading.Thread(target=target, args=args, daemon=True)
        with self.lock:
            self._threads.append(t)
        t.start()

    def _fill_backlog(self) -> None:
        # listen(0) leaves room for one queued connection; take it, and start
        # one more, so that every further connect() waits (TCP: the kernel
        # drops the SYNs) or fails (Unix: EAGAIN).
        filler = socket.socket(self.family, socket.SOCK_STREAM)
        filler.settimeout(2)
        filler.connect(self.address)
        self._fillers.append(filler)
        extra = socket.socket(self.family, socket.SOCK_STREAM)
        extra.setblocking(False)
        try:
            extra.connect(self.address)
        except BlockingIOError:
            pass
        self._fillers.append(extra)

    # -- serving -------------------------------------------------------------------

    @staticmethod
    def _peer_key(peer):
        # TCP: (host, port) (IPv6 adds flow info and scope); Unix: the
        # client's bound name ("" when unbound, as the probe's is).
        return peer[:2] if isinstance(peer, tuple) else peer

    def _accept_loop(self) -> None:
        self.sock.settimeout(POLL)
        while not self.stopping.is_set():
            try:
                sock, peer = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with self.lock:
                key = self._peer_key(peer)
                if key and key in self._sentinels:
                    self._sentinels.discard(key)
                    self._sentinel_seen.notify_all()
                    sock.close()
                    continue
                conn = self.conn_class(sock, self)
                self.connections += 1
                self.conns.append(conn)
            self._start(self._serve, conn)

    def _serve(self, conn: Conn) -> None:
        try:
            self.behaviour.script(conn)
        except self.quiet_errors:
            pass
        except Exception:  # noqa: BLE001 - shown to the test through notes
            with self.lock:
                self.notes.append(f"{self.behaviour.name}: script error:\n{traceback.format_exc()}")
        finally:
            try:
                conn.sock.close()
            except OSError:
                pass
            conn.done.set()

    # -- for tests --------------------------------------------------------------------

    def sync(self, timeout: float = 2.0) -> None:
        """Returns once every connection made before the call was accepted."""
        if self.behaviour.script is None:
            raise RuntimeError("sync() needs a server that accepts")
        s = socket.socket(self.family, socket.SOCK_STREAM)
        # Bound, so that the accept loop knows it: TCP on a port of its own;
        # Unix on a unique abstract name the kernel picks ("" autobinds).
        s.bind("" if self.family == socket.AF_UNIX else (self.host, 0))
        me = self._peer_key(s.getsockname())
        with self.lock:
            self._sentinels.add(me)
        try:
            s.settimeout(timeout)
            s.connect(self.address)
            with self.lock:
                if not self._sentinel_seen.wait_for(lambda: me not in self._sentinels, timeout):
                    raise TimeoutError("fault server did not accept the sentinel")
        finally:
            s.close()

    def connection_count(self) -> int:
        self.sync()
        return self.connections

    def wait_connections(self, n: int = 1) -> bool:
        """Whether at least `n` connections were accepted, counting every
        connection made before the call."""
        return self.connection_count() >= n

    def wait_done(self, timeout: float = 3.0) -> bool:
        """Waits until every accepted connection's script has ended (most end
        when the peer closes its side); False if one is still running, or if
        there was no connection at all."""
        self.sync()
        deadline = time.monotonic() + timeout
        with self.lock:
            conns = list(self.conns)
        return bool(conns) and all(c.done.wait(max(0.0, deadline - time.monotonic())) for c in conns)

    def pending_connections(self, reset: bool = False) -> int:
        """For a server that never accepts: accepts what the kernel has
        queued and closes it (with reset, as a reset: an RST over TCP);
        returns how many there were."""
        self.sock.setblocking(False)
        n = 0
        while True:
            try:
                sock, _ = self.sock.accept()
            except BlockingIOError:
                return n
            if reset:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()
            n += 1


def free_port_pair() -> tuple[socket.socket, socket.socket]:
    """Binds (without listening) 127.0.0.1 and ::1 on one port number. While
    held, nothing else can take the port and connecting to it is refused."""
    for _ in range(50):
        v4 = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        v4.bind(("127.0.0.1", 0))
        port = v4.getsockname()[1]
        v6 = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        v6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        try:
            v6.bind(("::1", port))
        except OSError:
            v4.close()
            v6.close()
            continue
        return v4, v6
    raise RuntimeError("no port free on both 127.0.0.1 and ::1")


_BEHAVIOURS = {
    "hang": lambda a: hang(),
    "close": lambda a: close(),
    "reset": lambda a: reset(),
    "send": lambda a: send(a.data),
    "send_then_hang": lambda a: send_then_hang(a.data),
    "drip": lambda a: drip(a.data, a.delay),
    "huge_body": lambda a: huge_body(),
    "accept_never": lambda a: accept_never(),
    "full_backlog": lambda a: full_backlog(),
}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="loopback fault server for scratchprobe tests")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--behaviour", choices=sorted(_BEHAVIOURS), default="send")
    p.add_argument(
        "--data",
        default=r"HTTP/1.1 200 OK\r\n\r\n",
        type=lambda s: s.encode("latin-1").decode("unicode_escape").encode("latin-1"),
        help="bytes to send; backslash escapes (\\r, \\n, \\x00) are decoded",
    )
    p.add_argument("--delay", type=float, default=0.05)
    p.add_argument("--stdin", action="store_true", help="stop when stdin reaches EOF")
    a = p.parse_args(argv)
    srv = FaultServer(_BEHAVIOURS[a.behaviour](a), host=a.host, port=a.port)
    print(srv.port, flush=True)
    try:
        if a.stdin:
            sys.stdin.read()
        else:
            threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        srv.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
