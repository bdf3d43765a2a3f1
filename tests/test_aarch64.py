"""The aarch64 build under qemu-user (Debian's qemu-user-static): a subset of
the black-box behaviours, and a check of the seccomp filter that qemu cannot
enforce.

The binary is $SCRATCHPROBE_AARCH64, or the release build for
aarch64-unknown-linux-musl, which is (re)built here by build-scripts/build (a
no-op when it is up to date).

qemu-user does not implement seccomp(2): the probe's filter, written in
aarch64 syscall numbers, would be applied by the host kernel to qemu's own
x86_64 syscalls, so qemu answers ENOSYS and the probe runs unfiltered (as the
spec allows; `-v` says so). The filter is checked instead by
`test_filter_allows_what_the_probe_does`: the compiled filter is read out of
the aarch64 binary and run, in a small classic-BPF interpreter, on every
syscall the probe makes under qemu after the point where it installs it.
"""

from __future__ import annotations

import http.server
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import threading
import time
from pathlib import Path

import pytest

from conftest import ROOT, VERSION, assert_fail, assert_pass, fail_reason, python_http_server, run_probe

TRIPLE = "aarch64-unknown-linux-musl"
QEMU = shutil.which("qemu-aarch64-static") or "/usr/bin/qemu-aarch64-static"


