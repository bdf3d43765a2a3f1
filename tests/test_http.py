"""HTTP and TCP checks against real servers (nginx, Python's http.server,
busybox httpd) and the scripted fault server: exit code and exact stderr line."""

from __future__ import annotations

import re

import pytest

from conftest import VERSION, assert_fail, assert_logged, assert_pass, line, python_http_server
from faultserver import (
    accept_never,
    close,
    drip,
    full_backlog,
    hang,
    huge_body,
    reset,
    send,
    send_then_hang,
)

OK = b"HTTP/1.1 200 OK\r\n\r\n"


def default_request(port: int, path: str = "/", method: str = "GET", extra: bytes = b"") -> bytes:
    return (
        f"{method} {path} HTTP/1.1\r\n"
        f"Host: localhost:{port}\r\n"
        f"User-Agent: scratchprobe/{VERSION}\r\n"
        "Accept: */*\r\n"
        "Connection: close\r\n"
    ).encode() + extra + b"\r\n"


def headers_of(request: bytes) -> list[tuple[str, str]]:
    head = request.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")[1:]
    return [(h.split(":", 1)[0], h.split(":", 1)[1].strip()) for h in head]


# -- real servers -----------------------------------------------------------


@pytest.mark.parametrize("host", ["127.0.0.1", "[::1]", "localhost"])
def test_nginx_200(probe, nginx, host):
    mark = nginx.log_mark()
    assert_pass(probe(f"http://{host}:{nginx.port}/healthz"))
    assert_logged(nginx, mark, "GET /healthz HTTP/1.1 200 ")


@pytest.mark.parametrize("host", ["127.0.0.1", "[::1]", "localhost"])
def test_nginx_503(probe, nginx, host):
    t = f"http://{host}:{nginx.port}/down"
    mark = nginx.log_mark()
    assert_fail(probe(t), t, "HTTP 503")
    assert_logged(nginx, mark, "GET /down HTTP/1.1 503 ")


@pytest.mark.parametrize("host", ["127.0.0.1", "[::1]", "localhost"])
def test_nginx_302_is_not_followed_and_passes(probe, nginx, host):
    mark = nginx.log_mark()
    assert_pass(probe(f"http://{host}:{nginx.port}/moved"))
    assert_logged(nginx, mark, "GET /moved HTTP/1.1 302 ")


def test_nginx_302_fails_when_not_accepted(probe, nginx):
    t = f"http://127.0.0.1:{nginx.port}/moved"
    assert_fail(probe("-s", "200-299", t), t, "HTTP 302")


def test_nginx_sees_the_request(probe, nginx):
    mark = nginx.log_mark()
    assert_pass(probe(f"http://127.0.0.1:{nginx.port}/healthz"))
    assert nginx.log_since(mark) == [
        f'GET /healthz HTTP/1.1 200 "scratchprobe/{VERSION}" "localhost:{nginx.port}" "-"'
    ]


def test_nginx_localhost_sends_one_request(probe, nginx):
    """localhost races 127.0.0.1 and ::1; nginx listens on both, and only the
    connection that won carries a request."""
    mark = nginx.log_mark()
    for _ in range(5):
        assert_pass(probe(f"http://localhost:{nginx.port}/healthz"))
    log = nginx.log_since(mark)
    assert len(log) == 5, log


def test_nginx_head(probe, nginx):
    mark = nginx.log_mark()
    assert_pass(probe("-X", "HEAD", f"http://127.0.0.1:{nginx.port}/healthz"))
    assert_logged(nginx, mark, "HEAD /healthz HTTP/1.1 200 ")


def test_nginx_header_arrives(probe, nginx):
    mark = nginx.log_mark()
    assert_pass(probe("-H", "X-Test: 1", f"http://127.0.0.1:{nginx.port}/healthz"))
    log = nginx.log_since(mark)
    assert len(log) == 1 and log[0].endswith('"1"'), log


