"""The custom jobs on a persistent resource: which are there, in which state, with which replicas.

The API cannot filter custom jobs by persistent resource, so the list is filtered by state on
the server (`state="JOB_STATE_RUNNING" OR ...`: one page holds 100 jobs, and finished jobs,
usually most of a project's, never travel) and matched on `jobSpec.persistentResourceId`
here. `jobs_on_resource` is that match, a pure function; `list_jobs_on_resource` reads.
`persistent-resources delete` and `reboot` refuse while any such job exists;
`capacity --jobs` shows them.

A job QUEUED on the resource holds no replicas yet; PENDING and RUNNING ones do. All three
end if the resource is deleted, and the ones holding replicas if it is rebooted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from prgcloud import vertex
from prgcloud.precheck.rules import match_key

QUEUED, PENDING, RUNNING = "JOB_STATE_QUEUED", "JOB_STATE_PENDING", "JOB_STATE_RUNNING"
# The states of a job that holds replicas of its resource, or waits for them.
ACTIVE_STATES = (QUEUED, PENDING, RUNNING)
HOLDING_STATES = (PENDING, RUNNING)


@dataclass(frozen=True)
class WorkerPool:
    """One worker pool of a job: its replicas, its machine, and the resource pool it matches
    (`resource_pool` is "" when the resource's pools were not given, or none matches)."""

    index: int
    replicas: int
    machine: str
    resource_pool: str = ""

    def __str__(self) -> str:
        where = f" on pool {self.resource_pool}" if self.resource_pool else ""
        plural = "replica" if self.replicas == 1 else "replicas"
        return f"{self.replicas} {plural} of {self.machine}{where}"


@dataclass(frozen=True)
class JobOnResource:
    """A custom job queued or running on the persistent resource."""

    name: str  # projects/P/locations/R/customJobs/ID
    display_name: str
    state: str
    pools: tuple[WorkerPool, ...]

    @property
    def holds_replicas(self) -> bool:
        """Whether the job holds its replicas now (PENDING or RUNNING)."""
        return self.state in HOLDING_STATES

    def as_dict(self) -> dict[str, Any]:
        """The job as JSON for `--format` (camelCase, as the API names things)."""
        return {
            "name": self.name,
            "displayName": self.display_name,
            "state": self.state,
            "workerPools": [
                {
                    "index": pool.index,
                    "replicaCount": pool.replicas,
                    "machineType": pool.machine,
                    "resourcePoolId": pool.resource_pool or None,
                }
                for pool in self.pools
            ],
        }


def state_filter(states: Sequence[str] = ACTIVE_STATES) -> str:
    """The list filter that keeps jobs in `states`: `state="A" OR state="B"`."""
    return " OR ".join(f'state="{state}"' for state in states)


def jobs_on_resource(
    jobs: Iterable[Mapping[str, Any]],
    resource_id: str,
    *,
    states: Sequence[str] = ACTIVE_STATES,
    resource_pools: Sequence[Mapping[str, Any]] = (),
) -> list[JobOnResource]:
    """The jobs among `jobs` (CustomJob JSON) in `states` whose `jobSpec.persistentResourceId`
    is `resource_id`, oldest first; each worker pool is matched to the first of
    `resource_pools` (the resource's JSON pools) with its machine and boot disk."""
    keyed = [
        (
            str(pool.get("id") or f"#{index}"),
            match_key(_mapping(pool.get("machineSpec")), _mapping(pool.get("diskSpec"))),
        )
        for index, pool in enumerate(resource_pools)
    ]
    found: list[tuple[str, JobOnResource]] = []
    for job in jobs:
        spec = _mapping(job.get("jobSpec"))
        if spec.get("persistentResourceId") != resource_id or job.get("state") not in states:
            continue
        pools = []
        for index, raw in enumerate(spec.get("workerPoolSpecs") or []):
            pool = _mapping(raw)
            machine = _mapping(pool.get("machineSpec"))
            if not machine.get("machineType"):
                continue  # a placeholder pool (`{}`) runs nothing
            key = match_key(machine, _mapping(pool.get("diskSpec")))
            on = next((pool_id for pool_id, offered in keyed if offered == key), "")
            pools.append(WorkerPool(index, _int(pool.get("replicaCount"), 1), _machine(key), on))
        on_resource = JobOnResource(
            name=str(job.get("name") or ""),
            display_name=str(job.get("displayName") or ""),
            state=str(job.get("state") or ""),
            pools=tuple(pools),
        )
        found.append((str(job.get("createTime") or ""), on_resource))
    found.sort(key=lambda created_job: (created_job[0], created_job[1].name))
    return [job for _created, job in found]


def list_jobs_on_resource(
    reader: vertex.Reader,
    resource_id: str,
    *,
    states: Sequence[str] = ACTIVE_STATES,
    resource_pools: Sequence[Mapping[str, Any]] = (),
) -> list[JobOnResource]:
    """The custom jobs in `states` on persistent resource `resource_id` of the reader's
    location, read through `reader` (PrecheckFailedError, exit 4, when they cannot be)."""
    listed = reader.list_custom_jobs(state_filter(states))
    return jobs_on_resource(listed, resource_id, states=states, resource_pools=resource_pools)


def format_jobs(jobs: Sequence[JobOnResource]) -> str:
    """One line per job: its name, display name and state, then its replicas per pool."""
    lines = []
    for job in jobs:
        label = f"{job.name} ({job.display_name})" if job.display_name else job.name
        replicas = "; ".join(f"pool {pool.index}: {pool}" for pool in job.pools) or "no replicas"
        lines.append(f"  {label}: {job.state.removeprefix('JOB_STATE_')}, {replicas}")
    return "\n".join(lines)


def _machine(key: Mapping[str, Any]) -> str:
    text = str(key["machineSpec.machineType"])
    accelerator = str(key["machineSpec.acceleratorType"])
    if key["machineSpec.acceleratorCount"] and not accelerator.endswith("UNSPECIFIED"):
        text += f" + {key['machineSpec.acceleratorCount']} x {accelerator}"
    return text


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _int(value: Any, default: int) -> int:
    try:
        return int(str(value).strip()) if value not in (None, "") else default
    except ValueError:
        return default
