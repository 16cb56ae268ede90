"""argv + environment -> `ResourceRequest`: `gcloud ai persistent-resources create`, read as
gcloud reads it, and what prgcloud hands gcloud so that nothing in `--config` is lost.

gcloud reads the flags, its properties (project, region, endpoint) and `--config` the way it
does for custom jobs (`parse.py`), except that the config is a whole PersistentResource whose
snake_case keys gcloud's help calls invalid. Every problem is collected and raised together as
one BadInputError (exit 2), including those gcloud would send unchecked or crash on.

What gcloud gets: the user's arguments (less prgcloud's own flags), plus a flag for each field
of the config that gcloud would drop but can send (`resource.kept_flags`). When prgcloud
already read standard input, or filled in a disk type, the pools go to gcloud as a generated
`--config` instead (the config's and the flags', in gcloud's order).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from prgcloud import argdict, jobconfig, parse, resource
from prgcloud.durations import parse_duration
from prgcloud.errors import BadInputError, Problem
from prgcloud.flags import FLAGS, Flag, Kind, ReadStdin, Tokens, tokenize
from prgcloud.request import API_VERSIONS, Options
from prgcloud.resource import RPS, ResourceRequest

COMMAND = ("ai", "persistent-resources", "create")


def _table(scope: str, kind: Kind, *names: str, negatable: bool = False) -> dict[str, Flag]:
    return {name: Flag(name, kind, scope, negatable=negatable) for name in names}


# `persistent-resources create`'s own flags, gcloud's global ones, and prgcloud's.
RESOURCE_FLAGS: dict[str, Flag] = {
    **_table(
        "command",
        Kind.VALUE,
        "--display-name",
        "--config",
        "--persistent-resource-id",
        "--network",
        "--region",
        "--kms-key",
        "--kms-keyring",
        "--kms-location",
        "--kms-project",
    ),
    **_table("command", Kind.APPEND, RPS, "--labels"),
    **_table("command", Kind.BOOL, "--enable-custom-service-account", negatable=True),
    **{name: flag for name, flag in FLAGS.items() if flag.scope == "global"},
    **_table("prgcloud", Kind.OPTIONAL, "--dry-run", "--wait"),
    **_table("prgcloud", Kind.VALUE, "--polling-interval"),
}
# The flags whose pools go into a generated --config when gcloud must get one.
_POOL_FLAGS = frozenset({"--config", RPS})
# The flags that set a field a config may hold too: the flag wins.
_FIELD_FLAGS = ("--display-name", "--network", "--kms-key", "--labels")
_CSA = "--enable-custom-service-account"


def parse_resource_create(
    argv: Sequence[str],
    environ: Mapping[str, str],
    *,
    track: str | None,
    cwd: str,
    read_stdin: ReadStdin | None = None,
) -> ResourceRequest:
    """Read `gcloud [track] ai persistent-resources create ARGV`; raise BadInputError (exit 2).

    `read_stdin(n)` reads at most n characters of standard input (`--config -`,
    `--flags-file -`).
    """
    tokens = tokenize(argv, cwd=cwd, read_stdin=read_stdin, table=RESOURCE_FLAGS)
    problems = list(tokens.problems)
    api_version = API_VERSIONS[track]

    dry_run, wait, polling_interval = _options(tokens, problems)
    properties = parse.gcloud_properties(environ, tokens.last)
    project, region = parse.where_it_goes(tokens, properties, problems)
    resource_id = _resource_id(tokens, problems)
    config, config_from_stdin = _config(tokens, cwd, read_stdin, api_version, problems)
    pools = _flag_pools(tokens, api_version, problems)
    if config is None and not pools and not tokens.last("--config"):
        problems.append(Problem(RPS, _NO_POOLS))
    labels = parse.read_labels(tokens, problems)
    kms_key = parse.read_kms_key(tokens, properties.get("core/project"), problems)
    endpoint = parse.read_endpoint(properties, region, problems)
    if problems:
        raise BadInputError(problems)
    assert project is not None
    assert region is not None
    assert endpoint is not None
    assert resource_id is not None

    config = config or {}
    notes, flag_pools = _filled_pools(pools)
    given = {name: tokens.given(name) for name in (*_FIELD_FLAGS, _CSA)}
    body = _body(tokens, config, flag_pools, given, kms_key, labels)
    rewrite = bool(notes) or config_from_stdin or tokens.stdin_read
    args, config_index = parse.gcloud_args(
        argv, tokens, track, rewrite=rewrite, command=COMMAND, spec_flags=_POOL_FLAGS
    )
    return ResourceRequest(
        track=track,
        project=project,
        region=region,
        endpoint=endpoint,
        body=body,
        gcloud_args=(*args, *resource.kept_flags(config, given)),
        config_yaml=parse.dump_yaml({"resourcePools": body["resourcePools"]}) if rewrite else None,
        config_index=config_index,
        identity=parse.identity(tokens.last, properties),
        options=Options(dry_run=dry_run),
        core_project=properties.get("core/project") or None,
        resource_id=resource_id,
        notes=tuple(notes),
        wait=wait,
        polling_interval=polling_interval,
    )


_NO_POOLS = (
    "No resource pools specified. At least one resource pool must be provided via a YAML "
    "config file (--config) or via the --resource-pool-spec arg."
)


def _filled_pools(pools: Sequence[dict[str, Any]]) -> tuple[list[str], list[dict[str, Any]]]:
    """The `--resource-pool-spec` pools as API bodies, a disk size without a type given the
    API's default type; and a note for each pool so filled (gcloud would drop its size)."""
    notes = []
    bodies = []
    for index, pool in enumerate(pools):
        filled = resource.disk_type_to_fill(pool)
        if filled:
            notes.append(
                f"{resource.pool_where(index, len(pools))}: disk-size={pool['disk-size']} "
                f"without disk-type: using the API's default boot disk type {filled} "
                "(gcloud would drop the disk size)."
            )
            pool = {**pool, "disk-type": filled}
        bodies.append(resource.flag_pool_body(pool))
    return notes, bodies


