"""`create --wait-for-capacity` as a runbook runs it: a real prgcloud process, the emulator,
and a fake gcloud that records whether anything was submitted."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from fake_gcloud import FakeGcloud

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


@pytest.fixture
def cluster(clean_emulator: Emulator) -> Emulator:
    """A RUNNING resource whose one pool of 2 replicas is fully in use by other jobs."""
    clean_emulator.add_persistent_resource(
        PROJECT,
        REGION,
        RID,
        {
            "resourcePools": [
                {
                    "id": "workers",
                    "machineSpec": {"machineType": "n1-standard-4"},
                    "replicaCount": "2",
                    "usedReplicaCount": "2",
                }
            ]
        },
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


def read_until(process: subprocess.Popen[str], text: str, timeout: float = 30) -> str:
    """stderr up to and including the first line holding `text`."""
    seen = ""
    deadline = time.monotonic() + timeout
    while text not in seen:
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
