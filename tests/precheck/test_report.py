"""The report's words and its JSON shape (a contract for `--format=json`)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from prgcloud import parse
from prgcloud.precheck import Verdict, capacity_of, evaluate
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
    first = format_verdict(evaluate(body, persistent_resource, strict=strict)).splitlines()[0]
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


# --- every Fix: the report prints, once applied, gives a job prgcloud accepts -----------------

ARGV = ["--display-name=train", "--project=p", "--region=us-central1"]
IMAGE = "container-image-uri=gcr.io/p/trainer"
A100 = "NVIDIA_TESLA_A100"
NET = "projects/123/global/networks/vpc"
KEY = "projects/p/locations/us-central1/keyRings/r/cryptoKeys/k"
SA = "trainer@p.iam.gserviceaccount.com"


def wps(machine: str = "n1-standard-4", **keys: Any) -> str:
    """A `--worker-pool-spec` flag; keys are spec keys with `_` for `-`."""
    extra = "".join(f",{key.replace('_', '-')}={value}" for key, value in keys.items())
    return f"--worker-pool-spec=machine-type={machine},{IMAGE}{extra}"


def rpool(
    pool_id: str,
    machine: str = "n1-standard-4",
    replicas: int = 2,
    *,
    used: int = 0,
    accelerator: str | None = None,
    disk: str | None = None,
    size: int | None = None,
) -> dict[str, Any]:
    pool: dict[str, Any] = {
        "id": pool_id,
        "machineSpec": {"machineType": machine},
        "replicaCount": str(replicas),
        "usedReplicaCount": str(used),
    }
    if accelerator:
        pool["machineSpec"].update(acceleratorType=accelerator, acceleratorCount=1)
    pool["diskSpec"] = {k: v for k, v in (("bootDiskType", disk), ("bootDiskSizeGb", size)) if v}
    return pool


def parsed(argv: list[str], directory: str) -> Mapping[str, Any]:
    """The job prgcloud reads from `create ARGV`; raises BadInputError when it refuses it."""
    request = parse.parse_create(
        [*ARGV, "--persistent-resource-id=res", *argv],
        {"CLOUDSDK_CONFIG": directory},
        track=None,
        cwd=directory,
    )
    return request.body


def fixes_printed(verdict: Verdict) -> list[tuple[str, int | None, str]]:
    """(code, pool, fix) of every `Fix:` in the report, as the report prints them."""
    lines = [line for line in format_verdict(verdict).splitlines() if " Fix: " in line]
    assert len(lines) == sum(1 for f in verdict.findings if f.fix)
    printed = [line.split(" Fix: ", 1)[1].removesuffix(".") for line in lines]
    ordered = (*verdict.blocks, *verdict.waits, *verdict.warnings)
    return [(f.code, f.pool, fix) for f, fix in zip(ordered, printed, strict=True)]


def apply_fix(argv: list[str], fix: str) -> list[str] | None:
    """`argv` with the fix's first remedy applied; None when that remedy names no flag or key."""
    remedy = fix.split(", or ")[0]
    flags = [a for a in argv if not a.startswith("--worker-pool-spec=")]
    pools = [
        dict(item.split("=", 1) for item in a.split("=", 1)[1].split(",") if item)
        for a in argv
        if a.startswith("--worker-pool-spec=")
    ]
    assert "at most 0 replicas" not in remedy, f"replica-count=0 is refused: {fix}"
    together = (
        r"at most (\d+) replicas? in (?:worker pools|resource pool '[^']*' \(fewer replicas"
        r" across worker pools) ([\d, and]+)"
    )
    if found := re.search(together, remedy):
        # one replica each for all but the last pool, which gets the rest
        listed = [int(n) for n in re.findall(r"\d+", found[2])]
        for index in listed[:-1]:
            pools[index]["replica-count"] = "1"
        pools[listed[-1]]["replica-count"] = str(int(found[1]) - len(listed) + 1)
    elif found := re.search(r"in worker pool (\d+), ((?:set|add|remove) .*)$", remedy):
        pool = pools[int(found[1])]
        for clause in found[2].split("; "):
            verb, _, what = clause.partition(" ")
            if verb in ("set", "add"):
                pool.update(item.split("=", 1) for item in what.split(","))
            elif verb == "remove":
                for key in what.split(" and "):
                    del pool[key]
            else:
                raise AssertionError(f"a remedy prgcloud's user cannot apply: {clause!r}")
    elif found := re.search(r"replica-count=(\d+) in worker pool (\d+)", remedy):
        pools[int(found[2])]["replica-count"] = found[1]
    elif found := re.fullmatch(r"(--[a-z-]+)=(\S+)", remedy):
        flags = [a for a in flags if not a.startswith(f"{found[1]}=")] + [remedy]
    elif remedy.startswith("remove --network"):
        flags = [a for a in flags if not a.startswith("--network=")]
    elif remedy.startswith("remove --kms-key"):
        flags = [a for a in flags if not a.startswith("--kms-")]
    else:
        return None
    specs = [",".join(f"{k}={v}" for k, v in pool.items()) for pool in pools]
    return [*flags, *(f"--worker-pool-spec={spec}" for spec in specs)]


