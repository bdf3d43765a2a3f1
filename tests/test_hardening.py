"""Hardening proofs (issue 7): syscall traces for every target kind, the
seccomp sandbox seen from outside, and the fault matrix.

- Syscall proofs: each target kind runs under `strace -f`; every connect()
  goes to 127.0.0.0/8, ::1 or AF_UNIX; sockets are AF_INET/AF_INET6/AF_UNIX
  streams; no open/openat on network targets (file targets open only their
  own file, read-only, before the filter); one execve (the probe itself);
  nothing under /etc; proxy variables change nothing.
- Sandbox: /proc/PID/status of a probe waiting on a hanging server shows
  `Seccomp: 2` and `NoNewPrivs: 1`.
- Fault matrix: byte-by-byte responses, half-close, reset mid-line, SIGPIPE
  conditions, stdio closed or on /dev/full or a broken pipe, `ulimit -n` tiny,
  SIGSTOP/SIGCONT and harmless signals during poll, a server on one family
  only; each ends within the deadline plus 100 ms, exit 0 or 1, never a signal.

build-scripts/test also runs this module against the aarch64 binary under
qemu-user. Tests marked `native` are left out there: they look at the process
itself (its syscall trace, its seccomp status, signals sent to its PID, its
fds, limits and stdio set up by a shell), which under qemu-user are qemu's.
"""

from __future__ import annotations

import ipaddress
import os
import platform
import re
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

import faultserver
from conftest import (
    BIN,
    STRACE,
    Result,
    assert_fail,
    assert_pass,
    check_contract,
    fail_reason,
    line,
    run_probe,
    traced_probe,
)
from faultserver import FaultServer, close_unread, record, reset_mid_line
from unixservers import UnixHTTPServer

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
MARGIN = 0.1  # "each ends within the deadline plus 100 ms"

needs_strace = pytest.mark.skipif(not os.path.exists(STRACE), reason="strace is not installed")

# Every syscall that could reach the network, the file system or a program.
TRACE = "connect,socket,open,openat,openat2,stat,newfstatat,statx,prctl,seccomp,sendto,sendmsg,write,%file"


def assert_exits_by_itself(r, deadline: float | None = None):
    """Exit 0 or 1 (never a signal), and within the deadline plus 100 ms."""
    assert r.rc in (0, 1), f"exit status {r.rc} (negative: killed by a signal)\n{r}"
    if deadline is not None:
        assert r.elapsed < deadline + MARGIN, f"took {r.elapsed:.3f}s for a {deadline}s deadline\n{r}"


# ===========================================================================
# syscall proofs
# ===========================================================================

_CALL = re.compile(r"^(?:\[pid\s+)?(\d+)\]?\s+(\w+)\((.*)$")


def parse_trace(trace: str) -> list[tuple[str, str]]:
    """[(syscall, rest of the line)] in order, from `strace -f -o` output
    (`PID name(args) = ret`); `<... resumed>` lines are folded away."""
    calls = []
    for l in trace.splitlines():
        m = _CALL.match(l)
        if m:
            calls.append((m.group(2), m.group(3)))
    return calls


def after_exec(calls):
    """The calls after the probe's own execve (the first traced call)."""
    assert calls and calls[0][0] == "execve", calls[:3]
    return calls[1:]


def connect_endpoint(args: str) -> tuple[str, str]:
    """(family, address) of one traced connect()."""
    fam = re.search(r"sa_family=(AF_\w+)", args)
    assert fam, f"connect() without a readable family: {args}"
    fam = fam.group(1)
    if fam == "AF_INET":
        return fam, re.search(r'inet_addr\("([0-9.]+)"\)', args).group(1)
    if fam == "AF_INET6":
        return fam, re.search(r'inet_pton\(AF_INET6, "([^"]+)"', args).group(1)
    if fam == "AF_UNIX":
        m = re.search(r'sun_path=(@?"[^"]*")', args)
        return fam, m.group(1) if m else "?"
    return fam, args


def is_loopback(fam: str, addr: str) -> bool:
    if fam == "AF_UNIX":
        return True
    if fam not in ("AF_INET", "AF_INET6"):
        return False
    ip = ipaddress.ip_address(addr)
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_loopback


def kinds(calls) -> set:
    """What the trace did, without pids, fds, ports order or results: the set
    of (syscall, family or path, address)."""
    out = set()
    for name, args in calls:
        if name == "connect":
            out.add(("connect", *connect_endpoint(args)))
        elif name == "socket":
            out.add(("socket", args.split(",")[0], args.split(",")[1].strip().split("|")[0]))
        elif name in ("open", "openat", "openat2", "stat", "newfstatat", "statx", "access", "readlink"):
            m = re.search(r'"([^"]*)"', args)
            out.add((name, m.group(1) if m else ""))
        elif name in ("prctl", "seccomp", "execve"):
            out.add((name, args.split(",")[0]))
        elif name in ("sendto", "sendmsg"):
            out.add((name, "MSG_NOSIGNAL" in args))
        elif name == "write":
            out.add((name, args.split(",")[0]))
        else:
            out.add((name,))
    return out


