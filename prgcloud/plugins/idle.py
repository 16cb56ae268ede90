"""`prgcloud idle` (the plugin `bin/prgcloud-idle`): persistent resources running with no job.

A persistent resource bills for its machines while it is RUNNING, whether or not a job runs on
it. This lists the RUNNING resources of one project and region that no job has used for at
least `--idle-for` (default 1h): no replica in use, no job waiting for it, and the last job
on it (if any) ended that long ago.

    prgcloud idle [--region=REGION] [--project=PROJECT] [--idle-for=DURATION]
                  [--format=FORMAT] [--flatten=KEY] [GCLOUD-WIDE-FLAG...]

The resources are read through the Vertex AI SDK (as `persistent-resources capacity` reads
them: same endpoint, same identity as gcloud); the jobs that ran on the idle ones are listed
by gcloud itself (`gcloud ai custom-jobs list`), only when some resource is idle. Idle since:
the end of the last job that ran on the resource, else when it started RUNNING. Exit 0 (also
when nothing is idle), 2 for bad input, 4 when the resources or jobs cannot be read.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from prgcloud import exit_codes, process
from prgcloud.commands import arguments
from prgcloud.durations import parse_duration
from prgcloud.environment import Environment
from prgcloud.errors import PrecheckFailedError, PrgcloudError, Problem
from prgcloud.request import Identity

USAGE = (
    "usage: prgcloud idle [--region=REGION] [--project=PROJECT] [--idle-for=DURATION]\n"
    "                     [--format=FORMAT] [--flatten=KEY] [GCLOUD_WIDE_FLAG ...]"
)
DEFAULT_IDLE_FOR = 3600.0
# A job in one of these states holds, or waits for, the resource's replicas.
_ENDED = frozenset(
    {"JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED", "JOB_STATE_CANCELLED", "JOB_STATE_EXPIRED"}
)
_LIST_TIMEOUT = 120.0


@dataclass(frozen=True)
class IdleArgs:
    """The plugin's arguments once read."""

    project: str
    region: str
    endpoint: str
    identity: Identity
    idle_for: float
    display: arguments.Display


def _parser() -> arguments.Parser:
    parser = arguments.Parser("prgcloud idle", USAGE)
    parser.add_argument("--region", dest="--region")
    parser.add_argument("--idle-for", dest="--idle-for")
    arguments.add_gcloud_wide_flags(parser)
    return parser


def parse_args(
    argv: Sequence[str],
    environ: Mapping[str, str],
    *,
    cwd: str = ".",
    read_stdin: Callable[[int], str] | None = None,
) -> IdleArgs:
    """Read the arguments; project and region resolve as gcloud's do. BadInputError if bad."""
    namespace = _parser().parse(arguments.expand_flags_files(argv, cwd=cwd, read_stdin=read_stdin))
    idle_for = DEFAULT_IDLE_FOR
    problems = []
    text = arguments.flag(namespace, "--idle-for")
    if text is not None:
        try:
            idle_for = parse_duration(text)
        except ValueError:
            problems.append(
                Problem("--idle-for", f"expected a duration like 90s, 30m or 2h, not {text!r}.")
            )
    where = arguments.locate(namespace, environ, training=False, problems=problems)
    return IdleArgs(
        project=where.project,
        region=where.region,
        endpoint=where.endpoint,
        identity=where.identity,
        idle_for=idle_for,
        display=where.display,
    )


def seconds(text: Any) -> float | None:
    """An RFC 3339 time (`2025-01-01T00:00:00.123456789Z`) as seconds since the epoch."""
    if not isinstance(text, str) or not text:
        return None
    value = text.strip()
    if value[-1:] in ("Z", "z"):
        value = value[:-1] + "+00:00"
    if "." in value:  # Python 3.10 reads at most 6 fractional digits
        head, _, tail = value.partition(".")
        digits = len(tail) - len(tail.lstrip("0123456789"))
        value = f"{head}.{tail[:digits][:6].ljust(6, '0')}{tail[digits:]}"
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment.timestamp() if moment.tzinfo else None


