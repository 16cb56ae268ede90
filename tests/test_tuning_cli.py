"""`prgcloud ai hp-tuning-jobs create|check` as a user runs them: a real prgcloud process, the
emulator, and the real gcloud submitting the tuning job."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from prgcloud.emulator import Emulator

PROJECT, REGION, RID = "p", "us-central1", "cluster"
NAME = Emulator.resource_name(PROJECT, REGION, RID)
POOL = {"id": "workers", "machineSpec": {"machineType": "n1-standard-4"}, "replicaCount": "4"}
CONFIG = """\
maxTrialCount: 4
parallelTrialCount: 3
studySpec:
  metrics: [{metricId: accuracy, goal: MAXIMIZE}]
  parameters: [{parameterId: lr, doubleValueSpec: {minValue: 0.001, maxValue: 0.1}}]
trialJobSpec:
  workerPoolSpecs:
  - machineSpec: {machineType: n1-standard-4}
    replicaCount: 2
    containerSpec: {imageUri: gcr.io/p/trainer}
"""
ARGS = ["--display-name=tune", "--config=tuning.yaml", f"--persistent-resource-id={RID}"]


@pytest.fixture
def environ(gcloud_env: dict[str, str], clean_emulator: Emulator, tmp_path: Path) -> dict[str, str]:
    """gcloud's environment against the emulator, with a resource of 4 free replicas."""
    clean_emulator.add_persistent_resource(PROJECT, REGION, RID, {"resourcePools": [POOL]})
    (tmp_path / "tuning.yaml").write_text(CONFIG)
    return {**gcloud_env, "CLOUDSDK_CORE_PROJECT": PROJECT, "CLOUDSDK_AI_REGION": REGION}


