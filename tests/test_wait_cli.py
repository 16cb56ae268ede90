"""`create --wait-for-capacity` as a runbook runs it: a real prgcloud process, the emulator,
and a fake gcloud that records whether anything was submitted."""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fake_gcloud import FakeGcloud
from slow_server import Relay

from prgcloud.emulator import Emulator

PROJECT, REGION, RID = "p", "us-central1", "cluster"
NAME = Emulator.resource_name(PROJECT, REGION, RID)
JOB = [
    "ai",
    "custom-jobs",
    "create",
    "--display-name=train",
    f"--persistent-resource-id={RID}",
    "--worker-pool-spec=machine-type=n1-standard-4,replica-count=2,"
    "container-image-uri=gcr.io/p/i,disk-type=pd-ssd,disk-size=100",
]


POOL = {"id": "workers", "machineSpec": {"machineType": "n1-standard-4"}, "replicaCount": "2"}


@pytest.fixture
def cluster(clean_emulator: Emulator) -> Emulator:
    """A RUNNING resource whose one pool of 2 replicas is fully in use by other jobs."""
    clean_emulator.add_persistent_resource(
        PROJECT, REGION, RID, {"resourcePools": [{**POOL, "usedReplicaCount": "2"}]}
    )
    return clean_emulator


@pytest.fixture
def env(gcloud_env: dict[str, str], cluster: Emulator, tmp_path: Path) -> dict[str, Any]:
    fake = FakeGcloud.install(tmp_path)
    temp = tmp_path / "tmp"
    temp.mkdir()
    environ = fake.environ(gcloud_env)
    environ.update(
        CLOUDSDK_API_ENDPOINT_OVERRIDES_AIPLATFORM=cluster.url,
        CLOUDSDK_CORE_PROJECT=PROJECT,
        CLOUDSDK_AI_REGION=REGION,
        TMPDIR=str(temp),
    )
    return {"environ": environ, "fake": fake, "tmp": temp}


def start(environ: dict[str, str], *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "prgcloud", *JOB, *extra],
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def read_until(
    process: subprocess.Popen[str], text: str, timeout: float = 30, *, unless: str = "\0"
) -> str:
    """stderr up to and including the first line holding `text` (and not `unless`)."""
    seen = ""
    deadline = time.monotonic() + timeout
    line = ""
    while text not in line or unless in line:
        assert time.monotonic() < deadline, f"never saw {text!r}; saw {seen!r}"
        line = process.stderr.readline()  # type: ignore[union-attr]
        assert line, f"prgcloud ended before {text!r}; saw {seen!r}"
        seen += line
    return seen


def test_a_busy_pool_is_waited_for_and_the_job_submitted_once_it_frees(
    env: dict[str, Any], cluster: Emulator
) -> None:
    process = start(env["environ"], "--wait-for-capacity=2m")
    waiting = read_until(process, "waiting for capacity")
    assert "0 free / 2 asked" in waiting
    assert env["fake"].calls == []
    cluster.set_used_replicas(NAME, "workers", 0)
    _, rest = process.communicate(timeout=60)
    assert process.returncode == 0, rest
    assert len(env["fake"].calls) == 1
    assert list(env["tmp"].iterdir()) == []


def test_a_wait_that_runs_out_of_time_exits_5_and_sends_nothing(env: dict[str, Any]) -> None:
    process = start(env["environ"], "--wait-for-capacity=3s")
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 5, stderr
    assert "gave up waiting for capacity after 3s" in stderr
    assert env["fake"].calls == []
    assert list(env["tmp"].iterdir()) == []


