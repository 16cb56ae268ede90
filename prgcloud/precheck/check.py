"""The pre-check as an action: read the persistent resource, judge the job, decide.

`check_request` is what `create` calls before gcloud runs; `evaluate_request` is the same
without the decision (for `check --format=json`); `read_capacity` answers
`persistent-resources capacity`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from prgcloud import vertex
from prgcloud.errors import DoesNotFitError
from prgcloud.gcloud_config import aiplatform_endpoint, load_properties
from prgcloud.precheck.report import format_verdict
from prgcloud.precheck.rules import Verdict, capacity_of, evaluate
from prgcloud.request import Identity, JobRequest


class JobDoesNotFitError(DoesNotFitError):
    """The job does not fit (exit 3); `verdict` says why, so a caller may wait on it instead."""

    def __init__(self, verdict: Verdict, *, strict: bool = False) -> None:
        super().__init__(format_verdict(verdict, strict=strict))
        self.verdict = verdict


EMPTY_VERDICT = Verdict(findings=(), assignment={}, pools=())


def blocks_submission(verdict: Verdict, *, strict: bool) -> bool:
    """Whether the verdict stops the submission: a block, a wait, or (strict) a warning."""
    return bool(verdict.blocks or verdict.waits or (strict and verdict.warnings))


def evaluate_request(
    request: JobRequest, environ: Mapping[str, str], *, budget: vertex.Budget | None = None
) -> Verdict:
    """Read the request's persistent resource and judge the job against it; never decides.

    A job that names no persistent resource gets an empty verdict (nothing to check).
    Raises `PrecheckFailedError` (exit 4) when the resource cannot be read.
    """
    resource_id = request.persistent_resource_id
    if resource_id is None:
        return EMPTY_VERDICT
    resource = vertex.read_persistent_resource(
        request.project,
        request.region,
        resource_id,
        endpoint=request.endpoint,
        identity=request.identity,
        environ=environ,
        budget=budget or vertex.Budget(),
    )
    return evaluate(request.service_body, resource)


def check_request(
    request: JobRequest, environ: Mapping[str, str], *, budget: vertex.Budget | None = None
) -> Verdict:
    """The pre-check before a submission (RULES §2).

    Returns the verdict when the job may go ahead (its warnings are the caller's to print).
    Raises `JobDoesNotFitError` (exit 3, the report as its message) when anything blocks,
    the resource is not ready or busy (the error's verdict has waits but no blocks then), or
    under `--strict` when anything warns; `PrecheckFailedError` (exit 4) when it cannot check.
    """
    verdict = evaluate_request(request, environ, budget=budget)
    if blocks_submission(verdict, strict=request.options.strict):
        raise JobDoesNotFitError(verdict, strict=request.options.strict)
    return verdict


def read_capacity(
    project: str,
    region: str,
    resource_id: str,
    environ: Mapping[str, str],
    identity: Identity,
    *,
    endpoint: str | None = None,
    budget: vertex.Budget | None = None,
) -> dict[str, Any]:
    """A persistent resource's state and per-pool room (`rules.capacity_of`), read live.

    `endpoint` defaults to the one gcloud would use for `region` with these properties.
    """
    if endpoint is None:
        properties = load_properties(environ, configuration=identity.configuration)
        endpoint = aiplatform_endpoint(properties, region)
    resource = vertex.read_persistent_resource(
        project,
        region,
        resource_id,
        endpoint=endpoint,
        identity=identity,
        environ=environ,
        budget=budget or vertex.Budget(),
    )
    return capacity_of(resource)
