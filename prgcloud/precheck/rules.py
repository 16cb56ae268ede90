"""Whether a custom job fits a persistent resource: docs/fit-rules.md as one pure function.

`evaluate(job, resource)` takes two plain REST bodies (camelCase, as the API sends them) and
returns a `Verdict`: every finding, which resource pool each worker pool goes to, and a
per-pool report. No SDK and no I/O but prgcloud's own `--worker-pool-spec` schema (read when a
fix must name a value, so that no fix names one prgcloud would refuse), so the CLI and the
Python API judge a job the same way.

Readings of the rules where the REST shape leaves a choice:
- proto3 JSON omits zeros and empty strings, so `0` / `""` mean "absent" and get the default;
  enum names `ACCELERATOR_TYPE_UNSPECIFIED` and absent are the same.
- A worker pool without a machine type is a placeholder (`{}`): it asks for nothing.
- A worker pool with a machine type and no `replicaCount` asks for 1 replica.
- int64 fields arrive as strings (`"2"`); both strings and numbers are accepted.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from prgcloud import schemas

Severity = Literal["block", "wait", "warn"]

READY_STATE = "RUNNING"
NOT_READY_STATES = frozenset({"PROVISIONING", "UPDATING", "REBOOTING"})

DEFAULT_DISK_TYPE = "pd-ssd"
DEFAULT_DISK_SIZE_GB = 100
UNSPECIFIED_ACCELERATOR = "ACCELERATOR_TYPE_UNSPECIFIED"
# Machines whose boot disk defaults to hyperdisk (they cannot use a persistent disk).
_HYPERDISK_MACHINE_PREFIXES = ("a3-ultragpu-",)
_HYPERDISK_DEFAULT = "hyperdisk-balanced"

# Beyond this many candidate assignments the search gives up exhaustiveness for a greedy pick;
# Vertex allows 4 worker pools, so only a resource with very many identical pools gets there.
_MAX_ASSIGNMENTS = 50_000

# The match key's fields, in the order they are reported, with the `--worker-pool-spec` key
# a user writes to change each (None: no flag key; only `--config` can set it).
KEY_FIELDS: tuple[tuple[str, str | None], ...] = (
    ("machineSpec.machineType", "machine-type"),
    ("machineSpec.acceleratorType", "accelerator-type"),
    ("machineSpec.acceleratorCount", "accelerator-count"),
    ("machineSpec.tpuTopology", None),
    ("diskSpec.bootDiskType", "disk-type"),
    ("diskSpec.bootDiskSizeGb", "disk-size"),
)
_FLAG_KEYS = dict(KEY_FIELDS)


@dataclass(frozen=True)
class Finding:
    """One reason the job does not fit, or will not fit yet, or might surprise.

    `severity`: "block" cannot fit as asked; "wait" would fit later (the resource is not ready
    yet, or replicas are busy); "warn" a rule the service does not document (docs/fit-rules.md §5).
    `pool` is the job's worker-pool index (0-based), None for the job as a whole. For
    "no-matching-pool", `field` lists the differing key fields (", "-joined) and, when more
    than one differs, `asked` / `offered` are {field: value} dicts.
    """

    severity: Severity
    code: str
    pool: int | None
    field: str | None
    asked: Any
    offered: Any
    message: str
    fix: str | None


@dataclass(frozen=True)
class PoolReport:
    """How one worker pool of the job lands on the resource.

    `resource_pool` is the resource pool it was assigned to (None when no pool matches; then
    `nearest` and `differs` say which pool comes closest and in which key fields). `asked` is
    this worker pool's replicas; `load` is what all worker pools assigned to the same resource
    pool ask together; `free` and `ceiling` are that resource pool's.
    """

    index: int
    placeholder: bool
    key: Mapping[str, Any]
    asked: int
    resource_pool: str | None = None
    nearest: str | None = None
    differs: tuple[str, ...] = ()
    load: int = 0
    free: int | None = None
    ceiling: int | None = None
    used: int | None = None


@dataclass(frozen=True)
class Verdict:
    """Everything `evaluate` found, plus the assignment it chose (best effort when none fits).

    `strict` (`--strict`) makes warnings block: `blocking` and `stops` take it into account,
    so no caller needs to know the flag.
    """

    findings: tuple[Finding, ...]
    assignment: Mapping[int, str]
    pools: tuple[PoolReport, ...]
    resource: str = ""
    state: str = ""
    strict: bool = False
    # The PersistentResource as read, for policy hooks (they see what the pre-check saw).
    resource_body: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)

    @property
    def blocks(self) -> tuple[Finding, ...]:
        """Findings that mean the job cannot run as asked."""
        return tuple(f for f in self.findings if f.severity == "block")

    @property
    def waits(self) -> tuple[Finding, ...]:
        """Findings that mean the job could run later, once the resource is ready or free."""
        return tuple(f for f in self.findings if f.severity == "wait")

    @property
    def warnings(self) -> tuple[Finding, ...]:
        """Findings about undocumented rules; the job is submitted anyway unless strict."""
        return tuple(f for f in self.findings if f.severity == "warn")

    @property
    def fits(self) -> bool:
        """True when nothing blocks and nothing has to be waited for."""
        return not self.blocks and not self.waits

    @property
    def blocking(self) -> tuple[Finding, ...]:
        """Findings that stop the job for good: its blocks, and under `strict` its warnings."""
        return self.blocks + (self.warnings if self.strict else ())

    @property
    def stops(self) -> bool:
        """Whether the job may not be submitted now: something blocks, or must be waited for."""
        return bool(self.blocking or self.waits)


@dataclass(frozen=True)
class _ResourcePool:
    index: int
    id: str
    key: Mapping[str, Any]
    ceiling: int
    used: int

    @property
    def free(self) -> int:
        return max(0, self.ceiling - self.used)


@dataclass(frozen=True)
class _JobPool:
    index: int
    key: Mapping[str, Any]
    asked: int
    raw: Mapping[str, Any] = field(repr=False)


def evaluate(
    job: Mapping[str, Any], resource: Mapping[str, Any], *, strict: bool = False
) -> Verdict:
    """Apply every rule of docs/fit-rules.md to a CustomJob body and a PersistentResource body.

    `job` is the CustomJob REST body (a bare CustomJobSpec is accepted too); `resource` is the
    PersistentResource as the API returns it. Both camelCase. With `strict` (`--strict`),
    the verdict counts its warnings as blocks.
    """
    spec = _job_spec(job)
    name = str(resource.get("name") or "")
    label = _resource_label(resource)
    state = str(resource.get("state") or "STATE_UNSPECIFIED")
    findings: list[Finding] = list(_state_findings(resource, state, label))

    job_pools = [_read_job_pool(i, p) for i, p in enumerate(spec.get("workerPoolSpecs") or [])]
    resource_pools = [_read_resource_pool(i, p) for i, p in enumerate(_pools(resource))]
    pool_findings, assignment, reports = _pool_findings(job_pools, resource_pools, label)
    findings += pool_findings
    findings += _network_findings(job, spec, resource, label)
    findings += _warnings(job, spec, resource, job_pools, label)
    return Verdict(
        findings=tuple(findings),
        assignment=assignment,
        pools=tuple(reports),
        resource=name,
        state=state,
        strict=strict,
        resource_body=resource,
    )


# --- reading the two bodies -------------------------------------------------------------


def _job_spec(job: Mapping[str, Any]) -> Mapping[str, Any]:
    if "workerPoolSpecs" in job:
        return job
    spec = job.get("jobSpec")
    return spec if isinstance(spec, Mapping) else {}


def _pools(resource: Mapping[str, Any]) -> Sequence[Mapping[str, Any]]:
    pools = resource.get("resourcePools")
    return [p for p in pools if isinstance(p, Mapping)] if isinstance(pools, list) else []


def _resource_label(resource: Mapping[str, Any]) -> str:
    name = str(resource.get("name") or "")
    short = name.rsplit("/", 1)[-1] if name else ""
    return f"persistent resource {short!r}" if short else "the persistent resource"


def _int(value: Any, default: int = 0) -> int:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    try:
        return int(str(value).strip())
    except ValueError:
        return default


def match_key(machine_spec: Mapping[str, Any], disk_spec: Mapping[str, Any]) -> dict[str, Any]:
    """The match key of a worker pool or resource pool, with the defaults of docs/fit-rules.md."""
    machine_type = str(machine_spec.get("machineType") or "")
    accelerator = str(machine_spec.get("acceleratorType") or "") or UNSPECIFIED_ACCELERATOR
    count = _int(machine_spec.get("acceleratorCount"))
    default_disk = (
        _HYPERDISK_DEFAULT
        if machine_type.startswith(_HYPERDISK_MACHINE_PREFIXES)
        else DEFAULT_DISK_TYPE
    )
    return {
        "machineSpec.machineType": machine_type,
        "machineSpec.acceleratorType": accelerator,
        "machineSpec.acceleratorCount": count,
        "machineSpec.tpuTopology": str(machine_spec.get("tpuTopology") or ""),
        "diskSpec.bootDiskType": str(disk_spec.get("bootDiskType") or "") or default_disk,
        "diskSpec.bootDiskSizeGb": _int(disk_spec.get("bootDiskSizeGb")) or DEFAULT_DISK_SIZE_GB,
    }


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _read_job_pool(index: int, pool: Any) -> _JobPool:
    pool = _mapping(pool)
    machine = _mapping(pool.get("machineSpec"))
    if not machine.get("machineType"):
        return _JobPool(index, {}, 0, pool)
    key = match_key(machine, _mapping(pool.get("diskSpec")))
    return _JobPool(index, key, _int(pool.get("replicaCount"), 1), pool)


def _read_resource_pool(index: int, pool: Mapping[str, Any]) -> _ResourcePool:
    key = match_key(_mapping(pool.get("machineSpec")), _mapping(pool.get("diskSpec")))
    autoscaling = _mapping(pool.get("autoscalingSpec"))
    ceiling = _int(autoscaling.get("maxReplicaCount")) or _int(pool.get("replicaCount"))
    return _ResourcePool(
        index=index,
        id=str(pool.get("id") or f"#{index}"),
        key=key,
        ceiling=ceiling,
        used=_int(pool.get("usedReplicaCount")),
    )


# --- 1. state ---------------------------------------------------------------------------


def _state_findings(resource: Mapping[str, Any], state: str, label: str) -> Iterable[Finding]:
    if state == READY_STATE:
        return
    if state in NOT_READY_STATES:
        yield Finding(
            severity="wait",
            code="state-not-ready",
            pool=None,
            field="state",
            asked=READY_STATE,
            offered=state,
            message=f"{label} is {state}, not RUNNING: it is not ready yet to accept jobs.",
            fix="wait until it is RUNNING, or submit with --wait-for-capacity",
        )
        return
    error = str(_mapping(resource.get("error")).get("message") or "")
    said = f' It reports: "{error}".' if error else ""
    yield Finding(
        severity="block",
        code="state-failed",
        pool=None,
        field="state",
        asked=READY_STATE,
        offered=state,
        message=f"{label} is {state}, not RUNNING: it does not accept jobs.{said}",
        fix="repair or recreate the persistent resource, or submit the job without "
        "--persistent-resource-id",
    )


# --- 2 and 3. pools and replicas ----------------------------------------------------------


def _pool_findings(
    job_pools: Sequence[_JobPool], resource_pools: Sequence[_ResourcePool], label: str
) -> tuple[list[Finding], dict[int, str], list[PoolReport]]:
    findings: list[Finding] = []
    candidates: dict[int, list[_ResourcePool]] = {}
    unmatched: dict[int, tuple[_ResourcePool | None, tuple[str, ...]]] = {}
    for pool in job_pools:
        if not pool.key:
            continue
        same = [r for r in resource_pools if r.key == pool.key]
        if same:
            candidates[pool.index] = same
        else:
            nearest, differs = _nearest(pool.key, resource_pools)
            unmatched[pool.index] = (nearest, differs)
            findings.append(_no_match_finding(pool, nearest, differs, resource_pools, label))

    chosen = _best_assignment(job_pools, candidates)
    load: dict[int, int] = {}
    for pool in job_pools:
        if pool.index in chosen:
            rp = chosen[pool.index]
            load[rp.index] = load.get(rp.index, 0) + pool.asked
    findings += _replica_findings(job_pools, chosen, load, label)

    reports = [_pool_report(pool, chosen, load, unmatched) for pool in job_pools]
    assignment = {index: rp.id for index, rp in sorted(chosen.items())}
    return findings, assignment, reports


def _pool_report(
    pool: _JobPool,
    chosen: Mapping[int, _ResourcePool],
    load: Mapping[int, int],
    unmatched: Mapping[int, tuple[_ResourcePool | None, tuple[str, ...]]],
) -> PoolReport:
    """Where one worker pool lands: its resource pool, or the nearest one and what differs."""
    if not pool.key:
        return PoolReport(pool.index, True, {}, 0)
    if pool.index in chosen:
        rp = chosen[pool.index]
        return PoolReport(
            index=pool.index,
            placeholder=False,
            key=pool.key,
            asked=pool.asked,
            resource_pool=rp.id,
            load=load[rp.index],
            free=rp.free,
            ceiling=rp.ceiling,
            used=rp.used,
        )
    nearest, differs = unmatched[pool.index]
    return PoolReport(
        index=pool.index,
        placeholder=False,
        key=pool.key,
        asked=pool.asked,
        nearest=nearest.id if nearest else None,
        differs=differs,
        load=pool.asked,
        free=nearest.free if nearest else None,
        ceiling=nearest.ceiling if nearest else None,
        used=nearest.used if nearest else None,
    )


def _differing(asked: Mapping[str, Any], offered: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple(name for name, _ in KEY_FIELDS if asked[name] != offered[name])


def _nearest(
    key: Mapping[str, Any], resource_pools: Sequence[_ResourcePool]
) -> tuple[_ResourcePool | None, tuple[str, ...]]:
    """The resource pool the worker pool is easiest to change into.

    Fewest differing machine fields first (another machine is another job), then fewest
    differing disk fields (a disk is one key to add), then the resource's own order.
    """
    best: tuple[tuple[int, int, int], _ResourcePool, tuple[str, ...]] | None = None
    for rp in resource_pools:
        differs = _differing(key, rp.key)
        machine = sum(1 for name in differs if name.startswith("machineSpec."))
        score = (machine, len(differs) - machine, rp.index)
        if best is None or score < best[0]:
            best = (score, rp, differs)
    return (best[1], best[2]) if best else (None, ())


def _describe_key(key: Mapping[str, Any]) -> str:
    parts = [str(key["machineSpec.machineType"])]
    if key["machineSpec.acceleratorType"] != UNSPECIFIED_ACCELERATOR:
        parts.append(
            f"{key['machineSpec.acceleratorCount']} x {key['machineSpec.acceleratorType']}"
        )
    if key["machineSpec.tpuTopology"]:
        parts.append(f"topology {key['machineSpec.tpuTopology']}")
    parts.append(f"{key['diskSpec.bootDiskType']} {key['diskSpec.bootDiskSizeGb']} GB")
    return ", ".join(parts)


def _is_default(name: str, value: Any) -> bool:
    return value in (UNSPECIFIED_ACCELERATOR, 0, "") and name != "machineSpec.machineType"


def _key_fix(pool: _JobPool, offered: Mapping[str, Any], differs: Sequence[str]) -> str:
    """How to change the worker pool's key into the offered one, in `--worker-pool-spec` keys."""
    written = {
        "machineSpec.machineType": _mapping(pool.raw.get("machineSpec")).get("machineType"),
        "machineSpec.acceleratorType": _mapping(pool.raw.get("machineSpec")).get("acceleratorType"),
        "machineSpec.acceleratorCount": _mapping(pool.raw.get("machineSpec")).get(
            "acceleratorCount"
        ),
        "machineSpec.tpuTopology": _mapping(pool.raw.get("machineSpec")).get("tpuTopology"),
        "diskSpec.bootDiskType": _mapping(pool.raw.get("diskSpec")).get("bootDiskType"),
        "diskSpec.bootDiskSizeGb": _mapping(pool.raw.get("diskSpec")).get("bootDiskSizeGb"),
    }
    sets: list[str] = []
    removes: list[str] = []
    config_only: list[str] = []
    for name in differs:
        flag_key = _FLAG_KEYS[name]
        value = offered[name]
        if flag_key is None:
            config_only.append(f"{name}: {value!r}" if value else f"no {name}")
        elif _is_default(name, value):
            removes.append(flag_key)
        else:
            sets.append(f"{flag_key}={value}")
    verb = "add" if all(not written[name] for name in differs) else "set"
    clauses: list[str] = []
    if sets:
        clauses.append(f"{verb} {','.join(sets)}")
    if removes:
        clauses.append(f"remove {' and '.join(removes)}")
    if config_only:
        clauses.append(f"give {', '.join(config_only)} in --config")
    return f"in worker pool {pool.index}, " + "; ".join(clauses)


