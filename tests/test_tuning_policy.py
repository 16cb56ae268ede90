"""Policy hooks judge a tuning job too: on `hp-tuning-jobs create|check`, its dry runs and
`prgcloud.submit`, with the trial each run of it is (`job`) and the tuning job (`hpTuningJob`).

Hooks are real executable scripts (the examples in examples/policy.d among them), run through
prgcloud's own runner; the commands run in-process (`cli.main`) and stop before gcloud.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any

import jsonschema
import pytest

import prgcloud
from prgcloud import cli, exit_codes, policy, schemas
from prgcloud.environment import Environment
from prgcloud.errors import PolicyRefusedError
from prgcloud.policy import run as policy_run

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "policy.d"
IMAGE = "us-docker.pkg.dev/p/r/trainer:1"
CONFIG = """\
maxTrialCount: 6
parallelTrialCount: 3
studySpec:
  metrics: [{metricId: accuracy, goal: MAXIMIZE}]
  parameters: [{parameterId: lr, doubleValueSpec: {minValue: 0.001, maxValue: 0.1}}]
"""
GPU = (
    "machine-type=a2-highgpu-1g,accelerator-type=NVIDIA_TESLA_A100,accelerator-count=1,"
    f"replica-count=2,container-image-uri={IMAGE}"
)
ARGS = [
    "--project=p",
    "--region=us-central1",
    "--display-name=tune",
    "--config=tuning.yaml",
    f"--worker-pool-spec={GPU}",
    "--labels=team=ml,cost-center=42",
]
KEEP_INPUT = '#!/bin/sh\ncat > "$(pwd)/input.json"\n'


@pytest.fixture
def hooks_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "policy"
    directory.mkdir()
    return directory


@pytest.fixture
def environ(tmp_path: Path, hooks_dir: Path) -> dict[str, str]:
    """No gcloud configuration of the developer's, hooks from `hooks_dir` only."""
    (tmp_path / "tuning.yaml").write_text(CONFIG)
    return {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path / "home"),
        "CLOUDSDK_CONFIG": str(tmp_path / "gcloud-config"),
        policy.DIR_VARIABLE: str(hooks_dir),
    }


def hook(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text)
    path.chmod(0o755)
    return path


