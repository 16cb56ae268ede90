"""How the `prgcloud` process ends: at once once the outcome is known, with nothing lost.

Once gcloud has exited there is nothing left to clean up, so the console script flushes its
output and exits without tearing the interpreter down (`python -v` would show the teardown as
`# cleanup` lines). Whatever prgcloud printed still reaches a file or a pipe in full.
"""

from __future__ import annotations

import io
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from fake_gcloud import FakeGcloud

from prgcloud import cli
from prgcloud.emulator import Emulator
from prgcloud.environment import Environment

PROJECT, REGION = "p1", "us-central1"
JOB = [
    "ai",
    "custom-jobs",
    "create",
    f"--project={PROJECT}",
    f"--region={REGION}",
    "--display-name=train",
    "--worker-pool-spec=machine-type=n1-standard-4,container-image-uri=gcr.io/p1/t",
]


@pytest.fixture
def env(gcloud_env: dict[str, str], clean_emulator: Emulator, tmp_path: Path) -> dict[str, str]:
    """A fake gcloud (exit 7) after a real pre-check against the emulator."""
    clean_emulator.add_persistent_resource(
        PROJECT,
        REGION,
        "pr1",
        {
            "resourcePools": [
                {"id": "cpu", "machineSpec": {"machineType": "n1-standard-4"}, "replicaCount": "2"}
            ]
        },
    )
    fake = FakeGcloud.install(tmp_path)
    return fake.environ(gcloud_env, stdout="gcloud says hello", exit="7")


def test_once_gcloud_has_exited_prgcloud_exits_with_its_code_without_a_teardown(
    env: dict[str, str],
) -> None:
    result = subprocess.run(
        [sys.executable, "-v", "-m", "prgcloud", *JOB, "--persistent-resource-id=pr1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 7, result.stderr[-2000:]
    assert result.stdout == "gcloud says hello\n"
    assert "google.cloud.aiplatform_v1" in result.stderr  # the pre-check's imports were made
    assert "# cleanup" not in result.stderr


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param([*JOB, "--dry-run=shell"], id="dry-run-shell"),
        pytest.param([*JOB, "--dry-run=python"], id="dry-run-python"),
        pytest.param([*JOB, "--dry-run=rest", "--labels=a=1,b=2"], id="dry-run-rest"),
        pytest.param(["--help"], id="usage"),
    ],
)
def test_what_prgcloud_prints_to_a_file_arrives_in_full(
    argv: list[str], tmp_path: Path, gcloud_env: dict[str, str]
) -> None:
    expected = io.StringIO()
    status = cli.main(argv, Environment(environ=gcloud_env, stdout=expected, stderr=io.StringIO()))
    out = tmp_path / "out.txt"
    # Block-buffered, as for most users (this machine's environment sets PYTHONUNBUFFERED).
    buffered = {k: v for k, v in gcloud_env.items() if k != "PYTHONUNBUFFERED"}
    with out.open("w") as f:
        result = subprocess.run(
            [sys.executable, "-m", "prgcloud", *argv],
            env=buffered,
            stdout=f,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
            check=False,
        )
    assert result.returncode == status == 0, result.stderr
    assert out.read_text() == expected.getvalue()
    assert len(expected.getvalue()) > 100


# A signal whose handler runs inside a weakref callback (the import system's module locks use
# them): Python drops the handler's exception there, and prgcloud must unwind all the same.
_SIGNAL_IN_A_CALLBACK = """
import os, signal, sys, time, weakref
from prgcloud import cli

cli.install_signal_handlers()

class Thing:
    pass

def callback(ref):
    os.kill(os.getpid(), signal.SIGHUP)
    for _ in range(1000):  # the handler runs here, inside the callback
        pass

thing = Thing()
ref = weakref.ref(thing, callback)
try:
    del thing
    time.sleep(10)  # what prgcloud does next (a wait, a read); the signal must end it
    print("carried on")
except SystemExit as stop:
    print("unwound", stop.code)
"""


def _default_signals() -> None:
    # A runner started with `nohup` (or from a shell that ignores SIGINT) passes those on;
    # prgcloud keeps an ignored signal ignored, so the child starts as a terminal's would.
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_DFL)


def test_a_signal_whose_exception_python_drops_still_unwinds() -> None:
    result = subprocess.run(
        [sys.executable, "-c", _SIGNAL_IN_A_CALLBACK],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        preexec_fn=_default_signals,
    )
    assert result.stdout == "unwound 129\n", result.stderr
    assert "Exception ignored" not in result.stderr