@pytest.mark.parametrize("target", ["localhost:{p}/healthz", ":{p}/healthz", "127.0.0.1:{p}/healthz", "[::1]:{p}/healthz"])
def test_nginx_without_scheme(probe, nginx, target):
    mark = nginx.log_mark()
    assert_pass(probe(target.format(p=nginx.port)))
    assert_logged(nginx, mark, "GET /healthz HTTP/1.1 200 ")


def test_python_http_server_200(probe, pyhttp):
    """http.server answers HTTP/1.0."""
    mark = pyhttp.log_mark()
    assert_pass(probe(f"http://127.0.0.1:{pyhttp.port}/healthz"))
    assert_logged(pyhttp, mark, '"GET /healthz HTTP/1.1" 200')


def test_python_http_server_404(probe, pyhttp):
    t = f"http://127.0.0.1:{pyhttp.port}/missing"
    mark = pyhttp.log_mark()
    assert_fail(probe(t), t, "HTTP 404")
    assert_logged(pyhttp, mark, "code 404", '"GET /missing HTTP/1.1" 404')


def test_python_http_server_head(probe, pyhttp):
    mark = pyhttp.log_mark()
    assert_pass(probe("-X", "HEAD", f"http://localhost:{pyhttp.port}/healthz"))
    assert_logged(pyhttp, mark, '"HEAD /healthz HTTP/1.1" 200')


def test_python_http_server_ipv6_through_localhost(probe):
    with python_http_server("::1") as srv:
        mark = srv.log_mark()
        assert_pass(probe(f"http://localhost:{srv.port}/healthz"))
        assert_pass(probe(f":{srv.port}/healthz"))
        assert_logged(srv, mark, '"GET /healthz HTTP/1.1" 200', '"GET /healthz HTTP/1.1" 200')


def _busybox_responses(server, mark):
    return [l.split(": ", 1)[1] for l in server.log_since(mark) if ": " in l]


def test_busybox_httpd_200(probe, busybox_httpd):
    mark = busybox_httpd.log_mark()
    assert_pass(probe(f"http://127.0.0.1:{busybox_httpd.port}/healthz"))
    assert_pass(probe(f"http://localhost:{busybox_httpd.port}/healthz"))
    assert _busybox_responses(busybox_httpd, mark) == ["url:/healthz", "response:200"] * 2


def test_busybox_httpd_404(probe, busybox_httpd):
    t = f"http://127.0.0.1:{busybox_httpd.port}/missing"
    mark = busybox_httpd.log_mark()
    assert_fail(probe(t), t, "HTTP 404")
    assert _busybox_responses(busybox_httpd, mark) == ["url:/missing", "response:404"]


# -- status lines -------------------------------------------------------------

PASSING = {
    "1.1": OK,
    "1.0": b"HTTP/1.0 200 OK\r\n\r\n",
    "bare-lf": b"HTTP/1.1 200 OK\nContent-Length: 0\n\n",
    "no-reason": b"HTTP/1.1 200\r\n\r\n",
    "no-reason-bare-lf": b"HTTP/1.1 200\n\n",
    "htab": b"HTTP/1.1 200\tOK\r\n\r\n",
    "empty-reason": b"HTTP/1.1 200 \r\n\r\n",
    "204": b"HTTP/1.1 204 No Content\r\n\r\n",
    "304": b"HTTP/1.1 304 Not Modified\r\n\r\n",
    "399": b"HTTP/1.1 399 Whatever\r\n\r\n",
    "302-elsewhere": b"HTTP/1.1 302 Found\r\nLocation: http://10.0.0.1/\r\nContent-Length: 0\r\n\r\n",
    "1xx-chain": b"HTTP/1.1 100 Continue\r\nX-A: b\r\nX-C: d\r\n\r\n"
    b"HTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
    "103-early-hints": b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload; as=style\r\n"
    b"Link: </script.js>; rel=preload; as=script\r\n\r\nHTTP/1.1 200 OK\r\n\r\n",
    "1xx-bare-lf": b"HTTP/1.1 100 Continue\n\nHTTP/1.1 204 No Content\n\n",
    "1xx-then-1.0": b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.0 200 OK\r\n\r\n",
}


