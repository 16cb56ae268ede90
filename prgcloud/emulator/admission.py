"""Whether Vertex AI takes a custom job onto a persistent resource, as Google documents it.

Written from the service's documentation ("Run training jobs on a persistent resource" and the
`CustomJobSpec` reference), not from prgcloud's pre-check, so that a wrong pre-check rule shows
up as a disagreement in a rehearsal or a test instead of being echoed back:

- each worker pool runs on a resource pool whose machine spec (machine type, accelerators, TPU
  topology) and disk spec (boot disk type and size) match exactly, defaults applied;
- a worker pool asks for no more replicas than that pool's replica count, or its autoscaling
  maximum when it has one;
- the job's network and CMEK key are those of the resource, "otherwise, the job will be
  rejected";
- a resource that is STOPPING or in ERROR takes no jobs.

A job that breaks one of these is refused when it is created, with the service's "List of found
errors" wording. A job that fits, but finds the replicas in use or the resource still starting,
waits in the queue (QUEUED) until they are free; `admit` says which.

Documents are canonical REST JSON (camelCase, int64 as strings): the model's own.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from prgcloud.emulator.errors import failed_precondition, found_errors
from prgcloud.emulator.machines import DEFAULT_BOOT_DISK_SIZE_GB, default_boot_disk_type

UNSPECIFIED_ACCELERATOR = "ACCELERATOR_TYPE_UNSPECIFIED"
_TAKES_JOBS = ("RUNNING",)
_STARTING = ("PROVISIONING", "REBOOTING", "UPDATING")
# Candidate resource pools kept per worker pool when several share its spec, so that the search
# for an assignment stays small whatever a resource holds (at most 4**4 combinations).
_CANDIDATES = 4


@dataclass(frozen=True)
class Admission:
    """The service's answer to a job that it does not refuse.

    `holds` is what the job takes, replicas per resource pool id, when it runs now; None when it
    waits in the queue for replicas, or for the resource to be RUNNING.
    """

    holds: Mapping[str, int] | None

    @property
    def runs(self) -> bool:
        """Whether the job starts now."""
        return self.holds is not None


@dataclass(frozen=True)
class _Pool:
    id: str
    spec: tuple[Any, ...]
    ceiling: int
    used: int

    @property
    def free(self) -> int:
        return max(0, self.ceiling - self.used)


def admit(job: Mapping[str, Any], resource: Mapping[str, Any]) -> Admission:
    """Run, wait, or (raising `prgcloud.emulator.errors.ApiError`) refuse `job` on `resource`.

    `resource` is the persistent resource as a GET shows it, `usedReplicaCount` included.
    """
    name = str(resource.get("name", ""))
    state = str(resource.get("state", ""))
    if state not in _TAKES_JOBS and state not in _STARTING:
        reason = str((resource.get("error") or {}).get("message", ""))
        raise failed_precondition(
            f"Persistent resource {name} is in state {state} and cannot run jobs."
            + (f" Its error: {reason}" if reason else "")
        )
    spec: Mapping[str, Any] = job.get("jobSpec") or {}
    violations = list(_consistency(job, spec, resource, name))
    pools = [_resource_pool(pool) for pool in resource.get("resourcePools") or []]
    asked: list[tuple[int, int, list[_Pool]]] = []  # (worker pool index, replicas, candidates)
    for index, worker in enumerate(spec.get("workerPoolSpecs") or []):
        if not worker:
            continue  # a placeholder keeps the index free and runs nothing
        wanted = _spec(worker)
        matching = [pool for pool in pools if pool.spec == wanted]
        if not matching:
            violations.append(
                (
                    f"job_spec.worker_pool_specs[{index}]",
                    f"The machine spec and disk spec of worker pool {index} ({_describe(wanted)})"
                    f" match no resource pool of persistent resource {name}. Its resource pools:"
                    f" {'; '.join(f'{p.id} ({_describe(p.spec)})' for p in pools) or 'none'}.",
                )
            )
            continue
        replicas = int(worker.get("replicaCount", "1"))
        if replicas > max(pool.ceiling for pool in matching):
            pool = max(matching, key=lambda p: p.ceiling)
            violations.append(
                (
                    f"job_spec.worker_pool_specs[{index}].replica_count",
                    f"Worker pool {index} asks for {replicas} replicas; resource pool {pool.id} of"
                    f" persistent resource {name} holds at most {pool.ceiling}.",
                )
            )
            continue
        best = sorted(matching, key=lambda p: (-p.free, -p.ceiling))[:_CANDIDATES]
        asked.append((index, replicas, best))
    if violations:
        raise found_errors(violations)
    return _assign(asked, name, running=state in _TAKES_JOBS)


def _consistency(
    job: Mapping[str, Any], spec: Mapping[str, Any], resource: Mapping[str, Any], name: str
) -> Iterator[tuple[str, str]]:
    network, offered = spec.get("network", ""), resource.get("network", "")
    if network != offered:
        yield (
            "job_spec.network",
            f'The network "{network}" of the job is not the network "{offered}" of persistent'
            f" resource {name}; they must be the same.",
        )
    key = (job.get("encryptionSpec") or {}).get("kmsKeyName", "")
    offered_key = (resource.get("encryptionSpec") or {}).get("kmsKeyName", "")
    if key != offered_key:
        yield (
            "encryption_spec.kms_key_name",
            f'The CMEK key "{key}" of the job is not the key "{offered_key}" of persistent'
            f" resource {name}; they must be the same.",
        )


def _assign(
    asked: Sequence[tuple[int, int, list[_Pool]]], name: str, *, running: bool
) -> Admission:
    """Give each worker pool one of its candidate pools: all now if they fit the free replicas
    (and the resource runs); else wait if they fit within the pools' sizes; else refuse."""
    fits_later = False
    for choice in itertools.product(*(candidates for _, _, candidates in asked)):
        load: dict[str, int] = {}
        for (_, replicas, _), pool in zip(asked, choice, strict=True):
            load[pool.id] = load.get(pool.id, 0) + replicas
        by_id = {pool.id: pool for pool in choice}
        if all(load[i] <= by_id[i].free for i in load):
            return Admission(load if running else None)
        fits_later = fits_later or all(load[i] <= by_id[i].ceiling for i in load)
    if fits_later:
        return Admission(None)
    indices = ", ".join(str(index) for index, _, _ in asked)
    raise found_errors(
        [
            (
                "job_spec.worker_pool_specs",
                f"Worker pools {indices} together ask for more replicas than the resource pools"
                f" of persistent resource {name} hold.",
            )
        ]
    )