@pytest.fixture(scope="module")
def arm_bin() -> Path:
    env_bin = os.environ.get("SCRATCHPROBE_AARCH64")
    if env_bin:
        path = Path(env_bin).resolve()
        if not path.is_file():
            pytest.fail(f"SCRATCHPROBE_AARCH64={env_bin} does not exist")
        return path
    p = subprocess.run(
        [str(ROOT / "build-scripts" / "build"), TRIPLE, "--quiet"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if p.returncode != 0:
        pytest.fail(
            f"build-scripts/build {TRIPLE} failed (is nightly with rust-src installed? "
            f"run build-scripts/setup):\n{p.stderr}"
        )
    return ROOT / "target" / TRIPLE / "release" / "scratchprobe"


@pytest.fixture(scope="module")
def arm(arm_bin):
    """arm(*args, env=None, strace=None) -> Result: the aarch64 probe under
    qemu; with strace=PATH, qemu logs the guest's syscalls to PATH."""
    if not os.path.exists(QEMU):
        pytest.fail("qemu-aarch64-static is not installed (Debian package qemu-user-static)")

    def run(*args, env=None, strace=None, timeout=20):
        prefix = [QEMU] + (["-d", "strace", "-D", str(strace)] if strace else [])
        return run_probe(*args, env=env, prefix=prefix, binary=arm_bin, timeout=timeout)

    return run


# -- a server that answers 503 -------------------------------------------------


class _Down(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(503)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def down_port():
    """Port of an in-process Python HTTP server on 127.0.0.1 answering 503."""
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Down)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        yield srv.server_address[1]
    finally:
        srv.shutdown()
        srv.server_close()


@pytest.fixture(scope="module")
def pyhttp_arm():
    with python_http_server() as s:
        yield s


# -- behaviours ----------------------------------------------------------------


def test_is_an_aarch64_static_elf(arm_bin):
    data = arm_bin.read_bytes()
    assert data[:4] == b"\x7fELF" and data[4] == 2, "not a 64-bit ELF"
    e_type, e_machine = struct.unpack_from("<HH", data, 16)
    assert (e_type, e_machine) == (2, 183), f"e_type {e_type}, e_machine {e_machine}: want ET_EXEC, EM_AARCH64"
    print(f"aarch64 binary: {len(data)} bytes")


def test_version(arm):
    r = arm("--version")
    assert r.rc == 0 and r.err == "", str(r)
    assert r.out.strip() == f"scratchprobe {VERSION}", str(r)


def test_help(arm):
    r = arm("--help")
    assert r.rc == 0 and r.err == "", str(r)
    assert "usage: scratchprobe" in r.out, str(r)


def test_no_arguments(arm):
    r = arm()
    assert r.rc == 1 and r.out == "", str(r)
    assert len(r.lines) == 1, str(r)


def test_http_200_from_python_http_server(arm, pyhttp_arm):
    mark = pyhttp_arm.log_mark()
    assert_pass(arm(f"http://127.0.0.1:{pyhttp_arm.port}/healthz"))
    log = pyhttp_arm.log_since(mark)
    assert len(log) == 1 and '"GET /healthz HTTP/1.1" 200' in log[0], log


def test_http_503(arm, down_port):
    target = f"http://127.0.0.1:{down_port}/healthz"
    assert_fail(arm(target), target, "HTTP 503")


def test_verbose_says_unfiltered_under_qemu(arm, pyhttp_arm):
    """qemu-user answers seccomp(2) with ENOSYS: the probe still runs and -v
    says it ran unfiltered."""
    r = arm("-v", f"http://127.0.0.1:{pyhttp_arm.port}/healthz")
    assert r.rc == 0, str(r)
    assert "unfiltered" in r.out + r.err, str(r)


def test_connection_refused(arm, closed_port):
    target = f"http://127.0.0.1:{closed_port}/"
    assert_fail(arm(target), target, "connection refused")


def test_non_loopback_refused_without_a_socket(arm, tmp_path):
    target = "http://10.0.0.1/"
    log = tmp_path / "strace.log"
    r = arm(target, strace=log)
    assert_fail(r, target, "refused: 10.0.0.1 is not a loopback address")
    calls = [c.name for c in parse_strace(log.read_text())]
    assert "exit_group" in calls, "qemu logged no syscalls"
    assert "socket" not in calls and "connect" not in calls, calls


def test_tcp_open_port(arm, pyhttp_arm):
    assert_pass(arm(f"tcp://127.0.0.1:{pyhttp_arm.port}"))


def test_tcp_closed_port(arm, closed_port):
    target = f"tcp://127.0.0.1:{closed_port}"
    assert_fail(arm(target), target, "connection refused")


def test_file_max_age(arm, tmp_path):
    hb = tmp_path / "heartbeat"
    hb.write_text("")
    target = f"file:{hb}?max-age=30s"
    assert_pass(arm(target))
    old = time.time() - 45
    os.utime(hb, (old, old))
    r = arm(target)
    assert re.fullmatch(r"heartbeat 4[5-9]s old \(max 30s\)", fail_reason(r, target)), str(r)


def test_file_missing(arm, tmp_path):
    target = f"file:{tmp_path}/missing"
    fail_reason(arm(target), target)


def test_a_trap_exits_1_not_by_a_signal(arm_bin):
    """A panic is one `brk` in the shipped builds, SIGTRAP on aarch64: the
    probe catches it and exits 1. Sent from outside while the probe waits on a
    server that accepts and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        p = subprocess.Popen([QEMU, str(arm_bin), "-t", "5s", f"http://127.0.0.1:{port}/"],
                             env={}, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(0.5)
        p.send_signal(signal.SIGTRAP)
        out, err = p.communicate(timeout=10)
    assert (p.returncode, out, err) == (1, b"", b""), (p.returncode, out, err)


# -- the seccomp filter, checked outside qemu ----------------------------------

# aarch64 (asm-generic) syscall numbers of every call a probe may make under
# qemu, and of some it must never make. A syscall missing here fails the test:
# add it with its number from the kernel's include/uapi/asm-generic/unistd.h.
AARCH64_NR = {
    "getcwd": 17, "dup": 23, "dup3": 24, "fcntl": 25, "ioctl": 29,
    "mkdirat": 34, "unlinkat": 35, "faccessat": 48, "chdir": 49,
    "openat": 56, "close": 57, "pipe2": 59, "getdents64": 61, "lseek": 62,
    "read": 63, "write": 64, "readv": 65, "writev": 66, "pread64": 67,
    "pwrite64": 68, "sendfile": 71, "pselect6": 72, "ppoll": 73,
    "signalfd4": 74, "readlinkat": 78, "newfstatat": 79, "fstat": 80,
    "timerfd_create": 85, "timerfd_settime": 86, "timerfd_gettime": 87,
    "exit": 93, "exit_group": 94, "set_tid_address": 96, "nanosleep": 101,
    "clock_gettime": 113, "clock_nanosleep": 115, "sched_yield": 124,
    "kill": 129, "tgkill": 131, "restart_syscall": 128,
    "rt_sigaction": 134, "rt_sigprocmask": 135, "rt_sigtimedwait": 137,
    "rt_sigreturn": 139, "uname": 160, "prctl": 167, "getpid": 172,
    "getuid": 174, "socket": 198, "socketpair": 199, "bind": 200,
    "listen": 201, "accept": 202, "connect": 203, "getsockname": 204,
    "getpeername": 205, "sendto": 206, "recvfrom": 207, "setsockopt": 208,
    "getsockopt": 209, "shutdown": 210, "sendmsg": 211, "recvmsg": 212,
    "brk": 214, "munmap": 215, "clone": 220, "execve": 221, "mmap": 222,
    "mprotect": 226, "accept4": 242, "wait4": 260, "prlimit64": 261,
    "getrandom": 278, "seccomp": 277, "memfd_create": 279, "statx": 291,
    "io_uring_setup": 425, "clone3": 435,
}
AUDIT_ARCH_AARCH64 = 0xC00000B7
SECCOMP_RET_ALLOW = 0x7FFF0000
FAMILIES = {"PF_UNIX": 1, "PF_LOCAL": 1, "PF_INET": 2, "PF_INET6": 10, "PF_NETLINK": 16, "PF_PACKET": 17}
SOCK_BITS = {"SOCK_STREAM": 1, "SOCK_DGRAM": 2, "SOCK_RAW": 3, "SOCK_SEQPACKET": 5,
             "SOCK_NONBLOCK": 0o4000, "SOCK_CLOEXEC": 0o2000000}


class Call:
    def __init__(self, name: str, args: list[str]):
        self.name, self.args = name, args

    def __repr__(self):
        return f"{self.name}({', '.join(self.args)})"

    def numeric_args(self) -> list[int]:
        out = []
        for i, a in enumerate(self.args[:6]):
            if self.name == "socket" and i == 0 and a in FAMILIES:
                out.append(FAMILIES[a])
            elif self.name == "socket" and i == 1:
                out.append(sum(SOCK_BITS[b] for b in a.split("|")))
            else:
                try:
                    out.append(int(a, 0))
                except ValueError:
                    out.append(0)  # a symbolic argument the filter does not look at
        return out + [0] * (6 - len(out))


_CALL = re.compile(r"^\d+ ([a-z_0-9]+)\((.*?)\)(?: = .*)?$")


def parse_strace(text: str) -> list[Call]:
    """qemu's `-d strace` log: `PID name(args) = ret` per line. Lines that
    qemu split around the guest's own output are skipped."""
    calls = []
    for raw in text.splitlines():
        m = _CALL.match(raw.strip())
        if m:
            args = [a.strip() for a in m.group(2).split(",")] if m.group(2) else []
            calls.append(Call(m.group(1), args))
    return calls


def filter_program(binary: bytes) -> list[tuple[int, int, int, int]]:
    """The seccomp program in the binary: it starts by loading the arch word
    and comparing it with AUDIT_ARCH_AARCH64."""
    head = struct.pack("<HBBI", 0x20, 0, 0, 4)
    found = [m.start() for m in re.finditer(re.escape(head), binary)]
    found = [i for i in found if struct.unpack_from("<HBBI", binary, i + 8)[::3] == (0x15, AUDIT_ARCH_AARCH64)]
    assert len(found) == 1, f"seccomp program not found once in the aarch64 binary (found {len(found)})"
    start = found[0]
    return [struct.unpack_from("<HBBI", binary, start + 8 * k) for k in range(min(512, (len(binary) - start) // 8))]


def run_bpf(prog, nr: int, args: list[int], arch: int = AUDIT_ARCH_AARCH64) -> int:
    """Classic BPF over `struct seccomp_data` (the instructions a seccomp
    filter may use, minus the scratch memory)."""
    data = struct.pack("<iIQ6Q", nr, arch, 0, *[a & (2**64 - 1) for a in args])
    pc, a, x = 0, 0, 0
    for _ in range(len(prog) + 1):
        code, jt, jf, k = prog[pc]
        pc += 1
        cls = code & 0x07
        if code == 0x20:  # ld [k]
            a = struct.unpack_from("<I", data, k)[0]
        elif code == 0x00:  # ld #k
            a = k
        elif code == 0x01:  # ldx #k
            x = k
        elif cls == 0x04:  # alu
            op, src = code & 0xF0, (x if code & 0x08 else k)
            ops = {0x00: a + src, 0x10: a - src, 0x20: a * src, 0x40: a | src, 0x50: a & src,
                   0x60: a << src, 0x70: a >> src, 0x80: -a, 0xA0: a ^ src}
            assert op in ops, f"BPF opcode {code:#x} not interpreted"
            a = ops[op] & 0xFFFFFFFF
        elif code == 0x05:  # ja
            pc += k
        elif cls == 0x05:  # conditional jumps
            op, src = code & 0xF0, (x if code & 0x08 else k)
            taken = {0x10: a == src, 0x20: a > src, 0x30: a >= src, 0x40: a & src != 0}[op]
            pc += jt if taken else jf
        elif code == 0x06:  # ret #k
            return k
        elif code == 0x16:  # ret a
            return a
        else:
            raise AssertionError(f"BPF opcode {code:#x} not interpreted")
    raise AssertionError("BPF program did not return")


def test_filter_allows_what_the_probe_does(arm, arm_bin, tmp_path, pyhttp_arm, down_port, closed_port):
    """Every syscall the aarch64 probe makes after its seccomp(2) call, as qemu
    logged it, is allowed by the filter compiled into the binary; and that
    filter kills execve, openat and raw sockets."""
    prog = filter_program(arm_bin.read_bytes())
    nr = AARCH64_NR
    kill_cases = {
        "execve": (nr["execve"], []),
        "openat": (nr["openat"], [0xFFFFFF9C, 0, 0o101]),
        "raw socket": (nr["socket"], [FAMILIES["PF_INET"], SOCK_BITS["SOCK_RAW"], 0]),
        "packet socket": (nr["socket"], [FAMILIES["PF_PACKET"], SOCK_BITS["SOCK_RAW"], 0]),
        "udp socket": (nr["socket"], [FAMILIES["PF_INET"], SOCK_BITS["SOCK_DGRAM"], 0]),
        "write to fd 3": (nr["write"], [3, 0, 0]),
        "x86_64 arch": (nr["close"], [0]),
    }
    for what, (n, args) in kill_cases.items():
        arch = 0xC000003E if what == "x86_64 arch" else AUDIT_ARCH_AARCH64
        assert run_bpf(prog, n, args + [0] * (6 - len(args)), arch) != SECCOMP_RET_ALLOW, f"filter allows {what}"

    runs = [
        ["-v", f"http://127.0.0.1:{pyhttp_arm.port}/healthz"],
        [f"http://127.0.0.1:{down_port}/"],
        [f"http://localhost:{closed_port}/", f"tcp://127.0.0.1:{pyhttp_arm.port}"],
        ["-t", "300ms", f"http://[::1]:{closed_port}/"],
    ]
    checked = 0
    for i, args in enumerate(runs):
        log = tmp_path / f"strace-{i}.log"
        r = arm(*args, strace=log)
        calls = parse_strace(log.read_text())
        names = [c.name for c in calls]
        assert "seccomp" in names, f"no seccomp(2) call before the sockets: {names}\n{r}"
        after = calls[names.index("seccomp") + 1 :]
        assert any(c.name == "socket" for c in after), f"no socket after seccomp: {after}"
        for c in after:
            assert c.name in nr, f"syscall {c} not in AARCH64_NR: add it"
            verdict = run_bpf(prog, nr[c.name], c.numeric_args())
            assert verdict == SECCOMP_RET_ALLOW, f"the filter would kill {c} (verdict {verdict:#x}) in {args}\n{r}"
            checked += 1
    print(f"{checked} syscalls after seccomp(2), all allowed by the aarch64 filter")