def run(argv: list[str], environ: dict[str, str], cwd: Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    env = Environment(environ=environ, stdin=io.StringIO(), stdout=out, stderr=err, cwd=str(cwd))
    return cli.main(argv, env), out.getvalue(), err.getvalue()


def seen(hooks_dir: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((hooks_dir / "input.json").read_text())
    return document


@pytest.mark.parametrize(
    ("verb", "extra", "command", "dry_run"),
    [
        pytest.param("create", ["--dry-run"], "ai hp-tuning-jobs create", "shell", id="create"),
        pytest.param(
            "create", ["--dry-run=python"], "ai hp-tuning-jobs create", "python", id="python"
        ),
        pytest.param("check", [], "ai hp-tuning-jobs check", None, id="check"),
    ],
)
def test_the_hook_reads_the_tuning_job_and_the_trial_it_runs(
    environ: dict[str, str],
    hooks_dir: Path,
    tmp_path: Path,
    verb: str,
    extra: list[str],
    command: str,
    dry_run: str | None,
) -> None:
    hook(hooks_dir, "10-keep", KEEP_INPUT)
    status, _out, err = run(["ai", "hp-tuning-jobs", verb, *ARGS, *extra], environ, tmp_path)
    assert status == 0, err
    document = seen(hooks_dir)
    jsonschema.validate(document, schemas.load("policy-input.json"))
    assert (document["command"], document["dryRun"]) == (command, dry_run)
    assert document["request"]["url"].endswith("/locations/us-central1/hyperparameterTuningJobs")
    tuning = document["request"]["body"]
    assert document["hpTuningJob"] == tuning
    assert tuning["parallelTrialCount"] == 3
    assert document["job"] == {
        "displayName": "tune",
        "labels": {"team": "ml", "cost-center": "42"},
        "jobSpec": tuning["trialJobSpec"],
    }
    assert document["job"]["jobSpec"]["workerPoolSpecs"][0]["replicaCount"] == "2"


def test_a_custom_job_s_document_has_no_tuning_job(
    environ: dict[str, str], hooks_dir: Path, tmp_path: Path
) -> None:
    hook(hooks_dir, "10-keep", KEEP_INPUT)
    argv = ["ai", "custom-jobs", "create", *ARGS[:3], f"--worker-pool-spec={GPU}", "--dry-run"]
    status, _out, err = run(argv, environ, tmp_path)
    assert status == 0, err
    document = seen(hooks_dir)
    jsonschema.validate(document, schemas.load("policy-input.json"))
    assert document["hpTuningJob"] is None


@pytest.mark.parametrize("verb", ["create", "check"])
def test_a_refusing_hook_stops_a_tuning_job_with_exit_8(
    environ: dict[str, str], hooks_dir: Path, tmp_path: Path, verb: str
) -> None:
    refuse = hook(hooks_dir, "20-no", "#!/bin/sh\necho 'no tuning today' >&2\nexit 1\n")
    argv = ["ai", "hp-tuning-jobs", verb, *ARGS, *(["--dry-run"] if verb == "create" else [])]
    status, out, err = run(argv, environ, tmp_path)
    assert (status, out) == (exit_codes.POLICY_REFUSED, "")
    assert err == (
        "ERROR: (prgcloud) a policy hook refused the request; nothing was sent.\n"
        f"  20-no ({refuse}): exit 1\n"
        "    no tuning today\n"
    )


def test_the_library_s_submit_consults_the_hooks_as_a_tuning_job(
    environ: dict[str, str], hooks_dir: Path, tmp_path: Path
) -> None:
    hook(hooks_dir, "10-keep", KEEP_INPUT)
    hook(hooks_dir, "20-no", "#!/bin/sh\nexit 1\n")
    request = prgcloud.tuning_request_from_argv(ARGS, environ=environ, cwd=str(tmp_path))
    with pytest.raises(PolicyRefusedError):
        prgcloud.submit(request, environ=environ)
    assert seen(hooks_dir)["command"] == "ai hp-tuning-jobs create"


def example_document(tmp_path: Path, parallel: int, gpu_pool: str = GPU) -> dict[str, Any]:
    (tmp_path / "tuning.yaml").write_text(CONFIG)
    argv = [*ARGS[:4], f"--worker-pool-spec={gpu_pool}", ARGS[5]]
    request = prgcloud.tuning_request_from_argv(
        [*argv, f"--parallel-trial-count={parallel}"],
        environ={"CLOUDSDK_CONFIG": str(tmp_path / "gcloud-config")},
        cwd=str(tmp_path),
    )
    return policy_run.document(
        request, command="ai hp-tuning-jobs create", persistent_resource=None, account=None
    )


@pytest.mark.parametrize(
    "name",
    ["10-required-labels", "20-max-gpus", "30-machine-types", "40-image-registries"],
)
def test_every_example_hook_allows_a_good_tuning_job(tmp_path: Path, name: str) -> None:
    hook_ = policy.Hook(name, str(EXAMPLES / name))
    environ = {"PATH": "/usr/local/bin:/usr/bin:/bin"}
    outcome = policy_run.consult([hook_], example_document(tmp_path, 2), environ)
    assert outcome.ran == (name,)


@pytest.mark.parametrize(
    ("parallel", "refusal"),
    [
        pytest.param(4, None, id="four-trials-of-two-gpus-is-the-cap"),
        pytest.param(
            5,
            "the job asks for 10 GPUs at once (5 parallel trials of 2); the most one job may "
            "use is 8 (PRGCLOUD_MAX_GPUS)",
            id="five-trials-of-two-gpus",
        ),
    ],
)
def test_the_gpu_cap_counts_the_trials_that_run_at_once(
    tmp_path: Path, parallel: int, refusal: str | None
) -> None:
    hook_ = policy.Hook("20-max-gpus", str(EXAMPLES / "20-max-gpus"))
    environ = {"PATH": "/usr/local/bin:/usr/bin:/bin"}
    document = example_document(tmp_path, parallel)
    if refusal is None:
        policy_run.consult([hook_], document, environ)
        return
    with pytest.raises(PolicyRefusedError) as raised:
        policy_run.consult([hook_], document, environ)
    assert refusal in str(raised.value)
