"""Proofs that the probe reaches nothing but loopback.

Every target that must be refused runs under strace in a fresh network
namespace with no interface up: even a broken probe could not send a packet
anywhere, and the trace shows that it did not even create a socket.
Passing targets run under strace too: every connect() goes to 127.x or ::1.
The last tests run the binary alone in an empty chroot inside a network
namespace of its own, the way a FROM-scratch container runs it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import (
    BIN,
    IP,
    TESTS,
    assert_pass,
    connect_addresses,
    is_loopback_addr,
    is_root,
    line,
)

OK = b"HTTP/1.1 200 OK\r\n\r\n"


def assert_no_socket(r):
    assert r.syscalls("socket") == [] and r.syscalls("connect") == [], f"a socket was made\n{r}"


# (target, host text as the message must show it)
REFUSED = [
    ("http://10.0.0.1/", "10.0.0.1"),
    ("http://10.0.0.5:8080/healthz", "10.0.0.5"),
    ("http://192.168.1.1/", "192.168.1.1"),
    ("http://172.16.0.1:80/", "172.16.0.1"),
    ("http://169.254.169.254/latest/meta-data/", "169.254.169.254"),
    ("http://8.8.8.8/", "8.8.8.8"),
    ("http://255.255.255.255/", "255.255.255.255"),
    ("http://224.0.0.1/", "224.0.0.1"),
    ("http://example.com/", "example.com"),
    ("http://localhost.example/", "localhost.example"),
    ("http://localhost.localdomain/", "localhost.localdomain"),
    ("http://127.0.0.1.nip.io/", "127.0.0.1.nip.io"),
    ("http://[::ffff:10.0.0.1]/", "[::ffff:10.0.0.1]"),
    ("http://[::ffff:169.254.169.254]/", "[::ffff:169.254.169.254]"),
    ("http://127.0.0.1@10.0.0.1/", "127.0.0.1@10.0.0.1"),
    ("http://localhost@example.com/", "localhost@example.com"),
    ("http://[2001:db8::1]/", "[2001:db8::1]"),
    ("http://[2001:db8::1]:8080/", "[2001:db8::1]"),
    ("http://[fe80::1]/", "[fe80::1]"),
    ("http://[::2]/", "[::2]"),
    ("http://0x7f.1/", "0x7f.1"),
    ("http://0x7f000001/", "0x7f000001"),
    ("http://2130706433/", "2130706433"),
    ("http://127.1/", "127.1"),
    ("http://017700000001/", "017700000001"),
    ("http://0177.0.0.1/", "0177.0.0.1"),
    ("10.0.0.1:8080/healthz", "10.0.0.1"),
    ("example.com:80", "example.com"),
    ("tcp://10.0.0.1:80", "10.0.0.1"),
    ("tcp://example.com:443", "example.com"),
    ("tcp://[2001:db8::1]:22", "[2001:db8::1]"),
]


@pytest.mark.parametrize("target,host", REFUSED, ids=[t for t, _ in REFUSED])
def test_refused_without_a_socket(traced, target, host):
    r = traced(target, isolate=True)
    assert r.rc == 1, str(r)
    assert r.lines == [line(target, f"refused: {host} is not a loopback address")], str(r)
    assert "loopback" in r.err
    assert_no_socket(r)


def test_refusal_stops_the_whole_run(traced):
    """A refused target among good ones: exit 1, one line, and no socket at
    all, whatever the order."""
    for args in (["http://127.0.0.1:9/", "http://10.0.0.1/"], ["http://10.0.0.1/", "tcp://localhost:9"]):
        r = traced(*args, isolate=True)
        assert r.rc == 1, str(r)
        assert r.lines == [line("http://10.0.0.1/", "refused: 10.0.0.1 is not a loopback address")], str(r)
        assert_no_socket(r)


@pytest.mark.parametrize(
    "arg,env,target,host",
    [
        ("http://$HOST/", {"HOST": "10.0.0.1"}, "http://10.0.0.1/", "10.0.0.1"),
        ("http://${HOST}:8080/x", {"HOST": "example.com"}, "http://example.com:8080/x", "example.com"),
        ("http://${HOST:-10.0.0.1}/", {}, "http://10.0.0.1/", "10.0.0.1"),
        ("http://${H}${H2}/", {"H": "127.0.0.1@", "H2": "10.0.0.1"}, "http://127.0.0.1@10.0.0.1/", "127.0.0.1@10.0.0.1"),
        ("$URL", {"URL": "http://[2001:db8::1]/"}, "http://[2001:db8::1]/", "[2001:db8::1]"),
    ],
)
def test_expanded_host_is_checked(traced, arg, env, target, host):
    r = traced(arg, env=env, isolate=True)
    assert r.rc == 1, str(r)
    assert r.lines == [line(target, f"refused: {host} is not a loopback address")], str(r)
    assert_no_socket(r)


# Spellings where parsers disagree about the host. Whatever the probe makes
# of them, it may only ever connect to loopback.
TRICKY = [
    "http://10.0.0.1#@127.0.0.1/",
    "http://127.0.0.1#@10.0.0.1/",
    "http://10.0.0.1?@127.0.0.1/",
    "http://127.0.0.1\\@10.0.0.1/",
    "http://127.0.0.1:80@10.0.0.1/",
    "http://127.0.0.1%2f@10.0.0.1/",
    "http://[::1]@10.0.0.1/",
    "http://10.0.0.1\\.127.0.0.1/",
    "http://127.0.0.1 @10.0.0.1/",
    "http://127.0.0.1\t.10.0.0.1/",
    "//10.0.0.1/",
    "http:/10.0.0.1/",
    "http:10.0.0.1",
    "HTTP://10.0.0.1/",
    "hTtP://10.0.0.1:80/",
    "tcp://127.0.0.1@10.0.0.1:80",
    "tcp://10.0.0.1:80#127.0.0.1:80",
    "http://%31%30.0.0.1/",
    "http://[::ffff:a00:1]/",
    "http://[0:0:0:0:0:ffff:10.0.0.1]/",
    "http://[::10.0.0.1]/",
    "http://[::ffff:127.0.0.1%eth0]/",
    "http://[::1%25eth0]/",
    "http://0.0.0.0@10.0.0.1/",
    "http://localhost:80@10.0.0.1:80/",
    "http://127.0.0.1:8080:80@10.0.0.1/",
    "http://127.0.0.1./",
    "http://127.0.0.256/",
    "http://127.0.0.1.10/",
    "http://1.127.0.0.1/",
    "http://10.0.0.1/http://127.0.0.1/",
    "grpc://10.0.0.1:50051",
    "grpc://example.com:443/svc",
]


@pytest.mark.parametrize("target", TRICKY)
def test_tricky_spellings_never_leave_loopback(traced, target):
    r = traced(target, isolate=True)
    assert r.rc == 1, str(r)  # nothing listens in the empty namespace
    for a in connect_addresses(r):
        assert is_loopback_addr(a), f"connect() to {a}\n{r}"
    for s in r.syscalls("socket"):
        assert "AF_INET" in s or "AF_INET6" in s, f"unexpected socket family: {s}\n{r}"


PASSING = [
    "http://127.0.0.1:{p}/",
    "http://localhost:{p}/",
    "http://LOCALHOST:{p}/",
    "http://:{p}/",
    ":{p}",
    "localhost:{p}/healthz",
    "http://[::1]:{p}/",
    "http://0.0.0.0:{p}/",
    "http://[::]:{p}/",
    "http://[::ffff:127.0.0.1]:{p}/",
    "tcp://localhost:{p}",
    "tcp://127.0.0.1:{p}",
    "tcp://[::1]:{p}",
]


@pytest.mark.parametrize("target", PASSING)
def test_passing_targets_connect_only_to_loopback(traced, dual_fault_server, target):
    with dual_fault_server(OK) as (port, v4, v6):
        r = traced(target.format(p=port))
        assert_pass(r)
        addrs = connect_addresses(r)
        assert addrs, f"no connect() traced\n{r}"
        for a in addrs:
            assert is_loopback_addr(a), f"connect() to {a}\n{r}"
            assert a not in ("0.0.0.0", "::"), f"bind-all address used as is: {a}\n{r}"
        for c in r.syscalls("connect"):
            assert f"htons({port})" in c, f"connect() to another port\n{r}"


def test_127_0_0_2_connects_there(traced, fault_server):
    with fault_server(OK, host="127.0.0.2") as port:
        r = traced(f"http://127.0.0.2:{port}/")
        assert_pass(r)
        assert connect_addresses(r) == ["127.0.0.2"], str(r)


def test_proxy_variables_are_ignored(probe, fault_server):
    """http_proxy and friends point at a loopback 'proxy' that must see
    nothing; the origin server gets an origin-form request."""
    with fault_server(OK) as proxy, fault_server(OK) as origin:
        purl = f"http://127.0.0.1:{proxy}"
        env = {k: purl for k in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "ALL_PROXY", "all_proxy")}
        env["no_proxy"] = ""
        assert_pass(probe(f"http://localhost:{origin}/x", env=env))
        assert proxy.connection_count() == 0
        assert origin.requests[-1].startswith(b"GET /x HTTP/1.1\r\n"), origin.requests


def test_redirect_elsewhere_is_not_followed(traced, fault_server):
    with fault_server(b"HTTP/1.1 301 Moved\r\nLocation: http://10.0.0.1:80/\r\n\r\n") as port:
        r = traced(f"http://127.0.0.1:{port}/")
        assert_pass(r)
        assert connect_addresses(r) == ["127.0.0.1"], str(r)


# -- alone in a network namespace and an empty root ----------------------------------


def _ns_script(root: Path, server: bool, targets: list[str]) -> str:
    q = lambda s: "'" + s.replace("'", "'\\''") + "'"  # noqa: E731
    lines = ["set -eu", f"{IP} link set lo up"]
    if server:
        lines += [
            f"{q(sys.executable)} {q(str(TESTS / 'faultserver.py'))} --host 127.0.0.1 --behaviour send "
            f"--data 'HTTP/1.1 200 OK\\r\\n\\r\\n' > {q(str(root.parent / 'port'))} &",
            "spid=$!",
            "i=0",
            f"while [ ! -s {q(str(root.parent / 'port'))} ]; do i=$((i+1)); [ $i -lt 500 ] || exit 99; sleep 0.01; done",
            f"port=$(cat {q(str(root.parent / 'port'))})",
        ]
    else:
        lines.append("port=8080  # a private namespace: nothing listens on any port")
    lines += [
        "set +e",
        f"env -i {q(shutil.which('chroot') or '/usr/sbin/chroot')} {q(str(root))} /scratchprobe " + " ".join(f'"{t}"' for t in targets),
        "rc=$?",
    ]
    if server:
        lines.append("kill $spid")
    lines.append("exit $rc")
    return "\n".join(lines)


def _run_in_namespace_chroot(tmp_path: Path, server: bool, targets: list[str]):
    if not is_root():
        pytest.skip("chroot and unshare -n need root")
    if not BIN.is_file():
        pytest.fail(f"probe binary not built: {BIN}")
    root = tmp_path / "root"
    root.mkdir()
    shutil.copy2(BIN, root / "scratchprobe")
    assert sorted(os.listdir(root)) == ["scratchprobe"]
    script = _ns_script(root, server, targets)
    env = {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")}
    p = subprocess.run(["unshare", "-n", "sh", "-c", script], env=env, capture_output=True, timeout=20)
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


@pytest.mark.native
def test_in_empty_chroot_and_namespace_passes(tmp_path):
    """No /etc/hosts, no /dev, no /proc, no resolver, only lo: localhost and
    the empty host still work."""
    targets = ["http://127.0.0.1:$port/healthz", "http://localhost:$port/", ":$port", "tcp://localhost:$port"]
    rc, out, err = _run_in_namespace_chroot(tmp_path, True, targets)
    assert (rc, out, err) == (0, "", ""), (rc, out, err)


@pytest.mark.native
def test_in_empty_chroot_and_namespace_refused(tmp_path):
    rc, out, err = _run_in_namespace_chroot(tmp_path, False, ["http://127.0.0.1:8080/healthz", "localhost:8080", "tcp://[::1]:8080"])
    assert rc == 1, (rc, out, err)
    assert out == ""
    assert err.splitlines() == [
        line("http://127.0.0.1:8080/healthz", "connection refused"),
        line("localhost:8080", "connection refused"),
        line("tcp://[::1]:8080", "connection refused"),
    ], err


@pytest.mark.native
def test_in_empty_chroot_refuses_other_hosts(tmp_path):
    rc, out, err = _run_in_namespace_chroot(tmp_path, False, ["http://10.0.0.1:8080/"])
    assert (rc, out) == (1, "")
    assert err.splitlines() == [line("http://10.0.0.1:8080/", "refused: 10.0.0.1 is not a loopback address")], err
