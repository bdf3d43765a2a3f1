"""A scripted HTTP/2 server (cleartext, prior knowledge) for black-box tests of
the probe's gRPC check: frames are written by hand with `struct`, no h2
library.

Each accepted connection runs a *script*, a function of one `H2Conn`. A script
usually reads the probe's request (`c.read_request()`: the connection preface,
our SETTINGS, HEADERS and the DATA that ends stream 1), then sends frames built
with the helpers below, possibly waiting for the probe's answers in between
(`c.expect(...)`), and finally holds the connection open until the probe
closes it (`c.hold()`). Whatever a script finds wrong goes to `server.notes`;
the test asserts that list is empty.

    with H2FaultServer(answer(SERVER_SETTINGS, response(1))) as srv:
        probe(srv.target)                      # grpc://127.0.0.1:PORT
    with H2FaultServer(script, unix=True) as srv:
        probe(srv.target)                      # grpc+unix:/tmp/sp-.../fault.sock

Also here: a minimal HPACK encoder (integers, literals, Huffman strings from
the printable part of RFC 7541 Appendix B) and decoder (static table, no
dynamic table), enough to write responses and read the probe's request.

Servers bind loopback (or a Unix socket) only and are stopped on exit.
"""

from __future__ import annotations

import os
import socket
import struct
import time
from dataclasses import dataclass, field

from faultserver import Behaviour, Conn, FaultServer

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

# Frame types (RFC 9113 6) and flags.
DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE = 0, 1, 2, 3, 4, 5
PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = 6, 7, 8, 9
ACK = END_STREAM = 0x1
END_HEADERS = 0x4
PADDED = 0x8
PRIORITY_FLAG = 0x20

# Error codes.
NO_ERROR, PROTOCOL_ERROR, INTERNAL_ERROR, REFUSED_STREAM, CANCEL = 0, 1, 2, 7, 8

# SETTINGS parameters.
HEADER_TABLE_SIZE, ENABLE_PUSH, MAX_CONCURRENT_STREAMS = 1, 2, 3
INITIAL_WINDOW_SIZE, MAX_FRAME_SIZE, MAX_HEADER_LIST_SIZE = 4, 5, 6


# -- frames ----------------------------------------------------------------------


def frame(ty: int, flags: int, stream: int, payload: bytes = b"") -> bytes:
    """One frame: 24-bit length, type, flags, 31-bit stream id, payload."""
    n = len(payload)
    return struct.pack(">BHBBI", n >> 16, n & 0xFFFF, ty, flags, stream) + payload


def settings(*pairs: tuple[int, int]) -> bytes:
    return frame(SETTINGS, 0, 0, b"".join(struct.pack(">HI", k, v) for k, v in pairs))


SETTINGS_ACK = frame(SETTINGS, ACK, 0)


def ping(opaque: bytes, ack: bool = False) -> bytes:
    assert len(opaque) == 8
    return frame(PING, ACK if ack else 0, 0, opaque)


def goaway(last_stream: int, code: int, debug: bytes = b"") -> bytes:
    return frame(GOAWAY, 0, 0, struct.pack(">II", last_stream, code) + debug)


def rst_stream(stream: int, code: int) -> bytes:
    return frame(RST_STREAM, 0, stream, struct.pack(">I", code))


def window_update(stream: int, increment: int) -> bytes:
    return frame(WINDOW_UPDATE, 0, stream, struct.pack(">I", increment))


def padded(content: bytes, pad: int) -> bytes:
    """The payload of a PADDED frame: pad length, content, zero padding."""
    return bytes([pad]) + content + b"\0" * pad


# What a server sends first: its SETTINGS (like grpcio: a big window and
# frame size advertised) and a connection WINDOW_UPDATE.
SERVER_SETTINGS = settings(
    (MAX_CONCURRENT_STREAMS, 100), (INITIAL_WINDOW_SIZE, 4 << 20), (MAX_HEADER_LIST_SIZE, 16384)
) + window_update(0, 0x3F0001)


# -- HPACK encoding ----------------------------------------------------------------

