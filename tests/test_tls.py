"""The TLS build (`scratchprobe-tls`, cargo feature `tls`): `https://` targets
over TLS 1.3 against real servers (openssl s_server, nginx, Python's
http.server wrapped in ssl) with self-signed certificates made here, and the
failures a user meets: a TLS 1.2-only server, no common group or cipher
suite, a plain HTTP server, a hang during the handshake.

The binary is $SCRATCHPROBE_TLS, or the x86_64 release build with
`--features tls` in its own target dir (target/tls), which is (re)built here
with cargo (a no-op when it is up to date). Its own target dir: a feature
build in target/ would replace the default binary the other tests run.

Every server listens on loopback on a port the kernel picked.
"""

from __future__ import annotations

import contextlib
import http.server
import os
import shutil
import socket
import ssl
import subprocess
import threading
from pathlib import Path

import pytest

import faultserver
from conftest import (
    ROOT,
    VERSION,
    _start_with_retry,
    nginx_conf,
    _stop,
    Server,
    assert_fail,
    assert_pass,
    connect_addresses,
    is_loopback_addr,
    line,
    run_probe,
    unshare_prefix,
    STRACE,
)

TRIPLE = "x86_64-unknown-linux-musl"
TLS_TARGET_DIR = ROOT / "target" / "tls"
BUDGET = 131072  # bytes: the TLS build's budget on every platform
OPENSSL = shutil.which("openssl") or "/usr/bin/openssl"

NO_TLS13 = "server does not offer TLS 1.3"
NO_COMMON = "no cipher suite or group in common (client: AES-128-GCM, P-256)"
NOT_TLS = "not a TLS server"


