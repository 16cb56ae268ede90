"""How the installed gcloud merges `hp-tuning-jobs create`'s flags into its `--config`, pinned.

gcloud 528's `api_lib/ai/hp_tuning_jobs/client.py` is the contract prgcloud's drop-in follows,
quirks included; each case here is one of them, run through the real gcloud against the
capture server. When a gcloud upgrade changes one, this file says which.

gcloud takes ~0.7 s to start, so the cases run once, in parallel threads, each against a
capture server and a directory of its own; the tests then only compare.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from capture_server import gcloud_env, running_capture_server, write_token_file

pytestmark = [
    pytest.mark.gcloud,
    pytest.mark.skipif(shutil.which("gcloud") is None, reason="gcloud is not installed"),
]

CONFIG = """\
displayName: from-config
maxTrialCount: 5
parallelTrialCount: 2
labels: {team: vision, owner: ana}
studySpec:
  metrics: [{metricId: accuracy, goal: MAXIMIZE}]
  parameters: [{parameterId: lr, doubleValueSpec: {minValue: 0.001, maxValue: 0.1}}]
  algorithm: GRID_SEARCH
trialJobSpec:
  network: projects/1/global/networks/config
  workerPoolSpecs:
  - machineSpec: {machineType: n1-standard-4}
    replicaCount: 1
    containerSpec: {imageUri: gcr.io/p/trainer}