# RFC 7541 Appendix B for the printable ASCII characters 0x20 to 0x7e: the
# code (hex) and its length in bits, in character order.
_HUFFMAN_PRINTABLE = """
14:6 3f8:10 3f9:10 ffa:12 1ff9:13 15:6 f8:8 7fa:11 3fa:10 3fb:10 f9:8 7fb:11 fa:8 16:6 17:6 18:6
0:5 1:5 2:5 19:6 1a:6 1b:6 1c:6 1d:6 1e:6 1f:6 5c:7 fb:8 7ffc:15 20:6 ffb:12 3fc:10
1ffa:13 21:6 5d:7 5e:7 5f:7 60:7 61:7 62:7 63:7 64:7 65:7 66:7 67:7 68:7 69:7 6a:7
6b:7 6c:7 6d:7 6e:7 6f:7 70:7 71:7 72:7 fc:8 73:7 fd:8 1ffb:13 7fff0:19 1ffc:13 3ffc:14 22:6
7ffd:15 3:5 23:6 4:5 24:6 5:5 25:6 26:6 27:6 6:5 74:7 75:7 28:6 29:6 2a:6 7:5
2b:6 76:7 2c:6 8:5 9:5 2d:6 77:7 78:7 79:7 7a:7 7b:7 7ffe:15 7fc:11 3ffd:14 1ffd:13
"""
HUFFMAN: dict[int, tuple[int, int]] = {
    0x20 + i: (int(code, 16), int(bits))
    for i, (code, bits) in enumerate(w.split(":") for w in _HUFFMAN_PRINTABLE.split())
}
assert len(HUFFMAN) == 95