def _unaskable(offered: Mapping[str, Any], differs: Sequence[str]) -> str | None:
    """Why a worker pool cannot be changed into `offered` in the fields that differ, because
    prgcloud's `--worker-pool-spec` refuses the value (None: it can)."""
    keys = schemas.worker_pool_spec()["properties"]
    disk_types: list[str] = keys["disk-type"]["enum"]
    low, high = keys["disk-size"]["minimum"], keys["disk-size"]["maximum"]
    disk_type = offered["diskSpec.bootDiskType"]
    size = offered["diskSpec.bootDiskSizeGb"]
    accelerator = offered["machineSpec.acceleratorType"]
    if "diskSpec.bootDiskType" in differs and disk_type not in disk_types:
        return (
            f"boots from disk type {disk_type!r}, which a job cannot ask for (disk-type takes "
            f"{', '.join(disk_types[:-1])} or {disk_types[-1]})"
        )
    if "diskSpec.bootDiskSizeGb" in differs and not low <= size <= high:
        return (
            f"boots from a {size} GB disk, which a job cannot ask for (disk-size takes "
            f"{low} to {high})"
        )
    if (
        "machineSpec.acceleratorType" in differs
        and accelerator != UNSPECIFIED_ACCELERATOR
        and accelerator not in schemas.accelerator_types("v1")
    ):
        return f"has accelerator {accelerator!r}, which accelerator-type does not take"
    if "machineSpec.machineType" in differs and not offered["machineSpec.machineType"]:
        return "names no machine type"
    return None


