"""A `--config` document read the way gcloud's apitools reads it into a CustomJobSpec.

gcloud (`export_util.Import`) turns the YAML into JSON (`json.dumps`: keys become strings; a
date, a set or bytes fail) and decodes that into its API message, field by field:
- an integer field takes a number, or text Python's `int()` reads (`"4"`, `" 7 "`, `"+3"`);
  an int64 travels as a decimal string (`replicaCount: "4"`); a float fails;
- a string field takes only text, a boolean field only true/false;
- an enum takes its name, or its number (sent as the name);
- a repeated field takes a list, or one value (a list of one); an empty list is not sent;
- null leaves a field unset; a null inside a list fails;
- a key that is no field is kept and sent as it is (apitools' unrecognized fields).

Vertex AI reads JSON by the proto3 JSON mapping, which accepts each field under its
lowerCamelCase name and under its original snake_case name, and refuses any other
unknown name. So a snake_case key (`replica_count`) is sent as gcloud sends it (its value
untouched), and is checked as the field it names; any other unknown key is refused here,
since the service would refuse the job (https://protobuf.dev/programming-guides/json/).

`read_config` returns the spec gcloud would send; `service_view` renames the snake_case keys
to the names the service reads them under, for the pre-check.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from prgcloud import schemas

_UNSET = object()  # a field apitools leaves out of the message
_UPPER = re.compile(r"([A-Z])")


def proto_name(json_name: str) -> str:
    """`bootDiskSizeGb` -> `boot_disk_size_gb`: the proto field name a JSON name comes from."""
    return _UPPER.sub(lambda m: "_" + m.group(1).lower(), json_name)


@dataclass
class _Reading:
    root: Mapping[str, Any]
    proto_names: bool = True  # whether a snake_case key reads as the field it names
    problems: list[tuple[str, str]] = field(default_factory=list)

    def problem(self, path: str, message: str) -> None:
        self.problems.append((path, message))


def read_config(
    raw: Any,
    api_version: str,
    *,
    schema: Mapping[str, Any] | None = None,
    proto_names: bool = True,
) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """The CustomJobSpec gcloud would send for this parsed YAML, and (path, message) problems.

    `raw` must be a mapping (the caller says what else is wrong). The path of a problem is
    written like the YAML (`workerPoolSpecs[0].machineSpec`), "" for the whole file.
    `schema` reads another message instead (an hp-tuning job); without `proto_names`, a
    snake_case key is unknown, as gcloud's strict reader (`DictToMessageWithErrorCheck`) has it.
    """
    schema = schemas.custom_job_spec(api_version) if schema is None else schema
    reading = _Reading(schema, proto_names)
    try:
        data = json.loads(json.dumps(raw, allow_nan=True))
    except (TypeError, ValueError) as error:
        # Only what YAML cannot put in JSON: the loader already refused dates, sets, bytes.
        reading.problem("", f"it cannot be read as JSON ({error}).")
        return {}, reading.problems
    spec = _value(data, schema, reading, "")
    return (spec if isinstance(spec, dict) else {}), reading.problems


def service_view(value: Any, api_version: str) -> Any:
    """A CustomJob body (or spec) with each snake_case field key under its JSON name."""
    schema = schemas.custom_job_spec(api_version)
    if isinstance(value, Mapping) and "jobSpec" in value:
        return {**value, "jobSpec": _renamed(value["jobSpec"], schema, schema)}
    return _renamed(value, schema, schema)


def _renamed(value: Any, schema: Mapping[str, Any], root: Mapping[str, Any]) -> Any:
    schema = _resolve(schema, root)
    if schema.get("type") == "array":
        items = value if isinstance(value, list) else [value]
        return [_renamed(item, schema.get("items", {}), root) for item in items]
    properties = schema.get("properties")
    if not isinstance(value, Mapping) or properties is None:
        return value
    by_proto_name: dict[Any, str] = {proto_name(name): name for name in properties}
    renamed: dict[Any, Any] = {}
    for key, item in value.items():
        name = key if key in properties else by_proto_name.get(key, key)
        sub = properties.get(name)
        renamed[name] = _renamed(item, sub, root) if sub is not None else item
    return renamed


def _resolve(schema: Mapping[str, Any], root: Mapping[str, Any]) -> Mapping[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        resolved: Mapping[str, Any] = root["$defs"][ref.split("/")[-1]]
        return resolved
    return schema


def _where(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def _value(value: Any, schema: Mapping[str, Any], reading: _Reading, path: str) -> Any:
    """One JSON value decoded for the field `schema` describes; `_UNSET` when not sent."""
    schema = _resolve(schema, reading.root)
    if value is None:
        return _UNSET
    if schema.get("type") == "array":
        return _list(value, schema.get("items", {}), reading, path)
    if "properties" in schema:
        return _message(value, schema, reading, path)
    if "enum" in schema:
        return _enum(value, schema, reading, path)
    kind = schema.get("type")
    if kind == "boolean" and not isinstance(value, bool):
        reading.problem(path, f"expected a boolean (true or false), found {_shown(value)}")
    elif kind == "string" and not isinstance(value, str):
        reading.problem(path, f"expected a string, found {_shown(value)}")
    elif kind == "integer" or schema.get("x-int64"):
        return _integer(value, schema, reading, path)
    return value


def _list(value: Any, items: Mapping[str, Any], reading: _Reading, path: str) -> Any:
    decoded = []
    for index, item in enumerate(value if isinstance(value, list) else [value]):
        where = _where(path, index)
        if item is None:
            reading.problem(where, "a list may not hold null")
            continue
        one = _value(item, items, reading, where)
        if one is not _UNSET:
            decoded.append(one)
    return decoded or _UNSET


def _message(value: Any, schema: Mapping[str, Any], reading: _Reading, path: str) -> Any:
    if not isinstance(value, dict):
        reading.problem(path, f"expected a mapping, found {_shown(value)}")
        return _UNSET
    properties: Mapping[str, Any] = schema["properties"]
    by_proto_name = {
        proto_name(name): name
        for name in properties
        if reading.proto_names and proto_name(name) != name
    }
    decoded: dict[str, Any] = {}
    unknown = []
    for key, item in value.items():
        where = _where(path, key)
        if key in properties:
            one = _value(item, properties[key], reading, where)
            if one is not _UNSET:
                decoded[key] = one
        elif key in by_proto_name:
            name = by_proto_name[key]
            if name in value:
                reading.problem(where, f"the field is given twice, as [{name}] and as [{key}]")
            # gcloud sends it untouched; the service reads it as the field it names.
            _value(item, properties[name], reading, where)
            decoded[key] = item
        else:
            unknown.append(key)
    if unknown:
        s = "s" if len(unknown) > 1 else ""
        reading.problem(
            path,
            f"unknown key{s} [{', '.join(unknown)}]; valid keys are "
            f"[{', '.join(sorted(properties))}]",
        )
    return decoded


def _enum(value: Any, schema: Mapping[str, Any], reading: _Reading, path: str) -> Any:
    names: list[str] = schema["enum"]
    numbers: Mapping[str, int] = schema.get("x-enum-numbers", {})
    if isinstance(value, str) and value in names:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        by_number = {number: name for name, number in numbers.items()}
        if value in by_number:
            return by_number[value]
    reading.problem(path, f"{_shown(value)} is not one of [{', '.join(names)}]")
    return _UNSET


def _integer(value: Any, schema: Mapping[str, Any], reading: _Reading, path: str) -> Any:
    number = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str):
        try:
            number = int(value)  # apitools: text Python's int() reads
        except ValueError:
            number = None
    if number is None:
        reading.problem(path, f"expected an integer, found {_shown(value)}")
        return _UNSET
    low, high = schema.get("minimum"), schema.get("maximum")
    if (low is not None and number < low) or (high is not None and number > high):
        reading.problem(path, f"{_shown(value)} is out of range [{low}, {high}]")
        return _UNSET
    return str(number) if schema.get("x-int64") else number


def _shown(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 80 else text[:77] + "..."