FIX_CASES = [
    pytest.param([wps("n1-standard-8")], [rpool("cpu")], {}, id="machine-type"),
    pytest.param(
        [wps("a2-highgpu-1g")], [rpool("gpu", "a2-highgpu-1g", accelerator=A100)], {}, id="gpu"
    ),
    pytest.param(
        [wps(accelerator_type=A100, accelerator_count=1)], [rpool("cpu")], {}, id="no-gpu"
    ),
    pytest.param([wps()], [rpool("cpu", disk="pd-standard", size=200)], {}, id="disk"),
    pytest.param([wps(disk_size=300)], [rpool("cpu")], {}, id="disk-size-to-remove"),
    pytest.param(
        [wps()],
        [rpool("odd", disk="pd-balanced"), rpool("ok", "n1-standard-8")],
        {},
        id="disk-type-prgcloud-refuses-another-pool",
    ),
    pytest.param([wps()], [rpool("odd", disk="pd-balanced")], {}, id="disk-type-refused-only"),
    pytest.param([wps()], [rpool("tiny", size=5)], {}, id="disk-size-refused"),
    pytest.param(
        [wps("a2-highgpu-1g")],
        [rpool("future", "a2-highgpu-1g", accelerator="NVIDIA_FUTURE_X1")],
        {},
        id="accelerator-prgcloud-does-not-know",
    ),
    pytest.param([wps(replica_count=3)], [rpool("cpu")], {}, id="over-the-ceiling"),
    pytest.param([wps(), wps(replica_count=2)], [rpool("cpu")], {}, id="over-the-ceiling-together"),
    pytest.param([wps("n1-standard-4")], [rpool("cpu", replicas=0)], {}, id="empty-pool"),
    pytest.param([wps(replica_count=2)], [rpool("cpu", used=1)], {}, id="busy"),
    pytest.param([wps()], [rpool("cpu", used=2)], {}, id="busy-none-free"),
    pytest.param([wps(), wps()], [rpool("cpu", used=1)], {}, id="busy-together-none-each"),
    pytest.param([wps(), wps(replica_count=3)], [rpool("cpu", 4, used=1)], {}, id="busy-together"),
    pytest.param([wps(), wps()], [rpool("cpu", replicas=1)], {}, id="fewer-than-the-pools"),
    pytest.param([wps(), "--network=other"], [rpool("cpu")], {"network": NET}, id="network"),
    pytest.param([wps(), f"--network={NET}"], [rpool("cpu")], {}, id="network-to-remove"),
    pytest.param([wps()], [rpool("cpu")], {"encryptionSpec": {"kmsKeyName": KEY}}, id="kms-key"),
    pytest.param([wps(), f"--kms-key={KEY}"], [rpool("cpu")], {}, id="kms-key-to-remove"),
    pytest.param(
        [wps()],
        [rpool("cpu")],
        {
            "resourceRuntimeSpec": {
                "serviceAccountSpec": {"enableCustomServiceAccount": True, "serviceAccount": SA}
            }
        },
        id="service-account",
    ),
    pytest.param([wps(), f"--service-account={SA}"], [rpool("cpu")], {}, id="account-ignored"),
    pytest.param([wps(replica_count=2)], [rpool("cpu", replicas=4)], {}, id="primary-replicas"),
    pytest.param(
        [wps()],
        [rpool("cpu")],
        {"state": "ERROR", "error": {"message": "quota"}},
        id="resource-in-error",
    ),
    pytest.param([wps()], [rpool("cpu")], {"state": "PROVISIONING"}, id="resource-starting"),
]


@pytest.mark.parametrize(("argv", "pools", "fields"), FIX_CASES)
def test_every_fix_once_applied_gives_a_job_prgcloud_accepts(
    tmp_path: Path, argv: list[str], pools: list[dict[str, Any]], fields: dict[str, Any]
) -> None:
    persistent_resource = {"name": NAME, "state": "RUNNING", "resourcePools": pools, **fields}
    verdict = evaluate(parsed(argv, str(tmp_path)), persistent_resource)
    printed = fixes_printed(verdict)
    assert printed, "the case prints no Fix: at all"
    for code, pool, fix in printed:
        fixed = apply_fix(argv, fix)
        if fixed is None:
            assert "=" not in fix, f"a fix names a value the test cannot apply: {fix}"
            continue
        after = evaluate(parsed(fixed, str(tmp_path)), persistent_resource)  # accepted
        assert (code, pool) not in {(f.code, f.pool) for f in after.findings}, fix
