"""The README's quick start, as a newcomer meets it (issue 21).

`clone` clones this repository's HEAD into a temporary directory and runs the
README's first block ("Build it and try it") there, verbatim, each line as
extracted from README.md: `build-scripts/build`, then `build-scripts/try`.
The output `build-scripts/try` prints must be the output the README shows,
the port aside. This costs a build from scratch, about 40 s (the cargo and
rustup homes in use are reused, offline, so nothing is downloaded), and it
is worth it: no other test starts where a new user starts, from a fresh
clone with nothing built, and it keeps the first lines of the README from
drifting away from what the scripts do.

The other tests check what build-scripts/build says when rustup lacks the
toolchain (an empty RUSTUP_HOME, with rustup's dist server pointed at a
closed loopback port so that nothing can be fetched) and when there is no
rustup at all, and that build-scripts/try stops its server when interrupted.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import ROOT

BUILD = ROOT / "build-scripts" / "build"
PINNED = subprocess.run([str(BUILD), "--toolchain"], capture_output=True, text=True, check=True).stdout.strip()


def readme_quick_start() -> tuple[list[str], str]:
    """The commands of the README's first block, and the output it shows
    for them: the first two fenced blocks of "Build it and try it"."""
    text = (ROOT / "README.md").read_text()
    section = text.split("\n## Build it and try it\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"^```(\w*)\n(.*?)^```$", section, re.M | re.S)
    (lang, commands), (_, output) = blocks[:2]
    assert lang == "sh", f"the first block of the section is not the commands: {blocks[0]}"
    return commands.splitlines(), output


def comparable(output: str) -> str:
    """try's output with what differs from run to run or host to host made
    equal: the port of the throwaway server, the target triple."""
    output = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", output)
    return re.sub(r"target/\w+-unknown-linux-musl/", "target/TRIPLE/", output)


def quick_start_env() -> dict:
    env = dict(os.environ, CARGO_NET_OFFLINE="true")
    for name in ("CARGO_TARGET_DIR", "CARGO_BUILD_TARGET_DIR", "RUSTUP_TOOLCHAIN", "SCRATCHPROBE_TOOLCHAIN"):
        env.pop(name, None)
    return env


@pytest.fixture(scope="module")
def clone():
    """A fresh clone of HEAD in which the README's first block ran: yields
    (its directory, the commands, the output shown, [CompletedProcess of
    each command])."""
    commands, shown = readme_quick_start()
    with tempfile.TemporaryDirectory(prefix="scratchprobe-quickstart-") as tmp:
        d = Path(tmp) / "scratchprobe"
        subprocess.run(["git", "clone", "--quiet", str(ROOT), str(d)], check=True)
        runs = [
            subprocess.run(["sh", "-c", command], cwd=d, env=quick_start_env(), stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=600)
            for command in commands
        ]
        yield d, commands, shown, runs


def test_readme_quick_start_runs_from_a_fresh_clone(clone):
    d, commands, shown, runs = clone
    assert commands == ["build-scripts/build", "build-scripts/try"], commands
    for command, p in zip(commands, runs):
        assert p.returncode == 0, f"{command}: exit {p.returncode}\n{p.stdout}{p.stderr}"
    build, demo = runs
    assert re.search(r"^ +Finished `release` profile \[optimized\] target\(s\) in ", build.stderr, re.M), build.stderr
    assert comparable(demo.stdout) == comparable(shown), f"the README shows:\n{shown}\nbuild-scripts/try printed:\n{demo.stdout}"
    assert demo.stderr == "", demo.stderr


def _child_running(pid: int, name: str) -> int | None:
    """The PID of `pid`'s child running `name`, if there is one."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return None
    for child in children:
        try:
            if name.encode() in Path(f"/proc/{child}/cmdline").read_bytes():
                return int(child)
        except OSError:
            pass
    return None


def test_try_stops_its_server_when_interrupted(clone):
    """build-scripts/try is interrupted (SIGINT, as ^C) once its server runs,
    before it runs a probe: its stdout is a pipe filled beforehand, so its
    first line of output holds it until the test reads. It exits 130 and
    its server is gone."""
    d = clone[0]
    r, w = os.pipe()
    os.set_blocking(w, False)
    filled = 0
    try:
        while True:
            filled += os.write(w, b"-" * 4096)
    except BlockingIOError:
        pass
    os.set_blocking(w, True)
    demo = subprocess.Popen(["build-scripts/try"], cwd=d, env=quick_start_env(), stdin=subprocess.DEVNULL,
                            stdout=w, stderr=subprocess.PIPE)
    os.close(w)
    server = None
    with os.fdopen(r, "rb") as out:
        try:
            deadline = time.monotonic() + 60
            while server is None and demo.poll() is None and time.monotonic() < deadline:
                server = _child_running(demo.pid, "python3")
                time.sleep(0.01)
            assert server, "build-scripts/try started no python3 server"
            demo.send_signal(signal.SIGINT)
            output = out.read()[filled:].decode()
            demo.wait(timeout=10)
        finally:
            if demo.poll() is None:  # its server is its child still: no other process has that PID
                for pid in (server, demo.pid):
                    if pid:
                        os.kill(pid, signal.SIGKILL)
            demo.wait()
            err = demo.stderr.read().decode()
            demo.stderr.close()
    assert demo.returncode == 130, f"exit {demo.returncode}\n{output}{err}"
    assert "$ " not in output, f"a probe ran after the interrupt:\n{output}"
    assert not Path(f"/proc/{server}").exists(), f"the server (PID {server}) outlived build-scripts/try"


def test_build_installs_a_missing_toolchain_saying_so(closed_port):
    """With no toolchain in RUSTUP_HOME, build-scripts/build says in one line
    that it installs the pinned one, and, as the install cannot download
    anything here, fails saying so."""
    with tempfile.TemporaryDirectory(prefix="scratchprobe-rustup-") as home:
        env = dict(quick_start_env(), RUSTUP_HOME=home, RUSTUP_DIST_SERVER=f"http://127.0.0.1:{closed_port}")
        p = subprocess.run([str(BUILD), "--quiet"], env=env, stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=120)
    lines = p.stderr.splitlines()
    assert p.returncode == 1, p.stderr
    assert lines[0] == f"build-scripts/build: installing the toolchain {PINNED} with rust-src (once)", p.stderr
    assert f"127.0.0.1:{closed_port}" in p.stderr, f"rustup's own error is not shown\n{p.stderr}"
    assert lines[-1] == f"build-scripts/build: could not install {PINNED} with rust-src (rustup's output above)", p.stderr
    assert p.stdout == ""


def test_build_without_rustup_says_so():
    path = ":".join(d for d in os.environ["PATH"].split(":") if d and not (Path(d) / "rustup").exists())
    env = dict(quick_start_env(), PATH=path)
    assert shutil.which("rustup", path=path) is None
    p = subprocess.run([str(BUILD)], env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    assert (p.returncode, p.stdout) == (1, ""), p
    assert p.stderr == (
        "build-scripts/build: rustup is not installed (or not on PATH): install it from https://rustup.rs,"
        " then run build-scripts/build again\n"
    )
    # --toolchain needs no rustup: setup and the example Dockerfile ask it the name first
    p = subprocess.run([str(BUILD), "--toolchain"], env=env, capture_output=True, text=True, timeout=60)
    assert (p.returncode, p.stdout, p.stderr) == (0, f"{PINNED}\n", "")
