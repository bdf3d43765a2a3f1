"""Servers on Unix sockets (and a few raw TCP helpers) for the black-box tests
of local targets and of the fault matrix.

- `UnixHTTPServer`: Python's `http.server` request handler on a
  `socketserver.UnixStreamServer` (threads), on a path or an abstract name.
  /healthz 200, /down 503, /moved 302, anything else 404; every request is
  recorded (request line and headers).
- `UnixFaultServer`: one listening Unix stream socket running a function per
  accepted connection (send, close at once, hang, drip, reset).
- `RecordingTCPServer`: a TCP server that records every byte a connection sends
  until the peer closes it (the fault server only keeps the request head).
- `nginx_unix(...)`: Debian's nginx listening on `unix:DIR/nginx.sock`.

Every path lives in a short directory under /tmp (a sun_path holds 107
bytes; pytest's tmp_path can be longer). Every server is stopped on exit.
"""

from __future__ import annotations

import contextlib
import http.server
import os
import shutil
import signal
import socket
import socketserver
import struct
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path

POLL = 0.02


def short_dir(prefix: str = "sp-") -> Path:
    """A fresh directory with a short path, for socket files."""
    return Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))


def abstract_name(prefix: str = "scratchprobe-test") -> str:
    """A unique abstract socket name (without the leading NUL / @)."""
    return f"{prefix}-{os.getpid()}-{uuid.uuid4().hex[:12]}"


def _address(path: str | os.PathLike | None, abstract: str | None):
    if abstract is not None:
        return "\0" + abstract
    return str(path)


# -- Python http.server on a Unix socket ------------------------------------


class _Handler(http.server.BaseHTTPRequestHandler):
    server_version = "unixhttp/1"

    # A Unix peer has no (host, port): the default log line would fail.
    def address_string(self) -> str:
        return "unix"

    def log_message(self, fmt, *args) -> None:
        pass

    def _answer(self, body: bool) -> None:
        srv: UnixHTTPServer = self.server.owner  # type: ignore[attr-defined]
        with srv.lock:
            srv.requests.append(
                {
                    "method": self.command,
                    "path": self.path,
                    "version": self.request_version,
                    "headers": list(self.headers.items()),
                    "raw": self.raw_requestline,
                }
            )
        path = self.path.split("?", 1)[0]
        if path == "/healthz":
            code, text = 200, b"ok\n"
        elif path == "/down":
            code, text = 503, b"down\n"
        elif path == "/moved":
            code, text = 302, b""
        else:
            code, text = 404, b"not found\n"
        self.send_response(code)
        if code == 302:
            self.send_header("Location", "http://example.invalid/")
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(text)))
        self.end_headers()
        if body:
            self.wfile.write(text)

    def do_GET(self):
        self._answer(True)

    def do_HEAD(self):
        self._answer(False)

    def do_POST(self):
        self._answer(True)

    def do_DELETE(self):
        self._answer(True)


class _ThreadingUnixHTTP(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    allow_reuse_address = False


class UnixHTTPServer:
    """http.server's handler on a Unix socket, served by a thread.

    with UnixHTTPServer() as srv:            # socket file in a fresh /tmp dir
        srv.target                           # "http+unix:/tmp/sp-xxx/http.sock"
    with UnixHTTPServer(abstract=True) as srv:
        srv.target                           # "http+unix:@name"
    """

    def __init__(self, path: str | os.PathLike | None = None, abstract: bool | str = False):
        self.dir = None
        if abstract:
            self.name = abstract if isinstance(abstract, str) else abstract_name()
            self.path = None
            self.spec = "@" + self.name
            addr = "\0" + self.name
        else:
            if path is None:
                self.dir = short_dir()
                path = self.dir / "http.sock"
            self.path = Path(path)
            self.name = None
            self.spec = str(self.path)
            addr = str(self.path)
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        self.httpd = _ThreadingUnixHTTP(addr, _Handler)
        self.httpd.owner = self  # type: ignore[attr-defined]
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": POLL}, daemon=True)
        self.thread.start()

    @property
    def target(self) -> str:
        return f"http+unix:{self.spec}"

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=2)
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)

    def wait_requests(self, n: int, timeout: float = 2.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.requests) >= n:
                    return list(self.requests)
            time.sleep(0.01)
        with self.lock:
            return list(self.requests)


# -- raw fault behaviours on a Unix socket ---------------------------------------


