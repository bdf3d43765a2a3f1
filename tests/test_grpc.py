"""Black-box tests of the gRPC health check (issue 5): `grpc://HOST:PORT[/SERVICE]`
and `grpc+unix:SOCKET[:SERVICE]`.

- Real servers: Python grpcio with grpcio-health-checking, each in a
  subprocess of the venv's Python (the script below), over 127.0.0.1, [::1],
  `localhost` (one family, both) and a Unix socket; statuses set and flipped
  at run time through the server's stdin; metadata recorded by an interceptor.
- Faults: a scripted HTTP/2 server (tests/h2faults.py) writing frames by hand.

The exact wording of protocol-error reasons (GOAWAY, RST_STREAM, dynamic
table, frame errors, closes, timeouts) is not fixed by the spec, so those
tests check key words; the spec'd reasons (`gRPC NOT_SERVING`, `gRPC status 5
(NOT_FOUND)`, `gRPC status 12 (UNIMPLEMENTED): ...`, `not an HTTP/2 server`,
`connection refused`) are checked as whole lines.

The probe is $SCRATCHPROBE, the default build, which carries gRPC.
build-scripts/test also runs this module against the aarch64 binary under
qemu-user; none of its tests looks at the process itself, so none is marked
`native`.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

import faultserver
import h2faults as h2
from conftest import ROOT, VERSION, _stop, assert_fail, fail_reason, line
from h2faults import (
    ACK,
    CONTINUATION,
    DATA,
    END_HEADERS,
    END_STREAM,
    HEADERS,
    PADDED,
    PING,
    PRIORITY_FLAG,
    SERVER_SETTINGS,
    SETTINGS,
    SETTINGS_ACK,
    H2FaultServer,
    answer,
    answer_then_close,
    frame,
)

VENV_PY = ROOT / "target/venv/bin/python"
PYTHON = str(VENV_PY if VENV_PY.exists() else sys.executable)


def assert_serving(r, *targets: str):
    """Exit 0; run with -v: one `TARGET: SERVING` line per target."""
    assert r.rc == 0 and r.err == "", str(r)
    assert sorted(r.out_lines) == sorted(line(t, "SERVING") for t in targets), str(r)


# ===========================================================================
# Real grpcio servers
# ===========================================================================

# Run with the venv's Python: argv[1] is a JSON config. Binds every address
# in "binds" ("{port}" is replaced with the first TCP port bound), prints that
# port, then serves; stdin lines `set SERVICE STATUS` (`-` for the whole
# server) change a status and answer `ok`; EOF on stdin stops it. With
# "record", an interceptor appends one JSON line per call: method, metadata.
GRPC_SERVER = r"""
import json, sys
from concurrent import futures
import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

cfg = json.loads(sys.argv[1])
record = cfg.get("record")

class Recorder(grpc.ServerInterceptor):
    def intercept_service(self, continuation, details):
        if record:
            md = [[k, v if isinstance(v, str) else v.decode("latin-1")]
                  for k, v in details.invocation_metadata]
            with open(record, "a") as f:
                f.write(json.dumps({"method": details.method, "metadata": md}) + "\n")
        return continuation(details)

server = grpc.server(futures.ThreadPoolExecutor(max_workers=4),
                     interceptors=[Recorder()], options=[("grpc.so_reuseport", 0)])
hs = None
if cfg.get("health", True):
    hs = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(hs, server)
    for svc, st in cfg.get("statuses", {}).items():
        hs.set(svc, getattr(health_pb2.HealthCheckResponse, st))
port = 0
for b in cfg["binds"]:
    b = b.replace("{port}", str(port))
    try:
        p = server.add_insecure_port(b)
    except RuntimeError:
        sys.exit(3)
    if not b.startswith("unix:"):
        if not p:
            sys.exit(3)
        port = port or p
server.start()
print(port, flush=True)
for cmd in sys.stdin:
    words = cmd.split()
    if words and words[0] == "set" and hs is not None:
        hs.set("" if words[1] == "-" else words[1], getattr(health_pb2.HealthCheckResponse, words[2]))
    print("ok", flush=True)
