"""End to end in a real Docker engine: the probe as Docker's HEALTHCHECK in
FROM-scratch images, the compose sidecar pattern, and the examples.

The module starts a private engine with build-scripts/docker-engine (its own
data-root, exec-root, socket and pidfile in a temp directory, no bridge, no
iptables) and stops it by its PID at the end. If the engine cannot start, every
test here fails with the engine's log: they never skip.

No registry is reachable: every image is FROM scratch, assembled from the
release probe ($SCRATCHPROBE) and Debian's busybox-static (/bin/busybox, the
app server: `busybox httpd`). Containers run with `--network none`: each has
its own loopback, so the app's port 8080 never touches the host.

Each test asserts on `docker inspect`'s State.Health: the status transitions
and the Log entries (ExitCode, and the probe's one line in Output).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
FILES = TESTS / "docker"
ENGINE = ROOT / "build-scripts/docker-engine"
EXAMPLES = ROOT / "examples"

BIN = Path(
    os.environ.get("SCRATCHPROBE")
    or ROOT / "target/x86_64-unknown-linux-musl/release/scratchprobe"
).resolve()
BUSYBOX = Path("/bin/busybox")

# Debian's docker.io client matches its 20.10 engine; a newer client earlier on
# PATH would want BuildKit for `docker build`.
DOCKER = "/usr/bin/docker"

# Docker 20.10 rejects --start-period=0s and knows no --start-interval.
HC = "--interval=1s --timeout=3s --retries=1"
WAIT = 20.0  # seconds: bound for every status transition

SESSION = uuid.uuid4().hex[:10]
LABEL = f"scratchprobe.test={SESSION}"


# -- the engine ------------------------------------------------------------------


class Engine:
    def __init__(self, state: Path, host: str):
        self.state = state
        self.host = host
        self.env = dict(os.environ, DOCKER_HOST=host)
        self.env.pop("DOCKER_CONTEXT", None)
        self.env.pop("DOCKER_TLS_VERIFY", None)

    def log_tail(self, n: int = 40) -> str:
        try:
            lines = (self.state / "dockerd.log").read_text(errors="replace").splitlines()
        except OSError as e:
            return f"(no dockerd log: {e})"
        return "\n".join(lines[-n:])

    def cmd(self, args: list, check=True, timeout=60.0, cwd=None, env=None):
        r = subprocess.run(
            [str(a) for a in args],
            env=dict(self.env, **(env or {})),
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and r.returncode != 0:
            raise AssertionError(
                f"{' '.join(map(str, args))} -> exit {r.returncode}\n"
                f"stdout:\n{r.stdout}\nstderr:\n{r.stderr}\n"
                f"dockerd log (tail):\n{self.log_tail()}"
            )
        return r

    def docker(self, *args, **kw):
        return self.cmd([DOCKER, *args], **kw)

    def compose(self, project: str, file: Path, *args, **kw):
        return self.cmd(
            [shutil.which("docker-compose") or "docker-compose", "--no-ansi", "-p", project,
             "-f", file, *args],
            **kw,
        )

    # images

    def build(self, name: str, dockerfile: str, files: dict | None = None, args=()) -> str:
        """Builds an image from a temp context: a Dockerfile and {name: source
        path or bytes}. Returns the tag."""
        tag = f"scratchprobe-test-{SESSION}/{name}"
        with tempfile.TemporaryDirectory(prefix="ctx.") as d:
            ctx = Path(d)
            (ctx / "Dockerfile").write_text(dockerfile)
            for dest, src in (files or {}).items():
                _place(ctx / dest, src)
            self.docker("build", "-q", "--label", LABEL, "-t", tag, *args, ctx, timeout=120)
        return tag

    def derive(self, name: str, base: str, *lines: str) -> str:
        """An image FROM base with some more Dockerfile lines (a HEALTHCHECK)."""
        return self.build(name, "\n".join([f"FROM {base}", *lines]) + "\n")

    # containers

    def run(self, image: str, *args, network="none") -> str:
        """Starts a container (detached, loopback only) and returns its ID."""
        r = self.docker("run", "-d", "--label", LABEL, f"--network={network}", *args, image)
        return r.stdout.strip()

    def inspect(self, obj: str) -> dict:
        return json.loads(self.docker("inspect", "--format", "{{json .}}", obj).stdout)

    def health(self, container: str) -> dict:
        out = self.docker("inspect", "--format", "{{json .State.Health}}", container).stdout
        return json.loads(out) or {}

    def wait_health(self, container: str, want: str, timeout: float = WAIT):
        """Polls until the health status is `want`. Returns the State.Health
        and the statuses seen on the way, in order, without repeats."""
        seen: list[str] = []
        end = time.monotonic() + timeout
        while True:
            h = self.health(container)
            status = h.get("Status")
            if not seen or seen[-1] != status:
                seen.append(status)
            if status == want:
                return h, seen
            if time.monotonic() > end:
                logs = self.docker("logs", "--tail", "20", container, check=False)
                raise AssertionError(
                    f"{container[:12]}: health not {want!r} after {timeout:.0f}s; "
                    f"seen {seen}\nState.Health: {json.dumps(h, indent=1)}\n"
                    f"container log:\n{logs.stdout}{logs.stderr}"
                )
            time.sleep(0.2)

    def cleanup(self) -> list[str]:
        """Removes every container and image of this session; returns problems."""
        problems = []
        ids = self.docker("ps", "-aq", "--filter", f"label={LABEL}", check=False).stdout.split()
        if ids:
            r = self.docker("rm", "-f", *ids, check=False)
            if r.returncode != 0:
                problems.append(f"containers: {r.stderr.strip()}")
        # images derived from others go first: repeat until nothing is left
        # or a round removes nothing
        errors = ""
        while True:
            ids = self.docker(
                "images", "-q", "--no-trunc", "--filter", f"label={LABEL}", check=False
            ).stdout.split()
            if not ids:
                break
            errors, removed = "", 0
            for i in dict.fromkeys(ids):
                r = self.docker("rmi", "-f", i, check=False)
                removed += r.returncode == 0
                errors += r.stderr
            if not removed:
                problems.append(f"images left: {ids}\n{errors}")
                break
        return problems


def _place(dest: Path, src) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(src, bytes):
        dest.write_bytes(src)
        dest.chmod(0o644)
    elif Path(src).is_dir():
        shutil.copytree(src, dest, symlinks=True)
        for p in [dest, *dest.rglob("*")]:
            if not p.is_symlink():
                p.chmod(0o755 if p.is_dir() or os.access(p, os.X_OK) else 0o644)
    else:
        shutil.copy2(src, dest)
        dest.chmod(0o755 if os.access(src, os.X_OK) else 0o644)


def _is_static_elf(path: Path) -> bool:
    """An ELF file without a program interpreter (PT_INTERP)."""
    data = path.read_bytes()
    if data[:4] != b"\x7fELF" or data[4] != 2:  # 64-bit only
        return False
    order = "little" if data[5] == 1 else "big"
    phoff = int.from_bytes(data[0x20:0x28], order)
    phentsize = int.from_bytes(data[0x36:0x38], order)
    phnum = int.from_bytes(data[0x38:0x3A], order)
    for i in range(phnum):
        off = phoff + i * phentsize
        if int.from_bytes(data[off : off + 4], order) == 3:  # PT_INTERP
            return False
    return True


def _short_dir() -> Path:
    """A fresh state directory whose socket path fits a sockaddr_un."""
    base = ROOT / "target/docker"
    base.mkdir(parents=True, exist_ok=True)
    d = Path(tempfile.mkdtemp(prefix="run.", dir=base))
    if len(str(d / "docker.sock")) > 100:
        d.rmdir()
        d = Path(tempfile.mkdtemp(prefix="scratchprobe-docker."))
    return d


def _mounts_under(d: Path) -> list[str]:
    prefix = str(d) + "/"
    with open("/proc/self/mountinfo") as f:
        return [l.split()[4] for l in f if (l.split()[4] + "/").startswith(prefix)]


@pytest.fixture(scope="module")
def engine():
    if not BIN.is_file():
        pytest.fail(f"no probe binary at {BIN}: build-scripts/build")
    if not BUSYBOX.is_file() or not _is_static_elf(BUSYBOX):
        pytest.fail(f"{BUSYBOX} is not a static busybox: apt-get install busybox-static")
    state = _short_dir()
    r = subprocess.run(
        [str(ENGINE), "start", str(state)], capture_output=True, text=True, timeout=600
    )
    m = re.search(r"^DOCKER_HOST=(\S+)$", r.stdout, re.M)
    if r.returncode != 0 or not m:
        log = ""
        if "dockerd.log" not in r.stderr and (state / "dockerd.log").is_file():
            log = "dockerd.log:\n" + (state / "dockerd.log").read_text(errors="replace")[-6000:]
        subprocess.run([str(ENGINE), "stop", str(state)], capture_output=True, timeout=60)
        if not _mounts_under(state):
            shutil.rmtree(state, ignore_errors=True)
        pytest.fail(
            f"the Docker engine did not start ({ENGINE.name} start: exit {r.returncode}):\n"
            f"{r.stdout}{r.stderr}{log}",
            pytrace=False,
        )
    eng = Engine(state, m.group(1))
    try:
        yield eng
    finally:
        problems = eng.cleanup()
        r = subprocess.run(
            [str(ENGINE), "stop", str(state)], capture_output=True, text=True, timeout=120
        )
        if r.returncode != 0:
            problems.append(f"docker-engine stop: exit {r.returncode}: {r.stderr}")
        if not _mounts_under(state):
            shutil.rmtree(state, ignore_errors=True)
        else:
            problems.append(f"mounts left under {state}; not removed")
        assert not problems, "\n".join(problems)


@pytest.fixture(scope="module")
def app_image(engine) -> str:
    """The app image: busybox httpd on ${PORT:-8080} serving /www/healthz, the
    probe at /scratchprobe, HEALTHCHECK http://:8080/healthz (exec form)."""
    return engine.build(
        "app",
        (FILES / "app.Dockerfile").read_text(),
        {"busybox": BUSYBOX, "scratchprobe": BIN, "www": FILES / "www"},
    )


