"""`hp-tuning-jobs stream-logs` against the emulator's Cloud Logging: the real gcloud's reads
the trials' lines (filed under the tuning job's id), and prgcloud's ends once the tuning job
has ended and its last lines are out, exiting by its final state."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from test_job_wait_cli import submit_tuning
from test_stream_logs import environ, messages

from prgcloud.emulator import Emulator

__all__ = ["environ"]  # the fixture, shared with test_stream_logs

PRGCLOUD = [sys.executable, "-m", "prgcloud"]


def trial_lines(said: list[str], trial: int) -> list[str]:
    prefix = f"trial {trial}: "
    return [line.removeprefix(prefix) for line in said if line.startswith(prefix)]


def test_gcloud_s_own_stream_logs_reads_the_trials_lines(
    environ: dict[str, str], clean_emulator: Emulator
) -> None:
    name = submit_tuning(clean_emulator, **{"emulator-duration-seconds": "2"})
    while clean_emulator.tuning_job(name)["state"] != "JOB_STATE_SUCCEEDED":
        time.sleep(0.1)  # ended before gcloud starts: gcloud then ends by itself
    result = subprocess.run(
        ["gcloud", "ai", "hp-tuning-jobs", "stream-logs", name, "--polling-interval=1"],
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    said = messages(result.stdout)
    for trial in (1, 2):
        assert trial_lines(said, trial) == [
            "Starting replica workerpool0-0.",
            "step 1: training.",
            "Training finished: the job succeeded.",
        ]
    assert len(said) == 6


def start_streaming(environ: dict[str, str], name: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*PRGCLOUD, "ai", "hp-tuning-jobs", "stream-logs", name, "--polling-interval=1"],
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


@pytest.mark.parametrize(
    ("labels", "code", "last", "said"),
    [
        pytest.param(
            {},
            0,
            "Training finished: the job succeeded.",
            "Hyperparameter tuning job [{name}] ended SUCCEEDED.",
            id="succeeded-0",
        ),
        pytest.param(
            {"emulator-outcome": "failed", "emulator-error-message": "oom-killed"},
            6,
            "oom-killed",
            "hyperparameter tuning job {name} ended FAILED: All 2 trials failed.",
            id="failed-6",
        ),
    ],
)
def test_a_tuning_job_that_ends_while_streaming_ends_the_stream_with_its_last_lines(
    environ: dict[str, str],
    clean_emulator: Emulator,
    labels: dict[str, str],
    code: int,
    last: str,
    said: str,
) -> None:
    name = submit_tuning(clean_emulator, **{"emulator-duration-seconds": "3", **labels})
    process = start_streaming(environ, name.rsplit("/", 1)[-1])
    stdout, stderr = process.communicate(timeout=180)
    assert process.returncode == code, stderr
    lines = messages(stdout)
    for trial in (1, 2):
        mine = trial_lines(lines, trial)
        assert mine[0] == "Starting replica workerpool0-0."
        assert mine[-1] == last
        assert len(mine) == 4  # start, two steps, the end: every line, each once
    assert said.format(name=name) in stderr


def test_a_tuning_job_cancelled_while_streaming_exits_7(
    environ: dict[str, str], clean_emulator: Emulator
) -> None:
    name = submit_tuning(clean_emulator)
    process = start_streaming(environ, name)
    assert process.stdout is not None
    first = process.stdout.readline()
    assert "Starting replica workerpool0-0." in first
    clean_emulator.service.cancel_tuning_job(name)
    rest, stderr = process.communicate(timeout=180)
    assert process.returncode == 7, stderr
    assert messages(rest)[-1].endswith("Training stopped: the job was cancelled.")
    assert f"hyperparameter tuning job {name} was cancelled." in stderr


def test_ctrl_c_stops_the_stream_never_the_tuning_job(
    environ: dict[str, str], clean_emulator: Emulator
) -> None:
    name = submit_tuning(clean_emulator)
    process = start_streaming(environ, name)
    assert process.stdout is not None
    assert "Starting replica workerpool0-0." in process.stdout.readline()
    os.killpg(process.pid, signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert f"hyperparameter tuning job {name} keeps running" in stderr
    assert clean_emulator.tuning_job(name)["state"] == "JOB_STATE_RUNNING"


def test_a_tuning_job_that_cannot_be_read_exits_4(environ: dict[str, str]) -> None:
    result = subprocess.run(
        [*PRGCLOUD, "ai", "hp-tuning-jobs", "stream-logs", "123", "--polling-interval=1"],
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 4, result.stderr
    assert "hyperparameterTuningJobs/123 was not found" in result.stderr