"""
NO_TRIAL_SPEC = "studySpec:\n  metrics: [{metricId: accuracy, goal: MAXIMIZE}]\n"
KMS = "projects/p1/locations/us-central1/keyRings/r/cryptoKeys/k"


@dataclass(frozen=True)
class Outcome:
    """What gcloud did: its exit code, the body it POSTed (None: nothing), its stderr."""

    returncode: int
    body: Mapping[str, Any] | None
    path: str | None
    stderr: str


def _run(config: str, flags: tuple[str, ...], track: tuple[str, ...], root: Path) -> Outcome:
    root.mkdir()
    (root / "tuning.yaml").write_text(config)
    with running_capture_server() as server:
        env = gcloud_env(
            server_url=server.url,
            config_dir=str(root / "gcloud"),
            token_file=write_token_file(str(root)),
        )
        env["CLOUDSDK_CORE_PROJECT"] = "p1"
        display = (
            () if any(f.startswith("--display-name") for f in flags) else ("--display-name=t",)
        )
        done = subprocess.run(
            [
                "gcloud",
                *track,
                "ai",
                "hp-tuning-jobs",
                "create",
                "--region=us-central1",
                f"--config={root / 'tuning.yaml'}",
                *display,
                *flags,
                "--format=none",
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        posts = server.posts
    return Outcome(
        done.returncode,
        posts[0].body if posts else None,
        posts[0].path if posts else None,
        done.stderr,
    )


# id -> (config, flags, track)
CASES: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "config-as-it-is": (CONFIG, (), ()),
    "labels-replace-the-configs": (CONFIG, ("--labels=env=dev",), ()),
    "empty-labels-replace-them-too": (CONFIG, ("--labels=",), ()),
    "zero-trial-counts-are-ignored": (
        CONFIG,
        ("--max-trial-count=0", "--parallel-trial-count=0"),
        (),
    ),
    "negative-trial-counts-are-sent": (
        CONFIG,
        ("--max-trial-count=-1", "--parallel-trial-count=-3"),
        (),
    ),
    "absent-or-zero-counts-become-one": ("maxTrialCount: 0\n", (), ()),
    "flags-replace-the-trial-job-specs-values": (
        CONFIG,
        (
            "--max-trial-count=9",
            "--parallel-trial-count=3",
            "--network=projects/1/global/networks/flag",
            "--service-account=sa@p1.iam.gserviceaccount.com",
            "--enable-web-access",
            "--enable-dashboard-access",
            "--algorithm=random-search",
            f"--kms-key={KMS}",
        ),
        (),
    ),
    "algorithm-is-dropped-without-a-study-spec": (
        "maxTrialCount: 2\n",
        ("--algorithm=grid-search",),
        (),
    ),
    "algorithm-fills-an-empty-study-spec": ("studySpec: {}\n", ("--algorithm=grid-search",), ()),
    "an-empty-display-name-keeps-the-configs": (CONFIG, ("--display-name=",), ()),
    "beta-posts-to-v1beta1": (CONFIG, (), ("beta",)),
    "output-only-fields-are-sent-as-they-are": ("state: JOB_STATE_RUNNING\nname: x\n", (), ()),
    "the-first-of-two-equal-keys-wins": ("maxTrialCount: 2\nmaxTrialCount: 3\n", (), ()),
    "an-int-as-text-is-an-int": ("maxTrialCount: '3'\n", (), ()),
    # refusals
    "an-unknown-key-is-refused": (CONFIG + "bogus: 1\n", (), ()),
    "a-snake-case-key-is-refused": ("max_trial_count: 3\n", (), ()),
    "a-nested-snake-case-key-is-refused": ("trialJobSpec:\n  worker_pool_specs: []\n", (), ()),
    "a-float-for-an-int-is-refused": ("maxTrialCount: 3.0\n", (), ()),
    "an-unknown-enum-name-is-refused": ("studySpec: {algorithm: BOGUS}\n", (), ()),
    # crashes
    "network-without-a-trial-job-spec-crashes": (
        NO_TRIAL_SPEC,
        ("--network=projects/1/global/networks/flag",),
        (),
    ),
    "web-access-without-a-trial-job-spec-crashes": (NO_TRIAL_SPEC, ("--enable-web-access",), ()),
    "an-empty-config-crashes": ("", (), ()),
    "an-empty-mapping-crashes": ("{}\n", (), ()),
    "a-list-crashes": ("- a\n", (), ()),
}


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Outcome]:
    base = tmp_path_factory.mktemp("tuning-merge")
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {
            case_id: pool.submit(_run, config, flags, track, base / case_id)
            for case_id, (config, flags, track) in CASES.items()
        }
        return {case_id: future.result() for case_id, future in futures.items()}


SENT = {
    "displayName": "t",
    "maxTrialCount": 5,
    "parallelTrialCount": 2,
    "labels": {"team": "vision", "owner": "ana"},
    "studySpec": {
        "metrics": [{"metricId": "accuracy", "goal": "MAXIMIZE"}],
        "parameters": [
            {"parameterId": "lr", "doubleValueSpec": {"minValue": 0.001, "maxValue": 0.1}}
        ],
        "algorithm": "GRID_SEARCH",
    },
    "trialJobSpec": {
        "network": "projects/1/global/networks/config",
        "workerPoolSpecs": [
            {
                "machineSpec": {"machineType": "n1-standard-4"},
                "replicaCount": "1",
                "containerSpec": {"imageUri": "gcr.io/p/trainer"},
            }
        ],
    },
}


def _with(**changes: Any) -> dict[str, Any]:
    return {**SENT, **changes}


SENT_BODIES: dict[str, Mapping[str, Any]] = {
    "config-as-it-is": SENT,
    "labels-replace-the-configs": _with(labels={"env": "dev"}),
    "empty-labels-replace-them-too": _with(labels={}),
    "zero-trial-counts-are-ignored": SENT,
    "negative-trial-counts-are-sent": _with(maxTrialCount=-1, parallelTrialCount=-3),
    "absent-or-zero-counts-become-one": {
        "displayName": "t",
        "maxTrialCount": 1,
        "parallelTrialCount": 1,
    },
    "flags-replace-the-trial-job-specs-values": _with(
        maxTrialCount=9,
        parallelTrialCount=3,
        studySpec={**SENT["studySpec"], "algorithm": "RANDOM_SEARCH"},
        trialJobSpec={
            **SENT["trialJobSpec"],
            "network": "projects/1/global/networks/flag",
            "serviceAccount": "sa@p1.iam.gserviceaccount.com",
            "enableWebAccess": True,
            "enableDashboardAccess": True,
        },
        encryptionSpec={"kmsKeyName": KMS},
    ),
    "algorithm-is-dropped-without-a-study-spec": {
        "displayName": "t",
        "maxTrialCount": 2,
        "parallelTrialCount": 1,
    },
    "algorithm-fills-an-empty-study-spec": {
        "displayName": "t",
        "maxTrialCount": 1,
        "parallelTrialCount": 1,
        "studySpec": {"algorithm": "GRID_SEARCH"},
    },
    "an-empty-display-name-keeps-the-configs": _with(displayName="from-config"),
    "beta-posts-to-v1beta1": SENT,
    "output-only-fields-are-sent-as-they-are": {
        "displayName": "t",
        "maxTrialCount": 1,
        "parallelTrialCount": 1,
        "name": "x",
        "state": "JOB_STATE_RUNNING",
    },
    "the-first-of-two-equal-keys-wins": {
        "displayName": "t",
        "maxTrialCount": 2,
        "parallelTrialCount": 1,
    },
    "an-int-as-text-is-an-int": {"displayName": "t", "maxTrialCount": 3, "parallelTrialCount": 1},
}


@pytest.mark.parametrize("case_id", list(SENT_BODIES))
def test_gcloud_sends_the_merged_body(outcomes: dict[str, Outcome], case_id: str) -> None:
    outcome = outcomes[case_id]
    assert outcome.returncode == 0, outcome.stderr
    assert outcome.body == SENT_BODIES[case_id]
    version = "v1beta1" if case_id.startswith("beta") else "v1"
    assert outcome.path == f"/{version}/projects/p1/locations/us-central1/hyperparameterTuningJobs"


REFUSED = {
    "an-unknown-key-is-refused": "GoogleCloudAiplatformV1HyperparameterTuningJob.bogus",
    "a-snake-case-key-is-refused": "GoogleCloudAiplatformV1HyperparameterTuningJob.max_trial_count",
    "a-nested-snake-case-key-is-refused": (
        "GoogleCloudAiplatformV1HyperparameterTuningJob.trialJobSpec.worker_pool_specs"
    ),
    "a-float-for-an-int-is-refused": "Failed to parse value in protobuf",
    "an-unknown-enum-name-is-refused": (
        "GoogleCloudAiplatformV1HyperparameterTuningJob.studySpec.algorithm"
    ),
}


@pytest.mark.parametrize("case_id", list(REFUSED))
def test_gcloud_refuses_a_config_it_cannot_read(outcomes: dict[str, Outcome], case_id: str) -> None:
    outcome = outcomes[case_id]
    assert (outcome.returncode, outcome.body) == (1, None)
    assert REFUSED[case_id] in outcome.stderr


CRASHES = {
    "network-without-a-trial-job-spec-crashes": "'NoneType' object has no attribute 'network'",
    "web-access-without-a-trial-job-spec-crashes": (
        "'NoneType' object has no attribute 'enableWebAccess'"
    ),
    # with no mapping, gcloud sets fields on the message class instead of a message
    "an-empty-config-crashes": "May not change values: displayName",
    "an-empty-mapping-crashes": "May not change values: displayName",
    "a-list-crashes": "'list' object has no attribute 'items'",
}


@pytest.mark.parametrize("case_id", list(CRASHES))
def test_gcloud_crashes_on_these(outcomes: dict[str, Outcome], case_id: str) -> None:
    outcome = outcomes[case_id]
    assert (outcome.returncode, outcome.body) == (1, None)
    assert f"gcloud crashed (AttributeError): {CRASHES[case_id]}" in outcome.stderr