def _read_head(conn: socket.socket, timeout: float = 3.0) -> bytes:
    conn.settimeout(POLL)
    buf = b""
    deadline = time.monotonic() + timeout
    while b"\r\n\r\n" not in buf and time.monotonic() < deadline:
        try:
            data = conn.recv(65536)
        except socket.timeout:
            continue
        except OSError:
            break
        if not data:
            break
        buf += data
    return buf


def _hold(conn: socket.socket, stopping: threading.Event) -> None:
    conn.settimeout(POLL)
    while not stopping.is_set():
        try:
            data = conn.recv(65536)
        except socket.timeout:
            continue
        except OSError:
            return
        if not data:
            return


def u_send(data: bytes, hang: bool = False):
    """Reads the request, sends data, then half-closes (or holds when hang)."""

    def handle(conn, srv):
        srv.record(_read_head(conn))
        try:
            conn.sendall(data)
            if not hang:
                conn.shutdown(socket.SHUT_WR)
        except OSError:
            return
        _hold(conn, srv.stopping)

    return handle


def u_drip(data: bytes, delay: float):
    def handle(conn, srv):
        srv.record(_read_head(conn))
        for i in range(len(data)):
            try:
                conn.sendall(data[i : i + 1])
            except OSError:
                return
            if srv.stopping.wait(delay):
                return
        try:
            conn.shutdown(socket.SHUT_WR)
        except OSError:
            return
        _hold(conn, srv.stopping)

    return handle


def u_hang():
    def handle(conn, srv):
        srv.record(_read_head(conn))
        _hold(conn, srv.stopping)

    return handle


def u_close_at_once():
    """Closes every connection as soon as it is accepted, reading nothing."""

    def handle(conn, srv):
        conn.close()

    return handle


def u_close_unread(data: bytes = b""):
    """Sends data (optional) and closes without reading the request: on a Unix
    socket the probe's next read sees ECONNRESET or EOF."""

    def handle(conn, srv):
        try:
            if data:
                conn.sendall(data)
        except OSError:
            pass
        conn.close()

    return handle


class UnixFaultServer:
    """A listening Unix stream socket; `behaviour(conn, server)` runs in a
    thread per accepted connection. accept=False: never accepts."""

    def __init__(self, behaviour=None, path=None, abstract: bool = False, accept: bool = True, backlog: int = 16):
        self.dir = None
        if abstract:
            self.name = abstract_name()
            self.spec = "@" + self.name
            addr = "\0" + self.name
        else:
            if path is None:
                self.dir = short_dir()
                path = self.dir / "fault.sock"
            self.path = Path(path)
            self.spec = str(self.path)
            addr = str(self.path)
        self.behaviour = behaviour or u_hang()
        self.stopping = threading.Event()
        self.requests: list[bytes] = []
        self.connections = 0
        self.lock = threading.Lock()
        self.threads: list[threading.Thread] = []
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(addr)
        self.sock.listen(backlog)
        if accept:
            self._start(self._loop)

    def record(self, data: bytes) -> None:
        if data:
            with self.lock:
                self.requests.append(data)

    def _start(self, fn, *args):
        t = threading.Thread(target=fn, args=args, daemon=True)
        self.threads.append(t)
        t.start()

    def _loop(self):
        self.sock.settimeout(POLL)
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with self.lock:
                self.connections += 1
            self._start(self._serve, conn)

    def _serve(self, conn):
        try:
            self.behaviour(conn, self)
        except OSError:
            pass
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def wait_connections(self, n: int = 1, timeout: float = 2.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.connections >= n:
                return True
            time.sleep(0.005)
        return self.connections >= n

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        self.stopping.set()
        for t in self.threads:
            t.join(timeout=2)
        self.sock.close()
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)


# -- a TCP server that records everything ------------------------------------------