def check_trace(r, *, files=(), opens=None, network=True):
    """The proofs common to every traced run. `files`: the paths the targets
    may stat; `opens`: the paths they may open read-only (default: files);
    network: a socket is expected."""
    calls = parse_trace(r.trace)
    execs = [c for c in calls if c[0] == "execve"]
    assert len(execs) == 1 and str(BIN) in execs[0][1], f"execve after start\n{r.trace}"
    rest = after_exec(calls)

    # nothing under /etc (no hosts, resolv.conf, nsswitch, passwd...)
    for name, args in rest:
        assert '"/etc' not in args, f"{name} touched /etc: {args}\n{r.trace}"

    # sockets: stream sockets of the three allowed families
    for name, args in rest:
        if name == "socket":
            fam, typ = [a.strip() for a in args.split(",")[:2]]
            assert fam in ("AF_INET", "AF_INET6", "AF_UNIX"), f"socket family {fam}\n{r.trace}"
            assert typ.split("|")[0] == "SOCK_STREAM", f"socket type {typ}\n{r.trace}"

    # connect: loopback or AF_UNIX only
    for name, args in rest:
        if name == "connect":
            fam, addr = connect_endpoint(args)
            assert is_loopback(fam, addr), f"connect() to {fam} {addr}\n{r.trace}"

    # sends on sockets never raise SIGPIPE; write() only to stdout/stderr
    for name, args in rest:
        if name in ("sendto", "sendmsg"):
            assert "MSG_NOSIGNAL" in args, f"{name} without MSG_NOSIGNAL: {args}\n{r.trace}"
        if name == "write":
            fd = int(args.split(",")[0])
            assert fd in (1, 2), f"write() to fd {fd} (SIGPIPE-prone on a socket)\n{r.trace}"

    # files: no open at all for network targets; a file target opens only its
    # own file, read-only
    allowed = {str(f) for f in files}
    may_open = allowed if opens is None else {str(f) for f in opens}
    for name, args in rest:
        if name in ("open", "openat", "openat2"):
            path = re.search(r'"([^"]*)"', args).group(1)
            assert path in may_open, f"{name} of {path}\n{r.trace}"
            assert "O_RDONLY" in args and not re.search(r"O_WRONLY|O_RDWR|O_CREAT|O_TRUNC", args), args
        if name in ("stat", "newfstatat", "statx") and '"' in args:
            path = re.search(r'"([^"]*)"', args).group(1)
            if path:
                assert path in allowed, f"{name} of {path}\n{r.trace}"

    # the sandbox: no-new-privs and the filter before the first socket; file
    # reads before the filter
    names = [n for n, _ in rest]
    if network:
        assert "socket" in names, f"no socket traced\n{r.trace}"
    if "socket" in names:
        first_socket = names.index("socket")
        nnp = [i for i, (n, a) in enumerate(rest) if n == "prctl" and "PR_SET_NO_NEW_PRIVS" in a]
        filt = [i for i, (n, a) in enumerate(rest) if n == "seccomp" and "SECCOMP_SET_MODE_FILTER" in a]
        assert nnp and nnp[0] < first_socket, f"no-new-privs not set before the first socket\n{r.trace}"
        assert filt and filt[0] < first_socket, f"seccomp filter not installed before the first socket\n{r.trace}"
        opens = [i for i, (n, _) in enumerate(rest) if n in ("open", "openat", "openat2")]
        assert all(i < filt[0] for i in opens), f"open after the filter\n{r.trace}"
    return rest


@pytest.fixture(scope="module")
def world():
    """Servers for the trace matrix: an OK server on 127.0.0.1 and ::1 (one
    port), a Unix HTTP server on a path and on an abstract name, plain Unix
    listeners, and files."""
    d = faultserver.short_dir()
    hb = d / "hb"
    hb.write_text("")
    report = d / "report"
    report.write_text("")
    with faultserver.FaultServer(OK, host="127.0.0.1") as v4:
        v6 = faultserver.FaultServer(OK, host="::1", port=v4.port)
        try:
            with UnixHTTPServer() as uh, UnixHTTPServer(abstract=True) as ua, FaultServer(faultserver.hang(), unix=True) as ul:
                yield {
                    "p": v4.port,
                    "uh": uh.spec,
                    "ua": ua.spec,
                    "ul": ul.spec,
                    "hb": str(hb),
                    "report": str(report),
                    "flag": str(d / "flag"),
                    "dir": d,
                }
        finally:
            v6.stop()
            shutil.rmtree(d, ignore_errors=True)