def _no_match_fix(
    pool: _JobPool,
    nearest: _ResourcePool,
    differs: tuple[str, ...],
    resource_pools: Sequence[_ResourcePool],
    label: str,
) -> str:
    """How to make the worker pool match the nearest pool; when a job cannot ask for what that
    pool offers, say so, and how to match the nearest pool it can ask for instead."""
    why = _unaskable(nearest.key, differs)
    if why is None:
        return _key_fix(pool, nearest.key, differs)
    askable = [
        rp for rp in resource_pools if _unaskable(rp.key, _differing(pool.key, rp.key)) is None
    ]
    other, other_differs = _nearest(pool.key, askable)
    if other is None:
        return (
            f"resource pool {nearest.id!r} {why}, and no other resource pool of {label} can be "
            "asked for instead: use another persistent resource, or submit the job without "
            "--persistent-resource-id"
        )
    return (
        f"resource pool {nearest.id!r} {why}; to run on resource pool {other.id!r} instead, "
        + _key_fix(pool, other.key, other_differs)
    )


def _no_match_finding(
    pool: _JobPool,
    nearest: _ResourcePool | None,
    differs: tuple[str, ...],
    resource_pools: Sequence[_ResourcePool],
    label: str,
) -> Finding:
    described = _describe_key(pool.key)
    if nearest is None:
        return Finding(
            severity="block",
            code="no-matching-pool",
            pool=pool.index,
            field="resourcePools",
            asked=dict(pool.key),
            offered=None,
            message=f"worker pool {pool.index} ({described}) cannot run on {label}: "
            "it has no resource pools.",
            fix="add a resource pool to the persistent resource, or submit the job without "
            "--persistent-resource-id",
        )
    if len(differs) == 1:
        asked: Any = pool.key[differs[0]]
        offered: Any = nearest.key[differs[0]]
    else:
        asked = {name: pool.key[name] for name in differs}
        offered = {name: nearest.key[name] for name in differs}
    differences = "; ".join(
        f"{name} asked {pool.key[name]!r}, offered {nearest.key[name]!r}" for name in differs
    )
    return Finding(
        severity="block",
        code="no-matching-pool",
        pool=pool.index,
        field=", ".join(differs),
        asked=asked,
        offered=offered,
        message=f"worker pool {pool.index} ({described}) matches no resource pool of {label}; "
        f"the nearest, {nearest.id!r} ({_describe_key(nearest.key)}), differs in: {differences}.",
        fix=_no_match_fix(pool, nearest, differs, resource_pools, label),
    )