@pytest.fixture(scope="module")
def sidecar_image(engine) -> str:
    """The probe alone, its main process `scratchprobe --idle`."""
    return engine.build("sidecar", (FILES / "sidecar.Dockerfile").read_text(), {"scratchprobe": BIN})


def healthcheck(*argv: str, options: str = HC) -> str:
    """A HEALTHCHECK line in exec form."""
    return f"HEALTHCHECK {options} CMD {json.dumps(['/scratchprobe', *argv])}"


def failures(h: dict) -> list[dict]:
    return [e for e in h.get("Log") or [] if e["ExitCode"] != 0]


def passes(h: dict) -> list[dict]:
    return [e for e in h.get("Log") or [] if e["ExitCode"] == 0]


def parse_time(s: str) -> datetime:
    """Docker's RFC 3339 time with nanoseconds."""
    m = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)", s)
    assert m, s
    frac = (m.group(2) or "0")[:6].ljust(6, "0")
    tz = "+00:00" if m.group(3) == "Z" else m.group(3)
    return datetime.fromisoformat(f"{m.group(1)}.{frac}{tz}").astimezone(timezone.utc)


def duration(entry: dict) -> float:
    return (parse_time(entry["End"]) - parse_time(entry["Start"])).total_seconds()


# -- 1. HTTP: starting -> healthy -> unhealthy (HTTP 404) -> healthy --------------------