server.stop(None)
"""


class GrpcServer:
    def __init__(self, proc: subprocess.Popen, port: int, sock: Path | None, record: Path, d: Path):
        self.proc, self.port, self.sock, self.record, self.dir = proc, port, sock, record, d

    def set(self, service: str, status: str) -> None:
        self.proc.stdin.write(f"set {service or '-'} {status}\n".encode())
        self.proc.stdin.flush()
        assert self.proc.stdout.readline().strip() == b"ok"

    def calls(self) -> list[dict]:
        if not self.record.exists():
            return []
        return [json.loads(l) for l in self.record.read_text().splitlines()]


STATUSES = {
    "svc.Serving": "SERVING",
    "svc.Down": "NOT_SERVING",
    "svc.Unknown": "UNKNOWN",
    "svc.SU": "SERVICE_UNKNOWN",
    "svc.Flip": "NOT_SERVING",
}


@contextlib.contextmanager
def grpc_server(binds=("[::1]:0", "127.0.0.1:{port}"), unix=False, health=True, statuses=STATUSES):
    """A grpcio server in a subprocess; retried if the port picked for the
    first address is taken on the second."""
    d = faultserver.short_dir()
    sock = d / "g.sock" if unix else None
    record = d / "calls.jsonl"
    cfg = {
        "binds": [*binds, *([f"unix:{sock}"] if unix else [])],
        "health": health,
        "statuses": statuses,
        "record": str(record),
    }
    proc = None
    try:
        for _ in range(5):
            with open(d / "stderr.txt", "wb") as errf:
                proc = subprocess.Popen(
                    [PYTHON, "-c", GRPC_SERVER, json.dumps(cfg)],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=errf,
                )
            out = proc.stdout.readline().strip()
            if out.isdigit():
                break
            proc.wait(timeout=5)
            if proc.returncode != 3:
                pytest.fail(f"grpcio server failed: {(d / 'stderr.txt').read_text(errors='replace')}")
        else:
            pytest.fail("grpcio server: no port free on both families")
        yield GrpcServer(proc, int(out), sock, record, d)
    finally:
        if proc is not None:
            with contextlib.suppress(OSError):
                proc.stdin.close()
            try:
                proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                _stop(proc)
            proc.stdout.close()
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def grpcd():
    """One grpcio health server for the module: 127.0.0.1:P, [::1]:P and a
    Unix socket; the whole server and svc.Serving SERVING, svc.Down
    NOT_SERVING, svc.Unknown UNKNOWN, svc.SU SERVICE_UNKNOWN, svc.Flip
    NOT_SERVING (flipped by its test)."""
    with grpc_server(unix=True) as s:
        yield s


@pytest.mark.parametrize("host", ["127.0.0.1", "[::1]", "localhost"])
def test_whole_server_serving(probe, grpcd, host):
    t = f"grpc://{host}:{grpcd.port}"
    assert_serving(probe("-v", t), t)
    r = probe(t)
    assert (r.rc, r.out, r.err) == (0, "", ""), str(r)


@pytest.mark.parametrize("host", ["127.0.0.1", "[::1]", "localhost"])
def test_serving_service(probe, grpcd, host):
    t = f"grpc://{host}:{grpcd.port}/svc.Serving"
    assert_serving(probe("-v", t), t)


@pytest.mark.parametrize(
    "service, reason",
    [
        ("svc.Down", "gRPC NOT_SERVING"),
        ("svc.Unknown", "gRPC UNKNOWN"),
        ("svc.SU", "gRPC SERVICE_UNKNOWN"),
        # grpcio sends no grpc-message for an unknown service
        ("no.such.Service", "gRPC status 5 (NOT_FOUND)"),
    ],
)
@pytest.mark.parametrize("host", ["127.0.0.1", "[::1]", "localhost"])
def test_failing_service(probe, grpcd, host, service, reason):
    t = f"grpc://{host}:{grpcd.port}/{service}"
    r = probe("-v", t)
    assert_fail(r, t, reason)


def test_server_without_health_service(probe):
    with grpc_server(binds=("127.0.0.1:0",), health=False) as s:
        for t in (f"grpc://127.0.0.1:{s.port}", f"grpc://localhost:{s.port}/svc.Serving"):
            assert_fail(probe(t), t, "gRPC status 12 (UNIMPLEMENTED): Method not found!")


@pytest.mark.parametrize("family", ["127.0.0.1", "[::1]"])
def test_localhost_finds_a_server_bound_to_one_family(probe, family):
    with grpc_server(binds=(f"{family}:0",)) as s:
        t = f"grpc://localhost:{s.port}/svc.Serving"
        assert_serving(probe("-v", t), t)
        t = f"grpc://localhost:{s.port}/svc.Down"
        assert_fail(probe(t), t, "gRPC NOT_SERVING")
        # the family the server is not bound to is refused
        other = "[::1]" if family == "127.0.0.1" else "127.0.0.1"
        t = f"grpc://{other}:{s.port}"
        assert_fail(probe(t), t, "connection refused")


def test_unix_socket(probe, grpcd):
    sock = grpcd.sock
    for t in (f"grpc+unix:{sock}", f"grpc+unix:{sock}:svc.Serving"):
        assert_serving(probe("-v", t), t)
    for service, reason in [("svc.Down", "gRPC NOT_SERVING"), ("nope", "gRPC status 5 (NOT_FOUND)")]:
        t = f"grpc+unix:{sock}:{service}"
        assert_fail(probe(t), t, reason)


def test_unix_socket_missing(probe):
    d = faultserver.short_dir()
    try:
        t = f"grpc+unix:{d}/none.sock"
        fail_reason(probe(t), t)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_status_flipped_at_run_time(probe, grpcd):
    t = f"grpc://127.0.0.1:{grpcd.port}/svc.Flip"
    try:
        assert_fail(probe(t), t, "gRPC NOT_SERVING")
        grpcd.set("svc.Flip", "SERVING")
        assert_serving(probe("-v", t), t)
        grpcd.set("svc.Flip", "NOT_SERVING")
        assert_fail(probe(t), t, "gRPC NOT_SERVING")
        grpcd.set("svc.Flip", "SERVING")
        u = f"grpc+unix:{grpcd.sock}:svc.Flip"
        assert_serving(probe("-v", t, u), t, u)
    finally:
        grpcd.set("svc.Flip", "NOT_SERVING")


def test_several_targets_and_http_in_one_run(probe, grpcd, fault_server):
    with fault_server(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n") as hp:
        g = [
            f"grpc://127.0.0.1:{grpcd.port}",
            f"grpc://[::1]:{grpcd.port}/svc.Serving",
            f"grpc://localhost:{grpcd.port}/svc.Serving",
            f"grpc+unix:{grpcd.sock}:svc.Serving",
        ]
        http = f"http://127.0.0.1:{hp}/healthz"
        r = probe("-v", *g, http)
        assert r.rc == 0 and r.err == "", str(r)
        assert sorted(r.out_lines) == sorted(
            [line(t, "SERVING") for t in g] + [line(http, "HTTP 200")]
        ), str(r)
        # one failing gRPC target among passing ones: only its line, exit 1
        bad = [f"grpc://127.0.0.1:{grpcd.port}/svc.Down", f"grpc+unix:{grpcd.sock}:nope"]
        r = probe(*g, bad[0], http, bad[1])
        assert r.rc == 1 and r.out == "", str(r)
        assert sorted(r.lines) == sorted(
            [line(bad[0], "gRPC NOT_SERVING"), line(bad[1], "gRPC status 5 (NOT_FOUND)")]
        ), str(r)


def test_headers_arrive_as_metadata(probe, grpcd):
    before = len(grpcd.calls())
    t = f"grpc://127.0.0.1:{grpcd.port}/svc.Serving"
    r = probe("-v", "-H", "x-token: abc", "-H", "X-Trace-Id:42", t)
    assert_serving(r, t)
    calls = grpcd.calls()[before:]
    assert len(calls) == 1, calls
    assert calls[0]["method"] == "/grpc.health.v1.Health/Check"
    md = calls[0]["metadata"]
    assert ["x-token", "abc"] in md, md
    assert ["x-trace-id", "42"] in md, md
    ua = [v for k, v in md if k == "user-agent"]
    assert len(ua) == 1 and ua[0].startswith(f"scratchprobe/{VERSION}"), md


def test_timeout_against_a_server_that_never_speaks_http2(probe, fault_server):
    """A plain socket that accepts and reads but never answers."""
    with fault_server(faultserver.hang()) as port:
        t = f"grpc://127.0.0.1:{port}"
        r = probe("-t", "1s", t)
        reason = fail_reason(r, t)
        assert reason.startswith("timed out after 1s while "), str(r)
        assert 0.95 <= r.elapsed < 1.1, str(r)
        assert port.server.requests and port.server.requests[0].startswith(h2.PREFACE)


def test_connection_refused(probe, closed_port):
    for t in (f"grpc://127.0.0.1:{closed_port}", f"grpc://localhost:{closed_port}/svc"):
        assert_fail(probe(t), t, "connection refused")


# ===========================================================================
# The scripted HTTP/2 server
# ===========================================================================


@contextlib.contextmanager
def h2server(script, **kw):
    with H2FaultServer(script, **kw) as srv:
        yield srv


def check_server(srv: H2FaultServer, r=None) -> None:
    srv.wait_done()
    assert srv.notes == [], "\n".join(srv.notes) + (f"\n{r}" if r else "")


def test_huffman_encoder_matches_rfc7541():
    """The test's own encoder against RFC 7541 C.4 and C.6, and its table is
    prefix-free: what the Huffman tests send is right."""
    assert h2.huffman("www.example.com").hex() == "f1e3c2e5f23a6ba0ab90f4ff"
    assert h2.huffman("no-cache").hex() == "a8eb10649cbf"
    assert h2.huffman("custom-value").hex() == "25a849e95bb8e8b4bf"
    assert h2.huffman("Mon, 21 Oct 2013 20:13:21 GMT").hex() == "d07abe941054d444a8200595040b8166e082a62d1bff"
    assert h2.huffman("https://www.example.com").hex() == "9d29ad171863c78f0b97c8e9ae82ae43d3"
    codes = [format(c, f"0{n}b") for c, n in h2.HUFFMAN.values()]
    assert not any(a != b and b.startswith(a) for a in codes for b in codes)
    text = bytes(range(0x20, 0x7F))
    assert h2.huffman_decode(h2.huffman(text)) == text


def test_request_is_well_formed(probe):
    with h2server(answer(SERVER_SETTINGS, h2.response(1))) as srv:
        t = f"{srv.target}/my.Service"
        assert_serving(probe("-v", "-t", "3s", "-H", "X-Api-Key: k1", t), t)
        check_server(srv)
        req = srv.request
        assert req.preface == h2.PREFACE
        # our SETTINGS come first, with HEADER_TABLE_SIZE 0
        first = srv.conns[0].frames[0]
        assert (first.ty, first.flags, first.stream) == (SETTINGS, 0, 0)
        assert (h2.HEADER_TABLE_SIZE, 0) in req.settings, req.settings
        assert all(f.stream == 1 for f in req.header_frames)
        got = dict(req.headers)
        assert len(got) == len(req.headers), req.headers
        assert got[":method"] == "POST"
        assert got[":scheme"] == "http"
        assert got[":path"] == "/grpc.health.v1.Health/Check"
        assert got[":authority"] == f"localhost:{srv.port}"
        assert got["content-type"] == "application/grpc"
        assert got["te"] == "trailers"
        assert got["user-agent"] == f"scratchprobe/{VERSION}"
        assert got["x-api-key"] == "k1"
        # the deadline (-t 3s) in milliseconds, for the server to give up too
        assert got["grpc-timeout"] == "3000m", got
        # pseudo-headers before regular headers
        names = [n for n, _ in req.headers]
        assert max(i for i, n in enumerate(names) if n.startswith(":")) < min(
            i for i, n in enumerate(names) if not n.startswith(":")
        ), names
        # one DATA frame: uncompressed, HealthCheckRequest{service = "my.Service"}
        assert req.complete
        assert req.message == b"\0\0\0\0\x0c\x0a\x0amy.Service", req.message


def test_request_for_the_whole_server_is_empty(probe):
    with h2server(answer(SERVER_SETTINGS, h2.response(1))) as srv:
        assert_serving(probe("-v", srv.target), srv.target)
        check_server(srv)
        assert srv.request.message == b"\0\0\0\0\0"


def test_unix_socket_h2(probe):
    with h2server(answer(SERVER_SETTINGS, h2.response(1)), unix=True) as srv:
        t = f"{srv.target}:a.B"
        assert_serving(probe("-v", t), t)
        check_server(srv)
        assert dict(srv.request.headers)[":authority"] == "localhost"
        assert srv.request.message.endswith(b"\x0a\x03a.B")


@pytest.mark.parametrize(
    "reply",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n",
        b"HTTP/1.0 505 HTTP Version Not Supported\r\n\r\n",
    ],
)
def test_http1_server_is_not_http2(probe, fault_server, reply):
    with fault_server(reply) as port:
        t = f"grpc://127.0.0.1:{port}"
        assert_fail(probe(t), t, "not an HTTP/2 server")


def test_nginx_is_not_http2(probe, nginx):
    t = f"grpc://127.0.0.1:{nginx.port}"
    assert_fail(probe(t), t, "not an HTTP/2 server")


def test_garbage_is_not_http2(probe, fault_server):
    with fault_server(bytes(range(256)) * 4) as port:
        t = f"grpc://127.0.0.1:{port}"
        assert_fail(probe(t), t, "not an HTTP/2 server")
    with fault_server(b"\xde\xad\xbe\xef" * 64) as port:
        t = f"grpc://127.0.0.1:{port}"
        assert_fail(probe(t), t, "not an HTTP/2 server")


def test_server_that_closes_at_once_is_not_http2(probe, fault_server):
    with fault_server(faultserver.close()) as port:
        t = f"grpc://127.0.0.1:{port}"
        assert_fail(probe(t), t, "not an HTTP/2 server")


def test_garbage_after_settings(probe):
    with h2server(answer(SERVER_SETTINGS, b"\xde\xad\xbe\xef" * 64)) as srv:
        reason = fail_reason(probe(srv.target), srv.target)
        assert "HTTP/2" in reason


def test_goaway_after_settings(probe):
    with h2server(answer(SERVER_SETTINGS, h2.goaway(0, h2.INTERNAL_ERROR, b"bye"))) as srv:
        reason = fail_reason(probe(srv.target), srv.target)
        assert "GOAWAY" in reason and "2" in reason, reason
    # NO_ERROR, but stream 1 is not among the streams it will serve
    with h2server(answer(SERVER_SETTINGS, h2.goaway(0, h2.NO_ERROR))) as srv:
        reason = fail_reason(probe(srv.target), srv.target)
        assert "GOAWAY" in reason, reason


def test_graceful_goaway_still_serves_stream_1(probe):
    parts = (SERVER_SETTINGS, h2.goaway(0x7FFFFFFF, h2.NO_ERROR), h2.response(1))
    with h2server(answer(*parts)) as srv:
        assert_serving(probe("-v", srv.target), srv.target)
    parts = (SERVER_SETTINGS, h2.goaway(1, h2.NO_ERROR), h2.response(1))
    with h2server(answer(*parts)) as srv:
        assert_serving(probe("-v", srv.target), srv.target)


def test_rst_stream_on_stream_1(probe):
    resp_headers = frame(HEADERS, END_HEADERS, 1, h2.response_block())
    for parts in [
        (SERVER_SETTINGS, h2.rst_stream(1, h2.CANCEL)),
        (SERVER_SETTINGS, resp_headers, h2.rst_stream(1, h2.REFUSED_STREAM)),
    ]:
        with h2server(answer(*parts)) as srv:
            reason = fail_reason(probe(srv.target), srv.target)
            assert "reset" in reason, reason


def test_rst_stream_of_another_stream_is_ignored(probe):
    with h2server(answer(SERVER_SETTINGS, h2.rst_stream(3, h2.CANCEL), h2.response(1))) as srv:
        assert_serving(probe("-v", srv.target), srv.target)


def test_huge_data_frame_on_another_stream_is_ignored(probe):
    huge = frame(DATA, 0, 3, b"\xaa" * 16384)
    with h2server(answer(SERVER_SETTINGS, huge, huge, h2.response(1))) as srv:
        assert_serving(probe("-v", srv.target), srv.target)
        check_server(srv)


def test_frame_larger_than_max_frame_size_fails(probe):
    """We never raise SETTINGS_MAX_FRAME_SIZE: 16,385 bytes is an error."""
    huge = frame(DATA, 0, 3, b"\xaa" * 16385)
    with h2server(answer(SERVER_SETTINGS, huge, h2.response(1))) as srv:
        reason = fail_reason(probe(srv.target), srv.target)
        assert "HTTP/2" in reason, reason


def _split3(block: bytes) -> tuple[bytes, bytes, bytes]:
    a, b = len(block) // 3, 2 * len(block) // 3
    return block[:a], block[a:b], block[b:]


def test_header_block_split_over_continuation_frames(probe):
    a, b, c = _split3(h2.response_block() + h2.literal("x-pad", "p" * 50))
    x, y, z = _split3(h2.trailers_block(0, "fine"))
    parts = [
        SERVER_SETTINGS,
        frame(HEADERS, 0, 1, a),
        frame(CONTINUATION, 0, 1, b),
        frame(CONTINUATION, END_HEADERS, 1, c),
        frame(DATA, 0, 1, h2.grpc_message(1)),
        frame(HEADERS, END_STREAM, 1, x),
        frame(CONTINUATION, 0, 1, y),
        frame(CONTINUATION, END_HEADERS, 1, z),
    ]
    with h2server(answer(*parts)) as srv:
        assert_serving(probe("-v", srv.target), srv.target)
    # the same with NOT_SERVING: the split trailers are really read
    parts[4] = frame(DATA, 0, 1, h2.grpc_message(2))
    with h2server(answer(*parts)) as srv:
        assert_fail(probe(srv.target), srv.target, "gRPC NOT_SERVING")
    # and a status in split trailers
    x, y, z = _split3(h2.trailers_block(14, "try later"))
    parts[5:] = [
        frame(HEADERS, END_STREAM, 1, x),
        frame(CONTINUATION, 0, 1, y),
        frame(CONTINUATION, END_HEADERS, 1, z),
    ]
    with h2server(answer(*parts)) as srv:
        assert_fail(probe(srv.target), srv.target, "gRPC status 14 (UNAVAILABLE): try later")


def test_padded_headers_and_data(probe):
    prio = b"\x00\x00\x00\x00\x10"  # stream dependency 0, weight 16
    parts = [
        SERVER_SETTINGS,
        frame(HEADERS, END_HEADERS | PADDED, 1, h2.padded(h2.response_block(), 17)),
        frame(DATA, PADDED, 1, h2.padded(h2.grpc_message(1), 200)),
        frame(DATA, PADDED, 1, h2.padded(b"", 3)),  # only padding
        frame(HEADERS, END_HEADERS | END_STREAM | PADDED | PRIORITY_FLAG, 1, h2.padded(prio + h2.trailers_block(0), 9)),
    ]
    with h2server(answer(*parts)) as srv:
        assert_serving(probe("-v", srv.target), srv.target)
    # zero-length padding, and padding that would spoil the message or the
    # trailers if it were read as content
    parts = [
        SERVER_SETTINGS,
        frame(HEADERS, END_HEADERS | PADDED, 1, h2.padded(h2.response_block(), 0)),
        frame(DATA, PADDED, 1, h2.padded(h2.grpc_message(2), 8)),
        frame(HEADERS, END_HEADERS | END_STREAM | PADDED, 1, h2.padded(h2.trailers_block(0), 255)),
    ]
    with h2server(answer(*parts)) as srv:
        assert_fail(probe(srv.target), srv.target, "gRPC NOT_SERVING")


def test_dynamic_table_reference_fails(probe):
    # what a server that ignores our HEADER_TABLE_SIZE 0 would send: a
    # literal with incremental indexing, then the entry it made (index 62)
    block1 = h2.response_block() + h2.literal("grpc-accept-encoding", "identity", mode="incremental")
    block2 = h2.indexed(62) + h2.trailers_block(0)
    parts = [
        SERVER_SETTINGS,
        frame(HEADERS, END_HEADERS, 1, block1),
        frame(DATA, 0, 1, h2.grpc_message(1)),
        frame(HEADERS, END_HEADERS | END_STREAM, 1, block2),
    ]
    with h2server(answer(*parts)) as srv:
        reason = fail_reason(probe(srv.target), srv.target)
        assert "dynamic table" in reason, reason
    # a name indexed in the dynamic table, in the first block
    block = h2.STATUS_200 + h2.hint(62, 4) + h2.hstr("x")
    with h2server(answer(SERVER_SETTINGS, frame(HEADERS, END_HEADERS, 1, block))) as srv:
        reason = fail_reason(probe(srv.target), srv.target)
        assert "dynamic table" in reason, reason
    # a table size update above the 0 we announced
    block = h2.table_size_update(4096) + h2.response_block()
    with h2server(answer(SERVER_SETTINGS, frame(HEADERS, END_HEADERS, 1, block))) as srv:
        reason = fail_reason(probe(srv.target), srv.target)
        assert "dynamic table" in reason, reason


def test_incremental_indexing_and_size_update_to_0_pass(probe):
    """What grpcio sends: a table size update to 0, then literals 'with
    incremental indexing' that a 0-size table drops at once."""
    block = h2.table_size_update(0) + h2.STATUS_200 + h2.literal(31, "application/grpc", mode="incremental")
    trailers = h2.literal("grpc-status", "0", mode="incremental") + h2.literal("grpc-message", "", mode="never")
    parts = [
        SERVER_SETTINGS,
        frame(HEADERS, END_HEADERS, 1, block),
        frame(DATA, 0, 1, h2.grpc_message(1)),
        frame(HEADERS, END_HEADERS | END_STREAM, 1, trailers),
    ]
    with h2server(answer(*parts)) as srv:
        assert_serving(probe("-v", srv.target), srv.target)


