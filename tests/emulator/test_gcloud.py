"""The real gcloud (Cloud SDK 528), unchanged, against the emulator: every command it serves."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from typing import Any

import pytest
from emulator_helpers import PARENT, gpu_pool

from prgcloud.emulator import Emulator

pytestmark = [
    pytest.mark.gcloud,
    pytest.mark.skipif(shutil.which("gcloud") is None, reason="gcloud is not installed"),
]

PR1 = f"{PARENT}/persistentResources/pr1"
REGION = "--region=us-central1"


def gcloud(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["gcloud", *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def gcloud_json(env: dict[str, str], *args: str) -> Any:
    done = gcloud(env, *args, "--format=json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture
def env(gcloud_env: dict[str, str], clean_emulator: Emulator) -> dict[str, str]:
    return {**gcloud_env, "CLOUDSDK_CORE_PROJECT": "p1"}


def test_gcloud_creates_lists_reboots_and_deletes_a_persistent_resource(
    env: dict[str, str], clean_emulator: Emulator
) -> None:
    # gcloud takes a second or more per call (many on a loaded machine): the clock moves
    # only when the test moves it
    clean_emulator.configure(provision_seconds=60, stop_seconds=60)
    clean_emulator.freeze()
    created = gcloud(
        env,
        "ai",
        "persistent-resources",
        "create",
        REGION,
        "--persistent-resource-id=pr1",
        "--display-name=runbook",
        "--resource-pool-spec=replica-count=2,machine-type=a2-highgpu-1g,"
        "accelerator-type=NVIDIA_TESLA_A100,accelerator-count=1,disk-type=pd-standard,disk-size=200",
        "--resource-pool-spec=min-replica-count=1,max-replica-count=4,machine-type=n1-standard-4",
        "--labels=team=vision",
    )
    assert created.returncode == 0, created.stderr
    assert "Operation to create PersistentResource" in created.stderr
    operation_id = re.findall(r"/operations/(\d+)", created.stderr)[0]

    operation = gcloud_json(env, "ai", "operations", "describe", operation_id, REGION)
    assert operation["name"] == f"{PR1}/operations/{operation_id}"
    assert not operation.get("done")

    described = gcloud_json(env, "beta", "ai", "persistent-resources", "describe", "pr1", REGION)
    assert described["state"] == "PROVISIONING"
    assert [pool["diskSpec"] for pool in described["resourcePools"]] == [
        {"bootDiskSizeGb": 200, "bootDiskType": "pd-standard"},
        {"bootDiskSizeGb": 100, "bootDiskType": "pd-ssd"},
    ]

    clean_emulator.advance(60)
    listed = gcloud_json(env, "ai", "persistent-resources", "list", REGION)
    assert [(r["name"], r["state"]) for r in listed] == [(PR1, "RUNNING")]

    rebooted = gcloud(env, "ai", "persistent-resources", "reboot", "pr1", REGION)
    assert rebooted.returncode == 0, rebooted.stderr
    assert clean_emulator.persistent_resource(PR1)["state"] == "REBOOTING"

    clean_emulator.advance(60)
    deleted = gcloud(env, "ai", "persistent-resources", "delete", "pr1", REGION)
    assert deleted.returncode == 0, deleted.stderr
    assert clean_emulator.persistent_resource(PR1)["state"] == "STOPPING"


def test_gcloud_runs_describes_lists_and_cancels_a_custom_job(
    env: dict[str, str], clean_emulator: Emulator
) -> None:
    clean_emulator.add_persistent_resource(
        "p1", "us-central1", "pr1", {"resourcePools": [gpu_pool(2)]}
    )
    created = gcloud_json(
        env,
        "ai",
        "custom-jobs",
        "create",
        REGION,
        "--display-name=train",
        "--persistent-resource-id=pr1",
        "--worker-pool-spec=replica-count=2,machine-type=a2-highgpu-1g,"
        "accelerator-type=NVIDIA_TESLA_A100,container-image-uri=gcr.io/p1/trainer",
    )
    job_id = created["name"].rsplit("/", 1)[1]
    assert created["state"] == "JOB_STATE_PENDING"

    clean_emulator.advance(1)
    described = gcloud_json(env, "ai", "custom-jobs", "describe", job_id, REGION)
    assert described["state"] == "JOB_STATE_RUNNING"
    assert described["jobSpec"]["workerPoolSpecs"][0]["diskSpec"] == {
        "bootDiskSizeGb": 100,
        "bootDiskType": "pd-ssd",
    }
    assert clean_emulator.persistent_resource(PR1)["resourcePools"][0]["usedReplicaCount"] == "2"

    listed = gcloud_json(env, "ai", "custom-jobs", "list", REGION)
    assert [job["name"] for job in listed] == [created["name"]]

    cancelled = gcloud(env, "ai", "custom-jobs", "cancel", job_id, REGION)
    assert cancelled.returncode == 0, cancelled.stderr
    assert clean_emulator.custom_job(created["name"])["state"] == "JOB_STATE_CANCELLED"
    assert "usedReplicaCount" not in clean_emulator.persistent_resource(PR1)["resourcePools"][0]


def test_gcloud_shows_why_a_job_is_refused(env: dict[str, str], clean_emulator: Emulator) -> None:
    clean_emulator.add_persistent_resource(
        "p1", "us-central1", "pr1", {"resourcePools": [gpu_pool(2)]}
    )
    refused = gcloud(
        env,
        "ai",
        "custom-jobs",
        "create",
        REGION,
        "--display-name=train",
        "--persistent-resource-id=pr1",
        "--worker-pool-spec=replica-count=3,machine-type=a2-highgpu-1g,"
        "accelerator-type=NVIDIA_TESLA_A100,container-image-uri=gcr.io/p1/trainer",
    )
    assert refused.returncode == 1
    assert "INVALID_ARGUMENT: List of found errors:" in refused.stderr
    assert "Worker pool 0 asks for 3 replicas; resource pool" in refused.stderr


def test_gcloud_sees_permission_denied(env: dict[str, str], clean_emulator: Emulator) -> None:
    clean_emulator.add_persistent_resource(
        "p1", "us-central1", "pr1", {"resourcePools": [gpu_pool(2)]}
    )
    clean_emulator.deny(PR1)
    denied = gcloud(env, "ai", "persistent-resources", "describe", "pr1", REGION)
    assert denied.returncode == 1
    assert "PERMISSION_DENIED: Permission 'aiplatform.persistentResources.get' denied" in (
        denied.stderr
    )


@pytest.mark.parametrize(
    ("pool", "words"),
    [
        pytest.param(
            "machine-type=n1-standard-4,disk-type=pd-balanced",
            'Boot disk type "pd-balanced" is not supported',
            id="disk-type",
        ),
        pytest.param(
            "machine-type=totally-bogus-99", 'Machine type "totally-bogus-99"', id="machine-type"
        ),
    ],
)
def test_gcloud_is_refused_a_pool_the_service_does_not_offer(
    env: dict[str, str], clean_emulator: Emulator, pool: str, words: str
) -> None:
    refused = gcloud(
        env,
        "ai",
        "persistent-resources",
        "create",
        REGION,
        "--persistent-resource-id=pr1",
        f"--resource-pool-spec=replica-count=1,{pool}",
    )
    assert refused.returncode == 1
    assert "INVALID_ARGUMENT: List of found errors:" in refused.stderr
    assert words in refused.stderr
    assert clean_emulator.custom_jobs("p1", "us-central1") == []
    assert gcloud_json(env, "ai", "persistent-resources", "list", REGION) == []


TUNING_CONFIG = """\
studySpec:
  metrics:
  - metricId: accuracy
    goal: MAXIMIZE
  parameters:
  - parameterId: lr
    doubleValueSpec: {minValue: 0.001, maxValue: 0.1}
  algorithm: RANDOM_SEARCH
