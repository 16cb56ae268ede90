"""The schemas in schemas/ as data: tables of valid and invalid examples, and proof that the
generated ones (and the worker-pool keys) are still gcloud's.

The agreement tests run tools/gen_schemas.py under gcloud's bundled Python, which imports
gcloud's own API messages; they are skipped where that Python is not installed.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from prgcloud import schemas

ROOT = Path(__file__).resolve().parent.parent
SDK = Path("/usr/lib/google-cloud-sdk")
BUNDLED_PYTHON = SDK / "platform" / "bundledpythonunix" / "bin" / "python3"
VERSIONS = ("v1", "v1beta1")

WPS_KEYS = (
    "accelerator-count, accelerator-type, container-image-uri, disk-size, disk-type, "
    "executor-image-uri, extra-dirs, extra-packages, local-package-path, machine-type, "
    "output-image-uri, python-module, replica-count, requirements, script"
)


def wps_errors(instance: Any) -> list[tuple[str, str]]:
    return list(schemas.errors(instance, schemas.worker_pool_spec()))


def job_errors(instance: Any, version: str = "v1") -> list[tuple[str, str]]:
    return list(schemas.errors(instance, schemas.custom_job_spec(version)))


# --- worker-pool-spec.json ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "pool",
    [
        pytest.param({}, id="a-placeholder"),
        pytest.param({"machine-type": "n1-standard-4"}, id="machine-only"),
        pytest.param(
            {
                "replica-count": 4,
                "machine-type": "a2-highgpu-1g",
                "accelerator-type": "NVIDIA_TESLA_A100",
                "accelerator-count": 1,
                "container-image-uri": "gcr.io/p/i",
                "disk-type": "pd-ssd",
                "disk-size": 100,
            },
            id="container-pool-with-disk",
        ),
        pytest.param(
            {
                "machine-type": "n1",
                "executor-image-uri": "e",
                "python-module": "m",
                "script": "run.sh",
                "local-package-path": "pkg",
                "output-image-uri": "gcr.io/p/i",
                "requirements": ["numpy>=1,<2", "pandas"],
                "extra-dirs": [],
                "extra-packages": ["dist/x.whl"],
            },
            id="every-software-key",
        ),
        pytest.param({"disk-type": "pd-standard", "disk-size": 10}, id="smallest-disk"),
        pytest.param({"disk-type": "hyperdisk-balanced", "disk-size": 65536}, id="largest-disk"),
    ],
)
def test_a_valid_worker_pool_spec(pool: dict[str, Any]) -> None:
    assert wps_errors(pool) == []


@pytest.mark.parametrize(
    ("pool", "expected"),
    [
        pytest.param(
            {"machine-type": "n1", "bogus": 1},
            [("", f"unknown key [bogus]; valid keys are [{WPS_KEYS}]")],
            id="unknown-key",
        ),
        pytest.param(
            {"x": 1, "Machine-Type": "n1"},
            [("", f"unknown keys [Machine-Type, x]; valid keys are [{WPS_KEYS}]")],
            id="unknown-keys-case-sensitive",
        ),
        pytest.param(
            {"replica-count": 0},
            [("replica-count", "must be at least 1, found 0")],
            id="0-replicas",
        ),
        pytest.param(
            {"accelerator-count": -1},
            [("accelerator-count", "must be at least 1, found -1")],
            id="negative-accelerators",
        ),
        pytest.param(
            {"replica-count": "2"},
            [("replica-count", 'expected integer, found "2"')],
            id="count-as-a-string",
        ),
        pytest.param(
            {"accelerator-count": True},
            [("accelerator-count", "expected integer, found true")],
            id="count-as-a-boolean",
        ),
        pytest.param({"machine-type": ""}, [("machine-type", "must not be empty")], id="empty"),
        pytest.param(
            {"disk-type": "pd-balanced"},
            [
                (
                    "disk-type",
                    "'pd-balanced' is not one of [pd-ssd, pd-standard, hyperdisk-balanced]",
                )
            ],
            id="disk-type-enum",
        ),
        pytest.param(
            {"disk-type": "PD-SSD"},
            [("disk-type", "'PD-SSD' is not one of [pd-ssd, pd-standard, hyperdisk-balanced]")],
            id="disk-type-is-case-sensitive",
        ),
        pytest.param({"disk-size": 9}, [("disk-size", "must be at least 10, found 9")], id="9GB"),
        pytest.param(
            {"disk-size": 65537}, [("disk-size", "must be at most 65536, found 65537")], id="big"
        ),
        pytest.param(
            {"requirements": "a;b"},
            [("requirements", 'expected array, found "a;b"')],
            id="list-key-not-a-list",
        ),
        pytest.param(
            {"extra-dirs": ["d", 1]},
            [("extra-dirs[1]", "expected string, found 1")],
            id="list-item-not-a-string",
        ),
        pytest.param(
            {"script": "", "replica-count": 0, "disk-size": 1},
            [
                ("disk-size", "must be at least 10, found 1"),
                ("replica-count", "must be at least 1, found 0"),
                ("script", "must not be empty"),
            ],
            id="every-error-in-path-order",
        ),
    ],
)
def test_an_invalid_worker_pool_spec(pool: dict[str, Any], expected: list[Any]) -> None:
    assert wps_errors(pool) == expected


def test_every_worker_pool_key_says_how_the_arg_dict_reads_it() -> None:
    properties = schemas.worker_pool_spec()["properties"]

    assert {p["x-arg-type"] for p in properties.values()} <= {"int", "str", "list"}
    assert sorted(k for k, p in properties.items() if p.get("x-prgcloud")) == [
        "disk-size",
        "disk-type",
    ]


# --- custom-job-spec.<version>.json ------------------------------------------------------------

POOL = {"machineSpec": {"machineType": "n1"}, "containerSpec": {"imageUri": "gcr.io/p/i"}}


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(
    "spec",
    [
        pytest.param({}, id="empty"),
        pytest.param({"workerPoolSpecs": [POOL]}, id="one-pool"),
        pytest.param({"workerPoolSpecs": [{}]}, id="an-empty-pool-is-schema-valid"),
        pytest.param(
            {"workerPoolSpecs": [{**POOL, "replicaCount": "2"}, {**POOL, "replicaCount": 3}]},
            id="int64-as-string-or-number",
        ),
        pytest.param({"workerPoolSpecs": [{**POOL, "replicaCount": "-1"}]}, id="int64-negative"),
        pytest.param(
            {
                "workerPoolSpecs": [
                    {
                        "machineSpec": {
                            "machineType": "ct5lp-hightpu-4t",
                            "acceleratorType": "TPU_V5_LITEPOD",
                            "acceleratorCount": 4,
                            "tpuTopology": "2x2",
                        },
                        "replicaCount": "1",
                        "diskSpec": {"bootDiskType": "pd-ssd", "bootDiskSizeGb": 100},
                        "pythonPackageSpec": {
                            "executorImageUri": "e",
                            "packageUris": ["gs://b/p.tgz"],
                            "pythonModule": "m",
                            "args": ["--x"],
                            "env": [{"name": "A", "value": "b"}],
                        },
                    }
                ],
                "scheduling": {"timeout": "3600s", "strategy": "SPOT", "disableRetries": True},
                "network": "projects/1/global/networks/n",
                "reservedIpRanges": ["r"],
                "serviceAccount": "sa@p.iam.gserviceaccount.com",
                "persistentResourceId": "pr",
                "enableWebAccess": True,
                "baseOutputDirectory": {"outputUriPrefix": "gs://b/out"},
            },
            id="a-full-job",
        ),
    ],
)
def test_a_valid_custom_job_spec(spec: dict[str, Any], version: str) -> None:
    assert job_errors(spec, version) == []


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        pytest.param(
            {"bogus": 1},
            [("", "unknown key [bogus]; valid keys are [baseOutputDirectory, ")],
            id="unknown-top-level-key",
        ),
        pytest.param(
            {"workerPoolSpecs": [{**POOL, "machineSpec": {"machineType": "n1", "gpus": 1}}]},
            [
                (
                    "workerPoolSpecs[0].machineSpec",
                    "unknown key [gpus]; valid keys are [acceleratorCount, acceleratorType, "
                    "machineType, reservationAffinity, tpuTopology]",
                )
            ],
            id="unknown-nested-key",
        ),
        pytest.param(
            {"worker_pool_specs": []},
            [("", "unknown key [worker_pool_specs]")],
            id="snake-case",
        ),
        pytest.param(
            {"workerPoolSpecs": POOL},
            [("workerPoolSpecs", 'expected array, found {"machineSpec": ')],
            id="a-single-pool-must-be-wrapped-before-validating",
        ),
        pytest.param(
            {"workerPoolSpecs": [{**POOL, "replicaCount": "two"}]},
            [("workerPoolSpecs[0].replicaCount", "'two' does not match '^-?[0-9]+$'")],
            id="int64-not-digits",
        ),
        pytest.param(
            {"workerPoolSpecs": [{**POOL, "replicaCount": 1.5}]},
            [("workerPoolSpecs[0].replicaCount", "expected integer or string, found 1.5")],
            id="int64-fraction",
        ),
        pytest.param(
            {"workerPoolSpecs": [{**POOL, "diskSpec": {"bootDiskSizeGb": "100"}}]},
            [("workerPoolSpecs[0].diskSpec.bootDiskSizeGb", 'expected integer, found "100"')],
            id="int32-as-a-string",
        ),
        pytest.param(
            {"workerPoolSpecs": [{**POOL, "machineSpec": {"acceleratorType": "T4"}}]},
            [
                (
                    "workerPoolSpecs[0].machineSpec.acceleratorType",
                    "'T4' is not one of [ACCELERATOR_TYPE_UNSPECIFIED, NVIDIA_A100_80GB, ",
                )
            ],
            id="accelerator-enum",
        ),
        pytest.param(
            {"scheduling": {"strategy": "FAST"}},
            [
                (
                    "scheduling.strategy",
                    "'FAST' is not one of [FLEX_START, LOW_COST, ON_DEMAND, SPOT, STANDARD, "
                    "STRATEGY_UNSPECIFIED]",
                )
            ],
            id="scheduling-enum",
        ),
        pytest.param(
            {"enableWebAccess": "yes"},
            [("enableWebAccess", 'expected boolean, found "yes"')],
            id="boolean",
        ),
        pytest.param(
            {"network": ["a"]}, [("network", 'expected string, found ["a"]')], id="string"
        ),
        pytest.param(
            {"workerPoolSpecs": [{**POOL, "containerSpec": {"imageUri": "i", "args": "a"}}]},
            [("workerPoolSpecs[0].containerSpec.args", 'expected array, found "a"')],
            id="string-list",
        ),
    ],
)
def test_an_invalid_custom_job_spec(spec: dict[str, Any], expected: list[Any]) -> None:
    found = job_errors(spec)

    assert [path for path, _ in found] == [path for path, _ in expected]
    for (_, message), (_, start) in zip(found, expected, strict=True):
        assert message.startswith(start), message


def test_v1beta1_knows_fields_v1_does_not() -> None:
    spec = {"pscInterfaceConfig": {}}

    assert job_errors(spec, "v1beta1") == []
    assert job_errors(spec, "v1")[0][1].startswith("unknown key [pscInterfaceConfig]")


@pytest.mark.parametrize("version", VERSIONS)
def test_the_flag_accelerators_are_the_nvidia_and_tpu_names_of_the_enum(version: str) -> None:
    enum = schemas.custom_job_spec(version)["$defs"]["MachineSpec"]["properties"][
        "acceleratorType"
    ]["enum"]

    names = schemas.accelerator_types(version)

    assert names == sorted(n for n in enum if n.startswith(("NVIDIA", "TPU")))
    assert "ACCELERATOR_TYPE_UNSPECIFIED" in enum
    assert "ACCELERATOR_TYPE_UNSPECIFIED" not in names
    assert {"NVIDIA_TESLA_T4", "NVIDIA_L4", "NVIDIA_H100_80GB", "TPU_V5_LITEPOD"} <= set(names)


@pytest.mark.parametrize("version", VERSIONS)
def test_every_int64_field_travels_as_a_string(version: str) -> None:
    definitions = schemas.custom_job_spec(version)["$defs"]
    int64 = {
        f"{name}.{field}": schema
        for name, definition in definitions.items()
        for field, schema in definition["properties"].items()
        if schema.get("x-int64")
    }

    assert "WorkerPoolSpec.replicaCount" in int64
    assert "MachineSpec.acceleratorCount" not in int64  # int32: a JSON number
    assert all(
        s
        == {
            "type": ["integer", "string"],
            "pattern": "^-?[0-9]+$",
            "x-int64": True,
            "minimum": -(2**63),
            "maximum": 2**63 - 1,
        }
        for s in int64.values()
    )


@pytest.mark.parametrize("version", VERSIONS)
def test_every_message_refuses_unknown_keys(version: str) -> None:
    definitions = schemas.custom_job_spec(version)["$defs"]

    assert {d["additionalProperties"] for d in definitions.values()} == {False}
    assert schemas.custom_job_spec(version)["$ref"] == "#/$defs/CustomJobSpec"


@pytest.mark.parametrize(
    ("parts", "text"),
    [
        ([], ""),
        (["network"], "network"),
        (["workerPoolSpecs", 0, "machineSpec"], "workerPoolSpecs[0].machineSpec"),
        (["a", 1, 2, "b"], "a[1][2].b"),
        ([3, "x"], "[3].x"),
    ],
)
def test_error_paths_read_like_the_yaml(parts: list[Any], text: str) -> None:
    assert schemas.format_path(parts) == text


def test_the_schemas_are_found_in_the_checkout() -> None:
    assert Path(schemas.schemas_dir()) == ROOT / "schemas"
    assert schemas.load("worker-pool-spec.json") is schemas.worker_pool_spec()


# --- the fast path: `conforms` judges as jsonschema does -----------------------------------------

SCHEMA_FILES = ["worker-pool-spec.json", *(f"custom-job-spec.{v}.json" for v in VERSIONS)]
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=4),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=6,
)
AGREEMENT = settings(
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=400,
    suppress_health_check=[HealthCheck.too_slow],
)


def jsonschema_says_valid(instance: Any, schema: dict[str, Any]) -> bool:
    return not list(jsonschema.Draft202012Validator(schema).iter_errors(instance))


def shaped_like(schema: Any, root: dict[str, Any], depth: int = 0) -> st.SearchStrategy[Any]:
    """Values shaped by `schema`: mostly what it asks for, near its bounds, now and then
    anything at all, so that both valid and invalid instances come up."""
    ref = schema.get("$ref", "")
    if ref.startswith("#/$defs/"):
        schema = {**root["$defs"][ref.split("/")[-1]], **schema}
    if depth > 6:
        return JSON
    kinds = schema.get("type", [])
    kinds = kinds if isinstance(kinds, list) else [kinds]
    near: list[st.SearchStrategy[Any]] = []
    if "enum" in schema:
        near.append(st.sampled_from(schema["enum"]))
    if "properties" in schema:
        optional = {k: shaped_like(v, root, depth + 1) for k, v in schema["properties"].items()}
        near.append(st.fixed_dictionaries({}, optional=optional))
    if "array" in kinds:
        near.append(st.lists(shaped_like(schema.get("items", {}), root, depth + 1), max_size=3))
    if "integer" in kinds:
        low, high = schema.get("minimum", -(2**63)), schema.get("maximum", 2**63)
        near.append(st.integers(low, high))
        near.append(st.sampled_from([low - 1, low, high, high + 1, float(low), low + 0.5]))
    if "string" in kinds:
        near.append(st.text(min_size=1, max_size=6))
        near.append(st.just(""))
        if "pattern" in schema:
            near.append(st.from_regex(schema["pattern"], fullmatch=True))
    if "boolean" in kinds:
        near.append(st.booleans())
    if not near:
        return JSON
    # Mostly near: an instance is valid only if every value in it is.
    return st.integers(0, 9).flatmap(lambda n: JSON if n == 0 else st.one_of(*near))


@AGREEMENT
@given(data=st.data())
@pytest.mark.parametrize("name", SCHEMA_FILES)
def test_the_fast_path_judges_every_instance_as_jsonschema_does(
    name: str, data: st.DataObject
) -> None:
    schema = schemas.load(name)
    instance = data.draw(shaped_like(schema, schema), label="instance")

    assert schemas.conforms(instance, schema) == jsonschema_says_valid(instance, schema)


WPS, JOB = "worker-pool-spec.json", "custom-job-spec.v1.json"


def job_pool(**fields: Any) -> dict[str, Any]:
    return {"workerPoolSpecs": [fields]}


@pytest.mark.parametrize(
    ("name", "instance", "valid"),
    [
        pytest.param(WPS, {"replica-count": 2.0}, True, id="a-whole-float-is-an-integer"),
        pytest.param(WPS, {"replica-count": 2.5}, False, id="a-fraction-is-not"),
        pytest.param(WPS, {"replica-count": True}, False, id="a-boolean-is-no-integer"),
        pytest.param(WPS, {"replica-count": 2**63}, False, id="past-the-maximum"),
        pytest.param(WPS, {"disk-size": float("nan")}, False, id="nan"),
        pytest.param(WPS, {"disk-type": ["pd-ssd"]}, False, id="a-list-holding-an-enum-member"),
        pytest.param(WPS, {"requirements": []}, True, id="an-empty-list"),
        pytest.param(WPS, {1: "x"}, False, id="a-key-that-is-no-text"),
        pytest.param(JOB, job_pool(replicaCount="12"), True, id="int64-as-text"),
        pytest.param(JOB, job_pool(replicaCount="-1"), True, id="int64-negative-text"),
        pytest.param(JOB, job_pool(replicaCount="1.0"), False, id="int64-text-not-an-integer"),
        pytest.param(JOB, job_pool(replicaCount=" 1"), False, id="int64-text-with-a-space"),
        pytest.param(JOB, job_pool(replicaCount=3.0), True, id="int64-as-a-whole-float"),
        pytest.param(
            JOB, job_pool(machineSpec={"acceleratorType": "TPU_V2"}), True, id="an-enum-name"
        ),
        pytest.param(JOB, job_pool(machineSpec={"acceleratorType": 7}), False, id="an-enum-number"),
        pytest.param(JOB, job_pool(bogus=1), False, id="an-unknown-key-in-a-definition"),
    ],
)
def test_the_fast_path_on_edge_cases(name: str, instance: Any, valid: bool) -> None:
    schema = schemas.load(name)

    assert schemas.conforms(instance, schema) is valid
    assert jsonschema_says_valid(instance, schema) is valid


@pytest.mark.parametrize(
    "schema",
    [
        pytest.param({"format": "email"}, id="format"),
        pytest.param({"const": "x"}, id="const"),
        pytest.param({"type": "object", "patternProperties": {"^x": {}}}, id="pattern-properties"),
        pytest.param({"$ref": "other.json"}, id="a-ref-to-another-document"),
        pytest.param({"type": "tuple"}, id="an-unknown-type"),
    ],
)
def test_a_keyword_the_fast_path_does_not_know_is_left_to_jsonschema(
    schema: dict[str, Any],
) -> None:
    assert schemas.conforms("x", schema) is False


def test_an_instance_the_fast_path_does_not_pass_still_gets_jsonschemas_errors() -> None:
    schema = {"maxLength": 0, "format": "email"}
    expected = [("", e.message) for e in jsonschema.Draft202012Validator(schema).iter_errors("x")]

    assert expected
    assert list(schemas.errors("x", schema)) == expected


# --- agreement with gcloud ----------------------------------------------------------------------

_GCLOUD_SIDE = """
import json, sys
sys.path.insert(0, sys.argv[1])
import gen_schemas
from googlecloudsdk.calliope import arg_parsers
from googlecloudsdk.command_lib.ai.custom_jobs import flags

