"""Command line: help, version, usage errors, durations, environment
expansion, --idle, and inputs that must never crash the probe."""

from __future__ import annotations

import signal
import subprocess
import time

import pytest

from conftest import BIN, VERSION, assert_pass, check_contract, line, run_probe
from faultserver import hang

OK = b"HTTP/1.1 200 OK\r\n\r\n"


def assert_usage_error(r, *words):
    """rc 1, one stderr line `scratchprobe: ...` holding the key words."""
    assert r.rc == 1, str(r)
    assert r.out == "", str(r)
    assert len(r.lines) == 1, str(r)
    assert r.lines[0].startswith("scratchprobe: "), str(r)
    for w in words:
        assert w in r.lines[0], f"{w!r} not in the message\n{r}"


# -- help and version ----------------------------------------------------------


@pytest.mark.parametrize("opt", ["--help", "-h"])
def test_help(probe, opt):
    r = probe(opt)
    assert (r.rc, r.err) == (0, ""), str(r)
    assert "usage" in r.out.lower() and "scratchprobe" in r.out, str(r)
    for word in ("--timeout", "--status", "--method", "--header", "--verbose", "--idle", "http://", "tcp://"):
        assert word in r.out, f"help does not mention {word}\n{r}"


@pytest.mark.parametrize("opt", ["--version", "-V"])
def test_version(probe, opt):
    r = probe(opt)
    assert (r.rc, r.out, r.err) == (0, f"scratchprobe {VERSION}\n", ""), str(r)


def test_help_wins_over_targets(probe, closed_port):
    r = probe("--help", f"http://127.0.0.1:{closed_port}/")
    assert (r.rc, r.err) == (0, ""), str(r)
    assert "usage" in r.out.lower(), str(r)


# -- usage errors ----------------------------------------------------------------


def test_no_arguments(probe):
    assert_usage_error(probe(), "no target", "--help")


def test_options_but_no_target(probe):
    assert_usage_error(probe("-t", "1s", "-v"), "no target")


@pytest.mark.parametrize("opt", ["--foo", "-q", "--timeout-ms", "--verbose=1"])
def test_unknown_option(probe, opt):
    assert_usage_error(probe(opt, ":1"), "unknown option", opt.split("=")[0], "--help")


@pytest.mark.parametrize("opt", ["-t", "--timeout", "-s", "--status", "-X", "--method", "-H", "--header"])
def test_option_without_value(probe, opt):
    r = probe(opt)
    assert_usage_error(r)


@pytest.mark.parametrize(
    "args",
    [
        ["-t", "abc"],
        ["-t", ""],
        ["-t", "-1s"],
        ["-t", "1 s"],
        ["-t", "s"],
        ["-s", "abc"],
        ["-s", ""],
        ["-s", "200-"],
        ["-s", ","],
        ["-s", "2000"],
        ["-X", ""],
    ],
    ids=lambda a: " ".join(a) or "empty",
)
def test_bad_option_value(probe, closed_port, args):
    """A bad value is a usage error: rc 1, one line, nothing is checked."""
    assert_usage_error(probe(*args, f"http://127.0.0.1:{closed_port}/"))


@pytest.mark.parametrize("target", ["ftp://127.0.0.1/", "gopher://127.0.0.1:70", "tcp://127.0.0.1", "http://127.0.0.1:99999/",
                                    "http://127.0.0.1:0/", "http://127.0.0.1:12ab/", "http://[::1/", "tcp://:"])
def test_bad_target(probe, target):
    r = probe(target)
    assert r.rc == 1 and len(r.lines) == 1 and r.out == "", str(r)


# -- durations ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "given,printed,seconds",
    [("250ms", "250ms", 0.25), ("0.3", "300ms", 0.3), ("1000ms", "1s", 1.0), ("1s", "1s", 1.0)],
)
def test_duration_printed(probe, fault_server, given, printed, seconds):
    with fault_server(hang()) as port:
        t = f"http://127.0.0.1:{port}/"
        r = probe("-t", given, t)
        assert r.rc == 1 and r.lines == [line(t, f"timed out after {printed} while waiting for the status line")], str(r)
        assert seconds - 0.02 <= r.elapsed < seconds + 0.12, str(r)


@pytest.mark.parametrize("given", ["1m", "1m30s", "2", "1.5", "90s", "30000ms"])
def test_duration_forms_accepted(probe, fault_server, given):
    """Long deadlines are accepted; a fast answer makes them irrelevant."""
    with fault_server(OK) as port:
        assert_pass(probe("-t", given, f"http://127.0.0.1:{port}/"), server=port, requests=1)


def test_long_timeout_option(probe, fault_server):
    with fault_server(hang()) as port:
        t = f"http://127.0.0.1:{port}/"
        r = probe("--timeout", "200ms", t)
        assert r.lines == [line(t, "timed out after 200ms while waiting for the status line")], str(r)


# -- environment expansion -----------------------------------------------------------


def test_env_port(probe, fault_server):
    with fault_server(OK) as port:
        assert_pass(probe("http://:${PORT}/", env={"PORT": str(port)}), server=port, requests=1)
        assert_pass(probe("http://127.0.0.1:$PORT/healthz", env={"PORT": str(port)}), server=port, requests=2)
        assert port.requests[-1].startswith(b"GET /healthz HTTP/1.1\r\n")


def test_env_default_used_when_unset_or_empty(probe, fault_server):
    with fault_server(OK) as port:
        assert_pass(probe(f"http://:${{PORT:-{port}}}/"), server=port, requests=1)
        assert_pass(probe(f"http://:${{PORT:-{port}}}/", env={"PORT": ""}), server=port, requests=2)


