"""`prgcloud ai persistent-resources create` end to end: the real gcloud creates the resource
in the emulator, `--wait` ends with the resource's fate (0 RUNNING, 6 ERROR, 5 out of time),
gcloud's own failures pass through, and each `--dry-run` snippet creates the same resource."""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

from prgcloud import cli, exit_codes, render
from prgcloud.emulator import Emulator
from prgcloud.emulator.errors import ApiError
from prgcloud.environment import Environment
from prgcloud.resource_parse import parse_resource_create

pytestmark = [
    pytest.mark.gcloud,
    pytest.mark.skipif(shutil.which("gcloud") is None, reason="gcloud is not installed"),
]

PROJECT, REGION, RID = "p1", "us-central1", "demo-cluster"
NAME = Emulator.resource_name(PROJECT, REGION, RID)
CREATE = ["ai", "persistent-resources", "create", f"--persistent-resource-id={RID}"]
POOL = "--resource-pool-spec=machine-type=n1-standard-4,replica-count=1,disk-size=200"


@pytest.fixture
def environ(gcloud_env: dict[str, str], clean_emulator: Emulator) -> dict[str, str]:
    return {**gcloud_env, "CLOUDSDK_CORE_PROJECT": PROJECT, "CLOUDSDK_AI_REGION": REGION}


