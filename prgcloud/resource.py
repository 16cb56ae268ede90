"""Pure rules and builders for `persistent-resources create`: gcloud's checks, prgcloud's, and
the PersistentResource gcloud sends.

gcloud 528 (`surface/ai/persistent_resources/create.py`, `command_lib/ai/persistent_resources/`)
builds the resource from its flags and takes only `resourcePools` from `--config`: the file's
pools first, then one pool per `--resource-pool-spec`. Everything else in the file is dropped
without a word. prgcloud keeps what gcloud can send as flags (`kept_flags`: display name,
network, CMEK key, labels, a custom service account), refuses what it cannot send
(`refused_fields`), and refuses what gcloud would send wrong or crash on (a minimum below one,
an empty pool, a disk type no job can ask for, `local-ssd-count`). Everything here is a
function of plain data; reading files and the environment happens in `resource_parse.py`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from prgcloud import argdict, job, schemas
from prgcloud.errors import Problem
from prgcloud.parse import join_list
from prgcloud.request import JobRequest

RPS = "--resource-pool-spec"
# The boot disk types a job can ask for (its `diskSpec.bootDiskType`), and so the only ones a
# pool of a persistent resource can usefully have: a job's disk must match its pool's.
DISK_TYPES = ("pd-ssd", "pd-standard", "hyperdisk-balanced")
# The API's default boot disk type, as the pre-check's match key has it (precheck/rules.py).
DEFAULT_DISK_TYPE = "pd-ssd"
HYPERDISK_MACHINE_PREFIXES = ("a3-ultragpu-",)
HYPERDISK_DEFAULT = "hyperdisk-balanced"
# The API's rule for a persistent resource id (documented with the SDK's `create`).
RESOURCE_ID = re.compile(r"^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$")
# Fields the service sets; gcloud drops them from a config, and no one can set them.
OUTPUT_ONLY = frozenset(
    {
        "name",
        "state",
        "error",
        "createTime",
        "startTime",
        "updateTime",
        "resourceRuntime",
        "satisfiesPzs",
        "satisfiesPzi",
    }
)
_CANNOT_SEND = (
    "gcloud 528 cannot send it (`persistent-resources create` has no flag for it and takes "
    "only resourcePools from --config), so the resource would be created without it"
)
_KMS_KEY = re.compile(r"^projects/[^/]+/locations/[^/]+/keyRings/[^/]+/cryptoKeys/[^/]+$")


@dataclass(frozen=True)
class ResourceRequest(JobRequest):
    """One `persistent-resources create`, fully resolved.

    `body` is the PersistentResource gcloud POSTs (with `?persistentResourceId=`); `gcloud_args`
    are the arguments that make gcloud send exactly it: the user's own, with the config's kept
    fields as flags; when the pools must be written for gcloud (standard input was read, a disk
    type was filled in), `config_yaml` holds them as a generated `--config`. `notes` are the
    lines prgcloud says on stderr (a default it filled in); `wait` and `polling_interval` are
    `--wait` and `--polling-interval` in seconds.
    """

    resource_id: str = ""
    notes: tuple[str, ...] = ()
    wait: float | None = None
    polling_interval: float | None = None

    @property
    def url(self) -> str:
        """The URL gcloud POSTs the resource to (the query string apart: `query`)."""
        return f"{self.endpoint}{self.api_version}/{self.parent}/persistentResources"

    @property
    def query(self) -> str:
        """The query string gcloud sends with the POST."""
        return f"alt=json&persistentResourceId={self.resource_id}"

    @property
    def persistent_resource_id(self) -> str | None:
        """The id of the resource this creates."""
        return self.resource_id

    @property
    def service_body(self) -> Mapping[str, Any]:
        """`body` as it is: no snake_case key gets through (gcloud's help calls them invalid)."""
        return self.body


def schema(api_version: str) -> dict[str, Any]:
    """The schema of a `--config` file (a PersistentResource) for `v1` or `v1beta1`."""
    return schemas.load(f"persistent-resource.{api_version}.json")


def pool_flag_schema() -> dict[str, Any]:
    """The schema of one parsed `--resource-pool-spec`."""
    return schemas.load("resource-pool-spec.json")


def accelerator_types(api_version: str) -> list[str]:
    """The accelerator names gcloud takes for a resource pool: the NVIDIA ones, sorted."""
    machine = schema(api_version)["$defs"]["MachineSpec"]
    names: list[str] = machine["properties"]["acceleratorType"]["enum"]
    return sorted(n for n in names if n.startswith("NVIDIA"))


def default_disk_type(machine_type: str) -> str:
    """The boot disk type the API gives a pool that names none."""
    if machine_type.startswith(HYPERDISK_MACHINE_PREFIXES):
        return HYPERDISK_DEFAULT
    return DEFAULT_DISK_TYPE


def pool_where(index: int, count: int) -> str:
    """How a problem names a flag pool: `--resource-pool-spec` alone, else with its number."""
    return RPS if count == 1 else f"{RPS} #{index + 1}"


def parse_flag_pool(value: Any) -> dict[str, Any]:
    """One `--resource-pool-spec` value (a string, or a mapping from a flags file) as a dict.

    Raises argdict.ArgTypeError with gcloud's words.
    """
    properties = pool_flag_schema()["properties"]
    spec = {key: argdict.CONVERTERS[p["x-arg-type"]] for key, p in properties.items()}
    if isinstance(value, Mapping):
        return {key: job._flags_file_pool_value(key, raw, spec) for key, raw in value.items()}
    if not isinstance(value, str):
        raise argdict.ArgTypeError(f"Invalid type [{type(value).__name__}] for flag value")
    return argdict.parse_dict(value, spec)


def check_flag_pools(
    pools: Sequence[Mapping[str, Any]],
    api_version: str,
    *,
    unparsed: frozenset[int] = frozenset(),
) -> list[Problem]:
    """Every problem with the `--resource-pool-spec` pools: gcloud's rules, the API's bounds.

    gcloud stops at its first complaint (and crashes on an empty pool after the first); this
    reports them all, in pool order. Pools that did not parse (`unparsed`) were reported.
    """
    valid_accelerators = accelerator_types(api_version)
    return [
        Problem(pool_where(index, len(pools)), message)
        for index, pool in enumerate(pools)
        if index not in unparsed
        for message in _pool_problems(index, pool, valid_accelerators)
    ]


def _pool_problems(
    index: int, pool: Mapping[str, Any], valid_accelerators: Sequence[str]
) -> Iterator[str]:
    """What is wrong with one `--resource-pool-spec` pool (the `index`th), message by message."""
    if not pool:
        yield (
            "Empty value is not allowed for the first `--resource-pool-spec` flag."
            if index == 0
            else "an empty `--resource-pool-spec` is no resource pool (gcloud crashes on "
            "it with a TypeError). Remove it, or give it machine-type and replica-count."
        )
        return
    properties = pool_flag_schema()["properties"]
    for key in sorted(pool):
        refused = properties.get(key, {}).get("x-refused")
        if refused:
            yield f"key [{key}]: {refused}"
    checked = {k: v for k, v in pool.items() if not properties.get(k, {}).get("x-refused")}
    for path, message in schemas.errors(checked, pool_flag_schema()):
        if path == "disk-type":
            message = _disk_type_message(pool[path], path)
        yield f"key [{path}]: {message}" if path else message
    yield from _required_keys(pool)
    low, high = pool.get("min-replica-count"), pool.get("max-replica-count")
    if isinstance(low, int) and isinstance(high, int) and low > high:
        yield f"min-replica-count ({low}) is more than max-replica-count ({high})."
    if ("accelerator-count" in pool) != ("accelerator-type" in pool):
        yield "Key [accelerator-type] and [accelerator-count] are required to use accelerators."
    accelerator = pool.get("accelerator-type")
    if accelerator and accelerator not in valid_accelerators:
        yield (
            f"Found invalid value of [accelerator-type]: {accelerator}. "
            f"Available values are [{', '.join(valid_accelerators)}]."
        )


def _required_keys(pool: Mapping[str, Any]) -> Iterator[str]:
    """gcloud's complaints about keys a pool must have, in gcloud's words."""
    if "machine-type" not in pool:
        yield "Key [machine-type] required in dict arg but not provided."
    if "min-replica-count" in pool and "max-replica-count" not in pool:
        yield (
            "Key [max-replica-count] required in dict arg when key [min-replica-count] is provided."
        )
    if "max-replica-count" in pool and "min-replica-count" not in pool:
        yield (
            "Key [min-replica-count] required in dict arg when key [max-replica-count] is provided."
        )
    if "replica-count" not in pool and "min-replica-count" not in pool:
        yield "Key [replica-count] required in dict arg but not provided."


def disk_type_to_fill(pool: Mapping[str, Any]) -> str | None:
    """The disk type prgcloud gives a flag pool that has `disk-size` but no `disk-type`, if any.

    gcloud builds a `diskSpec` only from `disk-type`, so it would drop the size.
    """
    if "disk-size" in pool and not pool.get("disk-type"):
        return default_disk_type(str(pool.get("machine-type") or ""))
    return None


def flag_pool_body(pool: Mapping[str, Any]) -> dict[str, Any]:
    """The ResourcePool gcloud builds from one checked `--resource-pool-spec`.

    gcloud's `_ConstructSingleResourcePoolSpec`, falsy values skipped as it skips them.
    """
    body: dict[str, Any] = {"machineSpec": {"machineType": pool.get("machine-type")}}
    if pool.get("accelerator-type"):
        body["machineSpec"]["acceleratorType"] = pool["accelerator-type"]
        body["machineSpec"]["acceleratorCount"] = int(pool.get("accelerator-count", 1))
    if pool.get("replica-count"):
        body["replicaCount"] = str(int(pool["replica-count"]))
    low, high = pool.get("min-replica-count"), pool.get("max-replica-count")
    if low or high:
        body["autoscalingSpec"] = {"minReplicaCount": str(low), "maxReplicaCount": str(high)}
    if pool.get("disk-type"):
        disk: dict[str, Any] = {"bootDiskType": pool["disk-type"]}
        if pool.get("disk-size") is not None:
            disk["bootDiskSizeGb"] = pool["disk-size"]
        body["diskSpec"] = disk
    return body


def check_config_pools(pools: Sequence[Mapping[str, Any]], api_version: str) -> list[Problem]:
    """gcloud's `_ValidateResourcePoolSpecsFromConfig` for every pool at once, and the API's
    bounds gcloud does not check (replicas at least one, a disk type a job can ask for)."""
    where = "--config"
    if not pools:
        return [
            Problem(where, "At least one [resourcePools] required in but not provided in config.")
        ]
    valid_accelerators = accelerator_types(api_version)
    problems = []
    for index, pool in enumerate(pools):
        at = f"resourcePools[{index}]"

        def add(message: str, at: str = at) -> None:
            problems.append(Problem(where, f"{at}: {message}"))

        machine = pool.get("machineSpec") or {}
        if not machine:
            add("Field [machineSpec] required in but not provided in config.")
        elif not machine.get("machineType"):
            add("Field [machineType] required in but not provided in config.")
        autoscaling = pool.get("autoscalingSpec")
        replicas = _number(pool.get("replicaCount"))
        if not replicas and autoscaling is None:
            add("Field [replicaCount] required in but not provided in config.")
        elif replicas is not None and replicas < 1:
            add(f"replicaCount must be at least 1, found {replicas}.")
        if autoscaling is not None:
            low = _number(autoscaling.get("minReplicaCount"))
            high = _number(autoscaling.get("maxReplicaCount"))
            if not low:
                add("Field [minReplicaCount] required when using autoscaling")
            elif low < 1:
                add(f"autoscalingSpec.minReplicaCount must be at least 1, found {low}.")
            if not high:
                add("Field [maxReplicaCount] required when using autoscaling")
            elif low and high < low:
                add(f"autoscalingSpec.minReplicaCount ({low}) is more than its max ({high}).")
        if machine.get("acceleratorCount") and not machine.get("acceleratorType"):
            add("Field [acceleratorType] required as [acceleratorCount] is specified in config.")
        accelerator = machine.get("acceleratorType")
        if accelerator and accelerator not in valid_accelerators:
            add(
                f"Found invalid value of [acceleratorType]: {accelerator}. "
                f"Available values are [{', '.join(valid_accelerators)}]."
            )
        disk = pool.get("diskSpec") or {}
        if disk.get("bootDiskSizeGb") and not disk.get("bootDiskType"):
            add("Field [bootDiskType] required as [bootDiskSizeGb] is specified in config.")
        disk_type = disk.get("bootDiskType")
        if disk_type and disk_type not in DISK_TYPES:
            add(_disk_type_message(disk_type, "diskSpec.bootDiskType"))
    return problems


def _disk_type_message(value: Any, name: str) -> str:
    return (
        f"{name} {value!r} is not a boot disk type a job can ask for "
        f"[{', '.join(DISK_TYPES)}]: no job could ever match the pool."
    )


def _number(value: Any) -> int | None:
    # read_config has made int64 fields decimal text; int32 fields stay numbers.
    if value is None:
        return None
    return int(value)


def refused_fields(config: Mapping[str, Any]) -> list[Problem]:
    """The config's fields gcloud cannot send, each refused with the reason."""
    problems = []
    for key in sorted(config):
        if key in ("resourcePools", "displayName", "network", "encryptionSpec", "labels"):
            continue
        if key in OUTPUT_ONLY:
            continue  # set by the service; gcloud drops it and so may prgcloud
        if key == "resourceRuntimeSpec":
            problems.extend(_runtime_spec_problems(config[key]))
            continue
        problems.append(Problem("--config", f"{key}: {_CANNOT_SEND}. Remove it from the file."))
    kms = (config.get("encryptionSpec") or {}).get("kmsKeyName")
    if kms and not _KMS_KEY.match(kms):
        problems.append(
            Problem(
                "--config",
                f"encryptionSpec.kmsKeyName: [{kms}] is not a full key name "
                "(projects/P/locations/L/keyRings/R/cryptoKeys/K), the only form gcloud's "
                "--kms-key can pass on.",
            )
        )
    labels = config.get("labels") or {}
    for key, value in labels.items():
        if not job.is_valid_label_key(key) or not job.is_valid_label_value(str(value)):
            problems.append(
                Problem(
                    "--config",
                    f"labels: [{key}: {value}] is not a valid label: keys start with a "
                    "lowercase letter; keys and values hold only lowercase letters, digits, "
                    "hyphens and underscores (at most 63).",
                )
            )
    return problems


def _runtime_spec_problems(spec: Mapping[str, Any]) -> list[Problem]:
    """Only `serviceAccountSpec.enableCustomServiceAccount` can be sent (as a flag)."""
    problems = []
    for key in sorted(spec):
        inner = spec[key]
        if key == "serviceAccountSpec" and isinstance(inner, Mapping):
            for field in sorted(inner):
                if field != "enableCustomServiceAccount":
                    problems.append(
                        Problem(
                            "--config",
                            f"resourceRuntimeSpec.serviceAccountSpec.{field}: {_CANNOT_SEND}. "
                            "Remove it from the file.",
                        )
                    )
            continue
        problems.append(
            Problem(
                "--config",
                f"resourceRuntimeSpec.{key}: {_CANNOT_SEND}. Remove it from the file.",
            )
        )
    return problems


def kept_flags(config: Mapping[str, Any], given: Mapping[str, bool]) -> list[str]:
    """The flags that make gcloud send the config's fields it would drop.

    A field the command line already sets (`given[flag]`) is left to the flag: flags win
    over the file, as gcloud's help says. Labels are replaced as a whole, as `--labels` is.
    """
    flags = []
    if "displayName" in config and not given["--display-name"]:
        flags.append(f"--display-name={config['displayName']}")
    if config.get("network") and not given["--network"]:
        flags.append(f"--network={config['network']}")
    kms = (config.get("encryptionSpec") or {}).get("kmsKeyName")
    if kms and not given["--kms-key"]:
        flags.append(f"--kms-key={kms}")
    if "labels" in config and not given["--labels"]:
        items = [f"{k}={v}" for k, v in config["labels"].items()]
        flags.append(f"--labels={join_list(items)}")
    account = (config.get("resourceRuntimeSpec") or {}).get("serviceAccountSpec") or {}
    if account.get("enableCustomServiceAccount") and not given["--enable-custom-service-account"]:
        flags.append("--enable-custom-service-account")
    return flags


def resource_body(
    *,
    pools: Sequence[Mapping[str, Any]],
    display_name: str | None,
    network: str | None,
    kms_key_name: str | None,
    labels: Mapping[str, str] | None,
    enable_custom_service_account: bool,
) -> dict[str, Any]:
    """The PersistentResource gcloud POSTs (`PersistentResourcesClient.Create`)."""
    body: dict[str, Any] = {"resourcePools": [dict(pool) for pool in pools]}
    if display_name is not None:
        body["displayName"] = display_name
    if kms_key_name is not None:
        body["encryptionSpec"] = {"kmsKeyName": kms_key_name}
    if labels is not None:  # `--labels=` sends an empty map
        body["labels"] = dict(labels)
    if network:
        body["network"] = network
    if enable_custom_service_account:
        body["resourceRuntimeSpec"] = {"serviceAccountSpec": {"enableCustomServiceAccount": True}}
    return body
