"""The JSON Schemas in `schemas/`: where they are, and validation that says where the user erred.

`schemas/` is data: `custom-job-spec.<version>.json` is generated from gcloud's own API
messages (tools/gen_schemas.py); `worker-pool-spec.json` describes one `--worker-pool-spec`.
An installed package carries them as `prgcloud/schemas/`; a checkout has them at the top.

Validating valid input is the common case, and it must not cost jsonschema's import (~80
ms): `conforms` decides it with the few keywords the schemas use. Only an instance it does
not pass (invalid, or a keyword it does not know) goes to jsonschema, which words the errors.
"""

from __future__ import annotations

import functools
import json
import os
import re
from collections.abc import Callable, Iterator, Mapping
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


def hp_tuning_job(api_version: str) -> dict[str, Any]:
    """The schema of an `hp-tuning-jobs create --config` file (a HyperparameterTuningJob)."""
    return load(f"hp-tuning-job.{api_version}.json")


def accelerator_types(api_version: str) -> list[str]:
    """The accelerator names gcloud accepts in `--worker-pool-spec` (NVIDIA_* and TPU_*)."""
    machine = custom_job_spec(api_version)["$defs"]["MachineSpec"]
    names: list[str] = machine["properties"]["acceleratorType"]["enum"]
    return sorted(n for n in names if n.startswith(("NVIDIA", "TPU")))


def errors(instance: Any, schema: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """Every schema violation as (path like `workerPoolSpecs[0].machineSpec`, message)."""
    if conforms(instance, schema):
        return
    import jsonschema  # ~0.08 s: only input that is not plainly valid pays for it

    validator = jsonschema.Draft202012Validator(schema)
    for error in sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path)):
        yield format_path(error.absolute_path), _message(error)


def conforms(instance: Any, schema: Mapping[str, Any]) -> bool:
    """Whether `instance` is valid against `schema` (JSON Schema 2020-12), judged quickly.

    True only when it certainly is, as jsonschema would judge it; False when it is not, or
    when the schema uses a keyword this does not know (jsonschema must then decide).
    """
    return _conforms(instance, schema, schema)


# Keywords that never make an instance invalid.
_ANNOTATIONS = frozenset(
    {"$schema", "$id", "$defs", "$comment", "title", "description", "default", "examples"}
)
# jsonschema's type checks for draft 2020-12: a bool is no number, 1.0 is an integer.
_TYPES: dict[str, Callable[[Any], bool]] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "integer": lambda v: (
        (isinstance(v, int) and not isinstance(v, bool))
        or (isinstance(v, float) and v.is_integer())
    ),
}
_REF = re.compile(r"^#/\$defs/([A-Za-z0-9_.-]+)$")


def _conforms(value: Any, schema: Any, root: Mapping[str, Any]) -> bool:
    if isinstance(schema, bool):  # `true` takes anything, `false` nothing
        return schema
    if not isinstance(schema, dict):
        return False
    for keyword, expected in schema.items():
        if keyword in _ANNOTATIONS or keyword.startswith("x-"):
            continue
        check = _KEYWORDS.get(keyword)
        if check is None or not check(value, expected, schema, root):
            return False
    return True


def _type(value: Any, expected: Any, schema: Mapping[str, Any], root: Mapping[str, Any]) -> bool:
    names = expected if isinstance(expected, list) else [expected]
    return any(name in _TYPES and _TYPES[name](value) for name in names)


def _properties(value: Any, expected: Any, schema: Any, root: Mapping[str, Any]) -> bool:
    if not isinstance(value, dict):
        return True
    return all(_conforms(value[k], sub, root) for k, sub in expected.items() if k in value)


def _additional(value: Any, expected: Any, schema: Mapping[str, Any], root: Any) -> bool:
    if not isinstance(value, dict):
        return True
    known = schema.get("properties", {})
    extras = [key for key in value if key not in known]
    return all(_conforms(value[k], expected, root) for k in extras)


def _items(value: Any, expected: Any, schema: Any, root: Mapping[str, Any]) -> bool:
    if not isinstance(value, list):
        return True
    return all(_conforms(item, expected, root) for item in value)


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _enum(value: Any, expected: Any, schema: Any, root: Any) -> bool:
    # Same type and equal: never wrong (jsonschema also takes 1 for 1.0; that case defers).
    scalar = value is None or isinstance(value, (str, int, float))
    return scalar and any(type(e) is type(value) and e == value for e in expected)


def _ref(value: Any, expected: Any, schema: Any, root: Mapping[str, Any]) -> bool:
    found = _REF.match(expected) if isinstance(expected, str) else None
    target = root.get("$defs", {}).get(found.group(1)) if found else None
    return isinstance(target, dict) and _conforms(value, target, root)


_KEYWORDS: dict[str, Callable[[Any, Any, Mapping[str, Any], Mapping[str, Any]], bool]] = {
    "type": _type,
    "properties": _properties,
    "additionalProperties": _additional,
    "items": _items,
    "enum": _enum,
    "$ref": _ref,
    "required": lambda v, names, s, r: not isinstance(v, dict) or all(n in v for n in names),
    "minimum": lambda v, low, s, r: not _number(v) or v >= low,
    "maximum": lambda v, high, s, r: not _number(v) or v <= high,
    "minLength": lambda v, n, s, r: not isinstance(v, str) or len(v) >= n,
    "maxLength": lambda v, n, s, r: not isinstance(v, str) or len(v) <= n,
    "pattern": lambda v, p, s, r: not isinstance(v, str) or re.search(p, v) is not None,
}


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
