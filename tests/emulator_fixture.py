"""Fixtures that run the Vertex AI emulator for the suite (exposed through tests/conftest.py).

`emulator` (session scope) is a `prgcloud.emulator.Emulator` serving on a free loopback port
in background threads of the test process, state in memory. Its delays are short
(`TEST_SETTINGS`); `emulator.advance(seconds)` fast-forwards its clock instead of sleeping.

    emulator.url / .port                     "http://127.0.0.1:PORT/", PORT
    emulator.add_persistent_resource(project, region, resource_id, body, state="RUNNING")
        -> the resource as v1 REST JSON; `body` is PersistentResource REST JSON (camelCase);
           a pool's "usedReplicaCount" in it is applied as by set_used_replicas
    emulator.resource_name(project, region, resource_id) -> "projects/P/locations/R/..."
    emulator.set_used_replicas(name, pool_id, count)   the pool's usedReplicaCount becomes
                                                       count (jobs outside the emulator)
    emulator.set_resource_state(name, state, error_message=None)   e.g. "ERROR", "STOPPING";
        PROVISIONING / REBOOTING / UPDATING turn RUNNING after provision_seconds
    emulator.deny(name, method="GET")        403 PERMISSION_DENIED for requests on `name`
                                             (and names under it), worded as Vertex AI does
    emulator.fail(status="UNAVAILABLE", *, name=None, method=None, times=None, delay=0.0,
                  message=None)              any google.rpc.Code, for some or all requests;
                                             status=None with delay=N only slows them down
    emulator.throttle_job_creations(location, times=None)   429 RESOURCE_EXHAUSTED for the
                                             next `times` job creations in projects/P/locations/R
    emulator.clear_faults()
    emulator.hold_cancellations()            a cancelled custom or tuning job stays
                                             JOB_STATE_CANCELLING, its replicas held (a tuning
                                             job's open trials STOPPING), until
    emulator.release_cancellations()         which makes them CANCELLED, their replicas free
    emulator.persistent_resource(name) / .custom_job(name) / .custom_jobs(project, region)
                                             state as v1 REST JSON, without going through HTTP
    emulator.tuning_job(name)                a hyperparameter tuning job as v1 REST JSON, its
                                             trials (state, parameters, customJob) as they stand
    emulator.advance(seconds)                fast-forward the emulator's clock
    emulator.configure(provision_seconds=..., job_duration=..., pending_seconds=...,
                       stop_seconds=..., reboot_lag_seconds=...)   until the next reset();
                                             reboot_lag_seconds: a rebooted resource shows
                                             RUNNING that long before REBOOTING
    emulator.freeze()                        stop the clock until reset(): only advance()
                                             moves it (count states on a loaded machine)
    emulator.reset()                         no resources, jobs, faults, held cancellations;
                                             TEST_SETTINGS; real, running time

The emulator is shared by the whole session: a test that changes it should start from
`clean_emulator` (the same object, reset first). Jobs end after `job_duration`; per job, labels
say how:
    emulator-duration-seconds: "30"          runs 30 s (after PENDING's pending_seconds)
    emulator-outcome: failed                 ends FAILED, with error {"code": 13, "message":
                                             "The replica workerpool0-0 exited with a
                                             non-zero status of 1."}
    emulator-error-message: oom-killed       that error.message instead (a label value:
                                             lowercase letters, digits, - and _)
Per persistent resource, `emulator-outcome: error` makes it end in ERROR instead of RUNNING
when it settles (after PROVISIONING or REBOOTING), with error.message "The zone does not have
enough resources ..." or its `emulator-error-message` label; its operation fails likewise.
A hyperparameter tuning job runs its trials as custom jobs of its trialJobSpec (its labels
on each): at most parallelTrialCount at once, and those the free replicas do not fit wait in
the queue (trial REQUESTED, then ACTIVE); it SUCCEEDED after maxTrialCount trials. A label
    emulator-failed-trials: "2_5"            fails trials 2 and 5 (INFEASIBLE, the reason the
                                             job's error); emulator-outcome: failed fails all
Requests need any `Authorization: Bearer` token.

Like Vertex AI, the emulator judges jobs on a persistent resource itself (from Google's
documentation, not through prgcloud's pre-check): a machine, disk, network or CMEK key that
matches no pool, or more replicas than a pool holds, is 400 INVALID_ARGUMENT ("List of found
errors: ..."); a job that fits but finds the replicas busy is QUEUED. An unknown machine type
or boot disk type (pd-ssd, pd-standard and hyperdisk-balanced are the documented ones) is 400.

`gcloud_env` (function scope) is an environment for running the real gcloud against the
emulator: a fresh temporary CLOUDSDK_CONFIG, a token file, prompts and update checks off, no
CLOUDSDK_* / GOOGLE_* / PRGCLOUD_* variables of the developer's, CLOUDSDK_CORE_PROJECT unset
(set it in the dict when a test wants it). The directory is removed after the test.
"""

from __future__ import annotations

import os
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from capture_server import gcloud_env

from prgcloud.emulator import Emulator, Settings

TEST_SETTINGS = Settings(
    provision_seconds=2.0, job_duration=600.0, pending_seconds=0.5, stop_seconds=0.5
)
TOKEN = "ya29.emulator-test-token"


def wait_until_serving(url: str, timeout: float = 10.0) -> None:
    """Poll the emulator's health path until it answers (or fail the test)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"{url}emulator/health", timeout=1) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError):
            if time.monotonic() > deadline:
                raise
        time.sleep(0.02)


@pytest.fixture(scope="session", name="emulator")
def emulator_fixture() -> Iterator[Emulator]:
    """A running emulator for the whole session (see the module's docstring)."""
    emulator = Emulator(port=0, settings=TEST_SETTINGS).start()
    try:
        wait_until_serving(emulator.url)
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture(name="clean_emulator")
def clean_emulator_fixture(emulator: Emulator) -> Emulator:
    """The session's emulator, emptied and back to its start-up settings."""
    emulator.reset()
    return emulator


def emulator_gcloud_env(url: str, directory: str) -> dict[str, str]:
    """The environment for gcloud against the emulator at `url`, its files in `directory`.

    The one isolated gcloud environment of the suite (`capture_server.gcloud_env`), pointed at
    the emulator, with the emulator's token.
    """
    token_file = os.path.join(directory, "access-token")
    with open(token_file, "w", encoding="utf-8") as f:
        f.write(TOKEN)
    return gcloud_env(
        server_url=url, config_dir=os.path.join(directory, "config"), token_file=token_file
    )


@pytest.fixture(name="gcloud_env")
def gcloud_env_fixture(emulator: Emulator) -> Iterator[dict[str, str]]:
    """Environment variables for the real gcloud against `emulator` (see the docstring)."""
    with tempfile.TemporaryDirectory(prefix="prgcloud-gcloud-") as directory:
        yield emulator_gcloud_env(emulator.url, directory)