def _best_assignment(
    job_pools: Sequence[_JobPool], candidates: Mapping[int, Sequence[_ResourcePool]]
) -> dict[int, _ResourcePool]:
    """Assign each matched worker pool a resource pool with its key.

    Prefers an assignment where every resource pool has room now; else one within every
    ceiling that leaves the fewest replicas waiting; else the one overflowing least.
    """
    order = [p for p in job_pools if p.index in candidates]
    if not order:
        return {}
    choices = [candidates[p.index] for p in order]
    total = 1
    for c in choices:
        total *= len(c)
    if total > _MAX_ASSIGNMENTS:
        return _greedy_assignment(order, candidates)
    best: tuple[tuple[int, int], tuple[_ResourcePool, ...]] | None = None
    for combo in itertools.product(*choices):
        score = _overflow(order, combo)
        if best is None or score < best[0]:
            best = (score, combo)
            if score == (0, 0):
                break
    assert best is not None  # order is non-empty, so product yields at least once
    return {pool.index: rp for pool, rp in zip(order, best[1], strict=True)}


def _overflow(order: Sequence[_JobPool], combo: Sequence[_ResourcePool]) -> tuple[int, int]:
    load: dict[int, int] = {}
    pools: dict[int, _ResourcePool] = {}
    for pool, rp in zip(order, combo, strict=True):
        load[rp.index] = load.get(rp.index, 0) + pool.asked
        pools[rp.index] = rp
    over_ceiling = sum(max(0, n - pools[i].ceiling) for i, n in load.items())
    over_free = sum(max(0, n - pools[i].free) for i, n in load.items())
    return over_ceiling, over_free


