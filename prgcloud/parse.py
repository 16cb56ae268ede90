"""argv + environment -> `JobRequest`: everything gcloud would read, read the same way.

The order follows gcloud's: flags (with `--flags-file`), properties (flags, `CLOUDSDK_*`,
the active configuration), region and project, `--config`, the worker pools, labels, KMS.
Every problem found along the way is collected and raised together as one BadInputError.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from prgcloud import argdict, gcloud_config, job, jobconfig, process
from prgcloud.constants import SUPPORTED_TRAINING_REGIONS
from prgcloud.durations import parse_duration
from prgcloud.errors import BadInputError, GcloudNotFoundError, Problem
from prgcloud.flags import (
    NOT_TEXT,
    Occurrence,
    ReadStdin,
    Tokens,
    is_text,
    read_stdin_text,
    read_user_file,
    tokenize,
)
from prgcloud.request import API_VERSIONS, Identity, JobRequest, Options

DRY_RUN_STYLES = ("shell", "rest", "python")
DEFAULT_WAIT_SECONDS = 30 * 60.0
_FULL_REGION = re.compile(r"^projects/([^/]+)/locations/([^/]+)$")
_FULL_KMS_KEY = re.compile(r"^projects/[^/]+/locations/[^/]+/keyRings/[^/]+/cryptoKeys/[^/]+$")
_PROPERTY_FLAGS = {
    "--project": "core/project",
    "--account": "core/account",
    "--impersonate-service-account": "auth/impersonate_service_account",
    "--access-token-file": "auth/access_token_file",
    "--billing-project": "billing/quota_project",
    "--credential-file-override": "auth/credential_file_override",
    "--authorization-token-file": "auth/authorization_token_file",
}
# Flags that shape the job spec; when prgcloud hands gcloud a generated --config instead,
# they are left out (their effect is in the file).
_SPEC_FLAGS = {"--config", "--worker-pool-spec", "--args", "--command", "--python-package-uris"}


def parse_create(
    argv: Sequence[str],
    environ: Mapping[str, str],
    *,
    track: str | None,
    cwd: str,
    read_stdin: ReadStdin | None = None,
) -> JobRequest:
    """Read `gcloud [track] ai custom-jobs create ARGV` as gcloud would; raise BadInputError.

    `read_stdin(n)` reads at most n characters of standard input, for `--config -` and
    `--flags-file -` (`TextIO.read`).
    """
    tokens = tokenize(argv, cwd=cwd, read_stdin=read_stdin)
    problems = list(tokens.problems)
    api_version = API_VERSIONS[track]

    options = read_options(tokens, problems)
    properties = gcloud_properties(environ, tokens.last)
    project, region = where_it_goes(tokens, properties, problems)
    display_name = _display_name(tokens, problems)
    config_spec, config_from_stdin = _config(tokens, cwd, read_stdin, api_version, problems)
    pools = flag_pools(tokens, api_version, cwd, problems)
    _require_pools(tokens, config_spec, pools, api_version, problems)
    flags = _spec_flags(tokens, problems)
    labels = read_labels(tokens, problems)
    # gcloud's KMS key resource falls back to the core/project property, never to the
    # project a `--region=projects/P/locations/R` names.
    kms_key = read_kms_key(tokens, properties.get("core/project"), problems)
    check_service_account(flags["service_account"], problems)
    needs_config = _needs_generated_config(tokens, pools, config_from_stdin, problems)
    endpoint = read_endpoint(properties, region, problems)
    if problems:
        raise BadInputError(problems)
    assert project is not None
    assert region is not None
    assert endpoint is not None
    assert display_name is not None

    spec = job.job_spec(config_spec or {}, pools=pools, **flags)
    body = job.custom_job(display_name, spec, kms_key_name=kms_key, labels=labels)
    argv_out, config_index = gcloud_args(argv, tokens, track, rewrite=needs_config)
    return JobRequest(
        track=track,
        project=project,
        region=region,
        endpoint=endpoint,
        body=body,
        gcloud_args=argv_out,
        config_yaml=dump_yaml(spec) if needs_config else None,
        config_index=config_index,
        identity=identity(tokens.last, properties),
        options=options,
        core_project=properties.get("core/project") or None,
    )


def _needs_generated_config(
    tokens: Tokens,
    pools: Sequence[Mapping[str, Any]],
    config_from_stdin: bool,
    problems: list[Problem],
) -> bool:
    """Whether gcloud must get the job as a generated `--config` file.

    gcloud cannot take a disk on its command line, nor read standard input prgcloud read.
    """
    needs_config = job.has_disk_keys(pools) or config_from_stdin or tokens.stdin_read
    if needs_config and any(not pool for pool in pools):
        problems.append(Problem("--worker-pool-spec", _PLACEHOLDER_IN_GENERATED_CONFIG))
    return needs_config


_PLACEHOLDER_IN_GENERATED_CONFIG = (
    "a placeholder pool (an empty --worker-pool-spec) cannot be combined with disk-type/"
    "disk-size or a --config from standard input: gcloud takes those only in a --config "
    "file, and it refuses empty pools there. Drop the placeholder, or give the disk in a "
    "--config file."
)


def where_it_goes(
    tokens: Tokens, properties: gcloud_config.Properties, problems: list[Problem]
) -> tuple[str | None, str | None]:
    """(project, region) of the request, as `custom-jobs create` resolves them.

    The command needs the core/project property even when `--region` names a project
    (`properties.VALUES.core.project.GetOrFail()` in its Run).
    """
    project, region, found = resolve_location(tokens.last("--region"), properties)
    problems.extend(found)
    if project and not properties.get("core/project"):
        problems.append(Problem("--project", _NO_PROJECT))
    return project, region


def read_endpoint(
    properties: gcloud_config.Properties, region: str | None, problems: list[Problem]
) -> str | None:
    """The Vertex AI endpoint for `region` (None without one, or after adding the problem)."""
    if not region:
        return None
    try:
        return gcloud_config.aiplatform_endpoint(properties, region)
    except BadInputError as error:
        problems.extend(error.problems)
        return None


def check_service_account(service_account: str | None, problems: list[Problem]) -> None:
    """Add gcloud's problem with `--service-account`, if it would refuse the value."""
    if service_account is not None and not job.is_valid_service_account(service_account):
        problems.append(
            Problem(
                "--service-account",
                f"Bad value [{service_account}]: Not a valid service account identifier. It "
                "should be either a numeric string representing the unique_id or an email of "
                "the form: my-iam-account@somedomain.com or "
                "my-iam-account@PROJECT_ID.iam.gserviceaccount.com",
            )
        )