def test_ping_is_answered_before_the_server_answers(probe):
    opaque = b"\x01sp-ping"

    def script(c):
        c.read_request()
        c.send(SERVER_SETTINGS, h2.ping(opaque))
        ack = c.expect(lambda f: f.ty == PING, "a PING ACK")
        if ack is None:
            return c.close()
        if (ack.flags, ack.stream, ack.payload) != (ACK, 0, opaque):
            c.note(f"bad PING ACK {ack}")
            return c.close()
        # a second PING, and a PING ACK that must not be answered
        c.send(h2.ping(b"second!!"), h2.ping(b"unasked!", ack=True))
        ack = c.expect(lambda f: f.ty == PING, "a second PING ACK")
        if ack is None or ack.payload != b"second!!" or not ack.flags & ACK:
            c.note(f"bad second PING ACK {ack}")
            return c.close()
        c.send(h2.response(1))
        c.hold()
        pings = [f for f in c.frames if f.ty == PING]
        if len(pings) != 2:
            c.note(f"PING frames from the probe: {pings}")

    with h2server(script) as srv:
        r = probe("-v", "-t", "3s", srv.target)
        check_server(srv, r)
        assert_serving(r, srv.target)


def test_settings_must_be_acked_before_the_server_answers(probe):
    def script(c):
        c.read_request()
        # the probe's own SETTINGS ACK frame from the request must not count
        before = len(c.frames)
        c.send(h2.settings((h2.MAX_CONCURRENT_STREAMS, 1), (h2.MAX_FRAME_SIZE, 16384)))
        ack = c.expect(lambda f: f.ty == SETTINGS and f.flags & ACK, "a SETTINGS ACK")
        if ack is None:
            return c.close()
        if ack.payload or ack.stream:
            c.note(f"bad SETTINGS ACK {ack}")
        if any(f.ty == SETTINGS and f.flags & ACK for f in c.frames[:before]):
            c.note("SETTINGS ACK before the server sent SETTINGS")
        # a second SETTINGS mid-connection is acknowledged as well
        c.send(h2.settings((h2.INITIAL_WINDOW_SIZE, 1 << 20)))
        if c.expect(lambda f: f.ty == SETTINGS and f.flags & ACK, "a second SETTINGS ACK") is None:
            return c.close()
        c.send(SETTINGS_ACK, h2.response(1))
        c.hold()

    with h2server(script) as srv:
        r = probe("-v", "-t", "3s", srv.target)
        check_server(srv, r)
        assert_serving(r, srv.target)