def test_http_check_transitions_and_404_reason(engine, app_image):
    c = engine.run(app_image)
    h, seen = engine.wait_health(c, "healthy")
    assert seen == ["starting", "healthy"], seen
    assert all(e["ExitCode"] == 0 and e["Output"] == "" for e in h["Log"]), h

    engine.docker("exec", c, "/bin/busybox", "rm", "/www/healthz")
    h, seen = engine.wait_health(c, "unhealthy")
    assert seen == ["healthy", "unhealthy"], seen
    last = h["Log"][-1]
    assert last["ExitCode"] == 1, h
    assert last["Output"] == "scratchprobe: http://:8080/healthz: HTTP 404\n", h
    assert h["FailingStreak"] >= 1

    # the page back: healthy again
    engine.docker("exec", c, "/bin/busybox", "sh", "-c", "echo ok > /www/healthz")
    h, _ = engine.wait_health(c, "healthy")
    assert h["Log"][-1]["ExitCode"] == 0 and h["FailingStreak"] == 0, h
    engine.docker("rm", "-f", c)


# -- 2. a hung app: the probe's deadline ends before Docker's --timeout ------------------


def test_hung_app_logs_probe_timeout_not_docker_timeout(engine, app_image):
    # `docker pause` would freeze the probe too (docker exec joins the
    # container's cgroup): stop the app process alone, from the host.
    image = engine.derive(
        "hung",
        app_image,
        healthcheck("-t", "1s", "http://:8080/healthz", options="--interval=1s --timeout=3s --retries=1"),
    )
    c = engine.run(image)
    engine.wait_health(c, "healthy")
    pid = engine.inspect(c)["State"]["Pid"]
    assert pid > 0
    os.kill(pid, signal.SIGSTOP)
    try:
        h, seen = engine.wait_health(c, "unhealthy")
    finally:
        os.kill(pid, signal.SIGCONT)
    assert seen == ["healthy", "unhealthy"], seen
    last = h["Log"][-1]
    assert last["ExitCode"] == 1, h
    assert re.fullmatch(
        r"scratchprobe: http://:8080/healthz: timed out after 1s while [a-z ]+\n", last["Output"]
    ), h
    # connected (the kernel completes the handshake for a stopped listener),
    # so the wait is for the answer
    assert last["Output"].endswith("while waiting for the status line\n"), h
    assert 0.9 <= duration(last) < 2.5, (duration(last), h)
    assert not any("exceeded timeout" in e["Output"] for e in h["Log"]), h
    engine.docker("rm", "-f", c)