def _body(
    tokens: Tokens,
    config: Mapping[str, Any],
    flag_pools: Sequence[dict[str, Any]],
    given: Mapping[str, bool],
    kms_key: str | None,
    labels: dict[str, str] | None,
) -> dict[str, Any]:
    """The PersistentResource to create: the config's fields, each given flag winning."""
    runtime = config.get("resourceRuntimeSpec") or {}
    return resource.resource_body(
        pools=[*config.get("resourcePools", []), *flag_pools],
        display_name=tokens.last("--display-name")
        if given["--display-name"]
        else config.get("displayName"),
        network=tokens.last("--network") if given["--network"] else config.get("network"),
        kms_key_name=kms_key
        if given["--kms-key"]
        else (config.get("encryptionSpec") or {}).get("kmsKeyName"),
        labels=labels if given["--labels"] else config.get("labels"),
        enable_custom_service_account=bool(tokens.last(_CSA))
        if given[_CSA]
        else bool((runtime.get("serviceAccountSpec") or {}).get("enableCustomServiceAccount")),
    )


def _options(
    tokens: Tokens, problems: list[Problem]
) -> tuple[str | None, float | None, float | None]:
    """(`--dry-run` style, `--wait` seconds, `--polling-interval` seconds)."""
    dry_run = None
    if tokens.given("--dry-run"):
        dry_run = tokens.last("--dry-run") or "shell"
        if dry_run not in parse.DRY_RUN_STYLES:
            problems.append(
                Problem(
                    "--dry-run",
                    f"must be one of [{', '.join(parse.DRY_RUN_STYLES)}], not {dry_run!r}.",
                )
            )
    wait = None
    if tokens.given("--wait"):
        raw = tokens.last("--wait")
        wait = _duration(raw, "--wait", problems) if raw else parse.DEFAULT_WAIT_SECONDS
    interval = None
    if tokens.given("--polling-interval"):
        interval = _duration(tokens.last("--polling-interval"), "--polling-interval", problems)
        if interval == 0:
            problems.append(Problem("--polling-interval", "must be more than 0 seconds."))
        if not tokens.given("--wait"):
            problems.append(Problem("--polling-interval", "is for --wait, which is not given."))
    return dry_run, wait, interval


def _duration(raw: str, flag: str, problems: list[Problem]) -> float | None:
    try:
        return parse_duration(raw)
    except ValueError:
        problems.append(Problem(flag, f"expected a duration like 90s, 10m or 2h, not {raw!r}."))
        return None


def _resource_id(tokens: Tokens, problems: list[Problem]) -> str | None:
    value: str | None = tokens.last("--persistent-resource-id")
    if value is None:
        problems.append(Problem("--persistent-resource-id", "must be specified."))
    elif not resource.RESOURCE_ID.match(value):
        problems.append(
            Problem(
                "--persistent-resource-id",
                f"[{value}] is not an id Vertex AI takes: 1 to 63 lowercase letters, digits "
                "or hyphens, starting with a letter and not ending with a hyphen.",
            )
        )
    return value


def _config(
    tokens: Tokens,
    cwd: str,
    read_stdin: ReadStdin | None,
    api_version: str,
    problems: list[Problem],
) -> tuple[dict[str, Any] | None, bool]:
    """The `--config` resource as gcloud reads it (None without one), and whether it was stdin."""
    path = tokens.last("--config")
    if not path:  # gcloud: `--config=` is no config file
        return None, False
    from_stdin = path == "-"
    read, raw = parse.config_document(path, tokens, cwd, read_stdin, problems)
    if not read:
        return None, from_stdin
    if not isinstance(raw, dict):
        what = "empty" if raw is None else "not a mapping"
        problems.append(
            Problem("--config", f"[{path}] is {what}; gcloud wants a PersistentResource mapping.")
        )
        return None, from_stdin
    config, found = jobconfig.read_config(
        raw, api_version, schema=resource.schema(api_version), proto_names=False
    )
    problems.extend(Problem("--config", f"{p or 'the file'}: {message}") for p, message in found)
    if not found:
        problems.extend(resource.refused_fields(config))
        problems.extend(resource.check_config_pools(config.get("resourcePools", []), api_version))
    return config, from_stdin


def _flag_pools(tokens: Tokens, api_version: str, problems: list[Problem]) -> list[dict[str, Any]]:
    occurrences = tokens.all(RPS)
    pools: list[dict[str, Any]] = []
    unparsed: set[int] = set()
    for index, occurrence in enumerate(occurrences):
        try:
            pools.append(resource.parse_flag_pool(occurrence.value))
        except argdict.ArgTypeError as error:
            problems.append(Problem(resource.pool_where(index, len(occurrences)), str(error)))
            pools.append({})
            unparsed.add(index)
    problems.extend(resource.check_flag_pools(pools, api_version, unparsed=frozenset(unparsed)))
    return pools