def _greedy_assignment(
    order: Sequence[_JobPool], candidates: Mapping[int, Sequence[_ResourcePool]]
) -> dict[int, _ResourcePool]:
    load: dict[int, int] = {}
    chosen: dict[int, _ResourcePool] = {}
    for pool in sorted(order, key=lambda p: -p.asked):
        rp = max(candidates[pool.index], key=lambda r: r.free - load.get(r.index, 0))
        load[rp.index] = load.get(rp.index, 0) + pool.asked
        chosen[pool.index] = rp
    return chosen


def _listed(indices: Sequence[int]) -> str:
    if len(indices) == 1:
        return str(indices[0])
    return ", ".join(str(i) for i in indices[:-1]) + f" and {indices[-1]}"


def _pools_phrase(indices: Sequence[int]) -> str:
    if len(indices) == 1:
        return f"worker pool {indices[0]} asks"
    return f"worker pools {_listed(indices)} together ask"


def _replicas(n: int) -> str:
    return f"{n} replica" if n == 1 else f"{n} replicas"


def _replica_findings(
    job_pools: Sequence[_JobPool],
    chosen: Mapping[int, _ResourcePool],
    load: Mapping[int, int],
    label: str,
) -> Iterable[Finding]:
    groups: dict[int, list[_JobPool]] = {}
    resource_pools: dict[int, _ResourcePool] = {}
    for pool in job_pools:
        if pool.index in chosen:
            rp = chosen[pool.index]
            groups.setdefault(rp.index, []).append(pool)
            resource_pools[rp.index] = rp
    for rp_index in sorted(groups):
        rp, members, asked = resource_pools[rp_index], groups[rp_index], load[rp_index]
        if asked > rp.ceiling:
            yield _ceiling_finding(rp, members, asked, label)
        elif asked > rp.free:
            yield _busy_finding(rp, members, asked, label)


