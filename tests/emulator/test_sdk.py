"""The real Vertex AI SDK (google-cloud-aiplatform, REST transport) against the emulator."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from emulator_helpers import PARENT, cpu_pool, gpu_pool, job_body, tuning_body

from prgcloud.emulator import Emulator

exceptions = pytest.importorskip("google.api_core.exceptions")
aiplatform_v1 = pytest.importorskip("google.cloud.aiplatform_v1")
aiplatform_v1beta1 = pytest.importorskip("google.cloud.aiplatform_v1beta1")
credentials = pytest.importorskip("google.oauth2.credentials")
types = aiplatform_v1.types

PR1 = f"{PARENT}/persistentResources/pr1"


def _client(module: Any, service: str, emulator: Emulator) -> Any:
    return getattr(module, service)(
        transport="rest",
        client_options={"api_endpoint": emulator.url.rstrip("/")},
        credentials=credentials.Credentials(token="ya29.sdk-test"),
    )


@pytest.fixture
def resources(clean_emulator: Emulator) -> Iterator[Any]:
    client = _client(aiplatform_v1, "PersistentResourceServiceClient", clean_emulator)
    yield client
    client.transport.close()


@pytest.fixture
def jobs(clean_emulator: Emulator) -> Iterator[Any]:
    client = _client(aiplatform_v1, "JobServiceClient", clean_emulator)
    yield client
    client.transport.close()


def _a100_pool(replicas: int) -> Any:
    return types.ResourcePool(
        machine_spec=types.MachineSpec(
            machine_type="a2-highgpu-1g", accelerator_type="NVIDIA_TESLA_A100", accelerator_count=1
        ),
        replica_count=replicas,
    )


def test_the_sdk_creates_a_resource_and_polls_the_operation(
    resources: Any, clean_emulator: Emulator
) -> None:
    clean_emulator.configure(provision_seconds=60)
    operation = resources.create_persistent_resource(
        parent=PARENT,
        persistent_resource=types.PersistentResource(resource_pools=[_a100_pool(2)]),
        persistent_resource_id="pr1",
    )
    assert operation.operation.name.startswith(f"{PR1}/operations/")
    assert not operation.done()
    clean_emulator.advance(60)
    assert operation.done()
    created = operation.result(timeout=5)
    assert created.state == types.PersistentResource.State.RUNNING
    assert created.resource_pools[0].disk_spec.boot_disk_type == "pd-ssd"
    assert created.resource_pools[0].id == "a2-highgpu-1g-nvidia-tesla-a100-1"


def test_the_sdk_gets_lists_reboots_and_deletes_resources(
    resources: Any, clean_emulator: Emulator
) -> None:
    clean_emulator.configure(provision_seconds=0, stop_seconds=0)
    for name in ("pr1", "pr2", "pr3"):
        clean_emulator.add_persistent_resource(
            "p1", "us-central1", name, {"resourcePools": [cpu_pool()]}
        )
    clean_emulator.set_used_replicas(PR1, "n1-standard-4", 1)

    got = resources.get_persistent_resource(name=PR1)
    assert got.resource_pools[0].used_replica_count == 1
    listed = resources.list_persistent_resources(
        request=types.ListPersistentResourcesRequest(parent=PARENT, page_size=2)
    )
    assert [r.name.rsplit("/", 1)[1] for r in listed] == ["pr1", "pr2", "pr3"]

    rebooted = resources.reboot_persistent_resource(name=PR1).result(timeout=5)
    assert rebooted.state == types.PersistentResource.State.RUNNING
    resources.delete_persistent_resource(name=PR1).result(timeout=5)
    with pytest.raises(exceptions.NotFound):
        resources.get_persistent_resource(name=PR1)


def test_the_v1beta1_sdk_gets_its_own_types(clean_emulator: Emulator) -> None:
    clean_emulator.configure(provision_seconds=0)
    client = _client(aiplatform_v1beta1, "PersistentResourceServiceClient", clean_emulator)
    try:
        operation = client.create_persistent_resource(
            parent=PARENT,
            persistent_resource=aiplatform_v1beta1.types.PersistentResource(
                resource_pools=[
                    aiplatform_v1beta1.types.ResourcePool(
                        machine_spec=aiplatform_v1beta1.types.MachineSpec(
                            machine_type="n1-standard-4"
                        ),
                        replica_count=1,
                    )
                ]
            ),
            persistent_resource_id="pr1",
        )
        assert operation.result(timeout=5).name == PR1
    finally:
        client.transport.close()


def test_the_sdk_runs_lists_cancels_and_deletes_jobs(jobs: Any, clean_emulator: Emulator) -> None:
    clean_emulator.freeze()  # a loaded machine must not see PENDING jobs start on their own
    clean_emulator.add_persistent_resource(
        "p1", "us-central1", "pr1", {"resourcePools": [gpu_pool(1)]}
    )
    body = job_body(gpu_pool(1))
    made = [
        jobs.create_custom_job(
            parent=PARENT, custom_job=types.CustomJob.from_json(json.dumps(body))
        )
        for _ in range(3)
    ]
    assert [job.state.name for job in made] == [
        "JOB_STATE_PENDING",
        "JOB_STATE_QUEUED",
        "JOB_STATE_QUEUED",
    ]
    assert jobs.get_custom_job(name=made[0].name).job_spec.persistent_resource_id == "pr1"

    queued = jobs.list_custom_jobs(
        request=types.ListCustomJobsRequest(
            parent=PARENT, filter='state="JOB_STATE_QUEUED"', page_size=1
        )
    )
    assert [job.name for job in queued] == [made[1].name, made[2].name]

    jobs.cancel_custom_job(name=made[0].name)
    assert jobs.get_custom_job(name=made[0].name).state.name == "JOB_STATE_CANCELLED"
    assert jobs.get_custom_job(name=made[1].name).state.name == "JOB_STATE_PENDING"
    jobs.delete_custom_job(name=made[0].name).result(timeout=5)
    with pytest.raises(exceptions.NotFound):
        jobs.get_custom_job(name=made[0].name)


def test_the_sdk_sees_refusals_and_denials_as_its_exceptions(
    jobs: Any, resources: Any, clean_emulator: Emulator
) -> None:
    clean_emulator.add_persistent_resource(
        "p1", "us-central1", "pr1", {"resourcePools": [gpu_pool(1)]}
    )
    with pytest.raises(exceptions.BadRequest, match="Worker pool 0 asks for 2 replicas"):
        jobs.create_custom_job(
            parent=PARENT,
            custom_job=types.CustomJob.from_json(json.dumps(job_body(gpu_pool(2)))),
        )
    clean_emulator.deny(PR1)
    with pytest.raises(exceptions.Forbidden, match=r"aiplatform\.persistentResources\.get"):
        resources.get_persistent_resource(name=PR1)


@pytest.mark.parametrize(
    "module", [pytest.param(aiplatform_v1, id="v1"), pytest.param(aiplatform_v1beta1, id="v1beta1")]
)
def test_the_sdk_runs_lists_cancels_and_deletes_tuning_jobs(
    clean_emulator: Emulator, module: Any
) -> None:
    clean_emulator.add_persistent_resource(
        "p1", "us-central1", "pr1", {"resourcePools": [gpu_pool(1)]}
    )
    client = _client(module, "JobServiceClient", clean_emulator)
    try:
        body = tuning_body(gpu_pool(1), parallel=2, trials=3)
        made = client.create_hyperparameter_tuning_job(
            parent=PARENT,
            hyperparameter_tuning_job=module.types.HyperparameterTuningJob.from_json(
                json.dumps(body)
            ),
        )
        assert made.state.name == "JOB_STATE_PENDING"
        assert made.trial_job_spec.persistent_resource_id == "pr1"

        clean_emulator.advance(1)
        got = client.get_hyperparameter_tuning_job(name=made.name)
        assert [trial.state.name for trial in got.trials] == ["ACTIVE", "REQUESTED"]
        assert got.trials[0].parameters[0].value == 0.001
        listed = client.list_hyperparameter_tuning_jobs(
            request=module.types.ListHyperparameterTuningJobsRequest(
                parent=PARENT, filter='state="JOB_STATE_RUNNING"'
            )
        )
        assert [job.name for job in listed] == [made.name]

        client.cancel_hyperparameter_tuning_job(name=made.name)
        cancelled = client.get_hyperparameter_tuning_job(name=made.name)
        assert cancelled.state.name == "JOB_STATE_CANCELLED"
        client.delete_hyperparameter_tuning_job(name=made.name).result(timeout=5)
        with pytest.raises(exceptions.NotFound):
            client.get_hyperparameter_tuning_job(name=made.name)
    finally:
        client.transport.close()
