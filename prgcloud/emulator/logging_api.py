"""Cloud Logging's `entries:list` (v2) for the emulator's custom jobs and hyperparameter
tuning jobs, so that the real `gcloud ai custom-jobs|hp-tuning-jobs stream-logs` works against
it (`CLOUDSDK_API_ENDPOINT_OVERRIDES_LOGGING`, the emulator's own URL).

A job writes its log lines while it runs, as a Vertex AI training replica would, one a second
from its start (`startTime`) until its end (`endTime`), or until now while it runs: a first
line, a step a second, and a last line that says how it ended (a failed job's error message,
as its replica would have said it). Entries are `ml_job` entries of task `workerpool0-0`,
with the timestamps and insertIds gcloud orders and filters them by. A tuning job's trials
write theirs as their custom jobs do, filed (as Cloud Logging files them) under the tuning
job's id with a label `ml.googleapis.com/trial_id`; gcloud prints no labels, so each message
starts `trial N: `.

The request is what gcloud 528 sends: `resourceNames: ["projects/P"]`, a filter joining
`resource.type="ml_job"`, `resource.labels.job_id="ID"`, optionally
`resource.labels.task_name="T"`, and bounds on `timestamp` and `insertId` (with AND, OR and
parentheses), `orderBy` `timestamp asc|desc`, `pageSize`, `pageToken`. The filter must name
one job; anything the emulator cannot answer is 400, as the service answers a bad filter.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from prgcloud.emulator import filters
from prgcloud.emulator.clock import parse_rfc3339, rfc3339
from prgcloud.emulator.errors import invalid
from prgcloud.emulator.model import Service

PATH = "/v2/entries:list"
TASK = "workerpool0-0"
TRIAL_LABEL = "ml.googleapis.com/trial_id"
LINE_SECONDS = 1.0  # a running job writes a line this often
_PAGE_SIZE = 1000
_JOB_ID = re.compile(r'resource\.labels\.job_id\s*=\s*"?([0-9]{1,20})"?')
_PROJECT = re.compile(r"^projects/([a-z0-9.:-]{1,100})$")
_ENDINGS = {
    "JOB_STATE_SUCCEEDED": ("INFO", "Training finished: the job succeeded."),
    "JOB_STATE_CANCELLED": ("WARNING", "Training stopped: the job was cancelled."),
}
_MAX_LINES = 100_000  # lines of one job served at most (a job that ran for a day)


def list_entries(service: Service, body: Mapping[str, Any]) -> dict[str, Any]:
    """Answer one `entries:list` request (its JSON body) as Cloud Logging would."""
    names = body.get("resourceNames") or []
    if not isinstance(names, list) or not names:
        raise invalid("resource_names is required.", "resource_names")
    projects = []
    for name in names:
        found = _PROJECT.match(str(name))
        if found is None:
            raise invalid(f'Invalid resource name "{str(name)[:200]}".', "resource_names")
        projects.append(found.group(1))
    text = str(body.get("filter") or "")
    job_id = _JOB_ID.search(text)
    if job_id is None:
        raise filters.filter_error(
            text, 'the emulator serves the logs of one job: filter on resource.labels.job_id="ID"'
        )
    keep = filters.compile_filter(text, _compare)
    order = str(body.get("orderBy") or "timestamp asc").strip().lower()
    if order not in ("timestamp asc", "timestamp desc"):
        raise invalid(f'Invalid order_by "{order[:100]}".', "order_by")
    entries: list[dict[str, Any]] = []
    for project in projects:
        docs, now = service.jobs_with_id(project, job_id.group(1))
        for doc in docs:
            entries += [e for e in job_entries(project, doc, now) if keep(e)]
        trials, now = service.trial_jobs_with_id(project, job_id.group(1))
        for number, doc in trials:
            lines = job_entries(project, doc, now, trial=(job_id.group(1), number))
            entries += [e for e in lines if keep(e)]
    entries.sort(key=lambda e: (e["timestamp"], e["insertId"]), reverse=order.endswith("desc"))
    size = _page_size(body.get("pageSize"))
    start = _read_token(str(body.get("pageToken") or ""))
    page = entries[start : start + size]
    answer: dict[str, Any] = {}
    if page:
        answer["entries"] = page
    if start + size < len(entries):
        answer["nextPageToken"] = base64.urlsafe_b64encode(
            json.dumps({"start": start + size}).encode()
        ).decode()
    return answer


def job_entries(
    project: str, job: Mapping[str, Any], now: float, *, trial: tuple[str, int] | None = None
) -> list[dict[str, Any]]:
    """The log lines `job` has written by `now`, oldest first.

    `trial` (tuning job id, trial number) when `job` runs a trial: its lines are filed under
    the tuning job's id, labelled with the trial's (`ml.googleapis.com/trial_id`), and each
    says which trial wrote it (gcloud prints no labels).
    """
    if "startTime" not in job:
        return []  # it never ran: no replica wrote anything
    job_id = str(job["name"]).rsplit("/", 1)[-1]
    if trial is not None:
        return [_as_trial(entry, *trial, job_id) for entry in job_entries(project, job, now)]
    start = parse_rfc3339(job["startTime"])
    end = parse_rfc3339(job["endTime"]) if "endTime" in job else None
    until = min(now, end) if end is not None else now
    lines: list[tuple[float, str, str]] = [(start, "INFO", f"Starting replica {TASK}.")]
    step = 1
    while start + step * LINE_SECONDS < until and step < _MAX_LINES:
        lines.append((start + step * LINE_SECONDS, "INFO", f"step {step}: training."))
        step += 1
    if end is not None and end <= now:
        lines.append((end, *_ending(job)))
    return [
        _entry(project, job_id, number, moment, severity, message)
        for number, (moment, severity, message) in enumerate(lines)
    ]


def _as_trial(entry: dict[str, Any], tuning_id: str, number: int, job_id: str) -> dict[str, Any]:
    """A trial's custom job's log entry as Cloud Logging files it: under the tuning job."""
    entry["resource"]["labels"]["job_id"] = tuning_id
    entry["labels"] = {TRIAL_LABEL: str(number)}
    # insertIds order the lines of one moment; the trial's job id keeps them unique
    entry["insertId"] = f"{tuning_id}-{number:06d}-{entry['insertId'].removeprefix(job_id + '-')}"
    entry["jsonPayload"]["message"] = f"trial {number}: {entry['jsonPayload']['message']}"
    return entry


def _ending(job: Mapping[str, Any]) -> tuple[str, str]:
    state = str(job.get("state", ""))
    if state in _ENDINGS:
        return _ENDINGS[state]
    error = job.get("error") or {}
    return "ERROR", str(error.get("message") or f"Training ended: {state}.")


def _entry(
    project: str, job_id: str, number: int, moment: float, severity: str, message: str
) -> dict[str, Any]:
    return {
        "logName": f"projects/{project}/logs/{TASK}",
        "resource": {
            "type": "ml_job",
            "labels": {"job_id": job_id, "project_id": project, "task_name": TASK},
        },
        "timestamp": rfc3339(moment),
        "receiveTimestamp": rfc3339(moment),
        "severity": severity,
        "insertId": f"{job_id}-{number:08d}",
        "jsonPayload": {"message": message},
    }


def _compare(text: str, field: str, op: str, value: str) -> filters.Predicate:
    """One comparison of a logging filter, over an entry."""
    if field == "timestamp":
        try:
            wanted = parse_rfc3339(value)
        except ValueError:
            raise filters.filter_error(text, f"{value!r} is not an RFC 3339 time") from None
        return _ordered(text, op, wanted, lambda e: parse_rfc3339(e["timestamp"]))
    if field == "insertId":
        return _ordered(text, op, value, lambda e: e["insertId"])
    paths = {
        "resource.type": ("type",),
        "resource.labels.job_id": ("labels", "job_id"),
        "resource.labels.task_name": ("labels", "task_name"),
        "resource.labels.project_id": ("labels", "project_id"),
    }
    if field not in paths or op not in ("=", "!="):
        raise filters.filter_error(text, f"the emulator does not filter on {field}{op}")
    path = paths[field]

    def read(entry: Mapping[str, Any]) -> Any:
        found: Any = entry["resource"]
        for key in path:
            found = found.get(key) if isinstance(found, Mapping) else None
        return found

    if op == "=":
        return lambda entry: read(entry) == value
    return lambda entry: read(entry) != value


def _ordered(
    text: str, op: str, wanted: Any, read: Callable[[Mapping[str, Any]], Any]
) -> filters.Predicate:
    checks: dict[str, Callable[[Any], bool]] = {
        "=": lambda a: a == wanted,
        "!=": lambda a: a != wanted,
        "<": lambda a: a < wanted,
        "<=": lambda a: a <= wanted,
        ">": lambda a: a > wanted,
        ">=": lambda a: a >= wanted,
    }
    if op not in checks:
        raise filters.filter_error(text, f"{op} does not apply here")
    check = checks[op]
    return lambda entry: bool(check(read(entry)))


def _page_size(value: Any) -> int:
    if value in (None, ""):
        return _PAGE_SIZE
    try:
        size = int(value)
    except (TypeError, ValueError):
        raise invalid(f"Invalid page_size {str(value)[:20]!r}.", "page_size") from None
    if size < 0:
        raise invalid("page_size must not be negative.", "page_size")
    return min(size or _PAGE_SIZE, _PAGE_SIZE)


def _read_token(token: str) -> int:
    if not token:
        return 0
    try:
        start = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))["start"]
    except (binascii.Error, ValueError, KeyError, TypeError, RecursionError):
        raise invalid(f'Invalid page_token "{token[:200]}".', "page_token") from None
    if type(start) is not int or start < 0:
        raise invalid(f'Invalid page_token "{token[:200]}".', "page_token")
    return start
