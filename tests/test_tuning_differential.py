"""The proof that prgcloud reads `hp-tuning-jobs create` exactly as gcloud does.

For every case prgcloud reads the command line (`parse_tuning_create`), then the real gcloud
runs the arguments prgcloud hands it (with the generated `--config` when prgcloud's
extensions are used, as `submission.submit` does) against the capture server: the request
gcloud POSTs must be key for key the request's `url` and `body`. With the extensions this
also shows that gcloud sends the pools and the persistent resource prgcloud built. A second
table holds command lines both refuse (gcloud by an error or a crash, prgcloud by exit 2).

gcloud takes ~0.7 s to start, so the cases run once, in parallel threads; the tests compare.
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

from prgcloud import submission
from prgcloud.errors import BadInputError
from prgcloud.tuning_parse import parse_tuning_create

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
BASE = ("--region=us-central1", "--config=tuning.yaml", "--display-name=t")
POOL = (
    "--worker-pool-spec=machine-type=n1-standard-8,replica-count=2,container-image-uri=gcr.io/p/t"
)


@dataclass(frozen=True)
class Case:
    config: str
    argv: tuple[str, ...]
    track: str | None = None


def case(*argv: str, config: str = CONFIG, track: str | None = None, base: bool = True) -> Case:
    return Case(config, (*BASE, *argv) if base else argv, track)


SENT: dict[str, Case] = {
    "config-as-it-is": case(),
    "labels-replace-the-configs": case("--labels=env=dev"),
    "empty-labels-replace-them-too": case("--labels="),
    "two-labels-flags-add-up": case("--labels=a=1", "--labels=b=2"),
    "zero-trial-counts-are-ignored": case("--max-trial-count=0", "--parallel-trial-count=0"),
    "negative-trial-counts-are-sent": case("--max-trial-count=-1", "--parallel-trial-count=-3"),
    "a-count-beyond-int32": case("--max-trial-count=99999999999999999999"),
    "counts-as-separate-values": case("--max-trial-count", "7", "--parallel-trial-count", "4"),
    "absent-counts-become-one": case(config="maxTrialCount: 0\n"),
    "every-flag": case(
        "--max-trial-count=9",
        "--parallel-trial-count=3",
        "--network=projects/1/global/networks/flag",
        "--service-account=sa@p1.iam.gserviceaccount.com",
        "--enable-web-access",
        "--enable-dashboard-access",
        "--algorithm=random-search",
        f"--kms-key={KMS}",
    ),
    "kms-key-in-parts": case("--kms-key=k", "--kms-keyring=r", "--kms-location=us-central1"),
    "algorithm-is-dropped-without-a-study-spec": case(
        "--algorithm=grid-search", config="maxTrialCount: 2\n"
    ),
    "algorithm-fills-an-empty-study-spec": case(
        "--algorithm=grid-search", config="studySpec: {}\n"
    ),
    "an-empty-display-name-keeps-the-configs": case("--display-name="),
    "the-last-display-name-wins": case("--display-name=a", "--display-name=b"),
    "beta-posts-to-v1beta1": case(track="beta"),
    "alpha-posts-to-v1beta1": case("--algorithm=grid-search", track="alpha"),
    "region-as-a-full-name": case("--region=projects/p2/locations/europe-west4"),
    "output-only-fields-are-sent": case(config="state: JOB_STATE_RUNNING\nname: x\n"),
    "an-int-as-text-is-an-int": case(config="maxTrialCount: '3'\n"),
    "no-web-access-is-no-change": case("--no-enable-web-access"),
    # prgcloud's extensions: gcloud gets a generated --config
    "persistent-resource-id": case("--persistent-resource-id=pr1"),
    "worker-pool-spec-replaces-the-pools": case("--persistent-resource-id=pr1", POOL),
    "worker-pool-spec-with-a-disk": case(f"{POOL},disk-type=pd-ssd,disk-size=200"),
    "a-later-placeholder-pool": case("--persistent-resource-id=pr1", POOL, "--worker-pool-spec="),
    "two-worker-pool-specs": case(POOL, POOL.replace("replica-count=2", "replica-count=3")),
    "extensions-give-a-trial-job-spec": case(
        "--persistent-resource-id=pr1", POOL, "--network=n", config=NO_TRIAL_SPEC
    ),
    "extensions-on-beta": case("--persistent-resource-id=pr1", "--labels=x=y", track="beta"),
}

REFUSED: dict[str, Case] = {
    "no-config": case("--region=us-central1", "--display-name=t", base=False),
    "no-display-name": case("--region=us-central1", "--config=tuning.yaml", base=False),
    "an-unknown-key": case(config=CONFIG + "bogus: 1\n"),
    "a-snake-case-key": case(config="max_trial_count: 3\n"),
    "a-nested-snake-case-key": case(config="trialJobSpec:\n  worker_pool_specs: []\n"),
    "a-float-for-an-int": case(config="maxTrialCount: 3.0\n"),
    "an-unknown-enum-name": case(config="studySpec: {algorithm: BOGUS}\n"),
    "an-unknown-algorithm": case("--algorithm=bayes"),
    "a-count-that-is-no-int": case("--max-trial-count=many"),
    "an-unknown-flag": case("--args=x"),
    "a-bad-service-account": case("--service-account=nobody"),
    "a-bad-label": case("--labels=Env=dev"),
    "a-region-gcloud-does-not-train-in": case("--region=mars-central1"),
    # gcloud crashes on these
    "network-without-a-trial-job-spec": case("--network=n", config=NO_TRIAL_SPEC),
    "web-access-without-a-trial-job-spec": case("--enable-web-access", config=NO_TRIAL_SPEC),
    "an-empty-config": case(config=""),
    "an-empty-mapping": case(config="{}\n"),
    "a-list": case(config="- a\n"),
}


@dataclass(frozen=True)
class Outcome:
    prgcloud: Any  # the TuningRequest, or the BadInputError
    returncode: int
    body: Mapping[str, Any] | None
    path: str | None
    stderr: str


def _run(c: Case, root: Path) -> Outcome:
    root.mkdir()
    (root / "tuning.yaml").write_text(c.config)
    with running_capture_server() as server:
        env = gcloud_env(
            server_url=server.url,
            config_dir=str(root / "gcloud"),
            token_file=write_token_file(str(root)),
        )
        env["CLOUDSDK_CORE_PROJECT"] = "p1"
        try:
            request: Any = parse_tuning_create(c.argv, env, track=c.track, cwd=str(root))
        except BadInputError as error:
            request = error
        if isinstance(request, BadInputError):
            prefix = (c.track,) if c.track else ()
            argv: tuple[str, ...] = (*prefix, "ai", "hp-tuning-jobs", "create", *c.argv)
            done = _gcloud(argv, env, root)
        else:
            with submission.config_file(request) as path:
                done = _gcloud(request.gcloud_argv(path), env, root)
        posts = server.posts
    return Outcome(
        request,
        done.returncode,
        posts[0].body if posts else None,
        posts[0].path if posts else None,
        done.stderr,
    )


def _gcloud(argv: tuple[str, ...], env: dict[str, str], root: Path) -> Any:
    return subprocess.run(
        ["gcloud", *argv, "--format=none"],
        env=env,
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Outcome]:
    base = tmp_path_factory.mktemp("tuning-differential")
    cases = {**SENT, **REFUSED}
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {name: pool.submit(_run, c, base / name) for name, c in cases.items()}
        return {name: future.result() for name, future in futures.items()}


@pytest.mark.parametrize("name", list(SENT))
def test_prgcloud_builds_the_request_gcloud_sends(outcomes: dict[str, Outcome], name: str) -> None:
    outcome = outcomes[name]
    assert not isinstance(outcome.prgcloud, BadInputError), str(outcome.prgcloud)
    assert outcome.returncode == 0, outcome.stderr
    assert outcome.body == outcome.prgcloud.body
    assert outcome.prgcloud.url.endswith(str(outcome.path))


def test_the_extensions_reach_the_trial_job_spec(outcomes: dict[str, Outcome]) -> None:
    body = outcomes["worker-pool-spec-replaces-the-pools"].body
    assert body is not None
    assert body["trialJobSpec"]["persistentResourceId"] == "pr1"
    assert body["trialJobSpec"]["workerPoolSpecs"] == [
        {
            "machineSpec": {"machineType": "n1-standard-8"},
            "replicaCount": "2",
            "containerSpec": {"imageUri": "gcr.io/p/t"},
        }
    ]


@pytest.mark.parametrize("name", list(REFUSED))
def test_both_refuse(outcomes: dict[str, Outcome], name: str) -> None:
    outcome = outcomes[name]
    assert isinstance(outcome.prgcloud, BadInputError)
    assert outcome.returncode != 0
    assert outcome.body is None
