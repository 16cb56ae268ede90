"""Pure rules and builders for a custom job: gcloud's checks, and the body gcloud sends.

Everything here is a function of plain data (parsed flag values, a config mapping), so the
rules can be tested as tables; reading files and the environment happens in `parse.py`.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from prgcloud import argdict, jobconfig, schemas
from prgcloud.constants import CONTAINER_REGISTRIES
from prgcloud.errors import Problem

WPS = "--worker-pool-spec"
_LOCAL_PACKAGE_ONLY = ("script", "requirements", "extra-packages", "extra-dirs")
_SOFTWARE = (
    "executor-image-uri",
    "container-image-uri",
    "python-module",
    "script",
    "requirements",
    "extra-packages",
    "extra-dirs",
)


def pool_where(index: int, count: int) -> str:
    """How a problem names a flag pool: `--worker-pool-spec` alone, else with its number."""
    return WPS if count == 1 else f"{WPS} #{index + 1}"


def flag_spec_converters() -> dict[str, argdict.Converter]:
    """The ArgDict spec of `--worker-pool-spec`, from the schema's `x-arg-type`s."""
    properties = schemas.worker_pool_spec()["properties"]
    return {key: argdict.CONVERTERS[p["x-arg-type"]] for key, p in properties.items()}


def parse_flag_pool(value: Any) -> dict[str, Any]:
    """One `--worker-pool-spec` value (a string, or a mapping from a flags file) as a dict."""
    spec = flag_spec_converters()
    if isinstance(value, Mapping):
        return {key: _flags_file_pool_value(key, raw, spec) for key, raw in value.items()}
    if not isinstance(value, str):
        raise argdict.ArgTypeError(f"Invalid type [{type(value).__name__}] for flag value")
    return argdict.parse_dict(value, spec)


def _flags_file_pool_value(key: Any, raw: Any, spec: Mapping[str, argdict.Converter]) -> Any:
    """A flags-file pool value as gcloud's ArgDict converts it: the YAML value, not its text.

    So `replica-count: 2.9` is `int(2.9)`, 2, and `machine-type: 010` is `str(10)`.
    """
    if raw is None:  # gcloud: a key with no value
        raise argdict.ArgTypeError(f"Bad syntax for dict arg: [{key}]. {argdict.ESCAPING_HINT}")
    if key not in spec:
        raise argdict.ArgTypeError(f"valid keys are [{', '.join(sorted(spec))}]; received: {key}")
    convert = spec[key]
    if convert is argdict.semicolon_list and not isinstance(raw, str):
        if isinstance(raw, list):
            return raw  # an ArgList takes a YAML list as it is
        raise argdict.ArgTypeError(f"Invalid type [{type(raw).__name__}] for flag value [{raw}]")
    try:
        return convert(raw)
    except (ValueError, TypeError, OverflowError) as error:
        raise argdict.ArgTypeError(f"Invalid value [{raw}] for key [{key}]") from error