def _spec(pool: Mapping[str, Any]) -> tuple[Any, ...]:
    """A pool's machine spec and disk spec, the service's defaults applied: what must match."""
    machine: Mapping[str, Any] = pool.get("machineSpec") or {}
    disk: Mapping[str, Any] = pool.get("diskSpec") or {}
    machine_type = str(machine.get("machineType", ""))
    accelerator = str(machine.get("acceleratorType") or UNSPECIFIED_ACCELERATOR)
    return (
        machine_type,
        accelerator,
        int(machine.get("acceleratorCount") or 0),
        str(machine.get("tpuTopology") or ""),
        str(disk.get("bootDiskType") or default_boot_disk_type(machine_type)),
        int(disk.get("bootDiskSizeGb") or DEFAULT_BOOT_DISK_SIZE_GB),
    )


def _resource_pool(pool: Mapping[str, Any]) -> _Pool:
    scaling: Mapping[str, Any] = pool.get("autoscalingSpec") or {}
    ceiling = int(scaling.get("maxReplicaCount") or pool.get("replicaCount") or 0)
    return _Pool(
        str(pool.get("id", "")), _spec(pool), ceiling, int(pool.get("usedReplicaCount", 0))
    )


def _describe(spec: tuple[Any, ...]) -> str:
    machine_type, accelerator, count, topology, disk_type, disk_size = spec
    parts = [f"machine_type={machine_type}"]
    if accelerator != UNSPECIFIED_ACCELERATOR:
        parts.append(f"accelerator_type={accelerator}, accelerator_count={count}")
    if topology:
        parts.append(f"tpu_topology={topology}")
    parts.append(f"boot_disk_type={disk_type}, boot_disk_size_gb={disk_size}")
    return ", ".join(parts)