class RecordingTCPServer:
    """Accepts on loopback; each connection: optional reply after the request
    head, then records every byte until the peer closes or the server stops."""

    def __init__(self, reply: bytes | None = None, host: str = "127.0.0.1"):
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(fam, socket.SOCK_STREAM)
        self.sock.bind((host, 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.reply = reply
        self.stopping = threading.Event()
        self.received: list[bytearray] = []
        self.closed: list[threading.Event] = []
        self.lock = threading.Lock()
        self.threads: list[threading.Thread] = []
        self._start(self._loop)

    def _start(self, fn, *args):
        t = threading.Thread(target=fn, args=args, daemon=True)
        self.threads.append(t)
        t.start()

    def _loop(self):
        self.sock.settimeout(POLL)
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            buf, done = bytearray(), threading.Event()
            with self.lock:
                self.received.append(buf)
                self.closed.append(done)
            self._start(self._serve, conn, buf, done)

    def _serve(self, conn, buf, done):
        conn.settimeout(POLL)
        replied = self.reply is None
        try:
            while not self.stopping.is_set():
                if not replied and b"\r\n\r\n" in buf:
                    conn.sendall(self.reply)
                    replied = True
                try:
                    data = conn.recv(65536)
                except socket.timeout:
                    continue
                if not data:
                    break
                with self.lock:
                    buf += data
        except OSError:
            pass
        finally:
            conn.close()
            done.set()

    def wait_closed(self, timeout: float = 2.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if self.closed and all(e.is_set() for e in self.closed):
                    return True
            time.sleep(0.01)
        return False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        self.stopping.set()
        for t in self.threads:
            t.join(timeout=2)
        self.sock.close()


def tcp_reset_mid_line(partial: bytes = b"HTTP/1.1 20", pause: float = 0.05):
    """A faultserver-compatible behaviour: reads the request, sends part of a
    status line, then resets the connection (SO_LINGER 0)."""
    import faultserver

    class _ResetMidLine(faultserver.Behaviour):
        name = f"reset_mid_line({partial!r})"

        def handle(self, conn, server):
            server.read_request(conn)
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn.sendall(partial)
            if server.stopping.wait(pause):
                return
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.close()

    return _ResetMidLine()


def tcp_close_unread(linger0: bool):
    """A faultserver-compatible behaviour: closes the accepted connection at
    once without reading the request; with linger0 as a reset (RST)."""
    import faultserver

    class _CloseUnread(faultserver.Behaviour):
        name = f"close_unread(rst={linger0})"

        def handle(self, conn, server):
            if linger0:
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.close()

    return _CloseUnread()


# -- nginx on a Unix socket ------------------------------------------------------



class NginxUnix:
    def __init__(self, proc: subprocess.Popen, d: Path):
        self.proc = proc
        self.dir = d
        self.sock = d / "nginx.sock"
        self.log = d / "access.log"

    def _size(self) -> int:
        return self.log.stat().st_size if self.log.exists() else 0

    def log_mark(self, quiet: float = 0.05) -> int:
        """The log's size once nothing was added for `quiet` seconds (nginx
        logs a request after the probe has gone)."""
        size = self._size()
        deadline = time.monotonic() + 1
        while time.monotonic() < deadline:
            time.sleep(quiet)
            now = self._size()
            if now == size:
                break
            size = now
        return size

    def log_since(self, mark: int, settle: float = 0.05) -> list[str]:
        time.sleep(settle)
        if not self.log.exists():
            return []
        with open(self.log, "rb") as f:
            f.seek(mark)
            return f.read().decode("utf-8", "replace").splitlines()


def _unix_connectable(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        try:
            s.connect(str(path))
            return True
        except OSError:
            return False


@contextlib.contextmanager
def nginx_unix(exe: str | None = None):
    """Debian's nginx (single process, not a daemon) on unix:DIR/nginx.sock,
    with its own prefix and config in DIR; stopped by its PID."""
    exe = exe or shutil.which("nginx") or "/usr/sbin/nginx"
    if not os.path.exists(exe):
        raise FileNotFoundError("nginx is not installed (run build-scripts/setup)")
    d = short_dir("spng-")
    (d / "tmp").mkdir()
    from conftest import nginx_conf

    log = '$request $status "$http_user_agent" "$http_host"'
    (d / "nginx.conf").write_text(nginx_conf(d, f"listen unix:{d}/nginx.sock;", log))
    with open(d / "stderr.txt", "wb") as errf:
        proc = subprocess.Popen(
            [exe, "-p", str(d), "-c", str(d / "nginx.conf"), "-e", str(d / "error.log")],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=errf,
        )
    try:
        deadline = time.monotonic() + 5
        while not _unix_connectable(d / "nginx.sock"):
            if proc.poll() is not None or time.monotonic() > deadline:
                err = (d / "stderr.txt").read_text(errors="replace")
                log = (d / "error.log").read_text(errors="replace") if (d / "error.log").exists() else ""
                raise RuntimeError(f"nginx did not start on {d}/nginx.sock: {err} {log}")
            time.sleep(0.02)
        yield NginxUnix(proc, d)
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()
        shutil.rmtree(d, ignore_errors=True)
