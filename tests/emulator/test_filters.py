"""The `filter` of customJobs.list, as Vertex AI documents it."""

from __future__ import annotations

import pytest

from prgcloud.emulator.errors import ApiError
from prgcloud.emulator.filters import compile_filter

JOBS = {
    "a": {
        "state": "JOB_STATE_RUNNING",
        "displayName": "my_job_a",
        "createTime": "2026-01-01T00:00:00Z",
        "labels": {"team": "vision"},
    },
    "b": {
        "state": "JOB_STATE_SUCCEEDED",
        "displayName": "my_job_b",
        "createTime": "2026-02-01T00:00:00.5Z",
        "labels": {"team": "speech"},
    },
    "c": {
        "state": "JOB_STATE_FAILED",
        "displayName": "other",
        "createTime": "2026-03-01T00:00:00Z",
    },
}


@pytest.mark.parametrize(
    ("text", "matches"),
    [
        pytest.param("", "abc", id="empty"),
        pytest.param('state="JOB_STATE_RUNNING"', "a", id="state"),
        pytest.param("state=JOB_STATE_RUNNING", "a", id="state-unquoted"),
        pytest.param('state!="JOB_STATE_FAILED"', "ab", id="state-not"),
        pytest.param('state="JOB_STATE_SUCCEEDED" AND display_name:"my_job_*"', "b", id="and"),
        pytest.param('state="JOB_STATE_FAILED" OR display_name="my_job_a"', "ac", id="or"),
        pytest.param('NOT display_name="other"', "ab", id="not"),
        pytest.param('-display_name="other"', "ab", id="minus"),
        pytest.param(
            '(state="JOB_STATE_FAILED" OR state="JOB_STATE_RUNNING") labels.team:*',
            "a",
            id="parentheses-and-implicit-and",
        ),
        pytest.param('create_time>"2026-01-15T00:00:00Z"', "bc", id="time"),
        pytest.param('createTime<="2026-02-01T00:00:00.5Z"', "ab", id="time-camel-case"),
        pytest.param("labels.team=speech", "b", id="label"),
        pytest.param("labels.team:*", "ab", id="label-exists"),
    ],
)
def test_a_filter_selects_jobs(text: str, matches: str) -> None:
    predicate = compile_filter(text)
    assert "".join(name for name, job in JOBS.items() if predicate(job)) == matches


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("state", id="no-comparison"),
        pytest.param('state>"JOB_STATE_RUNNING"', id="state-order"),
        pytest.param('cost="1"', id="unknown-field"),
        pytest.param('(state="JOB_STATE_RUNNING"', id="unclosed"),
        pytest.param('create_time>"yesterday"', id="bad-time"),
        pytest.param('state="JOB_STATE_RUNNING" )', id="stray-parenthesis"),
        pytest.param("(" * 5000 + 'state="x"' + ")" * 5000, id="deep-parentheses"),
        pytest.param("NOT " * 5000 + 'state="x"', id="deep-not"),
        pytest.param("-" * 5000 + 'state="x"', id="deep-minus"),
    ],
)
def test_a_filter_it_cannot_read_is_invalid_argument(text: str) -> None:
    with pytest.raises(ApiError, match="Invalid filter") as error:
        compile_filter(text)
    assert error.value.status == "INVALID_ARGUMENT"