def test_huffman_coded_trailers(probe):
    msg = "Service overloaded, try again later"
    block = h2.literal("grpc-status", "14", huff=True) + h2.literal("grpc-message", msg, huff=True)
    parts = [
        SERVER_SETTINGS,
        frame(HEADERS, END_HEADERS, 1, h2.STATUS_200 + h2.literal(31, "application/grpc", huff=True)),
        frame(HEADERS, END_HEADERS | END_STREAM, 1, block),
    ]
    with h2server(answer(*parts)) as srv:
        assert_fail(probe(srv.target), srv.target, f"gRPC status 14 (UNAVAILABLE): {msg}")
    # trailers-only with a Huffman :status value (literal, static name 8)
    block = h2.literal(8, "200", huff=True) + h2.literal("grpc-status", "12", huff=True)
    block += h2.literal("grpc-message", "Method not found!", mode="never", huff=True)
    with h2server(answer(SERVER_SETTINGS, frame(HEADERS, END_HEADERS | END_STREAM, 1, block))) as srv:
        assert_fail(probe(srv.target), srv.target, "gRPC status 12 (UNIMPLEMENTED): Method not found!")
    # SERVING with Huffman-coded grpc-status 0
    parts = [
        SERVER_SETTINGS,
        frame(HEADERS, END_HEADERS, 1, h2.response_block()),
        frame(DATA, 0, 1, h2.grpc_message(1)),
        frame(HEADERS, END_HEADERS | END_STREAM, 1, h2.trailers_block(0, huff=True)),
    ]
    with h2server(answer(*parts)) as srv:
        assert_serving(probe("-v", srv.target), srv.target)


