"""argv + environment -> `TuningRequest`: `gcloud ai hp-tuning-jobs create`, read as gcloud does.

gcloud 528 (`api_lib/ai/hp_tuning_jobs/client.py`) reads `--config` as a whole
HyperparameterTuningJob with its strict reader (an unknown or snake_case key is refused, unlike a
custom job's config), then lays the flags over it, quirks included:
- `--max-trial-count`/`--parallel-trial-count` replace the config's counts unless they are 0;
  a count that ends up absent or 0 is sent as 1;
- `--network`, `--service-account`, `--enable-web-access`, `--enable-dashboard-access` set
  fields of `trialJobSpec` (gcloud crashes when the config has none: exit 2 here);
- `--display-name` replaces the config's unless it is empty; `--labels` replaces its labels;
- `--algorithm` sets `studySpec.algorithm`, and is dropped when the config has no `studySpec`;
- an empty config, an empty mapping or a list crashes gcloud: exit 2 here.

prgcloud's extensions `--persistent-resource-id` and `--worker-pool-spec` (the custom-job
syntax, the same pool builder) set `trialJobSpec.persistentResourceId` and
`trialJobSpec.workerPoolSpecs`; gcloud has no such flags, so gcloud then gets the merged job
as a generated `--config`.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from prgcloud import job, jobconfig, parse, schemas
from prgcloud.errors import BadInputError, Problem
from prgcloud.flags import TUNING_FLAGS, ReadStdin, Tokens, tokenize
from prgcloud.request import API_VERSIONS, TuningRequest

COMMAND = ("ai", "hp-tuning-jobs", "create")
# Flags whose effect goes into a generated --config (gcloud does not know the last two).
_SPEC_FLAGS = frozenset({"--config", "--persistent-resource-id", "--worker-pool-spec"})
_TRIAL_FIELDS = {
    "--network": "network",
    "--service-account": "serviceAccount",
    "--enable-web-access": "enableWebAccess",
    "--enable-dashboard-access": "enableDashboardAccess",
}


def algorithm_choices(api_version: str) -> dict[str, str]:
    """`--algorithm`'s choices (gcloud's ChoiceEnumMapper: `grid-search`) -> enum names."""
    study = schemas.hp_tuning_job(api_version)["$defs"]["StudySpec"]
    names: list[str] = study["properties"]["algorithm"]["enum"]
    return {name.lower().replace("_", "-"): name for name in names}


def parse_tuning_create(
    argv: Sequence[str],
    environ: Mapping[str, str],
    *,
    track: str | None,
    cwd: str,
    read_stdin: ReadStdin | None = None,
) -> TuningRequest:
    """Read `gcloud [track] ai hp-tuning-jobs create ARGV` as gcloud would; raise BadInputError.

    Every problem is collected and raised at once (exit 2), including those on which gcloud
    itself would crash.
    """
    tokens = tokenize(argv, cwd=cwd, read_stdin=read_stdin, table=TUNING_FLAGS)
    problems = list(tokens.problems)
    api_version = API_VERSIONS[track]

    options = parse.read_options(tokens, problems)
    properties = parse.gcloud_properties(environ, tokens.last)
    project, region, found = parse.resolve_location(tokens.last("--region"), properties)
    problems.extend(found)
    display_name = tokens.last("--display-name")
    if display_name is None:
        problems.append(Problem("--display-name", "must be specified."))
    config, config_from_stdin = _config(tokens, cwd, read_stdin, api_version, problems)
    counts = {name: _count(tokens, name, problems) for name in _COUNT_FIELDS}
    algorithm = _algorithm(tokens, api_version, problems)
    pools = parse.flag_pools(tokens, api_version, cwd, problems)
    labels = parse.read_labels(tokens, problems)
    kms_key = parse.read_kms_key(tokens, properties.get("core/project"), problems)
    parse.check_service_account(tokens.last("--service-account"), problems)
    endpoint = parse.read_endpoint(properties, region, problems)
    extended = bool(pools or tokens.last("--persistent-resource-id"))
    if config is not None and not extended:  # the extensions give it a trialJobSpec
        _check_trial_fields(tokens, config, problems)
    # gcloud's tuning job reads any trialJobSpec from its config, empty pools included, so
    # a placeholder (a later empty --worker-pool-spec) goes there as `{}`, as custom jobs send it
    needs_config = extended or config_from_stdin or tokens.stdin_read
    if problems:
        raise BadInputError(problems)
    assert project is not None
    assert region is not None
    assert endpoint is not None
    assert config is not None

    body = _merged(tokens, config, display_name, counts, algorithm, kms_key, labels, pools)
    args, config_index = parse.gcloud_args(
        argv, tokens, track, rewrite=needs_config, command=COMMAND, spec_flags=_SPEC_FLAGS
    )
    return TuningRequest(
        track=track,
        project=project,
        region=region,
        endpoint=endpoint,
        body=body,
        gcloud_args=args,
        config_yaml=parse.dump_yaml(body) if needs_config else None,
        config_index=config_index,
        identity=parse.identity(tokens.last, properties),
        options=options,
        core_project=properties.get("core/project") or None,
    )


def _merged(
    tokens: Tokens,
    config: Mapping[str, Any],
    display_name: str | None,
    counts: Mapping[str, int | None],
    algorithm: str | None,
    kms_key: str | None,
    labels: dict[str, str] | None,
    pools: Sequence[dict[str, Any]],
) -> dict[str, Any]:
    """The tuning job gcloud sends: the flags' values laid over the config (see `merge`)."""
    return merge(
        config,
        display_name=display_name,
        max_trial_count=counts["--max-trial-count"],
        parallel_trial_count=counts["--parallel-trial-count"],
        algorithm=algorithm,
        trial_fields={
            field: tokens.last(name) for name, field in _TRIAL_FIELDS.items() if tokens.last(name)
        },
        kms_key=kms_key,
        labels=labels,
        pools=[job.flag_pool_body(pool, ()) for pool in pools],
        persistent_resource_id=tokens.last("--persistent-resource-id"),
    )


