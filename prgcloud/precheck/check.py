"""The pre-check as an action: read the persistent resource, judge the job, decide.

`precheck_request` is the one path every submission takes, from the CLI (`create`) and from
the library (`prgcloud.submit`): nothing to check, a single check, or a wait for capacity.
`evaluate_request` is the read and the judgement without the decision (`check
--format=json`); `read_capacity` answers `persistent-resources capacity`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from prgcloud import vertex
from prgcloud.errors import DoesNotFitError
from prgcloud.precheck.report import format_verdict
from prgcloud.precheck.rules import Verdict, capacity_of, evaluate
from prgcloud.precheck.tuning import evaluate_tuning
from prgcloud.request import JobRequest, TuningRequest

if TYPE_CHECKING:
    from prgcloud.waiting import WaitProgress


class JobDoesNotFitError(DoesNotFitError):
    """The job does not fit (exit 3); `verdict` says why, so a caller may wait on it instead."""

    def __init__(self, verdict: Verdict) -> None:
        super().__init__(format_verdict(verdict))
        self.verdict = verdict


EMPTY_VERDICT = Verdict(findings=(), assignment={}, pools=())


def _location(request: JobRequest) -> vertex.Location:
    return vertex.Location(request.project, request.region, request.endpoint, request.identity)


def evaluate_request(
    request: JobRequest, environ: Mapping[str, str], *, budget: vertex.Budget | None = None
) -> Verdict:
    """Read the request's persistent resource and judge the job against it; never decides.

    A job that names no persistent resource gets an empty verdict (nothing to check). The
    verdict counts warnings as blocks under `--strict`. Raises `PrecheckFailedError` (exit 4)
    when the resource cannot be read.
    """
    resource_id = request.persistent_resource_id
    if resource_id is None:
        return EMPTY_VERDICT
    with vertex.Reader(_location(request), environ, budget) as reader:
        resource = reader.get(resource_id)
    return judge(request, resource)


def judge(request: JobRequest, resource: Mapping[str, Any]) -> Verdict:
    """The fit rules for the request's job (a custom job, or a tuning job's trials)."""
    if isinstance(request, TuningRequest):
        return replace(evaluate_tuning(request.body, resource), strict=request.options.strict)
    return evaluate(request.service_body, resource, strict=request.options.strict)


def check_request(
    request: JobRequest, environ: Mapping[str, str], *, budget: vertex.Budget | None = None
) -> Verdict:
    """The pre-check before a submission (the fit rules).

    Returns the verdict when the job may go ahead (its warnings are the caller's to print).
    Raises `JobDoesNotFitError` (exit 3, the report as its message) when anything blocks,
    the resource is not ready or busy (the error's verdict has waits but no blocks then), or
    under `--strict` when anything warns; `PrecheckFailedError` (exit 4) when it cannot check.
    """
    verdict = evaluate_request(request, environ, budget=budget)
    if verdict.stops:
        raise JobDoesNotFitError(verdict)
    return verdict


def wait_for_fit(
    request: JobRequest,
    environ: Mapping[str, str],
    *,
    timeout: float,
    on_progress: Callable[[WaitProgress], None] | None = None,
    budget: vertex.Budget | None = None,
    before_waiting: Callable[[Verdict], None] | None = None,
) -> Verdict:
    """Poll the pre-check until the job fits now (`--wait-for-capacity`); return that verdict.

    One reader (one token, one connection) serves every poll; each poll is one read that
    ends by the wait's deadline. See `waiting.wait_until_fits` for what ends the wait.
    """
    from prgcloud import waiting

    resource_id = request.persistent_resource_id
    if resource_id is None:
        return EMPTY_VERDICT
    with vertex.Reader(_location(request), environ, budget) as reader:

        def poll(seconds_left: float) -> Verdict:
            until = waiting.poll_deadline(seconds_left)
            resource = reader.get(resource_id, retry=False, until=until)
            return judge(request, resource)

        return waiting.wait_until_fits(
            poll,
            timeout=timeout,
            on_progress=on_progress or (lambda progress: None),
            before_waiting=before_waiting,
        )


def precheck_request(
    request: JobRequest,
    environ: Mapping[str, str],
    *,
    on_progress: Callable[[WaitProgress], None] | None = None,
    before_waiting: Callable[[Verdict], None] | None = None,
) -> Verdict | None:
    """Everything that must happen before the request may be submitted; None: nothing to do.

    A job that names no persistent resource, or `--skip-precheck`, is not checked. Otherwise
    a single check, or with `--wait-for-capacity` a wait (`on_progress` hears each poll;
    `before_waiting` the verdict that starts the wait, see `waiting.wait_until_fits`).
    Returns the verdict when the job may go ahead; raises as `check_request` and
    `wait_for_fit` do.
    """
    if request.persistent_resource_id is None or request.options.skip_precheck:
        return None
    if request.options.wait_for_capacity is None:
        return check_request(request, environ)
    return wait_for_fit(
        request,
        environ,
        timeout=request.options.wait_for_capacity,
        on_progress=on_progress,
        before_waiting=before_waiting,
    )


def read_capacity(
    location: vertex.Location,
    resource_id: str,
    environ: Mapping[str, str],
    *,
    budget: vertex.Budget | None = None,
) -> dict[str, Any]:
    """A persistent resource's state and per-pool room (`rules.capacity_of`), read live."""
    with vertex.Reader(location, environ, budget) as reader:
        return capacity_of(reader.get(resource_id))
