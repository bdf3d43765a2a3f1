"""A scripted TCP server that misbehaves on purpose, for black-box tests of the probe.

It only ever binds loopback addresses (127.0.0.0/8 or ::1) on a port the
kernel picks (port 0), unless a caller passes an explicit port (used to put an
IPv4 and an IPv6 server on the same number). Each accepted connection is
handled in its own thread by one *behaviour*:

    hang()                  read the request, never answer
    close()                 read the request, then close (FIN) without a byte
    reset()                 read the request, then close with SO_LINGER 0 (RST)
    send(data)              read the request, send data, close
    drip(data, delay)       read the request, send data one byte at a time
    send_then_hang(data)    read the request, send data, keep the connection open
    huge_body(status)       status line + chunked headers, then megabytes of body
    accept_never()          listen with a backlog, never accept (the kernel
                            still completes the handshake)
    full_backlog()          listen(0) with the queue already full: connect()
                            itself hangs (SYNs are dropped)

Every behaviour except the last two records what it read (`requests`, and the
bytes of the first recv in `first_recvs`) and every accepted connection is
counted (`connections`). `sync()` makes the count exact: it connects a
sentinel and waits until the server accepted it, so every connection made
before the call has been accepted (the accept queue is FIFO).

From a test:

    with FaultServer(send(b"HTTP/1.1 200 OK\\r\\n\\r\\n")) as srv:
        ... srv.port ...

As a script (prints the port on one line, serves until killed or stdin closes
when --stdin is given):

    python3 faultserver.py --host 127.0.0.1 --behaviour send --data 'HTTP/1.1 200 OK\\r\\n\\r\\n'
"""

from __future__ import annotations

import argparse
import ipaddress
import socket
import struct
import sys
import threading
import time

POLL = 0.02  # seconds between checks of the stop flag in blocking loops
REQUEST_READ_TIMEOUT = 3.0  # how long a behaviour waits for a full request


def _is_loopback(host: str) -> bool:
    return ipaddress.ip_address(host).is_loopback


class Behaviour:
    """What the server does with one accepted connection."""

    name = "behaviour"
    accepts = True  # False: the listening socket never accepts
    backlog = 16

    def handle(self, conn: socket.socket, server: "FaultServer") -> None:
        raise NotImplementedError

    def __repr__(self) -> str:
        return self.name


def _sleep(server: "FaultServer", seconds: float) -> bool:
    """Sleeps unless the server stops first; returns False if it stopped."""
    return not server.stopping.wait(seconds)


def _hold(conn: socket.socket, server: "FaultServer") -> None:
    """Keeps the connection open, draining what arrives, until the peer
    closes it or the server stops."""
    conn.settimeout(POLL)
    while not server.stopping.is_set():
        try:
            data = conn.recv(65536)
        except socket.timeout:
            continue
        except OSError:
            return
        if not data:
            return


def _send_all(conn: socket.socket, server: "FaultServer", data: bytes) -> bool:
    """Sends data, giving up when the peer goes away or the server stops."""
    conn.settimeout(POLL)
    view = memoryview(data)
    while view and not server.stopping.is_set():
        try:
            n = conn.send(view)
        except socket.timeout:
            continue
        except OSError:
            return False
        view = view[n:]
    return not view


class _Hang(Behaviour):
    name = "hang"

    def handle(self, conn, server):
        server.read_request(conn)
        _hold(conn, server)


class _Close(Behaviour):
    name = "close"

    def handle(self, conn, server):
        # The request is read first: closing with unread data would send an
        # RST instead of a FIN.
        server.read_request(conn)
        conn.shutdown(socket.SHUT_WR)
        _hold(conn, server)


class _Reset(Behaviour):
    name = "reset"

    def handle(self, conn, server):
        server.read_request(conn)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()


class _Send(Behaviour):
    def __init__(self, data: bytes, hang: bool = False):
        self.data = data
        self.hang = hang
        self.name = f"{'send_then_hang' if hang else 'send'}({data[:40]!r})"

    def handle(self, conn, server):
        server.read_request(conn)
        if not _send_all(conn, server, self.data):
            return
        if not self.hang:
            # FIN after the data; keep reading so that nothing the probe
            # still sends turns our close into an RST.
            try:
                conn.shutdown(socket.SHUT_WR)
            except OSError:
                return
        _hold(conn, server)


class _Drip(Behaviour):
    def __init__(self, data: bytes, delay: float):
        self.data = data
        self.delay = delay
        self.name = f"drip({data[:40]!r}, {delay})"

    def handle(self, conn, server):
        server.read_request(conn)
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for i in range(len(self.data)):
            try:
                conn.sendall(self.data[i : i + 1])
            except OSError:
                return
            if not _sleep(server, self.delay):
                return
        try:
            conn.shutdown(socket.SHUT_WR)
        except OSError:
            return
        _hold(conn, server)


class _HugeBody(Behaviour):
    def __init__(self, status: bytes, megabytes: int):
        self.status = status
        self.megabytes = megabytes
        self.name = f"huge_body({status!r})"

    def handle(self, conn, server):
        server.read_request(conn)
        head = self.status + b"\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
        chunk = b"10000\r\n" + b"x" * 0x10000 + b"\r\n"
        if not _send_all(conn, server, head):
            return
        sent = 0
        while sent < self.megabytes << 20:
            if not _send_all(conn, server, chunk):
                return  # the probe closed the connection: what we want
            sent += 0x10000
            server.body_bytes_sent = sent
        _send_all(conn, server, b"0\r\n\r\n")
        _hold(conn, server)


class _AcceptNever(Behaviour):
    name = "accept_never"
    accepts = False
    backlog = 16


class _FullBacklog(Behaviour):
    name = "full_backlog"
    accepts = False
    backlog = 0


