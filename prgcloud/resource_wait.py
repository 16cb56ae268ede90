"""Waiting for a persistent resource: until it is RUNNING (create, reboot) or gone (delete).

`wait_for_resource` polls the resource with one `vertex.Reader` (one token, one connection)
until `decide` (a pure function of the goal and the resource as read) says the wait is over:

- RUNNING: done, waiting for RUNNING (the resource is returned); waiting for it to be gone,
  it waits (the deletion may not show yet). After a reboot, RUNNING counts only once the
  reboot's long-running operation is done: the API may still show the resource RUNNING for a
  while after it accepted the reboot, before it turns REBOOTING;
- PROVISIONING, REBOOTING, UPDATING, or no state: it waits;
- STOPPING: waiting for RUNNING, ResourceFailedError (exit 6: it is being deleted, it will
  never be RUNNING); waiting for it to be gone, it waits;
- ERROR: ResourceFailedError (exit 6), with the resource's `error.message`;
- not found: waiting for it to be gone, done (None is returned); waiting for RUNNING,
  NotFoundError (exit 4).

A read that fails in a way waiting may cure (the API unreachable, too slow, 429, 5xx:
`ApiUnavailableError`) is a missed poll, reported and waited out until the deadline; one that
waiting cannot change (permission denied, bad credentials, an answer that is not a resource)
ends the wait with `PrecheckFailedError` (exit 4). The deadline passing first is
`WaitTimedOutError` (exit 5), which says what the resource was last seen doing.

The cadence (jittered, honouring a server's Retry-After up to a cap) and the status line
(`prgcloud.waiting`: cut to the terminal's width on a terminal, a line per change with a
heartbeat in a log) are those of `--wait-for-capacity`. The clock, the sleep and the random
source are parameters of `poll_resource`, so tests run the loop instantly.
"""

from __future__ import annotations

import enum
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TextIO

from prgcloud import vertex, waiting
from prgcloud.errors import (
    ApiUnavailableError,
    NotFoundError,
    ResourceFailedError,
    WaitTimedOutError,
)
from prgcloud.waiting import _RETRY_AFTER_CAP, Cadence, format_duration

# Seconds between polls unless `--polling-interval` says otherwise: a resource takes minutes
# to provision or reboot, and 12 reads a minute leave Vertex AI's read quota (600 a minute)
# to everything else.
DEFAULT_POLLING_INTERVAL = 5.0
# How long `--wait` without a duration waits: provisioning GPUs can take a quarter of an hour.
DEFAULT_WAIT_SECONDS = 30 * 60.0
# As for `--wait-for-capacity`: no poll takes longer than this (a missed poll then), and the
# poll at the deadline still gets this long to answer.
_POLL_SECONDS = 8.0
_LAST_POLL_SECONDS = 3.0
# States a resource leaves by itself on its way to RUNNING.
_SETTLING = frozenset({"PROVISIONING", "REBOOTING", "UPDATING", "STATE_UNSPECIFIED", ""})


class Goal(enum.Enum):
    """What the wait is for."""

    RUNNING = "RUNNING"
    GONE = "gone"

    @property
    def words(self) -> str:
        """The goal in words: `to be RUNNING`, `to be deleted`."""
        return "to be RUNNING" if self is Goal.RUNNING else "to be deleted"


class Decision(enum.Enum):
    """What one read of the resource means for the wait."""

    DONE = "done"
    WAIT = "wait"
    FAILED = "failed"


def decide(
    goal: Goal, resource: Mapping[str, Any] | None, *, operation_done: bool = True
) -> Decision:
    """Whether the wait for `goal` is over, given the resource as read (None: not found).

    Waiting for RUNNING: RUNNING is done, once the operation that the wait follows (a
    reboot's) is done; ERROR, or STOPPING (being deleted: it will never be RUNNING), failed;
    not found is not decided here (the caller cannot read what it waits for: exit 4); any
    other state waits. Waiting for it to be gone: not found is done; ERROR failed (the
    deletion went wrong); any other state waits.
    """
    state = state_of(resource)
    if goal is Goal.GONE:
        if resource is None:
            return Decision.DONE
        return Decision.FAILED if state == "ERROR" else Decision.WAIT
    if resource is None:
        raise ValueError("a wait for RUNNING cannot judge a resource that was not found")
    if state == "RUNNING":
        # before its operation is done, RUNNING may be the resource before the reboot began
        return Decision.DONE if operation_done else Decision.WAIT
    if state in ("ERROR", "STOPPING"):
        return Decision.FAILED
    return Decision.WAIT