trialJobSpec:
  persistentResourceId: pr1
  workerPoolSpecs:
  - machineSpec:
      machineType: a2-highgpu-1g
      acceleratorType: NVIDIA_TESLA_A100
      acceleratorCount: 1
    replicaCount: 1
    containerSpec:
      imageUri: gcr.io/p1/trainer
"""


@pytest.mark.parametrize("track", [pytest.param([], id="ga"), pytest.param(["beta"], id="beta")])
def test_gcloud_runs_describes_lists_and_cancels_a_tuning_job(
    env: dict[str, str], clean_emulator: Emulator, tmp_path: Any, track: list[str]
) -> None:
    clean_emulator.add_persistent_resource(
        "p1", "us-central1", "pr1", {"resourcePools": [gpu_pool(2)]}
    )
    config = tmp_path / "tuning.yaml"
    config.write_text(TUNING_CONFIG)
    command = [*track, "ai", "hp-tuning-jobs"]
    created = gcloud_json(
        env,
        *command,
        "create",
        REGION,
        f"--config={config}",
        "--display-name=tune",
        "--max-trial-count=4",
        "--parallel-trial-count=3",
        "--labels=team=vision",
    )
    assert created["state"] == "JOB_STATE_PENDING"
    assert (created["maxTrialCount"], created["parallelTrialCount"]) == (4, 3)
    assert created["labels"] == {"team": "vision"}
    job_id = created["name"].rsplit("/", 1)[1]

    clean_emulator.advance(1)  # it starts three trials; two replicas are free
    described = gcloud_json(env, *command, "describe", job_id, REGION)
    assert described["state"] == "JOB_STATE_RUNNING"
    assert [trial["state"] for trial in described["trials"]] == ["ACTIVE", "ACTIVE", "REQUESTED"]
    assert clean_emulator.persistent_resource(PR1)["resourcePools"][0]["usedReplicaCount"] == "2"

    listed = gcloud_json(env, *command, "list", REGION)
    assert [job["name"] for job in listed] == [created["name"]]

    cancelled = gcloud(env, *command, "cancel", job_id, REGION)
    assert cancelled.returncode == 0, cancelled.stderr
    assert "Request to cancel hyperparameter tuning job" in cancelled.stderr
    assert clean_emulator.tuning_job(created["name"])["state"] == "JOB_STATE_CANCELLED"
    assert "usedReplicaCount" not in clean_emulator.persistent_resource(PR1)["resourcePools"][0]


def test_gcloud_shows_why_a_tuning_job_is_refused(
    env: dict[str, str], clean_emulator: Emulator, tmp_path: Any
) -> None:
    clean_emulator.add_persistent_resource(
        "p1", "us-central1", "pr1", {"resourcePools": [gpu_pool(2)]}
    )
    config = tmp_path / "tuning.yaml"
    config.write_text(TUNING_CONFIG.replace("replicaCount: 1", "replicaCount: 3"))
    refused = gcloud(
        env, "ai", "hp-tuning-jobs", "create", REGION, f"--config={config}", "--display-name=t"
    )
    assert refused.returncode == 1
    assert "INVALID_ARGUMENT: List of found errors:" in refused.stderr
    assert "trial_job_spec.worker_pool_specs[0].replica_count" in refused.stderr