def merge(
    config: Mapping[str, Any],
    *,
    display_name: str | None,
    max_trial_count: int | None,
    parallel_trial_count: int | None,
    algorithm: str | None,
    trial_fields: Mapping[str, Any],
    kms_key: str | None,
    labels: Mapping[str, str] | None,
    pools: Sequence[Mapping[str, Any]] = (),
    persistent_resource_id: str | None = None,
) -> dict[str, Any]:
    """gcloud's `HpTuningJobsClient.Create`: the config's job with the flags laid over it.

    `config` is the job as gcloud reads it (`--config`); the result is the body it POSTs.
    """
    body = copy.deepcopy(dict(config))
    for key, flag in (
        ("maxTrialCount", max_trial_count),
        ("parallelTrialCount", parallel_trial_count),
    ):
        if flag:  # a 0 flag is no flag
            body[key] = flag
        elif not body.get(key):
            body[key] = 1
    trial = body.get("trialJobSpec")
    if trial_fields or pools or persistent_resource_id:
        trial = dict(trial) if isinstance(trial, Mapping) else {}
        trial.update(trial_fields)
        if pools:
            trial["workerPoolSpecs"] = [dict(pool) for pool in pools]
        if persistent_resource_id:
            trial["persistentResourceId"] = persistent_resource_id
        body["trialJobSpec"] = trial
    if display_name:
        body["displayName"] = display_name
    if algorithm and "studySpec" in body:
        body["studySpec"] = {**body["studySpec"], "algorithm": algorithm}
    if kms_key is not None:
        body["encryptionSpec"] = {"kmsKeyName": kms_key}
    if labels is not None:  # `--labels=` too: gcloud sends an empty map then
        body["labels"] = dict(labels)
    return body


_COUNT_FIELDS = ("--max-trial-count", "--parallel-trial-count")


def _count(tokens: Tokens, name: str, problems: list[Problem]) -> int | None:
    """A trial count flag as argparse's `type=int` reads it; None when not given."""
    value = tokens.last(name)
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        problems.append(Problem(name, f"invalid int value: '{value}'"))
        return None


def _algorithm(tokens: Tokens, api_version: str, problems: list[Problem]) -> str | None:
    value = tokens.last("--algorithm")
    if value is None:
        return None
    choices = algorithm_choices(api_version)
    if value not in choices:
        problems.append(
            Problem(
                "--algorithm",
                f"Invalid choice: '{value}'. Valid choices are [{', '.join(sorted(choices))}].",
            )
        )
        return None
    return choices[value]


def _config(
    tokens: Tokens,
    cwd: str,
    read_stdin: ReadStdin | None,
    api_version: str,
    problems: list[Problem],
) -> tuple[dict[str, Any] | None, bool]:
    """The `--config` job as gcloud reads it (None after a problem), and whether it was stdin."""
    path = tokens.last("--config")
    if path is None:
        if not any(problem.where == "--config" for problem in problems):  # said once is enough
            problems.append(Problem("--config", "must be specified."))
        return None, False
    from_stdin = path == "-"
    if not path:
        problems.append(
            Problem(
                "--config",
                "names no file: give the YAML file of the HyperparameterTuningJob "
                "(gcloud crashes without one).",
            )
        )
        return None, from_stdin
    read, raw = parse.config_document(path, tokens, cwd, read_stdin, problems)
    if not read:
        return None, from_stdin
    if not raw:
        # gcloud then sets fields on the message class itself and crashes.
        problems.append(Problem("--config", _EMPTY))
        return None, from_stdin
    if not isinstance(raw, dict):
        # gcloud crashes on anything but a mapping ('list' object has no attribute 'items').
        problems.append(
            Problem("--config", "the file must hold a HyperparameterTuningJob mapping.")
        )
        return None, from_stdin
    body, found = jobconfig.read_config(
        raw, api_version, schema=schemas.hp_tuning_job(api_version), proto_names=False
    )
    problems.extend(
        Problem("--config", f"{where or 'the file'}: {message}") for where, message in found
    )
    return (None if found else body), from_stdin


_EMPTY = (
    "the file is empty (or an empty mapping); gcloud wants a HyperparameterTuningJob with at "
    "least one field (it crashes on an empty one)."
)


def _check_trial_fields(tokens: Tokens, config: Mapping[str, Any], problems: list[Problem]) -> None:
    """gcloud crashes when a flag sets a `trialJobSpec` field and the config has none."""
    if "trialJobSpec" in config:
        return
    for name in _TRIAL_FIELDS:
        if tokens.last(name):
            problems.append(
                Problem(
                    name,
                    "the --config has no trialJobSpec, so there is nothing for this flag to "
                    "set (gcloud crashes on it): add trialJobSpec to the file.",
                )
            )