# -- 3. TCP, and several targets in one HEALTHCHECK ------------------------------------


def test_tcp_and_several_targets(engine, app_image):
    ok = engine.derive("multi-ok", app_image, healthcheck("tcp://:8080", "http://:8080/healthz"))
    bad = engine.derive(
        "multi-bad", app_image, healthcheck("tcp://:8080", "http://:8080/healthz", "tcp://:9999")
    )
    tcp = engine.derive("tcp", app_image, healthcheck("tcp://127.0.0.1:8080"))
    c_ok, c_bad, c_tcp = engine.run(ok), engine.run(bad), engine.run(tcp)

    h, seen = engine.wait_health(c_ok, "healthy")
    assert seen == ["starting", "healthy"], seen
    assert all(e["Output"] == "" for e in h["Log"]), h

    h, seen = engine.wait_health(c_tcp, "healthy")
    assert seen[-1] == "healthy" and "unhealthy" not in seen, seen

    h, seen = engine.wait_health(c_bad, "unhealthy")
    assert "healthy" not in seen, seen
    for e in failures(h):  # only the failing target's line
        assert e["ExitCode"] == 1, h
        assert e["Output"] == "scratchprobe: tcp://:9999: connection refused\n", h
    assert failures(h), h
    engine.docker("rm", "-f", c_ok, c_bad, c_tcp)


# -- 4. environment expansion in exec form -----------------------------------------


def test_env_expansion_in_exec_form(engine, app_image):
    image = engine.derive("env", app_image, healthcheck("http://:${PORT:-8080}/healthz"))
    unset = engine.derive("env-unset", app_image, healthcheck("http://:${NOPE}/healthz"))
    # the builder leaves HEALTHCHECK's arguments alone: the probe expands them
    test = engine.inspect(image)["Config"]["Healthcheck"]["Test"]
    assert test == ["CMD", "/scratchprobe", "http://:${PORT:-8080}/healthz"], test

    c9090 = engine.run(image, "-e", "PORT=9090")  # the app listens on 9090 only
    c8080 = engine.run(image)  # no PORT: the app and the default are 8080
    c_unset = engine.run(unset)

    engine.wait_health(c9090, "healthy")
    engine.wait_health(c8080, "healthy")
    # the healthy 9090 container has nothing on 8080: the probe used $PORT
    r = engine.docker("exec", c9090, "/scratchprobe", "tcp://:8080", check=False)
    assert r.returncode == 1 and "tcp://:8080: connection refused" in r.stderr, r

    h, _ = engine.wait_health(c_unset, "unhealthy")
    last = h["Log"][-1]
    assert last["ExitCode"] == 1, h
    assert "NOPE" in last["Output"] and "not set" in last["Output"], h
    assert last["Output"].count("\n") == 1, h
    engine.docker("rm", "-f", c9090, c8080, c_unset)


# -- 5. loopback only, non-root ----------------------------------------------------


