"""`prgcloud ai persistent-resources capacity ID --jobs`: which jobs hold which replicas, read
through the real SDK from the emulator, in-process; and the pure match behind it."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from prgcloud import cli
from prgcloud.emulator import Emulator
from prgcloud.environment import Environment
from prgcloud.resource_jobs import (
    ACTIVE_STATES,
    jobs_on_resource,
    state_filter,
    tuning_jobs_on_resource,
)

PROJECT, REGION = "p", "us-central1"
PARENT = f"projects/{PROJECT}/locations/{REGION}"
CPU = {"id": "cpu", "machineSpec": {"machineType": "n1-standard-4"}, "replicaCount": "3"}
GPU = {
    "id": "gpu",
    "machineSpec": {
        "machineType": "a2-highgpu-1g",
        "acceleratorType": "NVIDIA_TESLA_A100",
        "acceleratorCount": 1,
    },
    "replicaCount": "2",
}


def worker_pool(pool: dict[str, Any], replicas: int) -> dict[str, Any]:
    return {
        "machineSpec": pool["machineSpec"],
        "replicaCount": str(replicas),
        "containerSpec": {"imageUri": "gcr.io/p/trainer"},
    }


def job_body(name: str, resource_id: str, *pools: dict[str, Any]) -> dict[str, Any]:
    return {
        "displayName": name,
        "jobSpec": {"persistentResourceId": resource_id, "workerPoolSpecs": list(pools)},
    }


def tuning_body(
    name: str, resource_id: str, *pools: dict[str, Any], parallel: int
) -> dict[str, Any]:
    return {
        "displayName": name,
        "studySpec": {
            "metrics": [{"metricId": "accuracy", "goal": "MAXIMIZE"}],
            "parameters": [
                {"parameterId": "lr", "doubleValueSpec": {"minValue": 0.1, "maxValue": 1}}
            ],
        },
        "maxTrialCount": 8,
        "parallelTrialCount": parallel,
        "trialJobSpec": job_body(name, resource_id, *pools)["jobSpec"],
    }


def run(environ: dict[str, str], *args: str) -> tuple[int, str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    env = Environment(environ=environ, stdin=io.StringIO(), stdout=stdout, stderr=stderr)
    status = cli.main(["ai", "persistent-resources", "capacity", *args], env)
    return status, stdout.getvalue(), stderr.getvalue()


@pytest.fixture
def world(clean_emulator: Emulator, tmp_path: Path) -> dict[str, Any]:
    token = tmp_path / "token"
    token.write_text("ya29.emulator-test-token")
    for resource_id in ("cluster", "other"):
        clean_emulator.add_persistent_resource(
            PROJECT, REGION, resource_id, {"resourcePools": [CPU, GPU]}
        )
    environ = {
        "CLOUDSDK_CONFIG": str(tmp_path / "config"),
        "CLOUDSDK_AUTH_ACCESS_TOKEN_FILE": str(token),
        "CLOUDSDK_API_ENDPOINT_OVERRIDES_AIPLATFORM": clean_emulator.url,
        "CLOUDSDK_CORE_PROJECT": PROJECT,
        "CLOUDSDK_AI_REGION": REGION,
        "PATH": "/usr/bin:/bin",
    }
    return {"emulator": clean_emulator, "environ": environ}


def test_capacity_jobs_lists_which_job_holds_which_replicas(world: dict[str, Any]) -> None:
    service = world["emulator"].service
    both = service.create_job(
        PARENT, job_body("both", "cluster", worker_pool(CPU, 1), worker_pool(GPU, 2))
    )
    queued = service.create_job(PARENT, job_body("queued", "cluster", worker_pool(GPU, 1)))
    service.create_job(PARENT, job_body("elsewhere", "other", worker_pool(CPU, 1)))
    status, stdout, stderr = run(world["environ"], "cluster", "--jobs")
    assert status == 0, stderr
    assert "jobs on it (2):" in stdout
    assert (
        f"{both['name']} (both): PENDING, pool 0: 1 replica of n1-standard-4 on pool cpu; "
        "pool 1: 2 replicas of a2-highgpu-1g + 1 x NVIDIA_TESLA_A100 on pool gpu"
    ) in stdout.replace("RUNNING", "PENDING")
    assert f"{queued['name']} (queued): QUEUED, pool 0: 1 replica of a2-highgpu-1g" in stdout
    assert "elsewhere" not in stdout


def test_capacity_jobs_as_json_names_the_resource_pool_of_each_worker_pool(
    world: dict[str, Any],
) -> None:
    service = world["emulator"].service
    made = service.create_job(PARENT, job_body("train", "cluster", worker_pool(CPU, 2)))
    status, stdout, stderr = run(world["environ"], "cluster", "--jobs", "--format=json")
    assert status == 0, stderr
    shown = json.loads(stdout)
    assert [pool["used"] for pool in shown["pools"]] == [2, 0]
    assert [(job["name"], job["workerPools"]) for job in shown["jobs"]] == [
        (
            made["name"],
            [
                {
                    "index": 0,
                    "replicaCount": 2,
                    "machineType": "n1-standard-4",
                    "resourcePoolId": "cpu",
                }
            ],
        )
    ]


def test_capacity_jobs_says_so_when_nothing_runs(world: dict[str, Any]) -> None:
    status, stdout, _ = run(world["environ"], "cluster", "--jobs")
    assert status == 0
    assert stdout.endswith("no custom or tuning jobs queued or running on it\n")


def test_capacity_without_jobs_lists_none(world: dict[str, Any]) -> None:
    status, stdout, _ = run(world["environ"], "cluster", "--format=json")
    assert status == 0
    assert "jobs" not in json.loads(stdout)


def test_jobs_that_cannot_be_listed_are_exit_4(world: dict[str, Any]) -> None:
    world["emulator"].deny(f"{PARENT}/customJobs")
    status, _, stderr = run(world["environ"], "cluster", "--jobs")
    assert status == 4
    assert "aiplatform.customJobs.list" in stderr


def test_capacity_jobs_lists_a_tuning_job_with_the_replicas_of_its_running_trials(
    world: dict[str, Any],
) -> None:
    emulator = world["emulator"]
    tuning = emulator.service.create_tuning_job(
        PARENT, tuning_body("tune", "cluster", worker_pool(CPU, 1), parallel=2)
    )
    emulator.service.create_tuning_job(
        PARENT, tuning_body("elsewhere", "other", worker_pool(CPU, 1), parallel=2)
    )
    emulator.advance(2)  # past the pending delay: two trials run, a replica each
    status, stdout, stderr = run(world["environ"], "cluster", "--jobs")
    assert status == 0, stderr
    assert "jobs on it (1):" in stdout
    assert (
        f"{tuning['name']} (tune): RUNNING, tuning job, 2 trials running: "
        "pool 0: 2 replicas of n1-standard-4 on pool cpu (1 per trial)\n"
    ) in stdout
    assert "elsewhere" not in stdout


def test_capacity_jobs_counts_only_the_trials_that_run_as_json(world: dict[str, Any]) -> None:
    emulator = world["emulator"]
    # two trials at once, but the pool's three replicas hold one trial of two: one waits
    tuning = emulator.service.create_tuning_job(
        PARENT, tuning_body("tune", "cluster", worker_pool(CPU, 2), parallel=2)
    )
    emulator.advance(2)
    status, stdout, stderr = run(world["environ"], "cluster", "--jobs", "--format=json")
    assert status == 0, stderr
    shown = json.loads(stdout)
    assert [pool["used"] for pool in shown["pools"]] == [2, 0]
    assert shown["jobs"] == [
        {
            "name": tuning["name"],
            "kind": "hyperparameterTuningJob",
            "displayName": "tune",
            "state": "JOB_STATE_RUNNING",
            "workerPools": [
                {
                    "index": 0,
                    "replicaCount": 2,
                    "machineType": "n1-standard-4",
                    "resourcePoolId": "cpu",
                    "replicaCountPerTrial": 2,
                }
            ],
            "trials": {"running": 1, "countedFrom": "trials"},
        }
    ]


def test_a_tuning_job_that_lists_no_trials_counts_its_parallel_trials(
    world: dict[str, Any],
) -> None:
    tuning = world["emulator"].service.create_tuning_job(
        PARENT, tuning_body("tune", "cluster", worker_pool(GPU, 1), parallel=2)
    )  # PENDING: no trial started yet
    status, stdout, stderr = run(world["environ"], "cluster", "--jobs")
    assert status == 0, stderr
    assert (
        f"{tuning['name']} (tune): PENDING, tuning job, up to 2 trials at once (its "
        "parallelTrialCount; it lists no trials): pool 0: 2 replicas of a2-highgpu-1g + 1 x "
        "NVIDIA_TESLA_A100 on pool gpu (1 per trial)\n"
    ) in stdout


def test_tuning_jobs_that_cannot_be_listed_are_exit_4(world: dict[str, Any]) -> None:
    world["emulator"].deny(f"{PARENT}/hyperparameterTuningJobs")
    status, _, stderr = run(world["environ"], "cluster", "--jobs")
    assert status == 4
    assert "permission denied reading the hyperparameter tuning jobs of project p" in stderr
    assert "aiplatform.hyperparameterTuningJobs.list" in stderr


# --- the match, a pure function ---------------------------------------------------------------


def listed(name: str, resource_id: str | None, state: str, created: str) -> dict[str, Any]:
    spec: dict[str, Any] = {"workerPoolSpecs": [worker_pool(CPU, 1), {}]}
    if resource_id:
        spec["persistentResourceId"] = resource_id
    return {
        "name": f"{PARENT}/customJobs/{name}",
        "state": state,
        "createTime": created,
        "jobSpec": spec,
    }


def test_jobs_match_on_their_resource_and_state_oldest_first() -> None:
    jobs = [
        listed("3", "cluster", "JOB_STATE_RUNNING", "2026-01-03T00:00:00Z"),
        listed("1", "cluster", "JOB_STATE_QUEUED", "2026-01-01T00:00:00Z"),
        listed("2", "other", "JOB_STATE_RUNNING", "2026-01-02T00:00:00Z"),
        listed("4", None, "JOB_STATE_RUNNING", "2026-01-04T00:00:00Z"),
        listed("5", "cluster", "JOB_STATE_SUCCEEDED", "2026-01-05T00:00:00Z"),
    ]
    found = jobs_on_resource(jobs, "cluster", resource_pools=[CPU])
    assert [job.name.rsplit("/", 1)[1] for job in found] == ["1", "3"]
    assert [str(pool) for pool in found[0].pools] == ["1 replica of n1-standard-4 on pool cpu"]
    assert [job.holds_replicas for job in found] == [False, True]


def test_the_server_filters_by_state() -> None:
    assert state_filter(ACTIVE_STATES) == (
        'state="JOB_STATE_QUEUED" OR state="JOB_STATE_PENDING" OR state="JOB_STATE_RUNNING"'
    )


def listed_tuning(
    state: str, trials: list[str] | None, resource_id: str = "cluster"
) -> dict[str, Any]:
    job: dict[str, Any] = {
        "name": f"{PARENT}/hyperparameterTuningJobs/7",
        "state": state,
        "parallelTrialCount": 3,
        "trialJobSpec": {
            "persistentResourceId": resource_id,
            "workerPoolSpecs": [worker_pool(CPU, 2), {}, worker_pool(GPU, 1)],
        },
    }
    if trials is not None:
        job["trials"] = [{"id": str(i + 1), "state": s} for i, s in enumerate(trials)]
    return job


@pytest.mark.parametrize(
    ("trials", "running", "counted_from"),
    [
        pytest.param(["ACTIVE", "ACTIVE", "REQUESTED"], 2, "trials", id="active-trials"),
        pytest.param(["SUCCEEDED", "STOPPING", "INFEASIBLE"], 1, "trials", id="stopping"),
        pytest.param(["SUCCEEDED", "REQUESTED"], 0, "trials", id="none-running"),
        pytest.param(None, 3, "parallelTrialCount", id="no-trials-listed"),
        pytest.param([], 3, "parallelTrialCount", id="empty-trials"),
    ],
)
def test_a_tuning_job_holds_one_trials_replicas_per_trial_counted(
    trials: list[str] | None, running: int, counted_from: str
) -> None:
    (found,) = tuning_jobs_on_resource(
        [listed_tuning("JOB_STATE_RUNNING", trials)], "cluster", resource_pools=[CPU, GPU]
    )
    assert found.trials is not None
    assert (found.trials.count, found.trials.counted_from) == (running, counted_from)
    assert [
        (pool.index, pool.replicas, pool.per_trial, pool.resource_pool) for pool in found.pools
    ] == [
        (0, 2 * running, 2, "cpu"),
        (2, running, 1, "gpu"),
    ]


def test_tuning_jobs_match_on_their_trial_job_resource_and_state() -> None:
    jobs = [
        listed_tuning("JOB_STATE_RUNNING", None, resource_id="other"),
        listed_tuning("JOB_STATE_SUCCEEDED", None),
        listed_tuning("JOB_STATE_QUEUED", None),
    ]
    found = tuning_jobs_on_resource(jobs, "cluster")
    assert [job.state for job in found] == ["JOB_STATE_QUEUED"]
    assert not tuning_jobs_on_resource(jobs, "cluster", states=("JOB_STATE_RUNNING",))
