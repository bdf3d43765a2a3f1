"""Fixtures for black-box tests of the scratchprobe binary.

The binary is taken from $SCRATCHPROBE (default: the release build for
x86_64-unknown-linux-musl). It runs with a clean environment: only the
variables a test passes. Every server a test starts listens on loopback on a
port the kernel picked, and is stopped by its PID at teardown.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
sys.path.insert(0, str(TESTS))

import faultserver  # noqa: E402

BIN = Path(
    os.environ.get("SCRATCHPROBE")
    or ROOT / "target/x86_64-unknown-linux-musl/release/scratchprobe"
).resolve()

# A command that runs BIN, such as `qemu-aarch64-static` for the aarch64
# build (build-scripts/test runs the HTTP, CLI, loopback and local-target
# tests so): run_probe and traced_probe put it in front of the binary.
# qemu-user has no seccomp(2), so under it `-v` adds a "running unfiltered"
# line (tests/test_aarch64.py checks it): run_probe drops that line. Tests
# marked `native` run the binary by other means and are left out.
# (Resolved here: the probe runs with an empty environment, no PATH.)
PREFIX = [shutil.which(w) or w for w in os.environ.get("SCRATCHPROBE_PREFIX", "").split()]
_UNFILTERED = re.compile(r"^scratchprobe: running unfiltered: .*\n", re.M)


def pytest_collection_modifyitems(config, items):
    if not PREFIX:
        return
    native = [item for item in items if item.get_closest_marker("native")]
    if native:
        config.hook.pytest_deselected(items=native)
        items[:] = [item for item in items if not item.get_closest_marker("native")]

VERSION = "0.1.0"
MAX_LINE = 200  # the contract: every output line under 200 bytes


def is_root() -> bool:
    return os.geteuid() == 0


# -- running the probe ------------------------------------------------------


@dataclass
class Result:
    args: list
    rc: int
    out: str
    err: str
    elapsed: float
    trace: str = ""  # strace output, when traced
    extra: dict = field(default_factory=dict)

    @property
    def lines(self) -> list[str]:
        """stderr lines, without their newline."""
        return self.err.splitlines()

    @property
    def out_lines(self) -> list[str]:
        return self.out.splitlines()

    def syscalls(self, name: str) -> list[str]:
        """The traced calls of one syscall, as strace printed them."""
        return [l for l in self.trace.splitlines() if re.search(rf"(^|\s){name}\(", l)]

    def __str__(self) -> str:
        return (
            f"args={self.args!r} rc={self.rc} elapsed={self.elapsed:.3f}s\n"
            f"stdout={self.out!r}\nstderr={self.err!r}"
            + (f"\ntrace:\n{self.trace}" if self.trace else "")
        )


def _require_binary() -> None:
    if not BIN.is_file():
        pytest.fail(f"probe binary not built: {BIN} (run ./build-scripts/test or set SCRATCHPROBE)")


def check_contract(r: Result) -> None:
    """What holds for every run: exit 0 or 1, never a signal; stderr lines are
    `scratchprobe: ...` and under 200 bytes; nothing on stderr on success."""
    assert r.rc in (0, 1), f"exit status must be 0 or 1 (negative = killed by a signal)\n{r}"
    for line in r.err.splitlines():
        assert line.startswith("scratchprobe: "), f"stderr line without prefix: {line!r}\n{r}"
        assert len(line.encode()) + 1 < MAX_LINE, f"stderr line of {len(line)} bytes\n{r}"
    for line in r.out.splitlines():
        assert len(line.encode()) + 1 < MAX_LINE, f"stdout line of {len(line)} bytes\n{r}"
    if r.rc == 0:
        assert r.err == "", f"stderr must be empty on success\n{r}"
    if r.err:
        assert r.err.endswith("\n"), f"stderr must end with a newline\n{r}"


def run_probe(
    *args,
    env=None,
    timeout: float = 10,
    prefix: list | None = None,
    binary: str | os.PathLike | None = None,
    check: bool = True,
    cwd=None,
) -> Result:
    """Runs the probe (optionally under a wrapper command `prefix`) with a
    clean environment holding only `env`."""
    _require_binary()
    args = [str(a) for a in args]
    cmd = [*(prefix if prefix is not None else PREFIX), str(binary or BIN), *args]
    start = time.monotonic()
    p = subprocess.run(
        cmd,
        env=dict(env or {}),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=timeout,
        cwd=cwd,
    )
    elapsed = time.monotonic() - start
    r = Result(
        args=args,
        rc=p.returncode,
        out=p.stdout.decode("utf-8", "replace"),
        err=p.stderr.decode("utf-8", "replace"),
        elapsed=elapsed,
    )
    if PREFIX and binary is None:
        r.out = _UNFILTERED.sub("", r.out)
        r.err = _UNFILTERED.sub("", r.err)
    if check:
        check_contract(r)
    return r


@pytest.fixture
def probe():
    """probe(*args, env=None, timeout=10) -> Result(.rc .out .err .elapsed .lines)"""
    return run_probe


# -- shared assertions ---------------------------------------------------------


def line(target: str, reason: str) -> str:
    """The line printed for one target: its failure, or with -v its result."""
    return f"scratchprobe: {target}: {reason}"


def assert_pass(r, *verbose_lines, server=None, requests=None, connections=None):
    """Exit 0, nothing on stderr, and on stdout nothing or, for a run with
    -v, exactly `verbose_lines` (`line(target, "HTTP 200")`, ...). With a
    fault `server`: it got `requests` requests in all (default: at least
    one), or `connections` connections."""
    assert (r.rc, r.err) == (0, ""), str(r)
    assert r.out_lines == list(verbose_lines), str(r)
    if server is not None:
        server.sync()
        if connections is not None:
            assert server.connections == connections, f"{server.connections} connections\n{r}"
        elif requests is None:
            assert server.requests, f"the server got no request\n{r}"
        else:
            assert len(server.requests) == requests, f"{server.requests}\n{r}"


def assert_fail(r, target: str, reason: str):
    """Exit 1, exactly one line: `scratchprobe: TARGET: REASON`."""
    assert r.rc == 1, str(r)
    assert r.lines == [line(target, reason)], str(r)
    assert r.out == "", str(r)


def fail_reason(r, target: str) -> str:
    """Exit 1, exactly one line, for `target`: returns its reason (for the
    reasons whose wording the contract leaves open)."""
    assert r.rc == 1 and r.out == "", str(r)
    prefix = line(target, "")
    assert len(r.lines) == 1 and r.lines[0].startswith(prefix), str(r)
    return r.lines[0][len(prefix) :]


def assert_logged(server, mark: int, *starts: str):
    """The server logged one line per expected request, starting as given."""
    log = server.log_since(mark)
    assert len(log) == len(starts) and all(l.startswith(s) for l, s in zip(log, starts)), log


# -- strace and network namespaces -------------------------------------------

STRACE = shutil.which("strace") or "/usr/bin/strace"
UNSHARE = shutil.which("unshare") or "/usr/bin/unshare"
IP = shutil.which("ip") or "/usr/sbin/ip"


_unshare_prefix_cache: list | None = None


def unshare_prefix() -> list:
    """The command prefix that runs a program in a new, empty network
    namespace (no interface up, not even loopback): `unshare -n` as root,
    `unshare -rn` (a user namespace) otherwise. Skips the test if neither works."""
    global _unshare_prefix_cache
    if _unshare_prefix_cache is None:
        for prefix in ([UNSHARE, "-n"], [UNSHARE, "-rn"]):
            if prefix[1] == "-n" and not is_root():
                continue
            ok = subprocess.run([*prefix, "true"], capture_output=True).returncode == 0
            if ok:
                _unshare_prefix_cache = prefix
                break
        else:
            _unshare_prefix_cache = []
    if not _unshare_prefix_cache:
        pytest.skip("cannot create a network namespace (needs root or user namespaces)")
    return _unshare_prefix_cache


def traced_probe(*args, env=None, isolate=False, trace="socket,connect", timeout=15, check=True) -> Result:
    """Runs the probe under `strace -f -e trace=...`. With isolate=True it runs
    in a fresh network namespace with no interface up, so that even a broken
    probe cannot send a packet anywhere: used for every target that must be
    refused."""
    if not os.path.exists(STRACE):
        pytest.skip("strace is not installed")
    prefix = unshare_prefix() if isolate else []
    with tempfile.NamedTemporaryFile("r", prefix="strace-", suffix=".txt") as f:
        r = run_probe(
            *args,
            env=env,
            timeout=timeout,
            check=check,
            prefix=[*prefix, STRACE, "-f", "-qq", "-o", f.name, "-e", f"trace=execve,{trace}", *PREFIX],
        )
        r.trace = f.read()
    # execve is traced too, so that an empty trace cannot pass for "no socket"
    assert re.search(r"execve\(.*= 0", r.trace), f"strace did not trace the probe\n{r}"
    return r


@pytest.fixture
def traced():
    return traced_probe


_V4 = re.compile(r'inet_addr\("([0-9.]+)"\)')
_V6 = re.compile(r'inet_pton\(AF_INET6, "([^"]+)"')


def connect_addresses(r: Result) -> list[str]:
    """The address of every traced connect(); fails on one it cannot read."""
    addrs = []
    for line in r.syscalls("connect"):
        m = _V4.search(line) or _V6.search(line)
        assert m, f"connect() to an address the test cannot read: {line}\n{r}"
        addrs.append(m.group(1))
    return addrs


def is_loopback_addr(a: str) -> bool:
    import ipaddress

    ip = ipaddress.ip_address(a)
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_loopback


# -- fault servers -------------------------------------------------------------


class ServerPort(int):
    """The port number of a running fault server; the server's attributes
    (`requests`, `first_recvs`, `connections`, `sync()`, `connection_count()`)
    are reachable through it."""

    def __new__(cls, server):
        obj = int.__new__(cls, server.port)
        obj.server = server
        return obj

    def __getattr__(self, name):
        return getattr(self.server, name)


@contextlib.contextmanager
def fault_server_cm(behaviour=None, host="127.0.0.1", port=0, read_delay=0.0):
    with faultserver.FaultServer(behaviour, host=host, port=port, read_delay=read_delay) as srv:
        yield ServerPort(srv)


@contextlib.contextmanager
def dual_fault_server_cm(behaviour=None, read_delay=0.0):
    """The same behaviour on 127.0.0.1 and ::1 on one port number; yields
    (port, v4 server, v6 server)."""
    for _ in range(50):
        v4 = faultserver.FaultServer(behaviour, host="127.0.0.1", read_delay=read_delay)
        try:
            v6 = faultserver.FaultServer(behaviour, host="::1", port=v4.port, read_delay=read_delay)
        except OSError:
            v4.stop()
            continue
        try:
            yield ServerPort(v4), v4, v6
        finally:
            v4.stop()
            v6.stop()
        return
    raise RuntimeError("no port free on both 127.0.0.1 and ::1")


@pytest.fixture
def fault_server():
    """with fault_server(b"HTTP/1.1 200 OK\\r\\n\\r\\n") as port: ..."""
    return fault_server_cm


@pytest.fixture
def dual_fault_server():
    return dual_fault_server_cm


@pytest.fixture
def closed_port():
    """A port number bound (not listening) on both 127.0.0.1 and ::1 for the
    test's duration: connecting to it is refused, and nobody else can take it."""
    v4, v6 = faultserver.free_port_pair()
    try:
        yield v4.getsockname()[1]
    finally:
        v4.close()
        v6.close()


