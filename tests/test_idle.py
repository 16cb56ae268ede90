"""`prgcloud idle` (bin/prgcloud-idle): persistent resources RUNNING with no job for a while.

The judgement is a pure function, tested as a table; the plugin itself runs as `prgcloud
idle` does (prgcloud finds bin/prgcloud-idle and runs it), against the emulator, with the
real gcloud listing the jobs.
"""

from __future__ import annotations

import io
import json
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from prgcloud import cli
from prgcloud.emulator import Emulator
from prgcloud.environment import Environment
from prgcloud.plugins import idle

NOW = 1_800_000_000.0  # 2027-01-15T08:00:00Z
HOUR = 3600.0
PARENT = "projects/p/locations/us-central1"


def at(seconds_ago: float) -> str:
    return idle.rfc3339(NOW - seconds_ago)


def resource(rid: str, *, state: str = "RUNNING", used: int = 0, started: float = 5 * HOUR):
    return {
        "name": f"{PARENT}/persistentResources/{rid}",
        "state": state,
        "createTime": at(started + 60),
        "startTime": at(started),
        "resourcePools": [
            {
                "id": "gpu",
                "machineSpec": {
                    "machineType": "a2-highgpu-1g",
                    "acceleratorType": "NVIDIA_TESLA_A100",
                    "acceleratorCount": 1,
                },
                "replicaCount": "2",
                "usedReplicaCount": str(used),
            }
        ],
    }


def job(rid: str, state: str, ended: float | None = None, name: str = "1") -> dict[str, Any]:
    found: dict[str, Any] = {
        "name": f"{PARENT}/customJobs/{name}",
        "state": state,
        "jobSpec": {"persistentResourceId": rid},
    }
    if ended is not None:
        found["endTime"] = at(ended)
    return found


@pytest.mark.parametrize(
    ("resources", "jobs", "expected"),
    [
        pytest.param([resource("a")], [], [("a", at(5 * HOUR), None)], id="never-used"),
        pytest.param([resource("a", started=30 * 60)], [], [], id="started-recently"),
        pytest.param([resource("a", used=1)], [], [], id="replicas-in-use"),
        pytest.param([resource("a", state="PROVISIONING")], [], [], id="not-running"),
        pytest.param([resource("a", state="ERROR")], [], [], id="error-is-not-idle"),
        pytest.param(
            [resource("a")],
            [job("a", "JOB_STATE_SUCCEEDED", 2 * HOUR, "9")],
            [("a", at(2 * HOUR), f"{PARENT}/customJobs/9")],
            id="last-job-ended-long-ago",
        ),
        pytest.param(
            [resource("a")],
            [
                job("a", "JOB_STATE_FAILED", 3 * HOUR, "1"),
                job("a", "JOB_STATE_CANCELLED", 20 * 60, "2"),
            ],
            [],
            id="a-job-ended-recently",
        ),
        pytest.param([resource("a")], [job("a", "JOB_STATE_QUEUED")], [], id="a-job-waits"),
        pytest.param(
            [resource("a")],
            [job("b", "JOB_STATE_SUCCEEDED", 10 * 60)],
            [("a", at(5 * HOUR), None)],
            id="jobs-of-other-resources-do-not-count",
        ),
        pytest.param(
            [resource("a", started=2 * HOUR), resource("b")],
            [],
            [("b", at(5 * HOUR), None), ("a", at(2 * HOUR), None)],
            id="longest-idle-first",
        ),
    ],
)
def test_which_resources_are_idle(
    resources: list[dict[str, Any]], jobs: list[dict[str, Any]], expected: list[Any]
) -> None:
    found = idle.idle_resources(resources, jobs, now=NOW, idle_for=HOUR)
    assert [(r["id"], r["idleSince"], r["lastJob"]) for r in found] == expected


