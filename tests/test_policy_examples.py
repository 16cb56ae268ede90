"""The example policy hooks in examples/policy.d, run as prgcloud runs them.

Each case builds a real request (`prgcloud.build_request`), makes the document every hook
reads, and hands it to one example through prgcloud's own runner (`prgcloud.policy.run.consult`).
"""

from __future__ import annotations

import shlex
import shutil
from pathlib import Path
from typing import Any

import pytest

import prgcloud
from prgcloud import policy
from prgcloud.errors import PolicyRefusedError
from prgcloud.policy import run as policy_run

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
IMAGE = "us-docker.pkg.dev/p/r/trainer:1"
CPU = f"machine-type=n1-standard-4,container-image-uri={IMAGE}"
GPU = f"machine-type=a2-highgpu-1g,accelerator-type=NVIDIA_TESLA_A100,container-image-uri={IMAGE}"
LABELS = {"team": "ml", "cost-center": "42"}


def document(pools: list[str], labels: dict[str, str] | None = None) -> dict[str, Any]:
    request = prgcloud.build_request(
        display_name="train",
        project="p",
        region="us-central1",
        worker_pool_specs=pools,
        labels=LABELS if labels is None else labels,
        environ={},
        cwd="/",
    )
    return policy_run.document(
        request, command="ai custom-jobs create", persistent_resource=None, account=None
    )


def consult(name: str, doc: dict[str, Any], environ: dict[str, str]) -> policy_run.Outcome:
    hook = policy.Hook(name, str(EXAMPLES / "policy.d" / name))
    return policy_run.consult([hook], doc, {"PATH": "/usr/local/bin:/usr/bin:/bin", **environ})


@pytest.mark.parametrize(
    ("name", "pools", "labels", "environ", "refusal"),
    [
        pytest.param("10-required-labels", [CPU], None, {}, None, id="labels-present"),
        pytest.param(
            "10-required-labels",
            [CPU],
            {"team": "ml"},
            {},
            "the job has no label cost-center: add --labels=cost-center=VALUE",
            id="label-missing",
        ),
        pytest.param(
            "10-required-labels",
            [CPU],
            {},
            {"PRGCLOUD_REQUIRED_LABELS": "owner"},
            "the job has no label owner: add --labels=owner=VALUE",
            id="labels-from-the-environment",
        ),
        pytest.param(
            "20-max-gpus",
            [f"{GPU},replica-count=2,accelerator-count=4"],
            None,
            {},
            None,
            id="eight-gpus-is-the-cap",
        ),
        pytest.param(
            "20-max-gpus",
            [f"{GPU},replica-count=2,accelerator-count=4", f"{GPU},replica-count=1"],
            None,
            {},
            "the job asks for 9 GPUs; the most one job may use is 8 (PRGCLOUD_MAX_GPUS)",
            id="nine-gpus-over-two-pools",
        ),
        pytest.param(
            "20-max-gpus",
            [f"{GPU},replica-count=2"],
            None,
            {"PRGCLOUD_MAX_GPUS": "1"},
            "the job asks for 2 GPUs; the most one job may use is 1 (PRGCLOUD_MAX_GPUS)",
            id="cap-from-the-environment",
        ),
        pytest.param("30-machine-types", [CPU, GPU], None, {}, None, id="approved-machines"),
        pytest.param(
            "30-machine-types",
            [CPU, f"machine-type=a3-highgpu-8g,container-image-uri={IMAGE}"],
            None,
            {},
            "worker pool 1 asks for a3-highgpu-8g; allowed machine types: n1-standard-*, "
            "n1-highmem-*, a2-highgpu-*, g2-standard-*",
            id="unapproved-machine",
        ),
        pytest.param("40-image-registries", [CPU], None, {}, None, id="team-registry"),
        pytest.param(
            "40-image-registries",
            ["machine-type=n1-standard-4,container-image-uri=docker.io/someone/miner:1"],
            None,
            {},
            "images from registries not allowed (us-docker.pkg.dev/, europe-docker.pkg.dev/): "
            "worker pool 0: docker.io/someone/miner:1",
            id="foreign-registry",
        ),
        pytest.param(
            "40-image-registries",
            [
                "machine-type=n1-standard-4,executor-image-uri=gcr.io/x/y:1,"
                "python-module=trainer.task"
            ],
            None,
            {"PRGCLOUD_ALLOWED_REGISTRIES": "europe-docker.pkg.dev/"},
            "images from registries not allowed (europe-docker.pkg.dev/): worker pool 0: "
            "gcr.io/x/y:1",
            id="executor-image-and-registries-from-the-environment",
        ),
    ],
)
def test_an_example_hook(
    name: str,
    pools: list[str],
    labels: dict[str, str] | None,
    environ: dict[str, str],
    refusal: str | None,
) -> None:
    doc = document(pools, labels)
    if refusal is None:
        assert consult(name, doc, environ).warnings == ()
        return
    with pytest.raises(PolicyRefusedError) as error:
        consult(name, doc, environ)
    assert error.value.message.splitlines()[-1] == f"    {refusal}"


