"""`prgcloud ai persistent-resources capacity ID [--region R] [--project P] [--format=json]`.

Reads the persistent resource live and shows its state and, per resource pool, the machine,
accelerators, disk, ceiling, used and free replicas. Project and region resolve as gcloud's
do: the flag, else `CLOUDSDK_CORE_PROJECT` / `CLOUDSDK_AI_REGION`, else the active
configuration. gcloud's identity flags (`--account`, `--impersonate-service-account`,
`--access-token-file`, `--configuration`) choose who reads it, as they would for gcloud.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from prgcloud import exit_codes, parse
from prgcloud.environment import Environment
from prgcloud.errors import BadInputError, Problem
from prgcloud.gcloud_config import aiplatform_endpoint, load_properties
from prgcloud.request import Identity

USAGE = (
    "usage: prgcloud ai persistent-resources capacity ID [--region R] [--project P] [--format=json]"
)
FORMATS = ("json", "text")
_VALUE_FLAGS = (
    "--region",
    "--project",
    "--format",
    "--account",
    "--impersonate-service-account",
    "--access-token-file",
    "--configuration",
    "--credential-file-override",
    "--authorization-token-file",
)
_FULL_NAME = re.compile(r"^projects/([^/]+)/locations/([^/]+)/persistentResources/([^/]+)$")


@dataclass(frozen=True)
class CapacityArgs:
    """`capacity`'s arguments once read: which resource, where, as whom, in what format."""

    resource_id: str
    project: str
    region: str
    endpoint: str
    identity: Identity
    format: str


def parse_args(argv: Sequence[str], environ: Mapping[str, str]) -> CapacityArgs:
    """Read `capacity` arguments and resolve project and region as gcloud would."""
    values: dict[str, str] = {}
    positionals: list[str] = []
    problems: list[Problem] = []
    items = list(argv)
    i = 0
    while i < len(items):
        item = items[i]
        name, has_value, value = item.partition("=")
        if name in _VALUE_FLAGS:
            if not has_value:
                if i + 1 >= len(items):
                    problems.append(Problem(name, "expected one argument"))
                    break
                i += 1
                value = items[i]
            values[name] = value
        elif item.startswith("-") and item != "-":
            problems.append(Problem("", f"unrecognized arguments: {item}\n{USAGE}"))
        else:
            positionals.append(item)
        i += 1
    if len(positionals) != 1:
        what = "is missing" if not positionals else f"is given {len(positionals)} times"
        problems.append(Problem("ID", f"the persistent resource ID {what}.\n{USAGE}"))
    output = values.get("--format", "text")
    if output not in FORMATS:
        problems.append(Problem("--format", f"must be one of {', '.join(FORMATS)}; got {output}"))
    if problems:
        raise BadInputError(problems)

    resource_id = positionals[0]
    named = None
    full = _FULL_NAME.match(resource_id)
    if full:
        named, resource_id = (full.group(1), full.group(2)), full.group(3)
    properties = load_properties(
        environ,
        configuration=values.get("--configuration"),
        overrides=parse.property_overrides(values.get),
    )
    project, region, problems = parse.resolve_location(
        values.get("--region"), properties, named=named, training=False
    )
    if problems:
        raise BadInputError(problems)
    assert project is not None
    assert region is not None
    return CapacityArgs(
        resource_id=resource_id,
        project=project,
        region=region,
        endpoint=aiplatform_endpoint(properties, region),
        identity=parse.identity(values.get, properties),
        format=output,
    )


def run(argv: list[str], env: Environment, *, track: str | None) -> int:
    """Show the capacity of one persistent resource; exit 0, 2 (bad input) or 4 (cannot read)."""
    if any(a in ("-h", "--help") for a in argv):
        env.stdout.write(USAGE + "\n")
        return exit_codes.OK
    args = parse_args(argv, env.environ)
    from prgcloud.precheck.check import read_capacity
    from prgcloud.precheck.report import format_capacity

    capacity = read_capacity(
        args.project,
        args.region,
        args.resource_id,
        env.environ,
        args.identity,
        endpoint=args.endpoint,
    )
    if args.format == "json":
        env.stdout.write(json.dumps(capacity, indent=2, sort_keys=True) + "\n")
    else:
        env.stdout.write(format_capacity(capacity) + "\n")
    return exit_codes.OK