def operation_failure(operation: Mapping[str, Any]) -> str | None:
    """The error message of an operation that is done and failed (None when it did not)."""
    error = operation.get("error")
    if not operation.get("done") or not isinstance(error, Mapping):
        return None
    return str(error.get("message") or f"error code {error.get('code', '?')}")


def state_of(resource: Mapping[str, Any] | None) -> str:
    """The resource's state as the API names it ("" when it says none; "gone" when None)."""
    if resource is None:
        return "gone"
    return str(resource.get("state") or "")


@dataclass(frozen=True)
class ResourceProgress:
    """Where a wait stands after a poll that did not end it.

    `state` is the state last read ("" until one is); `miss` is why this poll got no answer
    (None when it got one); `misses` counts the polls missed in a row.
    """

    resource_id: str
    goal: Goal
    elapsed: float
    remaining: float
    state: str
    miss: ApiUnavailableError | None = None
    misses: int = 0


def status_line(progress: ResourceProgress) -> str:
    """The wait in one line: what for, time spent and left, then the state or why it missed."""
    line = (
        f"waiting for persistent resource {progress.resource_id} {progress.goal.words} "
        f"({format_duration(progress.elapsed)}, {format_duration(progress.remaining)} left)"
    )
    if progress.miss is not None:
        times = f", {progress.misses} polls in a row" if progress.misses > 1 else ""
        line += f": {progress.miss.reason}{times}; retrying"
        return line + (f" · last seen: {progress.state}" if progress.state else "")
    return line + (f" · {progress.state}" if progress.state else "")


