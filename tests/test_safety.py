"""What hostile input cannot make the probe do (issue 18): change state on a
local API, send a control byte in a header, print a header's value, or take
an option from the environment.

Every refusal is a usage error: exit 1, one line, and no connection at all
(the servers here record every connection they are offered).
"""

from __future__ import annotations

import contextlib
import socket
import tempfile
from pathlib import Path

import pytest

from conftest import assert_pass, line, run_probe

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"


@contextlib.contextmanager
def listening_unix_socket(name: str = "docker.sock"):
    """A Unix socket that listens and never accepts: yields (path, count),
    where count() is how many connections were offered to it."""
    d = Path(tempfile.mkdtemp(prefix="sps-", dir="/tmp"))
    path = d / name
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(str(path))
    s.listen(16)
    s.setblocking(False)

    def count() -> int:
        n = 0
        while True:
            try:
                conn, _ = s.accept()
            except BlockingIOError:
                return n
            conn.close()
            n += 1

    try:
        yield path, count
    finally:
        s.close()
        path.unlink(missing_ok=True)
        d.rmdir()


def assert_refused_usage(r, text: str):
    assert r.rc == 1 and r.out == "", str(r)
    assert r.lines == [f"scratchprobe: {text}"], str(r)


# -- a health check never changes state --------------------------------------

# What an attacker with the probe could send to a Docker socket, were other
# methods allowed: each of these changes state on the host.
DOCKER_API_CALLS = [
    ("POST", "/containers/app/kill", []),
    ("DELETE", "/containers/app?force=1", []),
    ("POST", "/images/create?fromImage=evil/miner&tag=latest", []),
    ("POST", "/build?remote=https://evil.example/x.tar&networkmode=host", []),
    ("POST", "/images/evil/push", ["-H", "X-Registry-Auth: eyJ1c2VybmFtZSI6ImEifQ"]),
    ("PUT", "/containers/app/archive?path=/", []),
    ("PATCH", "/v1.43/swarm/update", []),
]


@pytest.mark.parametrize("method,path,extra", DOCKER_API_CALLS, ids=[f"{m} {p}" for m, p, _ in DOCKER_API_CALLS])
def test_no_state_changing_call_reaches_a_local_api(method, path, extra):
    with listening_unix_socket() as (sock, connections):
        for spelled in (["-X", method], [f"--method={method}"]):
            r = run_probe(*spelled, *extra, f"http+unix:{sock}:{path}")
            assert_refused_usage(r, f"bad method: {method} (a health check only reads: GET, HEAD or OPTIONS)")
        # Not through the environment either.
        r = run_probe("-X", "${M}", f"http+unix:{sock}:{path}", env={"M": method})
        assert r.rc == 1 and "bad method" in r.err, str(r)
        assert connections() == 0


@pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS"])
def test_safe_methods_are_sent(probe, fault_server, method):
    with fault_server(OK) as port:
        assert_pass(probe("-X", method, f"http://127.0.0.1:{port}/h"), server=port, requests=1)
        assert port.requests[0].startswith(f"{method} /h HTTP/1.1\r\n".encode())


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "CONNECT", "TRACE", "get", "M-SEARCH"])
def test_other_methods_are_usage_errors(probe, fault_server, method):
    with fault_server(OK) as port:
        r = probe("-X", method, f"http://127.0.0.1:{port}/")
        assert_refused_usage(r, f"bad method: {method} (a health check only reads: GET, HEAD or OPTIONS)")
        assert port.connection_count() == 0


# -- header values: no control bytes, never printed --------------------------

CONTROL_BYTES = {"VT": "\x0b", "FF": "\x0c", "ESC": "\x1b", "DEL": "\x7f", "BEL": "\x07", "CR": "\r", "LF": "\n"}


@pytest.mark.parametrize("byte", CONTROL_BYTES.values(), ids=CONTROL_BYTES.keys())
def test_control_bytes_in_header_values_are_refused(probe, fault_server, byte):
    with fault_server(OK) as port:
        r = probe("-H", f"X-Token: a{byte}b", f"http://127.0.0.1:{port}/")
        assert_refused_usage(r, "bad header X-Token: its value holds a control character")
        assert port.connection_count() == 0


def test_obs_text_and_tabs_in_header_values_are_sent(probe, fault_server):
    with fault_server(OK) as port:
        value = "caf\u00e9\tb"
        assert_pass(probe("-H", f"X-Name: {value}", f"http://127.0.0.1:{port}/"), server=port, requests=1)
        assert f"\r\nX-Name: {value}\r\n".encode() in port.requests[0]


SECRET = "s3cr3t-t0ken"


@pytest.mark.parametrize(
    "header,reason",
    [
        (f"Authorization: Bearer {SECRET}\x1b[2J", "bad header Authorization: its value holds a control character"),
        (f"Bearer {SECRET}", "bad header: not 'Name: value'"),
        (f"Authorization: Bearer {SECRET}\r\nX-Evil: 1", "bad header Authorization: its value holds a control character"),
    ],
    ids=["control byte", "no name", "injection"],
)
def test_a_refused_header_never_shows_its_value(probe, header, reason):
    # Given directly, and through the environment (exec form: `-H 'Authorization: ${TOKEN}'`).
    for args, env in (((header,), {}), (("${H}",), {"H": header})):
        r = probe("-H", *args, "http://127.0.0.1:1/", env=env)
        assert_refused_usage(r, reason)
        assert SECRET not in r.err + r.out, str(r)


def test_a_failing_target_never_shows_header_values(probe, closed_port):
    t = f"http://127.0.0.1:{closed_port}/"
    r = probe("-v", "-H", f"Authorization: Bearer {SECRET}", t)
    assert r.lines == [line(t, "connection refused")], str(r)
    assert SECRET not in r.err + r.out


# -- the environment gives values, never options -----------------------------


@pytest.mark.parametrize("option", ["--help", "-h", "-V", "--version", "--idle", "-v", "--timeout=1s", "--", "-X"])
def test_an_expanded_argument_is_never_an_option(probe, option):
    """`${X}` is decided to be a target on its text as written; expanded to
    an option's spelling it is refused as a target, at once (`--idle` does
    not wait, `--help` prints nothing)."""
    r = probe("${X}", env={"X": option}, timeout=5)
    assert r.rc == 1 and r.out == "", str(r)
    assert len(r.lines) == 1 and r.lines[0].startswith(f"scratchprobe: {option}: "), str(r)


def test_option_values_may_come_from_the_environment(probe, fault_server):
    with fault_server(OK) as port:
        env = {"T": "3s", "M": "HEAD", "TOKEN": SECRET}
        r = probe("-t", "$T", "-X", "$M", "-H", "Authorization: Bearer ${TOKEN}", f"http://127.0.0.1:{port}/", env=env)
        assert_pass(r, server=port, requests=1)
        assert port.requests[0].startswith(b"HEAD / HTTP/1.1\r\n")
        assert f"Authorization: Bearer {SECRET}\r\n".encode() in port.requests[0]


def test_double_dash_still_ends_the_options(probe):
    r = probe("--", "-v")
    assert_refused_usage(r, "-v: refused: -v is not a loopback address")
