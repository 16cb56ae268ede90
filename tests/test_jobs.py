"""Waiting for a custom job to end (`prgcloud.jobs`): the judgement of a final state, and the
polling loop run on a fake clock (the clock moves only when the loop sleeps)."""

from __future__ import annotations

import io
import itertools
import random
from collections.abc import Mapping
from typing import Any

import pytest

from prgcloud import exit_codes, jobs
from prgcloud.errors import (
    ApiUnavailableError,
    BadInputError,
    JobCancelledError,
    JobFailedError,
    PrecheckFailedError,
    WaitTimedOutError,
)

NAME = "projects/p/locations/us-central1/customJobs/42"


@pytest.mark.parametrize(
    ("state", "code"),
    [
        pytest.param("JOB_STATE_SUCCEEDED", exit_codes.OK, id="succeeded-0"),
        pytest.param("JOB_STATE_FAILED", exit_codes.FAILED, id="failed-6"),
        pytest.param("JOB_STATE_EXPIRED", exit_codes.FAILED, id="expired-6"),
        pytest.param("JOB_STATE_CANCELLED", exit_codes.CANCELLED, id="cancelled-7"),
    ],
)
def test_a_job_that_ended_has_the_exit_code_of_its_state(state: str, code: int) -> None:
    ended = jobs.outcome({"state": state})
    assert ended is not None
    assert ended.exit_code == code


@pytest.mark.parametrize(
    "state",
    [
        "JOB_STATE_QUEUED",
        "JOB_STATE_PENDING",
        "JOB_STATE_RUNNING",
        "JOB_STATE_CANCELLING",
        "JOB_STATE_PAUSED",
        "JOB_STATE_UPDATING",
        "JOB_STATE_UNSPECIFIED",
        "JOB_STATE_SOMETHING_NEW",
        "",
    ],
)
def test_a_job_in_any_other_state_is_still_waited_for(state: str) -> None:
    assert jobs.outcome({"state": state}) is None


def test_a_failed_job_says_its_error_message() -> None:
    job = {"state": "JOB_STATE_FAILED", "error": {"code": 13, "message": "oom-killed"}}
    error = jobs.outcome_error(job, name=NAME)
    assert isinstance(error, JobFailedError)
    assert error.exit_code == 6
    assert str(error) == f"custom job {NAME} ended FAILED: oom-killed"


def test_a_cancelled_job_is_exit_7_and_a_succeeded_one_no_error() -> None:
    cancelled = jobs.outcome_error({"state": "JOB_STATE_CANCELLED"}, name=NAME)
    assert isinstance(cancelled, JobCancelledError)
    assert cancelled.exit_code == 7
    assert jobs.outcome_error({"state": "JOB_STATE_SUCCEEDED"}, name=NAME) is None


@pytest.mark.parametrize(
    ("given", "name"),
    [
        pytest.param("42", NAME, id="id"),
        pytest.param(
            "projects/q/locations/europe-west4/customJobs/7",
            "projects/q/locations/europe-west4/customJobs/7",
            id="full-name",
        ),
    ],
)
def test_a_job_is_named_by_its_id_or_its_full_name(given: str, name: str) -> None:
    assert jobs.job_name(given, "p", "us-central1") == name


@pytest.mark.parametrize("given", ["abc", "12/34", "projects/p/customJobs/1", ""])
def test_anything_else_is_not_a_job(given: str) -> None:
    with pytest.raises(BadInputError, match="not a custom job"):
        jobs.job_name(given, "p", "us-central1")


# --- the loop ---------------------------------------------------------------------------------