# -- real servers ---------------------------------------------------------------


def _free_port(hosts=("127.0.0.1",)) -> int:
    """A port number free on all hosts right now (bound, then released)."""
    if set(hosts) == {"127.0.0.1", "::1"}:
        v4, v6 = faultserver.free_port_pair()
        port = v4.getsockname()[1]
        v4.close()
        v6.close()
        return port
    with socket.socket(socket.AF_INET6 if ":" in hosts[0] else socket.AF_INET) as s:
        s.bind((hosts[0], 0))
        return s.getsockname()[1]


def _wait_listening(proc: subprocess.Popen, hosts, port, timeout=5.0) -> bool:
    deadline = time.monotonic() + timeout
    pending = list(hosts)
    while pending and time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        host = pending[0]
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(fam) as s:
            s.settimeout(0.5)
            try:
                s.connect((host, port))
                pending.pop(0)
                continue
            except OSError:
                pass
        time.sleep(0.02)
    return not pending


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=3)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()


@dataclass
class Server:
    port: int
    proc: subprocess.Popen
    dir: Path
    log: Path | None = None

    def log_mark(self) -> int:
        """The log's current end, once earlier requests' lines have landed:
        servers log after answering, so wait until the size holds still."""
        size, deadline = -1, time.monotonic() + 1.0
        while time.monotonic() < deadline:
            now = self.log.stat().st_size if self.log and self.log.exists() else 0
            if now == size:
                return now
            size = now
            time.sleep(0.03)
        return size

    def log_since(self, mark: int, settle: float = 0.05) -> list[str]:
        """Log lines written after `mark` (waits a moment for servers that
        log after answering)."""
        time.sleep(settle)
        if not self.log or not self.log.exists():
            return []
        with open(self.log, "rb") as f:
            f.seek(mark)
            return f.read().decode("utf-8", "replace").splitlines()