def check_flag_pools(
    pools: Sequence[Mapping[str, Any]],
    api_version: str,
    is_dir: Callable[[str], bool],
    *,
    unparsed: frozenset[int] = frozenset(),
) -> list[Problem]:
    """Every problem with the `--worker-pool-spec` pools: schema, then gcloud's rules.

    gcloud stops at its first complaint; this reports them all, in pool order. Pools whose
    value did not even parse (`unparsed`) were reported already and are skipped here.
    """
    problems: list[Problem] = []
    if pools and not pools[0] and 0 not in unparsed:
        problems.append(
            Problem(WPS, "Empty value is not allowed for the first `--worker-pool-spec` flag.")
        )
    local_package = bool(pools) and "local-package-path" in pools[0]
    valid_accelerators = schemas.accelerator_types(api_version)
    for index, pool in enumerate(pools):
        if not pool or index in unparsed:
            continue  # a placeholder pool keeps its index and uses no machines
        where = pool_where(index, len(pools))

        def add(message: str, where: str = where) -> None:
            problems.append(Problem(where, message))

        for path, message in schemas.errors(pool, schemas.worker_pool_spec()):
            add(f"key [{path}]: {message}" if path else message)
        if "machine-type" not in pool:
            add("Key [machine-type] required in dict arg but not provided.")
        if "accelerator-count" in pool and "accelerator-type" not in pool:
            add("Key [accelerator-type] required as [accelerator-count] is specified.")
        accelerator = pool.get("accelerator-type")
        if accelerator and accelerator not in valid_accelerators:
            add(
                f"Found invalid value of [accelerator-type]: {accelerator}. "
                f"Available values are [{', '.join(valid_accelerators)}]."
            )
        if index == 0 and local_package:
            problems.extend(Problem(where, m) for m in _local_package_rules(pool, is_dir))
        elif local_package:
            unexpected = sorted(set(_SOFTWARE) & set(pool))
            if unexpected:
                add(
                    f"Keys [{', '.join(unexpected)}] are not allowed: A local package has been "
                    "specified in the first `--worker-pool-spec` flag and to be used for all "
                    "workers, do not specify these keys elsewhere."
                )
        elif "local-package-path" in pool:
            add("Key [local-package-path] is only allowed in the first `--worker-pool-spec` flag.")
        else:
            problems.extend(Problem(where, m) for m in _prebuilt_software_rules(pool))
    return problems


def _local_package_rules(pool: Mapping[str, Any], is_dir: Callable[[str], bool]) -> list[str]:
    messages = []
    path = pool["local-package-path"]
    if not is_dir(path):
        messages.append(f"Directory '{path}' is not found.")
    if "executor-image-uri" not in pool:
        messages.append(
            "Key [executor-image-uri] is required when `local-package-path` is specified."
        )
    if ("python-module" in pool) + ("script" in pool) != 1:
        messages.append(
            "Exactly one of keys [python-module, script] is required when "
            "`local-package-path` is specified."
        )
    output = pool.get("output-image-uri")
    if output:
        host = output.split("/")[0]
        if host not in CONTAINER_REGISTRIES and not host.endswith("-docker.pkg.dev"):
            messages.append(
                "The value of `output-image-uri` has to be a valid gcr.io or Artifact "
                "Registry image"
            )
        else:
            reason = docker_reference_problem(output)
            if reason:
                messages.append(f"'{output}' is not a valid container image uri: {reason}")
    return messages


_HOST_COMPONENT = re.compile(r"^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])$")
_PATH_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)*$")
_TAG = re.compile(r"^[\w][\w.-]{0,127}$")


def docker_reference_problem(image: str) -> str | None:
    """gcloud's `docker_utils.ValidateRepositoryAndTag`: why `image` is no repo[:tag], or None."""
    repository, _, tag = image.rpartition(":")
    if not repository or "/" in tag:
        repository, tag = image, ""
    if len(repository) > 255:
        return "Repository name must not be more than 255 characters."
    components = repository.split("/")
    if len(components) > 1 and ("." in components[0] or ":" in components[0]):
        host, components = components[0], components[1:]
        name, _, port = host.rpartition(":") if ":" in host else (host, "", "")
        if not all(_HOST_COMPONENT.match(c) for c in name.split(".")) or (
            port and not port.isdigit()
        ):
            return f'Invalid hostname/port "{host}" in repository name.'
    for component in components:
        if not component:
            return "Empty path component in repository name."
        if not _PATH_COMPONENT.match(component):
            return f'Invalid path component "{component}" in repository name.'
    if len(tag) > 128:
        return "Tag name must not be more than 128 characters."
    if tag and not _TAG.match(tag):
        return "Invalid tag."
    return None