def test_non_200_status(probe):
    block = h2.literal(8, "404") + h2.literal("content-type", "text/plain")
    with h2server(answer(SERVER_SETTINGS, frame(HEADERS, END_HEADERS | END_STREAM, 1, block))) as srv:
        assert_fail(probe(srv.target), srv.target, "HTTP 404")
    with h2server(answer(SERVER_SETTINGS, frame(HEADERS, END_HEADERS, 1, h2.indexed(14)))) as srv:
        assert_fail(probe(srv.target), srv.target, "HTTP 500")


def test_missing_grpc_status(probe):
    parts = [
        SERVER_SETTINGS,
        frame(HEADERS, END_HEADERS, 1, h2.response_block()),
        frame(DATA, 0, 1, h2.grpc_message(1)),
        frame(HEADERS, END_HEADERS | END_STREAM, 1, h2.literal("x-other", "1")),
    ]
    with h2server(answer(*parts)) as srv:
        reason = fail_reason(probe(srv.target), srv.target)
        assert "grpc-status" in reason, reason


@pytest.mark.parametrize("after", ["settings", "headers"])
def test_server_closes_before_the_answer(probe, after):
    parts = [SERVER_SETTINGS]
    if after == "headers":
        parts.append(frame(HEADERS, END_HEADERS, 1, h2.response_block()))
    with h2server(answer_then_close(*parts)) as srv:
        reason = fail_reason(probe("-t", "3s", srv.target), srv.target)
        assert "closed" in reason or "before" in reason, reason