@pytest.mark.parametrize("reply", PASSING.values(), ids=PASSING.keys())
def test_status_passes(probe, fault_server, reply):
    with fault_server(send(reply)) as port:
        assert_pass(probe(f"http://127.0.0.1:{port}/"), server=port, requests=1)
        assert port.connections == 1


FAILING = {
    "404": (b"HTTP/1.1 404 Not Found\r\n\r\n", "HTTP 404"),
    "400": (b"HTTP/1.1 400 Bad Request\r\n\r\n", "HTTP 400"),
    "500": (b"HTTP/1.0 500 Internal Server Error\r\n\r\n", "HTTP 500"),
    "503": (b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\n\r\n", "HTTP 503"),
    "599": (b"HTTP/1.1 599 X\r\n\r\n", "HTTP 599"),
    "101": (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", "HTTP 101"),
    "100-then-503": (b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 503 Busy\r\n\r\n", "HTTP 503"),
    "100-then-101": (b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 101 Switching\r\n\r\n", "HTTP 101"),
}


@pytest.mark.parametrize("reply,reason", FAILING.values(), ids=FAILING.keys())
def test_status_fails(probe, fault_server, reply, reason):
    with fault_server(send(reply)) as port:
        t = f"http://127.0.0.1:{port}/"
        assert_fail(probe(t), t, reason)


MALFORMED = {
    "two-digits": b"HTTP/1.1 20 OK\r\n\r\n",
    "four-digits": b"HTTP/1.1 2000 OK\r\n\r\n",
    "lowercase": b"http/1.1 200 OK\r\n\r\n",
    "600": b"HTTP/1.1 600 X\r\n\r\n",
    "099": b"HTTP/1.1 099 X\r\n\r\n",
    "http2": b"HTTP/2 200\r\n\r\n",
    "http2.0": b"HTTP/2.0 200 OK\r\n\r\n",
    "double-space": b"HTTP/1.1  200 OK\r\n\r\n",
    "letter-in-code": b"HTTP/1.1 2x0 OK\r\n\r\n",
    "no-separator": b"HTTP/1.1 200OK\r\n\r\n",
    "icy": b"ICY 200 OK\r\n\r\n",
    "ssh": b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n",
    "tls-alert": b"\x15\x03\x01\x00\x02\x02\x46",
    "garbage": b"garbage\r\n\r\n",
    "1xx-then-garbage": b"HTTP/1.1 100 Continue\r\n\r\nnonsense\r\n\r\n",
}


@pytest.mark.parametrize("reply", MALFORMED.values(), ids=MALFORMED.keys())
def test_status_malformed(probe, fault_server, reply):
    with fault_server(send(reply)) as port:
        t = f"http://127.0.0.1:{port}/"
        assert_fail(probe(t), t, "malformed status line")


def test_long_reason_phrase_decided_on_status_code(probe, fault_server):
    """A 20 KB reason phrase does not fit any fixed buffer; the status code
    decides, at once, without waiting for the end of the line or a close."""
    with fault_server(send_then_hang(b"HTTP/1.1 200 " + b"O" * 20000 + b"\r\n\r\n")) as port:
        r = probe("-t", "1s", f"http://127.0.0.1:{port}/")
        assert_pass(r, server=port, requests=1)
        assert r.elapsed < 0.5, str(r)


def test_long_reason_phrase_503(probe, fault_server):
    with fault_server(send_then_hang(b"HTTP/1.1 503 " + b"X" * 20000 + b"\r\n\r\n")) as port:
        t = f"http://127.0.0.1:{port}/"
        r = probe("-t", "1s", t)
        assert_fail(r, t, "HTTP 503")
        assert r.elapsed < 0.5, str(r)


# -- connections that end badly ---------------------------------------------


def test_empty_reply(probe, fault_server):
    with fault_server(close()) as port:
        t = f"http://127.0.0.1:{port}/"
        assert_fail(probe(t), t, "connection closed before the status line")


def test_close_after_interim_response(probe, fault_server):
    with fault_server(send(b"HTTP/1.1 100 Continue\r\n\r\n")) as port:
        t = f"http://127.0.0.1:{port}/"
        assert_fail(probe(t), t, "connection closed before the status line")


def test_reset(probe, fault_server):
    """The server reads the request, then closes with SO_LINGER 0: the probe,
    waiting in read, gets ECONNRESET."""
    with fault_server(reset()) as port:
        t = f"http://127.0.0.1:{port}/"
        assert_fail(probe(t), t, "connection reset")


def test_connection_refused(probe, closed_port):
    for host in ("127.0.0.1", "[::1]", "localhost"):
        t = f"http://{host}:{closed_port}/healthz"
        assert_fail(probe(t), t, "connection refused")


# -- deadlines ----------------------------------------------------------------


def test_hang_times_out_after_1s(probe, fault_server):
    with fault_server(hang()) as port:
        t = f"http://127.0.0.1:{port}/"
        r = probe("-t", "1s", t)
        assert_fail(r, t, "timed out after 1s while waiting for the status line")
        assert 0.95 <= r.elapsed < 1.1, str(r)


def test_default_timeout_is_2s(probe, fault_server):
    with fault_server(hang()) as port:
        t = f"http://127.0.0.1:{port}/"
        r = probe(t)
        assert_fail(r, t, "timed out after 2s while waiting for the status line")
        assert 1.95 <= r.elapsed < 2.1, str(r)


def test_accept_never_times_out_waiting_for_status(probe, fault_server):
    """The kernel completes the handshake of a listening socket nobody
    accepts: the probe connects, sends, and waits."""
    with fault_server(accept_never()) as port:
        t = f"http://127.0.0.1:{port}/"
        r = probe("-t", "300ms", t)
        assert_fail(r, t, "timed out after 300ms while waiting for the status line")
        assert 0.28 <= r.elapsed < 0.45, str(r)


def test_full_backlog_times_out_connecting(probe, fault_server):
    """With the accept queue full the kernel drops SYNs: connect() hangs."""
    with fault_server(full_backlog()) as port:
        t = f"http://127.0.0.1:{port}/"
        r = probe("-t", "300ms", t)
        assert_fail(r, t, "timed out after 300ms while connecting")
        assert 0.28 <= r.elapsed < 0.45, str(r)


def test_partial_status_line_then_silence(probe, fault_server):
    with fault_server(send_then_hang(b"HTTP/1.1 20")) as port:
        t = f"http://127.0.0.1:{port}/"
        assert_fail(probe("-t", "300ms", t), t, "timed out after 300ms while waiting for the status line")


def test_interim_response_then_silence(probe, fault_server):
    with fault_server(send_then_hang(b"HTTP/1.1 100 Continue\r\n\r\n")) as port:
        t = f"http://127.0.0.1:{port}/"
        assert_fail(probe("-t", "300ms", t), t, "timed out after 300ms while waiting for the status line")


def test_drip_passes_with_enough_time(probe, fault_server):
    with fault_server(drip(OK, 0.02)) as port:
        r = probe(f"http://127.0.0.1:{port}/")
        assert_pass(r, server=port, requests=1)
        assert r.elapsed >= 0.2, str(r)  # it did wait for the bytes


def test_drip_of_interim_responses_passes(probe, fault_server):
    with fault_server(drip(b"HTTP/1.1 100 Continue\r\nA: b\r\n\r\nHTTP/1.1 200 OK\r\n\r\n", 0.005)) as port:
        assert_pass(probe(f"http://127.0.0.1:{port}/"), server=port, requests=1)


def test_slow_drip_times_out(probe, fault_server):
    with fault_server(drip(OK, 0.1)) as port:
        t = f"http://127.0.0.1:{port}/"
        r = probe("-t", "300ms", t)
        assert_fail(r, t, "timed out after 300ms while waiting for the status line")
        assert 0.28 <= r.elapsed < 0.45, str(r)


def test_status_line_then_silence_passes_at_once(probe, fault_server):
    """A server that keeps the connection open after the head (ignoring
    Connection: close) must not make the probe wait."""
    for reply in (b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", b"HTTP/1.1 200 OK\r\n"):
        with fault_server(send_then_hang(reply)) as port:
            r = probe("-t", "1s", f"http://127.0.0.1:{port}/")
            assert_pass(r, server=port, requests=1)
            assert r.elapsed < 0.5, str(r)


def _bytes_read(r) -> int:
    total = 0
    for l in r.trace.splitlines():
        m = re.search(r"^\s*(?:\d+\s+)?(?:read|recvfrom|recvmsg|readv)\(.*\)\s*=\s*(\d+)", l)
        if m:
            total += int(m.group(1))
    return total


def test_huge_body_is_not_read(traced, fault_server):
    with fault_server(huge_body()) as port:
        r = traced("-t", "1s", f"http://127.0.0.1:{port}/", trace="read,recvfrom,recvmsg,readv")
        assert_pass(r, server=port, requests=1)
        assert r.elapsed < 0.5, str(r)
        assert _bytes_read(r) < 65536, f"read {_bytes_read(r)} bytes of a body it must not read\n{r}"
        assert port.body_bytes_sent < 16 << 20


def test_huge_body_503(probe, fault_server):
    with fault_server(huge_body(b"HTTP/1.1 503 Busy")) as port:
        t = f"http://127.0.0.1:{port}/"
        r = probe("-t", "1s", t)
        assert_fail(r, t, "HTTP 503")
        assert r.elapsed < 0.5, str(r)


# -- accepted statuses ----------------------------------------------------------


@pytest.mark.parametrize(
    "opts,reply,reason",
    [
        (["-s", "200-299,304"], b"HTTP/1.1 304 Not Modified\r\n\r\n", None),
        (["-s", "200-299,304"], b"HTTP/1.1 204 No Content\r\n\r\n", None),
        (["-s", "200-299,304"], b"HTTP/1.1 302 Found\r\n\r\n", "HTTP 302"),
        (["-s", "200-299,304"], b"HTTP/1.1 305 Use Proxy\r\n\r\n", "HTTP 305"),
        (["-s", "503"], b"HTTP/1.1 503 Service Unavailable\r\n\r\n", None),
        (["-s", "503"], OK, "HTTP 200"),
        (["--status", "200"], b"HTTP/1.1 204 No Content\r\n\r\n", "HTTP 204"),
        (["-s", "200-299"], b"HTTP/1.1 399 X\r\n\r\n", "HTTP 399"),
        (["-s", "100-599"], b"HTTP/1.1 500 X\r\n\r\n", None),
        ([], b"HTTP/1.1 400 Bad Request\r\n\r\n", "HTTP 400"),
    ],
)
def test_status_list(probe, fault_server, opts, reply, reason):
    with fault_server(send(reply)) as port:
        t = f"http://127.0.0.1:{port}/"
        r = probe(*opts, t)
        if reason is None:
            assert_pass(r, server=port, requests=1)
        else:
            assert_fail(r, t, reason)


# -- the request ----------------------------------------------------------------


def test_request_bytes(probe, fault_server):
    with fault_server(OK) as port:
        assert_pass(probe("-H", "X-Test: 1", f"http://127.0.0.1:{port}/path?q=1"))
        assert port.requests == [
            f"GET /path?q=1 HTTP/1.1\r\nHost: localhost:{port}\r\nUser-Agent: scratchprobe/{VERSION}\r\n"
            "Accept: */*\r\nConnection: close\r\nX-Test: 1\r\n\r\n".encode()
        ]


@pytest.mark.parametrize(
    "target,path",
    [
        ("http://127.0.0.1:{p}", "/"),
        ("http://127.0.0.1:{p}/", "/"),
        ("http://127.0.0.1:{p}?x=1", "/?x=1"),
        ("http://127.0.0.1:{p}/a/b/c.txt?x=1&y=%20", "/a/b/c.txt?x=1&y=%20"),
        ("127.0.0.1:{p}/healthz", "/healthz"),
        ("http://127.0.0.1:{p}/a%0d%0aX-Evil:%201", "/a%0d%0aX-Evil:%201"),
    ],
)
def test_request_path(probe, fault_server, target, path):
    with fault_server(OK) as port:
        assert_pass(probe(target.format(p=port)))
        assert port.requests == [default_request(port, path)]


@pytest.mark.parametrize("opts,method", [(["-X", "HEAD"], "HEAD"), (["--method", "GET"], "GET"), (["-X", "OPTIONS"], "OPTIONS")])
def test_method(probe, fault_server, opts, method):
    with fault_server(OK) as port:
        assert_pass(probe(*opts, f"http://127.0.0.1:{port}/h"), server=port, requests=1)
        assert port.requests == [default_request(port, "/h", method)]


def test_several_headers_in_order(probe, fault_server):
    with fault_server(OK) as port:
        assert_pass(probe("-H", "X-A: 1", "--header", "X-B: two words", "-H", "Authorization: Bearer t0k",
                          f"http://127.0.0.1:{port}/"))
        assert port.requests == [default_request(port, extra=b"X-A: 1\r\nX-B: two words\r\nAuthorization: Bearer t0k\r\n")]


@pytest.mark.parametrize(
    "header,name,value",
    [
        ("Host: foo", "host", "foo"),
        ("host: foo:8080", "host", "foo:8080"),
        ("User-Agent: bar", "user-agent", "bar"),
        ("user-agent: kube-probe/1.30", "user-agent", "kube-probe/1.30"),
    ],
)
def test_header_replaces_default(probe, fault_server, header, name, value):
    with fault_server(OK) as port:
        assert_pass(probe("-H", header, f"http://127.0.0.1:{port}/"))
        [req] = port.requests
        assert req.startswith(b"GET / HTTP/1.1\r\n"), req
        hs = headers_of(req)
        assert [v for n, v in hs if n.lower() == name] == [value], req
        # the other defaults stay, once each
        names = sorted(n.lower() for n, _ in hs)
        assert names == sorted(["host", "user-agent", "accept", "connection"]), req


def test_request_arrives_in_one_recv(probe, fault_server):
    """The server waits before reading; then one recv holds the whole request."""
    with fault_server(OK, read_delay=0.2) as port:
        assert_pass(probe("-H", "X-Test: 1", f"http://127.0.0.1:{port}/"))
        assert port.first_recvs == [default_request(port, extra=b"X-Test: 1\r\n")]


def test_request_is_one_write(traced, fault_server):
    with fault_server(OK) as port:
        r = traced("-H", "X-Test: 1", f"http://127.0.0.1:{port}/", trace="write,writev,sendto,sendmsg,pwrite64")
        assert_pass(r)
        writes = [l for l in r.trace.splitlines() if re.search(r"(write|writev|sendto|sendmsg|pwrite64)\(", l)]
        assert len(writes) == 1, r.trace
        assert len(port.requests) == 1


INJECTIONS = {
    "crlf-in-path": ["http://127.0.0.1:{p}/a\r\nX-Evil: 1"],
    "lf-in-path": ["http://127.0.0.1:{p}/a\nX-Evil: 1"],
    "cr-in-path": ["http://127.0.0.1:{p}/a\rX"],
    "crlf-in-query": ["http://127.0.0.1:{p}/?a=1\r\n\r\nGET /x HTTP/1.1"],
    "crlf-in-header-value": ["-H", "X-A: 1\r\nX-Evil: 2", "http://127.0.0.1:{p}/"],
    "lf-in-header-value": ["-H", "X-A: 1\nX-Evil: 2", "http://127.0.0.1:{p}/"],
    "cr-in-header-name": ["-H", "X\r-A: 1", "http://127.0.0.1:{p}/"],
    "crlf-in-method": ["-X", "GET / HTTP/1.1\r\nX-Evil: 1\r\n\r\nGET", "http://127.0.0.1:{p}/"],
    "lf-in-method": ["-X", "GE\nT", "http://127.0.0.1:{p}/"],
    "crlf-in-host-header": ["-H", "Host: a\r\nX-Evil: 1", "http://127.0.0.1:{p}/"],
    "header-without-colon": ["-H", "NoColonHere", "http://127.0.0.1:{p}/"],
}


@pytest.mark.parametrize("args", INJECTIONS.values(), ids=INJECTIONS.keys())
def test_injection_refused_before_connecting(probe, fault_server, args):
    """CR or LF in a path, header or method ends the run with exit 1 before
    any connection (NUL cannot be passed in argv or the environment)."""
    with fault_server(OK) as port:
        r = probe(*[a.format(p=port) for a in args])
        assert r.rc == 1, str(r)
        assert len(r.lines) == 1 and r.out == "", str(r)
        assert port.connection_count() == 0, str(r)


def test_injection_through_environment(probe, fault_server):
    with fault_server(OK) as port:
        r = probe(f"http://127.0.0.1:{port}/${{X}}", "-H", "X-Test: ${Y}", env={"X": "a\r\nX-Evil: 1", "Y": "ok"})
        assert r.rc == 1 and len(r.lines) == 1, str(r)
        r = probe("-H", "X-Test: ${Y}", f"http://127.0.0.1:{port}/", env={"Y": "1\r\nX-Evil: 1"})
        assert r.rc == 1 and len(r.lines) == 1, str(r)
        assert port.connection_count() == 0


# -- addresses and target forms -----------------------------------------------


@pytest.mark.parametrize("target", ["http://localhost:{p}/", "http://:{p}/", ":{p}", "localhost:{p}", "http://[::1]:{p}/", "http://[::]:{p}/"])
def test_ipv6_only_server(probe, fault_server, target):
    with fault_server(OK, host="::1") as port:
        assert_pass(probe(target.format(p=port)), server=port, requests=1)


@pytest.mark.parametrize(
    "target",
    ["http://localhost:{p}/", "http://:{p}/", ":{p}", "localhost:{p}", "http://127.0.0.1:{p}/", "http://0.0.0.0:{p}/",
     "http://[::ffff:127.0.0.1]:{p}/"],
)
def test_ipv4_only_server(probe, fault_server, target):
    with fault_server(OK, host="127.0.0.1") as port:
        assert_pass(probe(target.format(p=port)), server=port, requests=1)


def test_127_0_0_2(probe, fault_server):
    with fault_server(OK, host="127.0.0.2") as port:
        assert_pass(probe(f"http://127.0.0.2:{port}/"), server=port, requests=1)


def test_dual_stack_gets_one_request(probe, dual_fault_server):
    with dual_fault_server(OK) as (port, v4, v6):
        for _ in range(5):
            assert_pass(probe(f"http://localhost:{port}/"))
        v4.sync()
        v6.sync()
        assert len(v4.requests) + len(v6.requests) == 5, (v4.requests, v6.requests)


def test_localhost_with_only_ipv6_hanging(probe, fault_server):
    """localhost with only ::1 listening, and that server never answers: the
    probe waits on the connection it got until the deadline."""
    with fault_server(hang(), host="::1") as port:
        t = f"http://localhost:{port}/"
        r = probe("-t", "300ms", t)
        assert_fail(r, t, "timed out after 300ms while waiting for the status line")


# -- tcp:// ----------------------------------------------------------------------


def test_tcp_open(probe, fault_server):
    with fault_server(hang()) as port:
        r = probe(f"tcp://127.0.0.1:{port}")
        assert_pass(r, server=port, connections=1)
        assert r.elapsed < 0.5
        assert port.requests == [], "tcp:// must not send anything"


@pytest.mark.parametrize("host", ["localhost", "", "[::1]"])
def test_tcp_open_ipv6(probe, fault_server, host):
    with fault_server(hang(), host="::1") as port:
        assert_pass(probe(f"tcp://{host}:{port}"), server=port, connections=1)


def test_tcp_accept_never_passes(probe, fault_server):
    with fault_server(accept_never()) as port:
        assert_pass(probe(f"tcp://127.0.0.1:{port}"))
        assert port.pending_connections() == 1


def test_tcp_closed(probe, closed_port):
    for host in ("127.0.0.1", "localhost"):
        t = f"tcp://{host}:{closed_port}"
        assert_fail(probe(t), t, "connection refused")


def test_tcp_full_backlog_times_out(probe, fault_server):
    with fault_server(full_backlog()) as port:
        t = f"tcp://127.0.0.1:{port}"
        r = probe("-t", "300ms", t)
        assert_fail(r, t, "timed out after 300ms while connecting")


def test_tcp_verbose(probe, fault_server):
    with fault_server(hang()) as port:
        t = f"tcp://127.0.0.1:{port}"
        r = probe("-v", t)
        assert (r.rc, r.out, r.err) == (0, f"scratchprobe: {t}: connected\n", ""), str(r)


# -- several targets ---------------------------------------------------------------


def test_two_hanging_targets_share_one_deadline(probe, fault_server):
    with fault_server(hang()) as p1, fault_server(hang(), host="::1") as p2:
        t1, t2 = f"http://127.0.0.1:{p1}/a", f"http://[::1]:{p2}/b"
        r = probe("-t", "1s", t1, t2)
        assert r.rc == 1, str(r)
        assert r.lines == [
            line(t1, "timed out after 1s while waiting for the status line"),
            line(t2, "timed out after 1s while waiting for the status line"),
        ], str(r)
        assert 0.95 <= r.elapsed < 1.1, str(r)


def test_lines_follow_argument_order(probe, fault_server, closed_port):
    """The first target fails last (timeout), the second at once (refused):
    the lines still come in the order of the arguments."""
    with fault_server(hang()) as port:
        t1, t2 = f"http://127.0.0.1:{port}/", f"http://127.0.0.1:{closed_port}/"
        r = probe("-t", "300ms", t1, t2)
        assert r.lines == [
            line(t1, "timed out after 300ms while waiting for the status line"),
            line(t2, "connection refused"),
        ], str(r)


def test_one_good_one_bad(probe, fault_server):
    with fault_server(OK) as good, fault_server(send(b"HTTP/1.1 503 X\r\n\r\n")) as bad:
        tb = f"http://127.0.0.1:{bad}/"
        for args in ([f"http://127.0.0.1:{good}/", tb], [tb, f"http://localhost:{good}/"]):
            assert_fail(probe(*args), tb, "HTTP 503")


def test_all_good(probe, fault_server, nginx):
    with fault_server(OK) as p1, fault_server(hang()) as p2:
        mark = nginx.log_mark()
        assert_pass(probe(f"http://127.0.0.1:{p1}/", f"tcp://127.0.0.1:{p2}", f"http://localhost:{nginx.port}/healthz",
                          f":{nginx.port}/moved"), server=p1, requests=1)
        p2.sync()
        assert p2.connections == 1
        log = nginx.log_since(mark)
        assert sorted(l.split(" ")[1] for l in log) == ["/healthz", "/moved"], log


def test_targets_run_concurrently(probe, fault_server):
    """Two targets that each take ~0.4 s pass under a 0.7 s deadline."""
    reply = b"HTTP/1.1 200 OK\r\n\r\n"
    with fault_server(drip(reply, 0.02)) as p1, fault_server(drip(reply, 0.02)) as p2:
        r = probe("-t", "700ms", f"http://127.0.0.1:{p1}/", f"http://127.0.0.1:{p2}/")
        assert_pass(r, server=p1, requests=1)
        assert_pass(r, server=p2, requests=1)
        assert r.elapsed < 0.65, str(r)


def test_verbose_lines(probe, fault_server, closed_port):
    with fault_server(OK) as p1, fault_server(send(b"HTTP/1.1 302 Found\r\n\r\n")) as p2:
        t1, t2, t3 = f"http://127.0.0.1:{p1}/", f"http://localhost:{p2}/x", f"http://127.0.0.1:{closed_port}/"
        r = probe("-v", t1, t2)
        assert (r.rc, r.err) == (0, ""), str(r)
        assert r.out_lines == [line(t1, "HTTP 200"), line(t2, "HTTP 302")], str(r)
        r = probe("--verbose", t1, t3)
        assert r.rc == 1 and r.out_lines == [line(t1, "HTTP 200")], str(r)
        assert r.lines == [line(t3, "connection refused")], str(r)