def _ceiling_finding(
    rp: _ResourcePool, members: Sequence[_JobPool], asked: int, label: str
) -> Finding:
    """The worker pools on `rp` ask for more than it can ever hold."""
    indices = [p.index for p in members]
    room = max(0, rp.ceiling - (asked - members[-1].asked))
    target = (
        f"replica-count={room} in worker pool {members[-1].index}"
        if room
        else f"fewer replicas across worker pools {_listed(indices)}"
    )
    fix = (
        f"ask for at most {_replicas(rp.ceiling)} in resource pool {rp.id!r} "
        f"({target}), or raise the pool's replica count or autoscaling maximum"
    )
    if rp.ceiling < len(members):  # each worker pool asks for one replica at least
        fix = (
            f"resource pool {rp.id!r} holds {_replicas(rp.ceiling)}, fewer than the "
            f"{len(members)} worker pools assigned to it need (one each): raise the "
            "pool's replica count or autoscaling maximum, or use another persistent "
            "resource"
        )
    return Finding(
        severity="block",
        code="exceeds-ceiling",
        pool=members[0].index,
        field="replicaCount",
        asked=asked,
        offered=rp.ceiling,
        message=f"{_pools_phrase(indices)} for {_replicas(asked)} of resource pool {rp.id!r} "
        f"of {label}, which never holds more than {rp.ceiling}: this can never fit.",
        fix=fix,
    )


