"""The simulated world on a manual clock: lifecycles, admission, queueing, restart."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from emulator_helpers import PARENT, World, cpu_pool, gpu_pool, job_body

from prgcloud.emulator import store as store_module
from prgcloud.emulator.errors import ApiError
from prgcloud.emulator.store import Store

PR1 = f"{PARENT}/persistentResources/pr1"


def test_a_created_resource_provisions_then_runs(world: World) -> None:
    operation = world.service.create_resource(PARENT, "pr1", {"resourcePools": [gpu_pool()]})
    assert not operation.doc.get("done")
    assert world.service.get_resource(PR1)["state"] == "PROVISIONING"
    world.advance(4.9)
    assert world.service.get_resource(PR1)["state"] == "PROVISIONING"
    world.advance(0.2)
    resource = world.service.get_resource(PR1)
    assert resource["state"] == "RUNNING"
    done = world.service.get_operation(PARENT, operation.doc["name"].rsplit("/", 1)[1], PR1)
    assert done.doc["done"] is True
    assert done.doc["response"]["state"] == "RUNNING"
    assert resource["startTime"] > resource["createTime"]


def test_a_resource_gets_the_api_defaults_on_read(world: World) -> None:
    world.resource("pr1", gpu_pool(), cpu_pool(diskSpec={"bootDiskType": "pd-standard"}))
    pools = world.service.get_resource(PR1)["resourcePools"]
    assert [p["diskSpec"] for p in pools] == [
        {"bootDiskType": "pd-ssd", "bootDiskSizeGb": 100},
        {"bootDiskType": "pd-standard", "bootDiskSizeGb": 100},
    ]
    assert [p["id"] for p in pools] == ["a2-highgpu-1g-nvidia-tesla-a100-1", "n1-standard-4"]
    assert [p["usedReplicaCount"] for p in pools] == ["0", "0"]


def test_an_autoscaling_pool_starts_at_its_minimum(world: World) -> None:
    pool = {**cpu_pool(), "autoscalingSpec": {"minReplicaCount": "2", "maxReplicaCount": "5"}}
    del pool["replicaCount"]
    world.resource("pr1", pool)
    assert world.service.get_resource(PR1)["resourcePools"][0]["replicaCount"] == "2"


def test_a_deleted_resource_stops_then_is_gone(world: World) -> None:
    world.resource()
    operation = world.service.delete_resource(PR1)
    assert world.service.get_resource(PR1)["state"] == "STOPPING"
    world.advance(1.5)
    with pytest.raises(ApiError) as error:
        world.service.get_resource(PR1)
    assert error.value.status == "NOT_FOUND"
    done = world.service.get_operation(PARENT, operation.doc["name"].rsplit("/", 1)[1], None)
    assert done.doc == {**done.doc, "done": True, "response": {}}


def test_a_reboot_returns_the_resource_to_running(world: World) -> None:
    world.resource()
    world.service.reboot_resource(PR1)
    assert world.service.get_resource(PR1)["state"] == "REBOOTING"
    world.advance(5)
    assert world.service.get_resource(PR1)["state"] == "RUNNING"


def test_only_a_running_resource_can_be_rebooted(world: World) -> None:
    world.resource()
    world.service.set_resource_state(PR1, "ERROR", "disk on fire")
    with pytest.raises(ApiError, match="is ERROR") as error:
        world.service.reboot_resource(PR1)
    assert error.value.status == "FAILED_PRECONDITION"


def test_an_existing_resource_cannot_be_created_again(world: World) -> None:
    world.resource()
    with pytest.raises(ApiError) as error:
        world.service.create_resource(PARENT, "pr1", {"resourcePools": [gpu_pool()]})
    assert error.value.status == "ALREADY_EXISTS"


def test_a_job_without_a_persistent_resource_just_runs(world: World) -> None:
    job = world.job(cpu_pool(), resource=None)
    assert world.state(job) == "JOB_STATE_PENDING"
    world.advance(1)
    assert world.state(job) == "JOB_STATE_RUNNING"
    world.advance(600)
    ended = world.service.get_job(job["name"])
    assert ended["state"] == "JOB_STATE_SUCCEEDED"
    assert ended["endTime"] > ended["startTime"] > ended["createTime"]


@pytest.mark.parametrize(
    ("labels", "after", "state"),
    [
        pytest.param({"emulator-duration-seconds": "30"}, 30, "JOB_STATE_RUNNING", id="not-yet"),
        pytest.param({"emulator-duration-seconds": "30"}, 31, "JOB_STATE_SUCCEEDED", id="label"),
        pytest.param({}, 599, "JOB_STATE_RUNNING", id="default-not-yet"),
        pytest.param({"emulator-outcome": "failed"}, 601, "JOB_STATE_FAILED", id="outcome"),
    ],
)
def test_a_job_ends_after_its_simulated_duration(
    world: World, labels: dict[str, str], after: float, state: str
) -> None:
    job = world.job(cpu_pool(), resource=None, labels=labels)
    world.advance(after)
    assert world.state(job) == state


# One case per rule of docs/fit-rules.md the service applies when a job names a persistent resource.
ADMISSION = [
    pytest.param({}, [gpu_pool(1)], {}, "JOB_STATE_PENDING", id="fits-the-free-replicas"),
    pytest.param(
        {"used": 2}, [gpu_pool(1)], {}, "JOB_STATE_QUEUED", id="fits-the-ceiling-not-the-free"
    ),
    pytest.param(
        {},
        [gpu_pool(3)],
        {},
        ("INVALID_ARGUMENT", "Worker pool 0 asks for 3 replicas; resource pool"),
        id="asks-more-than-the-ceiling",
    ),
    pytest.param(
        {},
        [cpu_pool(1)],
        {},
        (
            "INVALID_ARGUMENT",
            "worker pool 0 (machine_type=n1-standard-4, boot_disk_type=pd-ssd,"
            " boot_disk_size_gb=100) match no resource pool",
        ),
        id="matches-no-pool",
    ),
    pytest.param(
        {},
        [gpu_pool(1, diskSpec={"bootDiskType": "pd-standard"})],
        {},
        ("INVALID_ARGUMENT", "boot_disk_type=pd-standard, boot_disk_size_gb=100) match no"),
        id="differs-in-disk-type",
    ),
    pytest.param(
        {"network": "projects/1/global/networks/a"},
        [gpu_pool(1)],
        {"network": "projects/1/global/networks/b"},
        ("INVALID_ARGUMENT", "projects/1/global/networks/b"),
        id="differs-in-network",
    ),
    pytest.param(
        {"encryptionSpec": {"kmsKeyName": "projects/p1/locations/l/keyRings/r/cryptoKeys/k"}},
        [gpu_pool(1)],
        {},
        ("INVALID_ARGUMENT", "projects/p1/locations/l/keyRings/r/cryptoKeys/k"),
        id="differs-in-cmek",
    ),
    pytest.param(
        {"state": "ERROR"},
        [gpu_pool(1)],
        {},
        ("FAILED_PRECONDITION", "disk on fire"),
        id="resource-in-error",
    ),
    pytest.param(
        {"state": "PROVISIONING"}, [gpu_pool(1)], {}, "JOB_STATE_QUEUED", id="resource-not-ready"
    ),
]


@pytest.mark.parametrize(("setup", "pools", "spec", "expected"), ADMISSION)
def test_a_job_on_a_persistent_resource_is_admitted_by_the_rules(
    world: World,
    setup: dict[str, Any],
    pools: list[dict[str, Any]],
    spec: dict[str, Any],
    expected: str | tuple[str, str],
) -> None:
    fields = {k: v for k, v in setup.items() if k in ("network", "encryptionSpec")}
    world.resource("pr1", gpu_pool(2), **fields)
    if "used" in setup:
        world.service.set_used_replicas(PR1, "a2-highgpu-1g-nvidia-tesla-a100-1", setup["used"])
    if "state" in setup:
        world.service.set_resource_state(PR1, setup["state"], "disk on fire")
    if isinstance(expected, str):
        assert world.job(*pools, **spec)["state"] == expected
        return
    status, words = expected
    with pytest.raises(ApiError) as error:
        world.job(*pools, **spec)
    assert error.value.status == status
    assert words in error.value.message
    assert "projects/p1/locations/us-central1/persistentResources/pr1" in error.value.message
    assert world.service.list_jobs(PARENT, "", 0, "").items == []


@pytest.mark.parametrize(
    ("pools", "spec", "field"),
    [
        pytest.param(
            [gpu_pool(1), gpu_pool(1, diskSpec={"bootDiskType": "pd-standard"})],
            {},
            "job_spec.worker_pool_specs[1]",
            id="pool",
        ),
        pytest.param(
            [gpu_pool(1), gpu_pool(2)], {}, "job_spec.worker_pool_specs", id="pools-together"
        ),
        pytest.param(
            [gpu_pool(1)], {"network": "projects/1/global/networks/a"}, "job_spec.network", id="net"
        ),
    ],
)
def test_a_refusal_is_worded_as_the_service_words_it(
    world: World, pools: list[dict[str, Any]], spec: dict[str, Any], field: str
) -> None:
    world.resource()
    with pytest.raises(ApiError) as error:
        world.job(*pools, **spec)
    assert error.value.status == "INVALID_ARGUMENT"
    assert [f for f, _ in error.value.violations] == [field]
    assert error.value.message.startswith(f"List of found errors:\t1.Field: {field}; Message: ")
    assert error.value.message.endswith(".\t")


def test_a_job_fits_any_of_several_pools_of_its_spec(world: World) -> None:
    world.resource("pr1", gpu_pool(1, id="small"), gpu_pool(2, id="big"))
    job = world.job(gpu_pool(2), {}, gpu_pool(1))
    assert world.state(job) == "JOB_STATE_PENDING"
    assert world.used() == [1, 2]
    assert world.state(world.job(gpu_pool(1))) == "JOB_STATE_QUEUED"


def test_a_job_waiting_for_a_resource_to_provision_starts_when_it_runs(world: World) -> None:
    world.service.create_resource(PARENT, "pr1", {"resourcePools": [gpu_pool()]})
    job = world.job(gpu_pool(1))
    assert world.state(job) == "JOB_STATE_QUEUED"
    world.advance(5)
    assert world.state(job) == "JOB_STATE_PENDING"
    assert world.used() == [1]


def test_used_replicas_are_what_running_jobs_hold(world: World) -> None:
    world.resource("pr1", gpu_pool(4), cpu_pool(3))
    world.job(gpu_pool(1), {}, cpu_pool(2))
    world.job(gpu_pool(2))
    assert world.used() == [3, 2]
    world.advance(1)  # PENDING -> RUNNING still holds
    assert world.used() == [3, 2]
    world.advance(600)
    assert world.used() == [0, 0]


def test_queued_jobs_start_first_in_first_out_as_replicas_free(world: World) -> None:
    world.resource("pr1", gpu_pool(3))
    first = world.job(gpu_pool(2))
    second = world.job(gpu_pool(2))
    third = world.job(gpu_pool(1))  # one replica is free, but it queues behind `second`
    assert [world.state(j) for j in (first, second, third)] == [
        "JOB_STATE_PENDING",
        "JOB_STATE_QUEUED",
        "JOB_STATE_QUEUED",
    ]
    world.service.cancel_job(first["name"])
    assert [world.state(j) for j in (first, second, third)] == [
        "JOB_STATE_CANCELLED",
        "JOB_STATE_PENDING",
        "JOB_STATE_PENDING",
    ]
    assert world.used() == [3]


def test_a_queued_job_starts_the_moment_the_job_before_it_ends(world: World) -> None:
    world.resource("pr1", gpu_pool(1))
    first = world.job(gpu_pool(1), labels={"emulator-duration-seconds": "10"})
    second = world.job(gpu_pool(1), labels={"emulator-duration-seconds": "10"})
    world.advance(1000)  # nobody asked in between: both ran, one after the other
    first_done, second_done = (world.service.get_job(j["name"]) for j in (first, second))
    assert first_done["state"] == second_done["state"] == "JOB_STATE_SUCCEEDED"
    assert second_done["updateTime"] == second_done["endTime"]
    assert first_done["endTime"] < second_done["startTime"] < second_done["endTime"]
    assert world.used() == [0]


def test_a_cancelled_job_releases_its_replicas(world: World) -> None:
    world.resource("pr1", gpu_pool(2))
    job = world.job(gpu_pool(2))
    world.service.cancel_job(job["name"])
    cancelled = world.service.get_job(job["name"])
    assert cancelled["state"] == "JOB_STATE_CANCELLED"
    assert cancelled["error"] == {"code": 1, "message": "CANCELED"}
    assert world.used() == [0]


def test_an_ended_job_cannot_be_cancelled(world: World) -> None:
    job = world.job(cpu_pool(), resource=None)
    world.service.cancel_job(job["name"])
    with pytest.raises(ApiError, match="terminal state JOB_STATE_CANCELLED") as error:
        world.service.cancel_job(job["name"])
    assert error.value.status == "FAILED_PRECONDITION"


def test_only_an_ended_job_can_be_deleted(world: World) -> None:
    job = world.job(cpu_pool(), resource=None)
    with pytest.raises(ApiError, match="cancel it before deleting it"):
        world.service.delete_job(job["name"])
    world.service.cancel_job(job["name"])
    assert world.service.delete_job(job["name"]).doc["done"] is True
    with pytest.raises(ApiError, match="is not found"):
        world.service.get_job(job["name"])


def test_deleting_a_resource_fails_its_jobs(world: World) -> None:
    world.resource("pr1", gpu_pool(1))
    running, queued = world.job(gpu_pool(1)), world.job(gpu_pool(1))
    world.service.delete_resource(PR1)
    for job in (running, queued):
        assert world.service.get_job(job["name"])["error"]["code"] == 9
        assert world.state(job) == "JOB_STATE_FAILED"
    assert world.service.get_resource(PR1)["state"] == "STOPPING"
    assert world.used() == [0]


def test_a_pool_used_by_jobs_outside_the_emulator_leaves_less_room(world: World) -> None:
    world.resource("pr1", gpu_pool(2))
    world.service.set_used_replicas(PR1, "a2-highgpu-1g-nvidia-tesla-a100-1", 1)
    first, second = world.job(gpu_pool(1)), world.job(gpu_pool(1))
    assert [world.state(first), world.state(second)] == ["JOB_STATE_PENDING", "JOB_STATE_QUEUED"]
    world.service.set_used_replicas(PR1, "a2-highgpu-1g-nvidia-tesla-a100-1", 1)  # only ours
    assert world.state(second) == "JOB_STATE_PENDING"
    with pytest.raises(ValueError, match="already hold 2"):
        world.service.set_used_replicas(PR1, "a2-highgpu-1g-nvidia-tesla-a100-1", 0)


def test_jobs_and_operations_have_numeric_ids(world: World) -> None:
    operation = world.service.create_resource(PARENT, "pr1", {"resourcePools": [gpu_pool()]})
    job = world.job(cpu_pool(), resource=None)
    for name in (operation.doc["name"], job["name"]):
        assert name.rsplit("/", 1)[1].isdigit()
        assert len(name.rsplit("/", 1)[1]) == 19


def test_lists_come_in_pages(world: World) -> None:
    jobs = [world.job(cpu_pool(), resource=None)["name"] for _ in range(5)]
    seen: list[str] = []
    token = ""
    while True:
        page = world.service.list_jobs(PARENT, "", 2, token)
        assert len(page.items) <= 2
        seen += [item["name"] for item in page.items]
        token = page.next_page_token
        if not token:
            break
    assert seen == jobs


def test_a_page_token_belongs_to_its_filter(world: World) -> None:
    for _ in range(3):
        world.job(cpu_pool(), resource=None)
    token = world.service.list_jobs(PARENT, "", 1, "").next_page_token
    with pytest.raises(ApiError, match="another filter"):
        world.service.list_jobs(PARENT, 'state="JOB_STATE_PENDING"', 1, token)
    with pytest.raises(ApiError, match="Invalid page_token"):
        world.service.list_jobs(PARENT, "", 1, "garbage")


def test_a_restart_keeps_everything_acknowledged(data_dir: str) -> None:
    store = Store(Path(data_dir))
    before = World(store)
    before.resource("pr1", gpu_pool(1))
    running = before.job(gpu_pool(1), labels={"emulator-duration-seconds": "60"})
    queued = before.job(gpu_pool(1))
    store.close()

    store = Store(Path(data_dir))
    after = World(store, clock=before.clock)  # the same time line, continued
    assert after.state(running) == "JOB_STATE_PENDING"
    assert after.state(queued) == "JOB_STATE_QUEUED"
    after.advance(61.5)  # the first job ends at 61; the queued one takes its replica
    assert after.state(running) == "JOB_STATE_SUCCEEDED"
    assert after.state(queued) == "JOB_STATE_PENDING"
    assert after.used() == [1]
    store.close()


@pytest.mark.parametrize(
    ("body", "words"),
    [
        pytest.param({"resourcePools": []}, "at least one resource pool", id="no-pools"),
        pytest.param(
            {"resourcePools": [{"replicaCount": "1"}]},
            "machine_spec.machine_type is required",
            id="no-machine",
        ),
        pytest.param(
            {"resourcePools": [{"machineSpec": {"machineType": "n1-standard-4"}}]},
            "replica_count must be at least 1",
            id="no-replicas",
        ),
        pytest.param(
            {
                "resourcePools": [
                    {
                        "machineSpec": {"machineType": "n1-standard-4"},
                        "autoscalingSpec": {"minReplicaCount": "3", "maxReplicaCount": "2"},
                    }
                ]
            },
            "1 <= min_replica_count <= max_replica_count",
            id="bad-autoscaling",
        ),
        pytest.param(
            {"resourcePools": [cpu_pool()], "labels": {"Bad": "x"}},
            'Invalid label key "Bad"',
            id="bad-label",
        ),
    ],
)
def test_a_bad_resource_is_refused(world: World, body: dict[str, Any], words: str) -> None:
    with pytest.raises(ApiError, match=words) as error:
        world.service.create_resource(PARENT, "pr1", body)
    assert error.value.status == "INVALID_ARGUMENT"


@pytest.mark.parametrize(
    ("body", "words"),
    [
        pytest.param(
            {**job_body(cpu_pool()), "displayName": ""}, "display_name is required", id="no-name"
        ),
        pytest.param(
            job_body({}, cpu_pool()), "first worker pool must not be empty", id="empty-first-pool"
        ),
        pytest.param(
            job_body(cpu_pool(), labels={"emulator-duration-seconds": "soon"}),
            "whole number of seconds",
            id="bad-duration",
        ),
        pytest.param(
            {"displayName": "x", "jobSpec": {"workerPoolSpecs": [cpu_pool()]}},
            "exactly one of container_spec and python_package_spec",
            id="no-task",
        ),
    ],
)
def test_a_bad_job_is_refused(world: World, body: dict[str, Any], words: str) -> None:
    with pytest.raises(ApiError, match=words) as error:
        world.service.create_job(PARENT, body)
    assert error.value.status == "INVALID_ARGUMENT"


BAD_MACHINES = [
    pytest.param({"machineType": "totally-bogus-99"}, {}, "Machine type", id="bogus-machine"),
    pytest.param({"machineType": "n1-custom-4-16384"}, {}, "Machine type", id="custom-machine"),
    pytest.param({"machineType": "n1"}, {}, "Machine type", id="family-only"),
    pytest.param(
        {"machineType": "n1-standard-4"}, {"bootDiskType": "pd-balanced"}, "Boot disk", id="disk"
    ),
]


@pytest.mark.parametrize(("machine", "disk", "words"), BAD_MACHINES)
def test_a_resource_pool_the_service_does_not_offer_is_refused(
    world: World, machine: dict[str, Any], disk: dict[str, Any], words: str
) -> None:
    pool = {"machineSpec": machine, "diskSpec": disk, "replicaCount": "1"}
    with pytest.raises(ApiError, match=words) as error:
        world.service.create_resource(PARENT, "pr1", {"resourcePools": [cpu_pool(), pool]})
    assert error.value.status == "INVALID_ARGUMENT"
    assert error.value.violations[0][0].startswith("resource_pools[1].")
    assert world.service.list_resources(PARENT, 0, "").items == []


@pytest.mark.parametrize(("machine", "disk", "words"), BAD_MACHINES)
def test_a_worker_pool_the_service_does_not_offer_is_refused(
    world: World, machine: dict[str, Any], disk: dict[str, Any], words: str
) -> None:
    pool = {"machineSpec": machine, "diskSpec": disk, "replicaCount": "1"}
    with pytest.raises(ApiError, match=words) as error:
        world.job(pool, resource=None)
    assert error.value.status == "INVALID_ARGUMENT"
    assert error.value.violations[0][0].startswith("job_spec.worker_pool_specs[0].")


def test_a_job_on_a_missing_resource_is_not_found(world: World) -> None:
    with pytest.raises(ApiError, match="persistentResources/nope is not found") as error:
        world.job(cpu_pool(), resource="nope")
    assert error.value.status == "NOT_FOUND"


def test_reading_a_resource_reads_none_of_its_jobs(world: World) -> None:
    world.resource("pr1", gpu_pool(100))
    for _ in range(20):
        world.job(gpu_pool(1))
    world.advance(1)
    statements: list[str] = []
    world.store._db.set_trace_callback(statements.append)
    assert world.used() == [20]
    world.store._db.set_trace_callback(None)
    assert statements
    assert not [s for s in statements if "'job'" in s], statements


def test_a_page_of_jobs_decodes_about_a_page_of_rows(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    for _ in range(600):
        world.job(cpu_pool(), resource=None)
    decoded = 0
    decode = json.loads

    def counting(text: Any, **options: Any) -> Any:
        nonlocal decoded
        decoded += 1
        return decode(text, **options)

    monkeypatch.setattr(store_module.json, "loads", counting)
    page = world.service.list_jobs(PARENT, "", 2, "")
    assert len(page.items) == 2
    assert decoded <= 300


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        pytest.param(
            {}, "The replica workerpool0-0 exited with a non-zero status of 1.", id="default"
        ),
        pytest.param({"emulator-error-message": "oom-killed"}, "oom-killed", id="label"),
    ],
)
def test_a_job_made_to_fail_says_why(world: World, labels: dict[str, str], message: str) -> None:
    job = world.job(
        cpu_pool(),
        resource=None,
        labels={"emulator-outcome": "failed", "emulator-duration-seconds": "5", **labels},
    )
    world.advance(10)
    failed = world.service.get_job(job["name"])
    assert failed["state"] == "JOB_STATE_FAILED"
    assert failed["error"] == {"code": 13, "message": message}


def test_state_from_an_emulator_that_kept_no_count_is_counted_once(world: World) -> None:
    world.resource("pr1", gpu_pool(3))
    world.job(gpu_pool(2))
    stored = world.store.get(PR1)
    assert stored is not None
    del stored.sys["held"]  # as an older emulator wrote it
    world.store.update(stored)
    assert world.used() == [2]
    assert world.state(world.job(gpu_pool(1))) == "JOB_STATE_PENDING"
    assert world.used() == [3]
