"""The report's words and its JSON shape (a contract for `--format=json`)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from prgcloud.precheck import capacity_of, evaluate
from prgcloud.precheck.report import format_capacity, format_verdict, format_warnings, verdict_json

NAME = "projects/p/locations/us-central1/persistentResources/res"
CONTAINER = {"imageUri": "gcr.io/p/trainer"}


def job(*replicas: int, **spec: Any) -> dict[str, Any]:
    pools = [
        {
            "machineSpec": {"machineType": "n1-standard-4"},
            "replicaCount": str(n),
            "containerSpec": CONTAINER,
        }
        if n
        else {}
        for n in replicas
    ]
    return {"displayName": "j", "jobSpec": {"workerPoolSpecs": pools, **spec}}


def resource(replicas: int = 2, used: int = 0, **fields: Any) -> dict[str, Any]:
    pool = {
        "id": "cpu",
        "machineSpec": {"machineType": "n1-standard-4"},
        "replicaCount": str(replicas),
        "usedReplicaCount": str(used),
    }
    return {"name": NAME, "state": "RUNNING", "resourcePools": [pool], **fields}


@pytest.mark.parametrize(
    ("body", "persistent_resource", "strict", "summary"),
    [
        pytest.param(
            job(1), resource(), False, "the job fits persistent resource 'res'", id="fits"
        ),
        pytest.param(
            job(1, 2),
            resource(),
            False,
            "the job does not fit persistent resource 'res'",
            id="block",
        ),
        pytest.param(
            job(1),
            resource(used=2),
            False,
            "(project p, region us-central1, RUNNING) now, but may later",
            id="wait",
        ),
        pytest.param(
            job(1, serviceAccount="sa@p.iam.gserviceaccount.com"),
            resource(),
            True,
            "but --strict turns these warnings into a block",
            id="strict",
        ),
    ],
)
def test_the_first_line_says_whether_and_why(
    body: dict[str, Any], persistent_resource: dict[str, Any], strict: bool, summary: str
) -> None:
    first = format_verdict(evaluate(body, persistent_resource), strict=strict).splitlines()[0]
    assert summary in first


def test_each_worker_pool_gets_a_line_then_each_finding() -> None:
    text = format_verdict(evaluate(job(1, 0, 2), resource(replicas=2)))
    lines = text.splitlines()[1:]
    assert lines[0] == (
        "  worker pool 0 (n1-standard-4, pd-ssd 100 GB) -> resource pool 'cpu': "
        "asks 1 (3 with the pools sharing it), free 2, ceiling 2"
    )
    assert lines[1] == "  worker pool 1: placeholder, asks for nothing"
    assert lines[3].startswith("  BLOCK: worker pools 0 and 2 together ask for 3 replicas")


def test_warnings_are_one_line_each_with_their_fix() -> None:
    (line,) = format_warnings(evaluate(job(2), resource()))
    assert line.startswith("worker pool 0 asks for 2 replicas")
    assert line.endswith(
        "Fix: replica-count=1 in worker pool 0; put more replicas in worker pool 1."
    )


def test_json_shape_is_stable() -> None:
    document = verdict_json(evaluate(job(1, 0, 5), resource(network="n")))
    json.dumps(document)  # plain data all the way down
    assert set(document) == {"resource", "state", "fits", "assignment", "pools", "findings"}
    assert document["fits"] is False
    assert document["assignment"] == {"0": "cpu", "2": "cpu"}
    assert set(document["pools"][0]) == {
        "index",
        "placeholder",
        "key",
        "asked",
        "resourcePool",
        "nearest",
        "differs",
        "load",
        "free",
        "ceiling",
        "used",
    }
    assert [f["code"] for f in document["findings"]] == ["exceeds-ceiling", "network-mismatch"]


def test_capacity_table() -> None:
    body = resource(replicas=1, used=1)
    body["resourcePools"].append(
        {
            "id": "tpu",
            "machineSpec": {
                "machineType": "ct5lp-hightpu-4t",
                "acceleratorType": "TPU_V5_LITEPOD",
                "acceleratorCount": 4,
                "tpuTopology": "2x2",
            },
            "replicaCount": "1",
            "autoscalingSpec": {"minReplicaCount": "1", "maxReplicaCount": "3"},
        }
    )
    body["state"] = "ERROR"
    body["error"] = {"message": "quota"}
    lines = format_capacity(capacity_of(body)).splitlines()
    assert lines[0] == "persistent resource 'res' (project p, region us-central1): ERROR"
    assert lines[1] == "  error: quota"
    assert lines[3].split() == ["cpu", "n1-standard-4", "-", "pd-ssd", "100", "GB", "1", "1", "0"]
    assert lines[4].split() == [
        "tpu",
        "ct5lp-hightpu-4t",
        "4",
        "x",
        "TPU_V5_LITEPOD",
        "(2x2)",
        "pd-ssd",
        "100",
        "GB",
        "3",
        "(autoscaling)",
        "0",
        "3",
    ]