class ProgressPrinter:
    """Shows a resource wait on stderr as `waiting.ProgressPrinter` does a capacity wait."""

    def __init__(
        self,
        stream: TextIO,
        *,
        live: bool,
        columns: Callable[[], int] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._printer = waiting.ProgressPrinter(stream, live=live, columns=columns, clock=clock)

    def __call__(self, progress: ResourceProgress) -> None:
        seen = (progress.miss.reason if progress.miss else "", progress.state)
        self._printer.show(status_line(progress), seen)

    def done(self) -> None:
        """End the live line so what follows starts on a fresh one."""
        self._printer.done()


def poll_resource(
    read: Callable[[float], Mapping[str, Any] | None],
    *,
    resource_id: str,
    goal: Goal,
    timeout: float,
    polling_interval: float = DEFAULT_POLLING_INTERVAL,
    on_progress: Callable[[ResourceProgress], None] = lambda progress: None,
    read_operation: Callable[[float], Mapping[str, Any]] | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
) -> Mapping[str, Any] | None:
    """Call `read(seconds_left)` until `decide(goal, ...)` ends the wait; return the last read.

    `read` returns the resource (None when it is not found) within about the seconds it is
    given; `read_operation`, when given, returns the operation the wait follows (a reboot's),
    read before the resource at each poll until it is done. Raises ResourceFailedError (exit
    6: the resource went to ERROR, or the operation failed), WaitTimedOutError (exit 5), or
    what the reads raise other than ApiUnavailableError (a missed poll). `on_progress` hears
    about every poll that did not end the wait.
    """
    started = clock()
    deadline = started + timeout
    delays = Cadence(interval=polling_interval).delays(rng or random.Random())
    state = ""
    misses = 0
    operation: Mapping[str, Any] = {"done": read_operation is None}
    while True:
        miss = None
        try:
            if not operation.get("done"):
                assert read_operation is not None
                operation = read_operation(max(0.0, deadline - clock()))
            resource = read(max(0.0, deadline - clock()))
        except ApiUnavailableError as error:
            miss, misses = error, misses + 1
        else:
            done = bool(operation.get("done"))
            if _ended(goal, resource_id, resource, operation):
                return resource
            state, misses = state_of(resource), 0
            if state == "RUNNING" and not done:
                state = "RUNNING, reboot not begun"
        now = clock()
        progress = ResourceProgress(
            resource_id, goal, now - started, max(0.0, deadline - now), state, miss, misses
        )
        on_progress(progress)
        if now >= deadline:
            raise WaitTimedOutError(_gave_up(timeout, progress))
        pause = next(delays)
        if miss is not None:
            pause = max(pause, min(miss.retry_after, _RETRY_AFTER_CAP))
        sleep(min(pause, deadline - now))


def _ended(
    goal: Goal,
    resource_id: str,
    resource: Mapping[str, Any] | None,
    operation: Mapping[str, Any],
) -> bool:
    """Whether this read ends the wait well; raises ResourceFailedError when it ends it badly
    (the resource went to ERROR, or the operation it follows failed)."""
    decision = decide(goal, resource, operation_done=bool(operation.get("done")))
    failure = operation_failure(operation)
    if decision is Decision.DONE and failure is not None:
        raise ResourceFailedError(
            f"persistent resource {resource_id} is RUNNING, but its operation failed: {failure}",
            state=state_of(resource),
            error_message=failure,
        )
    if decision is Decision.FAILED:
        assert resource is not None
        raise _failed(resource_id, goal, resource)
    return decision is Decision.DONE


def wait_for_resource(
    location: vertex.Location,
    resource_id: str,
    environ: Mapping[str, str],
    *,
    goal: Goal = Goal.RUNNING,
    timeout: float,
    polling_interval: float = DEFAULT_POLLING_INTERVAL,
    on_progress: Callable[[ResourceProgress], None] = lambda progress: None,
    budget: vertex.Budget | None = None,
    operation: str | None = None,
) -> dict[str, Any] | None:
    """Wait until persistent resource `resource_id` in `location` reaches `goal`.

    Returns the RUNNING resource (as a camelCase dict) when waiting for RUNNING, None once
    it is gone when waiting for it to be deleted. Raises:
    - ResourceFailedError (exit 6): it went to ERROR (its `error.message` in the message),
      or, waiting for RUNNING, it is being deleted;
    - WaitTimedOutError (exit 5): `timeout` seconds passed first (the resource is left as
      it is, and the message says what it was doing);
    - PrecheckFailedError (exit 4): it cannot be read, and waiting cannot change that (not
      found while waiting for RUNNING: NotFoundError; permission denied; bad credentials).
    The API failing for a while (unreachable, slow, 429, 5xx) does not end the wait: those
    polls are missed and reported to `on_progress`, which hears about every poll that did
    not end the wait (`ResourceProgress`; `ProgressPrinter` shows them on a stream).
    `operation` is the long-running operation of the request the wait follows (a reboot's):
    RUNNING counts only once it is done, and its failing is ResourceFailedError too.
    """
    with vertex.Reader(location, environ, budget) as reader:

        def read(seconds_left: float) -> dict[str, Any] | None:
            until = time.monotonic() + min(_POLL_SECONDS, max(seconds_left, _LAST_POLL_SECONDS))
            try:
                return reader.get(resource_id, retry=False, until=until)
            except NotFoundError as error:
                if goal is Goal.GONE:
                    return None
                raise NotFoundError(
                    f"persistent resource {resource_id!r} was not found in {location.where} "
                    f"(at {location.endpoint}) while waiting for it {goal.words}: it was "
                    "deleted, or never created. Check the resource ID, --project and --region."
                ) from error

        def read_operation(seconds_left: float) -> dict[str, Any]:
            assert operation is not None
            until = time.monotonic() + min(_POLL_SECONDS, max(seconds_left, _LAST_POLL_SECONDS))
            try:
                return reader.get_operation(operation, resource_id, until=until)
            except NotFoundError as error:
                raise NotFoundError(
                    f"operation {operation} of persistent resource {resource_id} was not found "
                    f"in {location.where} (at {location.endpoint}) while waiting for the "
                    f"resource {goal.words}. Check the operation with `gcloud ai operations "
                    "describe`."
                ) from error

        resource = poll_resource(
            read,
            read_operation=None if operation is None else read_operation,
            resource_id=resource_id,
            goal=goal,
            timeout=timeout,
            polling_interval=polling_interval,
            on_progress=on_progress,
        )
    return None if resource is None else dict(resource)


def _failed(resource_id: str, goal: Goal, resource: Mapping[str, Any]) -> ResourceFailedError:
    state = state_of(resource)
    error = resource.get("error")
    said = str(error.get("message") or "") if isinstance(error, Mapping) else ""
    if state == "STOPPING":
        text = (
            f"persistent resource {resource_id} is being deleted (STOPPING): it will never be "
            "RUNNING."
        )
    elif goal is Goal.GONE:
        text = f"persistent resource {resource_id} went to ERROR instead of being deleted"
    else:
        text = f"persistent resource {resource_id} went to ERROR"
    if state == "ERROR":
        text += f": {said}" if said else " (it gives no error message)."
    return ResourceFailedError(text, state=state, error_message=said)


def _gave_up(timeout: float, progress: ResourceProgress) -> str:
    text = (
        f"gave up waiting for persistent resource {progress.resource_id} {progress.goal.words} "
        f"after {format_duration(timeout)}"
    )
    text += f"; it was last seen {progress.state}." if progress.state else "."
    if progress.miss is not None:
        polls = f"the last {progress.misses} reads" if progress.misses > 1 else "the last read"
        text += f" The Vertex AI API did not answer {polls}: {progress.miss}"
    return text + " Nothing was changed by giving up: the resource is left as it is."