def _start_with_retry(make_cmd, hosts, workdir: Path, tries=5, stderr_file=None):
    """Starts a server on a free port, retrying with another port if the
    process dies (the port was taken between our check and its bind)."""
    last = ""
    for _ in range(tries):
        port = _free_port(hosts)
        cmd = make_cmd(port)
        errf = open(stderr_file or workdir / "stderr.txt", "wb")
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=errf)
        errf.close()
        if _wait_listening(proc, hosts, port):
            return port, proc
        _stop(proc)
        last = Path(stderr_file or workdir / "stderr.txt").read_text(errors="replace")
    pytest.fail(f"could not start {make_cmd(0)[0]}: {last}")


def nginx_conf(d, listen: str, log_format: str, moved: str = "http://example.invalid/") -> str:
    """The config every test nginx runs with: in the foreground, everything
    under `d`, /healthz 200, /down 503, /moved 302 to `moved`, else 404.
    `listen` is the server's listen (and ssl) lines; `log_format` what the
    access log records of each request."""
    return f"""\
worker_processes 1;
daemon off;
master_process off;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 64; }}
http {{
    log_format probe '{log_format}';
    access_log {d}/access.log probe;
    client_body_temp_path {d}/tmp/body;
    proxy_temp_path {d}/tmp/proxy;
    fastcgi_temp_path {d}/tmp/fastcgi;
    uwsgi_temp_path {d}/tmp/uwsgi;
    scgi_temp_path {d}/tmp/scgi;
    default_type text/plain;
    server {{
        {listen}
        location = /healthz {{ return 200 "ok\\n"; }}
        location = /down {{ return 503; }}
        location = /moved {{ return 302 {moved}; }}
        location / {{ return 404; }}
    }}
}}
"""


