"""`prgcloud ai persistent-resources capacity ID [--region=R] [--project=P] [--format=FORMAT]
[--jobs]`.

Reads the persistent resource live and shows its state and, per resource pool, the machine,
accelerators, disk, ceiling, used and free replicas. With `--jobs`, also the custom jobs and
hyperparameter tuning jobs on it (`prgcloud.resource_jobs`): each one's state and, per worker
pool, the replicas it holds (or waits for, when QUEUED) and the resource pool they are on; a
tuning job's, for the trials it runs. Project and region resolve as gcloud's
do: the flag, else `CLOUDSDK_CORE_PROJECT` / `CLOUDSDK_AI_REGION`, else the active
configuration. gcloud's identity flags (`--account`, `--impersonate-service-account`,
`--access-token-file`, `--configuration`) choose who reads it, as they would for gcloud;
gcloud's `--format`, `--flatten`, `--verbosity` and `--flags-file` work as they do there.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from prgcloud import exit_codes, output
from prgcloud.commands import arguments
from prgcloud.environment import Environment
from prgcloud.gcloud_config import Properties
from prgcloud.request import Identity

if TYPE_CHECKING:
    from prgcloud.resource_jobs import JobOnResource

USAGE = (
    "usage: prgcloud ai persistent-resources capacity ID [--region=REGION] [--project=PROJECT]\n"
    "                                                 [--format=FORMAT] [--jobs]\n"
    "                                                 [GCLOUD_WIDE_FLAG ...]"
)


@dataclass(frozen=True)
class CapacityArgs:
    """`capacity`'s arguments once read: which resource, where, as whom, how to show it."""

    resource_id: str
    project: str
    region: str
    endpoint: str
    identity: Identity
    display: arguments.Display
    properties: Properties
    jobs: bool = False


def _parser() -> arguments.Parser:
    parser = arguments.Parser("prgcloud ai persistent-resources capacity", USAGE)
    parser.add_argument("resource_id", metavar="ID")
    parser.add_argument("--region", dest="--region")
    parser.add_argument("--jobs", dest="--jobs", action="store_true")
    arguments.add_gcloud_wide_flags(parser)
    return parser


def parse_args(
    argv: Sequence[str],
    environ: Mapping[str, str],
    *,
    cwd: str = ".",
    read_stdin: Callable[[int], str] | None = None,
) -> CapacityArgs:
    """Read `capacity` arguments and resolve project and region as gcloud would."""
    namespace = _parser().parse(arguments.expand_flags_files(argv, cwd=cwd, read_stdin=read_stdin))
    resource_id, named = arguments.resource_id(namespace.resource_id)
    where = arguments.locate(namespace, environ, named=named, training=False)
    return CapacityArgs(
        resource_id=resource_id,
        project=where.project,
        region=where.region,
        endpoint=where.endpoint,
        identity=where.identity,
        display=where.display,
        properties=where.properties,
        jobs=bool(arguments.flag(namespace, "--jobs")),
    )


def run(argv: list[str], env: Environment, *, track: str | None) -> int:
    """Show the capacity of one persistent resource; exit 0, 2 (bad input) or 4 (cannot read)."""
    if any(a in ("-h", "--help") for a in argv):
        env.stdout.write(USAGE + "\n")
        return exit_codes.OK
    args = parse_args(argv, env.environ, cwd=env.cwd, read_stdin=env.stdin.read)
    from prgcloud.precheck.report import format_capacity
    from prgcloud.precheck.rules import capacity_of
    from prgcloud.vertex import Location, Reader

    log = args.display.log(env.stderr)
    log.debug(f"endpoint: {args.endpoint}")
    log.debug(f"identity: {output.describe_identity(args.identity, args.properties)}")
    started = time.monotonic()
    location = Location(args.project, args.region, args.endpoint, args.identity)
    with Reader(location, env.environ) as reader:
        resource = reader.get(args.resource_id)
        capacity = capacity_of(resource)
        log.debug(
            f"read {capacity.get('name')} in {time.monotonic() - started:.2f} s: "
            f"state {capacity.get('state')}"
        )
        if args.jobs:
            from prgcloud.resource_jobs import list_jobs_on_resource

            jobs = list_jobs_on_resource(
                reader, args.resource_id, resource_pools=resource.get("resourcePools") or []
            )
            capacity["jobs"] = [job.as_dict() for job in jobs]

    def human() -> str:
        text = format_capacity(capacity) + "\n"
        if args.jobs:
            text += _format_jobs(jobs)
        return text

    env.stdout.write(args.display.render(capacity, human))
    return exit_codes.OK


def _format_jobs(jobs: Sequence[JobOnResource]) -> str:
    from prgcloud.resource_jobs import format_jobs

    if not jobs:
        return "no custom or tuning jobs queued or running on it\n"
    return f"jobs on it ({len(jobs)}):\n{format_jobs(jobs)}\n"
