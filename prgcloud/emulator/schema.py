"""The JSON shapes of CustomJob and PersistentResource: read requests strictly, write replies.

`schema.json` (generated from the SDK's descriptors by `schema_gen`) lists every field of the
two messages and of the messages they hold, per API version. Reading a request follows the
proto3 JSON mapping as Google's front end does: either the camelCase or the proto name of a
field, int64 as a number or a string, an enum as its name or its number; an unknown field or a
value of the wrong type is 400 INVALID_ARGUMENT with the path of the field in proto names.

Documents are kept in one canonical form (camelCase, int64 as strings, enums as names) and
rendered for a version on the way out: fields that version does not have are dropped, default
values are left out as the proto3 JSON mapping does, and enums become numbers when the client
asked for `$alt=json;enum-encoding=int` (the SDK's REST transport does).
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

from prgcloud.emulator.clock import parse_rfc3339
from prgcloud.emulator.errors import ApiError, invalid

VERSIONS = ("v1", "v1beta1")
_INT_RANGES = {
    "int32": (-(2**31), 2**31 - 1),
    "uint32": (0, 2**32 - 1),
    "int64": (-(2**63), 2**63 - 1),
    "uint64": (0, 2**64 - 1),
}
_DURATION = re.compile(r"^-?\d+(\.\d{1,9})?s$")
_PROTO_TYPES = {
    "int32": "TYPE_INT32",
    "uint32": "TYPE_UINT32",
    "int64": "TYPE_INT64",
    "uint64": "TYPE_UINT64",
    "double": "TYPE_DOUBLE",
    "float": "TYPE_FLOAT",
    "bool": "TYPE_BOOL",
    "string": "TYPE_STRING",
    "bytes": "TYPE_BYTES",
}


@cache
def _schema() -> dict[str, Any]:
    text = resources.files("prgcloud.emulator").joinpath("schema.json").read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def enum_names(version: str, enum: str) -> Mapping[str, int]:
    """The names of an enum (e.g. `AcceleratorType`) and their numbers."""
    names: Mapping[str, int] = _schema()[version]["enums"][enum]
    return names


def parse(version: str, message: str, value: object, path: str) -> dict[str, Any]:
    """Read a request body (already JSON-decoded) as `message`; return its canonical form.

    `path` is the request field the body fills (`custom_job`), used in error messages.
    """
    if not isinstance(value, dict):
        raise _bad_value(path, f"type.googleapis.com/google.cloud.aiplatform.{version}.{message}")
    return _parse_message(version, message, value, path)


def _parse_message(version: str, message: str, value: dict[str, Any], path: str) -> dict[str, Any]:
    fields: dict[str, Any] = _schema()[version]["messages"][message]
    by_proto_name = {entry["name"]: json_name for json_name, entry in fields.items()}
    result: dict[str, Any] = {}
    for key, item in value.items():
        json_name = key if key in fields else by_proto_name.get(key)
        if json_name is None:
            where = f" at '{path}'" if path else ""
            raise ApiError(
                "INVALID_ARGUMENT",
                f'Invalid JSON payload received. Unknown name "{key}"{where}: Cannot find field.',
                [
                    (
                        path,
                        f'Invalid JSON payload received. Unknown name "{key}"{where}: '
                        "Cannot find field.",
                    )
                ],
            )
        if item is None:
            continue
        entry = fields[json_name]
        field_path = f"{path}.{entry['name']}" if path else entry["name"]
        if entry.get("map"):
            if not isinstance(item, dict):
                raise _bad_value(field_path, "map", item)
            result[json_name] = {
                str(k): _parse_single(version, entry, v, f"{field_path}[{k!r}]")
                for k, v in item.items()
            }
        elif entry.get("repeated"):
            if not isinstance(item, list):
                raise _bad_value(field_path, "repeated field", item)
            result[json_name] = [
                _parse_single(version, entry, v, f"{field_path}[{i}]") for i, v in enumerate(item)
            ]
        else:
            result[json_name] = _parse_single(version, entry, item, field_path)
    return result


def _parse_single(version: str, entry: Mapping[str, Any], value: object, path: str) -> Any:
    kind = entry["kind"]
    if kind == "message":
        if not isinstance(value, dict):
            raise _bad_value(path, entry["ref"], value)
        return _parse_message(version, entry["ref"], value, path)
    if kind == "enum":
        return _parse_enum(version, entry["ref"], value, path)
    if kind in _INT_RANGES:
        return _parse_int(kind, value, path)
    if kind in ("double", "float"):
        return _parse_float(kind, value, path)
    if kind == "bool":
        if not isinstance(value, bool):
            raise _bad_value(path, "TYPE_BOOL", value)
        return value
    if kind == "string":
        if not isinstance(value, str):
            raise _bad_value(path, "TYPE_STRING", value)
        return value
    if kind == "bytes":
        if not isinstance(value, str):
            raise _bad_value(path, "TYPE_BYTES", value)
        try:
            base64.b64decode(value + "=" * (-len(value) % 4), altchars=b"-_", validate=False)
        except (binascii.Error, ValueError):
            raise _bad_value(path, "TYPE_BYTES", value) from None
        return value
    return _parse_well_known(kind, value, path)


def _parse_well_known(kind: str, value: object, path: str) -> Any:
    if kind == "timestamp":
        if not isinstance(value, str):
            raise _bad_value(path, "google.protobuf.Timestamp", value)
        try:
            parse_rfc3339(value)
        except ValueError:
            raise _bad_value(path, "google.protobuf.Timestamp", value) from None
        return value
    if kind == "duration":
        if not isinstance(value, str) or not _DURATION.match(value):
            raise _bad_value(path, "google.protobuf.Duration", value)
        return value
    if kind == "fieldmask":
        if not isinstance(value, str):
            raise _bad_value(path, "google.protobuf.FieldMask", value)
        return value
    if kind == "struct":
        if not isinstance(value, dict):
            raise _bad_value(path, "google.protobuf.Struct", value)
        return value
    if kind == "list":
        if not isinstance(value, list):
            raise _bad_value(path, "google.protobuf.ListValue", value)
        return value
    if kind == "any":
        if not isinstance(value, dict) or not isinstance(value.get("@type"), str):
            raise _bad_value(path, "google.protobuf.Any", value)
        return value
    if kind == "value":
        return value
    raise AssertionError(f"schema.json has a kind the emulator does not know: {kind}")


def _parse_enum(version: str, enum: str, value: object, path: str) -> str:
    names = enum_names(version, enum)
    if isinstance(value, str) and value in names:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        for name, number in names.items():
            if number == value:
                return name
    raise _bad_value(path, f"type.googleapis.com/google.cloud.aiplatform.{version}.{enum}", value)


def _parse_int(kind: str, value: object, path: str) -> int | str:
    number: int
    if isinstance(value, bool):
        raise _bad_value(path, _PROTO_TYPES[kind], value)
    if isinstance(value, int):
        number = value
    elif (isinstance(value, float) and value.is_integer()) or (
        isinstance(value, str) and re.fullmatch(r"-?\d{1,20}", value.strip())
    ):
        number = int(value)
    else:
        raise _bad_value(path, _PROTO_TYPES[kind], value)
    low, high = _INT_RANGES[kind]
    if not low <= number <= high:
        raise _bad_value(path, _PROTO_TYPES[kind], value)
    # the JSON mapping writes 64-bit integers as strings, 32-bit ones as numbers
    return str(number) if kind.endswith("64") else number


def _parse_float(kind: str, value: object, path: str) -> float | str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        if value in ("NaN", "Infinity", "-Infinity"):
            return value
        try:
            number = float(value)
        except ValueError:
            pass
        else:
            if math.isfinite(number):
                return number
    raise _bad_value(path, _PROTO_TYPES[kind], value)


def _bad_value(path: str, type_name: str, value: object = None) -> ApiError:
    shown = json.dumps(value) if value is not None else "null"
    message = f"Invalid value at '{path}' ({type_name}), {shown}"
    return invalid(message, path)


def render(version: str, message: str, document: Mapping[str, Any], *, enum_ints: bool) -> Any:
    """A canonical document as the `version` API would send it."""
    return _render_message(version, message, document, enum_ints)


def _render_message(
    version: str, message: str, document: Mapping[str, Any], enum_ints: bool
) -> dict[str, Any]:
    fields: dict[str, Any] = _schema()[version]["messages"][message]
    result: dict[str, Any] = {}
    for key, value in document.items():
        entry = fields.get(key)
        if entry is None:
            continue  # a field of the other version, or of a newer API
        if entry.get("map"):
            rendered: Any = {
                k: _render_single(version, entry, v, enum_ints) for k, v in value.items()
            }
        elif entry.get("repeated"):
            rendered = [_render_single(version, entry, v, enum_ints) for v in value]
        else:
            rendered = _render_single(version, entry, value, enum_ints)
        if _is_default(entry, rendered, version):
            continue
        result[key] = rendered
    return result


def _render_single(version: str, entry: Mapping[str, Any], value: Any, enum_ints: bool) -> Any:
    kind = entry["kind"]
    if kind == "message":
        return _render_message(version, entry["ref"], value, enum_ints)
    if kind == "enum" and enum_ints:
        return enum_names(version, entry["ref"]).get(value, 0)
    return value


def _is_default(entry: Mapping[str, Any], value: Any, version: str) -> bool:
    if entry.get("map") or entry.get("repeated"):
        return not value
    kind = entry["kind"]
    if kind in ("message", "value"):
        return False  # a set message is present even when empty; a Value even when zero
    if kind == "enum":
        return value in (0, "") or enum_names(version, entry["ref"]).get(value) == 0
    return value in ("", "0", 0, False, 0.0)