class Script:
    """Polls answer with the steps in turn (a state name, or an exception to raise); the
    clock moves only when the loop sleeps."""

    def __init__(self, *steps: str | Exception) -> None:
        self.steps = list(steps)
        self.now = 0.0
        self.polls = 0
        self.seen: list[jobs.JobProgress] = []

    def read(self, seconds_left: float | None) -> Mapping[str, Any]:
        step = self.steps[min(self.polls, len(self.steps) - 1)]
        self.polls += 1
        if isinstance(step, Exception):
            raise step
        return {"name": NAME, "state": step}

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds

    def wait(self, timeout: float | None = None) -> Mapping[str, Any]:
        return jobs.wait_for_job(
            self.read,
            name=NAME,
            timeout=timeout,
            polling_interval=5.0,
            on_progress=self.seen.append,
            clock=self.clock,
            sleep=self.sleep,
            rng=random.Random(0),
        )


def unavailable(retry_after: float = 0.0) -> ApiUnavailableError:
    return ApiUnavailableError("503", reason="API answered HTTP 503", retry_after=retry_after)


def test_the_wait_returns_the_job_as_it_ended() -> None:
    script = Script("JOB_STATE_QUEUED", "JOB_STATE_RUNNING", "JOB_STATE_FAILED")
    job = script.wait()
    assert job["state"] == "JOB_STATE_FAILED"
    assert [p.job["state"] for p in script.seen if p.job] == [
        "JOB_STATE_QUEUED",
        "JOB_STATE_RUNNING",
    ]


def test_the_api_failing_for_a_while_is_waited_out() -> None:
    script = Script("JOB_STATE_RUNNING", unavailable(), unavailable(), "JOB_STATE_SUCCEEDED")
    assert script.wait(timeout=3600)["state"] == "JOB_STATE_SUCCEEDED"
    assert [p.misses for p in script.seen] == [0, 1, 2]
    assert "API answered HTTP 503, 2 polls in a row; retrying" in jobs.status_line(script.seen[-1])
    assert "last seen: RUNNING" in jobs.status_line(script.seen[-1])


def test_an_answer_waiting_cannot_change_ends_the_wait() -> None:
    script = Script("JOB_STATE_RUNNING", PrecheckFailedError("permission denied"))
    with pytest.raises(PrecheckFailedError, match="permission denied"):
        script.wait()


def test_a_wait_that_runs_out_says_the_job_was_left_running() -> None:
    script = Script("JOB_STATE_RUNNING")
    with pytest.raises(WaitTimedOutError) as raised:
        script.wait(timeout=60)
    assert raised.value.exit_code == 5
    assert str(raised.value) == (
        f"gave up waiting for custom job {NAME} after 1m00s; the job was left running "
        "(RUNNING when last read)."
    )
    assert script.now == 60  # the last pause is cut to the deadline


def test_polls_come_at_the_polling_interval_jittered_and_honour_retry_after() -> None:
    script = Script("JOB_STATE_RUNNING", "JOB_STATE_RUNNING", unavailable(4.9), "JOB_STATE_FAILED")
    script.wait()
    elapsed = [p.elapsed for p in script.seen]
    pauses = [b - a for a, b in itertools.pairwise(elapsed)]
    assert all(4.0 <= pause <= 6.0 for pause in pauses)


def test_the_status_line_says_the_job_its_state_and_the_time_left() -> None:
    progress = jobs.JobProgress(NAME, 75, 525, {"state": "JOB_STATE_RUNNING"})
    assert jobs.status_line(progress) == "waiting for custom job 42 (1m15s, 8m45s left): RUNNING"
    unlimited = jobs.JobProgress(NAME, 5, None, None)
    assert jobs.status_line(unlimited) == "waiting for custom job 42 (5s, no time limit)"


def test_without_a_terminal_a_line_is_written_when_the_state_changes() -> None:
    stream = io.StringIO()
    printer = jobs.JobProgressPrinter(stream, live=False, clock=lambda: 0.0)
    for state in ("JOB_STATE_QUEUED", "JOB_STATE_QUEUED", "JOB_STATE_RUNNING"):
        printer(jobs.JobProgress(NAME, 1, None, {"state": state}))
    assert [line.rsplit(": ", 1)[-1] for line in stream.getvalue().splitlines()] == [
        "QUEUED",
        "RUNNING",
    ]