@pytest.mark.parametrize("after", ["settings", "headers"])
def test_timeout_while_waiting_for_the_answer(probe, after):
    parts = [SERVER_SETTINGS]
    if after == "headers":
        parts += [frame(HEADERS, END_HEADERS, 1, h2.response_block()), frame(DATA, 0, 1, h2.grpc_message(1))]
    with h2server(answer(*parts)) as srv:
        r = probe("-t", "1s", srv.target)
        reason = fail_reason(r, srv.target)
        assert reason.startswith("timed out after 1s while "), reason
        assert r.elapsed < 1.1, str(r)


def test_timeout_phases_differ(probe):
    """The timeout names what was awaited: settings, response, trailers."""
    reasons = []
    for parts in (
        [],
        [SERVER_SETTINGS],
        [SERVER_SETTINGS, frame(HEADERS, END_HEADERS, 1, h2.response_block())],
    ):
        with h2server(answer(*parts)) as srv:
            reasons.append(fail_reason(probe("-t", "250ms", srv.target), srv.target))
    assert all(r.startswith("timed out after 250ms while ") for r in reasons), reasons
    assert len(set(reasons)) == 3, reasons


def test_unknown_frame_types_are_ignored(probe):
    parts = [
        SERVER_SETTINGS,
        frame(0xFF, 0xFF, 0, b"unknown on stream 0"),
        frame(0xFF, 0, 1, b"unknown on stream 1" * 50),
        frame(HEADERS, END_HEADERS, 1, h2.response_block()),
        frame(0x0A, 0, 0, b""),  # ALTSVC-ish, empty
        frame(h2.WINDOW_UPDATE, 0, 1, b"\x00\x00\x10\x00"),
        frame(h2.PRIORITY, 0, 1, b"\x00\x00\x00\x00\x10"),
        frame(DATA, 0, 1, h2.grpc_message(1)),
        frame(0xFF, 0, 1, b""),
        frame(HEADERS, END_HEADERS | END_STREAM, 1, h2.trailers_block(0)),
    ]
    with h2server(answer(*parts)) as srv:
        assert_serving(probe("-v", srv.target), srv.target)