def _display_name(tokens: Tokens, problems: list[Problem]) -> str | None:
    display_name: str | None = tokens.last("--display-name")
    if display_name is None:
        problems.append(Problem("--display-name", "must be specified."))
    elif not display_name:
        problems.append(Problem("--display-name", "Display name can not be empty."))
    return display_name


def _require_pools(
    tokens: Tokens,
    config_spec: Mapping[str, Any] | None,
    pools: Sequence[Mapping[str, Any]],
    api_version: str,
    problems: list[Problem],
) -> None:
    """A job needs worker pools: from the flags, else from the config file."""
    if config_spec is None and not pools and not tokens.last("--config"):
        problems.append(
            Problem("", "At least one of [--config | --worker-pool-spec] must be specified.")
        )
        return
    in_config = jobconfig.service_view(config_spec or {}, api_version).get("workerPoolSpecs")
    if not pools and config_spec is not None and not in_config:
        problems.append(
            Problem(
                "--config",
                "the job has no worker pools: add workerPoolSpecs to the file, or "
                "--worker-pool-spec flags.",
            )
        )


def _spec_flags(tokens: Tokens, problems: list[Problem]) -> dict[str, Any]:
    """The flags `job.job_spec` lays over the config's spec, by its argument names."""
    return {
        "python_package_uris": _list_value(
            tokens, "--python-package-uris", problems, last_only=True
        ),
        "network": tokens.last("--network"),
        "service_account": tokens.last("--service-account"),
        "enable_web_access": bool(tokens.last("--enable-web-access")),
        "enable_dashboard_access": bool(tokens.last("--enable-dashboard-access")),
        "args": _list_value(tokens, "--args", problems, unique=True),
        "command": _list_value(tokens, "--command", problems, unique=True),
        "persistent_resource_id": tokens.last("--persistent-resource-id"),
    }


