"""`prgcloud ai hp-tuning-jobs create --dry-run=python`: the snippet builds the tuning job with the
SDK's own classes (`aiplatform.CustomJob(..., persistent_resource_id=...)` wrapped in
`aiplatform.HyperparameterTuningJob(...)`, `hyperparameter_tuning`'s parameter specs), and
running it creates the tuning job gcloud creates from the same arguments.

Each case creates the job twice against the emulator: through prgcloud and the real gcloud,
and by running the snippet with the real SDK. The two stored jobs are compared field by
field, as the service reads them. The SDK's classes add one field by themselves, the trials'
`baseOutputDirectory` (under the staging bucket that `CustomJob` requires); the snippet takes
it out again unless gcloud sends one. Where the classes cannot express the job, the snippet
builds it from gcloud's JSON and says why.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from prgcloud import render
from prgcloud.api import tuning_request_from_argv
from prgcloud.emulator import Emulator

PROJECT, REGION, RID = "p", "us-central1", "cluster"
POOL = {"id": "workers", "machineSpec": {"machineType": "n1-standard-4"}, "replicaCount": "8"}
TRIALS = """\
trialJobSpec:
  workerPoolSpecs:
  - machineSpec: {machineType: n1-standard-4}
    replicaCount: 2
    containerSpec: {imageUri: gcr.io/p/trainer, args: ["--epochs=3"], env: [{name: A, value: b}]}
