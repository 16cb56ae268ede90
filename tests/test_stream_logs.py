"""`stream-logs` against the emulator's Cloud Logging: the real gcloud's, and prgcloud's, which
ends once the job has ended and its last lines are out, exiting by the job's final state."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fake_gcloud import FakeGcloud
from test_job_wait_cli import CREATE, PROJECT, REGION, submit

from prgcloud import cli
from prgcloud.emulator import Emulator
from prgcloud.environment import Environment

PRGCLOUD = [sys.executable, "-m", "prgcloud"]


@pytest.fixture
def environ(gcloud_env: dict[str, str], clean_emulator: Emulator) -> dict[str, str]:
    return {
        **gcloud_env,
        "CLOUDSDK_API_ENDPOINT_OVERRIDES_LOGGING": clean_emulator.url,
        "CLOUDSDK_CORE_PROJECT": PROJECT,
        "CLOUDSDK_AI_REGION": REGION,
    }


def messages(stdout: str) -> list[str]:
    """The messages of gcloud's log lines (severity, time, task, message; tab-separated)."""
    return [line.split("\t")[-1] for line in stdout.splitlines()]


def test_gcloud_s_own_stream_logs_reads_the_emulator_s_lines(
    environ: dict[str, str], clean_emulator: Emulator
) -> None:
    name = submit(clean_emulator, **{"emulator-duration-seconds": "2"})
    while clean_emulator.custom_job(name)["state"] != "JOB_STATE_SUCCEEDED":
        time.sleep(0.1)  # ended before gcloud starts: gcloud then ends by itself
    result = subprocess.run(
        ["gcloud", "ai", "custom-jobs", "stream-logs", name, "--polling-interval=1"],
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert messages(result.stdout) == [
        "Starting replica workerpool0-0.",
        "step 1: training.",
        "Training finished: the job succeeded.",
    ]
    assert result.stdout.startswith("INFO\t")


def start_streaming(environ: dict[str, str], name: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*PRGCLOUD, "ai", "custom-jobs", "stream-logs", name, "--polling-interval=1"],
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def test_a_job_that_fails_while_streaming_ends_the_stream_with_its_last_line_and_exit_6(
    environ: dict[str, str], clean_emulator: Emulator
) -> None:
    labels = {
        "emulator-duration-seconds": "4",
        "emulator-outcome": "failed",
        "emulator-error-message": "oom-killed",
    }
    name = submit(clean_emulator, **labels)
    process = start_streaming(environ, name.rsplit("/", 1)[-1])
    stdout, stderr = process.communicate(timeout=180)
    assert process.returncode == 6, stderr
    said = messages(stdout)
    assert said[0] == "Starting replica workerpool0-0."
    assert said[-1] == "oom-killed"
    assert len(said) == 5  # start, three steps, the error: every line, each once
    assert f"custom job {name} ended FAILED: oom-killed" in stderr


def test_a_job_cancelled_while_streaming_exits_7(
    environ: dict[str, str], clean_emulator: Emulator
) -> None:
    name = submit(clean_emulator)
    process = start_streaming(environ, name)
    assert process.stdout is not None
    first = process.stdout.readline()
    assert first.endswith("Starting replica workerpool0-0.\n")
    clean_emulator.service.cancel_job(name)
    rest, stderr = process.communicate(timeout=180)
    assert process.returncode == 7, stderr
    assert messages(rest)[-1] == "Training stopped: the job was cancelled."


def test_create_with_stream_logs_streams_until_the_job_ends(
    environ: dict[str, str], clean_emulator: Emulator
) -> None:
    result = subprocess.run(
        [*PRGCLOUD, *CREATE, "--labels=emulator-duration-seconds=2", "--stream-logs", "--wait=3m"],
        env=environ,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "is submitted successfully" in result.stderr  # gcloud's create, passed through
    assert messages(result.stdout)[-1] == "Training finished: the job succeeded."
    (job,) = clean_emulator.custom_jobs(PROJECT, REGION)
    assert job["state"] == "JOB_STATE_SUCCEEDED"


def test_ctrl_c_stops_the_stream_never_the_job(
    environ: dict[str, str], clean_emulator: Emulator
) -> None:
    name = submit(clean_emulator)
    process = start_streaming(environ, name)
    assert process.stdout is not None
    assert process.stdout.readline().endswith("Starting replica workerpool0-0.\n")
    os.killpg(process.pid, signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert f"custom job {name} keeps running" in stderr
    assert clean_emulator.custom_job(name)["state"] == "JOB_STATE_RUNNING"


# --- what gcloud is asked to do (a fake gcloud records it) ------------------------------------


@pytest.mark.parametrize(
    ("command", "given", "polling"),
    [
        pytest.param(["stream-logs", "JOB"], [], "--polling-interval=10", id="stream-logs"),
        pytest.param(
            ["stream-logs", "JOB"], ["--polling-interval=3"], "--polling-interval=3", id="given"
        ),
        pytest.param([*CREATE[2:], "--stream-logs"], [], "--polling-interval=10", id="create"),
    ],
)
def test_gcloud_polls_the_logs_at_the_interval_the_end_of_the_stream_is_timed_by(
    environ: dict[str, str],
    clean_emulator: Emulator,
    tmp_path: Path,
    command: list[str],
    given: list[str],
    polling: str,
) -> None:
    name = submit(clean_emulator)
    clean_emulator.service.cancel_job(name)
    fake = FakeGcloud.install(tmp_path)
    said = f"CustomJob [{name}] is submitted successfully."  # what the fake create says
    env = Environment(
        fake.environ(environ, stderr=said), stdout=io.StringIO(), stderr=io.StringIO()
    )
    argv = ["ai", "custom-jobs", *[name if word == "JOB" else word for word in command], *given]
    assert cli.main(argv, env) == 7, env.stderr.getvalue()  # type: ignore[attr-defined]
    stream_logs = fake.calls[-1]
    assert stream_logs[:4] == ["ai", "custom-jobs", "stream-logs", name]
    assert [a for a in stream_logs if a.startswith("--polling-interval")] == [polling]


def test_format_shapes_gcloud_s_lines_and_the_job_is_not_printed_after_them(
    environ: dict[str, str], clean_emulator: Emulator, tmp_path: Path
) -> None:
    name = submit(clean_emulator)
    clean_emulator.service.cancel_job(name)
    fake = FakeGcloud.install(tmp_path)
    out = io.StringIO()
    env = Environment(fake.environ(environ, stdout="a log line"), stdout=out, stderr=io.StringIO())
    assert cli.main(["ai", "custom-jobs", "stream-logs", name, "--format=json"], env) == 7
    assert out.getvalue() == "a log line\n"
    assert "--format=json" in fake.calls[-1]
