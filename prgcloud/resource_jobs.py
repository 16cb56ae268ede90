"""The jobs on a persistent resource: which are there, in which state, with which replicas.

Two kinds of job run on a resource: custom jobs (`jobSpec.persistentResourceId`) and
hyperparameter tuning jobs, whose trials run there as custom jobs
(`trialJobSpec.persistentResourceId`). A trial's custom job is not listed among the custom
jobs (Vertex AI's reference names it only in the trial's `customJob`; the emulator does the
same), so the tuning jobs are listed too.

The API cannot filter jobs by persistent resource, so each list is filtered by state on the
server (`state="JOB_STATE_RUNNING" OR ...`: one page holds 100 jobs, and finished jobs,
usually most of a project's, never travel) and matched on the resource here.
`jobs_on_resource` and `tuning_jobs_on_resource` are those matches, pure functions;
`list_jobs_on_resource` reads both. `persistent-resources delete` and `reboot` refuse while
any such job exists; `capacity --jobs` shows them.

A job QUEUED on the resource holds no replicas yet; PENDING and RUNNING ones do. All three
end if the resource is deleted, and the ones holding replicas if it is rebooted.

A tuning job holds, per worker pool, one trial's replicas for each trial that runs. The API
lists its trials with their states: the trials ACTIVE or STOPPING count (their custom jobs
were started; REQUESTED ones were not yet). A tuning job that lists no trial with a state (it
has not started them, or the answer left them out) counts `parallelTrialCount` trials, the
most that run at once; `Trials.counted_from` says which count it is.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from prgcloud import vertex
from prgcloud.precheck.rules import match_key

QUEUED, PENDING, RUNNING = "JOB_STATE_QUEUED", "JOB_STATE_PENDING", "JOB_STATE_RUNNING"
CUSTOM_JOB, TUNING_JOB = "customJob", "hyperparameterTuningJob"
# The states of a trial whose custom job was started (Trial.State: REQUESTED is not yet).
RUNNING_TRIAL_STATES = ("ACTIVE", "STOPPING")
FROM_TRIALS, FROM_PARALLEL_TRIAL_COUNT = "trials", "parallelTrialCount"
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
    per_trial: int | None = None  # a tuning job's: the replicas of one trial

    def __str__(self) -> str:
        where = f" on pool {self.resource_pool}" if self.resource_pool else ""
        each = f" ({self.per_trial} per trial)" if self.per_trial is not None else ""
        return f"{_replicas(self.replicas)} of {self.machine}{where}{each}"


@dataclass(frozen=True)
class Trials:
    """How many trials of a tuning job hold replicas: `count`, and where that count comes from
    (`FROM_TRIALS`: its ACTIVE and STOPPING trials; `FROM_PARALLEL_TRIAL_COUNT`: it lists no
    trial, so the most that run at once)."""

    count: int
    counted_from: str

    def __str__(self) -> str:
        plural = "trial" if self.count == 1 else "trials"
        if self.counted_from == FROM_TRIALS:
            return f"{self.count} {plural} running"
        return f"up to {self.count} {plural} at once (its parallelTrialCount; it lists no trials)"


@dataclass(frozen=True)
class JobOnResource:
    """A custom job, or a hyperparameter tuning job, queued or running on the persistent
    resource; a tuning job's `pools` hold its `trials`' replicas."""

    name: str  # projects/P/locations/R/customJobs/ID (or hyperparameterTuningJobs/ID)
    display_name: str
    state: str
    pools: tuple[WorkerPool, ...]
    kind: str = CUSTOM_JOB
    trials: Trials | None = None  # a tuning job's

    @property
    def holds_replicas(self) -> bool:
        """Whether the job holds its replicas now (PENDING or RUNNING)."""
        return self.state in HOLDING_STATES

    def as_dict(self) -> dict[str, Any]:
        """The job as JSON for `--format` (camelCase, as the API names things); a tuning
        job's also has `trials` (`running`, `countedFrom`) and each pool's
        `replicaCountPerTrial`."""
        shown: dict[str, Any] = {
            "name": self.name,
            "kind": self.kind,
            "displayName": self.display_name,
            "state": self.state,
            "workerPools": [],
        }
        for pool in self.pools:
            worker_pool: dict[str, Any] = {
                "index": pool.index,
                "replicaCount": pool.replicas,
                "machineType": pool.machine,
                "resourcePoolId": pool.resource_pool or None,
            }
            if pool.per_trial is not None:
                worker_pool["replicaCountPerTrial"] = pool.per_trial
            shown["workerPools"].append(worker_pool)
        if self.trials is not None:
            shown["trials"] = {
                "running": self.trials.count,
                "countedFrom": self.trials.counted_from,
            }
        return shown


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
    keyed = _keyed(resource_pools)
    found: list[tuple[str, JobOnResource]] = []
    for job in jobs:
        spec = _mapping(job.get("jobSpec"))
        if spec.get("persistentResourceId") != resource_id or job.get("state") not in states:
            continue
        on_resource = JobOnResource(
            name=str(job.get("name") or ""),
            display_name=str(job.get("displayName") or ""),
            state=str(job.get("state") or ""),
            pools=tuple(_pools(spec, keyed)),
        )
        found.append((str(job.get("createTime") or ""), on_resource))
    return _oldest_first(found)


def tuning_jobs_on_resource(
    jobs: Iterable[Mapping[str, Any]],
    resource_id: str,
    *,
    states: Sequence[str] = ACTIVE_STATES,
    resource_pools: Sequence[Mapping[str, Any]] = (),
) -> list[JobOnResource]:
    """The tuning jobs among `jobs` (HyperparameterTuningJob JSON) in `states` whose
    `trialJobSpec.persistentResourceId` is `resource_id`, oldest first, each worker pool
    holding one trial's replicas per trial counted (see `Trials`)."""
    keyed = _keyed(resource_pools)
    found: list[tuple[str, JobOnResource]] = []
    for job in jobs:
        spec = _mapping(job.get("trialJobSpec"))
        if spec.get("persistentResourceId") != resource_id or job.get("state") not in states:
            continue
        trials = _trials(job)
        pools = tuple(
            WorkerPool(
                pool.index,
                pool.replicas * trials.count,
                pool.machine,
                pool.resource_pool,
                per_trial=pool.replicas,
            )
            for pool in _pools(spec, keyed)
        )
        on_resource = JobOnResource(
            name=str(job.get("name") or ""),
            display_name=str(job.get("displayName") or ""),
            state=str(job.get("state") or ""),
            pools=pools,
            kind=TUNING_JOB,
            trials=trials,
        )
        found.append((str(job.get("createTime") or ""), on_resource))
    return _oldest_first(found)


