"""The process seam: what prgcloud hands the real gcloud, and what it hands back.

A fake `gcloud` first on PATH stands in for the real one (see fake_gcloud.py); prgcloud runs
as a real process, as a runbook runs it. Signals (Ctrl-C, SIGTERM, SIGHUP) at every phase are
in test_signals.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import yaml
from fake_gcloud import FakeGcloud
from terminal import default_signals

JOB = [
    "--project=p1",
    "--region=us-central1",
    "--display-name=train",
    "--worker-pool-spec=machine-type=n1-standard-4,container-image-uri=gcr.io/p/i",
]
DISK_JOB = [*JOB[:-1], JOB[-1] + ",disk-type=pd-standard,disk-size=200"]


@pytest.fixture
def fake(tmp_path: Path) -> FakeGcloud:
    return FakeGcloud.install(tmp_path)


@pytest.fixture
def tmpdir_for_prgcloud(tmp_path: Path) -> Path:
    """The TMPDIR prgcloud runs with, so a test can see that nothing is left in it."""
    directory = tmp_path / "tmp"
    directory.mkdir()
    return directory


@pytest.fixture
def base_env(tmp_path: Path, tmpdir_for_prgcloud: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLOUDSDK_", "PRGCLOUD_"))}
    env["CLOUDSDK_CONFIG"] = str(tmp_path / "gcloud-config")
    env["CLOUDSDK_CORE_DISABLE_PROMPTS"] = "1"
    env["TMPDIR"] = str(tmpdir_for_prgcloud)
    return env


def prgcloud(
    argv: list[str], env: dict[str, str], **kwargs: object
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "prgcloud", *argv],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        **kwargs,  # type: ignore[call-overload]
    )


def start_prgcloud(argv: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "prgcloud", *argv],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a terminal's foreground job
        preexec_fn=default_signals,
    )


@pytest.mark.parametrize("code", [0, 1, 7, 42])
def test_gclouds_exit_code_comes_back_unchanged(
    fake: FakeGcloud, base_env: dict[str, str], code: int
) -> None:
    result = prgcloud(["ai", "custom-jobs", "create", *JOB], fake.environ(base_env, exit=str(code)))
    assert result.returncode == code


def test_gclouds_output_goes_to_the_same_streams(
    fake: FakeGcloud, base_env: dict[str, str]
) -> None:
    env = fake.environ(base_env, stdout="to stdout", stderr="to stderr")
    result = prgcloud(["ai", "custom-jobs", "create", *JOB], env)
    assert result.stdout == "to stdout\n"
    assert result.stderr == "to stderr\n"


def test_gclouds_output_arrives_while_it_still_runs(
    fake: FakeGcloud, base_env: dict[str, str], tmp_path: Path
) -> None:
    release = tmp_path / "release"
    env = fake.environ(base_env, stdout="first line", wait_for=str(release))
    process = start_prgcloud(["ai", "custom-jobs", "create", *JOB], env)
    first: list[str] = []
    reader = threading.Thread(target=lambda: first.append(process.stdout.readline()))  # type: ignore[union-attr]
    reader.start()
    reader.join(timeout=20)
    try:
        assert first == ["first line\n"], "gcloud's first line was held back until it exited"
    finally:
        release.touch()
        rest, _ = process.communicate(timeout=20)
    assert rest == "after wait\n"
    assert process.returncode == 0


def test_gcloud_gets_the_users_arguments_without_prgclouds_own(
    fake: FakeGcloud, base_env: dict[str, str]
) -> None:
    argv = [
        "--verbosity=error",
        *JOB,
        "--skip-precheck",
        "--strict",
        "--format",
        "json",
        "--args=a b,$HOME",
    ]
    result = prgcloud(["beta", "ai", "custom-jobs", "create", *argv], fake.environ(base_env))
    assert result.returncode == 0, result.stderr
    expected = [a for a in argv if a not in ("--skip-precheck", "--strict")]
    assert fake.calls == [["beta", "ai", "custom-jobs", "create", *expected]]


def test_a_disk_spec_reaches_gcloud_as_a_private_config_file_that_is_then_removed(
    fake: FakeGcloud, base_env: dict[str, str], tmpdir_for_prgcloud: Path
) -> None:
    result = prgcloud(["ai", "custom-jobs", "create", *DISK_JOB], fake.environ(base_env))
    assert result.returncode == 0, result.stderr
    (call,) = fake.calls
    assert not any(a.startswith("--worker-pool-spec") for a in call)
    assert [a for a in call if a.startswith("--config=")]
    assert fake.config_mode == "600"
    spec = yaml.safe_load(fake.config_copy or "")
    assert spec["workerPoolSpecs"][0]["diskSpec"] == {
        "bootDiskType": "pd-standard",
        "bootDiskSizeGb": 200,
    }
    assert list(tmpdir_for_prgcloud.iterdir()) == []


def test_the_config_file_is_removed_when_gcloud_fails(
    fake: FakeGcloud, base_env: dict[str, str], tmpdir_for_prgcloud: Path
) -> None:
    result = prgcloud(["ai", "custom-jobs", "create", *DISK_JOB], fake.environ(base_env, exit="1"))
    assert result.returncode == 1
    assert fake.config_copy is not None
    assert list(tmpdir_for_prgcloud.iterdir()) == []


def test_without_gcloud_on_path_prgcloud_says_so_and_exits_127(
    base_env: dict[str, str], tmp_path: Path
) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    result = prgcloud(["ai", "custom-jobs", "create", *JOB], {**base_env, "PATH": str(empty)})
    assert result.returncode == 127
    assert "gcloud was not found on PATH" in result.stderr
    assert "Traceback" not in result.stderr


def test_prgcloud_gcloud_names_the_gcloud_to_run(
    fake: FakeGcloud, base_env: dict[str, str], tmp_path: Path
) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    env = {**fake.environ(base_env), "PATH": str(empty), "PRGCLOUD_GCLOUD": fake.path}
    result = prgcloud(["ai", "custom-jobs", "create", *JOB], env)
    assert result.returncode == 0, result.stderr
    assert len(fake.calls) == 1


def test_a_gcloud_that_cannot_be_executed_is_named_and_exits_127_leaving_nothing(
    base_env: dict[str, str], tmp_path: Path, tmpdir_for_prgcloud: Path
) -> None:
    not_a_program = tmp_path / "gcloud"
    not_a_program.write_bytes(b"\x7fELF, but not really")
    not_a_program.chmod(0o755)
    env = {**base_env, "PRGCLOUD_GCLOUD": str(not_a_program)}
    result = prgcloud(["ai", "custom-jobs", "create", *DISK_JOB], env)
    assert result.returncode == 127
    assert result.stderr == (
        f"ERROR: (prgcloud) {not_a_program} could not be started (Exec format error). "
        "Point PRGCLOUD_GCLOUD (or PATH) at the real gcloud.\n"
    )
    assert list(tmpdir_for_prgcloud.iterdir()) == []


def test_help_is_gclouds_own(fake: FakeGcloud, base_env: dict[str, str]) -> None:
    result = prgcloud(["ai", "custom-jobs", "create", "--help"], fake.environ(base_env))
    assert result.returncode == 0
    assert fake.calls == [["ai", "custom-jobs", "create", "--help"]]


HOSTILE = "$(touch /tmp/prgcloud-pwned); `id`; rm -rf / && echo \"'"


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param([], id="nothing-at-all"),
        pytest.param(JOB[:2] + JOB[3:], id="no-display-name"),
        pytest.param(JOB[:3], id="no-worker-pool"),
        pytest.param([*JOB, "--worker-pool-spec=machine-type"], id="key-without-value"),
        pytest.param([*JOB[:3], "--worker-pool-spec=,machine-type=n1"], id="empty-item-first"),
        pytest.param([*JOB[:3], "--worker-pool-spec=machine-type=n1,,"], id="two-trailing-commas"),
        pytest.param([*JOB[:3], "--worker-pool-spec=machine-type=n1,bogus=1"], id="unknown-key"),
        pytest.param([*JOB, "--worker-pool-spec=replica-count=two"], id="bad-int"),
        pytest.param([*JOB[:3], "--worker-pool-spec=machine-type=n1"], id="no-software"),
        pytest.param([*JOB[:3], "--worker-pool-spec="], id="first-pool-empty"),
        pytest.param([*JOB, "--worker-pool-spec=^^machine-type=n1"], id="empty-alt-delimiter"),
        pytest.param(
            [*JOB[:3], f"--worker-pool-spec=machine-type={HOSTILE}"], id="hostile-no-image"
        ),
        pytest.param([*JOB, f"--labels=k={HOSTILE}"], id="hostile-label"),
        pytest.param([*JOB, "--region=us-central1\n--project=x"], id="newline-in-region"),
        pytest.param([*JOB, "--kms-key=k"], id="partial-kms-key"),
        pytest.param([*JOB, "--service-account=not an account"], id="bad-service-account"),
        pytest.param([*JOB, "--config=/nonexistent/job.yaml"], id="missing-config"),
        pytest.param([*JOB, "--config=/"], id="config-is-a-directory"),
        pytest.param([*JOB, "--dry-run=yaml"], id="unknown-dry-run-style"),
        pytest.param([*JOB, "--wait-for-capacity=soon"], id="bad-duration"),
        pytest.param([*JOB, "stray-positional"], id="positional"),
        pytest.param([*JOB, "--enable-web-access=yes"], id="bool-with-value"),
        pytest.param([*JOB, "--display-name"], id="flag-missing-value"),
    ],
)
def test_bad_input_exits_2_with_a_message_sends_nothing_and_leaves_nothing(
    fake: FakeGcloud, base_env: dict[str, str], tmpdir_for_prgcloud: Path, argv: list[str]
) -> None:
    result = prgcloud(["ai", "custom-jobs", "create", *argv], fake.environ(base_env))
    assert result.returncode == 2
    assert result.stderr.startswith("ERROR: (prgcloud) ")
    assert "Traceback" not in result.stderr
    assert fake.calls == []
    assert list(tmpdir_for_prgcloud.iterdir()) == []
    assert not Path("/tmp/prgcloud-pwned").exists()


def test_every_problem_is_reported_at_once(fake: FakeGcloud, base_env: dict[str, str]) -> None:
    argv = [
        "--region=mars",
        "--worker-pool-spec=machine-type=n1,container-image-uri=x,accelerator-count=2",
        "--worker-pool-spec=container-image-uri=x",
        "--labels=Bad=1",
    ]
    result = prgcloud(["ai", "custom-jobs", "create", *argv], fake.environ(base_env))
    assert result.returncode == 2
    for expected in (
        "argument --region: Available values are",
        "argument --project: The required property [project] is not currently set",
        "argument --display-name: must be specified",
        "argument --worker-pool-spec #1: Key [accelerator-type] required",
        "argument --worker-pool-spec #2: Key [machine-type] required",
        "argument --labels: Invalid key format: Bad",
    ):
        assert expected in result.stderr
