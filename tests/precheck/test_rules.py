"""docs/fit-rules.md as a table: (job, resource) -> findings, through the pure `evaluate`."""

from __future__ import annotations

from typing import Any

import pytest

from prgcloud.precheck import Verdict, evaluate

NAME = "projects/p/locations/us-central1/persistentResources/res"


def pool(
    machine: str = "n1-standard-4",
    replicas: int | str | None = 1,
    *,
    accelerator: str | None = None,
    count: int | None = None,
    topology: str | None = None,
    disk: str | None = None,
    size: int | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A worker pool spec as gcloud POSTs it (int64 as a string)."""
    machine_spec: dict[str, Any] = {"machineType": machine}
    if accelerator:
        machine_spec["acceleratorType"] = accelerator
    if count is not None:
        machine_spec["acceleratorCount"] = count
    if topology:
        machine_spec["tpuTopology"] = topology
    spec: dict[str, Any] = {"machineSpec": machine_spec, "containerSpec": {"imageUri": "gcr.io/x"}}
    if replicas is not None:
        spec["replicaCount"] = str(replicas)
    disk_spec = {k: v for k, v in (("bootDiskType", disk), ("bootDiskSizeGb", size)) if v}
    if disk_spec:
        spec["diskSpec"] = disk_spec
    spec.update(extra)
    return spec


def job(*pools: dict[str, Any], kms: str | None = None, **spec: Any) -> dict[str, Any]:
    """A CustomJob body naming the persistent resource."""
    body: dict[str, Any] = {
        "displayName": "j",
        "jobSpec": {"workerPoolSpecs": list(pools), "persistentResourceId": "res", **spec},
    }
    if kms:
        body["encryptionSpec"] = {"kmsKeyName": kms}
    return body


def rpool(
    pool_id: str = "p1",
    machine: str = "n1-standard-4",
    replicas: int = 2,
    *,
    used: int = 0,
    max_replicas: int | None = None,
    accelerator: str | None = None,
    count: int | None = None,
    topology: str | None = None,
    disk: str | None = None,
    size: int | None = None,
) -> dict[str, Any]:
    """A resource pool as the API returns it."""
    resource_pool = pool(
        machine,
        replicas,
        accelerator=accelerator,
        count=count,
        topology=topology,
        disk=disk,
        size=size,
    )
    del resource_pool["containerSpec"]
    resource_pool["id"] = pool_id
    if used:
        resource_pool["usedReplicaCount"] = str(used)
    if max_replicas is not None:
        resource_pool["autoscalingSpec"] = {
            "minReplicaCount": "1",
            "maxReplicaCount": str(max_replicas),
        }
    return resource_pool


def resource(
    *pools: dict[str, Any], state: str | None = "RUNNING", **fields: Any
) -> dict[str, Any]:
    """A PersistentResource as the API returns it."""
    body: dict[str, Any] = {"name": NAME, "resourcePools": list(pools or [rpool()]), **fields}
    if state:
        body["state"] = state
    return body


def codes(verdict: Verdict) -> set[tuple[str, str, int | None]]:
    return {(f.severity, f.code, f.pool) for f in verdict.findings}


A100 = "NVIDIA_TESLA_A100"
SA = "trainer@p.iam.gserviceaccount.com"
NET = "projects/123/global/networks/vpc"
KEY = "projects/p/locations/us-central1/keyRings/r/cryptoKeys/k"

CASES = [
    # 1. state
    pytest.param(job(pool()), resource(), set(), id="running-resource-accepts-the-job"),
    *(
        pytest.param(
            job(pool()),
            resource(state=s),
            {("wait", "state-not-ready", None)},
            id=f"{s}-is-not-ready-yet",
        )
        for s in ("PROVISIONING", "UPDATING", "REBOOTING")
    ),
    *(
        pytest.param(
            job(pool()), resource(state=s), {("block", "state-failed", None)}, id=f"{s}-blocks"
        )
        for s in ("STOPPING", "ERROR", "STATE_UNSPECIFIED")
    ),
    pytest.param(
        job(pool()),
        resource(state=None),
        {("block", "state-failed", None)},
        id="absent-state-blocks",
    ),
    # 2. pool match
    pytest.param(
        job(pool("n1-standard-8")),
        resource(),
        {("block", "no-matching-pool", 0)},
        id="other-machine-type-blocks",
    ),
    pytest.param(
        job(pool(accelerator=A100, count=1)),
        resource(rpool(accelerator=A100, count=1)),
        set(),
        id="same-accelerator-fits",
    ),
    pytest.param(
        job(pool(accelerator=A100, count=2)),
        resource(rpool(accelerator=A100, count=1)),
        {("block", "no-matching-pool", 0)},
        id="other-accelerator-count-blocks",
    ),
    pytest.param(
        job(pool(accelerator=A100, count=1)),
        resource(rpool()),
        {("block", "no-matching-pool", 0)},
        id="accelerator-on-a-cpu-pool-blocks",
    ),
    pytest.param(
        job(pool(accelerator="ACCELERATOR_TYPE_UNSPECIFIED", count=0)),
        resource(rpool()),
        set(),
        id="unspecified-accelerator-equals-none",
    ),
    pytest.param(
        job(pool("ct5lp-hightpu-4t", topology="2x2")),
        resource(rpool(machine="ct5lp-hightpu-4t", topology="2x2")),
        set(),
        id="same-tpu-topology-fits",
    ),
    pytest.param(
        job(pool("ct5lp-hightpu-4t", topology="2x4")),
        resource(rpool(machine="ct5lp-hightpu-4t", topology="2x2")),
        {("block", "no-matching-pool", 0)},
        id="other-tpu-topology-blocks",
    ),
    pytest.param(
        job(pool(disk="pd-ssd", size=100)),
        resource(rpool()),
        set(),
        id="explicit-disk-defaults-equal-absent-ones",
    ),
    pytest.param(
        job(pool()),
        resource(rpool(disk="pd-ssd", size=100)),
        set(),
        id="absent-disk-equals-the-resource-defaults",
    ),
    pytest.param(
        job(pool()),
        resource(rpool(disk="pd-standard")),
        {("block", "no-matching-pool", 0)},
        id="default-disk-type-on-a-pd-standard-pool-blocks",
    ),
    pytest.param(
        job(pool(size=200)),
        resource(rpool()),
        {("block", "no-matching-pool", 0)},
        id="other-disk-size-blocks",
    ),
    pytest.param(
        job(pool("a3-ultragpu-8g")),
        resource(rpool(machine="a3-ultragpu-8g", disk="hyperdisk-balanced")),
        set(),
        id="a3-ultragpu-defaults-to-hyperdisk",
    ),
    pytest.param(
        job(pool("a3-ultragpu-8g")),
        resource(rpool(machine="a3-ultragpu-8g", disk="pd-ssd")),
        {("block", "no-matching-pool", 0)},
        id="a3-ultragpu-default-is-not-pd-ssd",
    ),
    pytest.param(
        job(pool()),
        {"name": NAME, "state": "RUNNING", "resourcePools": []},
        {("block", "no-matching-pool", 0)},
        id="resource-without-pools-blocks",
    ),
    # 3. replicas
    pytest.param(
        job(pool(replicas=1), pool(replicas=1)),
        resource(rpool(replicas=2)),
        set(),
        id="two-pools-share-a-resource-pool-within-its-size",
    ),
    pytest.param(
        job(pool(replicas=1), pool(replicas=2)),
        resource(rpool(replicas=2)),
        {("block", "exceeds-ceiling", 0)},
        id="shared-pool-over-its-size-can-never-fit",
    ),
    pytest.param(
        job(pool(replicas=1), pool(replicas=1)),
        resource(rpool(replicas=2, used=1)),
        {("wait", "replicas-busy", 0)},
        id="shared-pool-with-a-busy-replica-is-busy",
    ),
    pytest.param(
        job(pool(), pool(replicas=3)),
        resource(rpool(replicas=1, max_replicas=4)),
        set(),
        id="autoscaling-maximum-is-the-ceiling",
    ),
    pytest.param(
        job(pool(), pool(replicas=4)),
        resource(rpool(replicas=1, max_replicas=4)),
        {("block", "exceeds-ceiling", 0)},
        id="over-the-autoscaling-maximum-blocks",
    ),
    pytest.param(
        job(pool(), pool(replicas=1)),
        resource(rpool(replicas=1, max_replicas=4, used=3)),
        {("wait", "replicas-busy", 0)},
        id="autoscaling-pool-used-up-is-busy",
    ),
    pytest.param(
        job(pool()),
        resource(rpool("a", used=2), rpool("b")),
        set(),
        id="a-busy-pool-with-a-free-twin-fits",
    ),
    pytest.param(
        job(pool(), pool(replicas=2)),
        resource(rpool("a", replicas=2), rpool("b", replicas=2)),
        set(),
        id="job-pools-split-across-twin-pools",
    ),
    pytest.param(
        job(pool(), pool(replicas=2)),
        resource(rpool("a", replicas=2, used=1), rpool("b", replicas=2, used=1)),
        {("wait", "replicas-busy", 1)},
        id="twin-pools-both-partly-busy",
    ),
    pytest.param(
        job(pool(), {}, pool(replicas=1)),
        resource(rpool(replicas=2)),
        set(),
        id="placeholder-pool-asks-nothing",
    ),
    pytest.param(
        job(pool(replicas=1), {}),
        resource(rpool(replicas=1)),
        set(),
        id="trailing-placeholder-asks-nothing",
    ),
    pytest.param(
        job(pool(replicas=None)),
        resource(rpool(replicas=1)),
        set(),
        id="absent-replica-count-is-one",
    ),
    # 4. network and CMEK
    pytest.param(job(pool(), network=NET), resource(network=NET), set(), id="same-network-fits"),
    pytest.param(
        job(pool()),
        resource(network=NET),
        {("block", "network-mismatch", None)},
        id="job-without-the-resources-network-blocks",
    ),
    pytest.param(
        job(pool(), network=NET),
        resource(),
        {("block", "network-mismatch", None)},
        id="job-network-on-a-resource-without-one-blocks",
    ),
    pytest.param(
        job(pool(), kms=KEY),
        resource(encryptionSpec={"kmsKeyName": KEY}),
        set(),
        id="same-kms-key-fits",
    ),
    pytest.param(
        job(pool()),
        resource(encryptionSpec={"kmsKeyName": KEY}),
        {("block", "kms-mismatch", None)},
        id="job-without-the-resources-key-blocks",
    ),
    pytest.param(
        job(pool(), kms=KEY + "2"),
        resource(encryptionSpec={"kmsKeyName": KEY}),
        {("block", "kms-mismatch", None)},
        id="other-kms-key-blocks",
    ),
    # 5. undocumented -> warnings
    pytest.param(
        job(pool(), serviceAccount=SA),
        resource(resourceRuntimeSpec={"serviceAccountSpec": {"enableCustomServiceAccount": True}}),
        set(),
        id="custom-account-on-an-enforcing-resource-fits",
    ),
    pytest.param(
        job(pool()),
        resource(resourceRuntimeSpec={"serviceAccountSpec": {"enableCustomServiceAccount": True}}),
        {("warn", "custom-service-account-required", None)},
        id="enforcing-resource-without-a-job-account-warns",
    ),
    pytest.param(
        job(pool(), serviceAccount=SA),
        resource(),
        {("warn", "service-account-not-enforced", None)},
        id="job-account-on-a-non-enforcing-resource-warns",
    ),
    pytest.param(
        job(pool()),
        resource(resourceRuntimeSpec={"raySpec": {}}),
        {("warn", "ray-runtime", None)},
        id="ray-resource-warns",
    ),
    pytest.param(
        job(pool(replicas=2)),
        resource(),
        {("warn", "primary-pool-replicas", 0)},
        id="first-pool-with-two-replicas-warns",
    ),
    pytest.param(
        job(pool(), pool(replicas=2)),
        resource(rpool(replicas=3)),
        set(),
        id="second-pool-with-two-replicas-is-fine",
    ),
    pytest.param(
        job(
            pool(),
            pool(
                machineSpec={
                    "machineType": "n1-standard-4",
                    "reservationAffinity": {"reservationAffinityType": "ANY_RESERVATION"},
                }
            ),
        ),
        resource(),
        {("warn", "reservation-affinity", 1)},
        id="reservation-affinity-warns",
    ),
    pytest.param(
        job(pool(), reservedIpRanges=["r1"]),
        resource(reservedIpRanges=["r1"]),
        set(),
        id="same-reserved-ip-ranges-fit",
    ),
    pytest.param(
        job(pool(), reservedIpRanges=["r2"]),
        resource(reservedIpRanges=["r1"]),
        {("warn", "reserved-ip-ranges", None)},
        id="other-reserved-ip-ranges-warn",
    ),
]


@pytest.mark.parametrize(("body", "persistent_resource", "expected"), CASES)
def test_rules_table(
    body: dict[str, Any],
    persistent_resource: dict[str, Any],
    expected: set[tuple[str, str, int | None]],
) -> None:
    verdict = evaluate(body, persistent_resource)
    assert codes(verdict) == expected
    assert verdict.fits == (not any(sev in ("block", "wait") for sev, _, _ in expected))


def test_every_finding_names_pool_field_asked_and_offered_and_a_fix() -> None:
    verdict = evaluate(
        job(pool(size=250), pool(replicas=5, size=200)),
        resource(
            rpool(replicas=3, size=200), state="ERROR", error={"message": "quota"}, network=NET
        ),
    )
    assert {f.code for f in verdict.findings} == {
        "state-failed",
        "no-matching-pool",
        "exceeds-ceiling",
        "network-mismatch",
    }
    for finding in verdict.findings:
        assert finding.message.endswith(".")
        assert finding.fix
        assert finding.field


def test_failed_state_quotes_the_resources_error() -> None:
    verdict = evaluate(job(pool()), resource(state="ERROR", error={"message": "quota exceeded"}))
    (finding,) = verdict.blocks
    assert '"quota exceeded"' in finding.message
    assert finding.offered == "ERROR"


def test_mismatched_disk_names_the_nearest_pool_and_the_keys_to_add() -> None:
    verdict = evaluate(
        job(pool()),
        resource(
            rpool("gpu", accelerator=A100, count=1), rpool("cpu", disk="pd-standard", size=200)
        ),
    )
    (finding,) = verdict.blocks
    assert finding.field == "diskSpec.bootDiskType, diskSpec.bootDiskSizeGb"
    assert finding.asked == {"diskSpec.bootDiskType": "pd-ssd", "diskSpec.bootDiskSizeGb": 100}
    assert finding.offered == {
        "diskSpec.bootDiskType": "pd-standard",
        "diskSpec.bootDiskSizeGb": 200,
    }
    assert "'cpu'" in finding.message
    assert finding.fix == "in worker pool 0, add disk-type=pd-standard,disk-size=200"
    (report,) = verdict.pools
    assert (report.resource_pool, report.nearest, report.differs) == (
        None,
        "cpu",
        ("diskSpec.bootDiskType", "diskSpec.bootDiskSizeGb"),
    )


def test_single_differing_field_is_reported_as_plain_values() -> None:
    (finding,) = evaluate(job(pool("n1-standard-8")), resource()).blocks
    assert (finding.field, finding.asked, finding.offered) == (
        "machineSpec.machineType",
        "n1-standard-8",
        "n1-standard-4",
    )
    assert finding.fix == "in worker pool 0, set machine-type=n1-standard-4"


def test_accelerator_the_pool_lacks_is_to_be_removed() -> None:
    (finding,) = evaluate(job(pool(accelerator=A100, count=1)), resource()).blocks
    assert finding.fix == "in worker pool 0, remove accelerator-type and accelerator-count"


def test_busy_pool_says_how_many_are_free_and_how_to_wait() -> None:
    verdict = evaluate(job(pool(), pool(replicas=2)), resource(rpool(replicas=4, used=2)))
    (finding,) = verdict.waits
    assert (finding.asked, finding.offered) == (3, 2)
    assert (
        finding.fix == "ask for at most 2 replicas in worker pools 0 and 1 together, "
        "or wait with --wait-for-capacity"
    )
    assert [(r.asked, r.load, r.free, r.ceiling) for r in verdict.pools] == [
        (1, 3, 2, 4),
        (2, 3, 2, 4),
    ]


@pytest.mark.parametrize(
    ("pools", "used", "fix"),
    [
        pytest.param(
            [pool(replicas=2)],
            2,
            "replica-count=1 in worker pool 0, or wait with --wait-for-capacity",
            id="one-pool",
        ),
        pytest.param(
            [pool()],
            3,
            "cancel a job that holds replicas of resource pool 'p1', "
            "or wait with --wait-for-capacity",
            id="none-free",
        ),
        pytest.param(
            [pool(), pool()],
            2,
            "cancel a job that holds replicas of resource pool 'p1', "
            "or wait with --wait-for-capacity",
            id="fewer-free-than-pools",
        ),
    ],
)
def test_a_busy_pool_never_advises_asking_for_no_replicas(
    pools: list[dict[str, Any]], used: int, fix: str
) -> None:
    (finding,) = evaluate(job(*pools), resource(rpool(replicas=3, used=used))).waits
    assert finding.fix == fix


def test_a_disk_a_job_cannot_ask_for_is_said_and_another_pool_suggested() -> None:
    (finding,) = evaluate(
        job(pool()),
        resource(rpool("odd", disk="pd-balanced"), rpool("ok", "n1-standard-8")),
    ).blocks
    assert finding.fix == (
        "resource pool 'odd' boots from disk type 'pd-balanced', which a job cannot ask for"
        " (disk-type takes pd-ssd, pd-standard or hyperdisk-balanced); to run on resource pool"
        " 'ok' instead, in worker pool 0, set machine-type=n1-standard-8"
    )


def test_over_the_ceiling_says_it_can_never_fit() -> None:
    (finding,) = evaluate(job(pool(), pool(replicas=4)), resource(rpool(replicas=3))).blocks
    assert "can never fit" in finding.message
    assert (finding.asked, finding.offered) == (5, 3)
    assert "replica-count=2 in worker pool 1" in (finding.fix or "")


def test_twin_pools_are_searched_for_an_assignment_that_fits() -> None:
    verdict = evaluate(
        job(pool(), pool(replicas=2), pool(replicas=1)),
        resource(rpool("a", replicas=3, used=1), rpool("b", replicas=2)),
    )
    assert verdict.fits
    assert dict(verdict.assignment) == {0: "a", 1: "b", 2: "a"}


def test_placeholder_pools_are_reported_but_not_assigned() -> None:
    verdict = evaluate(job(pool(), {}, pool()), resource())
    assert dict(verdict.assignment) == {0: "p1", 2: "p1"}
    assert [r.placeholder for r in verdict.pools] == [False, True, False]


def test_numbers_may_arrive_as_strings_or_ints() -> None:
    as_ints = resource(rpool(replicas=2, used=1) | {"replicaCount": 2, "usedReplicaCount": 1})
    assert evaluate(job(pool() | {"replicaCount": 2}), as_ints).waits


def test_a_bare_job_spec_is_accepted() -> None:
    assert evaluate(job(pool("n1-standard-8"))["jobSpec"], resource()).blocks
