"""Reading request bodies the way Google's front end does, and writing replies per version."""

from __future__ import annotations

from typing import Any

import pytest

from prgcloud.emulator import schema
from prgcloud.emulator.errors import ApiError

POOL = "persistent_resource"


@pytest.mark.parametrize(
    ("body", "canonical"),
    [
        pytest.param(
            {"resourcePools": [{"replicaCount": 2}]},
            {"resourcePools": [{"replicaCount": "2"}]},
            id="int64-as-number-becomes-a-string",
        ),
        pytest.param(
            {"resourcePools": [{"machineSpec": {"acceleratorType": 8, "acceleratorCount": "1"}}]},
            {
                "resourcePools": [
                    {"machineSpec": {"acceleratorType": "NVIDIA_TESLA_A100", "acceleratorCount": 1}}
                ]
            },
            id="enum-number-becomes-its-name-int32-stays-a-number",
        ),
        pytest.param(
            {"resource_pools": [{"replica_count": "3"}], "display_name": "x"},
            {"resourcePools": [{"replicaCount": "3"}], "displayName": "x"},
            id="proto-names-are-accepted",
        ),
        pytest.param(
            {"displayName": None, "labels": {"a": "b"}}, {"labels": {"a": "b"}}, id="null"
        ),
        pytest.param(
            {"resourceRuntimeSpec": {"raySpec": {"resourcePoolImages": {"pool": "img"}}}},
            {"resourceRuntimeSpec": {"raySpec": {"resourcePoolImages": {"pool": "img"}}}},
            id="maps",
        ),
    ],
)
def test_a_body_is_read_into_canonical_json(
    body: dict[str, Any], canonical: dict[str, Any]
) -> None:
    assert schema.parse("v1", "PersistentResource", body, POOL) == canonical


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param(
            {"resourcePools": [{"machineSpec": {"gpu": 1}}]},
            'Invalid JSON payload received. Unknown name "gpu" at '
            "'persistent_resource.resource_pools[0].machine_spec': Cannot find field.",
            id="unknown-nested-field",
        ),
        pytest.param(
            {"resourcePools": [{"replicaCount": "two"}]},
            "Invalid value at 'persistent_resource.resource_pools[0].replica_count' (TYPE_INT64),"
            ' "two"',
            id="int64-not-a-number",
        ),
        pytest.param(
            {"resourcePools": [{"machineSpec": {"acceleratorType": "NVIDIA_H9000"}}]},
            "Invalid value at 'persistent_resource.resource_pools[0].machine_spec.accelerator_type'"
            ' (type.googleapis.com/google.cloud.aiplatform.v1.AcceleratorType), "NVIDIA_H9000"',
            id="unknown-enum-name",
        ),
        pytest.param(
            {"resourcePools": [{"diskSpec": {"bootDiskSizeGb": 2**31}}]},
            "(TYPE_INT32), 2147483648",
            id="int32-out-of-range",
        ),
        pytest.param(
            {"resourceRuntimeSpec": {"serviceAccountSpec": {"enableCustomServiceAccount": "yes"}}},
            '(TYPE_BOOL), "yes"',
            id="bool-as-text",
        ),
        pytest.param({"resourcePools": {"a": 1}}, "resource_pools' (repeated field)", id="list"),
        pytest.param({"labels": ["a"]}, "labels' (map)", id="map"),
        pytest.param(["not", "an", "object"], "Invalid value at 'persistent_resource'", id="array"),
    ],
)
def test_a_bad_body_is_invalid_argument(body: Any, message: str) -> None:
    with pytest.raises(ApiError) as error:
        schema.parse("v1", "PersistentResource", body, POOL)
    assert error.value.status == "INVALID_ARGUMENT"
    assert message in error.value.message


def test_a_field_only_v1beta1_has_is_unknown_to_v1() -> None:
    body = {"resourcePools": [{"machineSpec": {"multihostGpuNodeCount": 2}}]}
    assert schema.parse("v1beta1", "PersistentResource", body, POOL) == body
    with pytest.raises(ApiError, match='Unknown name "multihostGpuNodeCount"'):
        schema.parse("v1", "PersistentResource", body, POOL)


DOC = {
    "name": "projects/p1/locations/us-central1/persistentResources/pr1",
    "state": "RUNNING",
    "resourcePools": [
        {
            "id": "a",
            "machineSpec": {"machineType": "m", "multihostGpuNodeCount": 2},
            "replicaCount": "2",
            "usedReplicaCount": "0",
        }
    ],
    "resourceRuntime": {},
    "network": "",
}


def test_a_reply_leaves_out_defaults_and_other_versions_fields() -> None:
    assert schema.render("v1", "PersistentResource", DOC, enum_ints=False) == {
        "name": DOC["name"],
        "state": "RUNNING",
        "resourcePools": [{"id": "a", "machineSpec": {"machineType": "m"}, "replicaCount": "2"}],
        "resourceRuntime": {},
    }


def test_a_reply_gives_enum_numbers_when_asked() -> None:
    rendered = schema.render("v1beta1", "PersistentResource", DOC, enum_ints=True)
    assert rendered["state"] == 3
    assert rendered["resourcePools"][0]["machineSpec"]["multihostGpuNodeCount"] == 2


def test_the_stored_schema_matches_the_installed_sdk() -> None:
    from importlib import resources

    from prgcloud.emulator import schema_gen

    stored = resources.files("prgcloud.emulator").joinpath("schema.json").read_text("utf-8")
    assert stored == schema_gen.generate(), (
        "regenerate: .venv/bin/python -m prgcloud.emulator.schema_gen"
        " > prgcloud/emulator/schema.json"
    )