def test_env_set_beats_default(probe, fault_server, closed_port):
    with fault_server(OK) as port:
        assert_pass(probe(f"http://:${{PORT:-{closed_port}}}/", env={"PORT": str(port)}), server=port, requests=1)


def test_env_dollar_dollar(probe, fault_server):
    with fault_server(OK) as port:
        assert_pass(probe(f"http://127.0.0.1:{port}/a$$b"), server=port, requests=1)
        assert port.requests[-1].startswith(b"GET /a$b HTTP/1.1\r\n"), port.requests


def test_env_in_options(probe, fault_server):
    with fault_server(OK) as port:
        env = {"TOKEN": "s3cret", "T": "1s", "M": "HEAD", "S": "200"}
        assert_pass(probe("-t", "$T", "-X", "${M}", "-s", "$S", "-H", "X-Token: ${TOKEN}", f"http://127.0.0.1:{port}/", env=env), server=port, requests=1)
        req = port.requests[-1]
        assert req.startswith(b"HEAD / HTTP/1.1\r\n") and b"\r\nX-Token: s3cret\r\n" in req, req


def test_env_timeout_in_message(probe, fault_server):
    with fault_server(hang()) as port:
        t = f"http://127.0.0.1:{port}/"
        r = probe("-t", "${T}", t, env={"T": "250ms"})
        assert r.lines == [line(t, "timed out after 250ms while waiting for the status line")], str(r)


def test_failure_line_shows_expanded_target(probe, closed_port):
    r = probe("http://127.0.0.1:${P}/x", env={"P": str(closed_port)})
    assert r.rc == 1 and r.lines == [line(f"http://127.0.0.1:{closed_port}/x", "connection refused")], str(r)


@pytest.mark.parametrize("arg", ["http://:${NOPE}/", "http://:$NOPE/", "${NOPE}"])
def test_env_unset_is_an_error(probe, fault_server, arg):
    with fault_server(OK) as port:
        r = probe(arg, f"http://127.0.0.1:{port}/", env={"OTHER": "1"})
        assert_usage_error(r, "NOPE", "not set")
        assert port.connection_count() == 0, "an error in the arguments stops the whole run"


def test_env_unset_in_option(probe):
    assert_usage_error(probe("-H", "X-A: $NOPE", ":1"), "NOPE", "not set")


def test_environment_is_not_leaked(probe, fault_server):
    """Only the variables named in arguments are read; nothing else ends up
    in the request."""
    with fault_server(OK) as port:
        assert_pass(probe(f"http://127.0.0.1:{port}/", env={"HTTP_PROXY": "x", "USER_AGENT": "evil", "HOST": "evil"}), server=port, requests=1)
        assert b"evil" not in port.requests[-1]


# -- --idle -------------------------------------------------------------------------


@pytest.mark.native
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_idle_until_signal(sig):
    if not BIN.is_file():
        pytest.fail(f"probe binary not built: {BIN}")
    p = subprocess.Popen([str(BIN), "--idle"], env={}, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        time.sleep(0.3)
        assert p.poll() is None, "--idle must keep running"
        start = time.monotonic()
        p.send_signal(sig)
        out, err = p.communicate(timeout=2)
        assert time.monotonic() - start < 0.5
        assert (p.returncode, out, err) == (0, b"", b"")
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


# -- never a crash, never 2 ------------------------------------------------------------


WEIRD = [
    ["$"], ["${"], ["${X"], ["${X:-"], ["${:-x}"], ["$1"], ["-"], ["--"], [""], [" "],
    ["x" * 5000],
    ["http://" + "a" * 5000 + "/"],
    ["http://127.0.0.1:{c}/" + "a" * 10000],
    ["-H", "X-A: " + "b" * 10000, "http://127.0.0.1:{c}/"],
    ["-X", "M" * 5000, "http://127.0.0.1:{c}/"],
    ["-t", "99999999999999999999999999s", "http://127.0.0.1:{c}/"],
    ["-t", "0", "http://127.0.0.1:{c}/"],
    ["-t", "0ms", "http://127.0.0.1:{c}/"],
    ["-s", "999999999999999999", "http://127.0.0.1:{c}/"],
    ["-s", "299-200", "http://127.0.0.1:{c}/"],
    ["-s", ",".join(str(200 + i) for i in range(300)), "http://127.0.0.1:{c}/"],
    ["http://127.0.0.1:{c}/"] * 200,
    ["-H", "X: 1"] * 300 + ["http://127.0.0.1:{c}/"],
    ["http://[::ffff:127.0.0.1:{c}/"],
    ["http://[]:{c}/"],
    ["http://:{c}:{c}/"],
    ["http://127.0.0.1:{c}" + "/%" * 50],
    ["\xff\xfe"],
    ["http://127.0.0.1:{c}/\u00e9\u4e2d"],
    ["${" + "A" * 5000 + "}"],
    ["$" + "A" * 5000],
]


@pytest.mark.parametrize("args", WEIRD, ids=[f"weird{i}" for i in range(len(WEIRD))])
def test_never_crashes(closed_port, args):
    """Exit 1 (every one of these is an error or a closed port), no signal,
    every stderr line under 200 bytes and prefixed."""
    r = run_probe(*[a.replace("{c}", str(closed_port)) for a in args], timeout=10)
    check_contract(r)
    assert r.rc == 1, str(r)
    assert r.lines, str(r)
