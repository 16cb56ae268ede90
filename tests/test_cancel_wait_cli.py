"""`cancel --wait` waits for the job to be CANCELLED, not just for the cancel to be sent: the
emulator holds cancelled jobs CANCELLING (their replicas still held) until the test releases
them. A real prgcloud process, the real gcloud cancelling, for custom jobs and tuning jobs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from emulator_fixture import TOKEN
from test_job_wait_cli import read_until

from prgcloud.emulator import Emulator

PROJECT, REGION, RID = "p", "us-central1", "cluster"
PARENT = f"projects/{PROJECT}/locations/{REGION}"
POOL = {"id": "workers", "machineSpec": {"machineType": "n1-standard-4"}, "replicaCount": "2"}
SPEC = {
    "persistentResourceId": RID,
    "workerPoolSpecs": [
        {
            "machineSpec": {"machineType": "n1-standard-4"},
            "replicaCount": "2",
            "containerSpec": {"imageUri": "gcr.io/p/trainer"},
        }
    ],
}
TUNING = {
    "displayName": "tune",
    "studySpec": {
        "metrics": [{"metricId": "accuracy", "goal": "MAXIMIZE"}],
        "parameters": [
            {"parameterId": "lr", "doubleValueSpec": {"minValue": 0.001, "maxValue": 0.1}}
        ],
    },
    "maxTrialCount": 2,
    "parallelTrialCount": 1,
    "trialJobSpec": SPEC,
}
GROUPS = {"customJobs": "custom-jobs", "hyperparameterTuningJobs": "hp-tuning-jobs"}
BODIES = {
    "customJobs": {"displayName": "train", "jobSpec": SPEC},
    "hyperparameterTuningJobs": TUNING,
}


@pytest.fixture
def environ(gcloud_env: dict[str, str], clean_emulator: Emulator) -> Iterator[dict[str, str]]:
    """gcloud against the emulator, a resource of 2 replicas, cancellations held."""
    clean_emulator.add_persistent_resource(PROJECT, REGION, RID, {"resourcePools": [POOL]})
    clean_emulator.hold_cancellations()
    yield {**gcloud_env, "CLOUDSDK_CORE_PROJECT": PROJECT, "CLOUDSDK_AI_REGION": REGION}
    clean_emulator.release_cancellations()


def submit(emulator: Emulator, collection: str) -> str:
    """A job of `collection` on the resource (all its replicas), through the REST API."""
    request = urllib.request.Request(
        f"{emulator.url}v1/{PARENT}/{collection}",
        data=json.dumps(BODIES[collection]).encode(),
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        name: str = json.load(response)["name"]
    return name


def state(emulator: Emulator, name: str) -> str:
    job = (
        emulator.tuning_job(name)
        if "/hyperparameterTuningJobs/" in name
        else (emulator.custom_job(name))
    )
    return str(job["state"])


def used_replicas(emulator: Emulator) -> int:
    (pool,) = emulator.persistent_resource(f"{PARENT}/persistentResources/{RID}")["resourcePools"]
    return int(pool.get("usedReplicaCount", "0"))


def running(emulator: Emulator, collection: str) -> str:
    """A job of `collection` holding the resource's replicas (a tuning job: its trial's)."""
    name = submit(emulator, collection)
    while used_replicas(emulator) != 2:
        time.sleep(0.05)  # a tuning job starts its first trial after the pending delay
    return name


def cancel(environ: dict[str, str], group: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "prgcloud", "ai", group, "cancel", *args],
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def capacity(environ: dict[str, str]) -> dict[str, Any]:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "prgcloud",
            "ai",
            "persistent-resources",
            "capacity",
            RID,
            "--format=json",
        ],
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    found: dict[str, Any] = json.loads(done.stdout)
    return found


COLLECTIONS = [
    pytest.param("customJobs", id="custom-job"),
    pytest.param("hyperparameterTuningJobs", id="tuning-job"),
]


@pytest.mark.parametrize("collection", COLLECTIONS)
def test_cancel_wait_returns_once_the_job_is_cancelled_and_its_replicas_are_free(
    environ: dict[str, str], clean_emulator: Emulator, collection: str
) -> None:
    name = running(clean_emulator, collection)
    process = cancel(environ, GROUPS[collection], name.rsplit("/", 1)[-1], "--wait=5m")
    read_until(process, "CANCELLING")  # sent, and the wait has seen the job being cancelled
    assert process.poll() is None  # still waiting: the job holds its replicas
    assert used_replicas(clean_emulator) == 2
    clean_emulator.release_cancellations()
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 0, stderr
    assert f"[{name}] ended CANCELLED." in stderr
    assert state(clean_emulator, name) == "JOB_STATE_CANCELLED"
    (pool,) = capacity(environ)["pools"]  # what the user sees: the replicas are free
    assert (pool["used"], pool["free"]) == (0, 2)


@pytest.mark.parametrize("collection", COLLECTIONS)
def test_cancel_wait_that_runs_out_while_cancelling_exits_5(
    environ: dict[str, str], clean_emulator: Emulator, collection: str
) -> None:
    name = running(clean_emulator, collection)
    process = cancel(environ, GROUPS[collection], name, "--wait=3s")
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 5, stderr
    assert "CANCELLING when last read" in stderr
    assert state(clean_emulator, name) == "JOB_STATE_CANCELLING"


def test_ctrl_c_during_cancel_wait_exits_130_and_the_cancel_goes_on(
    environ: dict[str, str], clean_emulator: Emulator
) -> None:
    name = running(clean_emulator, "hyperparameterTuningJobs")
    process = cancel(environ, "hp-tuning-jobs", name, "--wait")
    read_until(process, "CANCELLING")
    os.killpg(process.pid, signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert state(clean_emulator, name) == "JOB_STATE_CANCELLING"


def test_cancel_wait_of_a_job_that_cannot_be_read_exits_4(
    environ: dict[str, str], clean_emulator: Emulator
) -> None:
    name = running(clean_emulator, "hyperparameterTuningJobs")
    clean_emulator.deny(name, method="GET")  # gcloud's cancel is a POST: it goes through
    process = cancel(environ, "hp-tuning-jobs", name, "--wait")
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 4, stderr
    assert "aiplatform.hyperparameterTuningJobs.get" in stderr