def test_network_none_and_non_root_user(engine, app_image):
    image = engine.derive("nobody", app_image, "USER 65534:65534")
    c = engine.run(image, network="none")
    h, seen = engine.wait_health(c, "healthy")
    assert seen == ["starting", "healthy"], seen
    assert all(e["ExitCode"] == 0 for e in h["Log"]), h

    info = engine.inspect(c)
    assert info["HostConfig"]["NetworkMode"] == "none"
    assert info["Config"]["User"] == "65534:65534"
    # docker exec (and so the health check) runs as the image's user
    assert engine.docker("exec", c, "/bin/busybox", "id", "-u").stdout.strip() == "65534"
    dev = engine.docker("exec", c, "/bin/busybox", "cat", "/proc/net/dev").stdout
    ifaces = sorted(l.split(":")[0].strip() for l in dev.splitlines()[2:])
    assert ifaces == ["lo"], dev
    engine.docker("rm", "-f", c)


# -- 6. compose sidecar: --idle, service:app, service_healthy ----------------------


def test_compose_sidecar_gates_dependent_and_stops_fast(engine, app_image, sidecar_image):
    project = f"sp{SESSION}"
    file = FILES / "compose.yaml"
    env = {"APP_IMAGE": app_image, "SIDECAR_IMAGE": sidecar_image}

    def container(service: str) -> dict:
        ids = engine.docker(
            "ps", "-aq",
            "--filter", f"label=com.docker.compose.project={project}",
            "--filter", f"label=com.docker.compose.service={service}",
        ).stdout.split()
        assert len(ids) == 1, (service, ids)
        return engine.inspect(ids[0])

    try:
        t0 = time.monotonic()
        engine.compose(project, file, "up", "-d", env=env, timeout=90)
        up_seconds = time.monotonic() - t0

        app, probe, worker = container("app"), container("probe"), container("worker")
        assert probe["Config"]["Entrypoint"] == ["/scratchprobe", "--idle"]
        assert probe["HostConfig"]["NetworkMode"] == f"container:{app['Id']}"
        assert probe["State"]["Health"]["Status"] == "healthy", probe["State"]
        assert worker["State"]["Running"], worker["State"]

        # the gate held: the app answers 2 s after it starts, and the worker
        # started only after a passing check
        h = probe["State"]["Health"]
        worker_start = parse_time(worker["State"]["StartedAt"])
        app_start = parse_time(app["State"]["StartedAt"])
        first_pass = min(parse_time(e["End"]) for e in passes(h))
        assert worker_start >= first_pass, (worker_start, h)
        assert (worker_start - app_start).total_seconds() >= 2.0, (app_start, worker_start)
        for e in failures(h):  # while the app was not listening yet
            assert e["Output"] == "scratchprobe: http://:8080/healthz: connection refused\n", h
        assert up_seconds < 30, up_seconds

        # the probe's main process is PID 1 and exits 0 on SIGTERM at once
        t0 = time.monotonic()
        engine.compose(project, file, "stop", "probe", env=env)
        stop_seconds = time.monotonic() - t0
        state = container("probe")["State"]
        assert state["ExitCode"] == 0 and not state["OOMKilled"], state
        assert stop_seconds < 4, stop_seconds

        # and down (worker: --idle too; app: tini forwards SIGTERM) is quick
        t0 = time.monotonic()
        engine.compose(project, file, "down", env=env)
        down_seconds = time.monotonic() - t0
        assert down_seconds < 4, down_seconds
        left = engine.docker(
            "ps", "-aq", "--filter", f"label=com.docker.compose.project={project}"
        ).stdout.split()
        assert left == []
        print(f"compose: up {up_seconds:.1f}s, stop probe {stop_seconds:.1f}s, down {down_seconds:.1f}s")
    finally:
        engine.compose(project, file, "down", "-t", "1", env=env, check=False)


# -- 7. the same probe refuses anything but loopback ---------------------------------


def test_non_loopback_target_refused_inside_container(engine, app_image):
    image = engine.derive("refuse", app_image, healthcheck("http://10.0.0.1/"))
    c = engine.run(image)
    h, seen = engine.wait_health(c, "unhealthy")
    assert seen == ["starting", "unhealthy"], seen
    assert h["Log"], h
    for e in h["Log"]:
        assert e["ExitCode"] == 1, h
        assert e["Output"] == "scratchprobe: http://10.0.0.1/: refused: 10.0.0.1 is not a loopback address\n", h
    engine.docker("rm", "-f", c)