def test_an_idle_resource_as_data_and_for_people() -> None:
    [found] = idle.idle_resources([resource("a")], [], now=NOW, idle_for=HOUR)
    assert found["idleSeconds"] == 5 * HOUR
    assert found["pools"] == [
        {
            "id": "gpu",
            "machineType": "a2-highgpu-1g",
            "acceleratorType": "NVIDIA_TESLA_A100",
            "acceleratorCount": 1,
            "replicas": 2,
        }
    ]
    assert idle.format_idle([found]).splitlines() == [
        "RESOURCE  IDLE FOR  IDLE SINCE            MACHINES                                      "
        "LAST JOB",
        "a         5h        2027-01-15T03:00:00Z  2 x a2-highgpu-1g (1 NVIDIA_TESLA_A100 each)  -",
    ]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        pytest.param("2025-01-01T00:00:00Z", 1735689600.0, id="utc"),
        pytest.param("2025-01-01T00:00:00.123456789Z", 1735689600.123456, id="nanoseconds"),
        pytest.param("2025-01-01T01:00:00+01:00", 1735689600.0, id="offset"),
        pytest.param("2025-01-01T00:00:00", None, id="no-zone"),
        pytest.param("yesterday", None, id="no-time"),
        pytest.param(None, None, id="absent"),
    ],
)
def test_times_are_read_as_rfc3339(text: str | None, seconds: float | None) -> None:
    assert idle.seconds(text) == seconds


# --- the plugin, against the emulator --------------------------------------------------------


def create_job(emulator: Emulator, rid: str, seconds: int) -> str:
    body = {
        "displayName": "short",
        "labels": {"emulator-duration-seconds": str(seconds)},
        "jobSpec": {
            "persistentResourceId": rid,
            "workerPoolSpecs": [
                {
                    "machineSpec": {"machineType": "n1-standard-4"},
                    "replicaCount": "1",
                    "containerSpec": {"imageUri": "gcr.io/p/i"},
                }
            ],
        },
    }
    request = urllib.request.Request(
        f"{emulator.url}v1/{PARENT}/customJobs",
        data=json.dumps(body).encode(),
        headers={"Authorization": "Bearer t", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        name: str = json.load(response)["name"]
    return name


def cpu_pool(used: int = 0) -> dict[str, Any]:
    return {
        "resourcePools": [
            {
                "id": "cpu",
                "machineSpec": {"machineType": "n1-standard-4"},
                "replicaCount": "2",
                "usedReplicaCount": str(used),
            }
        ]
    }


def prgcloud_idle(argv: list[str], environ: dict[str, str], cwd: Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    env = Environment(environ=environ, stdin=io.StringIO(), stdout=out, stderr=err, cwd=str(cwd))
    return cli.main(["idle", *argv], env), out.getvalue(), err.getvalue()


@pytest.mark.gcloud
def test_prgcloud_idle_lists_the_running_resources_no_job_uses(
    clean_emulator: Emulator, gcloud_env: dict[str, str], tmp_path: Path
) -> None:
    for rid, used in (("unused", 0), ("busy", 1), ("finished", 0)):
        clean_emulator.add_persistent_resource("p", "us-central1", rid, cpu_pool(used))
    clean_emulator.add_persistent_resource("p", "us-central1", "broken", cpu_pool(), state="ERROR")
    ended = create_job(clean_emulator, "finished", 1)
    deadline = time.monotonic() + 60
    while clean_emulator.custom_job(ended)["state"] != "JOB_STATE_SUCCEEDED":
        assert time.monotonic() < deadline, clean_emulator.custom_job(ended)
        time.sleep(0.1)
    where = ["--project=p", "--region=us-central1"]

    status, out, err = prgcloud_idle(
        [*where, "--idle-for=0s", "--format=json"], gcloud_env, tmp_path
    )
    assert status == 0, err
    listed = {item["id"]: item for item in json.loads(out)}
    assert sorted(listed) == ["finished", "unused"]
    assert listed["finished"]["lastJob"] == ended
    assert listed["finished"]["idleSince"] == clean_emulator.custom_job(ended)["endTime"][:19] + "Z"
    assert listed["unused"]["lastJob"] is None

    status, out, err = prgcloud_idle(where, gcloud_env, tmp_path)
    assert (status, out) == (0, "")
    assert err == (
        "No persistent resource in project p, region us-central1 has been RUNNING with no job "
        "for 1h or more.\n"
    )


def test_prgcloud_idle_refuses_a_bad_duration(gcloud_env: dict[str, str], tmp_path: Path) -> None:
    status, out, err = prgcloud_idle(
        ["--project=p", "--region=us-central1", "--idle-for=soon"], gcloud_env, tmp_path
    )
    assert (status, out) == (2, "")
    assert "argument --idle-for: expected a duration like 90s, 30m or 2h, not 'soon'." in err
