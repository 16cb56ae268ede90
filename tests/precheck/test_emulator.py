"""The whole pre-check against the emulator: argv -> request -> SDK read -> rules -> verdict.

Requests are parsed from create's own arguments, the resource is read through the real SDK
over REST, and gcloud (where it runs) is the real one.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import prgcloud
from prgcloud import cli, exit_codes, parse, process
from prgcloud.emulator import Emulator
from prgcloud.emulator import schema as emulator_schema
from prgcloud.emulator.errors import ApiError
from prgcloud.environment import Environment
from prgcloud.errors import PrecheckFailedError
from prgcloud.precheck import JobDoesNotFitError, check_request, evaluate_request
from prgcloud.request import JobRequest

from .conftest import fake_gcloud

PROJECT, REGION, RID = "p", "us-central1", "res"
NAME = f"projects/{PROJECT}/locations/{REGION}/persistentResources/{RID}"
IMAGE = "container-image-uri=gcr.io/p/trainer"
NET = "projects/123/global/networks/vpc"
KEY = f"projects/{PROJECT}/locations/{REGION}/keyRings/r/cryptoKeys/k"
SA = "trainer@p.iam.gserviceaccount.com"
A100 = "NVIDIA_TESLA_A100"


def wps(machine: str = "n1-standard-4", replicas: int = 1, **keys: Any) -> str:
    extra = "".join(f",{k.replace('_', '-')}={v}" for k, v in keys.items())
    return f"--worker-pool-spec=machine-type={machine},replica-count={replicas},{IMAGE}{extra}"


def rpool(
    pool_id: str,
    machine: str = "n1-standard-4",
    replicas: int = 2,
    *,
    used: int = 0,
    max_replicas: int | None = None,
    accelerator: str | None = None,
    disk: str | None = None,
    size: int | None = None,
) -> dict[str, Any]:
    pool: dict[str, Any] = {
        "id": pool_id,
        "machineSpec": {"machineType": machine},
        "replicaCount": str(replicas),
    }
    if accelerator:
        pool["machineSpec"].update(acceleratorType=accelerator, acceleratorCount=1)
    if used:
        pool["usedReplicaCount"] = str(used)
    if max_replicas:
        pool["autoscalingSpec"] = {"minReplicaCount": "1", "maxReplicaCount": str(max_replicas)}
    disk_spec = {k: v for k, v in (("bootDiskType", disk), ("bootDiskSizeGb", size)) if v}
    if disk_spec:
        pool["diskSpec"] = disk_spec
    return pool


@pytest.fixture
def environ(gcloud_env: dict[str, str]) -> dict[str, str]:
    return {**gcloud_env, "CLOUDSDK_CORE_PROJECT": PROJECT, "CLOUDSDK_AI_REGION": REGION}


@pytest.fixture
def request_for(environ: dict[str, str], tmp_path: Path) -> Callable[..., JobRequest]:
    def build(*argv: str) -> JobRequest:
        return parse.parse_create(
            ["--display-name=train", f"--persistent-resource-id={RID}", *argv],
            environ,
            track=None,
            cwd=str(tmp_path),
        )

    return build


def arrange(
    emulator: Emulator, *pools: dict[str, Any], state: str = "RUNNING", **fields: Any
) -> None:
    emulator.add_persistent_resource(
        PROJECT, REGION, RID, {"resourcePools": list(pools), **fields}, state=state
    )


CASES = [
    # pools and disks
    pytest.param([wps()], [rpool("a")], {}, [], id="same-machine-fits"),
    pytest.param(
        [wps("n1-standard-8")], [rpool("a")], {}, ["no-matching-pool"], id="other-machine"
    ),
    pytest.param(
        [wps(accelerator_type=A100)],
        [rpool("g", "a2-highgpu-1g", accelerator=A100)],
        {},
        ["no-matching-pool"],
        id="accelerator-on-another-machine",
    ),
    pytest.param(
        [wps("a2-highgpu-1g", accelerator_type=A100)],
        [rpool("g", "a2-highgpu-1g", accelerator=A100)],
        {},
        [],
        id="accelerator-fits",
    ),
    pytest.param([wps()], [rpool("a", disk="pd-ssd", size=100)], {}, [], id="disk-defaults-match"),
    pytest.param(
        [wps()],
        [rpool("a", disk="pd-standard", size=200)],
        {},
        ["no-matching-pool"],
        id="default-disk-on-a-pd-standard-pool",
    ),
    pytest.param(
        [wps(disk_type="pd-standard", disk_size=200)],
        [rpool("a", disk="pd-standard", size=200)],
        {},
        [],
        id="disk-keys-fit",
    ),
    # replicas
    pytest.param(
        [wps(), wps(replicas=1)],
        [rpool("a", replicas=2)],
        {},
        [],
        id="two-job-pools-share-one-resource-pool",
    ),
    pytest.param(
        [wps(), wps(replicas=2)],
        [rpool("a", replicas=2)],
        {},
        ["exceeds-ceiling"],
        id="shared-pool-over-its-size",
    ),
    pytest.param(
        [wps(), wps(replicas=1)],
        [rpool("a", replicas=2, used=1)],
        {},
        ["replicas-busy"],
        id="shared-pool-busy",
    ),
    pytest.param(
        [wps()], [rpool("a", used=2), rpool("b")], {}, [], id="busy-pool-with-a-free-twin"
    ),
    pytest.param(
        [wps(), wps(replicas=2)],
        [rpool("a", replicas=1), rpool("b", replicas=2)],
        {},
        [],
        id="twins-split-the-job",
    ),
    pytest.param(
        [wps(), "--worker-pool-spec=", wps(replicas=1)],
        [rpool("a", replicas=2)],
        {},
        [],
        id="placeholder-asks-nothing",
    ),
    pytest.param(
        [wps(), wps(replicas=3)],
        [rpool("a", replicas=1, max_replicas=4)],
        {},
        [],
        id="within-the-autoscaling-maximum",
    ),
    pytest.param(
        [wps(), wps(replicas=4)],
        [rpool("a", replicas=1, max_replicas=4)],
        {},
        ["exceeds-ceiling"],
        id="over-the-autoscaling-maximum",
    ),
    # network and CMEK
    pytest.param(
        [wps(), f"--network={NET}"], [rpool("a")], {"network": NET}, [], id="same-network"
    ),
    pytest.param([wps()], [rpool("a")], {"network": NET}, ["network-mismatch"], id="no-network"),
    pytest.param(
        [wps(), f"--kms-key={KEY}"],
        [rpool("a")],
        {"encryptionSpec": {"kmsKeyName": KEY}},
        [],
        id="same-kms-key",
    ),
    pytest.param(
        [wps(), f"--kms-key={KEY}"],
        [rpool("a")],
        {},
        ["kms-mismatch"],
        id="kms-key-on-a-plain-resource",
    ),
    # warnings
    pytest.param(
        [wps(), f"--service-account={SA}"],
        [rpool("a")],
        {},
        ["service-account-not-enforced"],
        id="service-account-not-enforced",
    ),
    pytest.param(
        [wps()],
        [rpool("a")],
        {
            "resourceRuntimeSpec": {
                "serviceAccountSpec": {"enableCustomServiceAccount": True, "serviceAccount": SA}
            }
        },
        ["custom-service-account-required"],
        id="custom-service-account-required",
    ),
    pytest.param(
        [wps(replicas=2)], [rpool("a")], {}, ["primary-pool-replicas"], id="primary-pool-replicas"
    ),
]


@pytest.mark.parametrize(("argv", "pools", "fields", "codes"), CASES)
def test_every_rule_through_the_sdk(
    clean_emulator: Emulator,
    request_for: Callable[..., JobRequest],
    environ: dict[str, str],
    argv: list[str],
    pools: list[dict[str, Any]],
    fields: dict[str, Any],
    codes: list[str],
) -> None:
    arrange(clean_emulator, *pools, **fields)
    verdict = evaluate_request(request_for(*argv), environ)
    assert [f.code for f in verdict.findings] == codes


@pytest.mark.parametrize(("argv", "pools", "fields", "codes"), CASES)
def test_the_emulator_judges_every_case_as_the_pre_check_does(
    clean_emulator: Emulator,
    request_for: Callable[..., JobRequest],
    environ: dict[str, str],
    argv: list[str],
    pools: list[dict[str, Any]],
    fields: dict[str, Any],
    codes: list[str],
) -> None:
    # The emulator judges from Google's documentation, on its own: where the two disagree,
    # one of them reads the documentation wrong.
    arrange(clean_emulator, *pools, **fields)
    request = request_for(*argv)
    verdict = evaluate_request(request, environ)
    body = emulator_schema.parse("v1", "CustomJob", dict(request.body), "custom_job")
    if verdict.blocks:
        with pytest.raises(ApiError) as refusal:
            clean_emulator.service.create_job(request.parent, body)
        assert refusal.value.status == "INVALID_ARGUMENT"
        return
    state = clean_emulator.service.create_job(request.parent, body)["state"]
    assert state == ("JOB_STATE_QUEUED" if verdict.waits else "JOB_STATE_PENDING")


CONFIG = """\
workerPoolSpecs:
- machineSpec:
    machineType: n1-standard-4
    reservationAffinity: {reservationAffinityType: ANY_RESERVATION}
  replicaCount: 1
  containerSpec: {imageUri: gcr.io/p/trainer}
