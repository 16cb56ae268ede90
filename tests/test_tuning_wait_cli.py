"""`prgcloud ai hp-tuning-jobs create --wait[=DURATION]` (and `--stream-logs`) and `cancel
--wait` as a user runs them: a real prgcloud process, the real gcloud submitting or cancelling
the tuning job, the emulator running it; one test per exit code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from test_stream_logs import messages
from test_tuning_cli import ARGS, PROJECT, REGION, environ, prgcloud

from prgcloud.emulator import Emulator

__all__ = ["environ"]  # the fixture: gcloud against the emulator, a resource of 4 replicas

PARENT = f"projects/{PROJECT}/locations/{REGION}"


def created(stderr: str) -> str:
    """The tuning job gcloud's create said it submitted (`Hyperparameter tuning job [ID]`)."""
    found = re.search(r"Hyperparameter tuning job \[(\d+)\] submitted successfully", stderr)
    assert found, stderr
    return f"{PARENT}/hyperparameterTuningJobs/{found.group(1)}"


@pytest.mark.parametrize(
    ("labels", "code", "said"),
    [
        pytest.param(
            "emulator-duration-seconds=1",
            0,
            "Hyperparameter tuning job [{name}] ended SUCCEEDED.",
            id="succeeded-0",
        ),
        pytest.param(
            "emulator-duration-seconds=1,emulator-outcome=failed",
            6,
            "ERROR: (prgcloud) hyperparameter tuning job {name} ended FAILED: All 4 trials failed.",
            id="failed-6",
        ),
    ],
)
def test_create_wait_submits_then_exits_by_how_the_tuning_job_ended(
    environ: dict[str, str],
    clean_emulator: Emulator,
    tmp_path: Path,
    labels: str,
    code: int,
    said: str,
) -> None:
    done = prgcloud(
        "create", *ARGS, f"--labels={labels}", "--wait=2m", environ=environ, cwd=tmp_path
    )
    assert done.returncode == code, done.stderr
    name = created(done.stderr)  # gcloud's create, passed through
    assert said.format(name=name) in done.stderr
    ended = clean_emulator.tuning_job(name)["state"]
    assert ended == ("JOB_STATE_SUCCEEDED" if code == 0 else "JOB_STATE_FAILED")


def test_create_wait_that_runs_out_exits_5_with_the_tuning_job_left_running(
    environ: dict[str, str], clean_emulator: Emulator, tmp_path: Path
) -> None:
    done = prgcloud("create", *ARGS, "--wait=2s", environ=environ, cwd=tmp_path)
    assert done.returncode == 5, done.stderr
    assert "the job was left running" in done.stderr
    state = clean_emulator.tuning_job(created(done.stderr))["state"]
    assert state in ("JOB_STATE_PENDING", "JOB_STATE_RUNNING")


def test_create_with_format_value_name_waits_for_the_job_gcloud_printed(
    environ: dict[str, str], clean_emulator: Emulator, tmp_path: Path
) -> None:
    done = prgcloud(
        "create",
        *ARGS,
        "--labels=emulator-duration-seconds=1",
        "--wait=2m",
        "--format=value(name)",
        environ=environ,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    name = created(done.stderr)
    assert done.stdout == f"{name}\n"  # gcloud's own output, untouched
    assert f"Hyperparameter tuning job [{name}] ended SUCCEEDED." in done.stderr


def test_create_with_stream_logs_streams_the_trials_until_the_tuning_job_ends(
    environ: dict[str, str], clean_emulator: Emulator, tmp_path: Path
) -> None:
    environ = {**environ, "CLOUDSDK_API_ENDPOINT_OVERRIDES_LOGGING": clean_emulator.url}
    done = prgcloud(
        "create",
        *ARGS,
        "--labels=emulator-duration-seconds=1",
        "--stream-logs",
        "--wait=3m",
        environ=environ,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    name = created(done.stderr)
    said = messages(done.stdout)
    for trial in (1, 2, 3, 4):
        assert f"trial {trial}: Training finished: the job succeeded." in said
    assert clean_emulator.tuning_job(name)["state"] == "JOB_STATE_SUCCEEDED"


def test_a_dry_run_with_wait_says_to_wait_with_hp_tuning_jobs_wait(
    environ: dict[str, str], clean_emulator: Emulator, tmp_path: Path
) -> None:
    done = prgcloud("create", *ARGS, "--wait", "--dry-run", environ=environ, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "--wait" not in done.stdout  # gcloud never gets prgcloud's flag
    assert "`prgcloud ai hp-tuning-jobs wait JOB`" in done.stderr


def test_created_tuning_job_name_is_read_from_what_gcloud_printed() -> None:
    from prgcloud import jobs
    from prgcloud.commands.wait import created_job_name

    said = (
        "Hyperparameter tuning job [456] submitted successfully.\n\nYour job is still active."
        " You may view the status of your job with the command\n\n  $ gcloud ai hp-tuning-jobs"
        " describe 456 --region=us-central1\n\nJob State: JOB_STATE_PENDING\n"
    )
    name = f"{PARENT}/hyperparameterTuningJobs/456"
    assert created_job_name("", said, jobs.TUNING, PARENT) == name
    assert created_job_name(f"name: {name}\n", "", jobs.TUNING, PARENT) == name
    assert created_job_name("", said, jobs.CUSTOM, PARENT) is None