def test_a_job_that_can_never_fit_is_not_waited_for(env: dict[str, Any]) -> None:
    too_big = [*JOB[:-1], JOB[-1].replace("replica-count=2", "replica-count=3")]
    result = subprocess.run(
        [sys.executable, "-m", "prgcloud", *too_big, "--wait-for-capacity=2m"],
        env=env["environ"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 3, result.stderr
    assert "waiting for capacity" not in result.stderr
    assert "can never fit" in result.stderr
    assert env["fake"].calls == []


def test_ctrl_c_while_waiting_exits_130_with_nothing_sent_or_left(env: dict[str, Any]) -> None:
    process = start(env["environ"], "--wait-for-capacity=2m")
    read_until(process, "waiting for capacity")
    os.killpg(process.pid, signal.SIGINT)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 130
    assert "Traceback" not in stderr
    assert env["fake"].calls == []
    assert list(env["tmp"].iterdir()) == []


# --- the API going away mid-wait ------------------------------------------------------------


def test_an_api_outage_mid_wait_is_waited_out_and_the_job_then_submitted(
    env: dict[str, Any], cluster: Emulator
) -> None:
    process = start(env["environ"], "--wait-for-capacity=5m")
    read_until(process, "0 free / 2 asked")
    cluster.fail("UNAVAILABLE", name=NAME, method="GET")
    said = read_until(process, "API answered HTTP 503")
    assert "retrying" in said
    assert "left)" in said  # the time left is on the status line
    cluster.clear_faults()
    read_until(process, "0 free / 2 asked", unless="retrying")  # answering again, still busy
    cluster.set_used_replicas(NAME, "workers", 0)
    _, rest = process.communicate(timeout=60)
    assert process.returncode == 0, rest
    assert len(env["fake"].calls) == 1


def test_an_answer_that_waiting_cannot_change_ends_the_wait_with_exit_4(
    env: dict[str, Any], cluster: Emulator
) -> None:
    process = start(env["environ"], "--wait-for-capacity=5m")
    read_until(process, "0 free / 2 asked")
    cluster.deny(NAME)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 4, stderr
    assert "permission denied" in stderr
    assert env["fake"].calls == []


@pytest.fixture
def relay(cluster: Emulator) -> Iterator[dict[str, Relay]]:
    """The emulator behind a relay that a test can stop and start again on the same port
    (`box["relay"]` is the one running now)."""
    box = {"relay": Relay(cluster.port).start()}
    try:
        yield box
    finally:
        box["relay"].stop()


def test_the_api_going_away_and_coming_back_does_not_end_the_wait(
    env: dict[str, Any], cluster: Emulator, relay: dict[str, Relay]
) -> None:
    first = relay["relay"]
    environ = {**env["environ"], "CLOUDSDK_API_ENDPOINT_OVERRIDES_AIPLATFORM": first.url}
    process = start(environ, "--wait-for-capacity=5m")
    read_until(process, "0 free / 2 asked")
    first.stop()
    said = read_until(process, "API unreachable")
    assert "retrying" in said
    assert env["fake"].calls == []
    relay["relay"] = Relay(cluster.port, port=first.port).start()
    read_until(process, "0 free / 2 asked", unless="retrying")  # back, answering again
    cluster.set_used_replicas(NAME, "workers", 0)
    _, rest = process.communicate(timeout=60)
    assert process.returncode == 0, rest
    assert len(env["fake"].calls) == 1


# --- the status line on a terminal -----------------------------------------------------------


def test_the_live_status_line_never_wraps_in_a_narrow_terminal(
    env: dict[str, Any], cluster: Emulator
) -> None:
    columns = 60
    main, secondary = pty.openpty()
    fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    process = subprocess.Popen(
        [sys.executable, "-m", "prgcloud", *JOB, "--wait-for-capacity=5m"],
        env=env["environ"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=secondary,
        start_new_session=True,
    )
    os.close(secondary)
    seen = b""
    try:
        while seen.count(b"\r\x1b[K") < 2:  # the status line, drawn and redrawn
            seen += read_pty(main)
        cluster.set_used_replicas(NAME, "workers", 0)
        process.communicate(timeout=60)
        with contextlib.suppress(OSError):  # EIO: every writer closed
            while chunk := read_pty(main):
                seen += chunk
    finally:
        os.close(main)
    assert process.returncode == 0
    drawn = [part.split(b"\r\n")[0] for part in seen.split(b"\r\x1b[K")[1:]]
    assert drawn
    assert all(len(line.decode()) < columns for line in drawn), drawn
    assert b"0 free / 2 asked" in seen or any(line.endswith("…".encode()) for line in drawn)


def read_pty(fd: int, timeout: float = 30) -> bytes:
    ready, _, _ = select.select([fd], [], [], timeout)
    assert ready, "prgcloud wrote nothing to its terminal"
    return os.read(fd, 65536)