def test_a_config_s_snake_case_keys_do_not_slip_past_a_hook(tmp_path: Path) -> None:
    # gcloud sends a --config's snake_case keys as written; the service reads them as
    # replicaCount and acceleratorCount. The hooks judge `job`, the body as the service reads it.
    config = tmp_path / "job.yaml"
    config.write_text(
        "workerPoolSpecs:\n"
        "- machineSpec: {machineType: a2-highgpu-1g, acceleratorType: NVIDIA_TESLA_A100,\n"
        "                accelerator_count: 8}\n"
        "  replica_count: 2\n"
        f"  containerSpec: {{imageUri: '{IMAGE}'}}\n"
    )
    request = prgcloud.build_request(
        display_name="train",
        project="p",
        region="us-central1",
        config=str(config),
        labels=LABELS,
        environ={},
        cwd="/",
    )
    assert "replica_count" in request.body["jobSpec"]["workerPoolSpecs"][0]
    doc = policy_run.document(
        request, command="ai custom-jobs create", persistent_resource=None, account=None
    )
    with pytest.raises(PolicyRefusedError, match="the job asks for 16 GPUs"):
        consult("20-max-gpus", doc, {})


@pytest.mark.parametrize(
    "image",
    [
        pytest.param("us-docker.pkg.dev/p/r/trainer", id="no-tag"),
        pytest.param("us-docker.pkg.dev/p/r/trainer:latest", id="latest"),
    ],
)
def test_an_image_with_no_fixed_version_is_allowed_with_a_warning(image: str) -> None:
    doc = document([f"machine-type=n1-standard-4,container-image-uri={image}"])
    outcome = consult("40-image-registries", doc, {})
    assert outcome.warnings == (
        (
            "40-image-registries",
            f"worker pool 0: {image} names no fixed version (a tag or @sha256:...)",
        ),
    )


def test_an_image_pinned_by_digest_is_allowed_quietly() -> None:
    image = "us-docker.pkg.dev/p/r/trainer@sha256:" + "0" * 64
    doc = document([f"machine-type=n1-standard-4,container-image-uri={image}"])
    assert consult("40-image-registries", doc, {}).warnings == ()


# --- the conftest (OPA) wrapper ------------------------------------------------------------------

CONFTEST = EXAMPLES / "policy.d" / "90-conftest"


def test_the_conftest_wrapper_is_one_command_that_reads_the_same_json() -> None:
    lines = [
        line for line in CONFTEST.read_text().splitlines() if line and not line.startswith("#")
    ]
    assert len(lines) == 1
    words = shlex.split(lines[0])
    assert words[:3] == ["exec", "conftest", "test"]
    assert "-" in words  # the document on stdin
    assert words[words.index("--parser") + 1] == "json"
    # its report goes to stderr, which prgcloud shows when the hook refuses
    assert words[-1] == ">&2"


def test_without_conftest_the_wrapper_refuses(tmp_path: Path) -> None:
    with pytest.raises(PolicyRefusedError, match=r"90-conftest .*: exit 127"):
        policy_run.consult(
            [policy.Hook("90-conftest", str(CONFTEST))],
            document([CPU]),
            {"PATH": str(tmp_path), "HOME": str(tmp_path)},
        )


@pytest.mark.skipif(
    shutil.which("conftest") is None,
    reason="conftest (https://www.conftest.dev) is not installed; only the wrapper's shape and "
    "its refusal without conftest are tested",
)
@pytest.mark.parametrize(
    ("labels", "allowed"),
    [pytest.param(LABELS, True, id="team-label"), pytest.param({}, False, id="no-team-label")],
)
def test_conftest_judges_the_document_with_the_example_rego(
    labels: dict[str, str], allowed: bool
) -> None:
    environ = {"PRGCLOUD_CONFTEST_POLICY": str(EXAMPLES / "conftest")}
    if allowed:
        consult("90-conftest", document([CPU], labels), environ)
        return
    with pytest.raises(PolicyRefusedError, match="the job has no label team"):
        consult("90-conftest", document([CPU], labels), environ)