def rfc3339(when: float) -> str:
    """Seconds since the epoch as `2025-01-01T00:00:00Z`."""
    return datetime.fromtimestamp(when, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def in_use(resource: Mapping[str, Any]) -> bool:
    """Whether any pool of the resource has replicas in use."""
    return any(_int(pool.get("usedReplicaCount")) > 0 for pool in _pools(resource))


def idle_resources(
    resources: Sequence[Mapping[str, Any]],
    jobs: Sequence[Mapping[str, Any]],
    *,
    now: float,
    idle_for: float,
) -> list[dict[str, Any]]:
    """The RUNNING resources with no replica in use and no job on them for `idle_for` s.

    `jobs` are custom jobs of the same project and region (REST JSON); a job that has not
    ended keeps its resource from being idle. Pure: the caller reads both lists.
    """
    idle: list[dict[str, Any]] = []
    for resource in resources:
        if resource.get("state") != "RUNNING" or in_use(resource):
            continue
        name = str(resource.get("name") or "")
        resource_id = name.rsplit("/", 1)[-1]
        on_it = [job for job in jobs if _persistent_resource_id(job) == resource_id]
        if any(job.get("state") not in _ENDED for job in on_it):
            continue  # waiting for replicas, or just placed: not idle
        since = seconds(resource.get("startTime")) or seconds(resource.get("createTime"))
        last_job = None
        for job in on_it:
            ended = seconds(job.get("endTime")) or seconds(job.get("updateTime"))
            if ended is not None and (since is None or ended > since):
                since, last_job = ended, job.get("name")
        if since is None or now - since < idle_for:
            continue
        idle.append(
            {
                "name": name,
                "id": resource_id,
                "displayName": resource.get("displayName"),
                "state": resource.get("state"),
                "idleSince": rfc3339(since),
                "idleSeconds": int(now - since),
                "lastJob": last_job,
                "pools": [_pool(pool) for pool in _pools(resource)],
            }
        )
    return sorted(idle, key=lambda item: -item["idleSeconds"])


def _pools(resource: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    pools = resource.get("resourcePools")
    return [p for p in pools if isinstance(p, Mapping)] if isinstance(pools, list) else []


def _pool(pool: Mapping[str, Any]) -> dict[str, Any]:
    machine = pool.get("machineSpec") if isinstance(pool.get("machineSpec"), Mapping) else {}
    assert isinstance(machine, Mapping)
    autoscaling = pool.get("autoscalingSpec")
    replicas = _int(pool.get("replicaCount"))
    if isinstance(autoscaling, Mapping) and autoscaling.get("minReplicaCount") is not None:
        replicas = _int(autoscaling.get("minReplicaCount"))  # what it keeps while idle
    return {
        "id": pool.get("id"),
        "machineType": machine.get("machineType"),
        "acceleratorType": machine.get("acceleratorType"),
        "acceleratorCount": _int(machine.get("acceleratorCount")),
        "replicas": replicas,
    }


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def _persistent_resource_id(job: Mapping[str, Any]) -> str | None:
    spec = job.get("jobSpec")
    if not isinstance(spec, Mapping) or not spec.get("persistentResourceId"):
        return None
    return str(spec["persistentResourceId"])


def duration_text(total: float) -> str:
    """`3d 4h`, `2h 5m`, `1h`, `12m`, `40s`."""
    whole = int(total)
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m" if minutes else f"{hours}h"
    return f"{minutes}m" if minutes else f"{secs}s"


def format_idle(idle: Sequence[Mapping[str, Any]]) -> str:
    """The idle resources as a table for people."""
    rows = [("RESOURCE", "IDLE FOR", "IDLE SINCE", "MACHINES", "LAST JOB")]
    for item in idle:
        machines = ", ".join(
            f"{pool['replicas']} x {pool['machineType']}"
            + (
                f" ({pool['acceleratorCount']} {pool['acceleratorType']} each)"
                if pool["acceleratorType"]
                else ""
            )
            for pool in item["pools"]
        )
        last = str(item["lastJob"] or "-").rsplit("/", 1)[-1]
        rows.append(
            (item["id"], duration_text(item["idleSeconds"]), item["idleSince"], machines, last)
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        + "\n"
        for row in rows
    )


def list_jobs(args: IdleArgs, environ: Mapping[str, str]) -> list[dict[str, Any]]:
    """The custom jobs of the project and region, listed by gcloud as the same identity."""
    argv = [
        "ai",
        "custom-jobs",
        "list",
        f"--project={args.project}",
        f"--region={args.region}",
        "--format=json",
        *args.identity.gcloud_flags(),
    ]
    listed = process.capture(argv, environ, timeout=_LIST_TIMEOUT)
    if listed.exit_code != 0:
        raise PrecheckFailedError(
            f"gcloud could not list the custom jobs of project {args.project}, region "
            f"{args.region} (exit {listed.exit_code}): {listed.stderr.strip()}"
        )
    try:
        jobs = json.loads(listed.stdout or "[]")
    except json.JSONDecodeError as error:
        raise PrecheckFailedError(f"gcloud listed the custom jobs as no JSON: {error}") from None
    return [job for job in jobs if isinstance(job, dict)] if isinstance(jobs, list) else []


def run(argv: Sequence[str], env: Environment) -> int:
    """List the idle persistent resources; return the exit status."""
    if any(item in ("-h", "--help") for item in argv):
        env.stdout.write(f"{USAGE}\n{__doc__}")
        return exit_codes.OK
    args = parse_args(argv, env.environ, cwd=env.cwd, read_stdin=env.stdin.read)
    from prgcloud import vertex

    log = args.display.log(env.stderr)
    log.debug(f"endpoint: {args.endpoint}")
    resources = vertex.list_persistent_resources(
        args.project,
        args.region,
        endpoint=args.endpoint,
        identity=args.identity,
        environ=env.environ,
    )
    unused = [r for r in resources if r.get("state") == "RUNNING" and not in_use(r)]
    log.debug(
        f"{len(resources)} persistent resources, {len(unused)} RUNNING with no replica in use"
    )
    jobs = list_jobs(args, env.environ) if unused else []
    idle = idle_resources(unused, jobs, now=time.time(), idle_for=args.idle_for)
    if args.display.format is not None:
        if args.display.user_output:
            from prgcloud import output

            env.stdout.write(
                output.render_list(idle, args.display.format, flatten_keys=args.display.flatten)
            )
        return exit_codes.OK
    where = f"project {args.project}, region {args.region}"
    if not idle:
        log.status(
            f"No persistent resource in {where} has been RUNNING with no job for "
            f"{duration_text(args.idle_for)} or more."
        )
        return exit_codes.OK
    env.stdout.write(args.display.render({}, lambda: format_idle(idle)))
    log.status(
        f"{len(idle)} persistent resource(s) in {where} RUNNING with no job for "
        f"{duration_text(args.idle_for)} or more; they bill while idle "
        "(`gcloud ai persistent-resources delete ID`, or reduce their replicas)."
    )
    return exit_codes.OK


def main(argv: Sequence[str] | None = None, env: Environment | None = None) -> int:
    """The plugin's entry point: errors become a message and their exit code."""
    env = env or Environment()
    try:
        return run(list(sys.argv[1:] if argv is None else argv), env)
    except PrgcloudError as error:
        env.stderr.write(f"ERROR: (prgcloud idle) {error}\n")
        return error.exit_code
    except KeyboardInterrupt:
        env.stderr.write("\nERROR: (prgcloud idle) interrupted.\n")
        return exit_codes.INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
