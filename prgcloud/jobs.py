"""Waiting for a Vertex AI custom job to end, and what its end means as an exit code.

Three layers, as everywhere in prgcloud:
- `outcome(job)`: pure; the job's REST JSON -> None while it has not ended, else its final
  state and the exit code it stands for (0 succeeded, 6 failed or expired, 7 cancelled);
- `wait_for_job(read, ...)`: the polling loop. It polls as `--wait-for-capacity` does
  (`prgcloud.waiting`): jittered pauses, an answer the API could not give now
  (`ApiUnavailableError`: unreachable, too slow, 429, 5xx) is a missed poll and the wait goes
  on, Retry-After is honoured, an answer waiting cannot change (not found, permission denied,
  bad credentials: exit 4) ends it, and so does the deadline (exit 5: the job is left running).
  The clock, the sleep and the random source are parameters, so tests run it instantly;
- `JobReader`: reads one custom job through the Vertex AI SDK (`JobServiceClient` over REST, at
  the endpoint and as the identity gcloud would use), each read within a wall-clock deadline,
  as `prgcloud.vertex.Reader` reads persistent resources.

Ctrl-C stops the wait, never the job: nothing here cancels anything.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from prgcloud import exit_codes, vertex, waiting
from prgcloud.errors import (
    ApiUnavailableError,
    BadInputError,
    JobCancelledError,
    JobFailedError,
    PrecheckFailedError,
    PrgcloudError,
    WaitTimedOutError,
)

SUCCEEDED = "JOB_STATE_SUCCEEDED"
FAILED = "JOB_STATE_FAILED"
EXPIRED = "JOB_STATE_EXPIRED"
CANCELLED = "JOB_STATE_CANCELLED"
PARTIALLY_SUCCEEDED = "JOB_STATE_PARTIALLY_SUCCEEDED"
# The states a job never leaves (google.cloud.aiplatform.v1.JobState), and the exit code each
# stands for. Every other state (QUEUED, PENDING, RUNNING, CANCELLING, PAUSED, UPDATING, and
# any state a newer API adds) is one to wait through.
_ENDED = {
    SUCCEEDED: exit_codes.OK,
    FAILED: exit_codes.FAILED,
    EXPIRED: exit_codes.FAILED,
    PARTIALLY_SUCCEEDED: exit_codes.FAILED,  # batch prediction only; some work failed
    CANCELLED: exit_codes.CANCELLED,
}


@dataclass(frozen=True)
class Kind:
    """A kind of job that can be waited for: its collection, its name in words, how to read it."""

    collection: str
    noun: str
    method: str
    request: str
    permission: str
    group: str  # gcloud's command group: `gcloud ai GROUP wait|cancel|stream-logs`


CUSTOM = Kind(
    "customJobs",
    "custom job",
    "get_custom_job",
    "GetCustomJobRequest",
    "aiplatform.customJobs.get",
    "custom-jobs",
)
TUNING = Kind(
    "hyperparameterTuningJobs",
    "hyperparameter tuning job",
    "get_hyperparameter_tuning_job",
    "GetHyperparameterTuningJobRequest",
    "aiplatform.hyperparameterTuningJobs.get",
    "hp-tuning-jobs",
)
_KINDS = {kind.collection: kind for kind in (CUSTOM, TUNING)}
# Default pause between polls: a job's end is seen within about this long, for 12 reads a
# minute against Vertex AI's read quota of 600 a minute.
DEFAULT_POLLING_SECONDS = 5.0
_FULL_NAME = re.compile(
    r"^projects/([^/]+)/locations/([^/]+)/(customJobs|hyperparameterTuningJobs)/([^/]+)$"
)
_JOB_ID = re.compile(r"^[0-9]{1,20}$")


@dataclass(frozen=True)
class Outcome:
    """How a job ended: its final state, the exit code that stands for, and why (failures)."""

    state: str
    exit_code: int
    error_message: str | None = None

    @property
    def short_state(self) -> str:
        """`SUCCEEDED` for `JOB_STATE_SUCCEEDED`."""
        return short_state(self.state)


def short_state(state: str) -> str:
    """A job state without its `JOB_STATE_` prefix."""
    return state.removeprefix("JOB_STATE_")


def outcome(job: Mapping[str, Any]) -> Outcome | None:
    """How `job` (a CustomJob as REST JSON) ended, or None while it has not."""
    state = str(job.get("state") or "")
    if state not in _ENDED:
        return None
    error = job.get("error")
    message = error.get("message") if isinstance(error, Mapping) else None
    return Outcome(state, _ENDED[state], str(message) if message else None)


def kind_of(name: str) -> Kind:
    """The kind of job a full name names (a custom job unless it says otherwise)."""
    full = _FULL_NAME.match(name)
    return _KINDS[full.group(3)] if full else CUSTOM


def outcome_error(job: Mapping[str, Any], *, name: str) -> PrgcloudError | None:
    """The error (exit 6 or 7) a wait on `job` ends with, or None when it succeeded.

    Raises ValueError for a job that has not ended.
    """
    ended = outcome(job)
    what = f"{kind_of(name).noun} {name}"
    if ended is None:
        raise ValueError(f"{what} has not ended: {job.get('state')}")
    if ended.exit_code == exit_codes.FAILED:
        why = ended.error_message or "Vertex AI gave no error message"
        return JobFailedError(f"{what} ended {ended.short_state}: {why}")
    if ended.exit_code == exit_codes.CANCELLED:
        return JobCancelledError(f"{what} was cancelled.")
    return None


def job_name(job: str, project: str, region: str, kind: Kind = CUSTOM) -> str:
    """`projects/P/locations/R/COLLECTION/ID` for a job id (or a full name, returned as is).

    Raises BadInputError for anything that is neither.
    """
    if split_name(job, kind):
        return job
    if not _JOB_ID.match(job):
        raise BadInputError.at(
            "JOB",
            f"{job!r} is not a {kind.noun}: give its numeric id or its full name "
            f"(projects/PROJECT/locations/REGION/{kind.collection}/ID).",
        )
    return f"projects/{project}/locations/{region}/{kind.collection}/{job}"


def split_name(job: str, kind: Kind = CUSTOM) -> tuple[str, str, str] | None:
    """(project, region, id) of a full name of a `kind` job, or None for anything else."""
    full = _FULL_NAME.match(job)
    if full is None or full.group(3) != kind.collection:
        return None
    return full.group(1), full.group(2), full.group(4)


# --- the wait ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class JobProgress:
    """Where a wait stands after a poll that did not end it.

    `job` is the job as last read (None until one read answered); `miss` is why this poll got
    no answer (None when it got one); `misses` counts the polls missed in a row. `remaining`
    is None for a wait without a time limit.
    """

    name: str
    elapsed: float
    remaining: float | None
    job: Mapping[str, Any] | None
    miss: ApiUnavailableError | None = None
    misses: int = 0


def wait_for_job(
    read: Callable[[float | None], Mapping[str, Any]],
    *,
    name: str,
    timeout: float | None = None,
    polling_interval: float = DEFAULT_POLLING_SECONDS,
    on_progress: Callable[[JobProgress], None] = lambda progress: None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
) -> Mapping[str, Any]:
    """Poll `read(seconds_left)` until the job has ended; return the job as last read.

    `read` gets the seconds left before the deadline (None: no limit) and must end within
    about them. Raises WaitTimedOutError (exit 5) when `timeout` seconds pass first (the job
    keeps running), and lets through what `read` raises that waiting cannot change
    (PrecheckFailedError, exit 4). Which way the job ended is for the caller to judge
    (`outcome`): `cancel --wait` and `wait` judge a cancelled job differently.
    """
    started = clock()
    deadline = None if timeout is None else started + timeout
    delays = waiting.Cadence(interval=polling_interval).delays(rng or random.Random())
    job: Mapping[str, Any] | None = None
    misses = 0
    while True:
        miss = None
        try:
            polled = read(None if deadline is None else max(0.0, deadline - clock()))
        except ApiUnavailableError as error:
            miss, misses = error, misses + 1
        else:
            if outcome(polled) is not None:
                return polled
            job, misses = polled, 0
        now = clock()
        remaining = None if deadline is None else max(0.0, deadline - now)
        progress = JobProgress(name, now - started, remaining, job, miss, misses)
        on_progress(progress)
        if deadline is not None and now >= deadline:
            raise WaitTimedOutError(_gave_up(timeout or 0.0, progress))
        pause = waiting.pause_after(next(delays), miss)
        sleep(pause if deadline is None else min(pause, deadline - now))


def _gave_up(timeout: float, progress: JobProgress) -> str:
    text = (
        f"gave up waiting for {kind_of(progress.name).noun} {progress.name} after "
        f"{waiting.format_duration(timeout)}; the job was left running"
    )
    if progress.job is not None:
        text += f" ({short_state(str(progress.job.get('state', '?')))} when last read)"
    text += "."
    if progress.miss is not None:
        polls = f"the last {progress.misses} reads" if progress.misses > 1 else "the last read"
        text += f" The Vertex AI API did not answer {polls}: {progress.miss}"
    return text


def status_line(progress: JobProgress) -> str:
    """The wait in one line: the job, time spent (and left), its state, or why the poll missed."""
    left = (
        "no time limit"
        if progress.remaining is None
        else f"{waiting.format_duration(progress.remaining)} left"
    )
    line = (
        f"waiting for {kind_of(progress.name).noun} {progress.name.rsplit('/', 1)[-1]} "
        f"({waiting.format_duration(progress.elapsed)}, {left})"
    )
    if progress.miss is not None:
        times = f", {progress.misses} polls in a row" if progress.misses > 1 else ""
        line += f": {progress.miss.reason}{times}; retrying"
        if progress.job is not None:
            line += f" · last seen: {job_status(progress.job)}"
    elif progress.job is not None:
        line += f": {job_status(progress.job)}"
    return line


def job_status(job: Mapping[str, Any]) -> str:
    """What the wait sees of the job: its state."""
    return short_state(str(job.get("state") or "state unknown"))


class JobProgressPrinter(waiting.ProgressPrinter):
    """`waiting.ProgressPrinter` for a job wait: a live line on a terminal, else a line per
    change of state (or of why polls miss), and at least every `waiting.HEARTBEAT_SECONDS`."""

    def __call__(self, progress: JobProgress) -> None:  # type: ignore[override]
        seen = (
            progress.miss.reason if progress.miss else "",
            job_status(progress.job) if progress.job is not None else "",
        )
        self.show(status_line(progress), seen)


# --- reading a job ----------------------------------------------------------------------------


class JobReader(vertex.Reader):
    """Reads custom jobs of one location through the SDK's `JobServiceClient` over REST.

    The token, the deadlines and the closing of sockets are `vertex.Reader`'s; each read is a
    single attempt (a wait polls again by itself), fetching the token again once if the API
    rejects one that has grown old during a long wait.
    """

    def __enter__(self) -> JobReader:
        return self

    def get_job(self, name: str, *, until: float | None = None) -> dict[str, Any]:
        """GET the custom job `name` as a camelCase dict, in a single attempt; `until` (a
        `time.monotonic()` value) ends the read then at the latest."""
        kind = kind_of(name)
        what = f"the read of {kind.noun} {name.rsplit('/', 1)[-1]}"
        read = vertex.Read(self, what, kind.permission, name, retry=False, until=until, jobs=True)
        try:
            return read.to_dict(read.call(kind.method, kind.request, name=name))
        except PrecheckFailedError as translated:
            raise self._reword(read, translated) from translated.__cause__

    def _reword(self, read: vertex.Read, said: PrecheckFailedError) -> PrecheckFailedError:
        """`vertex.Reader`'s paragraph for a failed read, said of a job (`said.__cause__` is
        the SDK's error, when there was one)."""
        from google.api_core import exceptions as api

        error = said.__cause__
        name = read.resource_id
        kind = kind_of(name)
        where = f"{self.location.where} (at {self.location.endpoint})"
        if isinstance(said, ApiUnavailableError):  # a missed poll
            detail = f": {read.describe(error)}" if error is not None else ""
            return ApiUnavailableError(
                f"the Vertex AI API at {self.location.endpoint} could not answer {read.what} "
                f"now ({said.reason}{detail}).",
                reason=said.reason,
                retry_after=said.retry_after,
            )
        if isinstance(error, api.NotFound):
            return PrecheckFailedError(
                f"{kind.noun} {name} was not found in {where}. Check the job id, --project "
                "and --region (gcloud's `list` of those jobs lists them there)."
            )
        if isinstance(error, (api.Forbidden, api.PermissionDenied)):
            return PrecheckFailedError(
                f"permission denied reading {kind.noun} {name}: {self.who} needs the IAM "
                f"permission {kind.permission}, which the role {vertex.VIEWER_ROLE} grants. "
                f"The API said: {read.describe(error)}."
            )
        if error is not None and isinstance(error, vertex.Failures.unauthenticated()):
            return PrecheckFailedError(
                f"the Vertex AI API at {self.location.endpoint} rejected the credentials of "
                f"{self.who} (HTTP 401). The token is invalid or expired: log in again with "
                "`gcloud auth login` (or refresh the access token file)."
            )
        if error is None:
            return said
        return PrecheckFailedError(
            f"reading {kind.noun} {name} in {where} failed: {read.describe(error)}."
        )


def poll_deadline(seconds_left: float | None) -> float:
    """When one poll of a job wait must have answered (`seconds_left` None: no time limit)."""
    return waiting.poll_deadline(float("inf") if seconds_left is None else seconds_left)


def read_until_ended(
    reader: JobReader,
    name: str,
    *,
    timeout: float | None = None,
    polling_interval: float = DEFAULT_POLLING_SECONDS,
    on_progress: Callable[[JobProgress], None] = lambda progress: None,
) -> Mapping[str, Any]:
    """Wait for custom job `name` to end, reading it through `reader`; return the job.

    Raises PrecheckFailedError (exit 4) when the job cannot be read and waiting cannot change
    that, WaitTimedOutError (exit 5) when `timeout` seconds pass first.
    """

    def read(seconds_left: float | None) -> Mapping[str, Any]:
        return reader.get_job(name, until=poll_deadline(seconds_left))

    return wait_for_job(
        read,
        name=name,
        timeout=timeout,
        polling_interval=polling_interval,
        on_progress=on_progress,
    )