def prgcloud(argv: list[str], environ: Mapping[str, str], cwd: Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    env = Environment(environ=environ, stdin=io.StringIO(""), stdout=out, stderr=err, cwd=str(cwd))
    status = cli.main(argv, env)
    return status, out.getvalue(), err.getvalue()


def test_create_with_wait_returns_once_the_resource_is_running(
    environ: dict[str, str], clean_emulator: Emulator, tmp_path: Path
) -> None:
    status, _, stderr = prgcloud(
        [*CREATE, POOL, "--wait=5m", "--polling-interval=1s"], environ, tmp_path
    )

    assert status == exit_codes.OK, stderr
    resource = clean_emulator.persistent_resource(NAME)
    assert resource["state"] == "RUNNING"
    assert resource["resourcePools"][0]["diskSpec"] == {
        "bootDiskType": "pd-ssd",
        "bootDiskSizeGb": 200,
    }
    assert "NOTE: (prgcloud) --resource-pool-spec: disk-size=200 without disk-type" in stderr
    assert "Operation to create PersistentResource" in stderr  # gcloud's own words
    assert stderr.rstrip().endswith(f"persistent resource {RID} is RUNNING.")


def test_create_with_wait_exits_6_with_the_resources_error(
    environ: dict[str, str], clean_emulator: Emulator, tmp_path: Path
) -> None:
    labels = "--labels=emulator-outcome=error,emulator-error-message=stockout-a100"

    status, _, stderr = prgcloud([*CREATE, POOL, labels, "--wait"], environ, tmp_path)

    assert status == 6, stderr
    assert clean_emulator.persistent_resource(NAME)["state"] == "ERROR"
    message = clean_emulator.persistent_resource(NAME)["error"]["message"]
    assert f"ERROR: (prgcloud) persistent resource {RID} went to ERROR: {message}" in stderr


def test_create_with_a_wait_that_runs_out_exits_5_and_leaves_the_resource(
    environ: dict[str, str], clean_emulator: Emulator, tmp_path: Path
) -> None:
    clean_emulator.configure(provision_seconds=3600)

    status, _, stderr = prgcloud(
        [*CREATE, POOL, "--wait=1s", "--polling-interval=0.2s"], environ, tmp_path
    )

    assert status == exit_codes.WAIT_TIMED_OUT, stderr
    assert "gave up waiting for persistent resource demo-cluster to be RUNNING" in stderr
    assert clean_emulator.persistent_resource(NAME)["state"] == "PROVISIONING"


def test_gclouds_failure_passes_through_and_nothing_is_waited_for(
    environ: dict[str, str], clean_emulator: Emulator, tmp_path: Path
) -> None:
    pool = {"machineSpec": {"machineType": "n1-standard-4"}, "replicaCount": "1"}
    clean_emulator.add_persistent_resource(PROJECT, REGION, RID, {"resourcePools": [pool]})

    status, _, stderr = prgcloud([*CREATE, POOL, "--wait"], environ, tmp_path)

    assert status == 1, stderr  # gcloud's own exit code
    assert "already exists" in stderr
    assert "waiting for" not in stderr


def test_the_configs_fields_reach_the_resource(
    environ: dict[str, str], clean_emulator: Emulator, tmp_path: Path
) -> None:
    (tmp_path / "pr.yaml").write_text(
        "displayName: Demo cluster\nnetwork: projects/1/global/networks/vpc\n"
        "labels: {team: ml}\nresourcePools:\n- machineSpec: {machineType: n1-standard-4}\n"
        "  replicaCount: 2\n",
        encoding="utf-8",
    )

    # gcloud runs in this process's directory: an in-process caller gives it an absolute path.
    config = f"--config={tmp_path / 'pr.yaml'}"
    status, _, stderr = prgcloud([*CREATE, config], environ, tmp_path)

    assert status == exit_codes.OK, stderr
    resource = clean_emulator.persistent_resource(NAME)
    assert resource["displayName"] == "Demo cluster"
    assert resource["network"] == "projects/1/global/networks/vpc"
    assert resource["labels"] == {"team": "ml"}


def test_bad_input_exits_2_and_sends_nothing(
    environ: dict[str, str], clean_emulator: Emulator, tmp_path: Path
) -> None:
    status, _, stderr = prgcloud(
        [*CREATE, f"{POOL},local-ssd-count=1", "--resource-pool-spec=", "--wait"],
        environ,
        tmp_path,
    )

    assert status == exit_codes.BAD_INPUT
    assert stderr.count("argument --resource-pool-spec #") == 2
    assert clean_emulator.custom_jobs(PROJECT, REGION) == []
    with pytest.raises(ApiError, match="not found"):
        clean_emulator.persistent_resource(NAME)


def test_help_is_gclouds(environ: dict[str, str], tmp_path: Path) -> None:
    status, stdout, _ = prgcloud([*CREATE, "--help"], environ, tmp_path)

    assert status == 0
    assert "--resource-pool-spec" in stdout


# --- the dry-run snippets create the same resource -------------------------------------------


@pytest.mark.parametrize("style", ["shell", "rest"])
def test_a_shell_snippet_creates_the_resource(
    style: str, environ: dict[str, str], clean_emulator: Emulator, tmp_path: Path
) -> None:
    request = parse_resource_create(
        [*CREATE[3:], POOL, "--display-name=it's $(touch INJECTED)"],
        environ,
        track="beta",
        cwd=str(tmp_path),
    )
    (tmp_path / "snippet").write_text(render.resource_dry_run_text(request, style=style))

    done = subprocess.run(
        ["bash", "snippet"], env=environ, cwd=tmp_path, capture_output=True, text=True, timeout=180
    )

    assert done.returncode == 0, done.stderr
    resource = clean_emulator.persistent_resource(NAME)
    assert resource["displayName"] == "it's $(touch INJECTED)"
    assert resource["resourcePools"][0]["diskSpec"]["bootDiskType"] == "pd-ssd"
    assert not (tmp_path / "INJECTED").exists()


@pytest.mark.slow
@pytest.mark.parametrize("track", [None, "beta"])
def test_the_python_snippet_creates_the_resource_with_the_sdk(
    track: str | None, environ: dict[str, str], clean_emulator: Emulator, tmp_path: Path
) -> None:
    config = tmp_path / "pr.yaml"
    config.write_text(
        "labels: {team: ml}\nresourcePools:\n- machineSpec: {machineType: a2-highgpu-1g, "
        "acceleratorType: NVIDIA_TESLA_A100, acceleratorCount: 1}\n  replicaCount: 2\n"
        "  diskSpec: {bootDiskType: pd-standard, bootDiskSizeGb: 300}\n",
        encoding="utf-8",
    )
    argv = [*CREATE[3:], "--config=pr.yaml", POOL, "--display-name=sdk's"]
    request = parse_resource_create(argv, environ, track=track, cwd=str(tmp_path))
    (tmp_path / "snippet.py").write_text(render.resource_dry_run_text(request, style="python"))
    assert request.identity.access_token_file  # the snippet reads gcloud's token file

    done = subprocess.run(
        [sys.executable, "snippet.py"],
        env=environ,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.endswith(f"PersistentResource [{NAME}] is RUNNING.\n")
    resource = clean_emulator.persistent_resource(NAME)
    assert resource["displayName"] == "sdk's"
    assert resource["labels"] == {"team": "ml"}
    sent = [
        {k: v for k, v in pool.items() if k in ("machineSpec", "replicaCount", "diskSpec")}
        for pool in resource["resourcePools"]
    ]
    assert sent == request.body["resourcePools"]
