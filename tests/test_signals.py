"""SIGINT, SIGTERM and SIGHUP at any moment of `create`: no gcloud left, no file left.

prgcloud runs as a real process in its own process group (a terminal's foreground job). Each
phase is reached through a readiness signal, never a sleep: the flags file (a FIFO) being
opened, the pre-check's request arriving at a server that holds it, the wait's status line,
the config file appearing, the fake gcloud's own "started" mark. Then the signal, then:
- the exit status is 128 + N (130, 143, 129), or gcloud's own if gcloud had finished;
- no gcloud process is left and nothing is left in prgcloud's TMPDIR;
- nothing was submitted (the fake gcloud never got to), and no traceback.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from terminal import Terminal, default_signals

from prgcloud.emulator import Emulator

PROJECT, REGION, RID = "p1", "us-central1", "pr1"
JOB = [
    "ai",
    "custom-jobs",
    "create",
    f"--project={PROJECT}",
    f"--region={REGION}",
    "--display-name=train",
    # a disk: gcloud gets it as a generated config file, which must never be left behind
    "--worker-pool-spec=machine-type=n1-standard-4,container-image-uri=gcr.io/p1/t,"
    "disk-type=pd-ssd,disk-size=100",
]
ON_A_RESOURCE = [f"--persistent-resource-id={RID}"]

# A gcloud that marks when it starts and when it is about to exit, and submits only once
# released. Like gcloud, it first reads its flags files (prgcloud's pipe blocks it until the
# check passed). Signals keep their default actions: whatever prgcloud hands it, it obeys.
FAKE = """#!/bin/sh
echo $$ > "$FAKE_DIR/started"
for a in "$@"; do
  case "$a" in
    --flags-file=/dev/fd/*) while IFS= read -r l; do :; done < "${a#--flags-file=}"
                            echo $$ > "$FAKE_DIR/flags-read" ;;
  esac
done
while [ ! -e "$FAKE_DIR/release" ]; do sleep 0.02; done
echo submitted > "$FAKE_DIR/submitted"
echo exiting > "$FAKE_DIR/exiting"
exit 7
"""


@dataclass
class Fake:
    """The fake gcloud in `directory`, and its marks."""

    directory: Path

    @property
    def path(self) -> Path:
        return self.directory / "gcloud"

    def mark(self, name: str) -> Path:
        return self.directory / name

    def running(self) -> list[int]:
        """The processes still running this gcloud (by its path on their command line)."""
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue  # gone meanwhile
            if bytes(self.path) in cmdline:
                found.append(int(entry.name))
        return found


@pytest.fixture
def fake(tmp_path: Path) -> Iterator[Fake]:
    directory = tmp_path / "fake-gcloud"
    directory.mkdir()
    fake = Fake(directory)
    fake.path.write_text(FAKE)
    fake.path.chmod(fake.path.stat().st_mode | stat.S_IXUSR)
    yield fake
    for pid in fake.running():  # left by a failing test
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


class StallingServer:
    """A Vertex AI endpoint that holds every request until released (the pre-check's GET)."""

    def __init__(self) -> None:
        self.arrived = threading.Event()
        self.release = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.arrived.set()
                server.release.wait(120)
                self.send_error(503)

            def log_message(self, *args: object) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.http.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}/"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.release.set()
        self.http.shutdown()
        self.http.server_close()


@pytest.fixture
def stalling_server() -> Iterator[StallingServer]:
    server = StallingServer()
    yield server
    server.close()


@pytest.fixture
def temp(tmp_path: Path) -> Path:
    """prgcloud's TMPDIR, where its generated config file lives."""
    directory = tmp_path / "tmp"
    directory.mkdir()
    return directory


@pytest.fixture
def env(gcloud_env: dict[str, str], fake: Fake, temp: Path) -> dict[str, str]:
    return {
        **gcloud_env,
        "PRGCLOUD_GCLOUD": str(fake.path),
        "FAKE_DIR": str(fake.directory),
        "TMPDIR": str(temp),
    }


def until(condition: Callable[[], object], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"never: {what}"
        time.sleep(0.005)


# --- the phases: each starts prgcloud and returns once it is in that phase ------------------


@dataclass
class Context:
    """What a phase needs: the environment, the fake gcloud, prgcloud's TMPDIR, fixtures."""

    env: dict[str, str]
    fake: Fake
    temp: Path
    tmp_path: Path
    request: pytest.FixtureRequest

    def fixture(self, name: str) -> Any:
        return self.request.getfixturevalue(name)


@dataclass
class Run:
    process: subprocess.Popen[str]
    cleanup: Callable[[], None] = lambda: None


def start(argv: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "prgcloud", *argv],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a terminal's foreground job
        preexec_fn=default_signals,
    )


def parsing(context: Context) -> Run:
    """Reading its --flags-file: a FIFO that the test has opened and writes nothing to."""
    fifo = context.tmp_path / "flags.yaml"
    os.mkfifo(fifo)
    process = start([*JOB, f"--flags-file={fifo}"], context.env)
    writer: list[int] = []

    def opened() -> bool:
        assert process.poll() is None, process.communicate()
        try:
            writer.append(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        except OSError as error:
            if error.errno != errno.ENXIO:  # ENXIO: no reader yet
                raise
            return False
        return True

    until(opened, "prgcloud opened its flags file")
    return Run(process, cleanup=lambda: os.close(writer[0]))


def pre_check(context: Context) -> Run:
    """The pre-check's GET of the persistent resource, held by the server."""
    stalling_server: StallingServer = context.fixture("stalling_server")
    env = {**context.env, "CLOUDSDK_API_ENDPOINT_OVERRIDES_AIPLATFORM": stalling_server.url}
    process = start([*JOB, *ON_A_RESOURCE], env)
    until(
        lambda: stalling_server.arrived.is_set() or process.poll() is not None,
        "the pre-check's request",
    )
    assert process.poll() is None, process.communicate()
    return Run(process)


def waiting(context: Context) -> Run:
    """Waiting for capacity (--wait-for-capacity): its status line is on stderr."""
    clean_emulator: Emulator = context.fixture("clean_emulator")
    clean_emulator.add_persistent_resource(
        PROJECT,
        REGION,
        RID,
        {
            "resourcePools": [
                {
                    "id": "cpu",
                    "machineSpec": {"machineType": "n1-standard-4"},
                    "replicaCount": "1",
                    "usedReplicaCount": "1",
                    "diskSpec": {"bootDiskType": "pd-ssd", "bootDiskSizeGb": 100},
                }
            ]
        },
    )
    process = start([*JOB, *ON_A_RESOURCE, "--wait-for-capacity=5m"], context.env)
    seen = ""
    while "waiting for capacity" not in seen:
        line = process.stderr.readline()  # type: ignore[union-attr]
        assert line, f"prgcloud ended before waiting: {seen}"
        seen += line
    return Run(process)


def gcloud_starting(context: Context) -> Run:
    """The config file for gcloud has just appeared: gcloud is being started."""
    process = start([*JOB, "--skip-precheck"], context.env)
    until(lambda: any(context.temp.iterdir()) or process.poll() is not None, "the config file")
    return Run(process)


def gcloud_running(context: Context) -> Run:
    """gcloud runs (it marked its start)."""
    fake = context.fake
    process = start([*JOB, "--skip-precheck"], context.env)
    until(lambda: fake.mark("started").exists() or process.poll() is not None, "gcloud")
    return Run(process)


def gcloud_exiting(context: Context) -> Run:
    """gcloud is done (exit 7 on its way): the signal comes as prgcloud finishes."""
    fake = context.fake
    process = start([*JOB, "--skip-precheck"], context.env)
    until(lambda: fake.mark("started").exists() or process.poll() is not None, "gcloud")
    fake.mark("release").touch()
    until(lambda: fake.mark("exiting").exists() or process.poll() is not None, "gcloud's end")
    return Run(process)


PHASES = [
    pytest.param(parsing, id="parsing"),
    pytest.param(pre_check, id="pre-check"),
    pytest.param(waiting, id="waiting-for-capacity"),
    pytest.param(gcloud_starting, id="gcloud-starting"),
    pytest.param(gcloud_running, id="gcloud-running"),
    pytest.param(gcloud_exiting, id="gcloud-exiting"),
]

SIGNALS = [
    pytest.param(lambda p: p.send_signal(signal.SIGTERM), 143, id="SIGTERM"),
    pytest.param(lambda p: p.send_signal(signal.SIGHUP), 129, id="SIGHUP"),
    pytest.param(lambda p: p.send_signal(signal.SIGINT), 130, id="SIGINT-to-prgcloud"),
    # a terminal's Ctrl-C, a shell passing a hangup on: the whole foreground process group
    pytest.param(lambda p: os.killpg(p.pid, signal.SIGINT), 130, id="Ctrl-C"),
    pytest.param(lambda p: os.killpg(p.pid, signal.SIGHUP), 129, id="SIGHUP-to-the-job"),
]


@pytest.mark.parametrize(("send", "status"), SIGNALS)
@pytest.mark.parametrize("phase", PHASES)
def test_a_signal_at_any_moment_leaves_no_gcloud_and_no_file(
    phase: Callable[[Context], Run],
    send: Callable[[subprocess.Popen[str]], None],
    status: int,
    request: pytest.FixtureRequest,
    env: dict[str, str],
    fake: Fake,
    temp: Path,
    tmp_path: Path,
) -> None:
    run = phase(Context(env, fake, temp, tmp_path, request))
    try:
        send(run.process)
        _, stderr = run.process.communicate(timeout=60)
    finally:
        run.cleanup()
    finished = fake.mark("exiting").exists()
    if finished:
        assert run.process.returncode in (status, 7), stderr
    else:
        assert run.process.returncode == status, stderr
        assert not fake.mark("submitted").exists()
    assert "Traceback" not in stderr
    assert fake.running() == []
    assert list(temp.iterdir()) == []


@pytest.mark.parametrize(("send", "status"), SIGNALS)
def test_a_signal_while_gcloud_creates_a_tuning_job_leaves_no_gcloud_and_no_file(
    send: Callable[[subprocess.Popen[str]], None],
    status: int,
    env: dict[str, str],
    fake: Fake,
    temp: Path,
    tmp_path: Path,
) -> None:
    # hp-tuning-jobs create goes the same way: its generated --config goes with gcloud.
    config = tmp_path / "tuning.yaml"
    config.write_text("studySpec: {}\n")
    argv = [
        "ai",
        "hp-tuning-jobs",
        "create",
        *JOB[3:5],
        "--display-name=tune",
        f"--config={config}",
        *ON_A_RESOURCE,
        "--worker-pool-spec=machine-type=n1-standard-4,container-image-uri=gcr.io/p1/t",
        "--skip-precheck",
    ]
    process = start(argv, env)
    until(lambda: fake.mark("started").exists() or process.poll() is not None, "gcloud")
    assert [p.name for p in temp.iterdir()], process.communicate()  # the generated --config
    send(process)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == status, stderr
    assert not fake.mark("submitted").exists()
    assert "Traceback" not in stderr
    assert fake.running() == []
    assert list(temp.iterdir()) == []


# --- on a terminal --------------------------------------------------------------------------


SHIM = Path(__file__).resolve().parent.parent / "bin" / "gcloud"


@pytest.mark.parametrize(
    "command",
    [
        pytest.param([sys.executable, "-m", "prgcloud"], id="prgcloud"),
        pytest.param([str(SHIM)], id="gcloud-shim"),
    ],
)
def test_closing_the_terminal_stops_gcloud_removes_the_file_and_exits_129(
    command: list[str], env: dict[str, str], fake: Fake, temp: Path, tmp_path: Path
) -> None:
    argv = [*command, *JOB, "--skip-precheck"]
    with Terminal(argv, env, cwd=tmp_path) as terminal:
        until(lambda: fake.mark("started").exists(), "gcloud")
        terminal.hang_up()  # the kernel's SIGHUP, to prgcloud: the session's leader
        status = terminal.wait()
    assert status == 129
    assert fake.running() == []
    assert not fake.mark("submitted").exists()
    assert list(temp.iterdir()) == []


def test_ctrl_c_typed_on_the_terminal_stops_gcloud_and_exits_130(
    env: dict[str, str], fake: Fake, temp: Path, tmp_path: Path
) -> None:
    argv = [sys.executable, "-m", "prgcloud", *JOB, "--skip-precheck"]
    with Terminal(argv, env, cwd=tmp_path) as terminal:
        until(lambda: fake.mark("started").exists(), "gcloud")
        terminal.type("\x03")
        status = terminal.wait()
        text = terminal.text
    assert status == 130, text
    assert "interrupted" in text
    assert "Traceback" not in text
    assert fake.running() == []
    assert not fake.mark("submitted").exists()
    assert list(temp.iterdir()) == []


def test_gcloud_started_under_nohup_keeps_ignoring_the_hangup(
    env: dict[str, str], fake: Fake, temp: Path
) -> None:
    # `nohup prgcloud ...`: SIGHUP was ignored before prgcloud started, so it stays ignored
    # for prgcloud and for gcloud, as it would be for gcloud run directly.
    process = subprocess.Popen(
        ["nohup", sys.executable, "-m", "prgcloud", *JOB, "--skip-precheck"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=default_signals,  # then nohup ignores SIGHUP
    )
    until(lambda: fake.mark("started").exists(), "gcloud")
    os.killpg(process.pid, signal.SIGHUP)
    fake.mark("release").touch()
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 7, stderr  # gcloud's own exit code: it ran to the end
    assert fake.mark("submitted").exists()
    assert list(temp.iterdir()) == []


# --- a handler that is due runs, even if the main thread is blocked ---------------------------

# The race that lets a signal wait behind a blocking system call, made certain: the signal's
# C-level handler runs on another thread while the main thread blocks in a read.
STUCK_IN_A_READ = """
import os, signal, sys, threading, time
from pathlib import Path
from prgcloud import process

def terminate(signum, frame):
    raise SystemExit(143)

signal.signal(signal.SIGTERM, terminate)
if sys.argv[1] == "prompt":
    process.keep_handlers_prompt()
main = threading.get_native_id()
read_end, write_end = os.pipe()

def signal_me_once_blocked():
    state = Path(f"/proc/self/task/{main}/stat")
    while state.read_text().rpartition(")")[2].split()[0] != "S":
        time.sleep(0.001)
    signal.pthread_kill(threading.get_ident(), signal.SIGTERM)  # to this thread

threading.Thread(target=signal_me_once_blocked).start()
os.read(read_end, 1)  # nothing is ever written
"""


def test_a_signal_handled_while_the_main_thread_blocks_still_ends_the_read() -> None:
    program = subprocess.Popen(
        [sys.executable, "-c", STUCK_IN_A_READ, "prompt"], preexec_fn=default_signals
    )
    try:
        assert program.wait(timeout=60) == 143
    finally:
        program.kill()
        program.wait()
