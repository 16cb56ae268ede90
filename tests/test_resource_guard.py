"""`prgcloud ai persistent-resources delete|reboot` as a runbook runs them: a real prgcloud
process, the real gcloud and the real SDK, against the emulator. Every exit code: 0 (passed
through, or waited for), 2 (bad input), 3 (jobs on the resource), 4 (cannot read), 5 (the wait
ran out), 6 (the resource went to ERROR), and gcloud's own codes unchanged."""

from __future__ import annotations

import re
import subprocess
import sys
from typing import Any

import pytest

from prgcloud.emulator import Emulator
from prgcloud.emulator.errors import ApiError

PROJECT, REGION = "p", "us-central1"
PARENT = f"projects/{PROJECT}/locations/{REGION}"
NAME = Emulator.resource_name(PROJECT, REGION, "cluster")
OTHER = Emulator.resource_name(PROJECT, REGION, "other")
POOL = {"id": "workers", "machineSpec": {"machineType": "n1-standard-4"}, "replicaCount": "4"}
ERROR_LABELS = {"emulator-outcome": "error", "emulator-error-message": "stockout-n1"}


@pytest.fixture
def world(clean_emulator: Emulator, gcloud_env: dict[str, str]) -> dict[str, Any]:
    """Two RUNNING resources, and an environment for prgcloud (and gcloud) against them.

    A reboot or delete takes 10 minutes unless a test says otherwise: what a test sees after
    one is the state it started, however slowly gcloud runs.
    """
    clean_emulator.configure(provision_seconds=600, stop_seconds=600)
    for resource_id in ("cluster", "other"):
        clean_emulator.add_persistent_resource(
            PROJECT, REGION, resource_id, {"resourcePools": [POOL]}
        )
    environ = {**gcloud_env, "CLOUDSDK_CORE_PROJECT": PROJECT, "CLOUDSDK_AI_REGION": REGION}
    return {"emulator": clean_emulator, "environ": environ}


def job(emulator: Emulator, resource_id: str, replicas: int, name: str = "train") -> str:
    """Create a custom job on the resource (it holds its replicas at once); return its name."""
    body = {
        "displayName": name,
        "jobSpec": {
            "persistentResourceId": resource_id,
            "workerPoolSpecs": [
                {
                    "machineSpec": {"machineType": "n1-standard-4"},
                    "replicaCount": str(replicas),
                    "containerSpec": {"imageUri": "gcr.io/p/trainer"},
                }
            ],
        },
    }
    return str(emulator.service.create_job(PARENT, body)["name"])


def tuning_job(emulator: Emulator, resource_id: str, replicas: int, parallel: int = 2) -> str:
    """Create a tuning job whose trials run on the resource, and let its trials start (each
    holds `replicas`); return its name."""
    trial = {
        "persistentResourceId": resource_id,
        "workerPoolSpecs": [
            {
                "machineSpec": {"machineType": "n1-standard-4"},
                "replicaCount": str(replicas),
                "containerSpec": {"imageUri": "gcr.io/p/trainer"},
            }
        ],
    }
    body = {
        "displayName": "tune",
        "studySpec": {
            "metrics": [{"metricId": "accuracy", "goal": "MAXIMIZE"}],
            "parameters": [
                {"parameterId": "lr", "doubleValueSpec": {"minValue": 0.1, "maxValue": 1}}
            ],
        },
        "maxTrialCount": 6,
        "parallelTrialCount": parallel,
        "trialJobSpec": trial,
    }
    name = str(emulator.service.create_tuning_job(PARENT, body)["name"])
    emulator.advance(2)  # past the pending delay: the trials start
    return name


def prgcloud(environ: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "prgcloud", *args],
        env=environ,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def gcloud(environ: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["gcloud", *args], env=environ, capture_output=True, text=True, timeout=180, check=False
    )


def state(emulator: Emulator, name: str = NAME) -> str:
    try:
        return str(emulator.persistent_resource(name)["state"])
    except ApiError as error:
        if error.status == "NOT_FOUND":
            return "gone"
        raise


# --- the guard ---------------------------------------------------------------------------------