spec = flags._WORKER_POOL_SPEC.kwargs["type"].spec
print(json.dumps({
    "schemas": {v: gen_schemas.generate(v, p) for v, p in gen_schemas.VERSIONS.items()},
    "worker_pool_spec": {
        k: "list" if isinstance(v, arg_parsers.ArgList) else v.__name__ for k, v in spec.items()
    },
}))
"""


@pytest.fixture(scope="module")
def from_gcloud(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """What gcloud's own code says: the schemas regenerated now, and its ArgDict spec."""
    if not BUNDLED_PYTHON.exists():
        pytest.skip(f"gcloud's bundled Python is not installed ({BUNDLED_PYTHON})")
    home = tmp_path_factory.mktemp("gcloud-home")
    environ = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "CLOUDSDK_CONFIG": str(home / "gcloud"),
        "PYTHONPATH": f"{SDK / 'lib'}:{SDK / 'lib' / 'third_party'}",
    }
    result = subprocess.run(
        [str(BUNDLED_PYTHON), "-c", _GCLOUD_SIDE, str(ROOT / "tools")],
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    found: dict[str, Any] = json.loads(result.stdout)
    return found


@pytest.mark.parametrize("version", VERSIONS)
def test_the_generated_schema_is_still_gclouds(from_gcloud: dict[str, Any], version: str) -> None:
    committed = json.loads((ROOT / "schemas" / f"custom-job-spec.{version}.json").read_text())

    assert from_gcloud["schemas"][version] == committed, (
        f"schemas/custom-job-spec.{version}.json is stale: rerun tools/gen_schemas.py"
    )


def test_the_worker_pool_keys_are_gclouds_arg_dict_spec(from_gcloud: dict[str, Any]) -> None:
    properties = schemas.worker_pool_spec()["properties"]
    ours = {k: p["x-arg-type"] for k, p in properties.items() if not p.get("x-prgcloud")}

    assert ours == from_gcloud["worker_pool_spec"]