def prgcloud(
    verb: str, *argv: str, environ: dict[str, str], cwd: Path
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "prgcloud", "ai", "hp-tuning-jobs", verb, *argv],
        env=environ,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_create_puts_the_tuning_job_on_the_resource_and_warns_of_the_parallel_trials(
    environ: dict[str, str], clean_emulator: Emulator, tmp_path: Path
) -> None:
    done = prgcloud("create", *ARGS, environ=environ, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "3 parallel trials ask for 6 replicas" in done.stderr
    assert "at most 2 trials run at once" in done.stderr
    found = re.search(r"Hyperparameter tuning job \[(\d+)\] submitted", done.stderr)
    assert found, done.stderr
    job = clean_emulator.tuning_job(
        f"projects/{PROJECT}/locations/{REGION}/hyperparameterTuningJobs/{found.group(1)}"
    )
    assert job["trialJobSpec"]["persistentResourceId"] == RID
    assert job["parallelTrialCount"] == 3
    assert not list(tmp_path.glob("prgcloud-job-*"))


def test_trials_beyond_the_free_replicas_run_fewer_at_a_time_until_all_have_run(
    environ: dict[str, str], clean_emulator: Emulator, tmp_path: Path
) -> None:
    # 4 replicas, trials of 2, 3 parallel: prgcloud warns that 2 run at once, and they do.
    done = prgcloud("create", *ARGS, environ=environ, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "at most 2 trials run at once" in done.stderr
    found = re.search(r"Hyperparameter tuning job \[(\d+)\] submitted", done.stderr)
    assert found, done.stderr
    name = f"projects/{PROJECT}/locations/{REGION}/hyperparameterTuningJobs/{found.group(1)}"
    running_at_once: list[int] = []
    for _ in range(20):  # 4 trials of 600 s, 2 at a time: done within 4 steps of 400 s
        job = clean_emulator.tuning_job(name)
        states = [trial["state"] for trial in job.get("trials", [])]
        running_at_once.append(states.count("ACTIVE"))
        assert clean_emulator.persistent_resource(NAME)["resourcePools"][0].get(
            "usedReplicaCount", "0"
        ) == str(2 * states.count("ACTIVE"))
        if job["state"] == "JOB_STATE_SUCCEEDED":
            break
        clean_emulator.advance(400.0)
    assert job["state"] == "JOB_STATE_SUCCEEDED"
    assert states == ["SUCCEEDED"] * 4  # maxTrialCount
    assert max(running_at_once) == 2  # never the 3 asked for


def test_a_later_empty_worker_pool_spec_is_a_placeholder_pool_of_the_trials(
    environ: dict[str, str], clean_emulator: Emulator, tmp_path: Path
) -> None:
    pool = "replica-count=1,machine-type=n1-standard-4,container-image-uri=gcr.io/p/trainer"
    argv = [*ARGS, f"--worker-pool-spec={pool}", "--worker-pool-spec="]
    done = prgcloud("create", *argv, environ=environ, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    found = re.search(r"Hyperparameter tuning job \[(\d+)\] submitted", done.stderr)
    assert found, done.stderr
    job = clean_emulator.tuning_job(
        f"projects/{PROJECT}/locations/{REGION}/hyperparameterTuningJobs/{found.group(1)}"
    )
    pools = job["trialJobSpec"]["workerPoolSpecs"]
    assert [pool.get("replicaCount") for pool in pools] == ["1", None]


@pytest.mark.parametrize(
    ("used", "replicas", "says"),
    [
        pytest.param("0", 5, "in one trial", id="one-trial-above-the-ceiling-never-fits"),
        pytest.param("3", 2, "in one trial", id="one-trial-above-the-free-replicas-is-busy"),
    ],
)
def test_a_trial_that_does_not_fit_stops_both_verbs_with_exit_3(
    environ: dict[str, str],
    clean_emulator: Emulator,
    tmp_path: Path,
    used: str,
    replicas: int,
    says: str,
) -> None:
    clean_emulator.set_used_replicas(NAME, "workers", int(used))
    (tmp_path / "tuning.yaml").write_text(
        CONFIG.replace("replicaCount: 2", f"replicaCount: {replicas}")
    )
    for verb in ("check", "create"):
        done = prgcloud(verb, *ARGS, environ=environ, cwd=tmp_path)
        assert done.returncode == 3, done.stderr
        assert says in done.stderr
        assert "submitted successfully" not in done.stderr


def test_strict_makes_the_parallel_warning_block(environ: dict[str, str], tmp_path: Path) -> None:
    done = prgcloud("create", *ARGS, "--strict", environ=environ, cwd=tmp_path)
    assert done.returncode == 3, done.stderr
    assert "submitted successfully" not in done.stderr


def test_check_prints_the_verdict_as_data(environ: dict[str, str], tmp_path: Path) -> None:
    done = prgcloud("check", *ARGS, "--format=json", environ=environ, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    verdict = json.loads(done.stdout)
    assert verdict["checked"] is True
    codes = {finding["code"] for finding in verdict["findings"]}
    assert "parallel-trials-exceed-ceiling" in codes


def test_skip_precheck_submits_without_reading_the_resource(
    environ: dict[str, str], clean_emulator: Emulator, tmp_path: Path
) -> None:
    clean_emulator.set_used_replicas(NAME, "workers", 3)  # busy: the pre-check would stop it
    done = prgcloud("create", *ARGS, "--skip-precheck", environ=environ, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "submitted successfully" in done.stderr


def test_a_dry_run_prints_the_gcloud_command_with_its_generated_config(
    environ: dict[str, str], tmp_path: Path
) -> None:
    done = prgcloud("create", *ARGS, "--dry-run", environ=environ, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "gcloud ai hp-tuning-jobs create" in done.stdout
    assert "persistentResourceId: cluster" in done.stdout
    assert "--persistent-resource-id" not in done.stdout
    assert "# Submits the hyperparameter tuning job" in done.stdout


def test_bad_input_is_exit_2_with_every_problem_at_once(
    environ: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "tuning.yaml").write_text("studySpec: {}\nmax_trial_count: 2\n")
    done = prgcloud(
        "create",
        "--config=tuning.yaml",
        "--algorithm=bayes",
        "--max-trial-count=many",
        environ=environ,
        cwd=tmp_path,
    )
    assert done.returncode == 2
    for problem in ("--display-name", "--algorithm", "--max-trial-count", "max_trial_count"):
        assert problem in done.stderr


def test_wait_for_capacity_ends_at_its_deadline_with_exit_5_when_a_trial_stays_busy(
    environ: dict[str, str], clean_emulator: Emulator, tmp_path: Path
) -> None:
    clean_emulator.set_used_replicas(NAME, "workers", 3)
    done = prgcloud("create", *ARGS, "--wait-for-capacity=2s", environ=environ, cwd=tmp_path)
    assert done.returncode == 5, done.stderr
    assert "submitted successfully" not in done.stderr


def test_the_library_mirrors_the_cli(
    environ: dict[str, str], clean_emulator: Emulator, tmp_path: Path
) -> None:
    import prgcloud

    request = prgcloud.tuning_request_from_argv(ARGS, environ=environ, cwd=str(tmp_path))
    assert request.url.endswith("/hyperparameterTuningJobs")
    assert request.persistent_resource_id == RID
    verdict = prgcloud.check(request, environ=environ)
    assert "parallel-trials-exceed-ceiling" in {f.code for f in verdict.warnings}
    assert "gcloud ai hp-tuning-jobs create" in prgcloud.dry_run(request)
    clean_emulator.set_used_replicas(NAME, "workers", 3)
    with pytest.raises(prgcloud.errors.DoesNotFitError):
        prgcloud.check(request, environ=environ)


def test_the_python_snippet_creates_the_tuning_job_with_the_sdk(
    environ: dict[str, str], clean_emulator: Emulator, tmp_path: Path
) -> None:
    done = prgcloud("create", *ARGS, "--dry-run=python", environ=environ, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "create_hyperparameter_tuning_job" in done.stdout
    ran = subprocess.run(
        [sys.executable, "-c", done.stdout],
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr
    found = re.search(r"HyperparameterTuningJob \[(\S+)\] is submitted", ran.stdout)
    assert found, ran.stdout
    job = clean_emulator.tuning_job(found.group(1))
    assert job["trialJobSpec"]["persistentResourceId"] == RID
