"""Hyperparameter tuning jobs in the simulated world, on a manual clock: trials run as custom
jobs on the persistent resource, no more at once than `parallelTrialCount` or the free replicas
allow, and the job ends after `maxTrialCount` trials."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest
from emulator_helpers import PARENT, World, cpu_pool, gpu_pool, tuning_body

from prgcloud.emulator.errors import ApiError
from prgcloud.emulator.store import Store

PR1 = f"{PARENT}/persistentResources/pr1"
A100 = "a2-highgpu-1g-nvidia-tesla-a100-1"
# a trial's custom job: PENDING for 1 s, then RUNNING for the label's 100 s
SHORT = {"emulator-duration-seconds": "100"}


def test_a_tuning_job_runs_its_trials_then_succeeds(world: World) -> None:
    world.resource("pr1", gpu_pool(4))
    tuning = world.tuning(gpu_pool(1), parallel=2, trials=3, labels=SHORT)
    created = world.service.get_tuning_job(tuning)
    assert created["state"] == "JOB_STATE_PENDING"
    assert "trials" not in created

    world.advance(1)  # the tuning job's pending delay: it starts its first two trials
    assert world.service.get_tuning_job(tuning)["state"] == "JOB_STATE_RUNNING"
    assert world.trials(tuning) == ["ACTIVE", "ACTIVE"]
    assert world.used() == [2]

    world.advance(101)  # both trial jobs end; the third trial starts at once
    assert world.trials(tuning) == ["SUCCEEDED", "SUCCEEDED", "ACTIVE"]
    assert world.used() == [1]

    world.advance(101)
    done = world.service.get_tuning_job(tuning)
    assert done["state"] == "JOB_STATE_SUCCEEDED"
    assert [t["state"] for t in done["trials"]] == ["SUCCEEDED"] * 3
    assert done["endTime"] > done["startTime"] > done["createTime"]
    assert world.used() == [0]


def test_a_trial_shows_its_parameters_its_result_and_its_custom_job(world: World) -> None:
    world.resource("pr1", gpu_pool(4))
    tuning = world.tuning(gpu_pool(1), parallel=3, trials=3, labels=SHORT)
    world.advance(1000)
    trials = world.service.get_tuning_job(tuning)["trials"]
    assert [t["id"] for t in trials] == ["1", "2", "3"]
    # an even grid over each range, so that a test can predict it
    assert [[p["value"] for p in t["parameters"]] for t in trials] == [
        [0.001, 2.0],
        [0.0505, 4.0],
        [0.1, 6.0],
    ]
    assert trials[0]["finalMeasurement"] == {
        "stepCount": "1",
        "metrics": [{"metricId": "accuracy", "value": 0.5}],
    }
    job = world.service.get_job(trials[0]["customJob"])
    assert job["state"] == "JOB_STATE_SUCCEEDED"
    assert job["displayName"] == "tune-trial-1"
    assert job["jobSpec"]["persistentResourceId"] == "pr1"
    assert trials[0]["startTime"] == job["createTime"]
    assert trials[0]["endTime"] == job["endTime"]


def test_parallel_trials_beyond_the_free_replicas_wait_for_them(world: World) -> None:
    world.resource("pr1", gpu_pool(3))
    world.service.set_used_replicas(PR1, A100, 1)  # another team's job holds one
    tuning = world.tuning(gpu_pool(1), parallel=3, trials=3, labels=SHORT)
    world.advance(1)
    assert world.trials(tuning) == ["ACTIVE", "ACTIVE", "REQUESTED"]
    assert world.used() == [3]
    world.advance(101)  # a replica comes free: the waiting trial takes it
    assert world.trials(tuning) == ["SUCCEEDED", "SUCCEEDED", "ACTIVE"]
    assert world.used() == [2]


def test_never_more_trials_run_at_once_than_parallel_or_the_replicas_allow(world: World) -> None:
    world.resource("pr1", gpu_pool(5))
    world.service.set_used_replicas(PR1, A100, 3)  # two replicas free for trials of one each
    tuning = world.tuning(gpu_pool(1), parallel=3, trials=7, labels=SHORT)
    running_at_once: set[int] = set()
    while world.service.get_tuning_job(tuning)["state"] != "JOB_STATE_SUCCEEDED":
        world.advance(10)
        states = world.trials(tuning)
        running_at_once.add(states.count("ACTIVE"))
        assert states.count("ACTIVE") + states.count("REQUESTED") <= 3
        assert world.used() == [3 + states.count("ACTIVE")]
    assert max(running_at_once) == 2
    assert world.trials(tuning) == ["SUCCEEDED"] * 7


def test_trials_run_one_after_another_when_nobody_asks_in_between(world: World) -> None:
    world.resource("pr1", gpu_pool(1))
    tuning = world.tuning(gpu_pool(1), parallel=2, trials=3, labels=SHORT)
    world.advance(10_000)
    done = world.service.get_tuning_job(tuning)
    assert done["state"] == "JOB_STATE_SUCCEEDED"
    jobs = [world.service.get_job(trial["customJob"]) for trial in done["trials"]]
    for earlier, later in itertools.pairwise(jobs):
        assert earlier["endTime"] <= later["startTime"]  # one replica: never two at once
    assert done["endTime"] == jobs[-1]["endTime"]


def test_a_trial_made_to_fail_is_infeasible_and_the_job_goes_on(world: World) -> None:
    world.resource("pr1", gpu_pool(2))
    labels = {**SHORT, "emulator-failed-trials": "2"}
    tuning = world.tuning(gpu_pool(1), parallel=1, trials=3, labels=labels)
    world.advance(1000)
    done = world.service.get_tuning_job(tuning)
    assert done["state"] == "JOB_STATE_SUCCEEDED"
    assert [t["state"] for t in done["trials"]] == ["SUCCEEDED", "INFEASIBLE", "SUCCEEDED"]
    failed = done["trials"][1]
    assert failed["infeasibleReason"] == (
        "The replica workerpool0-0 exited with a non-zero status of 1."
    )
    assert "finalMeasurement" not in failed
    assert world.service.get_job(failed["customJob"])["labels"] == {
        **SHORT,
        "emulator-outcome": "failed",
    }


def test_a_job_fails_once_max_failed_trial_count_trials_have(world: World) -> None:
    world.resource("pr1", gpu_pool(1))
    labels = {**SHORT, "emulator-failed-trials": "1"}
    tuning = world.tuning(gpu_pool(1), parallel=2, trials=5, labels=labels, maxFailedTrialCount=1)
    world.advance(1)
    waiting = world.service.get_tuning_job(tuning)["trials"][1]
    assert waiting["state"] == "REQUESTED"
    world.advance(101)  # trial 1 fails: the job fails, and the waiting trial never runs
    done = world.service.get_tuning_job(tuning)
    assert done["state"] == "JOB_STATE_FAILED"
    assert done["error"]["message"] == "1 failed trial reached max_failed_trial_count (1)."
    assert [t["state"] for t in done["trials"]] == ["INFEASIBLE", "INFEASIBLE"]
    assert done["trials"][1]["infeasibleReason"] == (
        "The hyperparameter tuning job ended before the trial did."
    )
    assert world.service.get_job(waiting["customJob"])["state"] == "JOB_STATE_CANCELLED"
    assert world.used() == [0]


def test_a_job_whose_every_trial_failed_has_failed(world: World) -> None:
    world.resource("pr1", gpu_pool(2))
    labels = {**SHORT, "emulator-outcome": "failed", "emulator-error-message": "oom-killed"}
    tuning = world.tuning(gpu_pool(1), parallel=2, trials=2, labels=labels)
    world.advance(1000)
    done = world.service.get_tuning_job(tuning)
    assert done["state"] == "JOB_STATE_FAILED"
    assert done["error"] == {"code": 9, "message": "All 2 trials failed."}
    assert [t["infeasibleReason"] for t in done["trials"]] == ["oom-killed", "oom-killed"]


def test_a_cancelled_tuning_job_cancels_its_trials_and_frees_their_replicas(
    world: World,
) -> None:
    world.resource("pr1", gpu_pool(2))
    tuning = world.tuning(gpu_pool(1), parallel=3, trials=3)
    world.advance(1)
    queued_behind = world.job(gpu_pool(2))
    assert world.trials(tuning) == ["ACTIVE", "ACTIVE", "REQUESTED"]
    assert world.state(queued_behind) == "JOB_STATE_QUEUED"

    world.service.cancel_tuning_job(tuning)
    cancelled = world.service.get_tuning_job(tuning)
    assert cancelled["state"] == "JOB_STATE_CANCELLED"
    assert cancelled["error"] == {"code": 1, "message": "CANCELED"}
    assert [t["state"] for t in cancelled["trials"]] == ["INFEASIBLE"] * 3
    assert {world.service.get_job(t["customJob"])["state"] for t in cancelled["trials"]} == {
        "JOB_STATE_CANCELLED"
    }
    assert world.state(queued_behind) == "JOB_STATE_PENDING"
    assert world.used() == [2]
    with pytest.raises(ApiError, match="terminal state JOB_STATE_CANCELLED"):
        world.service.cancel_tuning_job(tuning)


def test_a_custom_job_queued_before_a_trial_keeps_its_turn(world: World) -> None:
    world.resource("pr1", gpu_pool(2))
    first = world.job(gpu_pool(2), labels=SHORT)
    second = world.job(gpu_pool(2), labels=SHORT)
    tuning = world.tuning(gpu_pool(1), parallel=2, trials=2, labels=SHORT)
    world.advance(1)
    assert world.trials(tuning) == ["REQUESTED", "REQUESTED"]
    world.advance(100)  # `first` ends: `second` was waiting longer than the trials
    assert world.state(second) == "JOB_STATE_PENDING"
    assert world.trials(tuning) == ["REQUESTED", "REQUESTED"]
    world.advance(101)
    assert world.trials(tuning) == ["ACTIVE", "ACTIVE"]
    assert world.state(first) == "JOB_STATE_SUCCEEDED"


def test_deleting_the_resource_fails_the_tuning_job(world: World) -> None:
    world.resource("pr1", gpu_pool(1))
    tuning = world.tuning(gpu_pool(1), parallel=1, trials=3)
    world.advance(1)
    world.service.delete_resource(PR1)
    failed = world.service.get_tuning_job(tuning)
    assert failed["state"] == "JOB_STATE_FAILED"
    assert "is in state STOPPING" in failed["error"]["message"]
    assert [t["state"] for t in failed["trials"]] == ["INFEASIBLE"]


def test_a_tuning_job_without_a_persistent_resource_just_runs(world: World) -> None:
    tuning = world.tuning(cpu_pool(), resource=None, parallel=2, trials=2, labels=SHORT)
    world.advance(1000)
    assert world.service.get_tuning_job(tuning)["state"] == "JOB_STATE_SUCCEEDED"


def test_trial_jobs_are_not_listed_among_custom_jobs(world: World) -> None:
    world.resource("pr1", gpu_pool(2))
    tuning = world.tuning(gpu_pool(1), parallel=2, trials=2)
    world.advance(1)
    assert world.service.list_jobs(PARENT, "", 0, "").items == []
    assert [
        t["customJob"].startswith(f"{PARENT}/customJobs/")
        for t in world.service.get_tuning_job(tuning)["trials"]
    ] == [True, True]


def test_tuning_jobs_are_listed_in_pages_and_filtered(world: World) -> None:
    names = [world.tuning(cpu_pool(), resource=None) for _ in range(3)]
    world.service.cancel_tuning_job(names[1])
    first = world.service.list_tuning_jobs(PARENT, "", 2, "")
    rest = world.service.list_tuning_jobs(PARENT, "", 2, first.next_page_token)
    assert [job["name"] for job in [*first.items, *rest.items]] == names
    assert rest.next_page_token == ""
    cancelled = world.service.list_tuning_jobs(PARENT, 'state="JOB_STATE_CANCELLED"', 0, "")
    assert [job["name"] for job in cancelled.items] == [names[1]]


def test_only_an_ended_tuning_job_can_be_deleted_with_its_trial_jobs(world: World) -> None:
    world.resource("pr1", gpu_pool(1))
    tuning = world.tuning(gpu_pool(1))
    world.advance(1)
    trial_job = world.service.get_tuning_job(tuning)["trials"][0]["customJob"]
    with pytest.raises(ApiError, match="cancel it before deleting it"):
        world.service.delete_tuning_job(tuning)
    world.service.cancel_tuning_job(tuning)
    assert world.service.delete_tuning_job(tuning).doc["done"] is True
    for name, kind in ((tuning, "HyperparameterTuningJob"), (trial_job, "CustomJob")):
        with pytest.raises(ApiError, match=f"{kind} .* is not found"):
            (world.service.get_tuning_job if kind != "CustomJob" else world.service.get_job)(name)


# The service judges a trial's job as it judges the same custom job, at creation,
# and names the fields under trial_job_spec.
REFUSALS = [
    pytest.param(
        {},
        [gpu_pool(3)],
        {},
        ("INVALID_ARGUMENT", "trial_job_spec.worker_pool_specs[0].replica_count"),
        id="one-trial-above-the-ceiling",
    ),
    pytest.param(
        {},
        [cpu_pool(1)],
        {},
        ("INVALID_ARGUMENT", "trial_job_spec.worker_pool_specs[0]"),
        id="matches-no-pool",
    ),
    pytest.param(
        {"network": "projects/1/global/networks/a"},
        [gpu_pool(1)],
        {},
        ("INVALID_ARGUMENT", "trial_job_spec.network"),
        id="differs-in-network",
    ),
    pytest.param(
        {},
        [gpu_pool(1)],
        {"encryptionSpec": {"kmsKeyName": "projects/p1/locations/l/keyRings/r/cryptoKeys/k"}},
        ("INVALID_ARGUMENT", "encryption_spec.kms_key_name"),
        id="differs-in-cmek",
    ),
    pytest.param(
        {"state": "ERROR"}, [gpu_pool(1)], {}, ("FAILED_PRECONDITION", None), id="resource-error"
    ),
]


@pytest.mark.parametrize(("setup", "pools", "fields", "expected"), REFUSALS)
def test_a_tuning_job_whose_trials_could_never_run_is_refused(
    world: World,
    setup: dict[str, Any],
    pools: list[dict[str, Any]],
    fields: dict[str, Any],
    expected: tuple[str, str | None],
) -> None:
    world.resource("pr1", gpu_pool(2), **{k: v for k, v in setup.items() if k == "network"})
    if "state" in setup:
        world.service.set_resource_state(PR1, setup["state"], "disk on fire")
    status, field = expected
    with pytest.raises(ApiError) as error:
        world.tuning(*pools, parallel=4, trials=8, **fields)
    assert error.value.status == status
    assert [f for f, _ in error.value.violations] == ([field] if field else [])
    assert world.service.list_tuning_jobs(PARENT, "", 0, "").items == []


def test_parallel_trials_above_the_ceiling_are_not_refused(world: World) -> None:
    world.resource("pr1", gpu_pool(2))
    tuning = world.tuning(gpu_pool(2), parallel=4, trials=4, labels=SHORT)
    world.advance(1)
    assert world.trials(tuning) == ["ACTIVE", "REQUESTED", "REQUESTED", "REQUESTED"]


def test_a_tuning_job_on_a_missing_resource_is_not_found(world: World) -> None:
    with pytest.raises(ApiError, match="persistentResources/nope is not found") as error:
        world.tuning(cpu_pool(), resource="nope")
    assert error.value.status == "NOT_FOUND"


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        pytest.param({"displayName": ""}, "display_name is required", id="no-name"),
        pytest.param({"studySpec": None}, "study_spec is required", id="no-study"),
        pytest.param(
            {"studySpec": {"metrics": [], "parameters": []}},
            "study_spec.metrics must name at least one metric",
            id="no-metric",
        ),
        pytest.param({"parallelTrialCount": 0}, "parallel_trial_count must be positive", id="p0"),
        pytest.param({"maxTrialCount": 0}, "max_trial_count must be positive", id="max0"),
        pytest.param({"trialJobSpec": None}, "trial_job_spec is required", id="no-trial-spec"),
        pytest.param(
            {"trialJobSpec": {"workerPoolSpecs": [{}]}},
            "first worker pool must not be empty",
            id="empty-first-pool",
        ),
        pytest.param(
            {"labels": {"emulator-failed-trials": "two"}},
            'trial numbers joined by "_"',
            id="bad-failed-trials",
        ),
    ],
)
def test_a_bad_tuning_job_is_refused(world: World, changes: dict[str, Any], words: str) -> None:
    body = {**tuning_body(cpu_pool(), resource=None), **changes}
    body = {key: value for key, value in body.items() if value is not None}
    with pytest.raises(ApiError, match=words) as error:
        world.service.create_tuning_job(PARENT, body)
    assert error.value.status == "INVALID_ARGUMENT"


def test_a_restart_keeps_a_tuning_job_going(data_dir: str) -> None:
    store = Store(Path(data_dir))
    before = World(store)
    before.resource("pr1", gpu_pool(1))
    tuning = before.tuning(gpu_pool(1), parallel=2, trials=2, labels=SHORT)
    before.advance(1)
    store.close()

    store = Store(Path(data_dir))
    after = World(store, clock=before.clock)  # the same time line, continued
    assert after.trials(tuning) == ["ACTIVE", "REQUESTED"]
    after.advance(1000)
    assert after.service.get_tuning_job(tuning)["state"] == "JOB_STATE_SUCCEEDED"
    store.close()
