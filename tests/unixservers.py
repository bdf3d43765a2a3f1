"""Real servers on Unix sockets, for the black-box tests of local targets.

- `UnixHTTPServer`: Python's `http.server` request handler on a
  `socketserver.UnixStreamServer` (threads), on a path or an abstract name.
  /healthz 200, /down 503, /moved 302, anything else 404; every request is
  recorded (request line and headers).
- `nginx_unix(...)`: Debian's nginx listening on `unix:DIR/nginx.sock`.

Scripted servers that misbehave, over Unix sockets as over TCP, are in
faultserver.py. Every path lives in a short directory under /tmp (a sun_path
holds 107 bytes; pytest's tmp_path can be longer). Every server is stopped on
exit.
"""

from __future__ import annotations

import contextlib
import http.server
import os
import shutil
import signal
import socket
import socketserver
import subprocess
import threading
import time
from pathlib import Path

from faultserver import POLL, abstract_name, short_dir


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