def list_jobs_on_resource(
    reader: vertex.Reader,
    resource_id: str,
    *,
    states: Sequence[str] = ACTIVE_STATES,
    resource_pools: Sequence[Mapping[str, Any]] = (),
) -> list[JobOnResource]:
    """The custom jobs, then the hyperparameter tuning jobs, in `states` on persistent
    resource `resource_id` of the reader's location, each kind oldest first, read through
    `reader` (PrecheckFailedError, exit 4, when they cannot be)."""
    listed = reader.list_custom_jobs(state_filter(states))
    tuning = reader.list_hp_tuning_jobs(state_filter(states))
    return [
        *jobs_on_resource(listed, resource_id, states=states, resource_pools=resource_pools),
        *tuning_jobs_on_resource(tuning, resource_id, states=states, resource_pools=resource_pools),
    ]


def format_jobs(jobs: Sequence[JobOnResource]) -> str:
    """One line per job: its name, display name and state, then its replicas per pool."""
    lines = []
    for job in jobs:
        label = f"{job.name} ({job.display_name})" if job.display_name else job.name
        replicas = "; ".join(f"pool {pool.index}: {pool}" for pool in job.pools) or "no replicas"
        trials = f"tuning job, {job.trials}: " if job.trials is not None else ""
        lines.append(f"  {label}: {job.state.removeprefix('JOB_STATE_')}, {trials}{replicas}")
    return "\n".join(lines)


def _keyed(resource_pools: Sequence[Mapping[str, Any]]) -> list[tuple[str, Mapping[str, Any]]]:
    """Each resource pool's id (or `#INDEX`) and match key."""
    return [
        (
            str(pool.get("id") or f"#{index}"),
            match_key(_mapping(pool.get("machineSpec")), _mapping(pool.get("diskSpec"))),
        )
        for index, pool in enumerate(resource_pools)
    ]


def _pools(
    spec: Mapping[str, Any], keyed: Sequence[tuple[str, Mapping[str, Any]]]
) -> list[WorkerPool]:
    """The worker pools of a job spec that run something, each with its resource pool."""
    pools = []
    for index, raw in enumerate(spec.get("workerPoolSpecs") or []):
        pool = _mapping(raw)
        machine = _mapping(pool.get("machineSpec"))
        if not machine.get("machineType"):
            continue  # a placeholder pool (`{}`) runs nothing
        key = match_key(machine, _mapping(pool.get("diskSpec")))
        on = next((pool_id for pool_id, offered in keyed if offered == key), "")
        pools.append(WorkerPool(index, _int(pool.get("replicaCount"), 1), _machine(key), on))
    return pools


def _trials(job: Mapping[str, Any]) -> Trials:
    """How many of a tuning job's trials hold replicas (see `Trials`)."""
    listed = [_mapping(trial) for trial in job.get("trials") or []]
    if any(trial.get("state") for trial in listed):
        running = sum(1 for trial in listed if trial.get("state") in RUNNING_TRIAL_STATES)
        return Trials(running, FROM_TRIALS)
    return Trials(_int(job.get("parallelTrialCount"), 1), FROM_PARALLEL_TRIAL_COUNT)


def _oldest_first(found: list[tuple[str, JobOnResource]]) -> list[JobOnResource]:
    found.sort(key=lambda created_job: (created_job[0], created_job[1].name))
    return [job for _created, job in found]


def _replicas(count: int) -> str:
    return f"{count} replica" if count == 1 else f"{count} replicas"


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
