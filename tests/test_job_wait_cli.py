"""`prgcloud ai custom-jobs wait JOB` as a runbook runs it: a real prgcloud process against the
emulator, one test per exit code (0 succeeded, 6 failed, 7 cancelled, 5 ran out, 4 cannot be
read, 130 Ctrl-C), and an API outage in the middle of a wait."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from typing import Any

import pytest
from emulator_fixture import TOKEN

from prgcloud.emulator import Emulator

PROJECT, REGION = "p", "us-central1"
PARENT = f"projects/{PROJECT}/locations/{REGION}"


def submit(emulator: Emulator, **labels: str) -> str:
    """A custom job created straight through the emulator's REST API; its full name."""
    body = {
        "displayName": "train",
        "jobSpec": {
            "workerPoolSpecs": [
                {
                    "machineSpec": {"machineType": "n1-standard-4"},
                    "replicaCount": "1",
                    "containerSpec": {"imageUri": "gcr.io/p/trainer"},
                }
            ]
        },
        "labels": labels,
    }
    request = urllib.request.Request(
        f"{emulator.url}v1/{PARENT}/customJobs",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        name: str = json.load(response)["name"]
    return name


@pytest.fixture
def environ(gcloud_env: dict[str, str], clean_emulator: Emulator) -> dict[str, str]:
    return {**gcloud_env, "CLOUDSDK_CORE_PROJECT": PROJECT, "CLOUDSDK_AI_REGION": REGION}


def start(environ: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "prgcloud", "ai", "custom-jobs", "wait", *args],
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def wait(environ: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    process = start(environ, *args)
    stdout, stderr = process.communicate(timeout=120)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def read_until(process: subprocess.Popen[str], text: str) -> str:
    seen = ""
    while text not in seen:
        line = process.stderr.readline()  # type: ignore[union-attr]
        assert line, f"prgcloud ended before {text!r}; saw {seen!r}"
        seen += line
    return seen


def test_a_job_that_succeeds_exits_0_and_format_prints_it_as_it_ended(
    environ: dict[str, str], clean_emulator: Emulator
) -> None:
    name = submit(clean_emulator, **{"emulator-duration-seconds": "2"})
    job_id = name.rsplit("/", 1)[-1]
    result = wait(environ, job_id, "--polling-interval=1", "--format=value(state,name)")
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"JOB_STATE_SUCCEEDED\t{name}\n"
    assert f"Custom job [{name}] ended SUCCEEDED." in result.stderr


def test_a_job_that_fails_exits_6_with_its_error_message(
    environ: dict[str, str], clean_emulator: Emulator
) -> None:
    name = submit(
        clean_emulator,
        **{
            "emulator-duration-seconds": "1",
            "emulator-outcome": "failed",
            "emulator-error-message": "oom-killed",
        },
    )
    result = wait(environ, name, "--polling-interval=1")  # the full name sets project and region
    assert result.returncode == 6, result.stderr
    assert f"ERROR: (prgcloud) custom job {name} ended FAILED: oom-killed" in result.stderr


def test_a_job_someone_else_cancels_exits_7(
    environ: dict[str, str], clean_emulator: Emulator
) -> None:
    name = submit(clean_emulator)
    process = start(environ, name.rsplit("/", 1)[-1], "--polling-interval=1")
    read_until(process, "waiting for custom job")
    clean_emulator.service.cancel_job(name)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 7, stderr
    assert f"custom job {name} was cancelled." in stderr


def test_a_wait_that_runs_out_exits_5_and_leaves_the_job_running(
    environ: dict[str, str], clean_emulator: Emulator
) -> None:
    name = submit(clean_emulator)
    result = wait(environ, name, "--polling-interval=1", "--timeout=3s")
    assert result.returncode == 5, result.stderr
    assert "the job was left running" in result.stderr
    assert clean_emulator.custom_job(name)["state"] in ("JOB_STATE_PENDING", "JOB_STATE_RUNNING")


def test_a_job_that_cannot_be_read_exits_4(environ: dict[str, str]) -> None:
    result = wait(environ, "123", "--polling-interval=1")
    assert result.returncode == 4, result.stderr
    assert f"custom job {PARENT}/customJobs/123 was not found" in result.stderr


def test_ctrl_c_stops_the_wait_never_the_job(
    environ: dict[str, str], clean_emulator: Emulator
) -> None:
    name = submit(clean_emulator)
    process = start(environ, name, "--polling-interval=1")
    read_until(process, "waiting for custom job")
    os.killpg(process.pid, signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130
    assert "Traceback" not in stderr
    assert f"custom job {name} keeps running" in stderr
    assert clean_emulator.custom_job(name)["state"] in ("JOB_STATE_PENDING", "JOB_STATE_RUNNING")


def test_an_api_outage_mid_wait_is_waited_out(
    environ: dict[str, str], clean_emulator: Emulator
) -> None:
    name = submit(clean_emulator)
    process = start(environ, name, "--polling-interval=1")
    read_until(process, "waiting for custom job")
    clean_emulator.fail("UNAVAILABLE", name=name, method="GET")
    said = read_until(process, "API answered HTTP 503")
    assert "retrying" in said
    clean_emulator.clear_faults()
    clean_emulator.service.cancel_job(name)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 7, stderr


@pytest.mark.parametrize(
    ("args", "said"),
    [
        pytest.param(["abc"], "'abc' is not a custom job", id="not-a-job"),
        pytest.param(["1", "--timeout=soon"], "argument --timeout: expected a duration", id="t"),
        pytest.param(["1", "--polling-interval=0"], "Value must be an integer >= 1", id="poll"),
        pytest.param(["1", "--bogus"], "unrecognized arguments: --bogus", id="unknown-flag"),
    ],
)
def test_bad_input_exits_2_before_anything_is_read(
    environ: dict[str, str], args: list[str], said: str
) -> None:
    from prgcloud import cli
    from prgcloud.environment import Environment

    out, err = _streams()
    code = cli.main(
        ["ai", "custom-jobs", "wait", *args], Environment(environ, stdout=out, stderr=err)
    )
    assert code == 2
    assert said in err.getvalue()


def _streams() -> tuple[Any, Any]:
    import io

    return io.StringIO(), io.StringIO()


# --- cancel --wait (the real gcloud cancels) -------------------------------------------------


def cancel(environ: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "prgcloud", "ai", "custom-jobs", "cancel", *args],
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_cancel_wait_returns_0_once_the_job_is_cancelled(
    environ: dict[str, str], clean_emulator: Emulator
) -> None:
    name = submit(clean_emulator)
    result = cancel(environ, name.rsplit("/", 1)[-1], "--wait=5m")
    assert result.returncode == 0, result.stderr
    assert f"Request to cancel CustomJob [{name}] has been sent." in result.stderr  # gcloud's
    assert f"Custom job [{name}] ended CANCELLED." in result.stderr
    assert clean_emulator.custom_job(name)["state"] == "JOB_STATE_CANCELLED"


def test_cancel_wait_of_a_job_that_had_ended_is_gcloud_s_refusal(
    environ: dict[str, str], clean_emulator: Emulator
) -> None:
    name = submit(clean_emulator)
    clean_emulator.service.cancel_job(name)
    result = cancel(environ, name, "--wait")
    assert result.returncode == 1, result.stderr
    assert "already in the terminal state JOB_STATE_CANCELLED" in result.stderr
    assert "ended CANCELLED" not in result.stderr


def test_cancel_without_wait_is_gcloud_s_own(
    environ: dict[str, str], clean_emulator: Emulator
) -> None:
    name = submit(clean_emulator)
    result = cancel(environ, name)
    assert result.returncode == 0, result.stderr
    assert f"Request to cancel CustomJob [{name}] has been sent." in result.stderr
    assert "(prgcloud)" not in result.stderr
    assert "ended CANCELLED" not in result.stderr


# --- create --wait (prgcloud submits through the real gcloud) --------------------------------

CREATE = [
    "ai",
    "custom-jobs",
    "create",
    "--display-name=train",
    "--worker-pool-spec=machine-type=n1-standard-4,replica-count=1,container-image-uri=gcr.io/p/i",
]


def create(environ: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "prgcloud", *CREATE, *args],
        env=environ,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


@pytest.mark.parametrize(
    ("labels", "extra", "code"),
    [
        pytest.param("emulator-duration-seconds=1", [], 0, id="succeeded-0"),
        pytest.param(
            "emulator-duration-seconds=1,emulator-outcome=failed,emulator-error-message=oom",
            [],
            6,
            id="failed-6",
        ),
        pytest.param("emulator-duration-seconds=1", ["--format=json"], 0, id="with-format"),
        pytest.param("emulator-duration-seconds=1", ["--format=value(name)"], 0, id="value-name"),
    ],
)
def test_create_wait_submits_then_exits_by_how_the_job_ended(
    environ: dict[str, str], clean_emulator: Emulator, labels: str, extra: list[str], code: int
) -> None:
    result = create(environ, f"--labels={labels}", "--wait=2m", *extra)
    assert result.returncode == code, result.stderr
    (job,) = clean_emulator.custom_jobs(PROJECT, REGION)
    assert job["state"] == ("JOB_STATE_SUCCEEDED" if code == 0 else "JOB_STATE_FAILED")
    if code == 6:
        assert f"custom job {job['name']} ended FAILED: oom" in result.stderr
    if "--format=value(name)" in extra:
        assert result.stdout == job["name"] + "\n"  # gcloud's own output, untouched


def test_create_wait_that_runs_out_exits_5_with_the_job_left_running(
    environ: dict[str, str], clean_emulator: Emulator
) -> None:
    result = create(environ, "--wait=2s")
    assert result.returncode == 5, result.stderr
    assert "the job was left running" in result.stderr
    (job,) = clean_emulator.custom_jobs(PROJECT, REGION)
    assert job["state"] in ("JOB_STATE_PENDING", "JOB_STATE_RUNNING")


def test_a_dry_run_with_wait_says_that_its_snippet_does_not_wait(
    environ: dict[str, str], clean_emulator: Emulator
) -> None:
    result = create(environ, "--wait", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "--wait" not in result.stdout  # gcloud never gets prgcloud's flag
    assert "the snippet only submits the job" in result.stderr
    assert clean_emulator.custom_jobs(PROJECT, REGION) == []


def test_created_job_name_is_read_from_what_gcloud_printed() -> None:
    from prgcloud.commands.wait import created_job_name

    name = "projects/123/locations/us-central1/customJobs/456"
    said = f"Using endpoint [x]\nCustomJob [{name}] is submitted successfully.\n"
    assert created_job_name("", said) == name
    assert created_job_name(json.dumps({"name": name}), "") == name
    assert created_job_name("", "") is None


# --- the library ------------------------------------------------------------------------------


def test_the_library_waits_for_a_job_and_hands_it_back_as_it_ended(
    environ: dict[str, str], clean_emulator: Emulator
) -> None:
    import prgcloud
    from prgcloud import jobs

    name = submit(clean_emulator, **{"emulator-duration-seconds": "1"})
    seen: list[jobs.JobProgress] = []
    job = prgcloud.wait_for_job(
        name.rsplit("/", 1)[-1],
        project=PROJECT,
        region=REGION,
        polling_interval=1,
        environ=environ,
        on_progress=seen.append,
    )
    assert job["name"] == name
    ended = jobs.outcome(job)
    assert ended is not None
    assert (ended.state, ended.exit_code) == ("JOB_STATE_SUCCEEDED", 0)


# --- hp-tuning-jobs wait ----------------------------------------------------------------------


TUNING_WAIT = [sys.executable, "-m", "prgcloud", "ai", "hp-tuning-jobs", "wait"]


def submit_tuning(emulator: Emulator, **labels: str) -> str:
    """A hyperparameter tuning job of two trials, created through the emulator's REST API."""
    body = {
        "displayName": "tune",
        "studySpec": {
            "metrics": [{"metricId": "accuracy", "goal": "MAXIMIZE"}],
            "parameters": [
                {"parameterId": "lr", "doubleValueSpec": {"minValue": 0.001, "maxValue": 0.1}}
            ],
        },
        "maxTrialCount": 2,
        "parallelTrialCount": 2,
        "trialJobSpec": {
            "workerPoolSpecs": [
                {
                    "machineSpec": {"machineType": "n1-standard-4"},
                    "replicaCount": "1",
                    "containerSpec": {"imageUri": "gcr.io/p/trainer"},
                }
            ]
        },
        "labels": labels,
    }
    request = urllib.request.Request(
        f"{emulator.url}v1/{PARENT}/hyperparameterTuningJobs",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        name: str = json.load(response)["name"]
    return name


@pytest.mark.parametrize(
    ("labels", "code", "said"),
    [
        pytest.param({}, 0, "Hyperparameter tuning job [{name}] ended SUCCEEDED.", id="0"),
        pytest.param(
            {"emulator-outcome": "failed"},
            6,
            "ERROR: (prgcloud) hyperparameter tuning job {name} ended FAILED: ",
            id="6",
        ),
    ],
)
def test_a_tuning_job_is_waited_for_as_a_custom_job_is(
    environ: dict[str, str],
    clean_emulator: Emulator,
    labels: dict[str, str],
    code: int,
    said: str,
) -> None:
    name = submit_tuning(clean_emulator, **{"emulator-duration-seconds": "1", **labels})
    process = subprocess.run(
        [*TUNING_WAIT, name.rsplit("/", 1)[-1], "--polling-interval=1", "--format=value(state)"],
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert process.returncode == code, process.stderr
    assert said.format(name=name) in process.stderr
    assert process.stdout.strip() in ("JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED")