# (id, targets, files the run may touch, network expected)
MATRIX = [
    ("http-127.0.0.1", ["http://127.0.0.1:{p}/healthz"], [], True),
    ("http-127.0.0.1-noscheme", ["127.0.0.1:{p}/"], [], True),
    ("http-[::1]", ["http://[::1]:{p}/healthz"], [], True),
    ("http-localhost", ["http://localhost:{p}/healthz"], [], True),
    ("http-empty-host", ["http://:{p}/"], [], True),
    ("http-0.0.0.0", ["http://0.0.0.0:{p}/"], [], True),
    ("http-[::]", ["http://[::]:{p}/"], [], True),
    ("http-mapped", ["http://[::ffff:127.0.0.1]:{p}/"], [], True),
    ("tcp-127.0.0.1", ["tcp://127.0.0.1:{p}"], [], True),
    ("tcp-localhost", ["tcp://localhost:{p}"], [], True),
    ("tcp-[::1]", ["tcp://[::1]:{p}"], [], True),
    ("unix-path", ["unix:{ul}"], ["{ul}"], True),
    ("unix-abstract", ["unix:{ua}"], [], True),
    ("http+unix-path", ["http+unix:{uh}:/healthz"], ["{uh}"], True),
    ("http+unix-abstract", ["http+unix:{ua}:/healthz"], [], True),
    ("file", ["file:{hb}"], ["{hb}"], False),
    ("file-max-age", ["file:{hb}?max-age=30s"], ["{hb}"], False),
    ("file-absent", ["file:{flag}?absent"], ["{flag}"], False),
    ("file-empty", ["file:{report}?empty"], ["{report}"], False),
    (
        "everything",
        [
            "http://localhost:{p}/healthz",
            "tcp://[::1]:{p}",
            "unix:{ul}",
            "unix:{ua}",
            "http+unix:{uh}:/healthz",
            "file:{hb}?max-age=30s",
            "file:{flag}?absent",
            "file:{report}?empty",
        ],
        ["{ul}", "{uh}", "{hb}", "{flag}", "{report}"],
        True,
    ),
]

PROXY_ENV = ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "ALL_PROXY", "all_proxy")


def _fmt(items, w):
    return [s.format(**w) for s in items]


@pytest.mark.native
@needs_strace
@pytest.mark.parametrize("name, targets, files, network", MATRIX, ids=[m[0] for m in MATRIX])
def test_trace_matrix(world, name, targets, files, network):
    targets, files = _fmt(targets, world), _fmt(files, world)
    r = traced_probe("-t", "3s", *targets, trace=TRACE)
    assert_pass(r)
    # only a report (`?empty`) has content to read; every other kind, and
    # every network target, needs no open() at all
    reports = [t[len("file:") : -len("?empty")] for t in targets if t.startswith("file:") and t.endswith("?empty")]
    rest = check_trace(r, files=files, opens=reports, network=network)
    if not any(t.startswith("file:") for t in targets):
        assert not [c for c in rest if c[0] in ("open", "openat", "openat2")], f"open on a network run\n{r.trace}"
    if not network:
        assert not [c for c in rest if c[0] in ("socket", "connect")], f"a socket for a file target\n{r.trace}"


@needs_strace
@pytest.mark.parametrize("no_proxy", ["", "*", "localhost,127.0.0.1,::1"], ids=["no_proxy-empty", "no_proxy-star", "no_proxy-list"])
@pytest.mark.parametrize(
    "name, targets, files, network",
    [m for m in MATRIX if m[0] in ("http-localhost", "http-127.0.0.1", "http+unix-path", "everything")],
    ids=["http-localhost", "http-127.0.0.1", "http+unix-path", "everything"],
)
@pytest.mark.native
def test_trace_identical_with_proxy_variables(world, name, targets, files, network, no_proxy):
    """With every proxy variable pointing at a loopback 'proxy', the trace
    is the same in kind, connects only where the targets say, and the proxy
    sees nothing."""
    targets, files = _fmt(targets, world), _fmt(files, world)
    with faultserver.FaultServer(OK) as proxy:
        env = {k: f"http://127.0.0.1:{proxy.port}" for k in PROXY_ENV}
        env.update({"NO_PROXY": no_proxy, "no_proxy": no_proxy})
        plain = traced_probe("-t", "3s", *targets, trace=TRACE)
        proxied = traced_probe("-t", "3s", *targets, trace=TRACE, env=env)
        assert_pass(plain)
        assert_pass(proxied)
        a = check_trace(plain, files=files, network=network)
        b = check_trace(proxied, files=files, network=network)
        assert kinds(a) == kinds(b), f"traces differ:\n{plain.trace}\n---\n{proxied.trace}"
        for name_, args in b:
            if name_ == "connect":
                assert f"htons({proxy.port})" not in args, f"connect() to the proxy\n{proxied.trace}"
        assert proxy.connection_count() == 0


REFUSED = [
    "http://10.0.0.1/",
    "tcp://10.0.0.1:80",
    "http://example.com/",
    "tcp://example.com:443",
    "http://[2001:db8::1]/",
    "http://[2001:db8::1]:8080/healthz",
    "10.0.0.1:8080",
]


@pytest.mark.native
@needs_strace
@pytest.mark.parametrize("target", REFUSED)
def test_refused_target_makes_no_socket(target):
    """Refused before a socket (in a network namespace with nothing up, so
    even a broken probe could send nothing), and no file or /etc access."""
    r = traced_probe(target, trace=TRACE, isolate=True)
    assert r.rc == 1 and len(r.lines) == 1 and "loopback" in r.lines[0], str(r)
    rest = after_exec(parse_trace(r.trace))
    bad = [c for c in rest if c[0] in ("socket", "connect", "open", "openat", "openat2")]
    assert not bad, f"{bad}\n{r.trace}"
    assert not [c for c in rest if '"/etc' in c[1]], r.trace


@needs_strace
def test_refused_target_among_good_ones_makes_no_socket(world):
    """A refused target refuses the whole run before any socket (nothing is
    half-checked)."""
    r = traced_probe(f"http://127.0.0.1:{world['p']}/", "http://example.com/", f"unix:{world['ul']}", trace=TRACE, isolate=True)
    assert r.rc == 1, str(r)
    rest = after_exec(parse_trace(r.trace))
    assert not [c for c in rest if c[0] in ("socket", "connect")], r.trace