def test_answer_in_single_bytes(probe):
    """Frames arriving a byte at a time: the parser keeps its place."""

    def script(c):
        c.read_request()
        for b in SERVER_SETTINGS + h2.response(2):
            c.send(bytes([b]))
            time.sleep(0.001)
        c.hold()

    with h2server(script) as srv:
        assert_fail(probe("-t", "3s", srv.target), srv.target, "gRPC NOT_SERVING")


def test_message_split_over_data_frames(probe):
    msg = h2.grpc_message(1)
    parts = [
        SERVER_SETTINGS,
        frame(HEADERS, END_HEADERS, 1, h2.response_block()),
        frame(DATA, 0, 1, msg[:3]),
        frame(DATA, 0, 1, msg[3:6]),
        frame(DATA, 0, 1, msg[6:]),
        frame(DATA, 0, 1, b""),
        frame(HEADERS, END_HEADERS | END_STREAM, 1, h2.trailers_block(0)),
    ]
    with h2server(answer(*parts)) as srv:
        assert_serving(probe("-v", srv.target), srv.target)


def test_three_pings_in_one_write_are_all_answered(probe):
    opaques = [b"ping-%03d" % i for i in range(3)]

    def script(c):
        c.read_request()
        c.send(SERVER_SETTINGS, *(h2.ping(o) for o in opaques))
        for o in opaques:
            ack = c.expect(lambda f: f.ty == PING, f"the ACK of {o!r}")
            if ack is None:
                return c.close()
            if (ack.flags, ack.payload) != (ACK, o):
                c.note(f"expected the ACK of {o!r}, got {ack}")
        c.send(h2.response(1))
        c.hold()

    with h2server(script) as srv:
        r = probe("-v", "-t", "3s", srv.target)
        check_server(srv, r)
        assert_serving(r, srv.target)


@pytest.mark.parametrize("service_len", [0, 150, 1000])
def test_long_message_and_service_keep_the_line_short(probe, service_len):
    """A 400-byte grpc-message and long service names: one line under 200
    bytes (the fixture checks the length), the status still named."""
    block = h2.STATUS_200 + h2.trailers_block(13, "m" * 400)
    with h2server(answer(SERVER_SETTINGS, frame(HEADERS, END_HEADERS | END_STREAM, 1, block))) as srv:
        t = f"{srv.target}/{'s' * service_len}" if service_len else srv.target
        r = probe(t)
        assert r.rc == 1 and len(r.lines) == 1, str(r)
        assert "gRPC status 13 (INTERNAL)" in r.lines[0], str(r)
        assert srv.request.message.endswith(b"s" * service_len)
