"""Regenerate `schema.json` from the Vertex AI SDK's protobuf descriptors.

The emulator must not import the SDK (it would add most of a second to its start-up), so the
shapes of the two request messages it accepts are kept as data. A developer refreshes them with

    .venv/bin/python -m prgcloud.emulator.schema_gen > prgcloud/emulator/schema.json

and a test checks that the stored file still matches the installed SDK.
"""

from __future__ import annotations

import json
import sys
from typing import Any

VERSIONS = ("v1", "v1beta1")
ROOTS = ("CustomJob", "HyperparameterTuningJob", "PersistentResource")

# protobuf FieldDescriptor.TYPE_* numbers -> the JSON mapping's kinds
_SCALARS = {
    1: "double",
    2: "float",
    3: "int64",
    4: "uint64",
    5: "int32",
    6: "uint64",
    7: "uint32",
    8: "bool",
    9: "string",
    12: "bytes",
    13: "uint32",
    14: "enum",
    15: "int32",
    16: "int64",
    17: "int32",
    18: "int64",
}
# well-known types have their own JSON form
_WELL_KNOWN = {
    "google.protobuf.Timestamp": "timestamp",
    "google.protobuf.Duration": "duration",
    "google.protobuf.Struct": "struct",
    "google.protobuf.Value": "value",
    "google.protobuf.ListValue": "list",
    "google.protobuf.Any": "any",
    "google.protobuf.FieldMask": "fieldmask",
    "google.protobuf.Int64Value": "int64",
    "google.protobuf.UInt64Value": "uint64",
    "google.protobuf.Int32Value": "int32",
    "google.protobuf.UInt32Value": "uint32",
    "google.protobuf.BoolValue": "bool",
    "google.protobuf.StringValue": "string",
    "google.protobuf.DoubleValue": "double",
    "google.protobuf.FloatValue": "float",
    "google.protobuf.BytesValue": "bytes",
}


def _kind(field: Any, messages: list[Any], enums: dict[str, dict[str, int]]) -> dict[str, Any]:
    if field.message_type is not None:
        full = field.message_type.full_name
        if full in _WELL_KNOWN:
            return {"kind": _WELL_KNOWN[full]}
        messages.append(field.message_type)
        return {"kind": "message", "ref": _short(full)}
    kind = _SCALARS[field.type]
    if kind == "enum":
        enum = field.enum_type
        enums[_short(enum.full_name)] = {value.name: value.number for value in enum.values}
        return {"kind": "enum", "ref": _short(enum.full_name)}
    return {"kind": kind}


def _short(full_name: str) -> str:
    """`google.cloud.aiplatform.v1.MachineSpec` -> `MachineSpec`; other packages keep theirs."""
    for version in VERSIONS:
        prefix = f"google.cloud.aiplatform.{version}."
        if full_name.startswith(prefix):
            return full_name[len(prefix) :]
    return full_name


def describe(version: str) -> dict[str, Any]:
    """The messages and enums reachable from the root messages of one API version."""
    types = __import__(f"google.cloud.aiplatform_{version}", fromlist=["types"]).types
    messages: dict[str, dict[str, Any]] = {}
    enums: dict[str, dict[str, int]] = {}
    todo = [getattr(types, root).pb().DESCRIPTOR for root in ROOTS]
    while todo:
        descriptor = todo.pop()
        name = _short(descriptor.full_name)
        if name in messages:
            continue
        fields: dict[str, Any] = {}
        messages[name] = fields
        for field in descriptor.fields:
            entry: dict[str, Any] = {"name": field.name}
            entry_type = field.message_type
            if entry_type is not None and entry_type.GetOptions().map_entry:
                entry["map"] = True
                entry.update(_kind(entry_type.fields_by_name["value"], todo, enums))
            else:
                entry.update(_kind(field, todo, enums))
                if field.is_repeated:
                    entry["repeated"] = True
            fields[field.json_name] = entry
    return {
        "messages": dict(sorted(messages.items())),
        "enums": dict(sorted(enums.items())),
    }


def generate() -> str:
    """The text of `schema.json` for the installed SDK."""
    document = {version: describe(version) for version in VERSIONS}
    return json.dumps(document, indent=1, sort_keys=True) + "\n"


if __name__ == "__main__":
    sys.stdout.write(generate())