@pytest.mark.parametrize("verb", ["delete", "reboot"])
def test_a_resource_with_running_jobs_is_left_alone_with_exit_3_naming_them(
    world: dict[str, Any], verb: str
) -> None:
    emulator = world["emulator"]
    first = job(emulator, "cluster", 2, "train-a")
    second = job(emulator, "cluster", 1, "train-b")
    job(emulator, "other", 4, "elsewhere")  # on another resource: not named
    done = prgcloud(world["environ"], "ai", "persistent-resources", verb, "cluster")
    assert done.returncode == 3, done.stderr
    # PENDING at first, RUNNING half a second later: both hold their replicas
    assert re.search(
        rf"{first} \(train-a\): (PENDING|RUNNING), pool 0: 2 replicas of n1-standard-4\n",
        done.stderr,
    )
    assert re.search(
        rf"{second} \(train-b\): (PENDING|RUNNING), pool 0: 1 replica of n1-standard-4\n",
        done.stderr,
    )
    assert "elsewhere" not in done.stderr
    assert "--force" in done.stderr
    assert "Nothing was sent" in done.stderr
    assert state(emulator) == "RUNNING"


@pytest.mark.parametrize("verb", ["delete", "reboot"])
def test_a_tuning_job_whose_trials_run_on_the_resource_is_exit_3_naming_it(
    world: dict[str, Any], verb: str
) -> None:
    emulator = world["emulator"]
    tuning = tuning_job(emulator, "cluster", 1)
    tuning_job(emulator, "other", 1)  # on another resource: not named
    done = prgcloud(world["environ"], "ai", "persistent-resources", verb, "cluster")
    assert done.returncode == 3, done.stderr
    assert "has 1 job on it" in done.stderr
    assert (
        f"{tuning} (tune): RUNNING, tuning job, 2 trials running: "
        "pool 0: 2 replicas of n1-standard-4 (1 per trial)\n"
    ) in done.stderr
    assert "`gcloud ai hp-tuning-jobs cancel JOB --region=us-central1`" in done.stderr
    assert "Nothing was sent" in done.stderr
    assert state(emulator) == "RUNNING"


@pytest.mark.parametrize("verb", ["delete", "reboot"])
def test_force_sends_it_anyway_over_a_tuning_job(world: dict[str, Any], verb: str) -> None:
    tuning_job(world["emulator"], "cluster", 1)
    done = prgcloud(world["environ"], "ai", "persistent-resources", verb, "cluster", "--force")
    assert done.returncode == 0, done.stderr
    assert state(world["emulator"]) == ("STOPPING" if verb == "delete" else "REBOOTING")


def test_tuning_jobs_that_cannot_be_listed_stop_it_with_exit_4(world: dict[str, Any]) -> None:
    world["emulator"].deny(f"{PARENT}/hyperparameterTuningJobs")
    done = prgcloud(world["environ"], "ai", "persistent-resources", "reboot", "cluster")
    assert done.returncode == 4, done.stderr
    assert "aiplatform.hyperparameterTuningJobs.list" in done.stderr
    assert "or reboot it anyway with --force." in done.stderr
    assert state(world["emulator"]) == "RUNNING"


def test_a_queued_job_stops_a_delete_but_not_a_reboot(world: dict[str, Any]) -> None:
    emulator = world["emulator"]
    emulator.set_used_replicas(NAME, "workers", 4)  # held outside the emulator: the job queues
    queued = job(emulator, "cluster", 2)
    deleting = prgcloud(world["environ"], "ai", "persistent-resources", "delete", "cluster")
    assert deleting.returncode == 3, deleting.stderr
    assert f"{queued} (train): QUEUED" in deleting.stderr
    rebooting = prgcloud(world["environ"], "ai", "persistent-resources", "reboot", "cluster")
    assert rebooting.returncode == 0, rebooting.stderr
    assert state(emulator) == "REBOOTING"


@pytest.mark.parametrize(
    ("verb", "said"),
    [
        pytest.param("delete", "Request to delete the PersistentResource", id="delete"),
        pytest.param("reboot", "Request to reboot the PersistentResource", id="reboot"),
    ],
)
def test_force_sends_it_anyway(world: dict[str, Any], verb: str, said: str) -> None:
    job(world["emulator"], "cluster", 2)
    done = prgcloud(world["environ"], "ai", "persistent-resources", verb, "cluster", "--force")
    assert done.returncode == 0, done.stderr
    assert said in done.stderr
    assert state(world["emulator"]) == ("STOPPING" if verb == "delete" else "REBOOTING")