def _prebuilt_software_rules(pool: Mapping[str, Any]) -> list[str]:
    messages = []
    executor, container = "executor-image-uri" in pool, "container-image-uri" in pool
    if executor + container != 1:
        messages.append(
            "Exactly one of keys [executor-image-uri, container-image-uri] is required."
        )
    if container and "python-module" in pool:
        messages.append(
            "Key [python-module] is not allowed together with key [container-image-uri]."
        )
    if executor and "python-module" not in pool:
        messages.append("Key [python-module] is required.")
    unexpected = sorted(set(_LOCAL_PACKAGE_ONLY) & set(pool))
    if unexpected:
        messages.append(
            f"Keys [{', '.join(unexpected)}] are not allowed: Only allow to specify together "
            "with `local-package-path` in the first `--worker-pool-spec` flag."
        )
    return messages


def flag_pool_body(pool: Mapping[str, Any], python_package_uris: Sequence[str]) -> dict[str, Any]:
    """The WorkerPoolSpec gcloud builds from one `--worker-pool-spec` (custom_jobs_util.py).

    prgcloud's `disk-type`/`disk-size` become `diskSpec`; a `local-package-path` pool runs the
    image gcloud builds and pushes (`output-image-uri`, else a name gcloud makes up).
    """
    if not pool:
        return {}
    machine: dict[str, Any] = {}
    if pool.get("machine-type") is not None:
        machine["machineType"] = pool["machine-type"]
    if pool.get("accelerator-type"):
        machine["acceleratorType"] = pool["accelerator-type"]
        machine["acceleratorCount"] = int(pool.get("accelerator-count", 1))
    body: dict[str, Any] = {
        "machineSpec": machine,
        "replicaCount": str(pool.get("replica-count", 1)),
    }
    built = built_image(pool)
    if built:
        body["containerSpec"] = {"imageUri": built}
    elif pool.get("container-image-uri"):
        body["containerSpec"] = {"imageUri": pool["container-image-uri"]}
    elif python_package_uris or pool.get("executor-image-uri") or pool.get("python-module"):
        package = {
            "executorImageUri": pool.get("executor-image-uri"),
            "packageUris": list(python_package_uris),
            "pythonModule": pool.get("python-module"),
        }
        body["pythonPackageSpec"] = {k: v for k, v in package.items() if v}
    disk = {"bootDiskType": pool.get("disk-type"), "bootDiskSizeGb": pool.get("disk-size")}
    if any(v is not None for v in disk.values()):
        body["diskSpec"] = {k: v for k, v in disk.items() if v is not None}
    return body


def built_image(pool: Mapping[str, Any]) -> str | None:
    """The image gcloud builds from a pool's `local-package-path` and gives every pool, if any.

    Its name is `output-image-uri`, else one gcloud makes up when it builds (shown here as a
    description, since it cannot be known before).
    """
    if "local-package-path" not in pool:
        return None
    described = f"(built by gcloud from {pool['local-package-path']})"
    return str(pool.get("output-image-uri") or described)


def has_disk_keys(pools: Sequence[Mapping[str, Any]]) -> bool:
    """Whether any flag pool uses prgcloud's disk keys (gcloud cannot take them as flags)."""
    return any("disk-type" in p or "disk-size" in p for p in pools)


def normalize_config(raw: Any, api_version: str) -> tuple[dict[str, Any], list[Problem]]:
    """A parsed `--config` document as gcloud sends it (see `jobconfig`), and what is wrong.

    gcloud refuses an empty file and anything but a mapping; then apitools reads the fields
    (`jobconfig.read_config`); then, if the file's pools are used, gcloud's own rule.
    """
    where = "--config"
    if raw is None:
        return {}, [Problem(where, "the file is empty; gcloud wants a CustomJobSpec mapping.")]
    if not isinstance(raw, dict):
        return {}, [Problem(where, "the file must hold a mapping (a CustomJobSpec).")]
    spec, found = jobconfig.read_config(raw, api_version)
    problems = [Problem(where, f"{path or 'the file'}: {message}") for path, message in found]
    if not problems:
        problems.extend(_config_pool_rules(spec))
    return spec, problems