def wants_help(argv: Sequence[str]) -> bool:
    """Whether argv asks for help (`-h`/`--help`), which gcloud itself answers."""
    return any(a in ("-h", "--help") for a in argv)


def dump_yaml(spec: Mapping[str, Any]) -> str:
    """A job spec as the YAML prgcloud hands gcloud in a generated `--config` file.

    Written for gcloud's YAML 1.1 reader: `y`, `n` and `1e3` are quoted too.
    """
    import yaml  # PyYAML only for a command that writes or reads YAML

    from prgcloud import yamlread

    text: str = yaml.dump(
        dict(spec), Dumper=yamlread.ConfigDumper, sort_keys=True, allow_unicode=True, width=4096
    )
    return text


def read_options(tokens: Tokens, problems: list[Problem]) -> Options:
    """prgcloud's own flags of a create command (`--dry-run`, `--skip-precheck`, ...)."""
    dry_run = None
    if tokens.given("--dry-run"):
        dry_run = tokens.last("--dry-run") or "shell"
        if dry_run not in DRY_RUN_STYLES:
            problems.append(
                Problem(
                    "--dry-run", f"must be one of [{', '.join(DRY_RUN_STYLES)}], not {dry_run!r}."
                )
            )
    wait = None
    if tokens.given("--wait-for-capacity"):
        raw = tokens.last("--wait-for-capacity")
        try:
            wait = parse_duration(raw) if raw else DEFAULT_WAIT_SECONDS
        except ValueError:
            problems.append(
                Problem(
                    "--wait-for-capacity", f"expected a duration like 90s, 10m or 2h, not {raw!r}."
                )
            )
    wait_timeout = None
    if tokens.given("--wait") and tokens.last("--wait"):
        try:
            wait_timeout = parse_duration(tokens.last("--wait"))
        except ValueError:
            raw = tokens.last("--wait")
            problems.append(
                Problem("--wait", f"expected a duration like 90s, 10m or 2h, not {raw!r}.")
            )
    stream_logs = bool(tokens.last("--stream-logs"))
    return Options(
        wait=tokens.given("--wait") or stream_logs,
        wait_timeout=wait_timeout,
        stream_logs=stream_logs,
        dry_run=dry_run,
        skip_precheck=bool(tokens.last("--skip-precheck")),
        wait_for_capacity=wait,
        strict=bool(tokens.last("--strict")),
    )


def gcloud_properties(
    environ: Mapping[str, str], flag: Callable[[str], str | None]
) -> gcloud_config.Properties:
    """gcloud's properties for one command with these flags, every layer read once.

    Flags, `CLOUDSDK_*` variables, the configuration (`--configuration`, else the active
    one) and the installation's `properties` file of the gcloud that will run. Everything
    downstream (project, region, endpoint, identity) is resolved from this one result.
    """
    return gcloud_config.load_properties(
        environ,
        configuration=flag("--configuration"),
        overrides=property_overrides(flag),
        sdk_root=_sdk_root(environ),
    )


def _sdk_root(environ: Mapping[str, str]) -> str | None:
    """The Cloud SDK that will run (`ROOT/bin/gcloud`), for its installation `properties` file."""
    try:
        gcloud = os.path.realpath(process.find_gcloud(environ))
    except GcloudNotFoundError:
        return None  # a dry run needs no gcloud
    return os.path.dirname(os.path.dirname(gcloud))


def property_overrides(flag: Callable[[str], str | None]) -> dict[str, str]:
    """The properties gcloud-wide flags set for one command (`--project` -> core/project)."""
    values = {prop: flag(name) for name, prop in _PROPERTY_FLAGS.items()}
    return {prop: value for prop, value in values.items() if value is not None}