@pytest.mark.parametrize("track", [[], ["beta"]], ids=["ga", "beta"])
@pytest.mark.parametrize("verb", ["delete", "reboot"])
def test_with_no_jobs_on_it_gcloud_runs_with_its_output_unchanged(
    world: dict[str, Any], track: list[str], verb: str
) -> None:
    emulator = world["emulator"]
    ended = job(emulator, "cluster", 1)
    emulator.service.cancel_job(ended)  # an ended job does not count
    through = prgcloud(world["environ"], *track, "ai", "persistent-resources", verb, "cluster")
    direct = gcloud(world["environ"], *track, "ai", "persistent-resources", verb, "other")
    assert through.returncode == direct.returncode == 0, through.stderr
    assert through.stdout == direct.stdout
    # the same words, but for the name (and a reboot's operation number)
    assert re.sub(r"\d{6,}", "N", through.stderr) == re.sub(
        r"\d{6,}", "N", direct.stderr.replace(OTHER, NAME)
    )
    assert state(emulator) == ("STOPPING" if verb == "delete" else "REBOOTING")


def test_gcloud_refusing_passes_through_with_its_own_exit_code_and_words(
    world: dict[str, Any],
) -> None:
    emulator = world["emulator"]
    emulator.set_resource_state(NAME, "ERROR", "broken")  # only a RUNNING one can be rebooted
    args = ("ai", "persistent-resources", "reboot", "cluster")
    through = prgcloud(world["environ"], *args)
    direct = gcloud(world["environ"], *args)
    assert direct.returncode == 1
    assert (through.returncode, through.stdout, through.stderr) == (
        direct.returncode,
        direct.stdout,
        direct.stderr,
    )


def test_jobs_that_cannot_be_listed_stop_it_with_exit_4(world: dict[str, Any]) -> None:
    world["emulator"].deny(f"{PARENT}/customJobs")
    done = prgcloud(world["environ"], "ai", "persistent-resources", "delete", "cluster")
    assert done.returncode == 4, done.stderr
    assert "permission denied reading the custom jobs of project p" in done.stderr
    assert "aiplatform.customJobs.list" in done.stderr
    assert "or delete it anyway with --force." in done.stderr
    assert state(world["emulator"]) == "RUNNING"


@pytest.mark.parametrize(
    ("args", "said"),
    [
        pytest.param(["--wait=10x"], "argument --wait: expected a duration", id="bad-wait"),
        pytest.param(["--polling-interval=0"], "expected a number of seconds", id="bad-interval"),
        pytest.param(["--polling-interval=5"], "only applies with --wait", id="interval-alone"),
        pytest.param(["--region=mars-north1"], "Available values are", id="bad-region"),
        pytest.param(["--bogus"], "unrecognized arguments: --bogus", id="unknown-flag"),
        pytest.param(
            ["--wait", "--format=json"], "--format: cannot be used with --wait", id="own-format"
        ),
    ],
)
def test_bad_input_is_exit_2_and_nothing_is_sent(
    world: dict[str, Any], args: list[str], said: str
) -> None:
    done = prgcloud(world["environ"], "ai", "persistent-resources", "reboot", "cluster", *args)
    assert done.returncode == 2, done.stderr
    assert said in done.stderr
    assert state(world["emulator"]) == "RUNNING"


# --- --wait --------------------------------------------------------------------------------------


