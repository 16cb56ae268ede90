"""`prgcloud emulator start|env-init` as a user runs it: a foreground process, signals, restart."""

from __future__ import annotations

import contextlib
import io
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from emulator_helpers import PARENT, call, gpu_pool, job_body

from prgcloud import cli
from prgcloud.commands.emulator import TOKEN_TEXT
from prgcloud.environment import Environment

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def home() -> Iterator[str]:
    """A HOME of its own, so the token file lands in a directory the test removes."""
    with tempfile.TemporaryDirectory(prefix="prgcloud-home-") as directory:
        yield directory


def run_cli(home: str, *argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    env = Environment(environ={"HOME": home}, stdout=out, stderr=err, cwd=home)
    return cli.main(["emulator", *argv], env), out.getvalue(), err.getvalue()


def test_env_init_prints_the_lines_that_point_gcloud_at_the_emulator(home: str) -> None:
    status, out, _ = run_cli(home, "env-init", "--port", "9999")
    token = Path(home, ".cache", "prgcloud", "emulator-access-token")
    assert status == 0
    assert out == (
        "export CLOUDSDK_API_ENDPOINT_OVERRIDES_AIPLATFORM=http://127.0.0.1:9999/\n"
        "export CLOUDSDK_API_ENDPOINT_OVERRIDES_LOGGING=http://127.0.0.1:9999/\n"
        f"export CLOUDSDK_AUTH_ACCESS_TOKEN_FILE={token}\n"
    )
    assert token.read_text() == TOKEN_TEXT


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        pytest.param(
            ["start", "--port", "http"], "argument --port: 'http' is not a port", id="port"
        ),
        pytest.param(["start", "--job-duration", "-5"], "'-5' is negative", id="duration"),
        pytest.param(["start", "--turbo"], "unrecognized arguments: --turbo", id="unknown-flag"),
        pytest.param(["stop"], "invalid choice: 'stop'", id="unknown-verb"),
        pytest.param([], "the following arguments are required", id="no-verb"),
    ],
)
def test_a_bad_flag_is_bad_input(home: str, argv: list[str], words: str) -> None:
    status, _, err = run_cli(home, *argv)
    assert status == 2
    assert words in err


def test_a_port_in_use_is_bad_input(home: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        status, _, err = run_cli(home, "start", "--port", str(taken.getsockname()[1]))
    assert status == 2
    assert "cannot listen on 127.0.0.1" in err


def test_a_data_dir_that_is_a_file_is_bad_input(home: str) -> None:
    Path(home, "state").write_text("not a directory")
    status, _, err = run_cli(home, "start", "--port", "0", "--data-dir", "state")
    assert status == 2
    assert "argument --data-dir: cannot use" in err


def test_a_data_dir_holding_something_else_is_bad_input(home: str) -> None:
    Path(home, "state").mkdir()
    Path(home, "state", "emulator.sqlite3").write_text("not a database, but long enough" * 9)
    status, _, err = run_cli(home, "start", "--port", "0", "--data-dir", "state")
    assert status == 2
    assert "does not hold the emulator's state" in err


@contextmanager
def emulator_process(home: str, *args: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """`prgcloud emulator start --port 0 ARGS` in the background; (process, its URL)."""
    env = {**os.environ, "HOME": home, "PYTHONPATH": str(ROOT)}
    env.pop("XDG_CACHE_HOME", None)
    command = [sys.executable, "-m", "prgcloud", "emulator", "start", "--port", "0", *args]
    process = subprocess.Popen(
        command, cwd=home, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        found = re.search(r"listening on (http://\S+/)", first)
        assert found, first + (process.stderr.read() if process.stderr else "")
        yield process, found.group(1)
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=10)


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "ctrl-c"])
def test_start_serves_in_the_foreground_until_stopped(home: str, stop: signal.Signals) -> None:
    started = time.monotonic()
    with emulator_process(home) as (process, url):
        ready = time.monotonic() - started
        assert call(url, "GET", f"/v1/{PARENT}/customJobs") == (200, {})
        process.send_signal(stop)
        _, err = process.communicate(timeout=10)
        assert process.returncode == 0, err
        assert "Vertex AI emulator stopped." in err
        assert "Traceback" not in err
    assert ready < 5, f"the emulator took {ready:.2f} s to start"


def test_a_restart_after_kill_9_keeps_every_acknowledged_resource_and_job(home: str) -> None:
    data = str(Path(home, "state"))
    with emulator_process(home, "--data-dir", data, "--provision-seconds", "0") as (process, url):
        create = f"/v1/{PARENT}/persistentResources?persistentResourceId=pr1"
        assert call(url, "POST", create, {"resourcePools": [gpu_pool(1)]})[0] == 200
        jobs = [
            call(url, "POST", f"/v1/{PARENT}/customJobs", job_body(gpu_pool(1)))[1]
            for _ in range(2)
        ]
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    with emulator_process(home, "--data-dir", data) as (_, url):
        status, resource = call(url, "GET", f"/v1/{PARENT}/persistentResources/pr1")
        assert status == 200
        assert resource["resourcePools"][0]["usedReplicaCount"] == "1"
        states = [call(url, "GET", f"/v1/{job['name']}")[1]["state"] for job in jobs]
        assert states in (
            ["JOB_STATE_PENDING", "JOB_STATE_QUEUED"],
            ["JOB_STATE_RUNNING", "JOB_STATE_QUEUED"],
        )


def test_the_emulator_starts_without_the_sdk_or_yaml() -> None:
    probe = (
        "import sys, prgcloud.commands.emulator, prgcloud.emulator, prgcloud.precheck.rules\n"
        "heavy = ('google.cloud.aiplatform', 'google.api_core', 'proto', 'yaml', 'jsonschema')\n"
        "print(sorted(m for m in sys.modules if m.startswith(heavy)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert done.stdout.strip() == "[]"


def leave_early(url: str, request: bytes, *, reset: bool) -> None:
    """Send `request`, then hang up at once without reading the answer: a reset, or a close
    (the answer's first write then draws a reset, and its next one a broken pipe)."""
    host, port = url.removeprefix("http://").rstrip("/").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as client:
        client.sendall(request)
        if reset:
            client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


HEALTH = b"GET /emulator/health HTTP/1.1\r\nHost: x\r\n\r\n"
LIST = (
    f"GET /v1/{PARENT}/customJobs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t\r\n\r\n".encode()
)


@pytest.mark.parametrize("request_bytes", [HEALTH, LIST], ids=["health", "list"])
def test_start_survives_clients_that_leave_before_the_answer(
    home: str, request_bytes: bytes
) -> None:
    with emulator_process(home) as (process, url):
        for round_ in range(200):
            with contextlib.suppress(ConnectionRefusedError):  # asserted below
                leave_early(url, request_bytes, reset=round_ % 2 == 0)
        assert process.poll() is None, f"the emulator died with {process.returncode}"
        assert call(url, "GET", f"/v1/{PARENT}/customJobs") == (200, {})
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=10)
    assert process.returncode == 0, err
    assert "Traceback" not in err