reservedIpRanges: [range-a]
"""


def test_reservation_affinity_reserved_ranges_and_ray_warn(
    clean_emulator: Emulator,
    request_for: Callable[..., JobRequest],
    environ: dict[str, str],
    tmp_path: Path,
) -> None:
    arrange(clean_emulator, rpool("a"), resourceRuntimeSpec={"raySpec": {}})
    (tmp_path / "job.yaml").write_text(CONFIG)
    verdict = check_request(request_for("--config=job.yaml"), environ)
    assert [f.code for f in verdict.findings] == [
        "ray-runtime",
        "reservation-affinity",
        "reserved-ip-ranges",
    ]
    assert verdict.fits


@pytest.mark.parametrize(
    ("state", "code", "severity"),
    [
        ("PROVISIONING", "state-not-ready", "wait"),
        ("UPDATING", "state-not-ready", "wait"),
        ("REBOOTING", "state-not-ready", "wait"),
        ("STOPPING", "state-failed", "block"),
        ("ERROR", "state-failed", "block"),
    ],
)
def test_every_state_but_running_stops_the_job(
    clean_emulator: Emulator,
    request_for: Callable[..., JobRequest],
    environ: dict[str, str],
    state: str,
    code: str,
    severity: str,
) -> None:
    arrange(clean_emulator, rpool("a"))
    clean_emulator.set_resource_state(NAME, state, "stockout" if state == "ERROR" else None)
    with pytest.raises(JobDoesNotFitError) as caught:
        check_request(request_for(wps()), environ)
    (finding,) = caught.value.verdict.findings
    assert (finding.code, finding.severity, finding.offered) == (code, severity, state)
    assert caught.value.exit_code == exit_codes.DOES_NOT_FIT
    if state == "ERROR":
        assert '"stockout"' in str(caught.value)


def test_strict_makes_a_warning_block(
    clean_emulator: Emulator, request_for: Callable[..., JobRequest], environ: dict[str, str]
) -> None:
    arrange(clean_emulator, rpool("a"))
    request = request_for(wps(), f"--service-account={SA}")
    assert check_request(request, environ).warnings
    with pytest.raises(JobDoesNotFitError, match="--strict"):
        check_request(request_for(wps(), f"--service-account={SA}", "--strict"), environ)


def test_a_job_without_a_persistent_resource_is_not_checked(
    clean_emulator: Emulator, environ: dict[str, str], tmp_path: Path
) -> None:
    request = parse.parse_create(
        ["--display-name=train", wps()], environ, track=None, cwd=str(tmp_path)
    )
    assert check_request(request, environ).findings == ()


# --- could not check: exit 4 ----------------------------------------------------------------


def test_a_missing_resource_lists_those_that_exist(
    clean_emulator: Emulator, request_for: Callable[..., JobRequest], environ: dict[str, str]
) -> None:
    clean_emulator.add_persistent_resource(
        PROJECT, REGION, "cluster-a", {"resourcePools": [rpool("a")]}
    )
    with pytest.raises(PrecheckFailedError) as caught:
        check_request(request_for(wps()), environ)
    assert "'res' was not found in project p, region us-central1" in str(caught.value)
    assert "The persistent resources there are: cluster-a." in str(caught.value)


def test_a_denied_read_names_the_permission(
    clean_emulator: Emulator, request_for: Callable[..., JobRequest], environ: dict[str, str]
) -> None:
    arrange(clean_emulator, rpool("a"))
    clean_emulator.deny(NAME)
    with pytest.raises(PrecheckFailedError, match=r"aiplatform\.persistentResources\.get"):
        check_request(request_for(wps()), environ)


def test_an_unavailable_api_is_retried(
    clean_emulator: Emulator, request_for: Callable[..., JobRequest], environ: dict[str, str]
) -> None:
    arrange(clean_emulator, rpool("a"))
    clean_emulator.fail("UNAVAILABLE", name=NAME, method="GET", times=1)
    assert check_request(request_for(wps()), environ).fits


def test_an_unreachable_api_is_exit_4(
    clean_emulator: Emulator, request_for: Callable[..., JobRequest], environ: dict[str, str]
) -> None:
    closed = Emulator(port=0)  # bound, never served, then closed: a port nobody listens on
    url = closed.url
    closed.stop()
    environ["CLOUDSDK_API_ENDPOINT_OVERRIDES_AIPLATFORM"] = url
    with pytest.raises(PrecheckFailedError, match="cannot be reached"):
        check_request(request_for(wps()), environ)


def test_no_credentials_is_exit_4(
    clean_emulator: Emulator, request_for: Callable[..., JobRequest], environ: dict[str, str]
) -> None:
    arrange(clean_emulator, rpool("a"))
    del environ["CLOUDSDK_AUTH_ACCESS_TOKEN_FILE"]  # and the fresh gcloud config has no login
    with pytest.raises(PrecheckFailedError) as caught:
        check_request(request_for(wps()), environ)
    assert str(caught.value).startswith("no credentials for the pre-check")
    assert caught.value.exit_code == exit_codes.PRECHECK_FAILED


def test_capacity_reads_the_emulator(clean_emulator: Emulator, environ: dict[str, str]) -> None:
    arrange(
        clean_emulator,
        rpool("a", replicas=3, used=1),
        rpool("g", "a2-highgpu-1g", accelerator=A100, max_replicas=4),
    )
    capacity = prgcloud.capacity(RID, project=PROJECT, region=REGION, environ=environ)
    assert capacity["state"] == "RUNNING"
    assert [(p["id"], p["ceiling"], p["used"], p["free"]) for p in capacity["pools"]] == [
        ("a", 3, 1, 2),
        ("g", 4, 0, 4),
    ]
    assert capacity["pools"][1]["acceleratorType"] == A100


# --- create: gcloud starts only when the job fits ---------------------------------------------


def run_create(environ: dict[str, str], cwd: Path, *argv: str) -> tuple[int, str]:
    stderr = io.StringIO()
    env = Environment(
        environ=environ, stdin=io.StringIO(), stdout=io.StringIO(), stderr=stderr, cwd=str(cwd)
    )
    args = [
        "ai",
        "custom-jobs",
        "create",
        "--display-name=train",
        f"--persistent-resource-id={RID}",
    ]
    return cli.main([*args, *argv], env), stderr.getvalue()


def test_a_blocked_create_never_starts_gcloud(
    clean_emulator: Emulator, environ: dict[str, str], tmp_path: Path
) -> None:
    arrange(clean_emulator, rpool("a", disk="pd-standard", size=200))
    environ[process.GCLOUD_OVERRIDE_VARIABLE] = str(fake_gcloud(tmp_path, "exit 0"))
    status, stderr = run_create(environ, tmp_path, wps())
    assert status == exit_codes.DOES_NOT_FIT
    assert "add disk-type=pd-standard,disk-size=200" in stderr
    assert not (tmp_path / "gcloud.log").exists()
    assert clean_emulator.custom_jobs(PROJECT, REGION) == []


@pytest.mark.gcloud
def test_a_fitting_create_is_submitted_by_the_real_gcloud(
    clean_emulator: Emulator, environ: dict[str, str], tmp_path: Path
) -> None:
    arrange(clean_emulator, rpool("a"))
    status, stderr = run_create(environ, tmp_path, wps())
    assert status == 0, stderr
    (job,) = clean_emulator.custom_jobs(PROJECT, REGION)
    assert job["jobSpec"]["persistentResourceId"] == RID
