"""The JSON Schemas in `schemas/`: where they are, and validation that says where the user erred.

`schemas/` is data: `custom-job-spec.<version>.json` is generated from gcloud's own API
messages (tools/gen_schemas.py); `worker-pool-spec.json` describes one `--worker-pool-spec`.
An installed package carries them as `prgcloud/schemas/`; a checkout has them at the top.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Iterator, Mapping
from typing import Any

_HERE = os.path.dirname(os.path.abspath(__file__))
_CANDIDATES = (os.path.join(_HERE, "schemas"), os.path.join(os.path.dirname(_HERE), "schemas"))


def schemas_dir() -> str:
    """The directory holding the schema files (installed package first, then the checkout)."""
    for candidate in _CANDIDATES:
        if os.path.isfile(os.path.join(candidate, "worker-pool-spec.json")):
            return candidate
    raise FileNotFoundError(f"prgcloud's schemas are missing: looked in {', '.join(_CANDIDATES)}")


@functools.cache
def load(name: str) -> dict[str, Any]:
    """A schema by file name, parsed (cached: they never change while running)."""
    with open(os.path.join(schemas_dir(), name), encoding="utf-8") as f:
        schema: dict[str, Any] = json.load(f)
    return schema


def worker_pool_spec() -> dict[str, Any]:
    """The schema of one parsed `--worker-pool-spec`."""
    return load("worker-pool-spec.json")


def custom_job_spec(api_version: str) -> dict[str, Any]:
    """The schema of a `--config` file (a CustomJobSpec) for `v1` or `v1beta1`."""
    return load(f"custom-job-spec.{api_version}.json")


def accelerator_types(api_version: str) -> list[str]:
    """The accelerator names gcloud accepts in `--worker-pool-spec` (NVIDIA_* and TPU_*)."""
    machine = custom_job_spec(api_version)["$defs"]["MachineSpec"]
    names: list[str] = machine["properties"]["acceleratorType"]["enum"]
    return sorted(n for n in names if n.startswith(("NVIDIA", "TPU")))


def errors(instance: Any, schema: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """Every schema violation as (path like `workerPoolSpecs[0].machineSpec`, message)."""
    import jsonschema  # ~0.08 s; only validation needs it

    validator = jsonschema.Draft202012Validator(schema)
    for error in sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path)):
        yield format_path(error.absolute_path), _message(error)


def format_path(parts: Any) -> str:
    """`["workerPoolSpecs", 0, "machineSpec"]` -> `workerPoolSpecs[0].machineSpec`."""
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _message(error: Any) -> str:
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - set(allowed))
        return f"unknown key{'s' if len(extra) > 1 else ''} [{', '.join(extra)}]; " + (
            f"valid keys are [{', '.join(allowed)}]"
        )
    if error.validator == "enum":
        return f"{error.instance!r} is not one of [{', '.join(map(str, error.validator_value))}]"
    if error.validator == "type":
        expected = error.validator_value
        expected = " or ".join(expected) if isinstance(expected, list) else expected
        return f"expected {expected}, found {json.dumps(error.instance)}"
    if error.validator == "minimum":
        return f"must be at least {error.validator_value}, found {error.instance}"
    if error.validator == "maximum":
        return f"must be at most {error.validator_value}, found {error.instance}"
    if error.validator == "minLength":
        return "must not be empty"
    message: str = error.message
    return message