def _busy_finding(
    rp: _ResourcePool, members: Sequence[_JobPool], asked: int, label: str
) -> Finding:
    """The worker pools on `rp` would fit it, but not while other jobs hold its replicas."""
    indices = [p.index for p in members]
    if rp.free < len(members):  # not even one replica each: only waiting helps
        fix = (
            f"cancel a job that holds replicas of resource pool {rp.id!r}, "
            "or wait with --wait-for-capacity"
        )
    elif len(members) == 1:
        fix = (
            f"replica-count={rp.free} in worker pool {members[0].index}, "
            "or wait with --wait-for-capacity"
        )
    else:
        fix = (
            f"ask for at most {_replicas(rp.free)} in worker pools {_listed(indices)} "
            "together, or wait with --wait-for-capacity"
        )
    return Finding(
        severity="wait",
        code="replicas-busy",
        pool=members[0].index,
        field="replicaCount",
        asked=asked,
        offered=rp.free,
        message=f"{_pools_phrase(indices)} for {_replicas(asked)} of resource pool {rp.id!r} "
        f"of {label}, which has {rp.free} free now ({rp.used} of {rp.ceiling} in use by "
        "other jobs).",
        fix=fix,
    )


# --- 4. network and CMEK ----------------------------------------------------------------


def _network_findings(
    job: Mapping[str, Any], spec: Mapping[str, Any], resource: Mapping[str, Any], label: str
) -> Iterable[Finding]:
    asked = str(spec.get("network") or "")
    offered = str(resource.get("network") or "")
    if asked != offered:
        yield Finding(
            severity="block",
            code="network-mismatch",
            pool=None,
            field="network",
            asked=asked,
            offered=offered,
            message=f"the job's network ({asked or 'none'}) differs from the network of "
            f"{label} ({offered or 'none'}); the service rejects such a job.",
            fix=f"--network={offered}"
            if offered
            else "remove --network (and network: from --config)",
        )
    asked_key = str(_mapping(job.get("encryptionSpec")).get("kmsKeyName") or "")
    offered_key = str(_mapping(resource.get("encryptionSpec")).get("kmsKeyName") or "")
    if asked_key != offered_key:
        yield Finding(
            severity="block",
            code="kms-mismatch",
            pool=None,
            field="encryptionSpec.kmsKeyName",
            asked=asked_key,
            offered=offered_key,
            message=f"the job's KMS key ({asked_key or 'none'}) differs from the key of "
            f"{label} ({offered_key or 'none'}); the service rejects such a job.",
            fix=f"--kms-key={offered_key}"
            if offered_key
            else "remove --kms-key and its --kms-* flags",
        )


# --- 5. undocumented rules: warnings ------------------------------------------------------


def _warnings(
    job: Mapping[str, Any],
    spec: Mapping[str, Any],
    resource: Mapping[str, Any],
    job_pools: Sequence[_JobPool],
    label: str,
) -> Iterable[Finding]:
    yield from _account_warnings(spec, resource, label)
    yield from _runtime_warnings(resource, label)
    yield from _job_pool_warnings(job_pools, label)
    yield from _ip_range_warnings(spec, resource, label)


def _account_warnings(
    spec: Mapping[str, Any], resource: Mapping[str, Any], label: str
) -> Iterable[Finding]:
    runtime = _mapping(resource.get("resourceRuntimeSpec"))
    accounts = _mapping(runtime.get("serviceAccountSpec"))
    enforced = bool(accounts.get("enableCustomServiceAccount"))
    resource_account = str(accounts.get("serviceAccount") or "")
    job_account = str(spec.get("serviceAccount") or "")
    if enforced and not job_account:
        yield Finding(
            severity="warn",
            code="custom-service-account-required",
            pool=None,
            field="serviceAccount",
            asked="",
            offered=resource_account or True,
            message=f"{label} enforces a custom service account and the job names none.",
            fix=f"--service-account={resource_account}"
            if resource_account
            else "--service-account=SERVICE_ACCOUNT",
        )
    if job_account and not enforced:
        yield Finding(
            severity="warn",
            code="service-account-not-enforced",
            pool=None,
            field="serviceAccount",
            asked=job_account,
            offered="",
            message=f"the job names service account {job_account} but {label} does not "
            "enable custom service accounts; the job may run as the resource's default account.",
            fix="remove --service-account, or enable custom service accounts on the resource",
        )