def identity(flag: Callable[[str], str | None], properties: gcloud_config.Properties) -> Identity:
    """Who gcloud acts as for a command with these flags and properties.

    Identity flags are property overrides (`--account` sets core/account), so each field is
    its property as resolved through every layer; an empty value is no value, as in gcloud.
    """

    def get(name: str) -> str | None:
        return properties.get(name) or None

    return Identity(
        account=get("core/account"),
        impersonate_service_account=get("auth/impersonate_service_account"),
        access_token_file=get("auth/access_token_file"),
        configuration=flag("--configuration"),
        credential_file_override=get("auth/credential_file_override"),
        authorization_token_file=get("auth/authorization_token_file"),
        disable_credentials=gcloud_config.is_true(properties.get("auth/disable_credentials")),
        universe_domain=get("core/universe_domain"),
        config_dir=properties.config_dir,
    )


def resolve_location(
    region_flag: str | None,
    properties: gcloud_config.Properties,
    *,
    named: tuple[str, str] | None = None,
    training: bool = True,
) -> tuple[str | None, str | None, list[Problem]]:
    """(project, region, problems) as gcloud resolves them for a regional AI command.

    `--region` may be `projects/P/locations/R`, which sets the project too; `named` is a
    (project, region) already spelled out in a full resource name, which wins. `training`
    limits the region to gcloud's training regions.
    """
    problems: list[Problem] = []
    project = properties.get("core/project")
    # gcloud's region resource takes a full name from the flag or from ai/region alike.
    region = region_flag or properties.get("ai/region")
    full = _FULL_REGION.match(region or "")
    if full:
        project, region = full.group(1), full.group(2)
    if named:
        project, region = named
    if not region:
        problems.append(
            Problem(
                "--region",
                "The [region] resource is not properly specified: set --region, the "
                "CLOUDSDK_AI_REGION variable, or `gcloud config set ai/region REGION`.",
            )
        )
    elif training and region not in SUPPORTED_TRAINING_REGIONS:
        problems.append(
            Problem(
                "--region",
                f"Available values are [{', '.join(SUPPORTED_TRAINING_REGIONS)}], "
                f"but found [{region}].",
            )
        )
    if not project:
        problems.append(Problem("--project", _NO_PROJECT))
    return project or None, region or None, problems


_NO_PROJECT = (
    "The required property [project] is not currently set: set --project, the "
    "CLOUDSDK_CORE_PROJECT variable, or `gcloud config set project PROJECT`."
)


def _config(
    tokens: Tokens,
    cwd: str,
    read_stdin: ReadStdin | None,
    api_version: str,
    problems: list[Problem],
) -> tuple[dict[str, Any] | None, bool]:
    """The `--config` spec as gcloud sends it (None without one), and whether it was stdin."""
    path = tokens.last("--config")
    if not path:  # gcloud: `--config=` is no config file
        return None, False
    from_stdin = path == "-"
    read, raw = config_document(path, tokens, cwd, read_stdin, problems)
    if not read:
        return None, from_stdin
    spec, found = job.normalize_config(raw, api_version)
    if tokens.given("--worker-pool-spec"):
        # gcloud checks the file's pools only when no --worker-pool-spec replaces them.
        found = [p for p in found if "Exactly one of fields" not in p.message]
    problems.extend(found)
    return spec, from_stdin


def config_document(
    path: str, tokens: Tokens, cwd: str, read_stdin: ReadStdin | None, problems: list[Problem]
) -> tuple[bool, Any]:
    """The `--config` file `path` loaded as YAML (JSON is YAML): (True, the document), or
    (False, None) after adding the problem (unreadable, not YAML, or not text)."""
    text = config_text(path, tokens, cwd, read_stdin, problems)
    if text is None:
        return False, None
    from prgcloud import yamlread  # PyYAML only for a command that reads YAML

    try:
        raw = yamlread.load_config(text)
    except yamlread.YamlError as error:
        problems.append(Problem("--config", f"[{path}] is not valid YAML or JSON: {error}"))
        return False, None
    if not is_text(raw):
        problems.append(Problem("--config", f"[{path}] {NOT_TEXT}"))
        return False, None
    return True, raw