def huffman(s: bytes | str) -> bytes:
    """Huffman-encodes printable ASCII (RFC 7541 5.2), padded with the EOS
    prefix (all ones)."""
    if isinstance(s, str):
        s = s.encode()
    acc, n = 0, 0
    for c in s:
        code, bits = HUFFMAN[c]
        acc, n = (acc << bits) | code, n + bits
    pad = -n % 8
    acc, n = (acc << pad) | ((1 << pad) - 1), n + pad
    return acc.to_bytes(n // 8, "big")


def huffman_decode(b: bytes) -> bytes:
    """The reverse, for printable ASCII only (enough to read what a probe
    might send); raises ValueError on anything else."""
    rev = {(bits, code): c for c, (code, bits) in HUFFMAN.items()}
    out, acc, n = bytearray(), 0, 0
    for byte in b:
        for i in range(7, -1, -1):
            acc, n = (acc << 1) | ((byte >> i) & 1), n + 1
            if (n, acc) in rev:
                out.append(rev[(n, acc)])
                acc, n = 0, 0
            elif n > 30:
                raise ValueError("bad Huffman code")
    if n > 7 or acc != (1 << n) - 1:
        raise ValueError("bad Huffman padding")
    return bytes(out)


def hint(value: int, prefix_bits: int, first: int = 0) -> bytes:
    """An HPACK integer (RFC 7541 5.1) with the pattern bits `first`."""
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytes([first | value])
    out = bytearray([first | limit])
    value -= limit
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def hstr(s: bytes | str, huff: bool = False) -> bytes:
    if isinstance(s, str):
        s = s.encode()
    if huff:
        s = huffman(s)
    return hint(len(s), 7, 0x80 if huff else 0) + s


def indexed(index: int) -> bytes:
    """An indexed header field: 1..61 static, 62 and up the dynamic table."""
    return hint(index, 7, 0x80)


def literal(name: str | int, value: str, mode: str = "without", huff: bool = False) -> bytes:
    """A literal header field, `mode` "without" (indexing), "never" (indexed)
    or "incremental" (indexing); `name` a string or a static table index."""
    bits, first = {"without": (4, 0x00), "never": (4, 0x10), "incremental": (6, 0x40)}[mode]
    if isinstance(name, int):
        return hint(name, bits, first) + hstr(value, huff)
    return bytes([first]) + hstr(name, huff) + hstr(value, huff)


def table_size_update(size: int) -> bytes:
    return hint(size, 5, 0x20)


STATUS_200 = indexed(8)


def response_block(status: int = 200) -> bytes:
    """Response headers: `:status`, `content-type: application/grpc`."""
    st = STATUS_200 if status == 200 else literal(8, str(status))
    return st + literal(31, "application/grpc")


def trailers_block(code: int | str = 0, message: str = "", huff: bool = False) -> bytes:
    block = literal("grpc-status", str(code), huff=huff)
    if message:
        block += literal("grpc-message", message, huff=huff)
    return block


def grpc_message(health: int | None) -> bytes:
    """A length-prefixed HealthCheckResponse; None for UNKNOWN (0), which
    proto3 encodes as nothing."""
    body = b"" if not health else bytes([0x08, health])
    return b"\0" + struct.pack(">I", len(body)) + body


def response(health: int = 1, code: int = 0, message: str = "", stream: int = 1) -> bytes:
    """A whole gRPC answer on `stream`: headers, the message, trailers."""
    return (
        frame(HEADERS, END_HEADERS, stream, response_block())
        + frame(DATA, 0, stream, grpc_message(health))
        + frame(HEADERS, END_HEADERS | END_STREAM, stream, trailers_block(code, message))
    )


# -- HPACK decoding (the probe's request) ------------------------------------------

_STATIC = """:authority|:method GET|:method POST|:path /|:path /index.html|:scheme http|\
:scheme https|:status 200|:status 204|:status 206|:status 304|:status 400|:status 404|\
:status 500|accept-charset|accept-encoding gzip, deflate|accept-language|accept-ranges|\
accept|access-control-allow-origin|age|allow|authorization|cache-control|\
content-disposition|content-encoding|content-language|content-length|content-location|\
content-range|content-type|cookie|date|etag|expect|expires|from|host|if-match|\
if-modified-since|if-none-match|if-range|if-unmodified-since|last-modified|link|location|\
max-forwards|proxy-authenticate|proxy-authorization|range|referer|refresh|retry-after|\
server|set-cookie|strict-transport-security|transfer-encoding|user-agent|vary|via|\
www-authenticate"""
STATIC_TABLE = [tuple((e.split(" ", 1) + [""])[:2]) for e in _STATIC.split("|")]
assert len(STATIC_TABLE) == 61 and STATIC_TABLE[57][0] == "user-agent"


def _int(b: bytes, i: int, prefix_bits: int) -> tuple[int, int]:
    limit = (1 << prefix_bits) - 1
    value = b[i] & limit
    i += 1
    if value == limit:
        shift = 0
        while True:
            c = b[i]
            i += 1
            value += (c & 0x7F) << shift
            shift += 7
            if c < 0x80:
                break
    return value, i


def _str(b: bytes, i: int) -> tuple[str, int]:
    huff = b[i] & 0x80
    n, i = _int(b, i, 7)
    raw = b[i : i + n]
    if len(raw) != n:
        raise ValueError("string past the end of the block")
    return (huffman_decode(raw) if huff else raw).decode("latin-1"), i + n


def decode_block(b: bytes) -> list[tuple[str, str]]:
    """Decodes a header block that uses no dynamic table; raises ValueError
    (or IndexError) on anything else."""
    out, i = [], 0
    while i < len(b):
        c = b[i]
        if c & 0x80:
            idx, i = _int(b, i, 7)
            if not 1 <= idx <= 61:
                raise ValueError(f"index {idx} outside the static table")
            out.append(STATIC_TABLE[idx - 1])
            continue
        if c & 0xE0 == 0x20:
            raise ValueError("dynamic table size update in a request")
        idx, i = _int(b, i, 6 if c & 0x40 else 4)
        if idx:
            if idx > 61:
                raise ValueError(f"name index {idx} outside the static table")
            name = STATIC_TABLE[idx - 1][0]
        else:
            name, i = _str(b, i)
        value, i = _str(b, i)
        out.append((name, value))
    return out


# -- the server -----------------------------------------------------------------------


@dataclass
class Frame:
    ty: int
    flags: int
    stream: int
    payload: bytes

    def __repr__(self) -> str:
        p = self.payload if len(self.payload) <= 40 else self.payload[:40] + b"..."
        return f"Frame(ty={self.ty}, flags={self.flags:#x}, stream={self.stream}, {p!r})"


@dataclass
class Request:
    """What the probe sent on one connection."""

    preface: bytes = b""
    settings: list = field(default_factory=list)  # [(id, value)] of its first SETTINGS
    headers: list = field(default_factory=list)  # [(name, value)]
    header_frames: list = field(default_factory=list)
    message: bytes = b""  # the DATA payload of stream 1
    complete: bool = False  # DATA with END_STREAM on stream 1 arrived

    def header(self, name: str):
        values = [v for n, v in self.headers if n == name]
        return values[0] if len(values) == 1 else values or None


class Closed(Exception):
    """The peer closed the connection (or the server is stopping)."""


class H2Conn(Conn):
    """One accepted connection, as a script sees it: the fault server's
    connection, read frame by frame."""

    def __init__(self, sock: socket.socket, server: "H2FaultServer"):
        super().__init__(sock, server)
        self.buf = b""
        self.frames: list[Frame] = []  # every frame received, in order
        self.request: Request | None = None
        self.eof = False

    # -- reading --------------------------------------------------------------

    def _fill(self, deadline: float) -> bool:
        """Reads more into buf; False on EOF, error, timeout or stop."""
        data = self._recv(deadline)
        if data == b"":
            self.eof = True
        if not data:
            return False
        self.buf += data
        return True

    def _take(self, n: int, deadline: float) -> bytes | None:
        while len(self.buf) < n:
            if not self._fill(deadline):
                return None
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_frame(self, timeout: float = 3.0) -> Frame | None:
        """The next frame, or None on EOF or timeout (a partial frame stays
        buffered)."""
        deadline = time.monotonic() + timeout
        while True:
            if len(self.buf) >= 9:
                hi, lo, ty, flags, stream = struct.unpack(">BHBBI", self.buf[:9])
                end = 9 + ((hi << 16) | lo)
                if len(self.buf) >= end:
                    f = Frame(ty, flags, stream & 0x7FFFFFFF, self.buf[9:end])
                    self.buf = self.buf[end:]
                    self.frames.append(f)
                    return f
            if not self._fill(deadline):
                return None

    def read_request(self, timeout: float = 3.0) -> Request:
        """Reads the preface and frames until stream 1 ends (DATA with
        END_STREAM), noting anything malformed on the way."""
        deadline = time.monotonic() + timeout
        req = self.request = Request()
        req.preface = self._take(len(PREFACE), deadline) or b""
        if req.preface != PREFACE:
            self.note(f"bad connection preface {req.preface!r}")
            return req
        block = b""
        while time.monotonic() < deadline:
            f = self.read_frame(max(0.0, deadline - time.monotonic()))
            if f is None:
                break
            if f.ty == SETTINGS and not f.flags & ACK and not req.settings:
                if len(f.payload) % 6:
                    self.note(f"SETTINGS of {len(f.payload)} bytes")
                req.settings = [struct.unpack(">HI", f.payload[i : i + 6]) for i in range(0, len(f.payload), 6)]
            elif f.ty in (HEADERS, CONTINUATION) and f.stream == 1:
                req.header_frames.append(f)
                block += f.payload  # the probe uses neither padding nor priority
                if f.flags & END_HEADERS:
                    try:
                        req.headers = decode_block(block)
                    except (ValueError, IndexError) as e:
                        self.note(f"undecodable request header block {block!r}: {e}")
            elif f.ty == DATA and f.stream == 1:
                req.message += f.payload
                if f.flags & END_STREAM:
                    req.complete = True
                    return req
        self.note(f"request incomplete: {self.frames}")
        return req

    def expect(self, pred, what: str, timeout: float = 2.0) -> Frame | None:
        """Reads frames until one satisfies `pred`; notes `what` is missing
        if none comes before EOF or the timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            f = self.read_frame(max(0.0, deadline - time.monotonic()))
            if f is None:
                break
            if pred(f):
                return f
        self.note(f"never got {what} (received {self.frames})")
        return None

    def hold(self, timeout: float = 10.0) -> None:
        """Keeps the connection open, recording frames, until the peer
        closes it, the server stops, or `timeout`."""
        deadline = time.monotonic() + timeout
        while not self.eof and not self.server.stopping.is_set() and time.monotonic() < deadline:
            self.read_frame(max(0.0, deadline - time.monotonic()))

    # -- writing ----------------------------------------------------------------

    def send(self, *parts: bytes) -> bool:
        data = b"".join(parts)
        self.sock.settimeout(2.0)
        try:
            self.sock.sendall(data)
            return True
        except OSError as e:
            self.note(f"send failed: {e}")
            return False

    def close(self) -> None:
        """Closes after the peer's bytes were read (a FIN, not an RST)."""
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        self.hold(timeout=2.0)

    def note(self, text: str) -> None:
        with self.server.lock:
            self.server.notes.append(text)


class H2FaultServer(FaultServer):
    """The fault server (TCP on loopback, or a Unix socket path) running
    `script(conn)` on an `H2Conn` for each accepted connection in its own
    thread. Any error a script raises is a note."""

    conn_class = H2Conn
    quiet_errors = ()

    def __init__(self, script, host: str = "127.0.0.1", unix: str | os.PathLike | bool | None = None):
        super().__init__(Behaviour(getattr(script, "__name__", "h2"), script), host=host, unix=unix)

    @property
    def target(self) -> str:
        return self.url("grpc")

    @property
    def request(self) -> Request | None:
        """The request of the first connection."""
        with self.lock:
            return self.conns[0].request if self.conns else None


# -- common scripts ---------------------------------------------------------------------


def answer(*parts: bytes):
    """Reads the request, sends `parts`, keeps the connection open."""

    def script(c: H2Conn) -> None:
        c.read_request()
        c.send(*parts)
        c.hold()

    return script


def answer_then_close(*parts: bytes):
    """Reads the request, sends `parts`, then closes (FIN)."""

    def script(c: H2Conn) -> None:
        c.read_request()
        c.send(*parts)
        c.close()

    return script
