"""Helpers for the emulator's own tests: request builders, a model on a manual clock, a tiny
HTTP client. (Not named conftest: tests/conftest.py holds that module name.)"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any

from prgcloud.emulator.clock import ManualClock
from prgcloud.emulator.model import Service, Settings
from prgcloud.emulator.store import Store

PARENT = "projects/p1/locations/us-central1"
SETTINGS = Settings(provision_seconds=5, job_duration=600, pending_seconds=1, stop_seconds=1)


def gpu_pool(replicas: int = 2, **extra: Any) -> dict[str, Any]:
    """A resource pool of A100 machines (REST JSON, as gcloud sends it)."""
    return {
        "machineSpec": {
            "machineType": "a2-highgpu-1g",
            "acceleratorType": "NVIDIA_TESLA_A100",
            "acceleratorCount": 1,
        },
        "replicaCount": str(replicas),
        **extra,
    }


def cpu_pool(replicas: int = 1, **extra: Any) -> dict[str, Any]:
    """A resource pool of n1-standard-4 machines."""
    return {"machineSpec": {"machineType": "n1-standard-4"}, "replicaCount": str(replicas), **extra}


def job_body(
    *pools: Mapping[str, Any],
    resource: str | None = "pr1",
    labels: Mapping[str, str] | None = None,
    **spec: Any,
) -> dict[str, Any]:
    """A CustomJob REST body with `pools` (each a resource-pool-like machine and replicas)."""
    worker_pools = [
        {**pool, "containerSpec": {"imageUri": "gcr.io/p1/trainer"}} if pool else {}
        for pool in pools
    ]
    body: dict[str, Any] = {
        "displayName": "train",
        "jobSpec": {"workerPoolSpecs": worker_pools, **spec},
    }
    if resource:
        body["jobSpec"]["persistentResourceId"] = resource
    if labels:
        body["labels"] = dict(labels)
    return body


STUDY_SPEC = {
    "metrics": [{"metricId": "accuracy", "goal": "MAXIMIZE"}],
    "parameters": [
        {"parameterId": "lr", "doubleValueSpec": {"minValue": 0.001, "maxValue": 0.1}},
        {"parameterId": "layers", "integerValueSpec": {"minValue": "2", "maxValue": "6"}},
    ],
    "algorithm": "RANDOM_SEARCH",
}


def tuning_body(
    *pools: Mapping[str, Any],
    parallel: int = 1,
    trials: int = 1,
    resource: str | None = "pr1",
    labels: Mapping[str, str] | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """A HyperparameterTuningJob REST body whose trials run `pools` (as `job_body`'s)."""
    trial = job_body(*pools, resource=resource)
    body: dict[str, Any] = {
        "displayName": "tune",
        "studySpec": STUDY_SPEC,
        "maxTrialCount": trials,
        "parallelTrialCount": parallel,
        "trialJobSpec": trial["jobSpec"],
        **fields,
    }
    if labels:
        body["labels"] = dict(labels)
    return body


class World:
    """A `Service` on a manual clock, with its clock and store at hand."""

    def __init__(
        self, store: Store, settings: Settings = SETTINGS, clock: ManualClock | None = None
    ) -> None:
        self.clock = clock or ManualClock()
        self.store = store
        self.service = Service(store, self.clock, settings)

    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)
        self.service.tick()

    def resource(self, resource_id: str = "pr1", *pools: Mapping[str, Any], **fields: Any) -> str:
        """A RUNNING persistent resource; returns its name."""
        body = {"resourcePools": [dict(p) for p in pools or (gpu_pool(),)], **fields}
        self.service.add_resource(PARENT, resource_id, body, "RUNNING")
        return f"{PARENT}/persistentResources/{resource_id}"

    def job(self, *pools: Mapping[str, Any], **kwargs: Any) -> dict[str, Any]:
        return self.service.create_job(PARENT, job_body(*pools, **kwargs))

    def tuning(self, *pools: Mapping[str, Any], **kwargs: Any) -> str:
        """Create a hyperparameter tuning job; returns its name."""
        return str(self.service.create_tuning_job(PARENT, tuning_body(*pools, **kwargs))["name"])

    def trials(self, tuning: str) -> list[str]:
        """The states of a tuning job's trials, in order."""
        return [trial["state"] for trial in self.service.get_tuning_job(tuning).get("trials", [])]

    def state(self, job: Mapping[str, Any]) -> str:
        return str(self.service.get_job(job["name"])["state"])

    def used(self, name: str = f"{PARENT}/persistentResources/pr1") -> list[int]:
        pools = self.service.get_resource(name)["resourcePools"]
        return [int(pool["usedReplicaCount"]) for pool in pools]


def call(
    url: str,
    method: str,
    path: str,
    body: object = None,
    *,
    token: str | None = "ya29.test",
    raw: bytes | None = None,
) -> tuple[int, Any]:
    """One request to an emulator at `url`; (HTTP status, decoded JSON body)."""
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    request = urllib.request.Request(url.rstrip("/") + path, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read() or b"{}")