def config_text(
    path: str,
    tokens: Tokens,
    cwd: str,
    read_stdin: ReadStdin | None,
    problems: list[Problem],
) -> str | None:
    """The `--config` file's text (or standard input's), or None after adding the problem."""
    try:
        if path != "-":
            return read_user_file(path, cwd)
        if read_stdin is None or tokens.stdin_read:
            raise OSError(0, "standard input is not available (or was already read)")
        return read_stdin_text(read_stdin)
    except OSError as error:
        reason = error.strerror or str(error)
        problems.append(Problem("--config", f"cannot read [{path}]: {reason}."))
        return None


def flag_pools(
    tokens: Tokens, api_version: str, cwd: str, problems: list[Problem]
) -> list[dict[str, Any]]:
    """Each `--worker-pool-spec` as a pool mapping, read and checked as gcloud does."""
    occurrences = tokens.all("--worker-pool-spec")
    pools: list[dict[str, Any]] = []
    unparsed: set[int] = set()
    for index, occurrence in enumerate(occurrences):
        try:
            pools.append(job.parse_flag_pool(occurrence.value))
        except argdict.ArgTypeError as error:
            problems.append(Problem(job.pool_where(index, len(occurrences)), str(error)))
            pools.append({})
            unparsed.add(index)
    problems.extend(
        job.check_flag_pools(
            pools,
            api_version,
            lambda path: os.path.isdir(os.path.join(cwd, os.path.expanduser(path))),
            unparsed=frozenset(unparsed),
        )
    )
    return pools


def _list_value(
    tokens: Tokens,
    name: str,
    problems: list[Problem],
    *,
    last_only: bool = False,
    unique: bool = False,
) -> list[str]:
    """An ArgList flag's items; `unique` is gcloud's UpdateAction, which refuses repeats."""
    occurrences = tokens.all(name)
    if last_only:
        occurrences = occurrences[-1:]
    values: list[str] = []
    for occurrence in occurrences:
        value = occurrence.value
        try:
            items = (
                [str(v) for v in value] if isinstance(value, list) else argdict.split_list(value)
            )
        except argdict.ArgTypeError as error:
            problems.append(Problem(name, str(error)))
            continue
        for item in items:
            if unique and item in values:
                problems.append(Problem(name, f'"{item}" cannot be specified multiple times'))
            else:
                values.append(item)
    return values


def read_labels(tokens: Tokens, problems: list[Problem]) -> dict[str, str] | None:
    """The `--labels` map (None when the flag is not given at all)."""
    if not tokens.given("--labels"):
        return None
    labels: dict[str, str] = {}
    for occurrence in tokens.all("--labels"):
        value = occurrence.value
        try:
            parsed = (
                {str(k): _yaml_text(v) for k, v in value.items()}
                if isinstance(value, dict)
                else argdict.parse_dict(value)
            )
        except argdict.ArgTypeError as error:
            problems.append(Problem("--labels", str(error)))
            continue
        for key, label in parsed.items():
            if not job.is_valid_label_key(key):
                problems.append(
                    Problem(
                        "--labels",
                        f"Invalid key format: {key}. Keys must start with a lowercase "
                        "character and contain only hyphens (-), underscores (_), lowercase "
                        "characters, and numbers (at most 63 characters).",
                    )
                )
            if not job.is_valid_label_value(label):
                problems.append(
                    Problem(
                        "--labels",
                        f"Invalid value format: {label}. Values may contain only hyphens (-), "
                        "underscores (_), lowercase characters, and numbers (at most 63).",
                    )
                )
            if key in labels:  # given by an earlier --labels: gcloud's UpdateAction refuses it
                problems.append(
                    Problem(
                        "--labels",
                        f'"{key}" cannot be specified multiple times; '
                        f"received: {labels[key]}, {label}",
                    )
                )
            labels[key] = label
    return labels


def _yaml_text(value: Any) -> str:
    return "" if value is None else str(value)