def test_reboot_wait_shows_the_wait_and_returns_0_once_running_again(
    world: dict[str, Any],
) -> None:
    args = ("ai", "persistent-resources", "reboot", "cluster", "--wait=5m")
    process = subprocess.Popen(
        [sys.executable, "-m", "prgcloud", *args, "--polling-interval=0.5"],
        env=world["environ"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        seen = ""
        while "waiting for persistent resource cluster to be RUNNING" not in seen:
            line = process.stderr.readline()  # type: ignore[union-attr]
            assert line, f"prgcloud ended before waiting; it said {seen!r}"
            seen += line
        assert "Request to reboot the PersistentResource" in seen
        assert "left) · REBOOTING" in seen
        world["emulator"].advance(600)  # the reboot ends: RUNNING, its operation done
        _, rest = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, rest
    assert rest.endswith("persistent resource cluster is RUNNING again.\n")


def test_reboot_wait_does_not_take_the_running_shown_before_the_reboot_begins(
    world: dict[str, Any],
) -> None:
    world["emulator"].configure(reboot_lag_seconds=3600)  # RUNNING for an hour after the request
    args = ("ai", "persistent-resources", "reboot", "cluster", "--wait=2s")
    done = prgcloud(world["environ"], *args, "--polling-interval=0.5")
    assert done.returncode == 5, done.stderr
    assert "last seen RUNNING, reboot not begun" in done.stderr
    assert done.stdout == ""  # the operation's name, asked of gcloud, is prgcloud's own


def test_reboot_wait_returns_0_once_the_reboot_shown_late_is_over(world: dict[str, Any]) -> None:
    emulator = world["emulator"]
    emulator.configure(reboot_lag_seconds=1, provision_seconds=1)
    before = emulator.persistent_resource(NAME)["updateTime"]
    args = ("ai", "persistent-resources", "reboot", "cluster", "--wait=2m")
    done = prgcloud(world["environ"], *args, "--polling-interval=0.2")
    assert done.returncode == 0, done.stderr
    assert done.stderr.endswith("persistent resource cluster is RUNNING again.\n")
    # it went REBOOTING and came back: RUNNING since a later time than before the request
    after = emulator.persistent_resource(NAME)
    assert (after["state"], after["updateTime"] > before) == ("RUNNING", True)


def test_delete_wait_returns_0_once_gone(world: dict[str, Any]) -> None:
    world["emulator"].configure(stop_seconds=1)
    args = ("ai", "persistent-resources", "delete", "cluster", "--wait", "--polling-interval=0.2")
    done = prgcloud(world["environ"], *args)
    assert done.returncode == 0, done.stderr
    assert done.stderr.endswith("persistent resource cluster is deleted.\n")
    assert state(world["emulator"]) == "gone"


def test_reboot_wait_exits_6_with_the_message_when_the_resource_goes_to_error(
    world: dict[str, Any],
) -> None:
    emulator = world["emulator"]
    emulator.configure(provision_seconds=1)
    emulator.add_persistent_resource(
        PROJECT, REGION, "doomed", {"resourcePools": [POOL], "labels": ERROR_LABELS}
    )
    args = ("ai", "persistent-resources", "reboot", "doomed", "--wait=2m")
    done = prgcloud(world["environ"], *args, "--polling-interval=0.5")
    assert done.returncode == 6, done.stderr
    assert "ERROR: (prgcloud) persistent resource doomed went to ERROR: stockout-n1" in done.stderr


def test_reboot_wait_that_runs_out_exits_5_and_leaves_the_resource_rebooting(
    world: dict[str, Any],
) -> None:
    world["emulator"].configure(provision_seconds=3600)
    args = ("ai", "persistent-resources", "reboot", "cluster", "--wait=2s")
    done = prgcloud(world["environ"], *args, "--polling-interval=0.5")
    assert done.returncode == 5, done.stderr
    assert "gave up waiting for persistent resource cluster to be RUNNING after 2s" in done.stderr
    assert "last seen REBOOTING" in done.stderr
    assert state(world["emulator"]) == "REBOOTING"


def test_reboot_wait_on_a_resource_it_may_not_read_exits_4(world: dict[str, Any]) -> None:
    world["emulator"].configure(provision_seconds=1)
    world["emulator"].deny(NAME, method="GET")  # the reboot (POST) itself is allowed
    args = ("ai", "persistent-resources", "reboot", "cluster", "--wait=2m")
    done = prgcloud(world["environ"], *args, "--polling-interval=0.5")
    assert done.returncode == 4, done.stderr
    assert "permission denied" in done.stderr
    assert "Request to reboot the PersistentResource" in done.stderr  # it was sent