@pytest.mark.native
@needs_strace
def test_failing_targets_trace_clean(world, closed_port):
    """Failures take the same paths: refused port, missing socket, 503 over
    a Unix socket, stale heartbeat, non-empty report."""
    d = world["dir"]
    (d / "full").write_text("3 updates\n")
    stale = d / "stale"
    stale.write_text("")
    os.utime(stale, (time.time() - 100, time.time() - 100))
    targets = [
        f"http://localhost:{closed_port}/",
        f"unix:{d}/missing.sock",
        f"http+unix:{world['uh']}:/down",
        f"file:{stale}?max-age=30s",
        f"file:{d}/full?empty",
    ]
    r = traced_probe("-t", "2s", *targets, trace=TRACE)
    assert r.rc == 1 and len(r.lines) == 5, str(r)
    check_trace(r, files=[f"{d}/missing.sock", world["uh"], str(stale), f"{d}/full"])


# ===========================================================================
# the sandbox, seen from outside
# ===========================================================================


def _status(pid: int) -> dict:
    out = {}
    for l in Path(f"/proc/{pid}/status").read_text().splitlines():
        k, _, v = l.partition(":")
        out[k] = v
    return out


def _wait_until(cond, timeout=2.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.005)
    return cond()


def _probe_waiting(args, connected):
    """Starts the probe, waits until `connected()` says it reached the
    server, yields its /proc status, then ends it."""
    p = subprocess.Popen([str(BIN), *args], env={}, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert _wait_until(connected), "the probe never reached the server"
        assert p.poll() is None, "the probe ended early"
        text = Path(f"/proc/{p.pid}/status").read_text()
        return text
    finally:
        if p.poll() is None:
            p.kill()
        p.wait()
        p.stdout.close()
        p.stderr.close()


def _assert_sandboxed(text):
    assert re.search(r"^Seccomp:\t2$", text, re.M), f"not in seccomp filter mode:\n{text}"
    assert re.search(r"^NoNewPrivs:\t1$", text, re.M), f"no-new-privs not set:\n{text}"
    m = re.search(r"^Seccomp_filters:\t(\d+)$", text, re.M)
    if m:
        assert int(m.group(1)) >= 1, text


@pytest.mark.native
def test_sandbox_visible_while_waiting_on_http(fault_server):
    with fault_server(faultserver.hang()) as port:
        text = _probe_waiting(["-t", "3s", f"http://127.0.0.1:{port}/"], lambda: len(port.requests) >= 1)
        _assert_sandboxed(text)


@pytest.mark.native
def test_sandbox_visible_while_waiting_on_http_unix():
    with FaultServer(faultserver.hang(), unix=True) as srv:
        text = _probe_waiting(["-t", "3s", f"http+unix:{srv.spec}:/"], lambda: len(srv.requests) >= 1)
        _assert_sandboxed(text)


@pytest.mark.native
def test_sandbox_visible_after_file_targets(fault_server, tmp_path):
    """Files are read before the filter; the filter is still installed."""
    (tmp_path / "r").write_text("")
    with fault_server(faultserver.hang()) as port:
        text = _probe_waiting(
            ["-t", "3s", f"file:{tmp_path}/r?empty", f"http://localhost:{port}/"], lambda: len(port.requests) >= 1
        )
        _assert_sandboxed(text)


def test_verbose_does_not_claim_unfiltered(fault_server):
    with fault_server(OK) as port:
        r = run_probe("-v", f"http://127.0.0.1:{port}/")
        assert r.rc == 0, str(r)
        assert "unfiltered" not in r.out + r.err, str(r)


# ===========================================================================
# fault matrix
# ===========================================================================

# -- byte by byte, half-close, reset ------------------------------------------------


def test_byte_by_byte_200(probe, fault_server):
    with fault_server(faultserver.drip(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 0.005)) as port:
        r = probe("-t", "2s", f"http://127.0.0.1:{port}/")
        assert_pass(r, server=port)
        assert_exits_by_itself(r, 2)


def test_byte_by_byte_503(probe, fault_server):
    with fault_server(faultserver.drip(b"HTTP/1.1 503 Service Unavailable\r\n\r\n", 0.005)) as port:
        t = f"http://127.0.0.1:{port}/"
        r = probe("-t", "2s", t)
        assert_fail(r, t, "HTTP 503")
        assert_exits_by_itself(r, 2)


def test_byte_by_byte_interim_then_200(probe, fault_server):
    with fault_server(faultserver.drip(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n", 0.003)) as port:
        r = probe("-t", "2s", f"http://localhost:{port}/")
        assert_pass(r, server=port)


def test_byte_by_byte_slower_than_the_deadline(probe, fault_server):
    with fault_server(faultserver.drip(b"HTTP/1.1 200 OK\r\n\r\n", 0.1)) as port:
        t = f"http://127.0.0.1:{port}/"
        r = probe("-t", "500ms", t)
        assert_fail(r, t, "timed out after 500ms while waiting for the status line")
        assert r.elapsed >= 0.5, str(r)
        assert_exits_by_itself(r, 0.5)


@pytest.mark.parametrize("partial", [b"HTTP/1.1 2", b"H", b"HTTP/1.1 200"], ids=["HTTP/1.1 2", "H", "HTTP/1.1 200"])
def test_half_close_after_partial_status_line(probe, fault_server, partial):
    with fault_server(faultserver.send(partial)) as port:
        t = f"http://127.0.0.1:{port}/"
        r = probe("-t", "2s", t)
        assert_fail(r, t, "connection closed before the status line")
        assert r.elapsed < 0.5, str(r)


def test_half_close_without_a_byte(probe, fault_server):
    with fault_server(faultserver.close()) as port:
        t = f"http://127.0.0.1:{port}/"
        r = probe("-t", "2s", t)
        assert_fail(r, t, "connection closed before the status line")
        assert r.elapsed < 0.5, str(r)


def test_half_close_over_unix(probe):
    with FaultServer(faultserver.send(b"HTTP/1.1 2"), unix=True) as srv:
        t = f"http+unix:{srv.spec}:/"
        r = probe("-t", "2s", t)
        assert_fail(r, t, "connection closed before the status line")


@pytest.mark.parametrize("partial", [b"HTTP/1.1 20", b"HTTP/1.1 200", b"HTT"], ids=["HTTP/1.1 20", "HTTP/1.1 200", "HTT"])
def test_reset_mid_line(probe, fault_server, partial):
    """Reset before the status code is complete (`HTTP/1.1 200` without the
    SP could still be `HTTP/1.1 2000`)."""
    with fault_server(reset_mid_line(partial)) as port:
        t = f"http://127.0.0.1:{port}/"
        r = probe("-t", "2s", t)
        assert_fail(r, t, "connection reset")
        assert r.elapsed < 0.5, str(r)


def test_reset_after_a_complete_status_code_decides_on_it(probe, fault_server):
    """`HTTP/1.1 503 ` is a decided status line even if a reset follows."""
    with fault_server(reset_mid_line(b"HTTP/1.1 503 Oo")) as port:
        t = f"http://127.0.0.1:{port}/"
        assert_fail(probe("-t", "2s", t), t, "HTTP 503")


def test_reset_mid_line_on_localhost(probe, dual_fault_server):
    with dual_fault_server(reset_mid_line()) as (port, v4, v6):
        t = f"http://localhost:{port}/"
        r = probe("-t", "2s", t)
        assert_fail(r, t, "connection reset")


# -- SIGPIPE conditions ---------------------------------------------------------------

CLOSED_REASONS = (
    "connection reset",
    "connection closed",
    "connection closed before the status line",
)


def _assert_closed_reason(r, t):
    assert r.rc == 1, f"exit {r.rc} (negative: killed by a signal, e.g. -13 = SIGPIPE)\n{r}"
    assert fail_reason(r, t) in CLOSED_REASONS, str(r)


@pytest.mark.parametrize("rst", [False, True], ids=["FIN", "RST"])
def test_server_closes_before_reading_request_tcp(probe, fault_server, rst):
    with fault_server(close_unread(rst=rst)) as port:
        t = f"http://127.0.0.1:{port}/"
        for _ in range(5):
            r = probe("-t", "1s", t)
            _assert_closed_reason(r, t)
            assert_exits_by_itself(r, 1)


def test_server_closes_before_reading_request_unix(probe):
    """On a Unix socket a send to a closed peer is EPIPE, which raises
    SIGPIPE unless the probe sends with MSG_NOSIGNAL."""
    with FaultServer(close_unread(), unix=True) as srv:
        t = f"http+unix:{srv.spec}:/"
        for _ in range(10):
            _assert_closed_reason(probe("-t", "1s", t), t)


def test_server_answers_and_closes_unread_unix(probe):
    with FaultServer(close_unread(b"HTTP/1.1 503 Nope\r\n\r\n"), unix=True) as srv:
        t = f"http+unix:{srv.spec}:/"
        for _ in range(5):
            r = probe("-t", "1s", t)
            assert r.rc == 1, str(r)
            assert r.lines[0] in [line(t, x) for x in ("HTTP 503", *CLOSED_REASONS)], str(r)


@pytest.mark.native
@needs_strace
@pytest.mark.parametrize("kind", ["unix", "tcp-rst", "tcp-fin"])
def test_send_to_a_peer_that_is_gone(kind, fault_server):
    """Deterministic SIGPIPE condition: strace delays the probe's send by
    200 ms, by which time the server has closed the connection. The send
    fails (EPIPE on a Unix socket) and the probe exits 1 with a reason."""
    delay = ["-e", "inject=sendto,sendmsg:delay_enter=200000"]
    if kind == "unix":
        ctx = FaultServer(close_unread(), unix=True)
    else:
        ctx = fault_server(close_unread(rst=kind == "tcp-rst"))
    with ctx as srv:
        t = f"http+unix:{srv.spec}:/" if kind == "unix" else f"http://127.0.0.1:{srv}/"
        with tempfile.NamedTemporaryFile("r", suffix=".strace") as f:
            r = run_probe(
                "-t", "2s", t,
                prefix=[STRACE, "-f", "-qq", "-o", f.name, "-e", "trace=sendto,sendmsg,write", *delay],
                check=False,
            )
            trace = f.read()
        check_contract(r)
        _assert_closed_reason(r, t)
        sends = [l for l in trace.splitlines() if "sendto(" in l or "sendmsg(" in l]
        assert all("MSG_NOSIGNAL" in l for l in sends), trace
        if kind != "tcp-rst":  # after an RST the probe may not send at all
            assert sends, f"no send traced\n{trace}"
        assert "SIGPIPE" not in trace, f"a SIGPIPE was raised\n{trace}"
        if kind == "unix":
            assert "EPIPE" in sends[0], f"the condition was not reached\n{trace}"


# getpeername's number, as /proc/PID/syscall shows it (native tests only).
GETPEERNAME = {"x86_64": 52, "aarch64": 205}.get(platform.machine())


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _in_syscall(pid: int, nr: int) -> bool:
    """Whether `pid` stands in syscall `nr` (blocked, or stopped by a tracer
    at its entry)."""
    try:
        return Path(f"/proc/{pid}/syscall").read_text().split()[0] == str(nr)
    except (OSError, IndexError):
        return False


@pytest.mark.native
@needs_strace
def test_reset_before_the_peer_check_is_a_reset(fault_server):
    """A reset that lands after the probe saw its connect succeed but before
    it asks for the peer's address: getpeername fails (ENOTCONN), and that
    is `connection reset`, not a refused peer.

    The order is made, not left to the scheduler. The server accepts nothing
    (the kernel completes the connection all the same), so the probe finds
    it connected and calls getpeername, where strace holds it for a second.
    Only once the probe stands there (/proc/PID/syscall) does the test accept
    the connection and reset it. (A server that reset the connection as soon
    as it accepted it raced the probe: under load the reset came before the
    probe read SO_ERROR, which then reported it, and getpeername was never
    called.)"""
    if GETPEERNAME is None:
        pytest.skip(f"getpeername's number on {platform.machine()} is not known here")
    with fault_server(faultserver.accept_never()) as port:
        t = f"http://127.0.0.1:{port}/"
        with tempfile.NamedTemporaryFile("r", suffix=".strace") as f:
            start = time.monotonic()
            strace = subprocess.Popen(
                [STRACE, "-f", "-qq", "-o", f.name, "-e", "trace=getpeername",
                 "-e", "inject=getpeername:delay_enter=1000000", str(BIN), "-t", "5s", t],
                env={}, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            )
            try:
                at_peer_check = lambda: any(_in_syscall(c, GETPEERNAME) for c in _children(strace.pid))  # noqa: E731
                assert _wait_until(at_peer_check, timeout=5), "the probe never reached getpeername"
                assert port.pending_connections(reset=True) == 1
                out, err = strace.communicate(timeout=10)
            finally:
                if strace.poll() is None:
                    strace.kill()
                    strace.wait()
            trace = f.read()
        r = Result(args=["-t", "5s", t], rc=strace.returncode, out=out.decode(), err=err.decode(),
                   elapsed=time.monotonic() - start, trace=trace)
        check_contract(r)
        assert "ENOTCONN" in trace, f"the condition was not reached\n{r}"
        assert_fail(r, t, "connection reset")


# -- stdio closed, full, broken ---------------------------------------------------------


def _sh(script, env, timeout=10, **kw):
    start = time.monotonic()
    p = subprocess.run(["/bin/sh", "-c", script], env=env, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout, **kw)
    return Result(
        args=[script], rc=p.returncode, out=p.stdout.decode("utf-8", "replace"),
        err=p.stderr.decode("utf-8", "replace"), elapsed=time.monotonic() - start,
    )


@pytest.mark.parametrize(
    "redir",
    ["2>&-", "0<&- 2>&-", "0<&- 1>&- 2>&-", "2>/dev/full", "1>/dev/full 2>/dev/full"],
    ids=["stderr-closed", "stdin+stderr-closed", "all-closed", "stderr-full", "stdout+stderr-full"],
)
@pytest.mark.native
def test_stdio_unusable_still_exit_1(fault_server, redir):
    with fault_server(faultserver.hang()) as port:
        r = _sh(f'exec {redir}; exec "$P" -t 300ms http://127.0.0.1:$PORT/', {"P": str(BIN), "PORT": str(port)})
        assert r.rc == 1, f"expected exit 1, got {r.rc}\n{r}"
        assert r.elapsed < 0.3 + MARGIN + 0.05, str(r)  # + a shell


@pytest.mark.native
@pytest.mark.parametrize("redir", ["1>&-", "0<&- 1>&-", "1>/dev/full"], ids=["stdout-closed", "stdin+stdout-closed", "stdout-full"])
def test_stdout_unusable_with_verbose_pass(fault_server, redir):
    """-v prints the pass line on stdout; an unusable stdout does not turn a
    pass into a crash (exit 0 or 1, never a signal)."""
    with fault_server(OK) as port:
        r = _sh(f'exec {redir}; exec "$P" -v http://127.0.0.1:$PORT/', {"P": str(BIN), "PORT": str(port)})
        assert r.rc in (0, 1), str(r)


@pytest.mark.native
def test_closed_stdio_never_leaks_output_into_a_socket():
    """With fds 0-2 closed, the probe's first descriptors get numbers 0-2.
    Its report lines must not end up in a connection to the app."""
    with FaultServer(record()) as hang, FaultServer(record(reply=OK)) as ok:
        targets = f"http://127.0.0.1:{ok.port}/ http://127.0.0.1:{hang.port}/ tcp://127.0.0.1:{ok.port}"
        for redir in ("0<&- 1>&- 2>&-", "0<&- 2>&-", "0<&- 1>&-"):
            r = _sh(f'exec {redir}; exec "$P" -v -t 300ms {targets}', {"P": str(BIN)})
            assert r.rc == 1, str(r)
        assert hang.wait_done() and ok.wait_done()
        for buf in [c.received for c in hang.conns + ok.conns]:
            assert b"scratchprobe:" not in bytes(buf), bytes(buf)
            if buf:
                assert bytes(buf).startswith(b"GET / HTTP/1.1\r\n") and bytes(buf).endswith(b"\r\n\r\n"), bytes(buf)


@pytest.mark.native
def test_stderr_on_a_broken_pipe_still_exit_1(fault_server):
    """SPEC, Results: exit 1 for anything else, "never a crash: no input
    makes it ... exit by a signal of its own doing". When the reader of
    stderr is gone (a supervisor that closed its end), writing the failure
    line must not kill the probe with SIGPIPE: expected exit 1, not -13."""
    r_fd, w_fd = os.pipe()
    os.close(r_fd)
    try:
        with fault_server(faultserver.hang()) as port:
            start = time.monotonic()
            p = subprocess.run(
                [str(BIN), "-t", "300ms", f"http://127.0.0.1:{port}/"],
                env={}, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=w_fd, timeout=10,
            )
            took = time.monotonic() - start
    finally:
        os.close(w_fd)
    assert p.returncode == 1, f"exit {p.returncode} (-13: killed by SIGPIPE writing to stderr)"
    assert took < 0.3 + MARGIN


# -- ulimit -n ----------------------------------------------------------------------------


@pytest.mark.native
@pytest.mark.parametrize("limit", [1, 2, 3, 4, 5])
def test_ulimit_nofile_tiny(dual_fault_server, limit):
    """3 fds go to stdio; the timer and the sockets need more. Every target
    that cannot get its descriptors fails with its line; exit 1, no signal,
    at once."""
    with dual_fault_server(OK) as (port, v4, v6):
        ts = [f"http://127.0.0.1:{port}/", f"localhost:{port}", f"tcp://[::1]:{port}"]
        r = _sh(f'ulimit -n {limit} && exec "$P" -t 500ms {" ".join(ts)}', {"P": str(BIN)})
        check_contract(r)
        assert r.rc in (0, 1), str(r)
        if limit <= 4:
            assert r.rc == 1, str(r)
            assert [l.split(": ")[1] for l in r.lines] == ts, str(r)
            # the timer (limit <= 3) or the sockets (4) cannot be had
            assert all(l.endswith((": too many open files", ": cannot create a timer")) for l in r.lines), str(r)
        assert r.elapsed < 0.5 + MARGIN, str(r)


@pytest.mark.native
def test_ulimit_nofile_tiny_local_targets(tmp_path):
    (tmp_path / "report").write_text("3 updates\n")
    with FaultServer(faultserver.hang(), unix=True) as srv:
        for limit in (3, 4, 5):
            r = _sh(
                f'ulimit -n {limit} && exec "$P" -t 500ms file:{tmp_path}/report?empty unix:{srv.spec} http+unix:{srv.spec}:/',
                {"P": str(BIN)},
            )
            check_contract(r)
            assert r.rc == 1 and len(r.lines) >= 1, str(r)
            assert r.elapsed < 0.5 + MARGIN, str(r)


@pytest.mark.native
def test_ulimit_nofile_enough(dual_fault_server):
    with dual_fault_server(OK) as (port, v4, v6):
        r = _sh(f'ulimit -n 12 && exec "$P" http://127.0.0.1:{port}/ localhost:{port} tcp://[::1]:{port}', {"P": str(BIN)})
        assert (r.rc, r.err) == (0, ""), str(r)


# -- signals during poll (EINTR) -------------------------------------------------------------


def _run_with(args, during, timeout=10):
    """Runs the probe; `during(proc)` acts on it while it runs. Returns
    (Result, seconds from start)."""
    start = time.monotonic()
    p = subprocess.Popen([str(BIN), *args], env={}, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        info = during(p) or {}
        out, err = p.communicate(timeout=timeout)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    r = Result(args=args, rc=p.returncode, out=out.decode(), err=err.decode(), elapsed=time.monotonic() - start, extra=info)
    check_contract(r)
    return r


@pytest.mark.native
def test_a_trap_exits_1_not_by_a_signal(fault_server):
    """The shipped builds compile a panic to one trap instruction (`ud2`,
    SIGILL on x86_64): the probe catches it and exits 1, the contract's answer
    to an internal error, instead of dying by the signal. No input makes it
    panic, so the trap is sent from outside here, mid-probe."""
    with fault_server(faultserver.hang()) as port:
        t = f"http://127.0.0.1:{port}/"

        def during(p):
            time.sleep(0.2)
            p.send_signal(signal.SIGILL)

        r = _run_with(["-t", "5s", t], during)
        assert (r.rc, r.out, r.err) == (1, "", ""), str(r)
        assert r.elapsed < 4, str(r)


@pytest.mark.native
@pytest.mark.parametrize("phase", ["status", "connect"])
def test_sigstop_sigcont_within_the_deadline(fault_server, phase):
    behaviour = faultserver.hang() if phase == "status" else faultserver.full_backlog()
    with fault_server(behaviour) as port:
        t = f"http://127.0.0.1:{port}/"

        def during(p):
            time.sleep(0.2)
            p.send_signal(signal.SIGSTOP)
            time.sleep(0.3)
            p.send_signal(signal.SIGCONT)

        r = _run_with(["-t", "1s", t], during)
        want = "waiting for the status line" if phase == "status" else "connecting"
        assert_fail(r, t, f"timed out after 1s while {want}")
        assert 1.0 <= r.elapsed < 1.0 + MARGIN, str(r)


@pytest.mark.native
@pytest.mark.parametrize("phase", ["status", "connect"])
def test_sigstop_past_the_deadline_exits_at_once_on_sigcont(fault_server, phase):
    behaviour = faultserver.hang() if phase == "status" else faultserver.full_backlog()
    with fault_server(behaviour) as port:
        t = f"http://127.0.0.1:{port}/"

        def during(p):
            time.sleep(0.2)
            p.send_signal(signal.SIGSTOP)
            time.sleep(1.2)
            sent = time.monotonic()
            p.send_signal(signal.SIGCONT)
            p.wait(timeout=5)
            return {"after_cont": time.monotonic() - sent}

        r = _run_with(["-t", "1s", t], during)
        want = "waiting for the status line" if phase == "status" else "connecting"
        assert_fail(r, t, f"timed out after 1s while {want}")
        assert r.extra["after_cont"] < MARGIN, str(r)


@pytest.mark.native
@pytest.mark.parametrize("phase", ["status", "connect", "unix-status"])
def test_harmless_signals_during_poll(fault_server, phase):
    """SIGWINCH, SIGCHLD, SIGURG and SIGCONT are ignored by default; a storm
    of them during poll neither ends the wait early nor stretches it."""
    if phase == "unix-status":
        ctx = FaultServer(faultserver.hang(), unix=True)
    else:
        ctx = fault_server(faultserver.hang() if phase == "status" else faultserver.full_backlog())
    with ctx as srv:
        t = f"http+unix:{srv.spec}:/" if phase == "unix-status" else f"http://127.0.0.1:{srv}/"

        def during(p):
            n = 0
            while p.poll() is None:
                for s in (signal.SIGWINCH, signal.SIGCHLD, signal.SIGURG, signal.SIGCONT):
                    try:
                        p.send_signal(s)
                        n += 1
                    except ProcessLookupError:
                        break
                time.sleep(0.005)
            return {"signals": n}

        r = _run_with(["-t", "700ms", t], during)
        want = "connecting" if phase == "connect" else "waiting for the status line"
        assert_fail(r, t, f"timed out after 700ms while {want}")
        assert 0.7 <= r.elapsed < 0.7 + MARGIN, str(r)
        assert r.extra["signals"] > 100, r.extra


@pytest.mark.native
def test_harmless_signals_do_not_break_a_pass(fault_server):
    with fault_server(faultserver.drip(b"HTTP/1.1 200 OK\r\n\r\n", 0.01)) as port:

        def during(p):
            while p.poll() is None:
                try:
                    p.send_signal(signal.SIGWINCH)
                    p.send_signal(signal.SIGCHLD)
                except ProcessLookupError:
                    break
                time.sleep(0.002)

        r = _run_with(["-t", "2s", f"http://127.0.0.1:{port}/"], during)
        assert (r.rc, r.err) == (0, ""), str(r)


# -- one family only ------------------------------------------------------------------------


@pytest.mark.parametrize("family", ["::1", "127.0.0.1"], ids=["ipv6-only", "ipv4-only"])
@pytest.mark.parametrize("target", ["localhost:{p}", "http://:{p}/", "http://localhost:{p}/healthz", "tcp://localhost:{p}"])
def test_server_on_one_family_only(family, target):
    """The other family's port is bound but not listening (held by the test),
    so connecting there is refused for sure; the probe must still pass, at
    once."""
    v4, v6 = faultserver.free_port_pair()
    port = v4.getsockname()[1]
    keep, drop = (v4, v6) if family == "::1" else (v6, v4)
    drop.close()
    try:
        with faultserver.FaultServer(OK, host=family, port=port) as srv:
            t = target.format(p=port)
            r = run_probe("-t", "1s", t)
            assert (r.rc, r.out, r.err) == (0, "", ""), str(r)
            assert r.elapsed < 0.2, str(r)
            if not t.startswith("tcp:"):
                srv.sync()
                assert len(srv.requests) == 1, srv.requests
    finally:
        keep.close()


@pytest.mark.parametrize("family", ["::1", "127.0.0.1"], ids=["ipv6-only", "ipv4-only"])
def test_one_family_only_failure_reports_the_server(family):
    """The family that answers decides: a 503 there is `HTTP 503`, not the
    other family's `connection refused`."""
    v4, v6 = faultserver.free_port_pair()
    port = v4.getsockname()[1]
    keep, drop = (v4, v6) if family == "::1" else (v6, v4)
    drop.close()
    try:
        with faultserver.FaultServer(b"HTTP/1.1 503 Busy\r\n\r\n", host=family, port=port):
            t = f"localhost:{port}"
            assert_fail(run_probe("-t", "1s", t), t, "HTTP 503")
    finally:
        keep.close()