def read_kms_key(tokens: Tokens, project: str | None, problems: list[Problem]) -> str | None:
    """The full KMS key name from `--kms-key` and its `--kms-*` parts (None without one)."""
    key = tokens.last("--kms-key")
    parts = {n: tokens.last(f"--kms-{n}") for n in ("keyring", "location", "project")}
    if key and _FULL_KMS_KEY.match(key):
        return str(key)
    if key and parts["keyring"] and parts["location"] and (parts["project"] or project):
        return (
            f"projects/{parts['project'] or project}/locations/{parts['location']}"
            f"/keyRings/{parts['keyring']}/cryptoKeys/{key}"
        )
    if key or any(parts.values()):
        missing = [f"--kms-{n}" for n in ("keyring", "location") if not parts[n]]
        hint = f" (missing {', '.join(missing)})" if key and missing else ""
        problems.append(
            Problem(
                "--kms-key",
                f"Encryption key not fully specified{hint}. Give the full name "
                "projects/P/locations/L/keyRings/R/cryptoKeys/K, or --kms-key with "
                "--kms-keyring and --kms-location.",
            )
        )
    return None


def gcloud_args(
    argv: Sequence[str],
    tokens: Tokens,
    track: str | None,
    *,
    rewrite: bool,
    command: tuple[str, ...] = ("ai", "custom-jobs", "create"),
    spec_flags: frozenset[str] | set[str] = _SPEC_FLAGS,
) -> tuple[tuple[str, ...], int | None]:
    """The arguments after `gcloud` for `command`: the user's own, less prgcloud's flags.

    With `rewrite`, the flags that shape the job spec (`spec_flags`) give way to one generated
    `--config`, and `--flags-file` entries are spelled out as ordinary flags; the second value
    is then the index at which `--config=PATH` goes (at the end), else None.
    """
    drop: set[int] = set()
    for occurrence in tokens.occurrences:
        if occurrence.flag.scope == "prgcloud" or (rewrite and occurrence.flag.name in spec_flags):
            drop.update(occurrence.argv_items)
    if rewrite:
        drop.update(tokens.flags_file_items)
    prefix = (track,) if track else ()
    kept = [*prefix, *command]
    kept.extend(item for index, item in enumerate(argv) if index not in drop)
    if not rewrite:
        return tuple(kept), None
    kept.extend(
        arg
        for occurrence in tokens.occurrences
        if occurrence.from_flags_file is not None
        and occurrence.flag.scope != "prgcloud"
        and occurrence.flag.name not in spec_flags
        for arg in inline_flag(occurrence)
    )
    return tuple(kept), len(kept)


def inline_flag(occurrence: Occurrence) -> list[str]:
    """A flags-file entry as a command-line argument (a free `^X^` delimiter for structures)."""
    name, value = occurrence.flag.name, occurrence.value
    if isinstance(value, bool):
        return [name if value else f"--no-{name[2:]}"]
    if isinstance(value, dict):
        items = [
            f"{k}={';'.join(map(str, v)) if isinstance(v, list) else v}" for k, v in value.items()
        ]
        return [f"{name}={join_list(items)}"]
    if isinstance(value, list):
        return [f"{name}={join_list([str(v) for v in value])}"]
    return [f"{name}={value}"]


def join_list(items: Sequence[str]) -> str:
    """Items as one ArgList value that gcloud splits back into exactly these items.

    Plain `a,b` when no item holds a comma (and the first does not start with `^`), else a
    `^X^` delimiter that no item contains (`gcloud topic escaping`).
    """
    # One trailing delimiter is dropped by gcloud, so a last empty item needs one more.
    tail = items and items[-1] == ""
    if not any("," in item for item in items) and not (items and items[0].startswith("^")):
        return ",".join(items) + ("," if tail else "")
    for length in range(1, 64):
        for char in ",|@~#%+!:;":
            delim = char * length
            if not any(delim in item for item in items) and "^" not in delim:
                return f"^{delim}^" + delim.join(items) + (delim if tail else "")
    raise BadInputError.at("--flags-file", "a value holds every delimiter prgcloud can use.")
