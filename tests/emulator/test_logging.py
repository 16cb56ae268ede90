"""The emulator's Cloud Logging `entries:list`: a job's log lines while it runs, filtered
and ordered as gcloud's stream-logs asks for them (on a manual clock)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from emulator_helpers import World

from prgcloud.emulator.api import Api
from prgcloud.emulator.clock import rfc3339

LABELS = {"emulator-duration-seconds": "10"}
ON_DEMAND = {"machineSpec": {"machineType": "n1-standard-4"}, "replicaCount": "1"}


def entries_list(world: World, filter_text: str, **extra: Any) -> tuple[int, dict[str, Any]]:
    body = {"resourceNames": ["projects/p1"], "filter": filter_text, **extra}
    response = Api(world.service).handle(
        "POST", "/v2/entries:list", {"Authorization": "Bearer t"}, json.dumps(body).encode()
    )
    return response.status, dict(response.body)


def messages(answer: dict[str, Any]) -> list[str]:
    return [entry["jsonPayload"]["message"] for entry in answer.get("entries", [])]


def job_filter(job: dict[str, Any], *more: str) -> str:
    job_id = job["name"].rsplit("/", 1)[-1]
    return " AND ".join(['resource.type="ml_job"', f'resource.labels.job_id="{job_id}"', *more])


def test_a_running_job_has_written_a_line_a_second_so_far(world: World) -> None:
    job = world.job(ON_DEMAND, resource=None, labels=LABELS)
    world.advance(1)  # PENDING -> RUNNING
    world.advance(3.5)
    status, answer = entries_list(world, job_filter(job))
    assert status == 200
    assert messages(answer) == [
        "Starting replica workerpool0-0.",
        "step 1: training.",
        "step 2: training.",
        "step 3: training.",
    ]
    assert {e["resource"]["labels"]["task_name"] for e in answer["entries"]} == {"workerpool0-0"}


def test_a_failed_job_s_last_line_is_its_error(world: World) -> None:
    labels = {**LABELS, "emulator-outcome": "failed", "emulator-error-message": "oom-killed"}
    job = world.job(ON_DEMAND, resource=None, labels=labels)
    world.advance(1)
    world.advance(20)
    _, answer = entries_list(world, job_filter(job))
    assert messages(answer)[-1] == "oom-killed"
    assert answer["entries"][-1]["severity"] == "ERROR"
    assert len(answer["entries"]) == 11  # start, 9 steps, the end


def test_a_job_that_never_started_has_no_lines(world: World) -> None:
    job = world.job(ON_DEMAND, resource=None, labels=LABELS)
    assert entries_list(world, job_filter(job)) == (200, {})


def test_gcloud_s_bounds_on_time_and_insert_id_pick_the_lines_after_the_last_seen(
    world: World,
) -> None:
    job = world.job(ON_DEMAND, resource=None, labels=LABELS)
    world.advance(1)
    world.advance(20)
    _, everything = entries_list(world, job_filter(job))
    third = everything["entries"][2]
    after = (
        f'((timestamp="{third["timestamp"]}" AND insertId>"{third["insertId"]}")'
        f' OR timestamp>"{third["timestamp"]}")'
    )
    upper = f'timestamp<"{everything["entries"][6]["timestamp"]}"'
    _, answer = entries_list(world, job_filter(job, after, upper))
    assert messages(answer) == [f"step {n}: training." for n in (3, 4, 5)]


def test_newest_first_and_pages(world: World) -> None:
    job = world.job(ON_DEMAND, resource=None, labels=LABELS)
    world.advance(1)
    world.advance(20)
    _, first = entries_list(world, job_filter(job), orderBy="timestamp desc", pageSize=2)
    assert messages(first) == ["Training finished: the job succeeded.", "step 9: training."]
    _, second = entries_list(
        world,
        job_filter(job),
        orderBy="timestamp desc",
        pageSize=2,
        pageToken=first["nextPageToken"],
    )
    assert messages(second) == ["step 8: training.", "step 7: training."]


@pytest.mark.parametrize(
    "filter_text",
    [
        pytest.param('resource.type="ml_job"', id="no-job"),
        pytest.param('resource.labels.job_id="1" AND severity>=ERROR', id="unknown-field"),
        pytest.param('resource.labels.job_id="1" AND timestamp>"yesterday"', id="bad-time"),
    ],
)
def test_a_filter_the_emulator_cannot_answer_is_400(world: World, filter_text: str) -> None:
    status, answer = entries_list(world, filter_text)
    assert status == 400
    assert answer["error"]["status"] == "INVALID_ARGUMENT"


def test_entries_need_a_token(world: World) -> None:
    response = Api(world.service).handle("POST", "/v2/entries:list", {}, b"{}")
    assert response.status == 401


def test_timestamps_are_rfc3339_as_gcloud_compares_them(world: World) -> None:
    job = world.job(ON_DEMAND, resource=None, labels=LABELS)
    world.advance(1)
    world.advance(2)
    _, answer = entries_list(world, job_filter(job))
    assert answer["entries"][0]["timestamp"] == rfc3339(world.clock.now() - 2)