"""
METRIC = "  metrics: [{metricId: accuracy, goal: MAXIMIZE}]\n"
# the keys of a HyperparameterTuningJob a request sets (the rest are the service's)
INPUT_FIELDS = {
    "displayName",
    "studySpec",
    "maxTrialCount",
    "parallelTrialCount",
    "maxFailedTrialCount",
    "trialJobSpec",
    "labels",
    "encryptionSpec",
}


def config(study: str, extra: str = "", trials: str = TRIALS) -> str:
    return f"maxTrialCount: 6\nparallelTrialCount: 2\n{extra}studySpec:\n{study}{trials}"


# (config, extra flags, track): each expressible with the SDK's classes
EXPRESSIBLE = [
    pytest.param(
        config(
            METRIC + "  algorithm: RANDOM_SEARCH\n  parameters:\n"
            "  - {parameterId: lr, doubleValueSpec: {minValue: 0.0001, maxValue: 0.1},"
            " scaleType: UNIT_LOG_SCALE}\n"
            "  - {parameterId: layers, integerValueSpec: {minValue: 2, maxValue: 6},"
            " scaleType: UNIT_LINEAR_SCALE}\n"
        ),
        ["--labels=team=ml,stage=dev"],
        [],
        id="double-log-integer-linear-random",
    ),
    pytest.param(
        config(
            "  metrics: [{metricId: loss, goal: MINIMIZE}]\n"
            "  algorithm: GRID_SEARCH\n  measurementSelectionType: LAST_MEASUREMENT\n"
            "  parameters:\n"
            "  - {parameterId: optimizer, categoricalValueSpec: {values: [adam, sgd, 'it''s']}}\n"
            "  - {parameterId: batch, discreteValueSpec: {values: [16, 32, 64]},"
            " scaleType: UNIT_REVERSE_LOG_SCALE}\n",
            extra="maxFailedTrialCount: 2\n",
        ),
        [],
        [],
        id="categorical-discrete-grid-last-measurement",
    ),
    pytest.param(
        config(
            METRIC + "  parameters:\n"
            "  - parameterId: optimizer\n"
            "    categoricalValueSpec: {values: [adam, sgd]}\n"
            "    conditionalParameterSpecs:\n"
            "    - parentCategoricalValues: {values: [sgd]}\n"
            "      parameterSpec:\n"
            "        parameterId: momentum\n"
            "        discreteValueSpec: {values: [0.5, 0.9]}\n"
            "        conditionalParameterSpecs:\n"
            "        - parentDiscreteValues: {values: [0.9]}\n"
            "          parameterSpec: {parameterId: nesterov, categoricalValueSpec:"
            " {values: ['yes', 'no']}}\n"
            "  - parameterId: layers\n"
            "    integerValueSpec: {minValue: 1, maxValue: 4}\n"
            "    conditionalParameterSpecs:\n"
            "    - parentIntValues: {values: [3, 4]}\n"
            "      parameterSpec: {parameterId: dropout, doubleValueSpec:"
            " {minValue: 0.1, maxValue: 0.5}}\n"
        ),
        [],
        [],
        id="conditional-specs",
    ),
    pytest.param(
        config(
            METRIC + "  parameters: [{parameterId: lr, doubleValueSpec:"
            " {minValue: 0.001, maxValue: 0.1}}]\n",
            trials=TRIALS
            + "  baseOutputDirectory: {outputUriPrefix: gs://bucket/out}\n"
            + "  scheduling: {timeout: 3600s, restartJobOnWorkerRestart: true}\n",
        ),
        [
            "--service-account=trainer@p.iam.gserviceaccount.com",
            "--enable-web-access",
            "--enable-dashboard-access",
        ],
        [],
        id="trial-settings-and-output-directory",
    ),
    pytest.param(
        config(
            METRIC + "  parameters: [{parameterId: units, integerValueSpec:"
            " {minValue: 8, maxValue: 64}}]\n"
        ),
        ["--algorithm=random-search", "--parallel-trial-count=3"],
        ["beta"],
        id="beta-track-flags",
    ),
]

# (config, why the classes cannot express it)
INEXPRESSIBLE = [
    pytest.param(
        config(
            METRIC + "  parameters: [{parameterId: lr, doubleValueSpec:"
            " {minValue: 0.001, maxValue: 0.1, defaultValue: 0.01}}]\n"
        ),
        "DoubleParameterSpec takes min and max only (no default value)",
        id="default-value",
    ),
    pytest.param(
        config(
            METRIC + "  decayCurveStoppingSpec: {useElapsedDuration: true}\n"
            "  parameters: [{parameterId: lr, doubleValueSpec: {minValue: 0.001, maxValue: 0.1}}]\n"
        ),
        "HyperparameterTuningJob(...) has no argument for studySpec.decayCurveStoppingSpec",
        id="automated-stopping",
    ),
    pytest.param(
        config(
            METRIC + "  parameters: [{parameterId: opt, categoricalValueSpec:"
            " {values: [a, b]}, scaleType: UNIT_LINEAR_SCALE}]\n"
        ),
        "parameter 'opt': CategoricalParameterSpec has no scale UNIT_LINEAR_SCALE",
        id="categorical-with-scale",
    ),
]


@pytest.fixture
def environ(gcloud_env: dict[str, str], clean_emulator: Emulator) -> dict[str, str]:
    clean_emulator.add_persistent_resource(PROJECT, REGION, RID, {"resourcePools": [POOL]})
    return {**gcloud_env, "CLOUDSDK_CORE_PROJECT": PROJECT, "CLOUDSDK_AI_REGION": REGION}


def created_by_gcloud(
    track: list[str], args: list[str], environ: dict[str, str], emulator: Emulator, cwd: Path
) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "prgcloud", *track, "ai", "hp-tuning-jobs", "create", *args],
        env=environ,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    found = re.search(r"Hyperparameter tuning job \[(\d+)\] submitted", done.stderr)
    assert found, done.stderr
    parent = f"projects/{PROJECT}/locations/{REGION}"
    return emulator.tuning_job(f"{parent}/hyperparameterTuningJobs/{found.group(1)}")


def created_by_snippet(snippet: str, environ: dict[str, str], emulator: Emulator) -> dict[str, Any]:
    ran = subprocess.run(
        [sys.executable, "-c", snippet],
        env=environ,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr
    found = re.search(r"HyperparameterTuningJob \[(\S+)\] is submitted", ran.stdout)
    assert found, ran.stdout
    return emulator.tuning_job(found.group(1))


def as_read(job: dict[str, Any]) -> dict[str, Any]:
    """The fields a request sets, as the service reads them (the v1 message, back to JSON:
    enums by name, int64 as text, defaults left out)."""
    from google.cloud.aiplatform_v1.types import hyperparameter_tuning_job
    from google.protobuf import json_format

    given = {key: value for key, value in job.items() if key in INPUT_FIELDS}
    message = hyperparameter_tuning_job.HyperparameterTuningJob.pb()()
    return dict(json_format.MessageToDict(json_format.ParseDict(given, message)))


def both(
    request_config: str,
    flags: list[str],
    track: list[str],
    environ: dict[str, str],
    emulator: Emulator,
    tmp_path: Path,
) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """(the snippet, the job gcloud created, the job the snippet created)."""
    (tmp_path / "tuning.yaml").write_text(request_config)
    args = [
        "--display-name=tune",
        "--config=tuning.yaml",
        f"--persistent-resource-id={RID}",
        *flags,
    ]
    request = tuning_request_from_argv(
        args, track=track[0] if track else None, environ=environ, cwd=str(tmp_path)
    )
    snippet = render.python_snippet(request)
    by_gcloud = created_by_gcloud(track, [*args, "--skip-precheck"], environ, emulator, tmp_path)
    by_snippet = created_by_snippet(snippet, environ, emulator)
    return snippet, as_read(by_gcloud), as_read(by_snippet)


@pytest.mark.parametrize(("request_config", "flags", "track"), EXPRESSIBLE)
def test_the_snippet_builds_with_the_sdks_classes_the_job_gcloud_creates(
    request_config: str,
    flags: list[str],
    track: list[str],
    environ: dict[str, str],
    clean_emulator: Emulator,
    tmp_path: Path,
) -> None:
    snippet, by_gcloud, by_snippet = both(
        request_config, flags, track, environ, clean_emulator, tmp_path
    )
    assert "custom_job = aiplatform.CustomJob(" in snippet
    assert f"    persistent_resource_id={RID!r}," in snippet
    assert "hp_job = aiplatform.HyperparameterTuningJob(" in snippet
    assert "hpt." in snippet
    assert "body = {" not in snippet  # not gcloud's JSON
    assert by_snippet == by_gcloud
    assert by_gcloud["trialJobSpec"]["persistentResourceId"] == RID


@pytest.mark.parametrize(("request_config", "why"), INEXPRESSIBLE)
def test_a_job_the_classes_cannot_express_is_built_from_gcloud_json_saying_why(
    request_config: str,
    why: str,
    environ: dict[str, str],
    clean_emulator: Emulator,
    tmp_path: Path,
) -> None:
    snippet, by_gcloud, by_snippet = both(request_config, [], [], environ, clean_emulator, tmp_path)
    assert "aiplatform.HyperparameterTuningJob(" not in snippet
    assert f"# ({why}), so it is built from gcloud's JSON." in snippet
    assert by_snippet == by_gcloud


# --- the snippet, a pure function ----------------------------------------------------------


def test_the_tables_of_what_the_classes_say_match_the_sdk() -> None:
    from google.cloud.aiplatform import hyperparameter_tuning as hpt
    from google.cloud.aiplatform_v1.types import machine_resources as v1
    from google.cloud.aiplatform_v1beta1.types import machine_resources as v1beta1

    assert {
        hpt.SEARCH_ALGORITHM_TO_PROTO_VALUE[name].name for name in (None, "grid", "random")
    } == set(render.SEARCH_ALGORITHMS)
    assert {value.name for value in hpt.MEASUREMENT_SELECTION_TO_PROTO_VALUE.values()} == set(
        render.MEASUREMENT_SELECTIONS
    )
    assert {name: value.name for name, value in hpt._SCALE_TYPE_MAP.items()} == {
        short: long for long, short in render.SCALES.items()
    }
    for kind, (class_name, _) in render.PARAMETER_CLASSES.items():
        assert getattr(hpt, class_name)._parameter_spec_value_key == re.sub(
            r"([A-Z])", lambda m: "_" + m.group(1).lower(), kind
        )
    machine = {f.json_name for f in v1.MachineSpec.pb().DESCRIPTOR.fields}
    beta_machine = {f.json_name for f in v1beta1.MachineSpec.pb().DESCRIPTOR.fields}
    assert beta_machine - machine == render.V1BETA1_ONLY_MACHINE_FIELDS


def test_values_reach_the_snippet_only_as_python_literals(tmp_path: Path) -> None:
    hostile = "x'); import os; os.system('id'); ('\u202e\x15"
    (tmp_path / "tuning.yaml").write_text(
        config(
            METRIC.replace("accuracy", "acc'\\\"")
            + "  parameters:\n"
            + f"  - {{parameterId: {json.dumps(hostile)}, categoricalValueSpec:"
            + f" {{values: [{json.dumps(hostile)}]}}}}\n"
        )
    )
    (tmp_path / "token").write_text("ya29.test")
    environ = {
        "CLOUDSDK_CONFIG": str(tmp_path / "config"),
        "CLOUDSDK_AUTH_ACCESS_TOKEN_FILE": str(tmp_path / "token"),
        "CLOUDSDK_CORE_PROJECT": PROJECT,
        "CLOUDSDK_AI_REGION": REGION,
    }
    request = tuning_request_from_argv(
        [f"--display-name={hostile}", "--config=tuning.yaml", f"--persistent-resource-id={RID}"],
        environ=environ,
        cwd=str(tmp_path),
    )
    snippet = render.python_snippet(request, f"fits\n{hostile}")
    assert "hp_job = aiplatform.HyperparameterTuningJob(" in snippet
    assert [c for c in snippet if not c.isprintable() and c != "\n"] == []
    tree = ast.parse(snippet)
    strings = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)}
    assert {hostile, "acc'\\\""} <= strings
    assert "os" not in {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