@pytest.fixture(scope="session")
def nginx(tmp_path_factory):
    """Debian's nginx on 127.0.0.1:PORT and [::1]:PORT: /healthz 200, /down 503,
    /moved 302 to http://example.invalid/. Access log: `log_since(mark)`."""
    exe = shutil.which("nginx") or "/usr/sbin/nginx"
    if not os.path.exists(exe):
        pytest.fail("nginx is not installed (run build-scripts/setup)")
    d = tmp_path_factory.mktemp("nginx")
    (d / "tmp").mkdir()

    def cmd(port):
        listen = f"listen 127.0.0.1:{port};\n        listen [::1]:{port};"
        log = '$request $status "$http_user_agent" "$http_host" "$http_x_test"'
        (d / "nginx.conf").write_text(nginx_conf(d, listen, log))
        return [exe, "-p", str(d), "-c", str(d / "nginx.conf"), "-e", str(d / "error.log")]

    port, proc = _start_with_retry(cmd, ("127.0.0.1", "::1"), d)
    try:
        yield Server(port, proc, d, log=d / "access.log")
    finally:
        _stop(proc)


HTTPSERVER = TESTS / "httpserver.py"


@contextlib.contextmanager
def python_http_server(host="127.0.0.1"):
    """Python's http.server (an HTTP/1.0 server) serving a temp dir holding
    `healthz`; the helper script binds port 0 and prints the port."""
    d = Path(tempfile.mkdtemp(prefix="pyhttp-"))
    (d / "www").mkdir()
    (d / "www" / "healthz").write_text("ok\n")
    log = d / "requests.log"
    proc = subprocess.Popen(
        [sys.executable, str(HTTPSERVER), host, str(d / "www"), str(log)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        line = proc.stdout.readline()
        if not line.strip():
            pytest.fail("python http.server did not start")
        yield Server(int(line), proc, d, log=log)
    finally:
        _stop(proc)
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def pyhttp():
    with python_http_server() as s:
        yield s


@pytest.fixture(scope="module")
def busybox_httpd(tmp_path_factory):
    """busybox httpd on 127.0.0.1:PORT serving a dir holding `healthz`."""
    exe = shutil.which("busybox") or "/bin/busybox"
    if not os.path.exists(exe):
        pytest.fail("busybox is not installed (run build-scripts/setup)")
    d = tmp_path_factory.mktemp("busybox")
    www = d / "www"
    www.mkdir()
    (www / "healthz").write_text("ok\n")
    (d / "httpd.conf").write_text("")

    def cmd(port):
        return [exe, "httpd", "-f", "-vv", "-p", f"127.0.0.1:{port}", "-h", str(www), "-c", str(d / "httpd.conf")]

    # -vv logs `IP:PORT: url:/healthz` and `IP:PORT: response:200` to stderr
    port, proc = _start_with_retry(cmd, ("127.0.0.1",), d)
    try:
        yield Server(port, proc, d, log=d / "stderr.txt")
    finally:
        _stop(proc)