def _config_pool_rules(spec: Mapping[str, Any]) -> list[Problem]:
    """gcloud's `_ValidateWorkerPoolSpecsFromConfig`, for every pool at once."""
    problems = []
    for index, pool in enumerate(spec.get("workerPoolSpecs", [])):
        package = pool.get("pythonPackageSpec") or {}
        python = bool(package.get("executorImageUri") or package.get("pythonModule"))
        container = bool((pool.get("containerSpec") or {}).get("imageUri"))
        if python == container:
            problems.append(
                Problem(
                    "--config",
                    f"workerPoolSpecs[{index}]: Exactly one of fields [pythonPackageSpec, "
                    "containerSpec] is required for a [workerPoolSpecs] in the YAML config file.",
                )
            )
    return problems


def job_spec(
    base: Mapping[str, Any],
    *,
    pools: Sequence[Mapping[str, Any]],
    python_package_uris: Sequence[str],
    network: str | None,
    service_account: str | None,
    enable_web_access: bool,
    enable_dashboard_access: bool,
    args: Sequence[str],
    command: Sequence[str],
    persistent_resource_id: str | None,
) -> dict[str, Any]:
    """gcloud's `ConstructCustomJobSpec`: the config's spec with the flags laid over it."""
    spec = copy.deepcopy(dict(base))
    if network is not None:
        spec["network"] = network
    if service_account is not None:
        spec["serviceAccount"] = service_account
    if enable_web_access:
        spec["enableWebAccess"] = True
    if enable_dashboard_access:
        spec["enableDashboardAccess"] = True
    if pools:
        built = built_image(pools[0])
        spec["workerPoolSpecs"] = [
            flag_pool_body(
                {**p, "container-image-uri": built} if built and p and i else p,
                python_package_uris,
            )
            for i, p in enumerate(pools)
        ]
    if args:
        for pool in spec.get("workerPoolSpecs", []):
            for key in ("containerSpec", "pythonPackageSpec"):
                if key in pool:
                    pool[key]["args"] = list(args)
    if command:
        for pool in spec.get("workerPoolSpecs", []):
            if "containerSpec" in pool:
                pool["containerSpec"]["command"] = list(command)
    if persistent_resource_id:
        spec["persistentResourceId"] = persistent_resource_id
    cleaned: dict[str, Any] = _drop_empty(spec)
    return cleaned


def _drop_empty(value: Any) -> Any:
    # apitools leaves out unset fields and empty lists; it sends "" and false when they
    # were set (`--network=` clears the config's network); a placeholder pool `{}` stays.
    if isinstance(value, dict):
        return {k: _drop_empty(v) for k, v in value.items() if v is not None and v != []}
    if isinstance(value, list):
        return [_drop_empty(v) for v in value]
    return value


def custom_job(
    display_name: str,
    spec: Mapping[str, Any],
    *,
    kms_key_name: str | None,
    labels: Mapping[str, str] | None,
) -> dict[str, Any]:
    """The CustomJob body gcloud POSTs."""
    body: dict[str, Any] = {"displayName": display_name, "jobSpec": dict(spec)}
    if kms_key_name is not None:
        body["encryptionSpec"] = {"kmsKeyName": kms_key_name}
    if labels is not None:  # `--labels=` sends an empty map, as gcloud does
        body["labels"] = dict(labels)
    return body


def _is_lower(c: str) -> bool:
    return c.isalpha() and (c.islower() or not c.isupper())


def is_valid_label_value(value: str) -> bool:
    """gcloud's `IsValidLabelValue`: `[\\p{Ll}\\p{Lo}\\p{N}_-]{0,63}`."""
    return len(value) <= 63 and all(c in "_-" or c.isdigit() or _is_lower(c) for c in value)


def is_valid_label_key(key: str) -> bool:
    """gcloud's `IsValidLabelKey`: a lowercase first character, then a valid value."""
    return bool(key) and _is_lower(key[0]) and is_valid_label_value(key)


# gcloud's own pattern (core/iam_util.py), broad on purpose.
_SERVICE_ACCOUNT = re.compile(r"^(.+@.+\..+|[0-9]+)$")


def is_valid_service_account(value: str) -> bool:
    """gcloud's IAM account validator: a numeric unique id or an email address."""
    return bool(_SERVICE_ACCOUNT.match(value))
