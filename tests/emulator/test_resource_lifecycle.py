"""A persistent resource's lifecycle in the emulator, steered by labels: PROVISIONING or
REBOOTING ends RUNNING, or ERROR with an error message on demand; delete is STOPPING, then
gone. On a manual clock."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from emulator_helpers import PARENT, World, cpu_pool, gpu_pool

from prgcloud.emulator.errors import ApiError
from prgcloud.emulator.model import DEFAULT_RESOURCE_FAILURE

PR1 = f"{PARENT}/persistentResources/pr1"


def operation_of(world: World, name: str) -> dict[str, Any]:
    operation_id = name.rsplit("/", 1)[1]
    return dict(world.service.get_operation(PARENT, operation_id, None).doc)


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        pytest.param(
            {"emulator-outcome": "error", "emulator-error-message": "stockout-a100"},
            "stockout-a100",
            id="with-its-message",
        ),
        pytest.param({"emulator-outcome": "error"}, DEFAULT_RESOURCE_FAILURE, id="default"),
    ],
)
def test_a_resource_labelled_to_fail_ends_in_error_with_its_message(
    world: World, labels: dict[str, str], message: str
) -> None:
    operation = world.service.create_resource(
        PARENT, "pr1", {"resourcePools": [gpu_pool()], "labels": labels}
    )
    assert world.service.get_resource(PR1)["state"] == "PROVISIONING"
    world.advance(5.1)
    resource = world.service.get_resource(PR1)
    assert resource["state"] == "ERROR"
    assert resource["error"] == {"code": 13, "message": message}
    done = operation_of(world, operation.doc["name"])
    assert done["done"] is True
    assert done["error"] == {"code": 13, "message": message}
    assert "response" not in done


def test_a_resource_labelled_to_run_runs(world: World) -> None:
    world.service.create_resource(
        PARENT, "pr1", {"resourcePools": [gpu_pool()], "labels": {"emulator-outcome": "running"}}
    )
    world.advance(5.1)
    assert "error" not in world.service.get_resource(PR1)
    assert world.service.get_resource(PR1)["state"] == "RUNNING"


def test_an_unknown_outcome_is_refused_when_created(world: World) -> None:
    with pytest.raises(ApiError, match=r"must be one of \['error', 'running'\]") as error:
        world.service.create_resource(
            PARENT, "pr1", {"resourcePools": [gpu_pool()], "labels": {"emulator-outcome": "x"}}
        )
    assert error.value.status == "INVALID_ARGUMENT"


def test_a_running_resource_labelled_to_fail_fails_its_reboot_and_its_jobs(world: World) -> None:
    world.resource("pr1", cpu_pool(1), labels={"emulator-outcome": "error"})
    running, queued = world.job(cpu_pool(1)), world.job(cpu_pool(1))
    operation = world.service.reboot_resource(PR1)
    assert world.service.get_resource(PR1)["state"] == "REBOOTING"
    world.advance(5.1)
    assert world.service.get_resource(PR1)["state"] == "ERROR"
    assert operation_of(world, operation.doc["name"])["error"]["code"] == 13
    for job in (running, queued):
        assert world.state(job) == "JOB_STATE_FAILED"
        assert "went to ERROR" in world.service.get_job(job["name"])["error"]["message"]
    assert world.used() == [0]


def test_a_rebooted_resource_is_running_again(world: World) -> None:
    world.resource()
    operation = world.service.reboot_resource(PR1)
    world.advance(5.1)
    assert world.service.get_resource(PR1)["state"] == "RUNNING"
    assert operation_of(world, operation.doc["name"])["response"]["state"] == "RUNNING"


def test_a_resource_in_error_can_be_deleted(world: World) -> None:
    world.service.create_resource(
        PARENT, "pr1", {"resourcePools": [gpu_pool()], "labels": {"emulator-outcome": "error"}}
    )
    world.advance(5.1)
    world.service.delete_resource(PR1)
    assert world.service.get_resource(PR1)["state"] == "STOPPING"
    world.advance(1.1)
    with pytest.raises(ApiError) as error:
        world.service.get_resource(PR1)
    assert error.value.status == "NOT_FOUND"


def test_a_reboot_may_show_running_for_a_while_before_rebooting(world: World) -> None:
    world.service.settings = replace(world.service.settings, reboot_lag_seconds=3)
    world.resource()
    operation = world.service.reboot_resource(PR1)
    assert world.service.get_resource(PR1)["state"] == "RUNNING"
    assert not operation_of(world, operation.doc["name"]).get("done")
    world.advance(3)
    assert world.service.get_resource(PR1)["state"] == "REBOOTING"
    world.advance(5.1)
    assert world.service.get_resource(PR1)["state"] == "RUNNING"
    assert operation_of(world, operation.doc["name"])["done"]
