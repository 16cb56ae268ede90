"""A verdict and a capacity, said for people (text) and for programs (JSON-ready dicts).

Pure formatting: no I/O. The JSON shapes are a contract (`--format=json`), pinned by tests;
add keys, never rename them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from prgcloud.precheck.rules import UNSPECIFIED_ACCELERATOR, Finding, PoolReport, Verdict

_HEADINGS = {"block": "BLOCK", "wait": "WAIT", "warn": "WARNING"}


def _short(name: str) -> str:
    return name.rsplit("/", 1)[-1] if name else "?"


def _where(name: str) -> str:
    parts = name.split("/")
    if len(parts) >= 6 and parts[0] == "projects" and parts[2] == "locations":
        return f"project {parts[1]}, region {parts[3]}"
    return ""


def _replicas(n: int) -> str:
    return f"{n} replica" if n == 1 else f"{n} replicas"


def _key_text(key: Mapping[str, Any]) -> str:
    parts = [str(key.get("machineSpec.machineType", ""))]
    accelerator = key.get("machineSpec.acceleratorType", UNSPECIFIED_ACCELERATOR)
    if accelerator != UNSPECIFIED_ACCELERATOR:
        parts.append(f"{key.get('machineSpec.acceleratorCount')} x {accelerator}")
    if key.get("machineSpec.tpuTopology"):
        parts.append(f"topology {key['machineSpec.tpuTopology']}")
    parts.append(f"{key.get('diskSpec.bootDiskType')} {key.get('diskSpec.bootDiskSizeGb')} GB")
    return ", ".join(parts)


def pool_line(pool: PoolReport) -> str:
    """One worker pool: what it asks, where it goes, and how much room is there."""
    if pool.placeholder:
        return f"worker pool {pool.index}: placeholder, asks for nothing"
    head = f"worker pool {pool.index} ({_key_text(pool.key)})"
    if pool.resource_pool is not None:
        shared = f" ({pool.load} with the pools sharing it)" if pool.load != pool.asked else ""
        return (
            f"{head} -> resource pool {pool.resource_pool!r}: asks {pool.asked}{shared}, "
            f"free {pool.free}, ceiling {pool.ceiling}"
        )
    if pool.nearest is None:
        return f"{head} -> no resource pool matches (the resource has none): asks {pool.asked}"
    return (
        f"{head} -> no resource pool matches; the nearest, {pool.nearest!r}, differs in "
        f"{', '.join(pool.differs)}: asks {pool.asked}, free {pool.free}, ceiling {pool.ceiling}"
    )


def finding_text(finding: Finding) -> str:
    """A finding as one paragraph: the message, then the fix."""
    fix = f" Fix: {finding.fix}." if finding.fix else ""
    return f"{finding.message}{fix}"


def format_verdict(verdict: Verdict) -> str:
    """The whole verdict for a person: a summary line, each worker pool, each finding."""
    resource = _short(verdict.resource)
    where = _where(verdict.resource)
    place = f"persistent resource {resource!r}" + (f" ({where}, {verdict.state})" if where else "")
    if verdict.blocks:
        summary = f"the job does not fit {place}:"
    elif verdict.waits:
        summary = f"the job does not fit {place} now, but may later:"
    elif verdict.stops:
        summary = f"the job fits {place}, but --strict turns these warnings into a block:"
    else:
        summary = f"the job fits {place}:"
    lines = [summary]
    lines += [f"  {pool_line(pool)}" for pool in verdict.pools]
    for finding in (*verdict.blocks, *verdict.waits, *verdict.warnings):
        lines.append(f"  {_HEADINGS[finding.severity]}: {finding_text(finding)}")
    return "\n".join(lines)


def format_warnings(verdict: Verdict) -> list[str]:
    """Each warning as a line for stderr (the caller adds gcloud's `WARNING: ` style prefix)."""
    return [finding_text(finding) for finding in verdict.warnings]


def finding_json(finding: Finding) -> dict[str, Any]:
    """A finding as data."""
    return {
        "severity": finding.severity,
        "code": finding.code,
        "pool": finding.pool,
        "field": finding.field,
        "asked": finding.asked,
        "offered": finding.offered,
        "message": finding.message,
        "fix": finding.fix,
    }


def pool_json(pool: PoolReport) -> dict[str, Any]:
    """A worker pool's report as data."""
    return {
        "index": pool.index,
        "placeholder": pool.placeholder,
        "key": dict(pool.key),
        "asked": pool.asked,
        "resourcePool": pool.resource_pool,
        "nearest": pool.nearest,
        "differs": list(pool.differs),
        "load": pool.load,
        "free": pool.free,
        "ceiling": pool.ceiling,
        "used": pool.used,
    }


def verdict_json(verdict: Verdict) -> dict[str, Any]:
    """The verdict as data: the same findings and pools as `format_verdict`."""
    return {
        "resource": verdict.resource,
        "state": verdict.state,
        "fits": not verdict.stops,
        "assignment": {str(k): v for k, v in verdict.assignment.items()},
        "pools": [pool_json(pool) for pool in verdict.pools],
        "findings": [finding_json(finding) for finding in verdict.findings],
    }


def format_capacity(capacity: Mapping[str, Any]) -> str:
    """`capacity_of`'s answer as a table: the state, then one row per resource pool."""
    name = str(capacity.get("name") or "")
    where = _where(name)
    lines = [
        f"persistent resource {_short(name)!r}"
        + (f" ({where})" if where else "")
        + f": {capacity.get('state')}"
    ]
    if capacity.get("error"):
        lines.append(f"  error: {capacity['error']}")
    pools: Sequence[Mapping[str, Any]] = capacity.get("pools") or []
    if not pools:
        lines.append("  no resource pools")
        return "\n".join(lines)
    header = ("POOL", "MACHINE_TYPE", "ACCELERATORS", "DISK", "CEILING", "USED", "FREE")
    rows = [header]
    for pool in pools:
        accelerators = (
            f"{pool['acceleratorCount']} x {pool['acceleratorType']}"
            if pool.get("acceleratorType")
            else "-"
        )
        if pool.get("tpuTopology"):
            accelerators += f" ({pool['tpuTopology']})"
        rows.append(
            (
                str(pool["id"]),
                str(pool["machineType"]),
                accelerators,
                f"{pool['bootDiskType']} {pool['bootDiskSizeGb']} GB",
                str(pool["ceiling"]) + (" (autoscaling)" if pool.get("maxReplicaCount") else ""),
                str(pool["used"]),
                str(pool["free"]),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for row in rows:
        lines.append("  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))
    return "\n".join(line.rstrip() for line in lines)