def hang() -> Behaviour:
    return _Hang()


def close() -> Behaviour:
    return _Close()


def reset() -> Behaviour:
    return _Reset()


def send(data: bytes) -> Behaviour:
    return _Send(data)


def send_then_hang(data: bytes) -> Behaviour:
    return _Send(data, hang=True)


def drip(data: bytes, delay: float) -> Behaviour:
    return _Drip(data, delay)


def huge_body(status: bytes = b"HTTP/1.1 200 OK", megabytes: int = 64) -> Behaviour:
    return _HugeBody(status, megabytes)


def accept_never() -> Behaviour:
    return _AcceptNever()


def full_backlog() -> Behaviour:
    return _FullBacklog()


def as_behaviour(script) -> Behaviour:
    if isinstance(script, Behaviour):
        return script
    if isinstance(script, (bytes, bytearray)):
        return send(bytes(script))
    raise TypeError(f"not a behaviour: {script!r}")


class FaultServer:
    """One listening socket on loopback running one behaviour per connection."""

    def __init__(self, behaviour=None, host: str = "127.0.0.1", port: int = 0, read_delay: float = 0.0):
        if not _is_loopback(host):
            raise ValueError(f"fault servers bind loopback only, not {host}")
        self.behaviour = as_behaviour(behaviour if behaviour is not None else hang())
        self.host = host
        self.family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.read_delay = read_delay
        self.requests: list[bytes] = []  # one entry per connection that sent anything
        self.first_recvs: list[bytes] = []  # the bytes of each connection's first recv
        self.connections = 0  # accepted connections, not counting sync() sentinels
        self.body_bytes_sent = 0
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._conns: list[socket.socket] = []
        self._sentinels: set[tuple] = set()
        self._sentinel_seen = threading.Condition(self._lock)
        self._fillers: list[socket.socket] = []

        self.sock = socket.socket(self.family, socket.SOCK_STREAM)
        if self.family == socket.AF_INET6:
            self.sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        self.sock.bind((host, port))
        self.port = self.sock.getsockname()[1]
        self.sock.listen(self.behaviour.backlog)
        if isinstance(self.behaviour, _FullBacklog):
            self._fill_backlog()
        if self.behaviour.accepts:
            self._start(self._accept_loop)

    # -- lifecycle ---------------------------------------------------------

    def __enter__(self) -> "FaultServer":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        self.stopping.set()
        for t in list(self._threads):
            t.join(timeout=2)
        for s in [self.sock, *self._conns, *self._fillers]:
            try:
                s.close()
            except OSError:
                pass

    def _start(self, target, *args) -> None:
        t = threading.Thread(target=target, args=args, daemon=True)
        with self._lock:
            self._threads.append(t)
        t.start()

    def _fill_backlog(self) -> None:
        # listen(0) leaves room for one established connection; take it so
        # that the kernel drops every further SYN.
        filler = socket.socket(self.family, socket.SOCK_STREAM)
        filler.settimeout(2)
        filler.connect((self.host, self.port))
        self._fillers.append(filler)
        probe = socket.socket(self.family, socket.SOCK_STREAM)
        probe.setblocking(False)
        try:
            probe.connect((self.host, self.port))
        except BlockingIOError:
            pass
        self._fillers.append(probe)

    # -- serving -----------------------------------------------------------

    def _accept_loop(self) -> None:
        self.sock.settimeout(POLL)
        while not self.stopping.is_set():
            try:
                conn, peer = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with self._lock:
                if peer[:2] in self._sentinels:
                    self._sentinels.discard(peer[:2])
                    self._sentinel_seen.notify_all()
                    conn.close()
                    continue
                self.connections += 1
                self._conns.append(conn)
            self._start(self._serve, conn)

    def _serve(self, conn: socket.socket) -> None:
        try:
            self.behaviour.handle(conn, self)
        except OSError:
            pass
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def read_request(self, conn: socket.socket) -> bytes:
        """Reads until the end of the request head, EOF, or a timeout, and
        records it. With read_delay, waits first, then records what the first
        recv returns on its own."""
        if self.read_delay and not _sleep(self, self.read_delay):
            return b""
        conn.settimeout(POLL)
        buf = b""
        first = True
        deadline = time.monotonic() + REQUEST_READ_TIMEOUT
        while b"\r\n\r\n" not in buf and time.monotonic() < deadline and not self.stopping.is_set():
            try:
                data = conn.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                break
            if first:
                with self._lock:
                    self.first_recvs.append(data)
                first = False
            if not data:
                break
            buf += data
        if buf:
            with self._lock:
                self.requests.append(buf)
        return buf

    # -- for tests -----------------------------------------------------------

    def sync(self, timeout: float = 2.0) -> None:
        """Returns once every connection made before the call was accepted."""
        if not self.behaviour.accepts:
            raise RuntimeError("sync() needs a server that accepts")
        s = socket.socket(self.family, socket.SOCK_STREAM)
        s.bind((self.host, 0))
        me = s.getsockname()[:2]
        with self._lock:
            self._sentinels.add(me)
        try:
            s.settimeout(timeout)
            s.connect((self.host, self.port))
            with self._lock:
                if not self._sentinel_seen.wait_for(lambda: me not in self._sentinels, timeout):
                    raise TimeoutError("fault server did not accept the sentinel")
        finally:
            s.close()

    def pending_connections(self) -> int:
        """For a server that never accepts: accepts (and closes) what the
        kernel has queued, and returns how many there were."""
        self.sock.setblocking(False)
        n = 0
        while True:
            try:
                conn, _ = self.sock.accept()
            except BlockingIOError:
                return n
            conn.close()
            n += 1

    def connection_count(self) -> int:
        self.sync()
        return self.connections


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