def _runtime_warnings(resource: Mapping[str, Any], label: str) -> Iterable[Finding]:
    runtime = _mapping(resource.get("resourceRuntimeSpec"))
    if "raySpec" in runtime:
        yield Finding(
            severity="warn",
            code="ray-runtime",
            pool=None,
            field="resourceRuntimeSpec.raySpec",
            asked=None,
            offered=dict(_mapping(runtime.get("raySpec"))),
            message=f"{label} runs Ray; custom jobs on a Ray cluster may not behave as on a "
            "plain resource.",
            fix="use a persistent resource without Ray for custom jobs",
        )


def _job_pool_warnings(job_pools: Sequence[_JobPool], label: str) -> Iterable[Finding]:
    first = next((p for p in job_pools if p.index == 0), None)
    if first is not None and first.asked > 1:
        yield Finding(
            severity="warn",
            code="primary-pool-replicas",
            pool=0,
            field="replicaCount",
            asked=first.asked,
            offered=1,
            message=f"worker pool 0 asks for {first.asked} replicas; Vertex AI runs one "
            "primary replica, so the others may never start.",
            fix="replica-count=1 in worker pool 0; put more replicas in worker pool 1",
        )
    for pool in job_pools:
        affinity = _mapping(pool.raw.get("machineSpec")).get("reservationAffinity")
        affinity = affinity or pool.raw.get("reservationAffinity")
        if affinity:
            yield Finding(
                severity="warn",
                code="reservation-affinity",
                pool=pool.index,
                field="machineSpec.reservationAffinity",
                asked=affinity,
                offered=None,
                message=f"worker pool {pool.index} sets a reservation affinity; on {label} "
                "the resource's own machines are used, so it may be ignored or rejected.",
                fix=f"remove reservationAffinity from worker pool {pool.index}",
            )


def _ip_range_warnings(
    spec: Mapping[str, Any], resource: Mapping[str, Any], label: str
) -> Iterable[Finding]:
    asked_ranges = sorted(str(r) for r in spec.get("reservedIpRanges") or [])
    offered_ranges = sorted(str(r) for r in resource.get("reservedIpRanges") or [])
    if asked_ranges != offered_ranges:
        yield Finding(
            severity="warn",
            code="reserved-ip-ranges",
            pool=None,
            field="reservedIpRanges",
            asked=asked_ranges,
            offered=offered_ranges,
            message=f"the job's reserved IP ranges ({', '.join(asked_ranges) or 'none'}) "
            f"differ from those of {label} ({', '.join(offered_ranges) or 'none'}).",
            fix=f"reservedIpRanges: [{', '.join(offered_ranges)}] in --config"
            if offered_ranges
            else "remove reservedIpRanges from --config",
        )


# --- capacity ---------------------------------------------------------------------------


def capacity_of(resource: Mapping[str, Any]) -> dict[str, Any]:
    """What a persistent resource holds: its state and, per resource pool, its machines and room.

    Defaults are applied as for matching (disk type and size, no accelerator); `ceiling` is the
    autoscaling maximum, else the replica count; `free` = ceiling - used, never below 0.
    """
    pools: list[dict[str, Any]] = []
    for index, raw in enumerate(_pools(resource)):
        rp = _read_resource_pool(index, raw)
        autoscaling = _mapping(raw.get("autoscalingSpec"))
        accelerator = rp.key["machineSpec.acceleratorType"]
        pools.append(
            {
                "id": rp.id,
                "machineType": rp.key["machineSpec.machineType"],
                "acceleratorType": None if accelerator == UNSPECIFIED_ACCELERATOR else accelerator,
                "acceleratorCount": rp.key["machineSpec.acceleratorCount"],
                "tpuTopology": rp.key["machineSpec.tpuTopology"] or None,
                "bootDiskType": rp.key["diskSpec.bootDiskType"],
                "bootDiskSizeGb": rp.key["diskSpec.bootDiskSizeGb"],
                "replicaCount": _int(raw.get("replicaCount")),
                "minReplicaCount": _int(autoscaling.get("minReplicaCount"))
                if autoscaling
                else None,
                "maxReplicaCount": _int(autoscaling.get("maxReplicaCount"))
                if autoscaling
                else None,
                "ceiling": rp.ceiling,
                "used": rp.used,
                "free": rp.free,
            }
        )
    return {
        "name": str(resource.get("name") or ""),
        "state": str(resource.get("state") or "STATE_UNSPECIFIED"),
        "error": str(_mapping(resource.get("error")).get("message") or "") or None,
        "network": str(resource.get("network") or "") or None,
        "kmsKeyName": str(_mapping(resource.get("encryptionSpec")).get("kmsKeyName") or "") or None,
        "pools": pools,
    }