def build_tls(triple: str) -> Path:
    p = subprocess.run(
        ["cargo", "build", "--quiet", "--release", "--target", triple, "--features", "tls",
         "--target-dir", str(TLS_TARGET_DIR)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if p.returncode != 0:
        pytest.fail(f"cargo build --features tls --target {triple} failed:\n{p.stderr}")
    return TLS_TARGET_DIR / triple / "release" / "scratchprobe"


@pytest.fixture(scope="session")
def tls_bin() -> Path:
    env_bin = os.environ.get("SCRATCHPROBE_TLS")
    if env_bin:
        path = Path(env_bin).resolve()
        if not path.is_file():
            pytest.fail(f"SCRATCHPROBE_TLS={env_bin} does not exist")
        return path
    return build_tls(TRIPLE)


@pytest.fixture
def tprobe(tls_bin):
    """Runs the TLS build: tprobe(*args, env=None, timeout=10) -> Result."""

    def run(*args, **kw):
        return run_probe(*args, binary=tls_bin, **kw)

    return run


# -- certificates and servers -----------------------------------------------------


@pytest.fixture(scope="session")
def certs(tmp_path_factory) -> dict:
    """Self-signed certificates for CN=localhost: {"ec": (crt, key), "rsa": (crt, key)}."""
    d = tmp_path_factory.mktemp("certs")
    out = {}
    for kind, newkey in [("ec", ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]),
                         ("rsa", ["-newkey", "rsa:2048"])]:
        crt, key = d / f"{kind}.crt", d / f"{kind}.key"
        subprocess.run(
            [OPENSSL, "req", "-x509", *newkey, "-nodes", "-keyout", str(key), "-out", str(crt),
             "-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"],
            check=True,
            capture_output=True,
        )
        out[kind] = (crt, key)
    return out


@contextlib.contextmanager
def s_server(certs, *opts, kind="ec", host="127.0.0.1", www=True):
    """`openssl s_server` on host:PORT; yields the port. With www, it answers
    every request with `HTTP/1.0 200 ok` and a status page; without, it
    completes the handshake and never answers."""
    crt, key = certs[kind]
    d = Path(crt).parent

    def cmd(port):
        addr = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        return [OPENSSL, "s_server", "-accept", addr, "-cert", str(crt), "-key", str(key),
                "-quiet", *(["-www"] if www else []), *opts]

    port, proc = _start_with_retry(cmd, (host,), d, stderr_file=d / f"s_server-{os.getpid()}.txt")
    try:
        yield port
    finally:
        _stop(proc)




@contextlib.contextmanager
def nginx_tls(tmp_path_factory, certs, kind="rsa", protocols="TLSv1.2 TLSv1.3"):
    """Debian's nginx with `ssl` on 127.0.0.1:PORT and [::1]:PORT."""
    exe = shutil.which("nginx") or "/usr/sbin/nginx"
    if not os.path.exists(exe):
        pytest.fail("nginx is not installed (run build-scripts/setup)")
    d = tmp_path_factory.mktemp("nginx-tls")
    (d / "tmp").mkdir()
    crt, key = certs[kind]

    def cmd(port):
        (d / "nginx.conf").write_text(
            nginx_conf(
                d,
                f"listen 127.0.0.1:{port} ssl;\n        listen [::1]:{port} ssl;\n"
                f"        ssl_certificate {crt};\n        ssl_certificate_key {key};\n"
                f"        ssl_protocols {protocols};",
                '$request $status "$http_user_agent" "$http_host" $ssl_protocol '
                '"$ssl_server_name" "$ssl_alpn_protocol"',
                moved="https://example.invalid/",
            )
        )
        return [exe, "-p", str(d), "-c", str(d / "nginx.conf"), "-e", str(d / "error.log")]

    port, proc = _start_with_retry(cmd, ("127.0.0.1", "::1"), d)
    try:
        yield Server(port, proc, d, log=d / "access.log")
    finally:
        _stop(proc)


@pytest.fixture(scope="module")
def nginx_rsa(tmp_path_factory, certs):
    with nginx_tls(tmp_path_factory, certs, "rsa") as s:
        yield s


@pytest.fixture(scope="module")
def nginx_ec(tmp_path_factory, certs):
    with nginx_tls(tmp_path_factory, certs, "ec") as s:
        yield s


class _Handler(http.server.BaseHTTPRequestHandler):
    """/healthz 200, /down 503, /moved 302; anything else 404."""

    def do_GET(self):  # noqa: N802 (http.server's naming)
        codes = {"/healthz": 200, "/down": 503, "/moved": 302}
        code = codes.get(self.path, 404)
        self.send_response(code)
        if code == 302:
            self.send_header("Location", "https://example.invalid/")
        self.send_header("Content-Length", "0")
        self.end_headers()
        self.server.seen.append((self.requestline, self.headers.get("Host"),
                                 self.connection.version(), self.connection.selected_alpn_protocol()))

    def log_message(self, *args):
        pass


@contextlib.contextmanager
def python_https(certs, kind="ec", host="127.0.0.1", maximum=None):
    """Python's http.server wrapped in ssl, in a thread; yields the server
    (`.server_address[1]` the port, `.seen` the requests)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(*certs[kind])
    ctx.set_alpn_protocols(["h2", "http/1.1"])
    if maximum:
        ctx.maximum_version = maximum

    class Srv(http.server.ThreadingHTTPServer):
        address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        daemon_threads = True

    srv = Srv((host, 0), _Handler)
    srv.seen = []
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    t.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()


def after_hello(action: str, data: bytes = b"", first: bool = False) -> faultserver.Behaviour:
    """A server that is not (quite) a TLS server: reads what the client sends
    first (the ClientHello), then sends `data` and FIN ("send"), or closes
    (FIN, "close"), or resets (RST, "reset"), or hangs ("hang"). With
    `first`, it sends `data` at once on accept (a banner), before reading."""

    def script(c: faultserver.Conn) -> None:
        if first:
            c.send(data)
        if not c.read_some():
            return
        if action == "reset":
            return c.reset()
        if action == "send" and not first:
            c.send(data)
        if action in ("send", "close"):
            c.close()
        else:
            c.hold()

    return faultserver.Behaviour(f"after_hello({action}, {data[:20]!r})", script)


@contextlib.contextmanager
def handshake_then_hang(certs):
    """A TLS 1.3 server that completes the handshake, reads the request and
    never answers; yields the port."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(*certs["ec"])
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(8)
    lsock.settimeout(0.05)
    stop = threading.Event()
    held = []

    def serve():
        while not stop.is_set():
            try:
                conn, _ = lsock.accept()
            except OSError:
                continue
            conn.settimeout(3)
            try:
                tls = ctx.wrap_socket(conn, server_side=True)
                held.append(tls)
                tls.recv(65536)
            except OSError:
                conn.close()

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    try:
        yield lsock.getsockname()[1]
    finally:
        stop.set()
        t.join(timeout=5)
        lsock.close()
        for c in held:
            c.close()


# -- the build ------------------------------------------------------------------


def test_size_budget(tls_bin):
    size = tls_bin.stat().st_size
    print(f"TLS build (x86_64): {size} bytes of {BUDGET}")
    assert size <= BUDGET, f"TLS build is {size} bytes, over its budget of {BUDGET}"


def test_version_and_help(tprobe):
    r = tprobe("-V")
    assert (r.rc, r.out, r.err) == (0, f"scratchprobe-tls {VERSION}\n", ""), str(r)
    r = tprobe("--help")
    assert r.rc == 0 and "https://" in r.out and "NOT verified" in r.out, str(r)
    assert all(len(l) <= 80 for l in r.out.splitlines()), r.out


def test_default_build_names_the_tls_build(probe):
    """The default binary refuses https:// before any socket, naming the TLS build."""
    for t in ["https://localhost/", "https://127.0.0.1:8443/healthz", "https://[::1]:1"]:
        r = probe(t)
        assert_fail(r, t, "this build has no TLS: use scratchprobe-tls")


# -- passing ------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["ec", "rsa"])
def test_s_server_tls13(tprobe, certs, kind):
    with s_server(certs, "-tls1_3", kind=kind) as port:
        assert_pass(tprobe(f"https://127.0.0.1:{port}/"))
        r = tprobe("-v", f"https://localhost:{port}/")
        assert (r.rc, r.out) == (0, line(f"https://localhost:{port}/", "HTTP 200") + "\n"), str(r)


def test_s_server_ipv6(tprobe, certs):
    with s_server(certs, host="::1") as port:
        assert_pass(tprobe(f"https://[::1]:{port}/"))
        assert_pass(tprobe(f"https://localhost:{port}/"))


@pytest.mark.parametrize("fixture", ["nginx_rsa", "nginx_ec"])
def test_nginx(request, tprobe, fixture):
    srv = request.getfixturevalue(fixture)
    port = srv.port
    for host in ["127.0.0.1", "[::1]", "localhost", ""]:
        mark = srv.log_mark()
        assert_pass(tprobe(f"https://{host}:{port}/healthz"))
        (entry,) = srv.log_since(mark)
        assert entry == (
            f'GET /healthz HTTP/1.1 200 "scratchprobe/{VERSION}" "localhost:{port}" '
            f'TLSv1.3 "localhost" "http/1.1"'
        ), entry
    t = f"https://127.0.0.1:{port}/down"
    assert_fail(tprobe(t), t, "HTTP 503")
    assert_pass(tprobe(f"https://127.0.0.1:{port}/moved"))
    t = f"https://127.0.0.1:{port}/moved"
    assert_fail(tprobe("-s", "200", t), t, "HTTP 302")
    t = f"https://127.0.0.1:{port}/nothing"
    assert_fail(tprobe(t), t, "HTTP 404")


def test_nginx_sni_and_headers(tprobe, nginx_rsa):
    """-H Host: names the server (SNI, without the port); other -H headers go along."""
    srv = nginx_rsa
    mark = srv.log_mark()
    assert_pass(tprobe("-H", "Host: app.example:8443", "-H", "User-Agent: kube-probe/1.30",
                     "-X", "GET", f"https://127.0.0.1:{srv.port}/healthz"))
    (entry,) = srv.log_since(mark)
    assert entry == ('GET /healthz HTTP/1.1 200 "kube-probe/1.30" "app.example:8443" '
                     'TLSv1.3 "app.example" "http/1.1"'), entry


@pytest.mark.parametrize("path,code,passes", [("/healthz", 200, True), ("/down", 503, False), ("/moved", 302, True)])
def test_python_https(tprobe, certs, path, code, passes):
    with python_https(certs, "rsa") as srv:
        port = srv.server_address[1]
        t = f"https://127.0.0.1:{port}{path}"
        r = tprobe(t)
        if passes:
            assert_pass(r)
        else:
            assert_fail(r, t, f"HTTP {code}")
        assert srv.seen == [(f"GET {path} HTTP/1.1", f"localhost:{port}", "TLSv1.3", "http/1.1")]


def test_python_https_ipv6(tprobe, certs):
    with python_https(certs, "ec", host="::1") as srv:
        port = srv.server_address[1]
        assert_pass(tprobe(f"https://[::1]:{port}/healthz"))
        assert_pass(tprobe(f"https://localhost:{port}/healthz"))


def test_https_beside_other_targets(tprobe, certs, nginx_rsa, tmp_path):
    """https:// with http://, tcp:// and file: targets in one run."""
    f = tmp_path / "flag"
    f.write_text("")
    with python_https(certs) as py, faultserver.FaultServer(b"HTTP/1.1 204 No Content\r\n\r\n") as plain:
        r = tprobe(
            f"https://127.0.0.1:{nginx_rsa.port}/healthz",
            f"http://127.0.0.1:{plain.port}/",
            f"https://localhost:{py.server_address[1]}/healthz",
            f"tcp://127.0.0.1:{nginx_rsa.port}",
            f"file:{f}",
        )
        assert_pass(r)


def test_fast(tprobe, nginx_rsa):
    """One HTTPS probe takes milliseconds (P-256 key generation dominates)."""
    t = f"https://127.0.0.1:{nginx_rsa.port}/healthz"
    best = min(tprobe(t).elapsed for _ in range(5))
    assert best < 0.1, best


# -- failing --------------------------------------------------------------------------


def test_tls12_only_s_server(tprobe, certs):
    with s_server(certs, "-tls1_2") as port:
        t = f"https://127.0.0.1:{port}/"
        assert_fail(tprobe(t), t, NO_TLS13)


def test_tls12_only_nginx(tmp_path_factory, tprobe, certs):
    with nginx_tls(tmp_path_factory, certs, "rsa", protocols="TLSv1.2") as srv:
        t = f"https://localhost:{srv.port}/healthz"
        assert_fail(tprobe(t), t, NO_TLS13)


def test_tls12_only_python(tprobe, certs):
    with python_https(certs, maximum=ssl.TLSVersion.TLSv1_2) as srv:
        t = f"https://127.0.0.1:{srv.server_address[1]}/healthz"
        assert_fail(tprobe(t), t, NO_TLS13)


@pytest.mark.parametrize("opts", [
    ["-groups", "X25519"],
    ["-ciphersuites", "TLS_CHACHA20_POLY1305_SHA256"],
    ["-ciphersuites", "TLS_AES_256_GCM_SHA384"],
], ids=["x25519-only", "chacha20-only", "aes256-only"])
def test_no_common_group_or_cipher(tprobe, certs, opts):
    with s_server(certs, "-tls1_3", *opts) as port:
        t = f"https://127.0.0.1:{port}/"
        assert_fail(tprobe(t), t, NO_COMMON)


def test_plain_http_server(tprobe, nginx):
    """A plain HTTP server answers the ClientHello with a 400 page."""
    t = f"https://127.0.0.1:{nginx.port}/healthz"
    assert_fail(tprobe(t), t, NOT_TLS)


@pytest.mark.parametrize("behaviour", [
    after_hello("send", b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"),
    after_hello("send", b"SSH-2.0-OpenSSH_9.2p1\r\n", first=True),
    after_hello("send", b"\x00" * 64),
], ids=["http-400", "ssh-banner", "zeros"])
def test_not_a_tls_server(tprobe, fault_server, behaviour):
    with fault_server(behaviour) as port:
        t = f"https://127.0.0.1:{port}/"
        assert_fail(tprobe(t), t, NOT_TLS)


@pytest.mark.parametrize("alert,reason", [
    (70, NO_TLS13),
    (40, NO_COMMON),
    (80, "TLS alert 80 from the server"),
])
def test_alert_from_the_server(tprobe, fault_server, alert, reason):
    with fault_server(after_hello("send", bytes([0x15, 3, 3, 0, 2, 2, alert]))) as port:
        t = f"https://127.0.0.1:{port}/"
        assert_fail(tprobe(t), t, reason)


def test_hang_during_handshake(tprobe, fault_server):
    with fault_server(after_hello("hang")) as port:
        t = f"https://127.0.0.1:{port}/"
        r = tprobe("-t", "700ms", t)
        assert_fail(r, t, "timed out after 700ms while doing the TLS handshake")
        assert 0.65 < r.elapsed < 1.5, r.elapsed


def test_hang_after_handshake(tprobe, certs):
    with handshake_then_hang(certs) as port:
        t = f"https://127.0.0.1:{port}/"
        r = tprobe("-t", "500ms", t)
        assert_fail(r, t, "timed out after 500ms while waiting for the status line")


def test_hang_fails_other_targets_at_the_deadline(tprobe, fault_server, closed_port):
    """While a TLS exchange blocks the others wait, under the same deadline."""
    with fault_server(after_hello("hang")) as hport, \
            fault_server(faultserver.hang()) as pport:
        th, tp = f"https://127.0.0.1:{hport}/", f"http://127.0.0.1:{pport}/"
        r = tprobe("-t", "500ms", th, tp)
        assert r.rc == 1, str(r)
        assert r.lines == [
            line(th, "timed out after 500ms while doing the TLS handshake"),
            line(tp, "timed out after 500ms while waiting for the status line"),
        ], str(r)
        assert r.elapsed < 1.2, r.elapsed


@pytest.mark.parametrize("behaviour,reason", [
    (after_hello("close"), "connection closed during the TLS handshake"),
    (after_hello("reset"), "connection reset"),
], ids=["close", "reset"])
def test_closed_during_handshake(tprobe, fault_server, behaviour, reason):
    with fault_server(behaviour) as port:
        t = f"https://127.0.0.1:{port}/"
        assert_fail(tprobe(t), t, reason)


def test_refused_and_not_loopback(tprobe, closed_port):
    t = f"https://127.0.0.1:{closed_port}/"
    assert_fail(tprobe(t), t, "connection refused")
    t = "https://10.0.0.5/"
    assert_fail(tprobe(t), t, "refused: 10.0.0.5 is not a loopback address")


# -- what the process does ---------------------------------------------------------------


def traced(tls_bin, *args, trace="socket,connect"):
    if not os.path.exists(STRACE):
        pytest.skip("strace is not installed")
    import tempfile

    with tempfile.NamedTemporaryFile("r", prefix="strace-", suffix=".txt") as f:
        r = run_probe(*args, binary=tls_bin, timeout=15,
                      prefix=[STRACE, "-f", "-qq", "-o", f.name, "-e", f"trace=execve,{trace}"])
        r.trace = f.read()
    assert "execve(" in r.trace, f"strace did not trace the probe\n{r}"
    return r


def test_strace_connects_only_to_loopback(tls_bin, nginx_rsa):
    r = traced(tls_bin, f"https://localhost:{nginx_rsa.port}/healthz",
               f"https://127.0.0.1:{nginx_rsa.port}/healthz", f"https://[::1]:{nginx_rsa.port}/down")
    assert r.rc == 1 and r.lines == [line(f"https://[::1]:{nginx_rsa.port}/down", "HTTP 503")], str(r)
    addrs = connect_addresses(r)
    assert addrs and all(is_loopback_addr(a) for a in addrs), addrs


def test_strace_no_socket_for_refused_hosts(tls_bin):
    r = traced(tls_bin, "https://example.com/", "https://192.168.1.1:443/")
    assert r.rc == 1
    assert r.syscalls("socket") == [] and r.syscalls("connect") == [], r.trace


def test_strace_sandbox_then_tls(tls_bin, nginx_rsa):
    """The filter goes in before the first socket; the handshake's syscalls
    (getrandom, setsockopt TCP_NODELAY, poll, sendto, recvfrom) run under it,
    and nothing else is needed."""
    r = traced(tls_bin, "-v", f"https://127.0.0.1:{nginx_rsa.port}/healthz",
               trace="seccomp,prctl,socket,connect,getrandom,setsockopt,openat,execve")
    assert r.rc == 0, str(r)
    assert "unfiltered" not in r.out, str(r)
    calls = [l.split("(")[0].split()[-1] for l in r.trace.splitlines() if "(" in l]
    assert calls.index("seccomp") < calls.index("socket") < calls.index("getrandom"), calls
    assert any("TCP_NODELAY" in l for l in r.syscalls("setsockopt")), r.trace
    assert r.syscalls("openat") == [], r.trace


def test_offline_namespace(tls_bin):
    """In a network namespace with nothing up, https:// fails cleanly."""
    prefix = unshare_prefix()
    r = run_probe("https://127.0.0.1:8443/", binary=tls_bin, prefix=prefix)
    assert r.rc == 1 and len(r.lines) == 1 and r.lines[0].startswith("scratchprobe: https://127.0.0.1:8443/: "), str(r)


# -- aarch64, under qemu-user ------------------------------------------------------------


@pytest.fixture(scope="module")
def tls_arm_bin() -> Path:
    env_bin = os.environ.get("SCRATCHPROBE_TLS_AARCH64")
    if env_bin:
        path = Path(env_bin).resolve()
        if not path.is_file():
            pytest.fail(f"SCRATCHPROBE_TLS_AARCH64={env_bin} does not exist")
        return path
    return build_tls("aarch64-unknown-linux-musl")


def test_aarch64_size_budget(tls_arm_bin):
    size = tls_arm_bin.stat().st_size
    print(f"TLS build (aarch64): {size} bytes of {BUDGET}")
    assert size <= BUDGET, f"aarch64 TLS build is {size} bytes, over its budget of {BUDGET}"


def test_aarch64_https(tls_arm_bin, nginx_rsa, certs, tmp_path):
    """The aarch64 TLS build under qemu: a pass, a status failure, a TLS 1.2
    server; and every syscall it makes after seccomp(2) is allowed by the
    filter compiled into it (qemu cannot enforce the filter itself)."""
    from test_aarch64 import AARCH64_NR, QEMU, filter_program, parse_strace, run_bpf, SECCOMP_RET_ALLOW

    if not os.path.exists(QEMU):
        pytest.fail("qemu-aarch64-static is not installed (Debian package qemu-user-static)")
    prog = filter_program(tls_arm_bin.read_bytes())
    port = nginx_rsa.port
    with s_server(certs, "-tls1_2") as old:
        cases = [
            ([f"https://localhost:{port}/healthz"], 0, []),
            ([f"https://127.0.0.1:{port}/down"], 1, [line(f"https://127.0.0.1:{port}/down", "HTTP 503")]),
            ([f"https://127.0.0.1:{old}/"], 1, [line(f"https://127.0.0.1:{old}/", NO_TLS13)]),
        ]
        for i, (args, rc, lines) in enumerate(cases):
            log = tmp_path / f"strace-{i}.log"
            r = run_probe(*args, binary=tls_arm_bin, timeout=20,
                          prefix=[QEMU, "-d", "strace", "-D", str(log)])
            assert (r.rc, r.lines) == (rc, lines), str(r)
            calls = parse_strace(log.read_text())
            names = [c.name for c in calls]
            after = calls[names.index("seccomp") + 1:]
            assert "getrandom" in [c.name for c in after], names
            for c in after:
                assert c.name in AARCH64_NR, f"syscall {c} not in AARCH64_NR"
                verdict = run_bpf(prog, AARCH64_NR[c.name], c.numeric_args())
                assert verdict == SECCOMP_RET_ALLOW, f"the filter would kill {c} in {args}"