# -- examples/ -----------------------------------------------------------------


def _example_context() -> dict:
    """What examples/Dockerfile's COPY lines read from a checkout."""
    files = {n: ROOT / n for n in ("Cargo.toml", "Cargo.lock", "build.rs", ".cargo", "src")}
    for script in ("build", "link", "probe.ld"):
        files[f"build-scripts/{script}"] = ROOT / "build-scripts" / script
    return files


def test_example_dockerfile_stages(engine):
    """examples/Dockerfile, with stand-ins for the rust and debian base images
    (which cannot be pulled here): the stages, paths and HEALTHCHECK work."""
    stub_dir = FILES / "toolchain-stub"
    stub = engine.build(
        "toolchain-stub",
        (stub_dir / "Dockerfile").read_text(),
        {
            "busybox": BUSYBOX,
            "scratchprobe": BIN,
            **{n: stub_dir / n for n in ("rustup", "cargo", "apt-get")},
        },
    )
    args = ["--build-arg", f"RUST_IMAGE={stub}", "--build-arg", f"APP_BUILD_IMAGE={stub}"]
    dockerfile = (EXAMPLES / "Dockerfile").read_text()
    app = engine.build("example-app", dockerfile, _example_context(), args=args)
    sidecar = engine.build(
        "example-sidecar", dockerfile, _example_context(), args=[*args, "--target", "sidecar"]
    )

    cfg = engine.inspect(app)["Config"]
    assert cfg["Healthcheck"]["Test"] == ["CMD", "/scratchprobe", "http://:8080/healthz"], cfg
    assert cfg["User"] == "65534:65534", cfg
    # the final image holds the app and the probe, and no shell
    r = engine.docker("run", "--rm", "--label", LABEL, "--network=none", "--entrypoint",
                      "/bin/busybox", app, "ls", "-a", "/", "/bin")
    assert "sh" not in r.stdout.split(), r.stdout

    # the interval is 10 s: start it with a short one, same command
    c = engine.run(app, "--health-interval=1s", "--health-retries=1")
    h, seen = engine.wait_health(c, "healthy")
    assert all(e["ExitCode"] == 0 for e in h["Log"]), h

    s = engine.run(sidecar)
    assert engine.inspect(sidecar)["Config"]["Entrypoint"] == ["/scratchprobe", "--idle"]
    t0 = time.monotonic()
    engine.docker("stop", s)
    assert time.monotonic() - t0 < 4
    assert engine.inspect(s)["State"]["ExitCode"] == 0
    engine.docker("rm", "-f", c, s)


def test_example_compose_file_is_valid(engine):
    r = engine.cmd(
        [shutil.which("docker-compose") or "docker-compose", "-f", EXAMPLES / "compose.yaml",
         "config", "-q"],
        cwd=EXAMPLES,
    )
    assert r.returncode == 0


def test_example_kubernetes_probe_deadlines(engine):
    """Every exec probe in examples/kubernetes.yaml runs scratchprobe with a -t
    below its timeoutSeconds, so a timeout is reported with our reason. (Parsed
    with Debian's python3-yaml, which docker-compose brings along.)"""
    r = engine.cmd(
        ["/usr/bin/python3", "-c",
         "import json, sys, yaml; print(json.dumps(list(yaml.safe_load_all(open(sys.argv[1])))))",
         EXAMPLES / "kubernetes.yaml"],
    )
    probes = []
    for doc in json.loads(r.stdout):
        for c in doc["spec"]["template"]["spec"]["containers"]:
            probes += [(k, v) for k, v in c.items() if k.endswith("Probe")]
    assert {k for k, _ in probes} >= {"livenessProbe", "readinessProbe"}, probes
    for kind, probe in probes:
        argv = probe["exec"]["command"]
        assert argv[0] == "/scratchprobe", argv
        t = argv[argv.index("-t") + 1]
        m = re.fullmatch(r"(\d+)(ms|s)", t)
        assert m, t
        deadline = int(m.group(1)) / (1000 if m.group(2) == "ms" else 1)
        timeout = probe.get("timeoutSeconds", 1)  # Kubernetes' default
        assert deadline < timeout, (kind, deadline, timeout)
