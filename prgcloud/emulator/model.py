"""What the emulator simulates: persistent resources, custom jobs on them, hyperparameter tuning
jobs, and operations.

Every call runs under one lock and in one SQLite transaction, and first brings the world up to
the clock's present: timed transitions (a resource finishes provisioning, a job ends) are
replayed in the order they fall due, each at its own time, so the answer to a request never
depends on whether anybody asked in between.

Admission of a job to a persistent resource is `admission.admit`, written from Google's
documentation (not from prgcloud's pre-check): a job that can never fit is refused with 400, one
that fits the free replicas runs and holds them, one that waits for replicas (or for the resource
to become ready) is QUEUED, first in first out per resource. A resource keeps the count of
replicas its jobs hold, so reading it costs the same however many jobs are stored.

A hyperparameter tuning job runs its trials as custom jobs built from its `trialJobSpec` (the
same admission, queue and replicas; a trial's job is not listed among the custom jobs, but its
trial names it): at most `parallelTrialCount` trials are open at once, and a trial whose job
waits for replicas waits (REQUESTED). When a trial's job ends, the tuning job takes the result
at that moment and starts the next trial; after `maxTrialCount` trials it SUCCEEDED (FAILED if
every trial failed, or as soon as `maxFailedTrialCount` trials have, when that is set). Labels
on the tuning job apply to every trial's job; `emulator-failed-trials: "2_5"` fails trials 2
and 5.

Documents handed in and out are canonical REST JSON (camelCase, int64 as strings, enum names);
the API layer renders them for a version.
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
import random
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from prgcloud.emulator import tuning as tuning_rules
from prgcloud.emulator.admission import admit
from prgcloud.emulator.clock import Clock, rfc3339
from prgcloud.emulator.errors import (
    ApiError,
    failed_precondition,
    found_errors,
    invalid,
    not_found,
)
from prgcloud.emulator.filters import compile_filter
from prgcloud.emulator.machines import (
    BOOT_DISK_TYPES,
    DEFAULT_BOOT_DISK_SIZE_GB,
    default_boot_disk_type,
    is_machine_type,
)
from prgcloud.emulator.store import Entity, Store

QUEUED = "JOB_STATE_QUEUED"
PENDING = "JOB_STATE_PENDING"
RUNNING = "JOB_STATE_RUNNING"
SUCCEEDED = "JOB_STATE_SUCCEEDED"
FAILED = "JOB_STATE_FAILED"
CANCELLED = "JOB_STATE_CANCELLED"
CANCELLING = "JOB_STATE_CANCELLING"
HOLDING = (PENDING, RUNNING)
ACTIVE = (QUEUED, PENDING, RUNNING)
# not ended yet: a job being cancelled keeps what it holds until it is CANCELLED
UNENDED = (*ACTIVE, CANCELLING)

RESOURCE_STATES = (
    "PROVISIONING",
    "RUNNING",
    "STOPPING",
    "ERROR",
    "REBOOTING",
    "UPDATING",
)
# states that become RUNNING by themselves after the provisioning delay
_SETTLING = ("PROVISIONING", "REBOOTING", "UPDATING")

DURATION_LABEL = "emulator-duration-seconds"
OUTCOME_LABEL = "emulator-outcome"
ERROR_LABEL = "emulator-error-message"
# what a job made to fail says, unless its ERROR_LABEL says something else (as Vertex AI words
# a training program that exits with an error)
DEFAULT_FAILURE = "The replica workerpool0-0 exited with a non-zero status of 1."
_OUTCOMES = {"succeeded": SUCCEEDED, "failed": FAILED}
# On a persistent resource, OUTCOME_LABEL says how it settles after provisioning or a reboot;
# ERROR_LABEL is then its `error.message` instead of this (as Vertex AI words a stockout).
_RESOURCE_OUTCOMES = {"running": "RUNNING", "error": "ERROR"}
DEFAULT_RESOURCE_FAILURE = (
    "The zone does not have enough resources available to fulfill the request. Try a "
    "different zone, or try again later."
)

_RESOURCE_ID = re.compile(r"^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$")
_LABEL_KEY = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
_LABEL_VALUE = re.compile(r"^[a-z0-9_-]{0,63}$")
T = TypeVar("T")
_DEFAULT_PAGE_SIZE = 100
_MAX_PAGE_SIZE = 1000


@dataclass(frozen=True)
class Settings:
    """How long simulated things take, in seconds."""

    provision_seconds: float = 5.0
    job_duration: float = 600.0
    pending_seconds: float = 1.0
    stop_seconds: float = 1.0
    # How long a resource still shows RUNNING after a reboot request before it turns
    # REBOOTING, as Vertex AI's may: only the reboot's operation says the reboot is over.
    reboot_lag_seconds: float = 0.0


@dataclass(frozen=True)
class Operation:
    """A long-running operation: its canonical document and the types its Anys carry."""

    doc: Mapping[str, Any]
    metadata_type: str
    response_type: str
    version: str


@dataclass(frozen=True)
class Page:
    """One page of a list."""

    items: Sequence[Mapping[str, Any]]
    next_page_token: str


class Service:
    """The emulated Vertex AI state; safe to call from many threads."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        settings: Settings | None = None,
        *,
        ids: random.Random | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        self.settings = settings or Settings()
        self._ids = ids or random.Random()
        self._lock = threading.RLock()
        # while True, a cancelled job (or tuning job) stays CANCELLING, holding its replicas,
        # until `release_cancellations`: what a test of a wait on a cancel controls
        self.hold_cancellations = False

    # ---------------------------------------------------------------- sessions and time

    @contextmanager
    def _session(self) -> Iterator[float]:
        with self._lock, self._store.transaction():
            now = self._clock.now()
            self._advance(now)
            yield now
            # what the call made due at once (a tuning job whose trial it ended) happens now
            self._advance(now)

    def tick(self) -> float | None:
        """Catch up with the clock; return the seconds until the next timed transition."""
        with self._session() as now:
            upcoming = self._store.next_due()
            return None if upcoming is None else max(0.0, (upcoming.due or now) - now)

    def _advance(self, now: float) -> None:
        while (entity := self._store.next_due(until=now)) is not None:
            at = entity.due if entity.due is not None else now
            if entity.kind == "resource":
                self._resource_due(entity, at)
            elif entity.kind == "job":
                self._job_due(entity, at)
            elif entity.kind == "tuning":
                self._tuning_due(entity, at)
            else:
                entity.due = None
                self._store.update(entity)

    def _resource_due(self, resource: Entity, at: float) -> None:
        if resource.state == "RUNNING" and resource.sys.pop("rebootRequested", False):
            self._set_resource_state(resource, "REBOOTING", at)
            resource.due = at + self.settings.provision_seconds
            self._store.update(resource)
            return
        if resource.state == "STOPPING":
            self._finish_operation(resource.sys.get("operation"), at, response={})
            self._store.delete(resource.name)
            return
        if resource.state in _SETTLING and resource.sys.get("outcome") == "ERROR":
            self._set_resource_state(resource, "ERROR", at)
            message = resource.sys.get("errorMessage") or DEFAULT_RESOURCE_FAILURE
            resource.doc["error"] = {"code": 13, "message": message}
            resource.due = None
            operation = resource.sys.pop("operation", None)
            self._store.update(resource)
            self._finish_operation(operation, at, error={"code": 13, "message": message})
            self._fail_jobs_on(
                resource.name,
                at,
                9,
                f"The persistent resource {resource.name} went to ERROR: {message}",
            )
            return
        if resource.state in _SETTLING:
            self._set_resource_state(resource, "RUNNING", at)
            resource.doc.setdefault("startTime", rfc3339(at))
            resource.due = None
            operation = resource.sys.pop("operation", None)
            self._store.update(resource)
            self._finish_operation(operation, at, response=self._resource_view(resource))
            self._admit_queued(resource.name, at)
            return
        resource.due = None
        self._store.update(resource)

    def _job_due(self, job: Entity, at: float) -> None:
        if job.state == PENDING:
            self._set_job_state(job, RUNNING, at)
            job.doc["startTime"] = rfc3339(at)
            job.due = at + float(job.sys.get("duration", self.settings.job_duration))
            self._store.update(job)
        elif job.state == RUNNING:
            outcome = job.sys.get("outcome", SUCCEEDED)
            self._end_job(job, outcome, at)
            if outcome == FAILED:
                message = job.sys.get("errorMessage") or DEFAULT_FAILURE
                job.doc["error"] = {"code": 13, "message": message}
            self._store.update(job)
            if job.resource:
                self._admit_queued(job.resource, at)
        else:
            job.due = None
            self._store.update(job)

    # ---------------------------------------------------------------- persistent resources

    def create_resource(
        self, parent: str, resource_id: str, body: Mapping[str, Any], version: str = "v1"
    ) -> Operation:
        """Start creating a persistent resource; the operation is done when it is RUNNING.

        `version` (of every call that starts an operation) is the API version asked; the
        operation remembers it for clients that poll it on a path without one (`/ui/`).
        """
        with self._session() as now:
            name = self._check_new_resource(parent, resource_id)
            doc = _new_resource_doc(name, body, now)
            resource = Entity(name, "resource", parent, doc)
            _steer_resource(resource)
            self._set_resource_state(resource, "PROVISIONING", now)
            resource.due = now + self.settings.provision_seconds
            operation = self._new_operation(
                parent,
                name,
                now,
                "CreatePersistentResourceOperationMetadata",
                "PersistentResource",
                version,
                progress="Creating the persistent resource.",
            )
            resource.sys["operation"] = operation.name
            self._store.insert(resource)
            self._advance(now)  # a zero provisioning delay finishes at once
            return self._operation(operation.name)

    def add_resource(
        self, parent: str, resource_id: str, body: Mapping[str, Any], state: str
    ) -> dict[str, Any]:
        """Put a persistent resource in place directly, in `state` (a test fixture's door)."""
        if state not in RESOURCE_STATES:
            raise ValueError(f"not a persistent resource state: {state}")
        with self._session() as now:
            name = self._check_new_resource(parent, resource_id)
            doc = _new_resource_doc(name, body, now)
            resource = Entity(name, "resource", parent, doc)
            _steer_resource(resource)
            self._set_resource_state(resource, state, now)
            if state != "PROVISIONING":
                doc["startTime"] = rfc3339(now)
            if state in _SETTLING:
                resource.due = now + self.settings.provision_seconds
            self._store.insert(resource)
            return self._resource_view(resource)

    def _check_new_resource(self, parent: str, resource_id: str) -> str:
        if not resource_id:
            raise invalid("persistent_resource_id is required.", "persistent_resource_id")
        if not _RESOURCE_ID.match(resource_id):
            raise invalid(
                f'Invalid persistent_resource_id "{resource_id}": it must be 1 to 63 lowercase'
                " letters, digits or hyphens, begin with a letter and not end with a hyphen.",
                "persistent_resource_id",
            )
        name = f"{parent}/persistentResources/{resource_id}"
        if self._store.get(name) is not None:
            raise ApiError("ALREADY_EXISTS", f"PersistentResource {name} already exists.")
        return name

    def get_resource(self, name: str) -> dict[str, Any]:
        """A persistent resource, with each pool's `usedReplicaCount`."""
        with self._session():
            return self._resource_view(self._resource(name))

    def list_resources(self, parent: str, page_size: int, page_token: str) -> Page:
        """The persistent resources of a location, in creation order."""
        with self._session():
            return _page(
                ((e.seq, e) for e in self._store.children("resource", parent, _after(page_token))),
                lambda _entity: True,
                self._resource_view,
                page_size,
                page_token,
                "",
            )

    def delete_resource(self, name: str, version: str = "v1") -> Operation:
        """Start deleting: STOPPING now, gone after the stop delay; its jobs fail."""
        with self._session() as now:
            if self._resource(name).state == "STOPPING":
                raise failed_precondition(f"PersistentResource {name} is already being deleted.")
            self._fail_jobs_on(name, now, 9, f"The persistent resource {name} was deleted.")
            resource = self._resource(name)  # read after its jobs have given back their replicas
            self._finish_operation(
                resource.sys.pop("operation", None),
                now,
                error={"code": 1, "message": "The persistent resource was deleted."},
            )
            operation = self._new_operation(
                resource.parent,
                name,
                now,
                "DeleteOperationMetadata",
                "google.protobuf.Empty",
                version,
            )
            self._set_resource_state(resource, "STOPPING", now)
            resource.sys["operation"] = operation.name
            resource.due = now + self.settings.stop_seconds
            self._store.update(resource)
            self._advance(now)
            return self._operation(operation.name)

    def reboot_resource(self, name: str, version: str = "v1") -> Operation:
        """Start a reboot: REBOOTING (after `reboot_lag_seconds`), RUNNING again after the
        provisioning delay; the operation is done then."""
        with self._session() as now:
            resource = self._resource(name)
            if resource.state != "RUNNING":
                raise failed_precondition(
                    f"PersistentResource {name} is {resource.state}; only a RUNNING persistent"
                    " resource can be rebooted."
                )
            operation = self._new_operation(
                resource.parent,
                name,
                now,
                "RebootPersistentResourceOperationMetadata",
                "PersistentResource",
                version,
                progress="Rebooting the persistent resource.",
            )
            resource.sys["operation"] = operation.name
            if self.settings.reboot_lag_seconds > 0:
                resource.sys["rebootRequested"] = True
                resource.due = now + self.settings.reboot_lag_seconds
            else:
                self._set_resource_state(resource, "REBOOTING", now)
                resource.due = now + self.settings.provision_seconds
            self._store.update(resource)
            self._advance(now)
            return self._operation(operation.name)

    def set_resource_state(self, name: str, state: str, error_message: str | None = None) -> None:
        """Force a resource into `state` (fixtures); ERROR carries `error_message`."""
        if state not in RESOURCE_STATES:
            raise ValueError(f"not a persistent resource state: {state}")
        with self._session() as now:
            resource = self._resource(name)
            self._set_resource_state(resource, state, now)
            resource.sys.pop("rebootRequested", None)
            resource.doc.pop("error", None)
            if state == "ERROR":
                resource.doc["error"] = {
                    "code": 13,
                    "message": error_message or "The persistent resource failed.",
                }
            resource.due = now + self.settings.provision_seconds if state in _SETTLING else None
            if state == "STOPPING":
                resource.due = now + self.settings.stop_seconds
            self._store.update(resource)
            if state == "RUNNING":
                self._admit_queued(name, now)

    def set_used_replicas(self, name: str, pool_id: str, count: int) -> None:
        """Make a pool's `usedReplicaCount` `count`, as if jobs the emulator does not run held
        the replicas its own jobs do not (fixtures)."""
        with self._session() as now:
            resource = self._resource(name)
            pool_ids = [pool.get("id") for pool in resource.doc.get("resourcePools", [])]
            if pool_id not in pool_ids:
                raise ValueError(f"{name} has no pool {pool_id!r}; it has {pool_ids}")
            held = self._held(resource).get(pool_id, 0)
            if count < held:
                raise ValueError(f"the emulator's own jobs already hold {held} replicas")
            extra: dict[str, int] = resource.sys.setdefault("extraUsed", {})
            extra[pool_id] = count - held
            self._store.update(resource)
            self._admit_queued(name, now)

    def _fail_jobs_on(self, name: str, at: float, code: int, message: str) -> None:
        """End every job queued or running on resource `name` FAILED, with `message`."""
        for job in self._store.jobs_on(name, UNENDED):
            self._end_job(job, FAILED, at)
            job.doc["error"] = {"code": code, "message": message}
            self._store.update(job)

    def _resource(self, name: str) -> Entity:
        resource = self._store.get(name)
        if resource is None or resource.kind != "resource":
            raise not_found(name, "PersistentResource")
        return resource

    def _held(self, resource: Entity) -> dict[str, int]:
        """Replicas the emulator's jobs hold, per pool id: kept on the resource (`sys.held`)."""
        held: dict[str, int] | None = resource.sys.get("held")
        if held is None:  # state written by an emulator that counted on every read
            held = {}
            for job in self._store.jobs_on(resource.name, (*HOLDING, CANCELLING)):
                for pool_id, count in job.sys.get("holds", {}).items():
                    held[pool_id] = held.get(pool_id, 0) + int(count)
            resource.sys["held"] = held
            self._store.update(resource)
        return held

    def _resource_view(self, resource: Entity) -> dict[str, Any]:
        view = copy.deepcopy(resource.doc)
        held = self._held(resource)
        extra: Mapping[str, int] = resource.sys.get("extraUsed", {})
        for pool in view.get("resourcePools", []):
            pool_id = pool.get("id", "")
            pool["usedReplicaCount"] = str(held.get(pool_id, 0) + int(extra.get(pool_id, 0)))
        return view

    def _set_resource_state(self, resource: Entity, state: str, at: float) -> None:
        resource.state = state
        resource.doc["state"] = state
        resource.doc["updateTime"] = rfc3339(at)

    # ---------------------------------------------------------------- custom jobs

    def create_job(self, parent: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """Create a custom job: refused, QUEUED, or PENDING and holding its replicas."""
        with self._session() as now:
            job_id = self._new_id(f"{parent}/customJobs/")
            name = f"{parent}/customJobs/{job_id}"
            doc = _new_job_doc(name, body, now)
            labels: Mapping[str, str] = doc.get("labels", {})
            job = Entity(name, "job", parent, doc)
            job.sys["duration"] = _duration(labels, self.settings.job_duration)
            job.sys["outcome"] = _outcome(labels)
            if ERROR_LABEL in labels:
                job.sys["errorMessage"] = labels[ERROR_LABEL]
            resource_id = doc["jobSpec"].get("persistentResourceId", "")
            if resource_id and not _RESOURCE_ID.match(resource_id):
                raise invalid(
                    f'Invalid persistent_resource_id "{resource_id}".',
                    "custom_job.job_spec.persistent_resource_id",
                )
            self._place_job(job, parent, now)
            self._store.insert(job)
            return copy.deepcopy(job.doc)

    def _place_job(self, job: Entity, location: str, now: float) -> None:
        """Start a new job, or queue it on its persistent resource, or (raising) refuse it."""
        resource_id = job.doc["jobSpec"].get("persistentResourceId", "")
        if not resource_id:
            self._start_job(job, now, {})
            return
        resource = self._resource(f"{location}/persistentResources/{resource_id}")
        job.resource = resource.name
        admission = admit(job.doc, self._resource_view(resource))
        if admission.holds is not None and not self._store.has_jobs_on(resource.name, QUEUED):
            self._start_job(job, now, admission.holds, resource)
        else:
            self._set_job_state(job, QUEUED, now)

    def get_job(self, name: str) -> dict[str, Any]:
        """A custom job."""
        with self._session():
            return copy.deepcopy(self._job(name).doc)

    def list_jobs(self, parent: str, filter_text: str, page_size: int, page_token: str) -> Page:
        """The custom jobs of a location that pass `filter_text`, in creation order."""
        predicate = compile_filter(filter_text)
        with self._session():
            return _page(
                self._store.child_docs("job", parent, _after(page_token, filter_text)),
                predicate,
                lambda doc: doc,  # decoded afresh from the store: nobody shares it
                page_size,
                page_token,
                filter_text,
            )

    def jobs_with_id(self, project: str, job_id: str) -> tuple[list[dict[str, Any]], float]:
        """The custom jobs of `project` with the numeric id `job_id` (in any location), and
        the emulator's time now: what the logging route writes a job's log lines from."""
        with self._session() as now:
            if not re.fullmatch(r"[a-z0-9.:-]+", project) or not job_id.isdigit():
                return [], now
            pattern = f"projects/{project}/locations/*/customJobs/{job_id}"
            return self._store.docs_matching("job", pattern), now

    def trial_jobs_with_id(
        self, project: str, job_id: str
    ) -> tuple[list[tuple[int, dict[str, Any]]], float]:
        """(trial number, custom job) of each trial of the tuning jobs of `project` with the
        numeric id `job_id`, and the emulator's time now: Cloud Logging files a trial's log
        lines under its tuning job's id, so the logging route writes them from these."""
        with self._session() as now:
            if not re.fullmatch(r"[a-z0-9.:-]+", project) or not job_id.isdigit():
                return [], now
            pattern = f"projects/{project}/locations/*/hyperparameterTuningJobs/{job_id}"
            found: list[tuple[int, dict[str, Any]]] = []
            for doc in self._store.docs_matching("tuning", pattern):
                for trial in doc.get("trials", []):
                    job = self._store.get(trial["customJob"])
                    if job is not None:
                        found.append((int(trial["id"]), copy.deepcopy(job.doc)))
            return found, now

    def cancel_job(self, name: str) -> None:
        """Cancel a job that has not ended: CANCELLED, its replicas released."""
        with self._session() as now:
            job = self._job(name)
            if job.state == CANCELLING:
                return  # being cancelled already
            if job.state not in ACTIVE:
                raise failed_precondition(
                    f"Cannot cancel CustomJob {name}: it is already in the terminal state"
                    f" {job.state}."
                )
            if self.hold_cancellations:
                self._set_job_state(job, CANCELLING, now)
                job.due = None
                self._store.update(job)
                return
            self._cancel_now(job, now)

    def _cancel_now(self, job: Entity, at: float) -> None:
        """End a job CANCELLED; its replicas go to the jobs queued for them."""
        self._end_job(job, CANCELLED, at)
        job.doc["error"] = {"code": 1, "message": "CANCELED"}
        self._store.update(job)
        if job.resource:
            self._admit_queued(job.resource, at)

    def release_cancellations(self) -> None:
        """Stop holding cancellations; every job and tuning job CANCELLING is CANCELLED now."""
        with self._session() as now:
            self.hold_cancellations = False
            for tuning in self._store.in_state("tuning", CANCELLING):
                self._end_tuning(tuning, CANCELLED, now, {"code": 1, "message": "CANCELED"})
            for job in self._store.in_state("job", CANCELLING):
                self._cancel_now(job, now)

    def delete_job(self, name: str, version: str = "v1") -> Operation:
        """Delete a job that has ended."""
        with self._session() as now:
            job = self._job(name)
            if job.state in UNENDED:
                raise failed_precondition(
                    f"CustomJob {name} is {job.state}; cancel it before deleting it."
                )
            self._store.delete(name)
            operation = self._new_operation(
                job.parent, None, now, "DeleteOperationMetadata", "google.protobuf.Empty", version
            )
            self._finish_operation(operation.name, now, response={})
            return self._operation(operation.name)

    def _job(self, name: str) -> Entity:
        job = self._store.get(name)
        if job is None or job.kind != "job":
            raise not_found(name, "CustomJob")
        return job

    def _admit_queued(self, name: str, at: float) -> None:
        """Start queued jobs on a resource, oldest first, while they fit."""
        resource = self._store.get(name)
        if resource is None or resource.state != "RUNNING":
            return
        for job in self._store.jobs_on(name, (QUEUED,)):
            try:
                admission = admit(job.doc, self._resource_view(resource))
            except ApiError as refusal:
                # the resource changed under a waiting job so that it can never run
                self._end_job(job, FAILED, at)
                job.doc["error"] = {"code": 9, "message": refusal.message}
                self._store.update(job)
                continue
            if admission.holds is None:
                return
            self._start_job(job, at, admission.holds, resource)
            self._store.update(job)

    def _start_job(
        self, job: Entity, at: float, holds: Mapping[str, int], resource: Entity | None = None
    ) -> None:
        """PENDING now, RUNNING after the pending delay; `resource` counts the replicas held."""
        self._set_job_state(job, PENDING, at)
        job.sys["holds"] = dict(holds)
        job.due = at + self.settings.pending_seconds
        if resource is not None and holds:
            held = self._held(resource)
            for pool_id, count in holds.items():
                held[pool_id] = held.get(pool_id, 0) + count
            self._store.update(resource)

    def _end_job(self, job: Entity, state: str, at: float, *, notify: bool = True) -> None:
        """End a job in `state`; the replicas it held are free again.

        A trial's job makes its tuning job due at `at`, to take the trial's result and start
        the next trial then; `notify=False` when the caller is that tuning job itself.
        """
        if job.state in (*HOLDING, CANCELLING) and job.resource and job.sys.get("holds"):
            resource = self._store.get(job.resource)
            if resource is not None:
                held = self._held(resource)
                for pool_id, count in job.sys["holds"].items():
                    held[pool_id] = max(0, held.get(pool_id, 0) - int(count))
                self._store.update(resource)
        self._set_job_state(job, state, at)
        job.doc["endTime"] = rfc3339(at)
        job.due = None
        tuning = self._store.get(job.sys["tuning"]) if notify and "tuning" in job.sys else None
        if tuning is not None and tuning.state in ACTIVE:
            tuning.due = at if tuning.due is None else min(tuning.due, at)
            self._store.update(tuning)

    def _set_job_state(self, job: Entity, state: str, at: float) -> None:
        job.state = state
        job.doc["state"] = state
        job.doc["updateTime"] = rfc3339(at)

    # ---------------------------------------------------------------- hyperparameter tuning

    def create_tuning_job(self, parent: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """Create a hyperparameter tuning job: PENDING, its first trials after the pending delay.

        A trial job that could never run on the persistent resource refuses the tuning job
        now, as the same job would be refused as a custom job (fields under `trial_job_spec`).
        """
        with self._session() as now:
            job_id = self._new_id(f"{parent}/hyperparameterTuningJobs/")
            name = f"{parent}/hyperparameterTuningJobs/{job_id}"
            doc = _new_tuning_doc(name, body, now)
            spec = doc["trialJobSpec"]
            resource_id = spec.get("persistentResourceId", "")
            if resource_id:
                if not _RESOURCE_ID.match(resource_id):
                    raise invalid(
                        f'Invalid persistent_resource_id "{resource_id}".',
                        f"{_TUNING}.trial_job_spec.persistent_resource_id",
                    )
                resource = self._resource(f"{parent}/persistentResources/{resource_id}")
                try:
                    admit(_trial_doc(doc, 1), self._resource_view(resource))
                except ApiError as refusal:
                    raise _as_trial_refusal(refusal) from None
            tuning = Entity(name, "tuning", parent, doc, sys={"failed": []})
            self._set_job_state(tuning, PENDING, now)
            tuning.sys["failed"] = sorted(tuning_rules.failed_trials(doc.get("labels", {})))
            tuning.due = now + self.settings.pending_seconds
            self._store.insert(tuning)
            return self._tuning_view(tuning)

    def get_tuning_job(self, name: str) -> dict[str, Any]:
        """A hyperparameter tuning job, its trials as their custom jobs stand now."""
        with self._session():
            return self._tuning_view(self._tuning(name))

    def list_tuning_jobs(
        self, parent: str, filter_text: str, page_size: int, page_token: str
    ) -> Page:
        """The hyperparameter tuning jobs of a location that pass `filter_text`, oldest first."""
        predicate = compile_filter(filter_text)
        with self._session():
            return _page(
                (
                    (entity.seq, entity)
                    for entity in self._store.children(
                        "tuning", parent, _after(page_token, filter_text)
                    )
                ),
                lambda entity: predicate(entity.doc),
                self._tuning_view,
                page_size,
                page_token,
                filter_text,
            )

    def cancel_tuning_job(self, name: str) -> None:
        """Cancel a tuning job that has not ended: CANCELLED, its open trials' jobs cancelled."""
        with self._session() as now:
            tuning = self._tuning(name)
            if tuning.state == CANCELLING:
                return  # being cancelled already
            if tuning.state not in ACTIVE:
                raise failed_precondition(
                    f"Cannot cancel HyperparameterTuningJob {name}: it is already in the"
                    f" terminal state {tuning.state}."
                )
            if self.hold_cancellations:
                # its open trials stop with it: their jobs keep their replicas until then
                self._refresh_trials(tuning.doc)
                for trial in tuning.doc.get("trials", []):
                    job = self._store.get(trial["customJob"])
                    if job is not None and job.state in ACTIVE:
                        self._set_job_state(job, CANCELLING, now)
                        job.due = None
                        self._store.update(job)
                self._set_job_state(tuning, CANCELLING, now)
                tuning.due = None
                self._store.update(tuning)
                return
            self._end_tuning(tuning, CANCELLED, now, {"code": 1, "message": "CANCELED"})

    def delete_tuning_job(self, name: str, version: str = "v1") -> Operation:
        """Delete a tuning job that has ended, and its trials' custom jobs."""
        with self._session() as now:
            tuning = self._tuning(name)
            if tuning.state in UNENDED:
                raise failed_precondition(
                    f"HyperparameterTuningJob {name} is {tuning.state}; cancel it before"
                    " deleting it."
                )
            for trial_job in list(self._store.children("job", name)):
                self._store.delete(trial_job.name)
            self._store.delete(name)
            operation = self._new_operation(
                tuning.parent,
                None,
                now,
                "DeleteOperationMetadata",
                "google.protobuf.Empty",
                version,
            )
            self._finish_operation(operation.name, now, response={})
            return self._operation(operation.name)

    def _tuning(self, name: str) -> Entity:
        tuning = self._store.get(name)
        if tuning is None or tuning.kind != "tuning":
            raise not_found(name, "HyperparameterTuningJob")
        return tuning

    def _tuning_view(self, tuning: Entity) -> dict[str, Any]:
        view = copy.deepcopy(tuning.doc)
        self._refresh_trials(view)
        return view

    def _refresh_trials(self, doc: dict[str, Any]) -> None:
        """Bring the trials that have not ended up to date with their custom jobs."""
        for trial in doc.get("trials", []):
            if trial["state"] in tuning_rules.ENDED:
                continue
            job = self._store.get(trial["customJob"])
            if job is None:  # deleted from under its trial; it cannot report anything
                trial.update(state=tuning_rules.INFEASIBLE, infeasibleReason="Job deleted.")
                continue
            trial["state"] = tuning_rules.trial_state(job.state)
            if trial["state"] == tuning_rules.SUCCEEDED:
                trial["finalMeasurement"] = tuning_rules.final_measurement(
                    doc.get("studySpec", {}), int(trial["id"])
                )
            elif trial["state"] == tuning_rules.INFEASIBLE:
                trial["infeasibleReason"] = str(job.doc.get("error", {}).get("message", ""))
            if trial["state"] in tuning_rules.ENDED:
                trial["endTime"] = job.doc.get("endTime", doc.get("updateTime", ""))

    def _tuning_due(self, tuning: Entity, at: float) -> None:
        """Start the tuning job, or take its ended trials' results: start the next trials
        while fewer than `parallelTrialCount` are open, end the job when every trial has."""
        tuning.due = None
        if tuning.state == PENDING:
            self._set_job_state(tuning, RUNNING, at)
            tuning.doc["startTime"] = rfc3339(at)
        if tuning.state != RUNNING:
            self._store.update(tuning)
            return
        doc = tuning.doc
        self._refresh_trials(doc)
        trials: list[dict[str, Any]] = doc.setdefault("trials", [])
        ended = [t for t in trials if t["state"] in tuning_rules.ENDED]
        failed = sum(1 for t in ended if t["state"] == tuning_rules.INFEASIBLE)
        most_failed = int(doc.get("maxFailedTrialCount") or 0)
        most_trials = int(doc["maxTrialCount"])
        if most_failed and failed >= most_failed:
            self._end_tuning(
                tuning,
                FAILED,
                at,
                {
                    "code": 9,
                    "message": f"{failed} failed {'trial' if failed == 1 else 'trials'}"
                    f" reached max_failed_trial_count ({most_failed}).",
                },
            )
            return
        if len(ended) >= most_trials:
            if failed == len(ended):
                error = {"code": 9, "message": f"All {failed} trials failed."}
                self._end_tuning(tuning, FAILED, at, error)
            else:
                self._end_tuning(tuning, SUCCEEDED, at, None)
            return
        open_trials = len(trials) - len(ended)
        while open_trials < int(doc["parallelTrialCount"]) and len(trials) < most_trials:
            try:
                self._start_trial(tuning, len(trials) + 1, at)
            except ApiError as refusal:
                # the resource changed (deleted, broken, resized) so that no trial can run
                error = {"code": 9, "message": _as_trial_refusal(refusal).message}
                self._end_tuning(tuning, FAILED, at, error)
                return
            open_trials += 1
        doc["updateTime"] = rfc3339(at)
        self._store.update(tuning)

    def _start_trial(self, tuning: Entity, number: int, at: float) -> None:
        """Create trial `number`'s custom job (started, queued or refused like any job)."""
        location = tuning.parent
        job_id = self._new_id(f"{location}/customJobs/")
        job_doc = _trial_doc(tuning.doc, number, failed=number in tuning.sys.get("failed", []))
        job_doc.update(name=f"{location}/customJobs/{job_id}", createTime=rfc3339(at))
        # a trial's job is reached from its trial (and by name), not listed with custom jobs
        job = Entity(job_doc["name"], "job", tuning.name, job_doc)
        labels: Mapping[str, str] = job_doc.get("labels", {})
        job.sys.update(
            duration=_duration(labels, self.settings.job_duration),
            outcome=_outcome(labels),
            tuning=tuning.name,
        )
        if ERROR_LABEL in labels:
            job.sys["errorMessage"] = labels[ERROR_LABEL]
        self._place_job(job, location, at)
        self._store.insert(job)
        tuning.doc.setdefault("trials", []).append(
            {
                "id": str(number),
                "state": tuning_rules.trial_state(job.state),
                "parameters": tuning_rules.parameters(
                    tuning.doc.get("studySpec", {}), number, int(tuning.doc["maxTrialCount"])
                ),
                "startTime": rfc3339(at),
                "customJob": job.name,
            }
        )

    def _end_tuning(
        self, tuning: Entity, state: str, at: float, error: Mapping[str, Any] | None
    ) -> None:
        """End a tuning job; the jobs of its open trials are cancelled, their replicas freed."""
        self._refresh_trials(tuning.doc)
        resources: list[str] = []
        for trial in tuning.doc.get("trials", []):
            if trial["state"] in tuning_rules.ENDED:
                continue
            job = self._store.get(trial["customJob"])
            if job is not None and job.state in UNENDED:
                self._end_job(job, CANCELLED, at, notify=False)
                job.doc["error"] = {"code": 1, "message": "CANCELED"}
                self._store.update(job)
                if job.resource and job.resource not in resources:
                    resources.append(job.resource)
            trial.update(
                state=tuning_rules.INFEASIBLE,
                infeasibleReason="The hyperparameter tuning job ended before the trial did.",
                endTime=rfc3339(at),
            )
        self._set_job_state(tuning, state, at)
        tuning.doc["endTime"] = rfc3339(at)
        tuning.doc.setdefault("startTime", rfc3339(at))
        if error is not None:
            tuning.doc["error"] = dict(error)
        tuning.due = None
        self._store.update(tuning)
        for name in resources:
            self._admit_queued(name, at)

    # ---------------------------------------------------------------- operations

    def get_operation(self, location: str, operation_id: str, under: str | None) -> Operation:
        """An operation by id; `under` is the resource name when asked at a nested path."""
        with self._session():
            name = f"{location}/operations/{operation_id}"
            found = self._store.get(name)
            if found is None or found.kind != "operation":
                raise not_found(f"{under or location}/operations/{operation_id}", "Operation")
            if under is not None and found.doc["name"] != f"{under}/operations/{operation_id}":
                raise not_found(f"{under}/operations/{operation_id}", "Operation")
            return self._operation(name)

    def _new_operation(
        self,
        location: str,
        target: str | None,
        at: float,
        metadata_type: str,
        response_type: str,
        version: str,
        progress: str | None = None,
    ) -> Entity:
        operation_id = self._new_id(f"{location}/operations/")
        metadata: dict[str, Any] = {
            "genericMetadata": {"createTime": rfc3339(at), "updateTime": rfc3339(at)}
        }
        if progress:
            metadata["progressMessage"] = progress
        doc = {
            "name": f"{target or location}/operations/{operation_id}",
            "metadata": metadata,
        }
        operation = Entity(
            f"{location}/operations/{operation_id}",
            "operation",
            location,
            doc,
            sys={
                "metadataType": metadata_type,
                "responseType": response_type,
                "version": version,
            },
        )
        return self._store.insert(operation)

    def _finish_operation(
        self,
        name: str | None,
        at: float,
        *,
        response: Mapping[str, Any] | None = None,
        error: Mapping[str, Any] | None = None,
    ) -> None:
        operation = self._store.get(name) if name else None
        if operation is None or operation.doc.get("done"):
            return
        operation.doc["done"] = True
        operation.doc["metadata"]["genericMetadata"]["updateTime"] = rfc3339(at)
        operation.doc["metadata"].pop("progressMessage", None)
        if error is not None:
            operation.doc["error"] = dict(error)
        else:
            operation.doc["response"] = copy.deepcopy(dict(response or {}))
        self._store.update(operation)

    def _operation(self, name: str) -> Operation:
        found = self._store.get(name)
        assert found is not None, name
        return Operation(
            copy.deepcopy(found.doc),
            found.sys["metadataType"],
            found.sys["responseType"],
            found.sys["version"],
        )

    # ---------------------------------------------------------------- the rest

    def _new_id(self, prefix: str) -> str:
        # numeric ids of the size Vertex AI gives jobs and operations
        while True:
            candidate = str(self._ids.randrange(10**18, 2**63))
            if self._store.get(prefix + candidate) is None:
                return candidate

    def reset(self) -> None:
        """Forget every resource, job and operation."""
        with self._lock, self._store.transaction():
            self._store.clear()

    def close(self) -> None:
        """Close the store."""
        with self._lock:
            self._store.close()


# -------------------------------------------------------------------- documents


def _new_resource_doc(name: str, body: Mapping[str, Any], at: float) -> dict[str, Any]:
    doc = {key: copy.deepcopy(value) for key, value in body.items() if key in _RESOURCE_INPUT}
    pools = doc.get("resourcePools") or []
    if not pools:
        raise invalid(
            "persistent_resource.resource_pools must have at least one resource pool.",
            "persistent_resource.resource_pools",
        )
    used_ids: set[str] = set()
    for index, pool in enumerate(pools):
        _check_resource_pool(pool, f"persistent_resource.resource_pools[{index}]")
        pool.pop("usedReplicaCount", None)
        if "id" not in pool:
            pool["id"] = _pool_id(pool["machineSpec"], used_ids)
        elif pool["id"] in used_ids:
            raise invalid(
                f'Resource pool id "{pool["id"]}" is used twice.',
                f"persistent_resource.resource_pools[{index}].id",
            )
        used_ids.add(pool["id"])
        _check_machine_and_disk(pool, f"persistent_resource.resource_pools[{index}]")
    _check_labels(doc.get("labels", {}), "persistent_resource.labels")
    doc.update(
        name=name,
        createTime=rfc3339(at),
        updateTime=rfc3339(at),
        resourceRuntime={},
    )
    return doc


_RESOURCE_INPUT = (
    "displayName",
    "resourcePools",
    "labels",
    "network",
    "pscInterfaceConfig",
    "encryptionSpec",
    "resourceRuntimeSpec",
    "reservedIpRanges",
)


def _check_resource_pool(pool: dict[str, Any], where: str) -> None:
    machine = pool.get("machineSpec") or {}
    if not machine.get("machineType"):
        raise invalid(
            f"{where}.machine_spec.machine_type is required.", f"{where}.machine_spec.machine_type"
        )
    _check_accelerator(machine, f"{where}.machine_spec")
    if "id" in pool and not _RESOURCE_ID.match(pool["id"]):
        raise invalid(f'Invalid resource pool id "{pool["id"]}".', f"{where}.id")
    replicas = int(pool.get("replicaCount", "0"))
    scaling = pool.get("autoscalingSpec")
    if scaling is not None:
        low = int(scaling.get("minReplicaCount", "0"))
        high = int(scaling.get("maxReplicaCount", "0"))
        if low < 1 or high < low:
            raise invalid(
                f"{where}.autoscaling_spec needs 1 <= min_replica_count <= max_replica_count;"
                f" got {low} and {high}.",
                f"{where}.autoscaling_spec",
            )
        if replicas == 0:
            pool["replicaCount"] = str(low)
        elif not low <= replicas <= high:
            raise invalid(
                f"{where}.replica_count {replicas} is outside the autoscaling range {low}..{high}.",
                f"{where}.replica_count",
            )
    elif replicas < 1:
        raise invalid(
            f"{where}.replica_count must be at least 1 (or set autoscaling_spec).",
            f"{where}.replica_count",
        )


def _check_accelerator(machine: Mapping[str, Any], where: str) -> None:
    accelerator = machine.get("acceleratorType", "ACCELERATOR_TYPE_UNSPECIFIED")
    count = int(machine.get("acceleratorCount", 0))
    if count < 0:
        raise invalid(f"{where}.accelerator_count must not be negative.", where)
    if count > 0 and accelerator == "ACCELERATOR_TYPE_UNSPECIFIED":
        raise invalid(f"{where}.accelerator_type is required with accelerator_count.", where)


def _pool_id(machine: Mapping[str, Any], used: set[str]) -> str:
    parts = [machine["machineType"]]
    accelerator = machine.get("acceleratorType", "ACCELERATOR_TYPE_UNSPECIFIED")
    if accelerator != "ACCELERATOR_TYPE_UNSPECIFIED":
        parts += [accelerator.lower().replace("_", "-"), str(machine.get("acceleratorCount", 0))]
    base = "-".join(parts).lower()[:55].strip("-")
    candidate, number = base, 1
    while candidate in used:
        number += 1
        candidate = f"{base}-pool-{number}"
    return candidate


def _check_machine_and_disk(pool: dict[str, Any], where: str) -> None:
    """Refuse a machine type or boot disk type the service does not offer, then fill in the
    disk defaults (`machines`), as a GET shows them."""
    field = where.split(".", 1)[1]  # the service names fields from inside the request's message
    machine_type = pool["machineSpec"]["machineType"]
    disk = pool.setdefault("diskSpec", {})
    wrong: list[tuple[str, str]] = []
    if not is_machine_type(machine_type):
        wrong.append(
            (
                f"{field}.machine_spec.machine_type",
                f'Machine type "{machine_type}" is not supported.',
            )
        )
    disk_type = disk.get("bootDiskType")
    if disk_type and disk_type not in BOOT_DISK_TYPES:
        wrong.append(
            (
                f"{field}.disk_spec.boot_disk_type",
                f'Boot disk type "{disk_type}" is not supported; the supported types are'
                f" {', '.join(BOOT_DISK_TYPES)}.",
            )
        )
    if int(disk.get("bootDiskSizeGb", 0)) < 0:
        wrong.append(
            (f"{field}.disk_spec.boot_disk_size_gb", "Boot disk size must not be negative.")
        )
    if wrong:
        raise found_errors(wrong)
    if not disk_type:
        disk["bootDiskType"] = default_boot_disk_type(machine_type)
    if not disk.get("bootDiskSizeGb"):
        disk["bootDiskSizeGb"] = DEFAULT_BOOT_DISK_SIZE_GB


def _check_labels(labels: Mapping[str, str], where: str) -> None:
    if len(labels) > 64:
        raise invalid(f"{where} has {len(labels)} labels; at most 64 are allowed.", where)
    for key, value in labels.items():
        if not _LABEL_KEY.match(key):
            raise invalid(f'Invalid label key "{key}".', f"{where}[{key!r}]")
        if not _LABEL_VALUE.match(value):
            raise invalid(f'Invalid value "{value}" of label "{key}".', f"{where}[{key!r}]")


_JOB_INPUT = ("displayName", "jobSpec", "labels", "encryptionSpec")


def _new_job_doc(name: str, body: Mapping[str, Any], at: float) -> dict[str, Any]:
    doc = {key: copy.deepcopy(value) for key, value in body.items() if key in _JOB_INPUT}
    if not doc.get("displayName"):
        raise invalid("custom_job.display_name is required.", "custom_job.display_name")
    spec = doc.get("jobSpec")
    if spec is None:
        raise invalid("custom_job.job_spec is required.", "custom_job.job_spec")
    pools = spec.get("workerPoolSpecs") or []
    if not pools or not pools[0]:
        raise invalid(
            "custom_job.job_spec.worker_pool_specs[0] is required: the first worker pool"
            " must not be empty.",
            "custom_job.job_spec.worker_pool_specs",
        )
    for index, pool in enumerate(pools):
        if pool:
            _check_worker_pool(pool, f"custom_job.job_spec.worker_pool_specs[{index}]")
    labels = doc.get("labels", {})
    _check_labels(labels, "custom_job.labels")
    _duration(labels, 0.0)
    _outcome(labels)
    doc.update(name=name, createTime=rfc3339(at), updateTime=rfc3339(at))
    return doc


_TUNING = "hyperparameter_tuning_job"
_TUNING_INPUT = (
    "displayName",
    "studySpec",
    "maxTrialCount",
    "parallelTrialCount",
    "maxFailedTrialCount",
    "trialJobSpec",
    "labels",
    "encryptionSpec",
)


def _new_tuning_doc(name: str, body: Mapping[str, Any], at: float) -> dict[str, Any]:
    doc = {key: copy.deepcopy(value) for key, value in body.items() if key in _TUNING_INPUT}
    if not doc.get("displayName"):
        raise invalid(f"{_TUNING}.display_name is required.", f"{_TUNING}.display_name")
    if "studySpec" not in doc:
        raise invalid(f"{_TUNING}.study_spec is required.", f"{_TUNING}.study_spec")
    tuning_rules.check_study_spec(doc["studySpec"], f"{_TUNING}.study_spec")
    for field in ("maxTrialCount", "parallelTrialCount"):
        proto = re.sub(r"([A-Z])", r"_\1", field).lower()
        if int(doc.get(field) or 0) < 1:
            raise invalid(f"{_TUNING}.{proto} must be positive.", f"{_TUNING}.{proto}")
    if int(doc.get("maxFailedTrialCount") or 0) < 0:
        raise invalid(
            f"{_TUNING}.max_failed_trial_count must not be negative.",
            f"{_TUNING}.max_failed_trial_count",
        )
    spec = doc.get("trialJobSpec")
    if spec is None:
        raise invalid(f"{_TUNING}.trial_job_spec is required.", f"{_TUNING}.trial_job_spec")
    pools = spec.get("workerPoolSpecs") or []
    if not pools or not pools[0]:
        raise invalid(
            f"{_TUNING}.trial_job_spec.worker_pool_specs[0] is required: the first worker pool"
            " must not be empty.",
            f"{_TUNING}.trial_job_spec.worker_pool_specs",
        )
    for index, pool in enumerate(pools):
        if pool:
            _check_worker_pool(pool, f"{_TUNING}.trial_job_spec.worker_pool_specs[{index}]")
    labels = doc.get("labels", {})
    _check_labels(labels, f"{_TUNING}.labels")
    _duration(labels, 0.0)
    _outcome(labels)
    tuning_rules.failed_trials(labels)
    doc.update(name=name, createTime=rfc3339(at), updateTime=rfc3339(at))
    return doc


def _trial_doc(tuning: Mapping[str, Any], number: int, *, failed: bool = False) -> dict[str, Any]:
    """The CustomJob that runs trial `number` of a tuning job: its trial job spec, labels and
    CMEK key; `failed` makes it fail (`emulator-failed-trials` named it)."""
    labels = {
        key: value
        for key, value in tuning.get("labels", {}).items()
        if key != tuning_rules.FAILED_TRIALS_LABEL
    }
    if failed:
        labels[OUTCOME_LABEL] = "failed"
    doc: dict[str, Any] = {
        "displayName": f"{tuning.get('displayName', '')}-trial-{number}",
        "jobSpec": copy.deepcopy(tuning["trialJobSpec"]),
    }
    if labels:
        doc["labels"] = labels
    if "encryptionSpec" in tuning:
        doc["encryptionSpec"] = copy.deepcopy(tuning["encryptionSpec"])
    return doc


def _as_trial_refusal(refusal: ApiError) -> ApiError:
    """A refusal of a trial's custom job, with the fields named as in the tuning job."""
    if not refusal.violations:
        return refusal
    violations = [
        (f"trial_{field}" if field.startswith("job_spec") else field, text)
        for field, text in refusal.violations
    ]
    return found_errors(violations)


def _check_worker_pool(pool: dict[str, Any], where: str) -> None:
    machine = pool.get("machineSpec") or {}
    if not machine.get("machineType"):
        raise invalid(
            f"{where}.machine_spec.machine_type is required.", f"{where}.machine_spec.machine_type"
        )
    _check_accelerator(machine, f"{where}.machine_spec")
    if int(pool.get("replicaCount", "0")) < 1:
        raise invalid(f"{where}.replica_count must be at least 1.", f"{where}.replica_count")
    tasks = [key for key in ("containerSpec", "pythonPackageSpec") if key in pool]
    if len(tasks) != 1:
        raise invalid(
            f"{where} must set exactly one of container_spec and python_package_spec.", where
        )
    _check_machine_and_disk(pool, where)


def _duration(labels: Mapping[str, str], default: float) -> float:
    text = labels.get(DURATION_LABEL)
    if text is None:
        return default
    if not text.isdigit():
        raise invalid(
            f'Label "{DURATION_LABEL}" must be a whole number of seconds, not "{text}".',
            f"custom_job.labels[{DURATION_LABEL!r}]",
        )
    return float(text)


def _steer_resource(resource: Entity) -> None:
    """Read a new resource's steering labels: how it settles, and its error message."""
    labels: Mapping[str, str] = resource.doc.get("labels", {})
    text = labels.get(OUTCOME_LABEL, "running")
    if text not in _RESOURCE_OUTCOMES:
        raise invalid(
            f'Label "{OUTCOME_LABEL}" must be one of {sorted(_RESOURCE_OUTCOMES)}, not "{text}".',
            f"persistent_resource.labels[{OUTCOME_LABEL!r}]",
        )
    resource.sys["outcome"] = _RESOURCE_OUTCOMES[text]
    if ERROR_LABEL in labels:
        resource.sys["errorMessage"] = labels[ERROR_LABEL]


def _outcome(labels: Mapping[str, str]) -> str:
    text = labels.get(OUTCOME_LABEL, "succeeded")
    if text not in _OUTCOMES:
        raise invalid(
            f'Label "{OUTCOME_LABEL}" must be one of {sorted(_OUTCOMES)}, not "{text}".',
            f"custom_job.labels[{OUTCOME_LABEL!r}]",
        )
    return _OUTCOMES[text]


def _page(
    rows: Iterable[tuple[int, T]],
    keep: Callable[[T], bool],
    view: Callable[[T], dict[str, Any]],
    page_size: int,
    page_token: str,
    query: str,
) -> Page:
    """One page of the (seq, item) `rows` that `keep` keeps, read no further than a page."""
    if page_size < 0:
        raise invalid("page_size must not be negative.", "page_size")
    size = min(page_size or _DEFAULT_PAGE_SIZE, _MAX_PAGE_SIZE)
    shown: list[tuple[int, T]] = []
    for seq, item in rows:
        if not keep(item):
            continue
        if len(shown) == size:  # one more exists: the page ends here, with a token
            raw = json.dumps({"after": shown[-1][0], "query": query}).encode()
            token = base64.urlsafe_b64encode(raw).decode().rstrip("=")
            return Page([view(i) for _, i in shown], token)
        shown.append((seq, item))
    return Page([view(i) for _, i in shown], "")


def _after(page_token: str, query: str = "") -> int:
    """The seq a page starts after: 0 for the first page, else what its token says."""
    return _read_token(page_token, query) if page_token else 0


def _read_token(token: str, query: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        content = json.loads(raw)
        after = content["after"]
        same_query = content["query"] == query
    except (binascii.Error, ValueError, KeyError, TypeError, RecursionError):
        raise invalid(f'Invalid page_token "{token[:200]}".', "page_token") from None
    # a token is opaque, but anybody can forge one: only what _page writes is read back
    if type(after) is not int or not 0 <= after < 2**63:
        raise invalid(f'Invalid page_token "{token[:200]}".', "page_token")
    if not same_query:
        raise invalid("The page_token was made for another filter.", "page_token")
    return after
